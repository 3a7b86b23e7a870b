/**
 * What the SQLite and PostgreSQL stores share: the row shapes (same column names in both schemas) and their
 * mapping to records, and the JSON encoding of metrics (NaN/±Infinity survive as strings).
 */
import type { AttemptOutcome, AttemptRecord, EpochMetricsRow, RunRecord, StepLogRow, RunRole, StudyDump, TrialCheckpoint, TrialHolder, TrialRecord, TrialStatus } from './types.js';
import { encodePredictions } from './predictions.js';

export interface TrialRow {
  id: string;
  ordinal: number;
  kind: 'train' | 'evaluate';
  config_json: string;
  seed: number | string;
  data_seed?: number | string | null;
  eval_seed?: number | string | null;
  in_design: number | boolean;
  is_baseline: number | boolean;
  status: TrialStatus;
  attempts: number;
  run_id: string | null;
  worker: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  metrics_json: string | null;
  train_seconds: number | null;
  examples_per_second: number | null;
  tokens_per_second: number | null;
  steps: number | null;
  backend: string | null;
  versions_json: string | null;
}

export interface RunRow {
  id: string;
  role: RunRole;
  name: string | null;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
  finished_at: string | null;
  workers: number;
  threads_per_worker: number;
}

export interface AttemptRow {
  trial_id: string;
  attempt: number;
  run_id: string;
  worker: string | null;
  started_at: string;
  finished_at: string | null;
  outcome: AttemptOutcome;
  error: string | null;
}

export interface EpochRow {
  trial_id: string;
  epoch: number;
  step: number;
  train_loss: number | null;
  learning_rate: number | null;
  seconds: number | null;
  metrics_json: string;
}

export interface CheckpointRow {
  trial_id: string;
  location: string;
  step: number;
  saved_at: string;
}
export const checkpointRecord = (r: CheckpointRow): TrialCheckpoint => ({ trialId: r.trial_id, location: r.location, step: r.step, savedAt: r.saved_at });

export const now = (): string => new Date().toISOString();

export function encodeMetrics(m: Record<string, number | null>): string {
  return JSON.stringify(m, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}
export function decodeMetrics(s: string): Record<string, number | null> {
  const raw = JSON.parse(s) as Record<string, unknown>;
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : null;
  return out;
}
export const finiteOrNull = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export function holderOf(h: string | TrialHolder): TrialHolder {
  return typeof h === 'string' ? { runId: h } : h;
}

export function toTrialRecord(r: TrialRow): TrialRecord {
  return {
    id: r.id,
    ordinal: r.ordinal,
    kind: r.kind,
    config: JSON.parse(r.config_json) as Record<string, number>,
    seed: Number(r.seed),
    dataSeed: r.data_seed === undefined || r.data_seed === null ? null : Number(r.data_seed),
    evalSeed: r.eval_seed === undefined || r.eval_seed === null ? null : Number(r.eval_seed),
    inDesign: r.in_design === 1 || r.in_design === true,
    isBaseline: r.is_baseline === 1 || r.is_baseline === true,
    status: r.status,
    attempts: r.attempts,
    runId: r.run_id,
    worker: r.worker,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    metrics: r.metrics_json ? decodeMetrics(r.metrics_json) : null,
    trainSeconds: r.train_seconds,
    examplesPerSecond: r.examples_per_second,
    tokensPerSecond: r.tokens_per_second,
    steps: r.steps,
    backend: r.backend,
    versions: r.versions_json ? (JSON.parse(r.versions_json) as Record<string, string>) : null,
  };
}

/** A trial record as row values, in the column order of TRIAL_COLUMNS. */
export const TRIAL_COLUMNS = [
  'id', 'ordinal', 'kind', 'config_json', 'seed', 'data_seed', 'eval_seed', 'in_design', 'is_baseline', 'status', 'attempts', 'run_id', 'worker', 'started_at',
  'finished_at', 'error', 'metrics_json', 'train_seconds', 'examples_per_second', 'tokens_per_second', 'steps', 'backend', 'versions_json',
] as const;
export function trialValues(t: TrialRecord, bool: (b: boolean) => number | boolean): Array<string | number | boolean | null> {
  return [
    t.id, t.ordinal, t.kind, JSON.stringify(t.config), t.seed, t.dataSeed, t.evalSeed, bool(t.inDesign), bool(t.isBaseline), t.status, t.attempts, t.runId, t.worker,
    t.startedAt, t.finishedAt, t.error, t.metrics ? encodeMetrics(t.metrics) : null, t.trainSeconds, t.examplesPerSecond, t.tokensPerSecond,
    t.steps, t.backend, t.versions ? JSON.stringify(t.versions) : null,
  ];
}

export function toRunRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    // a store from before run roles (read-only, not upgraded) knew only local runs
    role: r.role ?? 'local',
    name: r.name ?? null,
    host: r.host,
    pid: r.pid,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at,
    workers: r.workers,
    threadsPerWorker: r.threads_per_worker,
  };
}

