/**
 * `npm run bench -- distributed`: the cost of the queue path. The same small study (from-scratch DistilBERT,
 * 2048 SST-2 sentences, 8 equal trials) runs (a) locally, 2 worker threads × 1 engine thread into SQLite, and
 * (b) through BullMQ on a private Redis to 2 `tunescope worker` processes × 1 thread into a private PostgreSQL.
 * Printed: trials/hour of each, whole run and trials alone (first trial start → last trial end, from the store's
 * timestamps), and the queue path's overhead (goal: within 5 %).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDistributedStudy } from '../src/distributed/index.js';
import { openStore, type TrialRecord } from '../src/store/index.js';
import type { TraceEvent } from '../src/util/index.js';
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
async function trialsSpan(location: string): Promise<{ span: number; trials: TrialRecord[] }> {
  const s = openStore(location, { readonly: true });
  try {
    const t = await s.listTrials({ status: 'done' });
    if (t.length !== 8) throw new Error(`bench distributed: ${t.length} of 8 trials done in ${s.location}`);
    const start = Math.min(...t.map((x) => Date.parse(x.startedAt!)));
    const end = Math.max(...t.map((x) => Date.parse(x.finishedAt!)));
    return { span: (end - start) / 1000, trials: t };
  } finally {
    await s.close();
  }
}

const PHASES = [
  ['hand-off', 'previous result written → next trial claimed by the same worker (the claim included; queue: BullMQ completes the job, hands over the next)'],
  ['claim', 'of which, queue: job picked up → trial claimed in the store'],
  ['dispatch', 'claimed → runner starts in the worker thread (model folder, checkpoint lookup, message to the thread)'],
  ['load', 'runner start → first training step (dataset, tokenizer, token cache, ONNX model creation)'],
  ['train+eval', 'training steps and evaluations'],
  ['result', 'training end → result written (runner return, step-log flush, completion transaction)'],
] as const;
type Phase = (typeof PHASES)[number][0];

interface Breakdown {
  /** mean ms per trial of each phase: over all trials, over each worker's first trial (its thread starts), over the others */
  perTrial: Record<Phase, number>;
  first: Record<Phase, number>;
  later: Record<Phase, number>;
  /** run start → first trial claimed; last result written → all seen; all seen → run returns (ms) */
  startUp: number;
  seeAll: number;
  wrapUp: number;
  /** the run's own phases before its first claim: name and ms after run start */
  startPhases: Array<[string, number]>;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Per-phase times from one run's trace lines (TUNESCOPE_TRACE), all on this machine's clock. */
function breakdown(file: string, trials: TrialRecord[]): Breakdown {
  const evs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceEvent);
  const at = (ev: string, trial?: string) => evs.find((e) => e.ev === ev && (trial === undefined || e.trial === trial))?.t ?? NaN;
  // train-start/train-end carry no trial id: they follow their runner-start in the same thread
  const inThread = new Map<string, { start: number; end: number }>();
  for (const r of evs.filter((e) => e.ev === 'runner-start')) {
    const next = (ev: string) => evs.find((e) => e.ev === ev && e.pid === r.pid && e.tid === r.tid && e.t >= r.t)?.t ?? NaN;
    inThread.set(r.trial!, { start: next('train-start'), end: next('train-end') });
  }
  const rows: Array<Record<Phase, number> & { first: boolean }> = [];
  const byWorker = new Map<string, TrialRecord[]>();
  for (const t of trials) byWorker.set(t.worker ?? '', [...(byWorker.get(t.worker ?? '') ?? []), t]);
  for (const list of byWorker.values()) {
    list.sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
    list.forEach((t, i) => {
      const job = at('job', t.id);
      const claimed = at('claimed', t.id);
      const prev = i > 0 ? list[i - 1]! : null;
      const th = inThread.get(t.id) ?? { start: NaN, end: NaN };
      rows.push({
        'hand-off': prev ? claimed - Math.max(at('completed', prev.id), at('job-end', prev.id) || 0) : NaN,
        claim: Number.isNaN(job) ? NaN : claimed - job,
        dispatch: at('runner-start', t.id) - claimed,
        load: th.start - at('runner-start', t.id),
        'train+eval': th.end - th.start,
        result: at('completed', t.id) - th.end,
        first: i === 0,
      });
    });
  }
  const means = (rs: typeof rows) => Object.fromEntries(PHASES.map(([p]) => [p, mean(rs.map((r) => r[p]).filter((x) => Number.isFinite(x)))])) as Record<Phase, number>;
  const claims = trials.map((t) => at('claimed', t.id));
  const completes = trials.map((t) => at('completed', t.id));
  return {
    perTrial: means(rows),
    first: means(rows.filter((r) => r.first)),
    later: means(rows.filter((r) => !r.first)),
    startUp: Math.min(...claims) - at('run-start'),
    seeAll: at('all-seen') - Math.max(...completes),
    wrapUp: at('run-end') - at('all-seen'),
    startPhases: ['checked', 'store-ready', 'queue-checked', 'prepared', 'enqueued']
      .map((e): [string, number] => [e, at(e) - at('run-start')])
      .filter(([, t]) => Number.isFinite(t))
      .sort((a, b) => a[1] - b[1]),
  };
}

