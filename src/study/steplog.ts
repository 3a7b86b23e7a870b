/**
 * Per-step training logs into the store, batched: the runner reports every logged step (often several a second),
 * the store gets one write per trial per `flushMs` (or per `maxRows` steps), so a study is not slowed by its logs.
 * Writes go one after another (a promise chain), so a trial's steps arrive in order, and `flush(trial)` is awaited
 * before its checkpoint, completion, failure or release is recorded — a checkpoint is never ahead of the curve.
 */
import type { StudyStore, TrialHolder } from '../store/index.js';
import type { TrialProgress } from './runner.js';

export interface StepLogWriterOptions {
  /** longest a logged step waits in memory (ms; default 1000) */
  flushMs?: number;
  /** a trial's buffer is written when it holds this many steps (default 200) */
  maxRows?: number;
  /** a write that failed (the logs are a by-product: the trial goes on) */
  onError?: (trialId: string, e: unknown) => void;
}

interface Pending {
  store: StudyStore;
  holder: TrialHolder;
  rows: Array<{ step: number; epoch: number; loss: number | null; learningRate: number | null }>;
}

export class StepLogWriter {
  private readonly pending = new Map<string, Pending>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxRows: number;
  /** store writes made (for benches and tests) */
  writes = 0;

  constructor(private readonly opts: StepLogWriterOptions = {}) {
    this.flushMs = opts.flushMs ?? 1000;
    this.maxRows = opts.maxRows ?? 200;
  }

  /** A trial now held by `holder` (a new attempt): steps it logs are written under that holder. */
  start(trialId: string, store: StudyStore, holder: TrialHolder): void {
    this.pending.set(trialId, { store, holder, rows: [] });
  }

  push(trialId: string, p: TrialProgress): void {
    const t = this.pending.get(trialId);
    if (!t) return;
    t.rows.push({ step: p.step, epoch: p.epoch, loss: p.loss, learningRate: p.lr });
    if (t.rows.length >= this.maxRows) void this.flush(trialId);
    else this.timer ??= setTimeout(() => {
      this.timer = null;
      for (const id of this.pending.keys()) void this.flush(id);
    }, this.flushMs);
    this.timer?.unref();
  }

  /** Write what the trial has buffered; resolves once it (and every earlier write) is in the store. */
  flush(trialId: string): Promise<void> {
    const t = this.pending.get(trialId);
    if (t && t.rows.length > 0) {
      const rows = t.rows;
      t.rows = [];
      this.writes++;
      this.chain = this.chain.then(() =>
        t.store.addStepLogs(trialId, t.holder, rows).then(
          () => {},
          (e: unknown) => this.opts.onError?.(trialId, e),
        ),
      );
    }
    return this.chain;
  }

  /** Flush and forget the trial (it finished, failed or was released). */
  async end(trialId: string): Promise<void> {
    await this.flush(trialId);
    this.pending.delete(trialId);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.pending.keys()].map((id) => this.end(id)));
    await this.chain;
  }
}
