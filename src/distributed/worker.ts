/**
 * `tunescope worker`: a long-running process that takes trial jobs from the queue and runs them with the same
 * trainer as a local study (each in a worker thread, so the event loop stays free to renew BullMQ's job locks and
 * to heartbeat), then writes the result to the study's store.
 *
 * Exactly one result per trial comes from the store, not from the queue: the job's trial is claimed as a new
 * attempt (taking it over from a holder the queue has given up on, e.g. a SIGKILL'd worker whose job stalled),
 * and the completion names that attempt, so a late completion from a superseded attempt is recorded but never
 * overwrites. A job whose trial is already `done` (a second delivery) only records the duplicate.
 * A failing trial is retried by BullMQ (`execution.max_attempts`, on any worker); the last failure is final.
 */
import { Worker, type Job } from 'bullmq';
import { existsSync, rmSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { openStore, type StudyStore, type TrialOutcome } from '../store/index.js';
import { UserError, maskUrl, stripPassword, trace } from '../util/index.js';
import {
  AbortedTrial,
  WorkerStartError,
  errorText,
  materializeModel,
  resumePoint,
  runnerModuleUrl,
  workerSlot,
  StepLogWriter,
  type OnCheckpoint,
  type Slot,
  type TrialProgress,
} from '../study/index.js';
import { QUEUE_NAME, checkRedis, connectionOptions, lockDurationMs, redisConnection, type TrialJobData, type TrialJobProgress } from './queue.js';

const HEARTBEAT_MS = 10_000;
const PROGRESS_MS = 1_000;

export interface QueueWorkerOptions {
  /** redis:// or rediss:// URL */
  queue: string;
  /** trials at once (default 1) */
  concurrency?: number;
  /** engine threads per trial (default: the spec's threads_per_worker, else 1) */
  threads?: number;
  /** shown in `study status` (default host:pid) */
  name?: string;
  /** full store URLs (with password) to use for the stores jobs name, matched by their password-free form */
  stores?: string[];
  /** a module exporting runTrial (default: the built-in fine-tuner) */
  runnerModule?: string;
  /** where from_config model folders are written (default ~/.cache/tunescope/worker) */
  cacheDir?: string;
  /** stop taking jobs; running trials finish */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface QueueWorkerSummary {
  name: string;
  done: number;
  failed: number;
  duplicates: number;
}

interface StoreHandle {
  store: StudyStore;
  runId: string;
  heartbeat: NodeJS.Timeout;
}

/** Local paths the trial needs must exist on this machine (a clear error naming path and host otherwise). */
function checkLocalPaths(d: TrialJobData): void {
  const need: Array<[string, string]> = [];
  const ds = d.task.dataset;
  if (ds.data_dir) need.push(['dataset.data_dir', ds.data_dir]);
  if (isAbsolute(ds.name)) need.push(['dataset', ds.name]);
  if (d.model.kind === 'pretrained' && isAbsolute(d.model.id)) need.push(['model', d.model.id]);
  if (d.model.kind === 'from_config') need.push(['model.tokenizer', d.model.tokenizer]);
  for (const [what, p] of need) {
    if (!existsSync(p)) throw new UserError(`${what} ${p} not found on host ${hostname()} (local paths must exist on every worker machine)`);
  }
}

export async function runQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const host = hostname();
  const name = opts.name ?? `${host}:${process.pid}`;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const log = opts.log ?? (() => {});
  const cacheDir = opts.cacheDir ?? process.env.TUNESCOPE_WORKER_DIR ?? join(homedir(), '.cache', 'tunescope', 'worker');
  const runnerModule = runnerModuleUrl(opts.runnerModule);
  const credentials = new Map((opts.stores ?? []).map((u) => [stripPassword(u), u]));
  const summary: QueueWorkerSummary = { name, done: 0, failed: 0, duplicates: 0 };

  const probe = redisConnection(opts.queue);
  try {
    await checkRedis(probe, opts.queue);
  } finally {
    probe.disconnect();
  }

  // one store connection (and one run record with a heartbeat) per study store this worker has served
  const stores = new Map<string, Promise<StoreHandle>>();
  const storeFor = (url: string): Promise<StoreHandle> => {
    let h = stores.get(url);
    if (!h) {
      h = (async () => {
        const store = openStore(credentials.get(url) ?? url);
        const runId = `${host}:${process.pid}:${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
        await store.startRun({ id: runId, host, pid: process.pid, workers: concurrency, threadsPerWorker: opts.threads ?? 0, role: 'worker', name });
        const heartbeat = setInterval(() => void store.heartbeat(runId).catch(() => {}), HEARTBEAT_MS);
        heartbeat.unref();
        return { store, runId, heartbeat };
      })();
      h.catch(() => stores.delete(url));
      stores.set(url, h);
    }
    return h;
  };

  // one worker thread per concurrent trial, keyed by engine thread count (a job may ask for another)
  const free: Slot[] = [];
  const slotThreads = new Map<Slot, number>();
  const current = new Map<string, { job: Job<TrialJobData>; last: number; handle: StoreHandle }>();
  const stepLogs = new StepLogWriter({ onError: (trialId, e) => log(`trial ${trialId}: training steps not recorded: ${errorText(e)}`) });
  const onProgress = (trialId: string, p: TrialProgress) => {
    const c = current.get(trialId);
    if (!c) return;
    stepLogs.push(trialId, p);
    if (Date.now() - c.last < PROGRESS_MS) return;
    c.last = Date.now();
    const payload: TrialJobProgress = { worker: name, host, epoch: p.epoch, step: p.step, totalSteps: p.totalSteps, loss: p.loss };
    void c.job.updateProgress(payload as unknown as Record<string, unknown>).catch(() => {});
  };
  // a checkpoint is recorded in the trial's store under the attempt that wrote it (a late one from a lost attempt is ignored)
  const onCheckpoint: OnCheckpoint = (trialId, c) => {
    const cur = current.get(trialId);
    if (!cur) return;
    void stepLogs
      .flush(trialId)
      .then(() => cur.handle.store.setCheckpoint(trialId, cur.handle.runId, c))
      .catch((e: unknown) => log(`trial ${trialId}: checkpoint not recorded: ${errorText(e)}`));
  };
  let slotNo = 0;
  const newSlot = (threads: number): Slot => {
    const s = workerSlot(`${name}/${++slotNo}`, runnerModule, threads, onProgress, onCheckpoint);
    slotThreads.set(s, threads);
    return s;
  };
  const takeSlot = (threads: number): Slot => {
    const i = free.findIndex((s) => slotThreads.get(s) === threads && !s.dead());
    if (i >= 0) return free.splice(i, 1)[0]!;
    // a job asking for another thread count: an idle thread of the old count makes room (no more threads than concurrency)
    if (slotThreads.size >= concurrency && free.length > 0) {
      const old = free.shift()!;
      slotThreads.delete(old);
      void old.close().catch(() => {});
    }
    return newSlot(threads);
  };
  const giveSlot = (s: Slot) => {
    if (s.dead()) {
      slotThreads.delete(s);
      void s.close().catch(() => {});
    } else free.push(s);
  };
  // the worker threads start (and load the trainer) now, not inside the first trial; one that cannot start fails
  // its first job as before (WorkerStartError: the trial goes back to pending, the job is retried)
  for (let i = 0; i < concurrency; i++) free.push(newSlot(opts.threads ?? 1));
  await Promise.all(free.map((s) => s.ready().catch((e: unknown) => log(`worker ${name}: ${errorText(e)}`))));

  // a from_config model folder is built (and checked) once per study and config, not once per job (~30 ms each)
  const models = new Map<string, string>();
  const modelFor = (d: TrialJobData): string => {
    if (d.model.kind === 'pretrained') return d.model.id;
    const k = `${d.key}\0${JSON.stringify(d.model)}`;
    const known = models.get(k);
    if (known && existsSync(join(known, 'config.json'))) return known;
    const dir = materializeModel(d.model, join(cacheDir, d.key, 'store'));
    models.set(k, dir);
    return dir;
  };

  const processor = async (job: Job<TrialJobData>): Promise<{ trial: string; result: string }> => {
    const d = job.data;
    trace('job', d.trialId);
    const handle = await storeFor(d.store);
    const { store, runId } = handle;
    const threads = opts.threads ?? d.threads ?? 1;
    const trial = await store.claimTrial(d.trialId, runId, name, { takeOver: true });
    if (!trial) {
      const t = await store.getTrial(d.trialId);
      if (t?.status === 'done') summary.duplicates++;
      return { trial: d.trialId, result: t ? `already ${t.status}` : 'not in the store' };
    }
    const holder = { runId, attempt: trial.attempts };
    trace('claimed', d.trialId);
    log(`${d.study}: trial ${d.trialId} (${d.label}) attempt ${trial.attempts} started`);
    const slot = takeSlot(threads);
    current.set(d.trialId, { job, last: 0, handle });
    stepLogs.start(d.trialId, store, holder);
    // checkpoints live on this machine's disk: a trial restarted here (a killed worker) resumes from its newest one
    const ckptDir = join(cacheDir, d.key, 'trials', d.trialId);
    try {
      checkLocalPaths(d);
      const model = modelFor(d);
      const task = { ...d.task, model };
      if (d.task.kind === 'train' && d.checkpointEvery) task.checkpoint = { dir: ckptDir, every: d.checkpointEvery, resumeFrom: await resumePoint(store, d.trialId, ckptDir, holder) };
      trace('slot-run', d.trialId);
      const outcome: TrialOutcome = await slot.run(task);
      trace('outcome', d.trialId);
      await stepLogs.end(d.trialId);
      const ok = await store.completeTrial(d.trialId, holder, outcome);
      trace('completed', d.trialId);
      if (ok && !d.keepCheckpoints) {
        rmSync(ckptDir, { recursive: true, force: true });
        await store.clearCheckpoint(d.trialId).catch(() => {});
      }
      if (ok) summary.done++;
      log(`${d.study}: trial ${d.trialId} ${ok ? 'done' : 'finished, but a newer attempt holds it: result not recorded'} (accuracy ${outcome.metrics.accuracy ?? '-'})`);
      trace('job-end', d.trialId);
      return { trial: d.trialId, result: ok ? 'done' : 'stale' };
    } catch (e) {
      const msg = errorText(e);
      await stepLogs.end(d.trialId);
      if (e instanceof AbortedTrial || e instanceof WorkerStartError) {
        // not the trial's fault: back to pending, and the job is retried (here or elsewhere)
        await store.releaseTrial(d.trialId, holder).catch(() => {});
        throw e;
      }
      const attempts = job.opts.attempts ?? 1;
      const last = job.attemptsMade + 1 >= attempts;
      await store.failTrial(d.trialId, holder, msg, { retry: !last });
      if (last) summary.failed++;
      log(`${d.study}: trial ${d.trialId} failed${last ? '' : ` (attempt ${job.attemptsMade + 1} of ${attempts}; retried)`}: ${msg}`);
      throw e;
    } finally {
      current.delete(d.trialId);
      giveSlot(slot);
    }
  };

  const lock = lockDurationMs();
  const worker = new Worker<TrialJobData>(QUEUE_NAME, processor, {
    connection: connectionOptions(opts.queue),
    concurrency,
    name,
    lockDuration: lock,
    stalledInterval: lock,
    // a stall is a killed worker, not the trial's fault: several are tolerated before BullMQ gives the job up
    maxStalledCount: 5,
    autorun: false,
  });
  worker.on('error', (e) => log(`queue: ${errorText(e)} (retrying)`));
  trace('worker-up');
  log(`worker ${name}: waiting for trials on ${maskUrl(opts.queue)} (${concurrency} at once)`);

  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      log(`worker ${name}: stopping (running trials finish first)`);
      void worker.close().finally(resolve);
    };
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener('abort', stop, { once: true });
  });
  try {
    await Promise.race([worker.run(), stopped]);
    await stopped;
  } finally {
    await stepLogs.close();
    for (const h of stores.values()) {
      const s = await h.catch(() => null);
      if (!s) continue;
      clearInterval(s.heartbeat);
      await s.store.finishRun(s.runId).catch(() => {});
      await s.store.close().catch(() => {});
    }
    await Promise.all([...free, ...slotThreads.keys()].map((s) => s.close().catch(() => {})));
  }
  return summary;
}