export function toAttemptRecord(r: AttemptRow): AttemptRecord {
  return {
    trialId: r.trial_id,
    attempt: r.attempt,
    runId: r.run_id,
    worker: r.worker,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    error: r.error,
  };
}

export function toEpochRow(r: EpochRow): EpochMetricsRow {
  return {
    trialId: r.trial_id,
    epoch: r.epoch,
    step: r.step,
    trainLoss: r.train_loss,
    learningRate: r.learning_rate,
    seconds: r.seconds,
    metrics: decodeMetrics(r.metrics_json),
  };
}

export interface StepRow {
  trial_id: string;
  step: number;
  epoch: number;
  loss: number | null;
  learning_rate: number | null;
  attempt: number;
}
export const toStepLogRow = (r: StepRow): StepLogRow => ({ trialId: r.trial_id, step: r.step, epoch: r.epoch, loss: r.loss, learningRate: r.learning_rate, attempt: r.attempt });

/** Does this holder hold the trial row (same run and, when given, the same attempt)? */
export function holds(row: Pick<TrialRow, 'status' | 'run_id' | 'attempts'>, h: TrialHolder): boolean {
  return row.status === 'running' && row.run_id === h.runId && (h.attempt === undefined || h.attempt === row.attempts);
}

export type SqlValue = string | number | boolean | null | Buffer;

/** One table's rows of a study copy: its name, columns, and the rows as values in that column order. */
export interface RestoreTable {
  table: string;
  columns: readonly string[];
  rows: SqlValue[][];
}

/**
 * A dump as the rows each table gets (`restore`, in insertion order: a row's parents first). Both stores insert these,
 * each in its own SQL dialect; `bool` is the store's boolean, `metaTable` its name for the study facts table.
 */
export function restoreTables(d: StudyDump, bool: (b: boolean) => number | boolean, metaTable: string): RestoreTable[] {
  const s = d.study;
  return [
    { table: 'study', columns: ['id', 'name', 'spec_json', 'spec_hash', 'created_at', 'tunescope_version'], rows: [[1, s.name, JSON.stringify(s.spec), s.specHash, s.createdAt, s.tunescopeVersion]] },
    {
      table: 'runs',
      columns: ['id', 'role', 'name', 'host', 'pid', 'started_at', 'heartbeat_at', 'finished_at', 'workers', 'threads_per_worker'],
      rows: d.runs.map((r) => [r.id, r.role, r.name, r.host, r.pid, r.startedAt, r.heartbeatAt, r.finishedAt, r.workers, r.threadsPerWorker]),
    },
    { table: 'trials', columns: TRIAL_COLUMNS, rows: d.trials.map((t) => trialValues(t, bool)) },
    {
      table: 'epoch_metrics',
      columns: ['trial_id', 'epoch', 'step', 'train_loss', 'learning_rate', 'seconds', 'metrics_json'],
      rows: d.epochs.map((e) => [e.trialId, e.epoch, e.step, e.trainLoss, e.learningRate, e.seconds, encodeMetrics(e.metrics)]),
    },
    { table: 'trial_steps', columns: ['trial_id', 'step', 'epoch', 'loss', 'learning_rate', 'attempt'], rows: d.steps.map((x) => [x.trialId, x.step, x.epoch, x.loss, x.learningRate, x.attempt]) },
    {
      table: 'trial_attempts',
      columns: ['trial_id', 'attempt', 'run_id', 'worker', 'started_at', 'finished_at', 'outcome', 'error'],
      rows: d.attempts.map((a) => [a.trialId, a.attempt, a.runId, a.worker, a.startedAt, a.finishedAt, a.outcome, a.error]),
    },
    {
      table: 'predictions',
      columns: ['trial_id', 'num_examples', 'num_labels', 'data'],
      rows: d.predictions.map((p) => [p.trialId, p.predictions.label.length, p.predictions.numLabels, encodePredictions(p.predictions)]),
    },
    { table: 'baseline', columns: ['metric', 'value', 'source'], rows: d.baseline ? Object.entries(d.baseline.metrics).map(([k, v]) => [k, v, d.baseline!.source]) : [] },
    { table: 'trial_checkpoints', columns: ['trial_id', 'location', 'step', 'saved_at'], rows: d.checkpoints.map((c) => [c.trialId, c.location, c.step, c.savedAt]) },
    { table: metaTable, columns: ['key', 'value'], rows: Object.entries(d.meta).map(([k, v]) => [k, JSON.stringify(v)]) },
  ];
}
