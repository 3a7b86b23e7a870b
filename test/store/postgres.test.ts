import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { copyStudy, openPostgresStore, openSqliteStore, openStore, POSTGRES_SCHEMA_VERSION, type StudyStore } from '../../src/store/index.js';
import { UserError } from '../../src/util/index.js';
import { tempDir } from '../helpers.js';
import { startPostgres, type PostgresService } from '../services.js';
import { storeContract, trials } from './contract.js';

let svc: PostgresService;
let db: string;
let n = 0;
before(async () => {
  svc = await startPostgres();
  db = await svc.createDatabase('tunescope');
});
after(() => svc?.stop());

const schemaUrl = (schema: string) => `${db}?schema=${schema}`;

storeContract('postgres', async () => {
  const url = schemaUrl(`contract_${++n}`);
  return { open: () => openPostgresStore(url), cleanup: () => {} };
});

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

test('postgres: schema versions — a newer store is refused, a read-only open of nothing is a clear error', async () => {
  const s = openPostgresStore(schemaUrl('versions'));
  await s.addTrials(trials);
  await s.close();
  await sql(`UPDATE versions.tunescope_schema SET version = ${POSTGRES_SCHEMA_VERSION + 1}`);
  const t = openPostgresStore(schemaUrl('versions'));
  await assert.rejects(t.getStudy(), (e: Error) => e instanceof UserError && /newer than this tunescope understands/.test(e.message));
  await t.close();
  const r = openStore(schemaUrl('never_run'), { readonly: true });
  await assert.rejects(r.counts(), /no tunescope study in .*run `tunescope study run` first/);
  await r.close();
  assert.throws(() => openPostgresStore(`${db}?schema=a;drop`), /schema must be a plain identifier/);
});

test('postgres: passwords are masked in the location and in errors; a wrong password is one clear error', async () => {
  await sql(`CREATE ROLE alice LOGIN PASSWORD 's3cret-pw'`);
  const u = new URL(db);
  const good = `postgres://alice:s3cret-pw@${u.host}${u.pathname}?schema=alice_s&sslmode=disable`;
  await sql(`GRANT ALL ON DATABASE tunescope TO alice`);
  const s = openStore(good);
  try {
    assert.equal(s.location.includes('s3cret-pw'), false);
    assert.match(s.location, /alice:\*\*\*@/);
    await s.addTrials(trials);
    assert.equal((await s.counts()).pending, 3);
  } finally {
    await s.close();
  }
  // pg_hba here is trust, so a wrong password is not refused by this server; an unreachable one shows the masked URL
  const told: string[] = [];
  const down = openPostgresStore(`postgres://alice:s3cret-pw@127.0.0.1:1/x`, { retryMs: 300, onRetry: (m) => told.push(m) });
  const err = await down.counts().catch((e: Error) => e);
  assert.ok(err instanceof UserError);
  assert.equal(err.message.includes('s3cret-pw'), false);
  assert.match(err.message, /PostgreSQL store postgres:\/\/alice:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.match(err.message, /\(retried for \d+\.\d s\)$/);
  // the wait is announced once, before it starts, and masked like the error
  assert.equal(told.length, 1, told.join('\n'));
  assert.match(told[0]!, /^PostgreSQL store postgres:\/\/alice:\*\*\*@127\.0\.0\.1:1\/x: connecting: .*ECONNREFUSED.*; retrying for up to 0 s$/);
  await down.close();
});

test('postgres: a server restart mid-study is retried with backoff; nothing is lost', async () => {
  const s: StudyStore = openPostgresStore(schemaUrl('restart'));
  try {
    await s.addTrials(trials);
    await s.startRun({ id: 'r', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const t = (await s.claimNext('r', 'w'))!;
    svc.stopServer();
    const restart = new Promise<void>((resolve, reject) => setTimeout(() => svc.startServer().then(resolve, reject), 1500));
    // issued while the server is down: waits for it, then lands exactly once
    const ok = await s.completeTrial(t.id, { runId: 'r', attempt: t.attempts }, { metrics: { accuracy: 0.5 }, epochs: [] });
    await restart;
    assert.equal(ok, true);
    assert.equal((await s.getTrial(t.id))!.status, 'done');
    assert.deepEqual((await s.attemptHistory(t.id)).map((a) => a.outcome), ['done']);
  } finally {
    await s.close();
  }
});

test('study copy: SQLite → PostgreSQL → SQLite keeps every row; a non-empty destination is refused', async () => {
  const d = tempDir();
  try {
    const a = join(d.path, 'a.sqlite');
    const s = openSqliteStore(a);
    await s.createStudy({ name: 'copyme', spec: { store: 'x' }, specHash: 'h', tunescopeVersion: '0' });
    await s.addTrials(trials);
    await s.startRun({ id: 'r', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const t = (await s.claimNext('r', 'w'))!;
    await s.completeTrial(t.id, 'r', { metrics: { accuracy: 0.7 }, epochs: [{ epoch: 1, step: 2, trainLoss: 0.4, learningRate: 1e-5, seconds: 1, metrics: { accuracy: 0.7 } }] });
    await s.setBaseline({ metrics: { accuracy: 0.7 }, source: 'evaluate' });
    await s.setMeta('dataset_fingerprint', { files: [{ split: 'train', sha256: 'ab' }] });
    const running = (await s.claimNext('r', 'w'))!;
    assert.equal(await s.setCheckpoint(running.id, 'r', { location: '/ckpt/checkpoint-4', step: 4 }), true);
    const steps = Array.from({ length: 6 }, (_, i) => ({ step: i + 1, epoch: (i + 1) / 6, loss: 0.7 - i / 20, learningRate: 1e-5 * (6 - i) / 6 }));
    assert.equal(await s.addStepLogs(running.id, 'r', steps), true);
    await s.close();
    const pgUrl = schemaUrl('copied');
    const r1 = await copyStudy(a, pgUrl);
    assert.deepEqual(r1.counts, { trials: 3, done: 1, epochs: 1, steps: 6, runs: 1, attempts: 2, predictions: 0, baseline: 1, checkpoints: 1, meta: 1 });
    const b = join(d.path, 'b.sqlite');
    const r2 = await copyStudy(pgUrl, b);
    assert.deepEqual(r2.counts, r1.counts);
    const back = openSqliteStore(b);
    assert.equal((await back.getTrial(t.id))!.metrics!.accuracy, 0.7);
    assert.deepEqual((await back.stepLogs(running.id)).map((x) => [x.step, x.epoch, x.loss, x.learningRate, x.attempt]), steps.map((x) => [x.step, x.epoch, x.loss, x.learningRate, 1]));
    await back.close();
    await assert.rejects(copyStudy(a, pgUrl), /already holds a study/);
  } finally {
    d.cleanup();
  }
});