function startWorker(queue: string, name: string, traceFile: string): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'worker', '--queue', queue, '--threads', '1', '--name', name], {
    cwd: ROOT,
    env: { ...process.env, TUNESCOPE_QUIET: '', TUNESCOPE_TRACE: traceFile },
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

const TICK = 100; // USER_HZ: /proc's CPU times are in 1/100 s on Linux

/** /proc/PID/stat's CPU fields (user, system, children's user, children's system) in seconds, and the parent pid; null if gone. */
function procStat(pid: number): { self: number; children: number; ppid: number; comm: string } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid … utime is the 12th field, stime 13th, cutime 14th, cstime 15th
    return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK, ppid: Number(f[1]), comm };
  } catch {
    return null;
  }
}

/**
 * CPU seconds used so far by PostgreSQL (the postmaster, its live backends, and the backends that ended) and by
 * redis-server: what the queue path adds beside the trainers, on the same 2 cores.
 */
function serviceCpu(pgDataDir: string): { postgres: number; redis: number } {
  const pm = Number(readFileSync(join(pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const root = procStat(pm);
  let postgres = root ? root.self + root.children : 0;
  let redis = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (!st) continue;
    if (st.ppid === pm) postgres += st.self;
    else if (st.comm === 'redis-server' && st.ppid === process.pid) redis += st.self;
  }
  return { postgres, redis };
}

/** Statements the clients sent to PostgreSQL, i.e. round trips (pg_stat_statements, top level, this database; BEGIN/COMMIT included), by kind. */
async function statementCounts(url: string): Promise<{ total: number; byKind: Map<string, number> }> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ query: string; calls: string }>(
      `SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat_statements%'`,
    );
    const byKind = new Map<string, number>();
    let total = 0;
    for (const row of r.rows) {
      const n = Number(row.calls);
      total += n;
      const q = row.query.trim().replace(/\s+/g, ' ');
      const kind = /^(BEGIN|COMMIT|ROLLBACK)/i.test(q) ? q.split(' ')[0]!.toUpperCase() : q.slice(0, 60);
      byKind.set(kind, (byKind.get(kind) ?? 0) + n);
    }
    return { total, byKind };
  } finally {
    await c.end();
  }
}

