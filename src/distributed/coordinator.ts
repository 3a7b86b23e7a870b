/**
 * `study run SPEC --queue URL`: the coordinator of a distributed study. It expands the design and writes the trials
 * to the (PostgreSQL) store exactly as a local run does, enqueues one BullMQ job per pending trial (baseline trials
 * first), then shows the local run's progress display from the store's counts and BullMQ's job events (which worker
 * on which host runs what, its epoch and step) until every trial is done or failed.
 *
 * The store is the truth, the queue only hands out work: every few seconds the coordinator re-enqueues pending
 * trials that have no live job (a job lost with a Redis that had no append-only file, a coordinator killed before
 * it enqueued everything), which is also why running it again after a crash re-enqueues only what is missing.
 * A job BullMQ gives up on without the processor recording it (stalled too often) fails its trial with the reason.
 */
import { Queue, QueueEvents } from 'bullmq';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isPostgresUrl, openStore, type StudyStore, type TrialRecord } from '../store/index.js';
import { UserError, maskUrl, stripPassword, trace } from '../util/index.js';
import type { DatasetFingerprint } from '../data/index.js';
import {
  checkTrainingArguments,
  createStudyProgress,
  materializeModel,
  prepareStudy,
  preflight,
  studyAliasedError,
  studyFingerprint,
  refreshBaseline,
  studyAnchor,
  trialArgs,
  warnNonFinite,
  warningCollector,
  type StudyEvent,
  type StudyProgress,
  type StudySpec,
  type StudySummary,
} from '../study/index.js';
import { QUEUE_NAME, checkRedis, connectionOptions, jobIdFor, redisConnection, stopFlagKey, studyKey, type TrialJobData, type TrialJobProgress } from './queue.js';

const POLL_MS = 1_000;
const RECONCILE_MS = 10_000;

export interface DistributedRunOptions {
  /** redis:// URL (default: the spec's execution.queue) */
  queue?: string;
  retryFailed?: boolean;
  /** Ctrl-C: the coordinator stops watching; the queued trials stay queued for the workers */
  signal?: AbortSignal;
  quiet?: boolean;
  onEvent?: (e: StudyEvent) => void;
  /** skip the built-in trainer's argument and dataset checks (workers run another runner) */
  skipTrainerChecks?: boolean;
}

export interface DistributedSummary extends StudySummary {
  queue: string;
  /** jobs added by this run */
  enqueued: number;
  /** `study stop` was asked for: waiting jobs were withdrawn */
  stopped: boolean;
}

function label(t: Pick<TrialRecord, 'kind' | 'config' | 'seed' | 'dataSeed'>): string {
  return `${t.kind === 'evaluate' ? 'baseline evaluation' : Object.entries(t.config).map(([k, v]) => `${k}=${v}`).join(' ')} seed=${t.seed}${t.dataSeed !== null ? ` data_seed=${t.dataSeed}` : ''}`;
}

