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
import { StoreError, toStoreError } from './errors.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  BaselineRecord,
  EpochMetricsRow,
  NewRun,
  StepLogRow,
  NewTrial,
  RunRecord,
  StudyDump,
  StudyRecord,
  StudyStore,
  TrialCheckpoint,
  TrialHolder,
  TrialOutcome,
  TrialPredictions,
  TrialRecord,
  TrialStatus,
} from './types.js';
import {
  restoreTables,
  encodeMetrics,
  finiteOrNull,
  holderOf,
  holds,
  now,
  toAttemptRecord,
  toEpochRow,
  toStepLogRow,
  toRunRecord,
  toTrialRecord,
  checkpointRecord,
  type AttemptRow,
  type CheckpointRow,
  type EpochRow,
  type RunRow,
  type StepRow,
  type TrialRow,
} from './codec.js';

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


/** Add a column unless it is there (a migration re-run on a store that already has part of it stays harmless). */
function addColumn(db: Database.Database, table: string, column: string, type: string): void {
  const cols = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
  if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}

/**
 * Versioned schema (PRAGMA user_version): MIGRATIONS[i] takes a store from version i to i + 1, all of them in one
 * transaction; a store newer than this code is refused with a clear error instead of being misread.
 */
const MIGRATIONS: Array<(db: Database.Database) => void> = [
  // 1: the study, its runs, trials, per-epoch metrics and baseline
  (db) =>
    db.exec(`
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
);`),
  // 2: data_seed and the evaluation subsample seed per trial; per-example predictions
  (db) => {
    addColumn(db, 'trials', 'data_seed', 'INTEGER');
    addColumn(db, 'trials', 'eval_seed', 'INTEGER');
    db.exec(`CREATE TABLE IF NOT EXISTS predictions (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  num_examples INTEGER NOT NULL,
  num_labels INTEGER NOT NULL,
  data BLOB NOT NULL
);`);
  },
  // 3: queue workers (role, name) and each trial's attempt history
  (db) => {
    addColumn(db, 'runs', 'role', "TEXT NOT NULL DEFAULT 'local'");
    addColumn(db, 'runs', 'name', 'TEXT');
    db.exec(`CREATE TABLE IF NOT EXISTS trial_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trial_id TEXT NOT NULL REFERENCES trials (id),
  attempt INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  worker TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  outcome TEXT NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS trial_attempts_trial ON trial_attempts (trial_id, attempt);`);
  },
];
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Trial checkpoints (a table of its own: created in any store a writer opens, whatever its schema version). */
const CHECKPOINT_TABLE = `
CREATE TABLE IF NOT EXISTS trial_checkpoints (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  location TEXT NOT NULL,
  step INTEGER NOT NULL,
  saved_at TEXT NOT NULL
);
`;

/**
 * Per-step training logs (like trial_checkpoints: created in any store a writer opens; an older tunescope ignores
 * it). Keyed by (trial, step): a trial has one curve, whichever attempts wrote it.
 */
const STEP_LOG_TABLE = `
CREATE TABLE IF NOT EXISTS trial_steps (
  trial_id TEXT NOT NULL REFERENCES trials (id),
  step INTEGER NOT NULL,
  epoch REAL NOT NULL,
  loss REAL,
  learning_rate REAL,
  attempt INTEGER NOT NULL,
  PRIMARY KEY (trial_id, step)
) WITHOUT ROWID;
`;

/** Created on first use (no schema version change: older tunescope versions ignore it). */
const META_TABLE = 'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)';


/** Apply the missing migrations in one write transaction (another process may have migrated meanwhile: re-read under the lock). */
function upgrade(db: Database.Database): void {
  const tx = db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < SQLITE_SCHEMA_VERSION; i++) MIGRATIONS[i]!(db);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  });
  tx.immediate();
}

