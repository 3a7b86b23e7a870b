/**
 * The SQLite study store (better-sqlite3): WAL journal so readers (`study status`) never block the writer,
 * a busy timeout so several processes can share one study file, and every state change in one transaction.
 * Claiming is `BEGIN IMMEDIATE` (the write lock is taken before the read), so two workers never get the same trial.
 */
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../util/index.js';
import { decodePredictions, encodePredictions } from './predictions.js';
import { guardStore, StoreError, toStoreError } from './errors.js';
import type {
  BaselineRecord,
  EpochMetricsRow,
  NewTrial,
  RunRecord,
  StudyRecord,
  StudyStore,
  TrialCheckpoint,
  TrialOutcome,
  TrialPredictions,
  TrialRecord,
  TrialStatus,
} from './types.js';

/** A SQLite database by its 16-byte header (a study store, as opposed to a spec or a CSV). */
export function isSqliteFile(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return n === 16 && buf.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    closeSync(fd);
  }
}


const SCHEMA_VERSION = 2;

const PREDICTIONS_TABLE = `CREATE TABLE IF NOT EXISTS predictions (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  num_examples INTEGER NOT NULL,
  num_labels INTEGER NOT NULL,
  data BLOB NOT NULL
);`;

/** Trial checkpoints (a table of its own: created in any store a writer opens, whatever its schema version). */
const CHECKPOINT_TABLE = `
CREATE TABLE IF NOT EXISTS trial_checkpoints (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  location TEXT NOT NULL,
  step INTEGER NOT NULL,
  saved_at TEXT NOT NULL
);
`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS study (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  tunescope_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL,
  finished_at TEXT,
  workers INTEGER NOT NULL,
  threads_per_worker INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  id TEXT PRIMARY KEY,
  ordinal INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('train', 'evaluate')),
  config_json TEXT NOT NULL,
  seed INTEGER NOT NULL,
  data_seed INTEGER,
  eval_seed INTEGER,
  in_design INTEGER NOT NULL,
  is_baseline INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  run_id TEXT,
  worker TEXT,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  metrics_json TEXT,
  train_seconds REAL,
  examples_per_second REAL,
  tokens_per_second REAL,
  steps INTEGER,
  backend TEXT,
  versions_json TEXT
);
CREATE INDEX IF NOT EXISTS trials_status ON trials (status, is_baseline, ordinal);
CREATE TABLE IF NOT EXISTS epoch_metrics (
  trial_id TEXT NOT NULL REFERENCES trials (id),
  epoch REAL NOT NULL,
  step INTEGER NOT NULL,
  train_loss REAL,
  learning_rate REAL,
  seconds REAL,
  metrics_json TEXT NOT NULL,
  PRIMARY KEY (trial_id, epoch)
);
CREATE TABLE IF NOT EXISTS baseline (
  metric TEXT PRIMARY KEY,
  value REAL NOT NULL,
  source TEXT NOT NULL
);
${PREDICTIONS_TABLE}
`;

/** Schema changes from each older version to the next (run in one transaction on open). */
const MIGRATIONS: Record<number, string> = {
  // 1 → 2: data_seed and the evaluation subsample seed per trial; per-example predictions
  1: `ALTER TABLE trials ADD COLUMN data_seed INTEGER;
      ALTER TABLE trials ADD COLUMN eval_seed INTEGER;
      ${PREDICTIONS_TABLE}`,
};

interface TrialRow {
  id: string;
  ordinal: number;
  kind: 'train' | 'evaluate';
  config_json: string;
  seed: number;
  data_seed: number | null;
  eval_seed: number | null;
  in_design: number;
  is_baseline: number;
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

const now = (): string => new Date().toISOString();

/** NaN/±Infinity survive the round trip through JSON as strings. */
function encodeMetrics(m: Record<string, number | null>): string {
  return JSON.stringify(m, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}
function decodeMetrics(s: string): Record<string, number | null> {
  const raw = JSON.parse(s) as Record<string, unknown>;
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : null;
  return out;
}
const finiteOrNull = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function toRecord(r: TrialRow): TrialRecord {
  return {
    id: r.id,
    ordinal: r.ordinal,
    kind: r.kind,
    config: JSON.parse(r.config_json) as Record<string, number>,
    seed: r.seed,
    dataSeed: r.data_seed ?? null,
    evalSeed: r.eval_seed ?? null,
    inDesign: r.in_design === 1,
    isBaseline: r.is_baseline === 1,
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

interface CheckpointRow {
  trial_id: string;
  location: string;
  step: number;
  saved_at: string;
}
const checkpointRecord = (r: CheckpointRow): TrialCheckpoint => ({ trialId: r.trial_id, location: r.location, step: r.step, savedAt: r.saved_at });

export class SqliteStudyStore implements StudyStore {
  readonly location: string;
  private readonly db: Database.Database;
  /** an older schema opened read-only */
  private legacy = false;

  constructor(path: string, opts: { readonly?: boolean } = {}) {
    this.location = resolve(path);
    if (opts.readonly && !existsSync(this.location)) throw new UserError(`study store not found: ${path}`);
    try {
      if (!opts.readonly) {
        mkdirSync(dirname(this.location), { recursive: true });
        // a WAL store writes beside itself: a read-only file or folder is named as such, not "unable to open"
        accessSync(existsSync(this.location) ? this.location : dirname(this.location), fsConstants.W_OK);
        accessSync(dirname(this.location), fsConstants.W_OK);
      }
      this.db = new Database(this.location, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: 15_000 });
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('foreign_keys = ON');
      }
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version === 0 && !opts.readonly) {
        this.db.exec(SCHEMA);
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      } else if (version >= 1 && version < SCHEMA_VERSION && !opts.readonly) {
        this.db.transaction(() => {
          for (let v = version; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
          this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
        }).immediate();
      } else if (version >= 1 && version < SCHEMA_VERSION) {
        // read-only and older: readable as it is (no data seeds, no predictions); the next writer upgrades it
        this.legacy = true;
      } else if (version !== SCHEMA_VERSION) {
        throw new UserError(`${path} is not a tunescope study store (schema version ${version}, expected ${SCHEMA_VERSION})`);
      }
      if (!opts.readonly) this.db.exec(CHECKPOINT_TABLE);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const se = toStoreError(e, this.location);
      if (se instanceof StoreError) throw se;
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_NOTADB') throw new UserError(`${path} is not a SQLite database`);
      throw new UserError(`cannot open study store ${path}: ${(e as Error).message}`);
    }
  }

  async getStudy(): Promise<StudyRecord | null> {
    const r = this.db.prepare('SELECT * FROM study WHERE id = 1').get() as
      | { name: string; spec_json: string; spec_hash: string; created_at: string; tunescope_version: string }
      | undefined;
    if (!r) return null;
    return { name: r.name, spec: JSON.parse(r.spec_json), specHash: r.spec_hash, createdAt: r.created_at, tunescopeVersion: r.tunescope_version };
  }

  async createStudy(rec: { name: string; spec: unknown; specHash: string; tunescopeVersion: string }): Promise<StudyRecord> {
    const createdAt = now();
    try {
      this.db
        .prepare('INSERT INTO study (id, name, spec_json, spec_hash, created_at, tunescope_version) VALUES (1, ?, ?, ?, ?, ?)')
        .run(rec.name, JSON.stringify(rec.spec), rec.specHash, createdAt, rec.tunescopeVersion);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UserError(`${this.location} already holds a study`);
      throw e;
    }
    return { name: rec.name, spec: rec.spec, specHash: rec.specHash, createdAt, tunescopeVersion: rec.tunescopeVersion };
  }

  async addTrials(trials: NewTrial[]): Promise<number> {
    const ins = this.db.prepare(
      `INSERT OR IGNORE INTO trials (id, ordinal, kind, config_json, seed, data_seed, eval_seed, in_design, is_baseline, status, attempts)
       VALUES (@id, @ordinal, @kind, @config_json, @seed, @data_seed, @eval_seed, @in_design, @is_baseline, 'pending', 0)`,
    );
    const tx = this.db.transaction((ts: NewTrial[]) => {
      let n = 0;
      for (const t of ts) {
        n += ins.run({
          id: t.id,
          ordinal: t.ordinal,
          kind: t.kind,
          config_json: JSON.stringify(t.config),
          seed: t.seed,
          data_seed: t.dataSeed ?? null,
          eval_seed: t.evalSeed ?? null,
          in_design: t.inDesign ? 1 : 0,
          is_baseline: t.isBaseline ? 1 : 0,
        }).changes;
      }
      return n;
    });
    return tx.immediate(trials);
  }

  async listTrials(filter: { status?: TrialStatus | TrialStatus[]; inDesign?: boolean; isBaseline?: boolean } = {}): Promise<TrialRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.status !== undefined) {
      const st = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.push(`status IN (${st.map(() => '?').join(',')})`);
      params.push(...st);
    }
    if (filter.inDesign !== undefined) {
      where.push('in_design = ?');
      params.push(filter.inDesign ? 1 : 0);
    }
    if (filter.isBaseline !== undefined) {
      where.push('is_baseline = ?');
      params.push(filter.isBaseline ? 1 : 0);
    }
    const sql = `SELECT * FROM trials${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ordinal`;
    return (this.db.prepare(sql).all(...params) as TrialRow[]).map(toRecord);
  }

  async getTrial(id: string): Promise<TrialRecord | null> {
    const r = this.db.prepare('SELECT * FROM trials WHERE id = ?').get(id) as TrialRow | undefined;
    return r ? toRecord(r) : null;
  }

  async counts(): Promise<Record<TrialStatus, number>> {
    const out: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM trials GROUP BY status').all() as Array<{ status: TrialStatus; n: number }>) {
      out[r.status] = r.n;
    }
    return out;
  }

  async startRun(run: { id: string; host: string; pid: number; workers: number; threadsPerWorker: number }): Promise<void> {
    const t = now();
    this.db
      .prepare('INSERT INTO runs (id, host, pid, started_at, heartbeat_at, workers, threads_per_worker) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(run.id, run.host, run.pid, t, t, run.workers, run.threadsPerWorker);
  }

  async heartbeat(runId: string): Promise<void> {
    this.db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ?').run(now(), runId);
  }

  async finishRun(runId: string): Promise<void> {
    this.db.prepare('UPDATE runs SET finished_at = ?, heartbeat_at = ? WHERE id = ?').run(now(), now(), runId);
  }

  async listRuns(): Promise<RunRecord[]> {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as Array<{
      id: string;
      host: string;
      pid: number;
      started_at: string;
      heartbeat_at: string;
      finished_at: string | null;
      workers: number;
      threads_per_worker: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
      finishedAt: r.finished_at,
      workers: r.workers,
      threadsPerWorker: r.threads_per_worker,
    }));
  }

  async recoverStale(isAlive: (run: RunRecord) => boolean): Promise<string[]> {
    const runs = new Map((await this.listRuns()).map((r) => [r.id, r]));
    const tx = this.db.transaction(() => {
      const running = this.db.prepare("SELECT id, run_id FROM trials WHERE status = 'running'").all() as Array<{ id: string; run_id: string | null }>;
      const reset = this.db.prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL WHERE id = ? AND status = 'running'");
      const out: string[] = [];
      for (const t of running) {
        const run = t.run_id ? runs.get(t.run_id) : undefined;
        if (!run || run.finishedAt !== null || !isAlive(run)) {
          reset.run(t.id);
          out.push(t.id);
        }
      }
      return out;
    });
    return tx.immediate();
  }

  async claimNext(runId: string, worker: string): Promise<TrialRecord | null> {
    const tx = this.db.transaction(() => {
      const r = this.db
        .prepare("SELECT * FROM trials WHERE status = 'pending' ORDER BY is_baseline DESC, ordinal LIMIT 1")
        .get() as TrialRow | undefined;
      if (!r) return null;
      const t = now();
      this.db
        .prepare("UPDATE trials SET status = 'running', attempts = attempts + 1, run_id = ?, worker = ?, started_at = ?, finished_at = NULL, error = NULL WHERE id = ?")
        .run(runId, worker, t, r.id);
      return toRecord({ ...r, status: 'running', attempts: r.attempts + 1, run_id: runId, worker, started_at: t, finished_at: null, error: null });
    });
    return tx.immediate();
  }

  async completeTrial(id: string, runId: string, o: TrialOutcome): Promise<boolean> {
    const tx = this.db.transaction(() => {
      const upd = this.db
        .prepare(
          `UPDATE trials SET status = 'done', finished_at = ?, error = NULL, metrics_json = ?, train_seconds = ?, examples_per_second = ?,
             tokens_per_second = ?, steps = ?, backend = ?, versions_json = ?
           WHERE id = ? AND status = 'running' AND run_id = ?`,
        )
        .run(
          now(),
          encodeMetrics(o.metrics),
          finiteOrNull(o.trainSeconds),
          finiteOrNull(o.examplesPerSecond),
          finiteOrNull(o.tokensPerSecond),
          finiteOrNull(o.steps),
          o.backend ?? null,
          o.versions ? JSON.stringify(o.versions) : null,
          id,
          runId,
        );
      if (upd.changes !== 1) return false;
      // Epochs of an earlier, interrupted attempt are replaced by this attempt's.
      this.db.prepare('DELETE FROM epoch_metrics WHERE trial_id = ?').run(id);
      const ins = this.db.prepare(
        'INSERT INTO epoch_metrics (trial_id, epoch, step, train_loss, learning_rate, seconds, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const e of o.epochs) {
        ins.run(id, e.epoch, e.step, finiteOrNull(e.trainLoss), finiteOrNull(e.learningRate), finiteOrNull(e.seconds), encodeMetrics(e.metrics));
      }
      this.db.prepare('DELETE FROM predictions WHERE trial_id = ?').run(id);
      if (o.predictions) {
        this.db
          .prepare('INSERT INTO predictions (trial_id, num_examples, num_labels, data) VALUES (?, ?, ?, ?)')
          .run(id, o.predictions.label.length, o.predictions.numLabels, encodePredictions(o.predictions));
      }
      return true;
    });
    return tx.immediate();
  }

  async failTrial(id: string, runId: string, error: string): Promise<boolean> {
    const r = this.db
      .prepare("UPDATE trials SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running' AND run_id = ?")
      .run(now(), error, id, runId);
    return r.changes === 1;
  }

  async releaseTrial(id: string, runId: string): Promise<boolean> {
    const r = this.db
      .prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL, started_at = NULL WHERE id = ? AND status = 'running' AND run_id = ?")
      .run(id, runId);
    return r.changes === 1;
  }

  async resetFailed(): Promise<number> {
    return this.db.prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL WHERE status = 'failed'").run().changes;
  }

  async setCheckpoint(trialId: string, runId: string, c: { location: string; step: number }): Promise<boolean> {
    const tx = this.db.transaction(() => {
      const held = this.db.prepare("SELECT 1 FROM trials WHERE id = ? AND status = 'running' AND run_id = ?").get(trialId, runId);
      if (!held) return false;
      this.db
        .prepare('INSERT INTO trial_checkpoints (trial_id, location, step, saved_at) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id) DO UPDATE SET location = excluded.location, step = excluded.step, saved_at = excluded.saved_at')
        .run(trialId, c.location, c.step, now());
      return true;
    });
    return tx.immediate();
  }

  async clearCheckpoint(trialId: string): Promise<void> {
    if (this.hasCheckpointTable()) this.db.prepare('DELETE FROM trial_checkpoints WHERE trial_id = ?').run(trialId);
  }

  async getCheckpoint(trialId: string): Promise<TrialCheckpoint | null> {
    if (!this.hasCheckpointTable()) return null;
    const r = this.db.prepare('SELECT trial_id, location, step, saved_at FROM trial_checkpoints WHERE trial_id = ?').get(trialId) as CheckpointRow | undefined;
    return r ? checkpointRecord(r) : null;
  }

  async listCheckpoints(): Promise<TrialCheckpoint[]> {
    if (!this.hasCheckpointTable()) return [];
    return (this.db.prepare('SELECT trial_id, location, step, saved_at FROM trial_checkpoints ORDER BY trial_id').all() as CheckpointRow[]).map(checkpointRecord);
  }

  /** A store opened read-only from before trial checkpoints has no such table. */
  private hasCheckpointTable(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trial_checkpoints'").get() !== undefined;
  }

  async epochMetrics(trialId?: string): Promise<EpochMetricsRow[]> {
    const rows = (
      trialId === undefined
        ? this.db.prepare('SELECT e.* FROM epoch_metrics e JOIN trials t ON t.id = e.trial_id ORDER BY t.ordinal, e.epoch').all()
        : this.db.prepare('SELECT * FROM epoch_metrics WHERE trial_id = ? ORDER BY epoch').all(trialId)
    ) as Array<{ trial_id: string; epoch: number; step: number; train_loss: number | null; learning_rate: number | null; seconds: number | null; metrics_json: string }>;
    return rows.map((r) => ({
      trialId: r.trial_id,
      epoch: r.epoch,
      step: r.step,
      trainLoss: r.train_loss,
      learningRate: r.learning_rate,
      seconds: r.seconds,
      metrics: decodeMetrics(r.metrics_json),
    }));
  }

  async predictions(trialId?: string): Promise<Array<{ trialId: string; predictions: TrialPredictions }>> {
    if (this.legacy) return [];
    const rows = (
      trialId === undefined
        ? this.db.prepare('SELECT p.trial_id, p.data FROM predictions p JOIN trials t ON t.id = p.trial_id ORDER BY t.ordinal').all()
        : this.db.prepare('SELECT trial_id, data FROM predictions WHERE trial_id = ?').all(trialId)
    ) as Array<{ trial_id: string; data: Buffer }>;
    return rows.map((r) => ({ trialId: r.trial_id, predictions: decodePredictions(r.data) }));
  }

  async setBaseline(b: BaselineRecord): Promise<void> {
    const tx = this.db.transaction(() => {
      this.db.prepare('DELETE FROM baseline').run();
      const ins = this.db.prepare('INSERT INTO baseline (metric, value, source) VALUES (?, ?, ?)');
      for (const [k, v] of Object.entries(b.metrics)) if (Number.isFinite(v)) ins.run(k, v, b.source);
    });
    tx.immediate();
  }

  async getBaseline(): Promise<BaselineRecord | null> {
    const rows = this.db.prepare('SELECT metric, value, source FROM baseline ORDER BY metric').all() as Array<{ metric: string; value: number; source: string }>;
    if (rows.length === 0) return null;
    return { metrics: Object.fromEntries(rows.map((r) => [r.metric, r.value])), source: rows[0]!.source };
  }

  /** SQLite's data_version: bumped on this connection whenever another connection (any process) commits. */
  async changeToken(): Promise<string> {
    return String(this.db.pragma('data_version', { simple: true }));
  }

  async getMeta(key: string): Promise<unknown> {
    let row: { value: string } | undefined;
    try {
      row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    } catch (e) {
      // a store written before the meta table existed, opened read-only
      if (/no such table/.test((e as Error).message)) return null;
      throw e;
    }
    return row ? (JSON.parse(row.value) as unknown) : null;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    this.db.exec(META_TABLE);
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Created on first use (no schema version change: older tunescope versions ignore it). */
const META_TABLE = 'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)';

/** Open (creating if needed) a SQLite study store. */
export function openSqliteStore(path: string, opts: { readonly?: boolean } = {}): SqliteStudyStore {
  return new SqliteStudyStore(path, opts);
}

/** Open a store by location: a file path is SQLite; a postgres:// URL would be the PostgreSQL store (not built yet). */
export function openStore(location: string, opts: { readonly?: boolean } = {}): StudyStore {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new UserError('PostgreSQL study stores are not implemented yet; use a SQLite file path (store: ./runs/NAME.sqlite)');
  }
  // every store goes through guardStore: a full disk or a read-only file is one clear error, not a stack trace
  return guardStore(openSqliteStore(location, opts));
}
