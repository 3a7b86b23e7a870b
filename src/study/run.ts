/**
 * Running a study: open/create the store, check the spec is the stored one, insert the expanded trials,
 * put back trials that a dead process left `running`, then let N workers claim and run trials (baseline first).
 *
 * Workers are worker_threads (onnxruntime-node is context-aware and creates its sessions per thread), each
 * running one trial at a time with `intra_op_num_threads` engine threads; the main thread is the store's only
 * writer. A function runner (`opts.runner`) runs in-process instead — tests use it. Crash safety comes from the
 * store: a result and its `done` status are one transaction; `running` rows of a run whose process is gone
 * (pid dead on this host; on another host, no heartbeat for STALE_MS) go back to `pending` on the next start.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { UserError, ensureDir, maskUrl, trace, tunescopeVersion } from '../util/index.js';
import { isPostgresUrl, openStore, type BaselineRecord, type RunRecord, type StudyStore, type TrialHolder, type TrialOutcome, type TrialRecord } from '../store/index.js';
import { expandDesign } from './design.js';
import { blockNewTrials, readBlocks } from './blocks.js';
import { aliasedDesignError } from './plan.js';
import { canonicalJson, loadStudySpec, specHash, specIdentity, type StudySpec } from './spec.js';
import { materializeModel } from './model-dir.js';
import { StepLogWriter } from './steplog.js';
import { trialArgs, type TrialRunner, type TrialTask, type TrialProgress } from './runner.js';
import { createStudyProgress, type StudyProgress } from './progress.js';
import { resolveTrainingArguments, resolvePrecision, ARGUMENT_SPECS, MAX_THREADS_PER_CORE, latestCheckpoint, listCheckpoints, checkpointLogHistory } from '../train/index.js';
import { evalSubsampleSeed, fingerprintMismatch, loadDataset, type DatasetFingerprint } from '../data/index.js';
import { downloadFile, isHubId } from '../hub/index.js';
import { existsSync } from 'node:fs';
import { toDatasetSpec } from './dataset-spec.js';
import type { FromWorker, ToWorker } from './worker.js';

const HEARTBEAT_MS = 10_000;
const STALE_MS = 120_000; // a run without a heartbeat for this long is dead (twelve missed heartbeats)
/** How often a run with nothing left to claim looks again for trials of runs that died meanwhile. */
const ORPHAN_POLL_MS = 1_000;
const ABORT_GRACE_MS = 5_000;

export type StudyEvent =
  | { type: 'trial-start'; trial: TrialRecord; worker: string; /** the checkpoint it resumes from */ resumeFrom: string | null }
  | { type: 'trial-progress'; trialId: string; worker: string; progress: TrialProgress }
  | { type: 'trial-done'; trial: TrialRecord; worker: string; outcome: TrialOutcome }
  | { type: 'trial-failed'; trial: TrialRecord; worker: string; error: string }
  | { type: 'warning'; message: string };

export interface RunStudyOptions {
  /** failed trials → pending before starting */
  retryFailed?: boolean;
  /** override the spec's execution settings */
  workers?: number;
  threadsPerWorker?: number;
  /** run trials in-process with this function (no worker threads) */
  runner?: TrialRunner;
  /** a module (path or URL) exporting `runTrial`, loaded by each worker thread; default: the src/train fine-tuner */
  runnerModule?: string;
  signal?: AbortSignal;
  quiet?: boolean;
  onEvent?: (e: StudyEvent) => void;
  /** cores to plan for (default: os.availableParallelism()) */
  cores?: number;
}

export interface StudySummary {
  name: string;
  store: string;
  total: number;
  counts: { pending: number; running: number; done: number; failed: number };
  /** trials finished / failed by this run */
  ranNow: number;
  failedNow: number;
  /** done trials of the study whose evaluation was non-finite (NaN/Inf loss or logits; see nonFiniteReason) */
  nonFinite: string[];
  /** trials put back to pending because a previous process died */
  recovered: string[];
  baseline: BaselineRecord | null;
  workers: number;
  threadsPerWorker: number;
  seconds: number;
  interrupted: boolean;
  warnings: string[];
}

/** Which top-level parts of two specs differ (for the "design changed" message). */
function specDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