export async function run(): Promise<void> {
  if (!existsSync(join(SHARED, 'datasets', 'sst2', 'train.tsv')) || !existsSync(join(SHARED, 'models', 'distilbert-base-uncased', 'vocab.txt'))) {
    console.log('skipped: ../shared/datasets/sst2 or ../shared/models/distilbert-base-uncased not found');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bench-dist-'));
  const [pg, redis] = await Promise.all([startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top' } }), startRedis()]);
  const workers: ChildProcess[] = [];
  const traceBefore = process.env.TUNESCOPE_TRACE;
  try {
    const lrs = '[5.0e-4, 1.0e-3, 2.0e-3, 4.0e-3]';
    // warm-up: one trial fills the token-id cache both paths then read
    await runStudy(spec(dir, 'warm.yaml', './warm.sqlite', '{workers: 1, threads_per_worker: 1}', '[1.0e-3]', '[1]'), { quiet: true });

    const localTrace = join(dir, 'local.trace');
    process.env.TUNESCOPE_TRACE = localTrace;
    const local = spec(dir, 'local.yaml', './local.sqlite', '{workers: 2, threads_per_worker: 1}', lrs, '[1, 2]');
    const l = await runStudy(local, { quiet: true });
    process.env.TUNESCOPE_TRACE = traceBefore ?? '';
    if (l.counts.done !== 8) throw new Error(`bench distributed: local run finished ${l.counts.done} of 8 trials`);
    const localRun = await trialsSpan(join(dir, 'local.sqlite'));

    const db = await pg.createDatabase('bench');
    {
      const { default: pgLib } = await import('pg');
      const c = new pgLib.Client({ connectionString: db });
      await c.connect();
      await c.query('CREATE EXTENSION pg_stat_statements');
      await c.query('SELECT pg_stat_statements_reset()');
      await c.end();
    }
    const queueTrace = join(dir, 'queue.trace');
    const w0 = Date.now();
    const w = [startWorker(redis.url, 'b1', queueTrace), startWorker(redis.url, 'b2', queueTrace)];
    workers.push(...w.map((x) => x.proc));
    await Promise.all(w.map((x) => x.ready));
    const workerStart = (Date.now() - w0) / 1000;
    process.env.TUNESCOPE_TRACE = queueTrace;
    const queued = loadStudySpec(spec(dir, 'queue.yaml', db, `{queue: '${redis.url}', threads_per_worker: 1}`, lrs, '[1, 2]'));
    const cpu0 = { ...serviceCpu(pg.dataDir), coordinator: process.cpuUsage() };
    const q = await runDistributedStudy(queued, { quiet: true });
    const cpu1 = serviceCpu(pg.dataDir);
    const coordinatorCpu = (() => {
      const u = process.cpuUsage(cpu0.coordinator);
      return (u.user + u.system) / 1e6;
    })();
    process.env.TUNESCOPE_TRACE = traceBefore ?? '';
    if (q.counts.done !== 8) throw new Error(`bench distributed: the queue run finished ${q.counts.done} of 8 trials`);
    const queueRun = await trialsSpan(db);
    const statements = await statementCounts(db);

    const perHour = (s: number) => (8 / s) * 3600;
    const overhead = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
    console.log(`8 equal trials (dim 32, 1 layer, 2048 sentences, batch 32, 2 epochs; token cache warmed first); ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`  whole run: the study call, from its start (spec checks, store, design) to its return (all 8 results seen, run closed);`);
    console.log(`  the queue path's 2 worker processes are started and waiting beforehand (their start-up, ${workerStart.toFixed(1)} s, is not in it).`);
    console.log(`  trials alone: first trial claimed → last result written (the store's timestamps).`);
    console.log(`  local, 2 worker threads × 1 thread, SQLite:           whole run ${l.seconds.toFixed(1)} s = ${perHour(l.seconds).toFixed(0)} trials/hour; trials alone ${localRun.span.toFixed(1)} s = ${perHour(localRun.span).toFixed(0)} trials/hour`);
    console.log(`  BullMQ, 2 worker processes × 1 thread, PostgreSQL:    whole run ${q.seconds.toFixed(1)} s = ${perHour(q.seconds).toFixed(0)} trials/hour; trials alone ${queueRun.span.toFixed(1)} s = ${perHour(queueRun.span).toFixed(0)} trials/hour`);
    console.log(`  queue path overhead: whole run ${overhead(l.seconds, q.seconds)}, trials alone ${overhead(localRun.span, queueRun.span)} (goal: within 5 %)`);
    console.log(`  (a cold start, the 2 workers started with the study: ${(q.seconds + workerStart).toFixed(1)} s, ${overhead(l.seconds, q.seconds + workerStart)}; a worker serves study after study, so this is paid once per worker)`);

    const lb = breakdown(localTrace, localRun.trials);
    const qb = breakdown(queueTrace, queueRun.trials);
    const ms = (x: number) => (Number.isFinite(x) && x !== 0 ? `${x.toFixed(0)} ms` : '-').padStart(9);
    console.log(`  where the time goes (mean per trial, ms; one run each, so timings share the machine's load):`);
    console.log(`    ${'phase'.padEnd(12)} ${'local'.padStart(9)} ${'queue'.padStart(9)} ${'1st local'.padStart(9)} ${'1st queue'.padStart(9)} ${'2nd+ loc.'.padStart(9)} ${'2nd+ que.'.padStart(9)}`);
    for (const [p, what] of PHASES) console.log(`    ${p.padEnd(12)} ${ms(lb.perTrial[p])} ${ms(qb.perTrial[p])} ${ms(lb.first[p])} ${ms(qb.first[p])} ${ms(lb.later[p])} ${ms(qb.later[p])}   ${what}`);
    const outside = (b: Record<Phase, number>) => b['hand-off'] + b.dispatch + b.load + b.result;
    console.log(`    ${'not training'.padEnd(12)} ${ms(outside(lb.perTrial))} ${ms(outside(qb.perTrial))} ${ms(outside(lb.first))} ${ms(outside(qb.first))} ${ms(outside(lb.later))} ${ms(outside(qb.later))}   hand-off + dispatch + load + result`);
    // like for like: the local run's first trials wait for its threads to start (the queue's were up before the study);
    // the two workers wait in parallel, so the run is shifted once by that wait, not once per worker
    const threadStart = Math.max(0, lb.first.dispatch - lb.later.dispatch) / 1000;
    console.log(`  like for like (threads up on both paths: the local run less its ${threadStart.toFixed(1)} s of thread start-up): whole run ${overhead(l.seconds - threadStart, q.seconds)}, trials alone ${overhead(localRun.span - threadStart, queueRun.span)} (goal: within 5 %)`);
    // the same training work on both paths: a difference here is the machine (load, two threads of one process vs two processes), not the queue
    console.log(`  training itself (train+eval per trial): queue ${overhead(lb.perTrial['train+eval'], qb.perTrial['train+eval'])} against local, the same work: the whole-run figures carry this difference, the per-job figures below do not`);
    // the training itself is the same work on both paths: its difference between two runs is the machine's noise
    const est = (outside(qb.perTrial) - outside(lb.perTrial)) / (lb.perTrial['train+eval'] + outside(lb.perTrial));
    console.log(`  per-trial cost of the queue path outside training: ${(outside(qb.perTrial) - outside(lb.perTrial)).toFixed(0)} ms = ${(est * 100).toFixed(1)} % of a local trial (a measure that the load's noise in training time does not enter)`);
    // later trials: both paths' threads are up, so this is the cost per job itself
    const steady = (outside(qb.later) - outside(lb.later)) / (lb.later['train+eval'] + outside(lb.later));
    console.log(`  the same for each worker's 2nd and later trials (threads up on both paths: the cost per job itself): ${(outside(qb.later) - outside(lb.later)).toFixed(0)} ms = ${(steady * 100).toFixed(1)} %`);
    console.log(`  (the queue's worker threads start with the worker process, before the study; the local run starts its threads inside the run, in its first trials' dispatch)`);
    console.log(`  per run (ms):  start-up (run start → first claim) local ${lb.startUp.toFixed(0)}, queue ${qb.startUp.toFixed(0)}; ` +
      `last result → seen ${lb.seeAll.toFixed(0)} / ${qb.seeAll.toFixed(0)}; seen → returned ${lb.wrapUp.toFixed(0)} / ${qb.wrapUp.toFixed(0)}`);
    const phases = (b: Breakdown) => b.startPhases.map(([e, t]) => `${e} +${t.toFixed(0)}`).join(', ');
    console.log(`  start-up steps (ms after run start): local ${phases(lb)}; queue ${phases(qb)}`);
    const trainCpu = qb.perTrial['train+eval'] * 8 / 1000;
    const side = { postgres: cpu1.postgres - cpu0.postgres, redis: cpu1.redis - cpu0.redis };
    console.log(`  CPU beside the trainers during the queue run: PostgreSQL ${side.postgres.toFixed(2)} s, Redis ${side.redis.toFixed(2)} s, ` +
      `coordinator process ${coordinatorCpu.toFixed(2)} s = ${(((side.postgres + side.redis + coordinatorCpu) / trainCpu) * 100).toFixed(1)} % of the trials' ${trainCpu.toFixed(1)} s of training (8 × train+eval, wall)`);
    const kinds = [...statements.byKind.entries()].sort((a, b) => b[1] - a[1]);
    console.log(`  PostgreSQL round trips (statements sent by the coordinator and workers): ${statements.total} = ${(statements.total / 8).toFixed(1)} per trial; most sent:`);
    for (const [k, n] of kinds.slice(0, 8)) console.log(`    ${String(n).padStart(5)}  ${k}`);
  } finally {
    if (traceBefore === undefined) delete process.env.TUNESCOPE_TRACE;
    else process.env.TUNESCOPE_TRACE = traceBefore;
    for (const p of workers) p.kill('SIGTERM');
    await Promise.all(workers.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : Promise.resolve())));
    pg.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