export function queueUrlOf(spec: StudySpec, override?: string): string {
  const url = override ?? spec.execution.queue;
  if (!url) throw new UserError('no queue: set execution.queue in the spec or pass --queue redis://host:6379/0');
  if (!/^rediss?:\/\//.test(url)) throw new UserError(`--queue: expected a redis:// or rediss:// URL, got ${maskUrl(url)}`);
  return url;
}

function jobData(spec: StudySpec, key: string, t: TrialRecord, model: string, fingerprint: DatasetFingerprint | null): TrialJobData {
  return {
    study: spec.name,
    key,
    store: stripPassword(spec.store),
    trialId: t.id,
    label: label(t),
    task: {
      id: t.id,
      kind: t.kind,
      config: t.config,
      seed: t.seed,
      dataSeed: t.dataSeed,
      model,
      dataset: spec.dataset,
      args: trialArgs(spec.args, t.config, t.seed, t.dataSeed),
      // every worker's trainer checks that it reads the data the study recorded
      ...(fingerprint ? { dataFingerprint: fingerprint } : {}),
    },
    model: spec.model,
    threads: typeof spec.execution.threads_per_worker === 'number' ? spec.execution.threads_per_worker : null,
    checkpointEvery: spec.execution.checkpoint_every,
    keepCheckpoints: spec.execution.keep_checkpoints,
  };
}

/** Add a job for every pending (or orphaned running) trial that has no live job; returns how many were added. */
async function enqueueMissing(queue: Queue, store: StudyStore, spec: StudySpec, key: string, model: string, fingerprint: DatasetFingerprint | null): Promise<number> {
  const trials = (await store.listTrials({ status: ['pending', 'running'] })).sort((a, b) => Number(b.isBaseline) - Number(a.isBaseline) || a.ordinal - b.ordinal);
  // the lookups go out together (one connection, commands in flight at once) and the jobs in one bulk add, so
  // enqueueing a study costs a few round trips to Redis, not three per trial
  const seen = await Promise.all(
    trials.map(async (t) => {
      const job = await queue.getJob(jobIdFor(key, t.id));
      const state = job ? await job.getState() : 'unknown';
      return { t, job, live: job !== undefined && state !== 'completed' && state !== 'failed' && state !== 'unknown' };
    }),
  );
  const missing = seen.filter((x) => !x.live);
  // a running trial without a job: its worker still finishes it unless it is gone; the takeover is safe either way
  await Promise.all(missing.map((x) => x.job?.remove().catch(() => {})));
  if (missing.length === 0) return 0;
  await queue.addBulk(
    missing.map(({ t }) => ({
      name: 'trial',
      data: jobData(spec, key, t, model, fingerprint),
      opts: {
        jobId: jobIdFor(key, t.id),
        attempts: spec.execution.max_attempts ?? 3,
        backoff: { type: 'exponential', delay: 2_000 },
        priority: t.isBaseline ? 1 : 2,
        removeOnComplete: true,
        removeOnFail: true,
      },
    })),
  );
  return missing.length;
}

/** Withdraw the study's jobs that no worker has started; returns how many. */
async function withdrawWaiting(queue: Queue, store: StudyStore, key: string): Promise<number> {
  let n = 0;
  for (const t of await store.listTrials({ status: 'pending' })) {
    const job = await queue.getJob(jobIdFor(key, t.id));
    if (!job) continue;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
      await job.remove().catch(() => {});
      n++;
    }
  }
  return n;
}