/** Plan workers × engine threads: never more than the cores unless oversubscribe is set. */
export function planExecution(
  spec: { execution: Pick<StudySpec['execution'], 'workers' | 'threads_per_worker' | 'oversubscribe'> },
  pendingTrials: number,
  opts: { workers?: number; threadsPerWorker?: number; cores?: number } = {},
): { workers: number; threadsPerWorker: number; warnings: string[] } {
  const cores = Math.max(1, opts.cores ?? availableParallelism());
  const warnings: string[] = [];
  const askedW = opts.workers ?? spec.execution.workers;
  const askedT = opts.threadsPerWorker ?? spec.execution.threads_per_worker;
  // 'auto': one single-threaded worker per core (the study bench's best split on small models), fewer if few trials remain.
  let workers = askedW === 'auto' ? Math.max(1, Math.min(cores, pendingTrials || 1)) : askedW;
  if (workers > cores && !spec.execution.oversubscribe) {
    warnings.push(`${workers} workers asked on ${cores} cores: using ${cores} (set execution.oversubscribe: true to allow more)`);
    workers = cores;
  }
  let threads = askedT === 'auto' ? Math.max(1, Math.floor(cores / workers)) : askedT;
  if (workers * threads > cores && !spec.execution.oversubscribe) {
    const t = Math.max(1, Math.floor(cores / workers));
    warnings.push(`${workers} workers × ${threads} threads exceeds ${cores} cores: using ${t} thread(s) per worker`);
    threads = t;
  }
  // even with oversubscribe: thousands of threads never get going (the run hangs in thread creation)
  const cap = MAX_THREADS_PER_CORE * cores;
  if (workers * threads > cap) {
    throw new UserError(`${workers} worker(s) × ${threads} thread(s) is more than ${cap} threads (${MAX_THREADS_PER_CORE} per core on ${cores} cores), even with execution.oversubscribe`);
  }
  return { workers, threadsPerWorker: threads, warnings };
}

/**
 * Why a finished trial's numbers are not finite, or null: a NaN/Inf loss or logits at the final evaluation
 * (`non_finite_logits`, from src/train's metrics) and the training step where it started (`non_finite_step`).
 * Such a trial is `done` (rerunning it reproduces the same NaN) and its metrics are kept as they came out.
 */
export function nonFiniteReason(metrics: Record<string, number | null> | null): string | null {
  if (!metrics) return null;
  const rows = metrics.non_finite_logits;
  const loss = metrics.loss;
  const bad = (typeof rows === 'number' && rows > 0) || (typeof loss === 'number' && !Number.isFinite(loss));
  if (!bad) return null;
  const step = metrics.non_finite_step;
  return `non-finite evaluation (loss ${loss}, ${rows ?? '?'} of ${metrics.num_samples ?? '?'} examples with NaN/Inf logits)${typeof step === 'number' ? `; training stopped at step ${step} with a NaN/Inf loss or gradient norm` : ''}`;
}

/** A run's warnings: kept for its summary, and sent as `warning` events as they come. */
export function warningCollector(onEvent?: (e: StudyEvent) => void): { warnings: string[]; warn: (message: string) => void } {
  const warnings: string[] = [];
  return {
    warnings,
    warn: (message) => {
      warnings.push(message);
      onEvent?.({ type: 'warning', message });
    },
  };
}

/** The study's done trials with non-finite metrics (warned about, once, at the end of a run). */
export async function warnNonFinite(store: StudyStore, warn: (message: string) => void): Promise<string[]> {
  const ids = (await store.listTrials({ status: 'done' })).filter((t) => nonFiniteReason(t.metrics) !== null).map((t) => t.id);
  if (ids.length > 0) warn(`${ids.length} trial(s) finished with non-finite metrics (NaN/Inf loss or logits): ${ids.join(', ')}`);
  return ids;
}

/** Runs of this process that are still going (several studies may run in one process). */
const activeRuns = new Set<string>();

/**
 * Is the process behind a run still there? A run writes a heartbeat every HEARTBEAT_MS; one without a heartbeat
 * for STALE_MS is dead wherever it ran — on this host too, where its pid may since belong to another process
 * (pids are reused). On this host a fresh heartbeat is also checked against the OS (a pid that is gone is dead at
 * once; our own pid: only the runs still active in this process); from another host the heartbeat alone decides.
 */
