/**
 * What the coordinator and the workers agree on: one BullMQ queue (`tunescope-trials`) on the user's Redis, one job
 * per trial with a deterministic jobId `<study key>.<trial id>` (the study key is the study name plus a hash of its
 * store, so two studies with equal configurations never share a job, and enqueueing twice never duplicates), and the
 * job data: everything a worker on another machine needs to run the trial and record it.
 *
 * Redis connections retry forever with a capped backoff (a restarted Redis is reconnected to; BullMQ needs
 * `maxRetriesPerRequest: null` for its blocking commands). `rediss://` URLs get TLS from ioredis.
 */
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { UserError, maskUrl, stripPassword } from '../util/index.js';
import type { CheckpointEvery, ModelSource, TrialTask } from '../study/index.js';

export const QUEUE_NAME = 'tunescope-trials';

export interface TrialJobData {
  study: string;
  /** study key: jobIds and the stop flag are under it */
  key: string;
  /** the store's URL without its password (a worker takes it from its environment, ~/.pgpass or --store) */
  store: string;
  trialId: string;
  /** e.g. "learning_rate=0.0001 per_device_train_batch_size=8 seed=1" */
  label: string;
  /** the trial's full configuration; `task.model` is replaced on the worker for a from_config model */
  task: TrialTask;
  model: ModelSource;
  /** the spec's threads_per_worker when a number (a worker's --threads wins) */
  threads: number | null;
  /** the spec's execution.checkpoint_every (null: no checkpoints); checkpoints go to the worker's own disk */
  checkpointEvery?: CheckpointEvery | null;
  /** keep a finished trial's checkpoints (execution.keep_checkpoints) */
  keepCheckpoints?: boolean;
}

/** What a worker reports while a trial runs (BullMQ job progress). */
export interface TrialJobProgress {
  worker: string;
  host: string;
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
}

export function studyKey(name: string, storeLocation: string): string {
  return `${name}.${createHash('sha256').update(stripPassword(storeLocation)).digest('hex').slice(0, 8)}`;
}

export const jobIdFor = (key: string, trialId: string): string => `${key}.${trialId}`;
export const stopFlagKey = (key: string): string => `tunescope:stop:${key}`;

/** A Redis connection for BullMQ that survives a Redis restart. */
export function redisConnection(url: string, opts: { lazy?: boolean } = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: opts.lazy ?? false,
    retryStrategy: (times) => Math.min(200 * times, 5_000),
    reconnectOnError: () => true,
  });
  // connection errors are retried by ioredis; without a listener each one would be an unhandled 'error' event
  r.on('error', () => {});
  return r;
}

/** BullMQ connection options (BullMQ makes its own ioredis clients from them, one blocking client per worker). */
export function connectionOptions(url: string): { url: string; maxRetriesPerRequest: null; retryStrategy: (times: number) => number; enableOfflineQueue: boolean } {
  return { url, maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(200 * times, 5_000), enableOfflineQueue: true };
}

/** Wait until Redis answers (a clear error naming the masked URL otherwise). */
export async function checkRedis(r: Redis, url: string, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      await Promise.race([r.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 3_000).unref())]);
      return;
    } catch (e) {
      if (Date.now() - t0 > timeoutMs) {
        throw new UserError(`cannot reach the queue's Redis at ${maskUrl(url)}: ${(e as Error).message}`);
      }
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}

/** Lock duration of a running job: a worker that stops renewing it (killed) has its job handed on after about this long. */
export function lockDurationMs(): number {
  return Number(process.env.TUNESCOPE_QUEUE_LOCK_MS) || 30_000;
}
