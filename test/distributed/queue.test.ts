/**
 * A study across processes through real services: BullMQ on a private Redis, the store in a private PostgreSQL,
 * the real trainer (tiny from-scratch DistilBERT, ~200 SST-2 sentences), 3 `tunescope worker` processes, 16 trials.
 * Faults on the way: the coordinator is SIGKILLed once and started again, a worker is SIGKILLed mid-trial (its job
 * stalls and goes to another worker), Redis is restarted mid-study. Afterwards every trial is done exactly once in
 * PostgreSQL and its metrics equal those of the same study run locally with SQLite (same seeds, one engine thread).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openStore, type StudyStore } from '../../src/store/index.js';
import { HAVE_SST2, runCli, spawnCli, tempDir, writeTinyStudySpec, type CliExit } from '../helpers.js';
import { startPostgres, startRedis, type PostgresService, type RedisService } from '../services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pg: PostgresService;
let redis: RedisService;
let dbUrl: string;
const procs: ChildProcess[] = [];
before(async () => {
  if (!HAVE_SST2) return;
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  dbUrl = await pg.createDatabase('dist');
});
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  pg?.stop();
  await redis?.stop();
});

const ENV = { TUNESCOPE_QUIET: '1', TUNESCOPE_QUEUE_LOCK_MS: '4000', TUNESCOPE_PG_RETRY_MS: '120000' };

/** The CLI as a background process, its exit (code, signal, output) in `done`; killed after the tests if still running. */
function startCli(args: string[]): { proc: ChildProcess; done: Promise<CliExit> } {
  const { child, exited } = spawnCli(args, { env: ENV });
  procs.push(child);
  return { proc: child, done: exited };
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** 4 learning rates × 2 batch sizes × 2 seeds = 16 trials of 2 epochs on 160 sentences. */
const writeSpec = (dir: string, file: string, store: string, execution: Record<string, unknown>): string =>
  writeTinyStudySpec(dir, {
    name: 'dist',
    dataset: { max_train_samples: 160, max_eval_samples: 48 },
    design: { type: 'grid', factors: { learning_rate: [1e-4, 3e-4, 1e-3, 3e-3], per_device_train_batch_size: [8, 16] } },
    seeds: [1, 2],
    args: { num_train_epochs: 2, per_device_train_batch_size: undefined },
    execution,
    analysis: { allow_aliased: true },
    store,
  }, file);

test('16 real trials on 3 workers through BullMQ + PostgreSQL survive SIGKILLs and a Redis restart, and equal the local SQLite run', { skip: !HAVE_SST2 && 'needs ../shared', timeout: 600_000 }, async () => {
  const d = tempDir();
  let store: StudyStore | null = null;
  try {
    const pgStore = `${dbUrl}?schema=dist`;
    const spec = writeSpec(d.path, 'dist.yaml', pgStore, { queue: `${redis.url}/0`, threads_per_worker: 1, max_attempts: 3 });
    store = openStore(pgStore);
    const s = store;
    const counts = async () => s.counts().catch(() => ({ pending: -1, running: -1, done: -1, failed: -1 }));

    // coordinator 1 enqueues everything; the workers start; the coordinator is killed once work is under way
    const coord1 = startCli(['study', 'run', spec]);
    await waitFor('the trials in the store', async () => (await counts()).pending === 16, 180_000);
    const workers = ['w1', 'w2', 'w3'].map((name) => ({ name, ...startCli(['worker', '--queue', `${redis.url}/0`, '--threads', '1', '--name', name]) }));
    await waitFor('a first result', async () => (await counts()).done >= 1);
    coord1.proc.kill('SIGKILL');
    assert.equal((await coord1.done).signal, 'SIGKILL');

    // a worker killed in the middle of a trial: its job stalls and is handed to another worker
    await waitFor('w1 running a trial', async () => (await s.listTrials({ status: 'running' })).some((x) => x.worker === 'w1'));
    workers[0]!.proc.kill('SIGKILL');
    await workers[0]!.done;
    // the trial w1 held when it died (read after its death: a completion whose COMMIT was already on its way when the
    // signal came still lands, and then w1 had finished that trial rather than died in it)
    const killedTrial = (await s.listTrials({ status: 'running' })).find((x) => x.worker === 'w1')?.id ?? '';
    assert.ok(killedTrial, 'w1 died holding a trial');

    // Redis restarted mid-study (append-only file: the queue survives); workers and the new coordinator reconnect
    await redis.restart();
    const coord2 = startCli(['study', 'run', spec]);
    const r2 = await coord2.done;
    assert.equal(r2.code, 0, r2.output);
    assert.match(r2.output, /study dist: 16\/16 done, 0 failed, 0 pending/);
    assert.match(r2.output, /OLS|R²|accuracy/, 'the analysis runs at the end');

    // exactly one result per trial; the killed worker's attempt is recorded as lost, another attempt finished it
    const trials = await s.listTrials();
    assert.equal(trials.length, 16);
    assert.ok(trials.every((t) => t.status === 'done'));
    const history = await s.attemptHistory();
    for (const t of trials) {
      assert.equal(history.filter((a) => a.trialId === t.id && a.outcome === 'done').length, 1, `trial ${t.id} done once`);
    }
    assert.equal((await s.epochMetrics()).length, 16 * 2, 'two epochs per trial, no duplicates');
    const killed = history.filter((a) => a.trialId === killedTrial);
    assert.equal(killed[0]!.worker, 'w1');
    assert.match(killed[0]!.outcome, /lost|stale/);
    assert.ok(killed.some((a) => a.outcome === 'done' && a.worker !== 'w1'), JSON.stringify(killed));

    const status = runCli(['study', 'status', spec], { env: ENV });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /workers seen: 3/);
    assert.match(status.stdout, /w2 on .*: last heartbeat/);
    for (const w of workers.slice(1)) w.proc.kill('SIGTERM');
    for (const w of workers.slice(1)) assert.equal((await w.done).code, 0);

    // the same study on one machine with SQLite gives the same numbers
    const local = writeSpec(d.path, 'local.yaml', './local.sqlite', { workers: 2, threads_per_worker: 1 });
    const rl = runCli(['study', 'run', local], { timeoutMs: 600_000 });
    assert.equal(rl.status, 0, rl.stderr);
    const ls = openStore(join(d.path, 'local.sqlite'), { readonly: true });
    try {
      const want = new Map((await ls.listTrials()).map((t) => [t.id, t.metrics]));
      assert.equal(want.size, 16);
      for (const t of trials) assert.deepEqual(t.metrics, want.get(t.id), `trial ${t.id}`);
    } finally {
      await ls.close();
    }
  } finally {
    await store?.close();
    d.cleanup();
  }
});
