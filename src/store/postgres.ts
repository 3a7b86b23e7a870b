/**
 * The PostgreSQL study store (node-postgres): the same data as the SQLite store, for studies whose trials run on
 * several machines. `postgres://user[:password]@host:port/db[?schema=NAME&sslmode=…]`; every connection option
 * other than `schema` (sslmode, sslrootcert, application_name, …) passes through to node-postgres unchanged, and a
 * password may instead come from PGPASSWORD or ~/.pgpass (so that it need not appear in a spec at all).
 *
 * - Versioned migrations: `tunescope_schema` holds the version; migrations run under an advisory lock (several
 *   workers starting at once), and a store newer than this code is a clear error.
 * - Every state change is one transaction; claims lock the row (`FOR UPDATE`, `SKIP LOCKED` for claimNext).
 * - A restarted or briefly unreachable server is retried with exponential backoff (connection errors only;
 *   a wrong password or a missing database is one clear error at once). A transaction whose COMMIT was lost
 *   is retried safely: a completion already recorded for the same attempt counts as done, not as a duplicate.
 * - The password never leaves this module: `location` and every error message carry the masked URL.
 */
import pg from 'pg';
import { UserError, maskUrl, maskUrlsIn } from '../util/index.js';
import { decodePredictions, encodePredictions } from './predictions.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  BaselineRecord,
  EpochMetricsRow,
  StepLogRow,
  NewRun,
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

/** PG_MIGRATIONS[i] takes a store from version i to i + 1. */
const PG_MIGRATIONS: string[] = [
  `
CREATE TABLE study (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  tunescope_version TEXT NOT NULL
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL DEFAULT 'local',
  name TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL,
  finished_at TEXT,
  workers INTEGER NOT NULL,
  threads_per_worker INTEGER NOT NULL
);
CREATE TABLE trials (
  id TEXT PRIMARY KEY,
  ordinal INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('train', 'evaluate')),
  config_json TEXT NOT NULL,
  seed BIGINT NOT NULL,
  data_seed BIGINT,
  eval_seed BIGINT,
  in_design BOOLEAN NOT NULL,
  is_baseline BOOLEAN NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  run_id TEXT,
  worker TEXT,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  metrics_json TEXT,
  train_seconds DOUBLE PRECISION,
  examples_per_second DOUBLE PRECISION,
  tokens_per_second DOUBLE PRECISION,
  steps INTEGER,
  backend TEXT,
  versions_json TEXT
);
CREATE INDEX trials_status ON trials (status, is_baseline, ordinal);
CREATE TABLE epoch_metrics (
  trial_id TEXT NOT NULL REFERENCES trials (id),
  epoch DOUBLE PRECISION NOT NULL,
  step INTEGER NOT NULL,
  train_loss DOUBLE PRECISION,
  learning_rate DOUBLE PRECISION,
  seconds DOUBLE PRECISION,
  metrics_json TEXT NOT NULL,
  PRIMARY KEY (trial_id, epoch)
);
CREATE TABLE baseline (
  metric TEXT PRIMARY KEY,
  value DOUBLE PRECISION NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE trial_attempts (
  id BIGSERIAL PRIMARY KEY,
  trial_id TEXT NOT NULL REFERENCES trials (id),
  attempt INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  worker TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  outcome TEXT NOT NULL,
  error TEXT
);
CREATE INDEX trial_attempts_trial ON trial_attempts (trial_id, attempt);
CREATE TABLE predictions (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  num_examples INTEGER NOT NULL,
  num_labels INTEGER NOT NULL,
  data BYTEA NOT NULL
);
`,
  // 2: running trials' checkpoints, study-level facts (dataset fingerprints), and a change counter for readers
  `
CREATE TABLE trial_checkpoints (
  trial_id TEXT PRIMARY KEY REFERENCES trials (id),
  location TEXT NOT NULL,
  step INTEGER NOT NULL,
  saved_at TEXT NOT NULL
);
CREATE TABLE study_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE study_changes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n BIGINT NOT NULL
);
INSERT INTO study_changes (id, n) VALUES (1, 0);
CREATE FUNCTION tunescope_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE study_changes SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END $$;
CREATE TRIGGER trials_changed AFTER INSERT OR UPDATE OR DELETE ON trials FOR EACH STATEMENT EXECUTE FUNCTION tunescope_bump();
CREATE TRIGGER epochs_changed AFTER INSERT OR UPDATE OR DELETE ON epoch_metrics FOR EACH STATEMENT EXECUTE FUNCTION tunescope_bump();
CREATE TRIGGER runs_changed AFTER INSERT OR UPDATE OR DELETE ON runs FOR EACH STATEMENT EXECUTE FUNCTION tunescope_bump();
CREATE TRIGGER baseline_changed AFTER INSERT OR UPDATE OR DELETE ON baseline FOR EACH STATEMENT EXECUTE FUNCTION tunescope_bump();
`,
  // 3: per-step training logs, one curve per trial (keyed by step); a write bumps the change counter (live curves)
  `
CREATE TABLE trial_steps (
  trial_id TEXT NOT NULL REFERENCES trials (id),
  step INTEGER NOT NULL,
  epoch DOUBLE PRECISION NOT NULL,
  loss DOUBLE PRECISION,
  learning_rate DOUBLE PRECISION,
  attempt INTEGER NOT NULL,
  PRIMARY KEY (trial_id, step)
);
CREATE TRIGGER steps_changed AFTER INSERT OR UPDATE OR DELETE ON trial_steps FOR EACH STATEMENT EXECUTE FUNCTION tunescope_bump();
`,
];
export const POSTGRES_SCHEMA_VERSION = PG_MIGRATIONS.length;