export function runIsAlive(run: RunRecord, nowMs = Date.now()): boolean {
  if (run.finishedAt !== null) return false;
  if (run.host === hostname() && run.pid === process.pid) return activeRuns.has(run.id);
  const age = nowMs - Date.parse(run.heartbeatAt);
  if (!(age < STALE_MS)) return false;
  if (run.host === hostname()) {
    try {
      process.kill(run.pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return true;
}

/** Why a run that never finished is not running any more (for `study status`), or null while it is alive. */
export function deadRunReason(run: RunRecord, nowMs = Date.now()): string | null {
  if (run.finishedAt !== null || runIsAlive(run, nowMs)) return null;
  const age = Math.round((nowMs - Date.parse(run.heartbeatAt)) / 1000);
  if (run.host === hostname() && !(age * 1000 >= STALE_MS)) return `pid ${run.pid} is gone (killed or crashed)`;
  return `no heartbeat for ${age} s (killed or crashed)`;
}

/** Mean of each metric over the done baseline trials (the reference configuration's seeds, or the one evaluation). */
export function baselineFromTrials(trials: TrialRecord[]): Record<string, number> | null {
  const done = trials.filter((t) => t.isBaseline && t.status === 'done' && t.metrics);
  if (done.length === 0 || done.length < trials.filter((t) => t.isBaseline).length) return null;
  const out: Record<string, number> = {};
  for (const k of Object.keys(done[0]!.metrics!)) {
    const vals = done.map((t) => t.metrics![k]);
    if (vals.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) out[k] = vals.reduce((a, b) => a + b, 0) / vals.length;
  }
  return out;
}

export async function refreshBaseline(store: StudyStore, spec: StudySpec): Promise<BaselineRecord | null> {
  const b = spec.baseline;
  if (!b) return null;
  if (b.kind === 'metrics') {
    const rec = { metrics: b.metrics, source: 'spec: baseline.metrics' };
    await store.setBaseline(rec);
    return rec;
  }
  const trials = await store.listTrials({ isBaseline: true });
  const m = baselineFromTrials(trials);
  if (!m) return store.getBaseline();
  const source =
    b.kind === 'evaluate'
      ? `evaluate: ${spec.model.kind === 'pretrained' ? spec.model.id : 'from_config model'} on the eval split`
      : `config ${canonicalJson(b.config)}: mean over ${trials.length} seed(s)`;
  const rec = { metrics: m, source };
  await store.setBaseline(rec);
  return rec;
}

/** The spec as stored: connection URLs without their passwords in clear. */
export function storedSpec(spec: StudySpec): StudySpec {
  return {
    ...spec,
    store: maskUrl(spec.store),
    execution: { ...spec.execution, ...(spec.execution.queue !== undefined ? { queue: maskUrl(spec.execution.queue) } : {}) },
  };
}

/**
 * Where a study's local files go (a from_config model folder is written beside this path): the SQLite store itself,
 * or for a PostgreSQL store `runs/<name>.postgres` beside the spec (a path that is never created, only its folder).
 */
export function studyAnchor(spec: StudySpec): string {
  if (!isPostgresUrl(spec.store)) return spec.store;
  const base = spec.source ? dirname(resolve(spec.source)) : process.cwd();
  return join(base, 'runs', `${spec.name}.postgres`);
}

/** Nothing stored yet for this study (no SQLite file; a PostgreSQL store without the study record). */
async function isFreshStudy(spec: StudySpec): Promise<boolean> {
  if (!isPostgresUrl(spec.store)) return !existsSync(spec.store);
  const s = openStore(spec.store);
  try {
    return (await s.getStudy()) === null;
  } finally {
    await s.close();
  }
}

/**
 * Open the spec's store and make sure it holds this study (creating it, or checking the stored spec is the same
 * design), with every expanded trial inserted. Returns the open store (caller closes).
 */
export async function prepareStudy(spec: StudySpec, store?: StudyStore): Promise<{ store: StudyStore; created: boolean }> {
  // the whole design is validated and expanded before the store is opened: an error here (a design above the
  // size bound, a baseline.config value of the wrong type) must not leave a study row that refuses the fixed spec
  const trials = expandDesign(spec);
  const s = store ?? openStore(spec.store);
  try {
    let existing = await s.getStudy();
    const hash = specHash(spec);
    let created = false;
    if (!existing) {
      try {
        await s.createStudy({ name: spec.name, spec: storedSpec(spec), specHash: hash, tunescopeVersion: tunescopeVersion() });
        created = true;
      } catch (e) {
        // another process created it between our read and our insert: compare with theirs
        existing = await s.getStudy();
        if (!existing) throw e;
      }
    }
    if (existing && existing.specHash !== hash) {
      const stored = existing.spec as StudySpec;
      const diff = specDiff(specIdentity(stored), specIdentity(spec));
      throw new UserError(
        `the study in ${s.location} was created from a different spec (changed: ${diff.join(', ') || 'details'}); ` +
          `its trials would not be comparable. Use a new store (set \`store:\` to another path) or delete ${s.location} to start over`,
      );
    }
    const evalSeed = evalSubsampleSeed(toDatasetSpec(spec.dataset));
    await s.addTrials(
      trials.map((t) => ({
        id: t.id, ordinal: t.ordinal, kind: t.kind, config: t.config, seed: t.seed, dataSeed: t.dataSeed, evalSeed, inDesign: t.inDesign, isBaseline: t.isBaseline,
      })),
    );
    // blocks `study extend` recorded: their trials again (a process killed after the record, before the insert)
    for (const b of created ? [] : await readBlocks(s)) await s.addTrials(blockNewTrials(b, evalSeed));
    return { store: s, created };
  } catch (e) {
    if (!store) await s.close();
    throw e;
  }
}

/**
 * For the built-in trainer: fixed args must be valid HF TrainingArguments and every factor a known argument,
 * checked before anything runs. A bad factor *value* is left to the trials (recorded as failed, the study goes on).
 */
export function checkTrainingArguments(spec: StudySpec): void {
  const where = spec.source ?? 'study spec';
  try {
    // args.bf16: true on a machine without AMX fails here, before any trial
    resolvePrecision(resolveTrainingArguments(spec.args as Parameters<typeof resolveTrainingArguments>[0]).bf16);
  } catch (e) {
    throw new UserError(`${where}: args: ${(e as Error).message}`);
  }
  const known = new Set<string>(ARGUMENT_SPECS.map((a) => a.name));
  const names = [
    ...spec.design.factors.map((f) => [`design.factors.${f.name}`, f.name] as const),
    ...(spec.baseline?.kind === 'config' ? Object.keys(spec.baseline.config).map((k) => [`baseline.config.${k}`, k] as const) : []),
  ];
  for (const [path, n] of names) {
    if (!known.has(n)) throw new UserError(`${where}: ${path}: not an HF training argument tunescope knows (e.g. learning_rate, per_device_train_batch_size, num_train_epochs, weight_decay, warmup_ratio)`);
  }
  // baseline.config values are training arguments too: a wrong type or range is one error now, not a failed baseline
  if (spec.baseline?.kind === 'config') {
    try {
      resolveTrainingArguments({ ...spec.args, ...spec.baseline.config } as Parameters<typeof resolveTrainingArguments>[0]);
    } catch (e) {
      throw new UserError(`${where}: baseline.config: ${(e as Error).message}`);
    }
  }
}

/**
 * Before any trial of the built-in trainer: the dataset loads (splits, columns, labels) and a Hub model is
 * reachable, so a typo or an offline machine is one clear error instead of every trial failing the same way.
 */
export async function preflight(spec: StudySpec, model: string): Promise<DatasetFingerprint | null> {
  const where = spec.source ?? 'study spec';
  let fingerprint: DatasetFingerprint | null;
  try {
    fingerprint = (await loadDataset(toDatasetSpec(spec.dataset))).fingerprint ?? null;
  } catch (e) {
    throw new UserError(`${where}: dataset: ${(e as Error).message}`);
  }
  if (spec.model.kind === 'pretrained' && !existsSync(model)) {
    if (!isHubId(model)) throw new UserError(`${where}: model: ${model} is neither a local folder nor a Hub id`);
    try {
      await downloadFile(model, 'config.json');
    } catch (e) {
      throw new UserError(`${where}: model: ${(e as Error).message}`);
    }
  }
  return fingerprint;
}

/**
 * Where trials keep their checkpoints: `<store name>.trials/<trial id>/` next to a store file, or `runs/<study>.trials/`
 * beside the spec for a networked store.
 */
export function trialsRoot(spec: Pick<StudySpec, 'store' | 'name' | 'source'>): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec.store)) return resolve(spec.source ? dirname(spec.source) : '.', 'runs', `${spec.name}.trials`);
  return join(dirname(spec.store), `${basename(spec.store, extname(spec.store))}.trials`);
}