export class SqliteStudyStore implements StudyStore {
  readonly location: string;
  private readonly db: Database.Database;
  /** the schema version of an older store opened read-only (0: current) */
  private legacy = 0;

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
      this.migrate(path, opts.readonly ?? false);
      if (!opts.readonly) this.db.exec(CHECKPOINT_TABLE + STEP_LOG_TABLE);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const se = toStoreError(e, this.location);
      if (se instanceof StoreError) throw se;
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_NOTADB') throw new UserError(`${path} is not a SQLite database`);
      throw new UserError(`cannot open study store ${path}: ${(e as Error).message}`);
    }
  }

  private migrate(path: string, readonly: boolean): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new UserError(`${path} has study-store schema version ${version}, newer than this tunescope understands (${SQLITE_SCHEMA_VERSION}): upgrade tunescope`);
    }
    if (version === 0 && this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'").get() !== undefined) {
      throw new UserError(`${path} is not a tunescope study store (it holds other tables)`);
    }
    if (version === SQLITE_SCHEMA_VERSION) return;
    if (!readonly) upgrade(this.db);
    // read-only and older: readable as it is (no data seeds, predictions or attempt history); the next writer upgrades it
    else this.legacy = version;
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
    return (this.db.prepare(sql).all(...params) as TrialRow[]).map(toTrialRecord);
  }

  async getTrial(id: string): Promise<TrialRecord | null> {
    const r = this.row(id);
    return r ? toTrialRecord(r) : null;
  }

  private row(id: string): TrialRow | undefined {
    return this.db.prepare('SELECT * FROM trials WHERE id = ?').get(id) as TrialRow | undefined;
  }

  async counts(): Promise<Record<TrialStatus, number>> {
    const out: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM trials GROUP BY status').all() as Array<{ status: TrialStatus; n: number }>) {
      out[r.status] = r.n;
    }
    return out;
  }

  async startRun(run: NewRun): Promise<void> {
    const t = now();
    this.db
      .prepare('INSERT INTO runs (id, role, name, host, pid, started_at, heartbeat_at, workers, threads_per_worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(run.id, run.role ?? 'local', run.name ?? null, run.host, run.pid, t, t, run.workers, run.threadsPerWorker);
  }

  async heartbeat(runId: string): Promise<void> {
    this.db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ?').run(now(), runId);
  }

  async finishRun(runId: string): Promise<void> {
    this.db.prepare('UPDATE runs SET finished_at = ?, heartbeat_at = ? WHERE id = ?').run(now(), now(), runId);
  }

  async listRuns(): Promise<RunRecord[]> {
    return (this.db.prepare('SELECT * FROM runs ORDER BY started_at, id').all() as RunRow[]).map(toRunRecord);
  }

  /** Close the open attempt of a run at a trial with this outcome. */
  private endAttempt(trialId: string, runId: string, attempt: number | undefined, outcome: AttemptOutcome, error: string | null): void {
    this.db
      .prepare(
        `UPDATE trial_attempts SET outcome = ?, error = ?, finished_at = ?
         WHERE trial_id = ? AND run_id = ? AND outcome IN ('running', 'lost')${attempt !== undefined ? ' AND attempt = ?' : ''}`,
      )
      .run(outcome, error, now(), trialId, runId, ...(attempt !== undefined ? [attempt] : []));
  }

  private addAttempt(trialId: string, attempt: number, runId: string, worker: string | null, outcome: AttemptOutcome, at: string): void {
    this.db
      .prepare('INSERT INTO trial_attempts (trial_id, attempt, run_id, worker, started_at, finished_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(trialId, attempt, runId, worker, at, outcome === 'running' ? null : at, outcome);
  }

  async recoverStale(isAlive: (run: RunRecord) => boolean): Promise<string[]> {
    const runs = new Map((await this.listRuns()).map((r) => [r.id, r]));
    const tx = this.db.transaction(() => {
      const running = this.db.prepare("SELECT id, run_id, attempts FROM trials WHERE status = 'running'").all() as Array<{ id: string; run_id: string | null; attempts: number }>;
      const reset = this.db.prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL WHERE id = ? AND status = 'running'");
      const out: string[] = [];
      for (const t of running) {
        const run = t.run_id ? runs.get(t.run_id) : undefined;
        if (!run || run.finishedAt !== null || !isAlive(run)) {
          reset.run(t.id);
          if (t.run_id) this.endAttempt(t.id, t.run_id, t.attempts, 'lost', null);
          out.push(t.id);
        }
      }
      return out;
    });
    return tx.immediate();
  }

  private claimRow(r: TrialRow, runId: string, worker: string): TrialRecord {
    const t = now();
    this.db
      .prepare("UPDATE trials SET status = 'running', attempts = attempts + 1, run_id = ?, worker = ?, started_at = ?, finished_at = NULL, error = NULL WHERE id = ?")
      .run(runId, worker, t, r.id);
    this.addAttempt(r.id, r.attempts + 1, runId, worker, 'running', t);
    return toTrialRecord({ ...r, status: 'running', attempts: r.attempts + 1, run_id: runId, worker, started_at: t, finished_at: null, error: null });
  }

  async claimNext(runId: string, worker: string): Promise<TrialRecord | null> {
    const tx = this.db.transaction(() => {
      const r = this.db
        .prepare("SELECT * FROM trials WHERE status = 'pending' ORDER BY is_baseline DESC, ordinal LIMIT 1")
        .get() as TrialRow | undefined;
      return r ? this.claimRow(r, runId, worker) : null;
    });
    return tx.immediate();
  }

  async claimTrial(id: string, runId: string, worker: string, opts: { takeOver?: boolean } = {}): Promise<TrialRecord | null> {
    const tx = this.db.transaction(() => {
      const r = this.row(id);
      if (!r) return null;
      if (r.status === 'done') {
        this.addAttempt(id, r.attempts, runId, worker, 'duplicate', now());
        return null;
      }
      if (r.status === 'pending' || (r.status === 'running' && opts.takeOver)) {
        if (r.status === 'running' && r.run_id) this.endAttempt(id, r.run_id, r.attempts, 'lost', null);
        return this.claimRow(r, runId, worker);
      }
      return null;
    });
    return tx.immediate();
  }

  /** A completion/failure by someone who no longer holds the trial: kept in the history, nothing else written. */
  private refuse(r: TrialRow | undefined, h: TrialHolder): false {
    if (r) this.endAttempt(r.id, h.runId, h.attempt, r.status === 'done' ? 'duplicate' : 'stale', null);
    return false;
  }

  async completeTrial(id: string, holder: string | TrialHolder, o: TrialOutcome): Promise<boolean> {
    const h = holderOf(holder);
    const tx = this.db.transaction(() => {
      const r = this.row(id);
      if (!r || !holds(r, h)) {
        // a second completion of the same done trial (by its own holder) is a duplicate as well
        if (r && r.status === 'done' && r.run_id === h.runId) this.addAttempt(id, r.attempts, h.runId, r.worker, 'duplicate', now());
        return this.refuse(r, h);
      }
      this.db
        .prepare(
          `UPDATE trials SET status = 'done', finished_at = ?, error = NULL, metrics_json = ?, train_seconds = ?, examples_per_second = ?,
             tokens_per_second = ?, steps = ?, backend = ?, versions_json = ?
           WHERE id = ?`,
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
        );
      this.endAttempt(id, h.runId, r.attempts, 'done', null);
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

  async failTrial(id: string, holder: string | TrialHolder, error: string, opts: { retry?: boolean } = {}): Promise<boolean> {
    const h = holderOf(holder);
    const tx = this.db.transaction(() => {
      const r = this.row(id);
      if (!r || !holds(r, h)) return this.refuse(r, h);
      if (opts.retry) {
        this.db.prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL, started_at = NULL, error = ? WHERE id = ?").run(error, id);
      } else {
        this.db.prepare("UPDATE trials SET status = 'failed', finished_at = ?, error = ? WHERE id = ?").run(now(), error, id);
      }
      this.endAttempt(id, h.runId, r.attempts, 'failed', error);
      return true;
    });
    return tx.immediate();
  }

  async releaseTrial(id: string, holder: string | TrialHolder): Promise<boolean> {
    const h = holderOf(holder);
    const tx = this.db.transaction(() => {
      const r = this.row(id);
      if (!r || !holds(r, h)) return false;
      this.db.prepare("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL, started_at = NULL WHERE id = ?").run(id);
      this.endAttempt(id, h.runId, r.attempts, 'released', null);
      return true;
    });
    return tx.immediate();
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
    if (this.hasTable('trial_checkpoints')) this.db.prepare('DELETE FROM trial_checkpoints WHERE trial_id = ?').run(trialId);
  }

  async getCheckpoint(trialId: string): Promise<TrialCheckpoint | null> {
    if (!this.hasTable('trial_checkpoints')) return null;
    const r = this.db.prepare('SELECT trial_id, location, step, saved_at FROM trial_checkpoints WHERE trial_id = ?').get(trialId) as CheckpointRow | undefined;
    return r ? checkpointRecord(r) : null;
  }

  async listCheckpoints(): Promise<TrialCheckpoint[]> {
    if (!this.hasTable('trial_checkpoints')) return [];
    return (this.db.prepare('SELECT trial_id, location, step, saved_at FROM trial_checkpoints ORDER BY trial_id').all() as CheckpointRow[]).map(checkpointRecord);
  }

  /** A store opened read-only from before trial checkpoints (or study meta) has no such table. */
  private hasTable(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }

  async attemptHistory(trialId?: string): Promise<AttemptRecord[]> {
    if (this.legacy && this.legacy < 3) return [];
    const rows = (
      trialId === undefined
        ? this.db.prepare('SELECT a.* FROM trial_attempts a JOIN trials t ON t.id = a.trial_id ORDER BY t.ordinal, a.id').all()
        : this.db.prepare('SELECT * FROM trial_attempts WHERE trial_id = ? ORDER BY id').all(trialId)
    ) as AttemptRow[];
    return rows.map(toAttemptRecord);
  }

  async epochMetrics(trialId?: string): Promise<EpochMetricsRow[]> {
    const rows = (
      trialId === undefined
        ? this.db.prepare('SELECT e.* FROM epoch_metrics e JOIN trials t ON t.id = e.trial_id ORDER BY t.ordinal, e.epoch').all()
        : this.db.prepare('SELECT * FROM epoch_metrics WHERE trial_id = ? ORDER BY epoch').all(trialId)
    ) as EpochRow[];
    return rows.map(toEpochRow);
  }

  async addStepLogs(trialId: string, holder: string | TrialHolder, rows: Array<Omit<StepLogRow, 'trialId' | 'attempt'>>): Promise<boolean> {
    const h = holderOf(holder);
    const tx = this.db.transaction(() => {
      const r = this.db.prepare('SELECT status, run_id, attempts FROM trials WHERE id = ?').get(trialId) as Pick<TrialRow, 'status' | 'run_id' | 'attempts'> | undefined;
      if (!r || !holds(r, h)) return false;
      if (rows.length === 0) return true;
      const first = Math.min(...rows.map((x) => x.step));
      // an earlier attempt's steps from here on are not this attempt's history (a resumed one keeps those before its checkpoint)
      this.db.prepare('DELETE FROM trial_steps WHERE trial_id = ? AND attempt <> ? AND step >= ?').run(trialId, r.attempts, first);
      const ins = this.db.prepare(
        `INSERT INTO trial_steps (trial_id, step, epoch, loss, learning_rate, attempt) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (trial_id, step) DO UPDATE SET epoch = excluded.epoch, loss = excluded.loss, learning_rate = excluded.learning_rate, attempt = excluded.attempt`,
      );
      for (const x of rows) ins.run(trialId, x.step, x.epoch, finiteOrNull(x.loss), finiteOrNull(x.learningRate), r.attempts);
      return true;
    });
    return tx.immediate();
  }

  async stepLogs(trialId?: string, opts: { afterStep?: number } = {}): Promise<StepLogRow[]> {
    if (!this.hasTable('trial_steps')) return [];
    const after = opts.afterStep ?? -1;
    const rows = (
      trialId === undefined
        ? this.db.prepare('SELECT s.* FROM trial_steps s JOIN trials t ON t.id = s.trial_id WHERE s.step > ? ORDER BY t.ordinal, s.step').all(after)
        : this.db.prepare('SELECT * FROM trial_steps WHERE trial_id = ? AND step > ? ORDER BY step').all(trialId, after)
    ) as StepRow[];
    return rows.map(toStepLogRow);
  }

  async predictions(trialId?: string): Promise<Array<{ trialId: string; predictions: TrialPredictions }>> {
    if (this.legacy && this.legacy < 2) return [];
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

  async dump(): Promise<StudyDump> {
    const study = await this.getStudy();
    if (!study) throw new UserError(`${this.location} holds no study`);
    const meta: Record<string, unknown> = {};
    if (this.hasTable('meta')) {
      for (const r of this.db.prepare('SELECT key, value FROM meta ORDER BY key').all() as Array<{ key: string; value: string }>) meta[r.key] = JSON.parse(r.value) as unknown;
    }
    return {
      study,
      trials: await this.listTrials(),
      epochs: await this.epochMetrics(),
      steps: await this.stepLogs(),
      runs: await this.listRuns(),
      attempts: await this.attemptHistory(),
      predictions: await this.predictions(),
      baseline: await this.getBaseline(),
      checkpoints: await this.listCheckpoints(),
      meta,
    };
  }

  async restore(d: StudyDump): Promise<void> {
    const tx = this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM study').get()) throw new UserError(`${this.location} already holds a study`);
      this.db.exec(META_TABLE);
      for (const t of restoreTables(d, (b) => (b ? 1 : 0), 'meta')) {
        const ins = this.db.prepare(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`);
        for (const row of t.rows) ins.run(...row);
      }
    });
    tx.immediate();
  }

  /** SQLite's data_version: bumped on this connection whenever another connection (any process) commits. */
  async changeToken(): Promise<string> {
    return String(this.db.pragma('data_version', { simple: true }));
  }

  async getMeta(key: string): Promise<unknown> {
    // a store written before the meta table existed, opened read-only
    if (!this.hasTable('meta')) return null;
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
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

/** Open (creating if needed) a SQLite study store. */
export function openSqliteStore(path: string, opts: { readonly?: boolean } = {}): SqliteStudyStore {
  return new SqliteStudyStore(path, opts);
}
