/**
 * The study store interface, implemented by the SQLite store (one machine) and the PostgreSQL store (several).
 * Every method is async; the SQLite store answers synchronously inside. Every state change is one transaction.
 *
 * Attempts: each claim of a trial starts attempt `attempts + 1`, and completing, failing or releasing it names
 * that attempt, so a stale worker (its job was handed to another worker meanwhile) cannot overwrite a newer
 * attempt. A trial's result is written once: a second completion leaves the first and is kept in the history.
 */

export type TrialStatus = 'pending' | 'running' | 'done' | 'failed';
export const TRIAL_STATUSES: readonly TrialStatus[] = ['pending', 'running', 'done', 'failed'];

export interface StudyRecord {
  name: string;
  /** the spec as stored (JSON) */
  spec: unknown;
  specHash: string;
  createdAt: string;
  tunescopeVersion: string;
}

export interface NewTrial {
  id: string;
  ordinal: number;
  kind: 'train' | 'evaluate';
  config: Record<string, number>;
  /** HF `seed` (initialisation, dropout) */
  seed: number;
  /** HF `data_seed` (sampler order); null: the data order follows `seed` */
  dataSeed?: number | null;
  /** seed of the evaluation subsample (dataset max_eval_samples); null: the whole evaluation split */
  evalSeed?: number | null;
  inDesign: boolean;
  isBaseline: boolean;
}

export interface TrialRecord extends NewTrial {
  dataSeed: number | null;
  evalSeed: number | null;
  status: TrialStatus;
  attempts: number;
  /** which run (process) and worker has or had it */
  runId: string | null;
  worker: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** final evaluation metrics (accuracy, f1, loss, …) */
  metrics: Record<string, number | null> | null;
  trainSeconds: number | null;
  examplesPerSecond: number | null;
  tokensPerSecond: number | null;
  steps: number | null;
  backend: string | null;
  versions: Record<string, string> | null;
}

export interface EpochMetricsRow {
  trialId: string;
  epoch: number;
  step: number;
  trainLoss: number | null;
  learningRate: number | null;
  seconds: number | null;
  metrics: Record<string, number | null>;
}

/**
 * One logged optimizer step of a trial (HF's `log_history` entry at logging_steps): the step's training loss and
 * learning rate, and which attempt logged it. A trial keeps one curve: a new attempt replaces the earlier attempt's
 * rows from its first logged step on (a resumed attempt keeps the steps before its checkpoint).
 */
export interface StepLogRow {
  trialId: string;
  step: number;
  epoch: number;
  loss: number | null;
  learningRate: number | null;
  attempt: number;
}

/**
 * A trial's final evaluation, example by example (stored compactly: see ./predictions.ts).
 * Row i is evaluation example `index[i]` (its position in the evaluated split).
 */
export interface TrialPredictions {
  numLabels: number;
  index: Uint32Array;
  /** the true label */
  label: Int32Array;
  /** argmax of the logits */
  predicted: Int32Array;
  /** softmax probabilities, row-major [n, numLabels] */
  probabilities: Float32Array;
}

export interface TrialOutcome {
  metrics: Record<string, number | null>;
  /** per-example predictions of the final evaluation */
  predictions?: TrialPredictions | null;
  epochs: Array<Omit<EpochMetricsRow, 'trialId'>>;
  trainSeconds?: number | null;
  examplesPerSecond?: number | null;
  tokensPerSecond?: number | null;
  steps?: number | null;
  backend?: string | null;
  versions?: Record<string, string> | null;
}

/** What a process working on a study is: a local `study run`, a distributed run's coordinator, or a queue worker. */
export type RunRole = 'local' | 'coordinator' | 'worker';

/** One process working on the study, with a heartbeat so that a dead one is recognised. */
export interface RunRecord {
  id: string;
  role: RunRole;
  /** `tunescope worker --name` (else host:pid); null for local runs */
  name: string | null;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
  workers: number;
  threadsPerWorker: number;
}

/** Where a running trial's newest checkpoint is (a checkpoint-N/ folder), so a restarted study can resume it. */
export interface TrialCheckpoint {
  trialId: string;
  location: string;
  step: number;
  savedAt: string;
}

/** How one attempt at a trial ended (`duplicate`: a completion of a trial already done; `stale`: a superseded attempt's). */
export type AttemptOutcome = 'running' | 'done' | 'failed' | 'released' | 'duplicate' | 'stale' | 'lost';

export interface AttemptRecord {
  trialId: string;
  attempt: number;
  runId: string;
  worker: string | null;
  startedAt: string;
  finishedAt: string | null;
  outcome: AttemptOutcome;
  error: string | null;
}

/** Who holds a trial: the run (process) and, where known, the attempt number its claim returned. */
export interface TrialHolder {
  runId: string;
  attempt?: number;
}

export interface NewRun {
  id: string;
  host: string;
  pid: number;
  workers: number;
  threadsPerWorker: number;
  role?: RunRole;
  name?: string | null;
}

export interface BaselineRecord {
  metrics: Record<string, number>;
  source: string;
}

export interface StudyStore {
  /** file path or connection string */
  readonly location: string;
  getStudy(): Promise<StudyRecord | null>;
  /** Create the study record; a UserError if the store already holds one. */
  createStudy(rec: { name: string; spec: unknown; specHash: string; tunescopeVersion: string }): Promise<StudyRecord>;
  /** Insert trials that are not there yet (by id); returns how many were new. */
  addTrials(trials: NewTrial[]): Promise<number>;
  listTrials(filter?: { status?: TrialStatus | TrialStatus[]; inDesign?: boolean; isBaseline?: boolean }): Promise<TrialRecord[]>;
  getTrial(id: string): Promise<TrialRecord | null>;
  counts(): Promise<Record<TrialStatus, number>>;

