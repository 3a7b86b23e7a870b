/**
 * `npm run bench -- distributed`: the cost of the queue path. The same small study (from-scratch DistilBERT,
 * 2048 SST-2 sentences, 8 equal trials) runs (a) locally, 2 worker threads × 1 engine thread into SQLite, and
 * (b) through BullMQ on a private Redis to 2 `tunescope worker` processes × 1 thread into a private PostgreSQL.
 * Printed: trials/hour of each, whole run and trials alone (first trial start → last trial end, from the store's
 * timestamps), and the queue path's overhead (goal: within 5 %).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDistributedStudy } from '../src/distributed/index.js';
import { openStore } from '../src/store/index.js';
import { loadStudySpec, runStudy } from '../src/study/index.js';
import { startPostgres, startRedis } from '../test/services.js';

export const name = 'distributed';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SHARED = resolve(ROOT, '..', 'shared');

function spec(dir: string, file: string, store: string, execution: string, lrs: string, seeds: string): string {
  const p = join(dir, file);
  writeFileSync(
    p,
    `name: bench-dist
model:
  from_config: {dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 128, max_position_embeddings: 128}
  tokenizer: ${join(SHARED, 'models', 'distilbert-base-uncased')}
dataset: {name: sst2, data_dir: ${join(SHARED, 'datasets', 'sst2')}, max_train_samples: 2048, max_eval_samples: 128}
design:
  type: grid
  factors:
    learning_rate: ${lrs}
    per_device_train_batch_size: [32]
seeds: ${seeds}
args: {num_train_epochs: 2, max_seq_length: 64}
execution: ${execution}
analysis: {allow_aliased: true}
store: ${store}
`,
  );
  return p;
}

/** Trials alone: first start → last finish, from the store (the same clock for both paths). */
async function trialsSpan(location: string): Promise<number> {
  const s = openStore(location, { readonly: true });
  try {
    const t = await s.listTrials({ status: 'done' });
    if (t.length !== 8) throw new Error(`bench distributed: ${t.length} of 8 trials done in ${s.location}`);
    const start = Math.min(...t.map((x) => Date.parse(x.startedAt!)));
    const end = Math.max(...t.map((x) => Date.parse(x.finishedAt!)));
    return (end - start) / 1000;
  } finally {
    await s.close();
  }
}

function startWorker(queue: string, name: string): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'worker', '--queue', queue, '--threads', '1', '--name', name], {
    cwd: ROOT,
    env: { ...process.env, TUNESCOPE_QUIET: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = new Promise<void>((res, rej) => {
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('waiting for trials')) res();
    });
    proc.on('exit', (code) => rej(new Error(`worker ${name} exited (${code}): ${err}`)));
  });
  return { proc, ready };
}

export async function run(): Promise<void> {
  if (!existsSync(join(SHARED, 'datasets', 'sst2', 'train.tsv')) || !existsSync(join(SHARED, 'models', 'distilbert-base-uncased', 'vocab.txt'))) {
    console.log('skipped: ../shared/datasets/sst2 or ../shared/models/distilbert-base-uncased not found');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bench-dist-'));
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const workers: ChildProcess[] = [];
  try {
    const lrs = '[5.0e-4, 1.0e-3, 2.0e-3, 4.0e-3]';
    // warm-up: one trial fills the token-id cache both paths then read
    await runStudy(spec(dir, 'warm.yaml', './warm.sqlite', '{workers: 1, threads_per_worker: 1}', '[1.0e-3]', '[1]'), { quiet: true });

    const local = spec(dir, 'local.yaml', './local.sqlite', '{workers: 2, threads_per_worker: 1}', lrs, '[1, 2]');
    const l = await runStudy(local, { quiet: true });
    if (l.counts.done !== 8) throw new Error(`bench distributed: local run finished ${l.counts.done} of 8 trials`);
    const localSpan = await trialsSpan(join(dir, 'local.sqlite'));

    const db = await pg.createDatabase('bench');
    const w = [startWorker(redis.url, 'b1'), startWorker(redis.url, 'b2')];
    workers.push(...w.map((x) => x.proc));
    await Promise.all(w.map((x) => x.ready));
    const queued = loadStudySpec(spec(dir, 'queue.yaml', db, `{queue: '${redis.url}', threads_per_worker: 1}`, lrs, '[1, 2]'));
    const q = await runDistributedStudy(queued, { quiet: true });
    if (q.counts.done !== 8) throw new Error(`bench distributed: the queue run finished ${q.counts.done} of 8 trials`);
    const queueSpan = await trialsSpan(db);

    const perHour = (s: number) => (8 / s) * 3600;
    console.log(`8 equal trials (dim 32, 1 layer, 2048 sentences, batch 32, 2 epochs; token cache warmed first); ${availableParallelism()} cores`);
    console.log(`  local, 2 worker threads × 1 thread, SQLite:           whole run ${l.seconds.toFixed(1)} s = ${perHour(l.seconds).toFixed(0)} trials/hour; trials alone ${localSpan.toFixed(1)} s = ${perHour(localSpan).toFixed(0)} trials/hour`);
    console.log(`  BullMQ, 2 worker processes × 1 thread, PostgreSQL:    whole run ${q.seconds.toFixed(1)} s = ${perHour(q.seconds).toFixed(0)} trials/hour; trials alone ${queueSpan.toFixed(1)} s = ${perHour(queueSpan).toFixed(0)} trials/hour`);
    const overhead = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
    console.log(`  queue path overhead: whole run ${overhead(l.seconds, q.seconds)}, trials alone ${overhead(localSpan, queueSpan)} (goal: within 5 %; workers started beforehand)`);
  } finally {
    for (const p of workers) p.kill('SIGTERM');
    await Promise.all(workers.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : Promise.resolve())));
    pg.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