/**
 * Before a resumed attempt starts: the steps its checkpoint holds that the store's curve lacks, written under the new
 * attempt. A process killed after publishing a checkpoint but before its steps were flushed would otherwise leave a
 * gap between the last recorded step and the checkpoint's (the resume picks the newer checkpoint on disk).
 */
export async function recordCheckpointSteps(store: StudyStore, trialId: string, holder: TrialHolder, checkpoint: string): Promise<void> {
  const last = (await store.stepLogs(trialId)).reduce((m, r) => Math.max(m, r.step), 0);
  const missing = checkpointLogHistory(checkpoint)
    .filter((l) => l.step > last)
    .map((l) => ({ step: l.step, epoch: l.epoch, loss: l.loss, learningRate: l.learning_rate }));
  if (missing.length > 0) await store.addStepLogs(trialId, holder, missing);
}

/**
 * The checkpoint a claimed trial resumes from: the one the store records, or a newer complete one in its folder
 * (a process killed between publishing a checkpoint and recording it); for the latter, the steps the store's curve
 * lacks are written from it under `holder`, the new attempt (a recorded checkpoint's steps were flushed before it).
 */
export async function resumePoint(store: StudyStore, trialId: string, dir: string, holder: TrialHolder): Promise<string | null> {
  const recorded = await store.getCheckpoint(trialId);
  const onDisk = listCheckpoints(dir).at(-1) ?? null;
  if (recorded && existsSync(recorded.location) && (!onDisk || onDisk.step <= recorded.step)) return recorded.location;
  const latest = onDisk ? latestCheckpoint(dir) : null;
  if (latest) await recordCheckpointSteps(store, trialId, holder, latest);
  return latest;
}

/**
 * The data every trial must see: recorded with the study on its first run (`fingerprint`, from preflight), compared
 * on every later one; a mismatch is an error naming the file. Returns the recorded fingerprint (null: none known).
 */