export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/** Errors worth retrying: the server went away, is restarting, or a serialisation conflict. */
function transient(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  if (/^(08|57P0)/.test(code) || code === '40001' || code === '40P01' || code === '53300') return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|server closed the connection/i.test((e as Error).message ?? '');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PostgresStoreOptions {
  readonly?: boolean;
  /** keep retrying a lost connection this long before giving up (default 300 s; TUNESCOPE_PG_RETRY_MS) */
  retryMs?: number;
  /** told once per retried error, before the first wait (default: a `tunescope: warning:` line on stderr), so a long wait is never silent */
  onRetry?: (message: string) => void;
}

export class PostgresStudyStore implements StudyStore {
  /** the URL with its password masked */
  readonly location: string;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;
  private readonly retryMs: number;
  private readonly onRetry: (message: string) => void;
  private closed = false;

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    this.location = maskUrl(url);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UserError(`not a valid PostgreSQL URL: ${this.location} (expected postgres://user@host:5432/db)`);
    }
    this.schema = u.searchParams.get('schema') ?? 'public';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.schema)) {
      throw new UserError(`${this.location}: schema must be a plain identifier (letters, digits, _), got ${JSON.stringify(this.schema)}`);
    }
    u.searchParams.delete('schema');
    this.retryMs = opts.retryMs ?? (Number(process.env.TUNESCOPE_PG_RETRY_MS) || 300_000);
    this.onRetry = opts.onRetry ?? ((m) => process.stderr.write(`tunescope: warning: ${m}\n`));
    this.pool = new pg.Pool({
      connectionString: u.toString(),
      options: `-c search_path=${this.schema}`,
      max: 4,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'tunescope',
      types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    // an idle connection cut by a server restart must not crash the process; the next query reconnects
    this.pool.on('error', () => {});
    this.ready = this.init(opts.readonly ?? false);
    this.ready.catch(() => {});
  }

  private fail(e: unknown, what: string, retriedMs = 0): never {
    if (e instanceof UserError) throw e;
    const code = (e as { code?: string }).code;
    const msg = maskUrlsIn((e as Error).message ?? String(e)) + (retriedMs > 0 ? ` (retried for ${(retriedMs / 1000).toFixed(1)} s)` : '');
    if (code === '28P01' || code === '28000') throw new UserError(`PostgreSQL store ${this.location}: authentication failed (${msg}); set the password in the URL, PGPASSWORD or ~/.pgpass`);
    if (code === '3D000') throw new UserError(`PostgreSQL store ${this.location}: ${msg} (create it first: createdb)`);
    throw new UserError(`PostgreSQL store ${this.location}: ${what}: ${msg}`);
  }

  /** Run `fn`, retrying transient errors with exponential backoff (0.2 s doubling to 5 s) for up to retryMs. */
  private async retry<T>(what: string, fn: (retrying: boolean) => Promise<T>, limitMs = this.retryMs): Promise<T> {
    const t0 = Date.now();
    let delay = 200;
    for (let n = 0; ; n++) {
      try {
        return await fn(n > 0);
      } catch (e) {
        if (this.closed || !transient(e) || Date.now() - t0 > limitMs) this.fail(e, what, n > 0 ? Date.now() - t0 : 0);
        if (n === 0) this.onRetry(`PostgreSQL store ${this.location}: ${what}: ${maskUrlsIn((e as Error).message ?? String(e))}; retrying for up to ${(limitMs / 1000).toFixed(0)} s`);
        await sleep(delay);
        delay = Math.min(5_000, delay * 2);
      }
    }
  }

  private async init(readonly: boolean): Promise<void> {
    await this.retry(
      'connecting',
      async () => {
        const c = await this.connect();
        let broken = false;
        try {
          const exists = await c.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${this.schema}".tunescope_schema`]);
          const version = async () => (await c.query<{ version: number }>(`SELECT version FROM "${this.schema}".tunescope_schema`)).rows[0]?.version ?? 0;
          const current = exists.rows[0]?.t ? await version() : 0;
          if (current > POSTGRES_SCHEMA_VERSION) {
            throw new UserError(`${this.location} has study-store schema version ${current}, newer than this tunescope understands (${POSTGRES_SCHEMA_VERSION}): upgrade tunescope`);
          }
          if (current === POSTGRES_SCHEMA_VERSION) return;
          if (readonly) {
            throw new UserError(current === 0 ? `no tunescope study in ${this.location} (schema ${this.schema}): run \`tunescope study run\` first` : `${this.location} has study-store schema version ${current}; run \`tunescope study run\` once to upgrade it`);
          }
          await c.query('BEGIN');
          try {
            // workers starting together: one migrates, the others wait and then see the new version
            await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tunescope:${this.schema}`]);
            await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
            await c.query(`CREATE TABLE IF NOT EXISTS "${this.schema}".tunescope_schema (version INTEGER NOT NULL)`);
            const v = await version();
            if (v > POSTGRES_SCHEMA_VERSION) throw new UserError(`${this.location} has study-store schema version ${v}, newer than this tunescope understands (${POSTGRES_SCHEMA_VERSION}): upgrade tunescope`);
            for (let i = v; i < POSTGRES_SCHEMA_VERSION; i++) await c.query(PG_MIGRATIONS[i]!);
            await c.query(`DELETE FROM "${this.schema}".tunescope_schema`);
            await c.query(`INSERT INTO "${this.schema}".tunescope_schema (version) VALUES ($1)`, [POSTGRES_SCHEMA_VERSION]);
            await c.query('COMMIT');
          } catch (e) {
            await c.query('ROLLBACK').catch(() => {
              broken = true;
            });
            throw e;
          }
        } catch (e) {
          if (transient(e)) broken = true;
          throw e;
        } finally {
          c.release(broken);
        }
      },
      Math.min(this.retryMs, 15_000),
    );
  }

  /** A pooled client; its connection dying while checked out (a server restart) fails the query, not the process. */
  private async connect(): Promise<pg.PoolClient> {
    const c = await this.pool.connect();
    if (c.listenerCount('error') === 0) c.on('error', () => {});
    return c;
  }

  private async query<R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    await this.ready;
    return this.retry(what, async () => (await this.pool.query<R>(sql, params)).rows);
  }

  /** One transaction (retried as a whole on a lost connection). */
  private async tx<T>(what: string, fn: (c: pg.PoolClient, retrying: boolean) => Promise<T>): Promise<T> {
    await this.ready;
    return this.retry(what, async (retrying) => {
      const c = await this.connect();
      let broken = false;
      try {
        await c.query('BEGIN');
        const out = await fn(c, retrying);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {
          broken = true;
        });
        if (transient(e)) broken = true;
        throw e;
      } finally {
        c.release(broken);
      }
    });
  }

  async getStudy(): Promise<StudyRecord | null> {
    const [r] = await this.query<{ name: string; spec_json: string; spec_hash: string; created_at: string; tunescope_version: string }>(
      'reading the study',
      'SELECT * FROM study WHERE id = 1',
    );
    if (!r) return null;
    return { name: r.name, spec: JSON.parse(r.spec_json), specHash: r.spec_hash, createdAt: r.created_at, tunescopeVersion: r.tunescope_version };
  }

  async createStudy(rec: { name: string; spec: unknown; specHash: string; tunescopeVersion: string }): Promise<StudyRecord> {
    const createdAt = now();
    const n = await this.tx('creating the study', async (c) => {
      const r = await c.query(
        'INSERT INTO study (id, name, spec_json, spec_hash, created_at, tunescope_version) VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
        [rec.name, JSON.stringify(rec.spec), rec.specHash, createdAt, rec.tunescopeVersion],
      );
      return r.rowCount ?? 0;
    });
    if (n !== 1) throw new UserError(`${this.location} already holds a study`);
    return { name: rec.name, spec: rec.spec, specHash: rec.specHash, createdAt, tunescopeVersion: rec.tunescopeVersion };
  }

  async addTrials(trials: NewTrial[]): Promise<number> {
    return this.tx('adding trials', async (c) => {
      let n = 0;
      for (const t of trials) {
        const r = await c.query(
          `INSERT INTO trials (id, ordinal, kind, config_json, seed, data_seed, eval_seed, in_design, is_baseline, status, attempts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0) ON CONFLICT (id) DO NOTHING`,
          [t.id, t.ordinal, t.kind, JSON.stringify(t.config), t.seed, t.dataSeed ?? null, t.evalSeed ?? null, t.inDesign, t.isBaseline],
        );
        n += r.rowCount ?? 0;
      }
      return n;
    });
  }

  async listTrials(filter: { status?: TrialStatus | TrialStatus[]; inDesign?: boolean; isBaseline?: boolean } = {}): Promise<TrialRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status !== undefined) {
      params.push(Array.isArray(filter.status) ? filter.status : [filter.status]);
      where.push(`status = ANY($${params.length})`);
    }
    if (filter.inDesign !== undefined) {
      params.push(filter.inDesign);
      where.push(`in_design = $${params.length}`);
    }
    if (filter.isBaseline !== undefined) {
      params.push(filter.isBaseline);
      where.push(`is_baseline = $${params.length}`);
    }
    const rows = await this.query<TrialRow>('listing trials', `SELECT * FROM trials${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ordinal`, params);
    return rows.map(toTrialRecord);
  }

  async getTrial(id: string): Promise<TrialRecord | null> {
    const [r] = await this.query<TrialRow>('reading a trial', 'SELECT * FROM trials WHERE id = $1', [id]);
    return r ? toTrialRecord(r) : null;
  }

  async counts(): Promise<Record<TrialStatus, number>> {
    const out: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const r of await this.query<{ status: TrialStatus; n: number }>('counting trials', 'SELECT status, COUNT(*) AS n FROM trials GROUP BY status')) {
      out[r.status] = Number(r.n);
    }
    return out;
  }

  async startRun(run: NewRun): Promise<void> {
    const t = now();
    await this.query(
      'recording the run',
      'INSERT INTO runs (id, role, name, host, pid, started_at, heartbeat_at, workers, threads_per_worker) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING',
      [run.id, run.role ?? 'local', run.name ?? null, run.host, run.pid, t, t, run.workers, run.threadsPerWorker],
    );
  }

  async heartbeat(runId: string): Promise<void> {
    await this.query('heartbeat', 'UPDATE runs SET heartbeat_at = $1 WHERE id = $2', [now(), runId]);
  }

  async finishRun(runId: string): Promise<void> {
    const t = now();
    await this.query('finishing the run', 'UPDATE runs SET finished_at = $1, heartbeat_at = $1 WHERE id = $2', [t, runId]);
  }

  async listRuns(): Promise<RunRecord[]> {
    return (await this.query<RunRow>('listing runs', 'SELECT * FROM runs ORDER BY started_at, id')).map(toRunRecord);
  }

  private async endAttempt(c: pg.PoolClient, trialId: string, runId: string, attempt: number | undefined, outcome: AttemptOutcome, error: string | null): Promise<void> {
    await c.query(
      `UPDATE trial_attempts SET outcome = $1, error = $2, finished_at = $3
       WHERE trial_id = $4 AND run_id = $5 AND outcome IN ('running', 'lost')${attempt !== undefined ? ' AND attempt = $6' : ''}`,
      [outcome, error, now(), trialId, runId, ...(attempt !== undefined ? [attempt] : [])],
    );
  }

  private async addAttempt(c: pg.PoolClient, trialId: string, attempt: number, runId: string, worker: string | null, outcome: AttemptOutcome, at: string): Promise<void> {
    await c.query('INSERT INTO trial_attempts (trial_id, attempt, run_id, worker, started_at, finished_at, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      trialId,
      attempt,
      runId,
      worker,
      at,
      outcome === 'running' ? null : at,
      outcome,
    ]);
  }

  async recoverStale(isAlive: (run: RunRecord) => boolean): Promise<string[]> {
    const runs = new Map((await this.listRuns()).map((r) => [r.id, r]));
    return this.tx('recovering trials of stopped runs', async (c) => {
      const running = (await c.query<{ id: string; run_id: string | null; attempts: number }>("SELECT id, run_id, attempts FROM trials WHERE status = 'running' FOR UPDATE")).rows;
      const out: string[] = [];
      for (const t of running) {
        const run = t.run_id ? runs.get(t.run_id) : undefined;
        if (!run || run.finishedAt !== null || !isAlive(run)) {
          await c.query("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL WHERE id = $1", [t.id]);
          if (t.run_id) await this.endAttempt(c, t.id, t.run_id, t.attempts, 'lost', null);
          out.push(t.id);
        }
      }
      return out;
    });
  }

  private async claimRow(c: pg.PoolClient, r: TrialRow, runId: string, worker: string): Promise<TrialRecord> {
    const t = now();
    // the claim and its attempt row in one statement (one round trip)
    await c.query(
      `WITH u AS (UPDATE trials SET status = 'running', attempts = attempts + 1, run_id = $1, worker = $2, started_at = $3, finished_at = NULL, error = NULL WHERE id = $4 RETURNING attempts)
       INSERT INTO trial_attempts (trial_id, attempt, run_id, worker, started_at, finished_at, outcome) SELECT $4, u.attempts, $1, $2, $3, NULL, 'running' FROM u`,
      [runId, worker, t, r.id],
    );
    return toTrialRecord({ ...r, status: 'running', attempts: r.attempts + 1, run_id: runId, worker, started_at: t, finished_at: null, error: null });
  }

  async claimNext(runId: string, worker: string): Promise<TrialRecord | null> {
    return this.tx('claiming a trial', async (c, retrying) => {
      if (retrying) {
        // the COMMIT of an earlier try may have landed: that claim is ours
        const mine = (await c.query<TrialRow>("SELECT * FROM trials WHERE status = 'running' AND run_id = $1 AND worker = $2 ORDER BY started_at DESC LIMIT 1", [runId, worker])).rows[0];
        if (mine) return toTrialRecord(mine);
      }
      const r = (await c.query<TrialRow>("SELECT * FROM trials WHERE status = 'pending' ORDER BY is_baseline DESC, ordinal LIMIT 1 FOR UPDATE SKIP LOCKED")).rows[0];
      return r ? this.claimRow(c, r, runId, worker) : null;
    });
  }

  async claimTrial(id: string, runId: string, worker: string, opts: { takeOver?: boolean } = {}): Promise<TrialRecord | null> {
    return this.tx('claiming a trial', async (c, retrying) => {
      const r = (await c.query<TrialRow>('SELECT * FROM trials WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!r) return null;
      if (retrying && r.status === 'running' && r.run_id === runId && r.worker === worker) return toTrialRecord(r);
      if (r.status === 'done') {
        await this.addAttempt(c, id, r.attempts, runId, worker, 'duplicate', now());
        return null;
      }
      if (r.status === 'pending' || (r.status === 'running' && opts.takeOver)) {
        if (r.status === 'running' && r.run_id) await this.endAttempt(c, id, r.run_id, r.attempts, 'lost', null);
        return this.claimRow(c, r, runId, worker);
      }
      return null;
    });
  }

  private async lockRow(c: pg.PoolClient, id: string): Promise<TrialRow | undefined> {
    return (await c.query<TrialRow>('SELECT * FROM trials WHERE id = $1 FOR UPDATE', [id])).rows[0];
  }

  private async refuse(c: pg.PoolClient, r: TrialRow | undefined, h: TrialHolder): Promise<false> {
    if (r) await this.endAttempt(c, r.id, h.runId, h.attempt, r.status === 'done' ? 'duplicate' : 'stale', null);
    return false;
  }

  async completeTrial(id: string, holder: string | TrialHolder, o: TrialOutcome): Promise<boolean> {
    const h = holderOf(holder);
    return this.tx('recording a result', async (c, retrying) => {
      const r = await this.lockRow(c, id);
      if (!r || !holds(r, h)) {
        const sameAttempt = r !== undefined && r.status === 'done' && r.run_id === h.runId && (h.attempt === undefined || h.attempt === r.attempts);
        // our own earlier COMMIT landed before the connection was lost: this is that completion, not a second one
        if (sameAttempt && retrying) return true;
        if (sameAttempt) await this.addAttempt(c, id, r.attempts, h.runId, r.worker, 'duplicate', now());
        return this.refuse(c, r, h);
      }
      // the status, the attempt's end and the clearing of any earlier rows: one statement (one round trip)
      const t = now();
      await c.query(
        `WITH a AS (UPDATE trial_attempts SET outcome = 'done', error = NULL, finished_at = $1 WHERE trial_id = $9 AND run_id = $10 AND outcome IN ('running', 'lost') AND attempt = $11),
              e AS (DELETE FROM epoch_metrics WHERE trial_id = $9),
              p AS (DELETE FROM predictions WHERE trial_id = $9)
         UPDATE trials SET status = 'done', finished_at = $1, error = NULL, metrics_json = $2, train_seconds = $3, examples_per_second = $4,
           tokens_per_second = $5, steps = $6, backend = $7, versions_json = $8 WHERE id = $9`,
        [
          t,
          encodeMetrics(o.metrics),
          finiteOrNull(o.trainSeconds),
          finiteOrNull(o.examplesPerSecond),
          finiteOrNull(o.tokensPerSecond),
          finiteOrNull(o.steps),
          o.backend ?? null,
          o.versions ? JSON.stringify(o.versions) : null,
          id,
          h.runId,
          r.attempts,
        ],
      );
      if (o.epochs.length > 0) {
        await c.query(
          `INSERT INTO epoch_metrics (trial_id, epoch, step, train_loss, learning_rate, seconds, metrics_json)
           SELECT $1, e, s, l, lr, sec, m FROM unnest($2::float8[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::text[]) AS u(e, s, l, lr, sec, m)`,
          [
            id,
            o.epochs.map((e) => e.epoch),
            o.epochs.map((e) => e.step),
            o.epochs.map((e) => finiteOrNull(e.trainLoss)),
            o.epochs.map((e) => finiteOrNull(e.learningRate)),
            o.epochs.map((e) => finiteOrNull(e.seconds)),
            o.epochs.map((e) => encodeMetrics(e.metrics)),
          ],
        );
      }
      if (o.predictions) {
        await c.query('INSERT INTO predictions (trial_id, num_examples, num_labels, data) VALUES ($1, $2, $3, $4)', [
          id,
          o.predictions.label.length,
          o.predictions.numLabels,
          encodePredictions(o.predictions),
        ]);
      }
      return true;
    });
  }

  async failTrial(id: string, holder: string | TrialHolder, error: string, opts: { retry?: boolean } = {}): Promise<boolean> {
    const h = holderOf(holder);
    return this.tx('recording a failure', async (c, retrying) => {
      const r = await this.lockRow(c, id);
      if (!r || !holds(r, h)) {
        if (retrying && r && r.error === error && (r.status === 'failed' || r.status === 'pending')) return true;
        return this.refuse(c, r, h);
      }
      if (opts.retry) {
        await c.query("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL, started_at = NULL, error = $1 WHERE id = $2", [error, id]);
      } else {
        await c.query("UPDATE trials SET status = 'failed', finished_at = $1, error = $2 WHERE id = $3", [now(), error, id]);
      }
      await this.endAttempt(c, id, h.runId, r.attempts, 'failed', error);
      return true;
    });
  }

  async releaseTrial(id: string, holder: string | TrialHolder): Promise<boolean> {
    const h = holderOf(holder);
    return this.tx('releasing a trial', async (c) => {
      const r = await this.lockRow(c, id);
      if (!r || !holds(r, h)) return false;
      await c.query("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL, started_at = NULL WHERE id = $1", [id]);
      await this.endAttempt(c, id, h.runId, r.attempts, 'released', null);
      return true;
    });
  }

  async resetFailed(): Promise<number> {
    return this.tx('resetting failed trials', async (c) => (await c.query("UPDATE trials SET status = 'pending', run_id = NULL, worker = NULL WHERE status = 'failed'")).rowCount ?? 0);
  }

  async setCheckpoint(trialId: string, runId: string, ck: { location: string; step: number }): Promise<boolean> {
    return this.tx('recording a checkpoint', async (c) => {
      const held = await c.query("SELECT 1 FROM trials WHERE id = $1 AND status = 'running' AND run_id = $2 FOR UPDATE", [trialId, runId]);
      if (held.rows.length === 0) return false;
      await c.query(
        'INSERT INTO trial_checkpoints (trial_id, location, step, saved_at) VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id) DO UPDATE SET location = excluded.location, step = excluded.step, saved_at = excluded.saved_at',
        [trialId, ck.location, ck.step, now()],
      );
      return true;
    });
  }

  async clearCheckpoint(trialId: string): Promise<void> {
    await this.query('forgetting a checkpoint', 'DELETE FROM trial_checkpoints WHERE trial_id = $1', [trialId]);
  }

  async getCheckpoint(trialId: string): Promise<TrialCheckpoint | null> {
    const rows = await this.query<CheckpointRow>('reading a checkpoint', 'SELECT trial_id, location, step, saved_at FROM trial_checkpoints WHERE trial_id = $1', [trialId]);
    return rows[0] ? checkpointRecord(rows[0]) : null;
  }

  async listCheckpoints(): Promise<TrialCheckpoint[]> {
    return (await this.query<CheckpointRow>('reading checkpoints', 'SELECT trial_id, location, step, saved_at FROM trial_checkpoints ORDER BY trial_id')).map(checkpointRecord);
  }

  /** A counter bumped (by statement triggers) in every transaction that changes trials, epochs, runs or the baseline. */
  async changeToken(): Promise<string> {
    const rows = await this.query<{ n: number }>('reading the change counter', 'SELECT n FROM study_changes WHERE id = 1');
    return String(rows[0]?.n ?? 0);
  }

  async getMeta(key: string): Promise<unknown> {
    const rows = await this.query<{ value: string }>('reading study facts', 'SELECT value FROM study_meta WHERE key = $1', [key]);
    return rows[0] ? (JSON.parse(rows[0].value) as unknown) : null;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.query('recording study facts', 'INSERT INTO study_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
  }

  async attemptHistory(trialId?: string): Promise<AttemptRecord[]> {
    const rows =
      trialId === undefined
        ? await this.query<AttemptRow>('reading attempts', 'SELECT a.* FROM trial_attempts a JOIN trials t ON t.id = a.trial_id ORDER BY t.ordinal, a.id')
        : await this.query<AttemptRow>('reading attempts', 'SELECT * FROM trial_attempts WHERE trial_id = $1 ORDER BY id', [trialId]);
    return rows.map(toAttemptRecord);
  }

  async epochMetrics(trialId?: string): Promise<EpochMetricsRow[]> {
    const rows =
      trialId === undefined
        ? await this.query<EpochRow>('reading epochs', 'SELECT e.* FROM epoch_metrics e JOIN trials t ON t.id = e.trial_id ORDER BY t.ordinal, e.epoch')
        : await this.query<EpochRow>('reading epochs', 'SELECT * FROM epoch_metrics WHERE trial_id = $1 ORDER BY epoch', [trialId]);
    return rows.map(toEpochRow);
  }

  async addStepLogs(trialId: string, holder: string | TrialHolder, rows: Array<Omit<StepLogRow, 'trialId' | 'attempt'>>): Promise<boolean> {
    const h = holderOf(holder);
    const held = `SELECT attempts FROM trials WHERE id = $1 AND status = 'running' AND run_id = $2 AND ($3::int IS NULL OR attempts = $3) FOR SHARE`;
    if (rows.length === 0) return (await this.query('recording training steps', held, [trialId, h.runId, h.attempt ?? null])).length > 0;
    const steps = rows.map((x) => x.step);
    // One statement, so one round trip a batch (the store's busiest write while trials train), atomic on its own:
    // the holder check, an earlier attempt's steps from here on dropped (a resumed one keeps those before its
    // checkpoint; the batch's own steps are replaced by the upsert, so no row is touched twice), and the insert.
    const [r] = await this.query<{ held: number }>(
      'recording training steps',
      `WITH h AS (${held}),
            d AS (DELETE FROM trial_steps WHERE trial_id = $1 AND step >= $4 AND NOT (step = ANY($5::int[])) AND attempt <> (SELECT attempts FROM h)),
            i AS (INSERT INTO trial_steps (trial_id, step, epoch, loss, learning_rate, attempt)
                  SELECT $1, s, e, l, lr, h.attempts FROM h, unnest($5::int[], $6::float8[], $7::float8[], $8::float8[]) AS u(s, e, l, lr)
                  ON CONFLICT (trial_id, step) DO UPDATE SET epoch = excluded.epoch, loss = excluded.loss, learning_rate = excluded.learning_rate, attempt = excluded.attempt)
       SELECT COUNT(*)::int AS held FROM h`,
      [trialId, h.runId, h.attempt ?? null, Math.min(...steps), steps, rows.map((x) => x.epoch), rows.map((x) => finiteOrNull(x.loss)), rows.map((x) => finiteOrNull(x.learningRate))],
    );
    return (r?.held ?? 0) > 0;
  }

  async stepLogs(trialId?: string, opts: { afterStep?: number } = {}): Promise<StepLogRow[]> {
    const after = opts.afterStep ?? -1;
    const rows =
      trialId === undefined
        ? await this.query<StepRow>('reading training steps', 'SELECT s.* FROM trial_steps s JOIN trials t ON t.id = s.trial_id WHERE s.step > $1 ORDER BY t.ordinal, s.step', [after])
        : await this.query<StepRow>('reading training steps', 'SELECT * FROM trial_steps WHERE trial_id = $1 AND step > $2 ORDER BY step', [trialId, after]);
    return rows.map(toStepLogRow);
  }

  async predictions(trialId?: string): Promise<Array<{ trialId: string; predictions: TrialPredictions }>> {
    const rows =
      trialId === undefined
        ? await this.query<{ trial_id: string; data: Buffer }>('reading predictions', 'SELECT p.trial_id, p.data FROM predictions p JOIN trials t ON t.id = p.trial_id ORDER BY t.ordinal')
        : await this.query<{ trial_id: string; data: Buffer }>('reading predictions', 'SELECT trial_id, data FROM predictions WHERE trial_id = $1', [trialId]);
    return rows.map((r) => ({ trialId: r.trial_id, predictions: decodePredictions(r.data) }));
  }

  async setBaseline(b: BaselineRecord): Promise<void> {
    await this.tx('recording the baseline', async (c) => {
      await c.query('DELETE FROM baseline');
      for (const [k, v] of Object.entries(b.metrics)) if (Number.isFinite(v)) await c.query('INSERT INTO baseline (metric, value, source) VALUES ($1, $2, $3)', [k, v, b.source]);
    });
  }

  async getBaseline(): Promise<BaselineRecord | null> {
    const rows = await this.query<{ metric: string; value: number; source: string }>('reading the baseline', 'SELECT metric, value, source FROM baseline ORDER BY metric');
    if (rows.length === 0) return null;
    return { metrics: Object.fromEntries(rows.map((r) => [r.metric, r.value])), source: rows[0]!.source };
  }

  async dump(): Promise<StudyDump> {
    const study = await this.getStudy();
    if (!study) throw new UserError(`${this.location} holds no study`);
    const meta: Record<string, unknown> = {};
    for (const r of await this.query<{ key: string; value: string }>('reading study facts', 'SELECT key, value FROM study_meta ORDER BY key')) meta[r.key] = JSON.parse(r.value) as unknown;
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
    await this.tx('copying the study in', async (c) => {
      if ((await c.query('SELECT 1 FROM study')).rows.length > 0) throw new UserError(`${this.location} already holds a study`);
      for (const t of restoreTables(d, (b) => b, 'study_meta')) {
        // many rows per statement (a round trip per batch, not per row), within PostgreSQL's 65535 parameters
        const per = Math.max(1, Math.floor(60_000 / t.columns.length));
        for (let i = 0; i < t.rows.length; i += per) {
          const batch = t.rows.slice(i, i + per);
          const values = batch.map((_, r) => `(${t.columns.map((_, k) => `$${r * t.columns.length + k + 1}`).join(', ')})`).join(', ');
          await c.query(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES ${values}`, batch.flat());
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}

export function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): PostgresStudyStore {
  return new PostgresStudyStore(url, opts);
}