export async function runDistributedStudy(spec: StudySpec, opts: DistributedRunOptions = {}): Promise<DistributedSummary> {
  const t0 = Date.now();
  trace('run-start');
  const queueUrl = queueUrlOf(spec, opts.queue);
  if (!isPostgresUrl(spec.store)) {
    throw new UserError(`a study on a queue needs a store every machine reaches: set store: postgres://user@host:5432/db (got ${spec.store}; SQLite is for one machine)`);
  }
  if (!opts.skipTrainerChecks) checkTrainingArguments(spec);
  // the same refusal as a local run: the design must estimate the analysis model (`study plan` explains)
  const aliased = await studyAliasedError(spec);
  if (aliased) throw new UserError(aliased);
  const { warnings, warn } = warningCollector(opts.onEvent);

  const probe = redisConnection(queueUrl);
  try {
    await checkRedis(probe, queueUrl);
  } catch (e) {
    probe.disconnect();
    throw e;
  }
  trace('queue-checked');
  // the store is set up (a round trip at a time) while this process checks the model and reads the dataset: the
  // coordinator's own checks stand in for a local run's preflight (the workers check their own paths)
  const prepared = prepareStudy(spec);
  prepared.catch(() => {});
  let model: string;
  let checkedFingerprint: DatasetFingerprint | null;
  let store: StudyStore;
  try {
    model = materializeModel(spec.model, studyAnchor(spec));
    checkedFingerprint = opts.skipTrainerChecks ? null : await preflight(spec, model);
    trace('checked');
    ({ store } = await prepared);
  } catch (e) {
    probe.disconnect();
    await prepared.then(({ store: s }) => s.close()).catch(() => {});
    throw e;
  }
  trace('store-ready');
  const key = studyKey(spec.name, spec.store);
  const runId = `${hostname()}:${process.pid}:${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const queue = new Queue<TrialJobData>(QUEUE_NAME, { connection: connectionOptions(queueUrl) });
  queue.on('error', () => {});
  let events: QueueEvents | null = null;
  let progress: StudyProgress | null = null;
  let runStarted = false;
  try {
    // the dataset's fingerprint: recorded on the first run, compared on every later one, checked by every worker
    const fingerprint = opts.skipTrainerChecks ? null : await studyFingerprint(store, spec, checkedFingerprint);
    if (opts.retryFailed) await store.resetFailed();
    await probe.del(stopFlagKey(key));
    let baseline = await refreshBaseline(store, spec);
    const counts0 = await store.counts();
    if (counts0.failed > 0 && !opts.retryFailed) warn(`${counts0.failed} failed trial(s) are not rerun (use --retry-failed)`);
    await store.startRun({ id: runId, host: hostname(), pid: process.pid, workers: 0, threadsPerWorker: 0, role: 'coordinator', name: 'coordinator' });
    runStarted = true;
    const heartbeat = setInterval(() => void store.heartbeat(runId).catch(() => {}), 10_000);
    heartbeat.unref();

    const total = counts0.pending + counts0.running + counts0.done + counts0.failed;
    trace('prepared');
    let enqueued = await enqueueMissing(queue, store, spec, key, model, fingerprint);
    trace('enqueued');
    progress = createStudyProgress({ total, done: counts0.done + counts0.failed, workers: [], ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}) });
    progress.log(`${enqueued} trial(s) queued on ${maskUrl(queueUrl)} (${counts0.done} done before); start \`tunescope worker --queue ${maskUrl(queueUrl)}\` on each machine`);

    // which worker shows which trial: from the jobs' progress events
    const prefix = `${key}.`;
    const labels = new Map((await store.listTrials()).map((t) => [t.id, label(t)]));
    const jobWorker = new Map<string, string>();
    events = new QueueEvents(QUEUE_NAME, { connection: connectionOptions(queueUrl) });
    events.on('error', () => {});
    events.on('progress', ({ jobId, data }) => {
      if (!jobId.startsWith(prefix) || typeof data !== 'object' || data === null) return;
      const p = data as unknown as TrialJobProgress;
      const w = `${p.worker}@${p.host}`;
      const trialId = jobId.slice(prefix.length);
      if (jobWorker.get(jobId) !== w) {
        jobWorker.set(jobId, w);
        progress?.workerStart(w, labels.get(trialId) ?? trialId);
      }
      progress?.workerProgress(w, { epoch: p.epoch, step: p.step, totalSteps: p.totalSteps, loss: p.loss, lr: Number(spec.args.learning_rate ?? 0) });
    });
    const gaveUp: Array<{ trialId: string; reason: string }> = [];
    const idle = (jobId: string) => {
      const w = jobWorker.get(jobId);
      if (w) progress?.workerIdle(w);
      jobWorker.delete(jobId);
    };
    // a finished job wakes the loop at once (the store then says whether the study is over); the poll is the fallback
    let wake: (() => void) | null = null;
    const nudge = () => {
      wake?.();
      wake = null;
    };
    events.on('completed', ({ jobId }) => {
      idle(jobId);
      nudge();
    });
    events.on('failed', ({ jobId, failedReason }) => {
      idle(jobId);
      nudge();
      // a trial's own error is recorded by its worker; only a job failed by the stalled check never reached one
      if (jobId.startsWith(prefix) && /stalled/i.test(failedReason)) gaveUp.push({ trialId: jobId.slice(prefix.length), reason: failedReason });
    });

    let stopped = false;
    let lastReconcile = Date.now();
    let counts = counts0;
    for (;;) {
      counts = await store.counts();
      progress.setCounts({ done: counts.done, running: counts.running, failed: counts.failed, total });
      if (counts.pending + counts.running === 0) {
        trace('all-seen');
        break;
      }
      if (opts.signal?.aborted) break;
      // a job BullMQ failed without the worker recording it (stalled past its limit): the trial fails with the reason
      for (const g of gaveUp.splice(0)) {
        const t = await store.getTrial(g.trialId);
        if (t?.status === 'running' && t.runId) {
          await store.failTrial(t.id, { runId: t.runId, attempt: t.attempts }, `the queue gave the job up: ${g.reason}`);
          progress.log(`trial ${t.id} (${label(t)}) failed: ${g.reason}`);
        }
      }
      if (!stopped && (await probe.exists(stopFlagKey(key)).catch(() => 0))) {
        stopped = true;
        const n = await withdrawWaiting(queue, store, key);
        progress.log(`study stop: ${n} waiting trial(s) withdrawn; waiting for the ${counts.running} running one(s) to finish`);
      }
      if (stopped) {
        if (counts.running === 0) break;
      } else if (Date.now() - lastReconcile > RECONCILE_MS) {
        lastReconcile = Date.now();
        const n = await enqueueMissing(queue, store, spec, key, model, fingerprint).catch(() => 0);
        if (n > 0) progress.log(`${n} trial(s) had no job (lost by the queue): queued again`);
        enqueued += n;
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
    clearInterval(heartbeat);
    baseline = await refreshBaseline(store, spec);
    if (spec.baseline && spec.baseline.kind !== 'metrics' && !baseline && counts.pending + counts.running === 0) {
      warn('the baseline is not available (its trials are not all done): relative metrics are missing');
    }
    const nonFinite = await warnNonFinite(store, warn);
    await store.finishRun(runId);
    runStarted = false;
    trace('run-end');
    const interrupted = (opts.signal?.aborted ?? false) || stopped;
    return {
      name: spec.name,
      store: store.location,
      total,
      counts,
      ranNow: counts.done - counts0.done,
      failedNow: Math.max(0, counts.failed - counts0.failed),
      recovered: [],
      baseline,
      workers: 0,
      threadsPerWorker: 0,
      seconds: (Date.now() - t0) / 1000,
      interrupted,
      warnings,
      nonFinite,
      queue: maskUrl(queueUrl),
      enqueued,
      stopped,
    };
  } finally {
    progress?.stop();
    if (runStarted) await store.finishRun(runId).catch(() => {});
    await events?.close().catch(() => {});
    await queue.close().catch(() => {});
    probe.disconnect();
    await store.close();
  }
}

/**
 * `study stop SPEC`: running trials finish, no new ones are handed out. Sets the study's stop flag (a running
 * coordinator sees it and ends when the running trials have) and withdraws the jobs no worker has started.
 */
export async function stopDistributedStudy(spec: StudySpec, queueOverride?: string): Promise<{ withdrawn: number; running: number }> {
  const queueUrl = queueUrlOf(spec, queueOverride);
  const store = openStore(spec.store, { readonly: true });
  const r = redisConnection(queueUrl);
  const queue = new Queue<TrialJobData>(QUEUE_NAME, { connection: connectionOptions(queueUrl) });
  queue.on('error', () => {});
  try {
    await checkRedis(r, queueUrl);
    if (!(await store.getStudy())) throw new UserError(`${store.location} holds no study`);
    const key = studyKey(spec.name, spec.store);
    await r.set(stopFlagKey(key), String(Date.now()), 'EX', 7 * 24 * 3600);
    const withdrawn = await withdrawWaiting(queue, store, key);
    return { withdrawn, running: (await store.counts()).running };
  } finally {
    await queue.close().catch(() => {});
    r.disconnect();
    await store.close();
  }
}