export async function studyFingerprint(store: StudyStore, spec: StudySpec, fingerprint: DatasetFingerprint | null): Promise<DatasetFingerprint | null> {
  if (!fingerprint) return null;
  const recorded = (await store.getMeta('dataset_fingerprint')) as DatasetFingerprint | null;
  if (!recorded) {
    await store.setMeta('dataset_fingerprint', fingerprint);
    return fingerprint;
  }
  const why = fingerprintMismatch(recorded, fingerprint);
  if (why) {
    throw new UserError(
      `${spec.source ?? 'study spec'}: dataset: ${why}; the finished trials used the recorded data (see \`tunescope study status\`): restore it, or start a new study (another \`store:\`)`,
    );
  }
  return recorded;
}

/** One place a trial runs: a worker thread with the runner module loaded, or an in-process runner function. */
export interface Slot {
  name: string;
  run(task: TrialTask): Promise<TrialOutcome>;
  /** resolves once the runner is loaded (a worker thread started); rejects with WorkerStartError if it cannot be */
  ready(): Promise<void>;
  abort(): void;
  close(): Promise<void>;
  /** the worker died (its trial was recorded as failed): the loop starts a fresh one */
  dead(): boolean;
}

export class AbortedTrial extends Error {}
/** The worker could not start or load its runner: no trial can run, so the study stops (trials stay pending). */
export class WorkerStartError extends UserError {}

/** A runner module as a URL a worker thread can import (a path is resolved against the working directory). */
export function runnerModuleUrl(m: string | undefined): string {
  if (!m) return defaultRunnerModule();
  return /^[a-z]+:/.test(m) && !isAbsolute(m) ? m : pathToFileURL(resolve(m)).href;
}

function defaultRunnerModule(): string {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './trainer-runner.ts' : './trainer-runner.js', here).href;
}

/** tsx's loader API, resolved from this package (an eval'd worker would resolve a bare name from the working directory). */
function tsxLoaderUrl(runnerModule: string): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    throw new WorkerStartError(`the trial runner ${runnerModule} is TypeScript, which needs tsx installed (npm install tsx) or the runner compiled to JavaScript`);
  }
}

export type OnCheckpoint = (id: string, c: { location: string; step: number }) => void;

export function workerSlot(name: string, runnerModule: string, threads: number, onProgress: (id: string, p: TrialProgress) => void, onCheckpoint: OnCheckpoint): Slot {
  const here = import.meta.url;
  const isTs = here.endsWith('.ts');
  const entry = new URL(isTs ? './worker.ts' : './worker.js', here).href;
  const options = {
    workerData: { runnerModule, threads, worker: name },
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    stderr: false,
    stdout: false,
  };
  // Running from TypeScript (tsx), or a runner module written in TypeScript: Node 20 ignores `--import tsx` in a
  // worker's execArgv and cannot load .ts itself, so the worker registers tsx's loader before importing its entry.
  const tsx = isTs || /\.[cm]?ts$/.test(new URL(runnerModule).pathname) ? tsxLoaderUrl(runnerModule) : null;
  const worker = tsx
    ? new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, { ...options, eval: true })
    : new Worker(new URL(entry), options);
  let pending: { id: string; resolve: (o: TrialOutcome) => void; reject: (e: Error) => void } | null = null;
  let fatal: string | null = null;
  const ready = new Promise<void>((res, rej) => {
    worker.once('error', (e) => rej(new WorkerStartError(`worker ${name} failed to start: ${e.message}`)));
    worker.once('exit', (code) => rej(new WorkerStartError(`worker ${name} exited while starting (code ${code})`)));
    const onMsg = (m: FromWorker) => {
      if (m.type === 'ready') {
        worker.off('message', onMsg);
        res();
      } else if (m.type === 'fatal') {
        fatal = m.message;
        rej(new WorkerStartError(m.message));
      }
    };
    worker.on('message', onMsg);
  });
  ready.catch(() => {});
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'progress') onProgress(m.id, m);
    else if (m.type === 'checkpoint') onCheckpoint(m.id, m);
    else if (m.type === 'result' && pending?.id === m.id) {
      const p = pending;
      pending = null;
      p.resolve(m.outcome as TrialOutcome);
    } else if (m.type === 'error' && pending?.id === m.id) {
      const p = pending;
      pending = null;
      p.reject(m.aborted ? new AbortedTrial(m.message) : new Error(m.message));
    }
  });
  const onDeath = (why: string) => {
    fatal ??= why;
    if (pending) {
      const p = pending;
      pending = null;
      p.reject(new Error(why));
    }
  };
  worker.on('error', (e) => onDeath(`worker ${name} crashed: ${e.message}`));
  worker.on('exit', (code) => onDeath(`worker ${name} exited (code ${code})`));
  let closed = false;
  return {
    name,
    ready: () => ready,
    async run(task) {
      await ready;
      if (fatal) throw new WorkerStartError(fatal);
      return new Promise<TrialOutcome>((res, rej) => {
        pending = { id: task.id, resolve: res, reject: rej };
        worker.postMessage({ type: 'run', task } satisfies ToWorker);
      });
    },
    abort() {
      if (!closed) worker.postMessage({ type: 'abort' } satisfies ToWorker);
    },
    async close() {
      closed = true;
      await worker.terminate();
    },
    dead: () => fatal !== null && !closed,
  };
}

