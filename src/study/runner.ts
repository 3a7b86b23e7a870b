/**
 * What a trial runner sees and returns. The default runner (./trainer-runner.ts) fine-tunes through src/train;
 * tests and users can pass their own: a function (run in-process) or a module exporting `runTrial` (run in worker threads).
 */
import type { TrialOutcome } from '../store/index.js';
import type { DatasetFingerprint } from '../data/index.js';
import type { ProgressInfo } from '../train/index.js';
import type { CheckpointEvery, DatasetSource } from './spec.js';
import type { TrialConfig, TrialKind } from './design.js';

export interface TrialTask {
  id: string;
  kind: TrialKind;
  config: TrialConfig;
  seed: number;
  /** HF data_seed (null: the data order follows seed) */
  dataSeed: number | null;
  /** Hub id or local folder of the starting model (a from-scratch config is materialised as a folder first) */
  model: string;
  dataset: DatasetSource;
  /** The data the study recorded (split file hashes, subsample hashes): a trial that reads other data is refused. */
  dataFingerprint?: DatasetFingerprint;
  /** HF TrainingArguments: the spec's fixed args, then the trial's configuration, then `seed` */
  args: Record<string, number | string | boolean>;
  /**
   * Checkpointing of a `train` trial (absent: none): its folder, how often, and the checkpoint to resume from
   * (a trial a killed process left running). A runner that cannot checkpoint may ignore it.
   */
  checkpoint?: { dir: string; every: CheckpointEvery; resumeFrom: string | null };
}

/** A trial's progress at an optimizer step: the training loop's report, which the built-in runner passes on as is. */
export type TrialProgress = ProgressInfo;

export interface TrialContext {
  /** aborted on Ctrl-C: stop soon and throw */
  signal: AbortSignal;
  /** engine threads this trial may use (intra_op_num_threads) */
  threads: number;
  /** e.g. "w1" */
  worker: string;
  onProgress: (p: TrialProgress) => void;
  /** Report a checkpoint the trial wrote (the main thread records it in the store). */
  onCheckpoint?: (c: { location: string; step: number }) => void;
}

export type TrialRunner = (task: TrialTask, ctx: TrialContext) => Promise<TrialOutcome>;

/** The shape a runner module must have (for worker threads and `study run --runner MODULE`). */
export interface TrialRunnerModule {
  runTrial: TrialRunner;
}

/** Merge order: fixed args < configuration < seed, data_seed (only when set: HF then orders data by seed). */
export function trialArgs(
  fixed: Record<string, number | string | boolean>,
  config: TrialConfig,
  seed: number,
  dataSeed: number | null = null,
): Record<string, number | string | boolean> {
  return { ...fixed, ...config, seed, ...(dataSeed !== null ? { data_seed: dataSeed } : {}) };
}