  startRun(run: NewRun): Promise<void>;
  heartbeat(runId: string): Promise<void>;
  finishRun(runId: string): Promise<void>;
  listRuns(): Promise<RunRecord[]>;
  /** Trials left `running` by runs that `isAlive` says are gone go back to `pending`; returns their ids. */
  recoverStale(isAlive: (run: RunRecord) => boolean): Promise<string[]>;

  /** Atomically take the next pending trial (baseline trials first, then design order) for this run/worker. */
  claimNext(runId: string, worker: string): Promise<TrialRecord | null>;
  /**
   * Take one named trial (a queue job): pending → running, or, with `takeOver`, a `running` trial whose holder
   * the queue has given up on (a stalled job) is taken over as a new attempt, the old one recorded as `lost`.
   * Null when it is `done` (nothing to do), `failed`, or running elsewhere without `takeOver`.
   */
  claimTrial(id: string, runId: string, worker: string, opts?: { takeOver?: boolean }): Promise<TrialRecord | null>;
  /**
   * Final metrics, epochs and `done` in one transaction; false (and nothing written but the attempt's history) if
   * this run/attempt no longer holds the trial. A trial already `done` keeps its first result.
   */
  completeTrial(id: string, holder: string | TrialHolder, outcome: TrialOutcome): Promise<boolean>;
  /** running → failed with its error; with `retry` (attempts left) → pending, the attempt recorded as failed. */
  failTrial(id: string, holder: string | TrialHolder, error: string, opts?: { retry?: boolean }): Promise<boolean>;
  /** running → pending (an interrupted trial). */
  releaseTrial(id: string, holder: string | TrialHolder): Promise<boolean>;
  /** Every attempt at a trial (or at all trials), oldest first. */
  attemptHistory(trialId?: string): Promise<AttemptRecord[]>;
  /** failed → pending; returns how many. */
  resetFailed(): Promise<number>;
  /** Record a running trial's newest checkpoint; false (nothing written) if this run no longer holds the trial. */
  setCheckpoint(trialId: string, runId: string, checkpoint: { location: string; step: number }): Promise<boolean>;
  /** Forget a trial's checkpoint (deleted with its folder once the trial is finished). */
  clearCheckpoint(trialId: string): Promise<void>;
  getCheckpoint(trialId: string): Promise<TrialCheckpoint | null>;
  listCheckpoints(): Promise<TrialCheckpoint[]>;

  epochMetrics(trialId?: string): Promise<EpochMetricsRow[]>;
  /**
   * Append logged steps of a running trial (one transaction per call: callers batch). Rows of an earlier attempt
   * from the batch's first step on are dropped first; a step logged twice keeps the newer row. False (nothing
   * written) if this run/attempt no longer holds the trial.
   */
  addStepLogs(trialId: string, holder: string | TrialHolder, rows: Array<Omit<StepLogRow, 'trialId' | 'attempt'>>): Promise<boolean>;
  /** Logged steps of one trial (or of all, in trial order), by step; `afterStep`: only the steps after it. */
  stepLogs(trialId?: string, opts?: { afterStep?: number }): Promise<StepLogRow[]>;
  /** Per-example predictions of done trials (one trial, or all in trial order); trials without them are absent. */
  predictions(trialId?: string): Promise<Array<{ trialId: string; predictions: TrialPredictions }>>;
  setBaseline(b: BaselineRecord): Promise<void>;
  getBaseline(): Promise<BaselineRecord | null>;
  /**
   * A cheap value that changes whenever another connection commits to the store (readers such as the dashboard
   * poll it instead of re-reading everything). Optional: without it a reader compares counts and run heartbeats.
   */
  changeToken?(): Promise<string>;
  /** Study-level facts beside the spec (e.g. `dataset_fingerprint`), as JSON; null when never set. */
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;
  /** The whole study, for copying it to another store. */
  dump(): Promise<StudyDump>;
  /** Write a dumped study into this empty store, in one transaction (a UserError if it already holds a study). */
  restore(d: StudyDump): Promise<void>;
  close(): Promise<void>;
}

/** Everything a store holds about its study, for `study copy` between stores. */
export interface StudyDump {
  study: StudyRecord;
  trials: TrialRecord[];
  epochs: EpochMetricsRow[];
  /** per-step training logs (loss, learning rate) */
  steps: StepLogRow[];
  runs: RunRecord[];
  attempts: AttemptRecord[];
  predictions: Array<{ trialId: string; predictions: TrialPredictions }>;
  baseline: BaselineRecord | null;
  /** running trials' newest checkpoints (a copied study can resume them where the folders are reachable) */
  checkpoints: TrialCheckpoint[];
  /** study-level facts (`getMeta`/`setMeta`), by key */
  meta: Record<string, unknown>;
}

/** The row counts `study copy` compares between source and destination. */
export function dumpCounts(d: StudyDump): Record<string, number> {
  return {
    trials: d.trials.length,
    done: d.trials.filter((t) => t.status === 'done').length,
    epochs: d.epochs.length,
    steps: d.steps.length,
    runs: d.runs.length,
    attempts: d.attempts.length,
    predictions: d.predictions.length,
    baseline: d.baseline ? Object.keys(d.baseline.metrics).length : 0,
    checkpoints: d.checkpoints.length,
    meta: Object.keys(d.meta).length,
  };
}