export function inProcessSlot(name: string, runner: TrialRunner, threads: number, signal: AbortSignal, onProgress: (id: string, p: TrialProgress) => void, onCheckpoint: OnCheckpoint): Slot {
  let ac: AbortController | null = null;
  return {
    name,
    ready: () => Promise.resolve(),
    async run(task) {
      ac = new AbortController();
      const a = ac;
      const onAbort = () => a.abort();
      signal.addEventListener('abort', onAbort);
      try {
        return await runner(task, { signal: a.signal, threads, worker: name, onProgress: (p) => onProgress(task.id, p), onCheckpoint: (c) => onCheckpoint(task.id, c) });
      } catch (e) {
        if (a.signal.aborted) throw new AbortedTrial((e as Error).message);
        throw e;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    abort() {
      ac?.abort();
    },
    async close() {},
    dead: () => false,
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      res();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/**
 * Why `study run` refuses the spec's design (its analysis model has aliased terms), or null. A study that `study extend
 * --strategy augment` has augmented is judged on the design as it now stands (its store's blocks).
 */
export async function studyAliasedError(spec: StudySpec): Promise<string | null> {
  const aliased = aliasedDesignError(spec);
  if (!aliased || !(/^[a-z][a-z0-9+.-]+:\/\//i.test(spec.store) || existsSync(spec.store))) return aliased;
  const s = openStore(spec.store);
  try {
    const study = await s.getStudy();
    return study && study.specHash === specHash(spec) ? aliasedDesignError(spec, await readBlocks(s)) : aliased;
  } finally {
    await s.close();
  }
}

/**
 * Run (or resume) a study. Finished trials are never redone; trials a dead process left running start again;
 * a trial that throws is recorded as failed and the study goes on. Resolves when no pending trial is left,
 * or after a clean stop when `signal` aborts (interrupted: true; the trials that were running are pending again).
 */
export async function runStudy(specOrPath: string | StudySpec, opts: RunStudyOptions = {}): Promise<StudySummary> {
  const t0 = Date.now();
  trace('run-start');
  const spec = typeof specOrPath === 'string' ? loadStudySpec(specOrPath) : specOrPath;
  if (!opts.runner && !opts.runnerModule) checkTrainingArguments(spec);
  // hours of fine-tuning for a model the design cannot estimate: refuse unless asked (`study plan` explains)
  const aliased = await studyAliasedError(spec);
  if (aliased) throw new UserError(aliased);
  const { warnings, warn } = warningCollector(opts.onEvent);
  const builtIn = !opts.runner && !opts.runnerModule;
  // A fresh study is checked before its store exists: a typo in the dataset or model must not leave behind a store
  // that then refuses the corrected spec as "created from a different spec".
  let checked = false;
  let fingerprint: DatasetFingerprint | null = null;
  if (builtIn && (await isFreshStudy(spec))) {
    // a from_config model is written next to the store (a reusable cache keyed by its config)
    if (spec.model.kind !== 'pretrained') ensureDir(dirname(studyAnchor(spec)), 'store');
    fingerprint = await preflight(spec, materializeModel(spec.model, studyAnchor(spec)));
    checked = true;
    trace('checked');
  }
  const { store } = await prepareStudy(spec);
  trace('store-ready');
  const runId = `${hostname()}:${process.pid}:${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let heartbeat: NodeJS.Timeout | null = null;
  let progress: StudyProgress | null = null;
  const slots: Slot[] = [];
  let runStarted = false;
  let stepWriter: StepLogWriter | null = null;
  try {
    const recovered = await store.recoverStale((r) => runIsAlive(r));
    if (recovered.length > 0) warn(`${recovered.length} trial(s) left running by a stopped process start again`);
    if (opts.retryFailed) await store.resetFailed();
    let baseline = await refreshBaseline(store, spec);

    const counts0 = await store.counts();
    const plan = planExecution(spec, counts0.pending, { ...opts, ...(opts.cores !== undefined ? { cores: opts.cores } : {}) });
    plan.warnings.forEach(warn);
    if (counts0.failed > 0 && !opts.retryFailed) warn(`${counts0.failed} failed trial(s) are not rerun (use --retry-failed)`);

    const model = counts0.pending > 0 ? materializeModel(spec.model, studyAnchor(spec)) : spec.model.kind === 'pretrained' ? spec.model.id : '';
    if (counts0.pending > 0 && builtIn && !checked) fingerprint = await preflight(spec, model);
    fingerprint = await studyFingerprint(store, spec, fingerprint);
    await store.startRun({ id: runId, host: hostname(), pid: process.pid, workers: plan.workers, threadsPerWorker: plan.threadsPerWorker });
    runStarted = true;
    activeRuns.add(runId);
    heartbeat = setInterval(() => void store.heartbeat(runId).catch(() => {}), HEARTBEAT_MS);
    heartbeat.unref();

    const total = counts0.pending + counts0.running + counts0.done + counts0.failed;
    const workerNames = Array.from({ length: plan.workers }, (_, i) => `w${i + 1}`);
    progress = createStudyProgress({ total, done: counts0.done + counts0.failed, workers: workerNames, ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}) });
    const live = { done: counts0.done, failed: counts0.failed, running: counts0.running };
    const showCounts = () => progress?.setCounts({ ...live, total });
    showCounts();

    const stop = new AbortController();
    // Cooperative stop: the runners see their abort signal between training steps and throw; a worker is never
    // terminated while a trial runs in it (worker.terminate() inside an ONNX Runtime call aborts the whole process).
    const stopAll = () => {
      stop.abort();
      for (const s of slots) s.abort();
    };
    const onUserAbort = stopAll;
    if (opts.signal?.aborted) onUserAbort();
    opts.signal?.addEventListener('abort', onUserAbort);

    const trialWorker = new Map<string, string>();
    const stepWarned = new Set<string>();
    const stepLogs = new StepLogWriter({
      onError: (id, e) => {
        if (!stepWarned.has(id)) warn(`trial ${id}: training steps not recorded: ${errorText(e)}`);
        stepWarned.add(id);
      },
    });
    stepWriter = stepLogs;
    const onProgress = (id: string, p: TrialProgress) => {
      const w = trialWorker.get(id);
      if (!w) return;
      stepLogs.push(id, p);
      progress?.workerProgress(w, p);
      opts.onEvent?.({ type: 'trial-progress', trialId: id, worker: w, progress: p });
    };
    const runnerModule = runnerModuleUrl(opts.runnerModule);
    // checkpoints are recorded as they come (one store write each); a late one for a trial this run no longer holds is ignored
    // the steps logged before it are written first: a resumed attempt's curve has no gap before its checkpoint
    const onCheckpoint: OnCheckpoint = (id, c) =>
      void stepLogs
        .flush(id)
        .then(() => store.setCheckpoint(id, runId, c))
        .catch((e: unknown) => warn(`trial ${id}: checkpoint not recorded: ${errorText(e)}`));
    const makeSlot = (name: string): Slot =>
      opts.runner
        ? inProcessSlot(name, opts.runner, plan.threadsPerWorker, stop.signal, onProgress, onCheckpoint)
        : workerSlot(name, runnerModule, plan.threadsPerWorker, onProgress, onCheckpoint);
    const trialsDir = trialsRoot(spec);
    const dropCheckpoints = async (id: string): Promise<void> => {
      if (spec.execution.keep_checkpoints) return;
      rmSync(join(trialsDir, id), { recursive: true, force: true });
      await store.clearCheckpoint(id);
    };
    for (const name of counts0.pending > 0 ? workerNames : []) slots.push(makeSlot(name));
    trace('prepared');

    /**
     * Nothing left to claim: before this run ends, trials still `running` under other runs are waited for, and
     * taken over as soon as their run is dead (pid gone, or no heartbeat for STALE_MS) — a survivor of two
     * concurrent runs must not end with the dead one's trials stuck `running`.
     */
    let waitingNoted = false;
    const orphan = async (worker: string): Promise<TrialRecord | null> => {
      while (!stop.signal.aborted && !fatal) {
        const others = (await store.listTrials({ status: 'running' })).filter((t) => t.runId !== runId);
        if (others.length === 0) return null;
        const taken = await store.recoverStale((r) => runIsAlive(r));
        if (taken.length > 0) {
          recovered.push(...taken);
          warn(`${taken.length} trial(s) left running by a process that died during this run start again here`);
        } else if (!waitingNoted) {
          waitingNoted = true;
          progress?.log(`waiting for ${others.length} trial(s) running in another process (taken over here if it dies)`);
        }
        const t = await store.claimNext(runId, worker);
        if (t) return t;
        if (taken.length === 0) await abortableSleep(ORPHAN_POLL_MS, stop.signal);
      }
      return null;
    };
    let ranNow = 0;
    let failedNow = 0;
    let fatal: Error | null = null;
    const loop = async (index: number) => {
      while (!stop.signal.aborted && !fatal) {
        let slot = slots[index]!;
        if (slot.dead()) {
          // a worker that crashed (its trial is recorded as failed) is replaced by a fresh one
          await slot.close().catch(() => {});
          slot = slots[index] = makeSlot(slot.name);
        }
        const trial = await store.claimNext(runId, slot.name) ?? (await orphan(slot.name));
        if (!trial) break;
        trace('claimed', trial.id);
        live.running++;
        showCounts();
        trialWorker.set(trial.id, slot.name);
        stepLogs.start(trial.id, store, { runId, attempt: trial.attempts });
        const label = `${trial.kind === 'evaluate' ? 'baseline evaluation' : Object.entries(trial.config).map(([k, v]) => `${k}=${v}`).join(' ')} seed=${trial.seed}${trial.dataSeed !== null ? ` data_seed=${trial.dataSeed}` : ''}`;
        const task: TrialTask = {
          id: trial.id,
          kind: trial.kind,
          config: trial.config,
          seed: trial.seed,
          dataSeed: trial.dataSeed,
          model,
          dataset: spec.dataset,
          args: trialArgs(spec.args, trial.config, trial.seed, trial.dataSeed),
          ...(fingerprint ? { dataFingerprint: fingerprint } : {}),
        };
        const every = spec.execution.checkpoint_every;
        if (trial.kind === 'train' && every) {
          const dir = join(trialsDir, trial.id);
          task.checkpoint = { dir, every, resumeFrom: await resumePoint(store, trial.id, dir, { runId, attempt: trial.attempts }) };
        }
        const resumeFrom = task.checkpoint?.resumeFrom ?? null;
        progress?.workerStart(slot.name, resumeFrom ? `${label} (resumed at step ${/checkpoint-(\d+)$/.exec(resumeFrom)?.[1] ?? '?'})` : label);
        opts.onEvent?.({ type: 'trial-start', trial, worker: slot.name, resumeFrom });
        let outcome: TrialOutcome | null = null;
        let runError: unknown = null;
        trace('slot-run', trial.id);
        try {
          outcome = await slot.run(task);
        } catch (e) {
          runError = e;
        }
        trace('outcome', trial.id);
        await stepLogs.end(trial.id);
        // store errors below are not the trial's fault: they end this loop and stop the study (see guarded())
        try {
          if (outcome) {
            const ok = await store.completeTrial(trial.id, runId, outcome);
            trace('completed', trial.id);
            if (ok) {
              await dropCheckpoints(trial.id);
              ranNow++;
              live.done++;
              opts.onEvent?.({ type: 'trial-done', trial, worker: slot.name, outcome });
              const why = nonFiniteReason(outcome.metrics);
              if (why) progress?.log(`trial ${trial.id} (${label}): ${why}`);
              if (trial.isBaseline) baseline = await refreshBaseline(store, spec);
            }
          } else if (runError instanceof AbortedTrial || stop.signal.aborted) {
            await store.releaseTrial(trial.id, runId);
          } else if (runError instanceof WorkerStartError) {
            await store.releaseTrial(trial.id, runId);
            fatal = runError;
          } else {
            const msg = errorText(runError);
            const ok = await store.failTrial(trial.id, runId, msg);
            // a retry (--retry-failed) starts afresh: the failure may lie in what the checkpoint holds
            if (ok) await dropCheckpoints(trial.id);
            if (ok) {
              failedNow++;
              live.failed++;
              opts.onEvent?.({ type: 'trial-failed', trial, worker: slot.name, error: msg });
              progress?.log(`trial ${trial.id} (${label}) failed: ${msg}`);
            }
          }
        } finally {
          live.running--;
          trialWorker.delete(trial.id);
          progress?.workerIdle(slot.name);
          showCounts();
        }
      }
    };
    // one loop failing (the store is full or gone) stops the others cooperatively; all of them end before the
    // workers are closed, so no worker is terminated mid-trial
    const guarded = async (i: number) => {
      try {
        await loop(i);
      } catch (e) {
        fatal ??= e as Error;
        stopAll();
      }
    };
    await Promise.all(slots.map((_, i) => guarded(i)));
    trace('all-seen');
    opts.signal?.removeEventListener('abort', onUserAbort);
    if (fatal) throw fatal;
    baseline = await refreshBaseline(store, spec);
    if (spec.baseline && spec.baseline.kind !== 'metrics' && !baseline) warn('the baseline is not available yet (its trials are not all done): relative metrics are missing');
    await store.finishRun(runId);
    runStarted = false;
    const counts = await store.counts();
    const nonFinite = await warnNonFinite(store, warn);
    trace('run-end');
    return {
      name: spec.name,
      store: store.location,
      total,
      counts,
      ranNow,
      failedNow,
      nonFinite,
      recovered,
      baseline,
      workers: plan.workers,
      threadsPerWorker: plan.threadsPerWorker,
      seconds: (Date.now() - t0) / 1000,
      interrupted: stop.signal.aborted,
      warnings,
    };
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    await stepWriter?.close();
    activeRuns.delete(runId);
    progress?.stop();
    await Promise.all(
      slots.map((s) =>
        Promise.race([s.close(), new Promise<void>((r) => setTimeout(r, ABORT_GRACE_MS).unref())]).catch(() => {}),
      ),
    );
    // a run that ended by an exception is marked finished, so its `running` trials are recovered at once next time
    if (runStarted) await store.finishRun(runId).catch(() => {});
    await store.close();
  }
}
