/** Typed values of the importers: one ImportedRun per run/trial, whatever tool wrote it. */

export type SourceKind = 'optuna' | 'hf' | 'mlflow' | 'wandb';
export const SOURCE_KINDS: readonly SourceKind[] = ['optuna', 'hf', 'mlflow', 'wandb'];

/** A run's outcome in the tools' common terms (Optuna COMPLETE/PRUNED/FAIL, MLflow FINISHED/FAILED/KILLED, W&B finished/crashed/failed). */
export type RunState = 'complete' | 'pruned' | 'failed' | 'running' | 'waiting' | 'killed';

export type ParamValue = string | number | boolean | null;

/** One step of a run's history: Optuna intermediate values, Trainer log_history evaluations, MLflow metric history. */
export interface HistoryPoint {
  step: number;
  epoch?: number | null;
  values: Record<string, number | null>;
}

/** A value with where in the source it was read (file, table, key). */
export interface Sourced<T> {
  value: T;
  from: string;
}

/** A run as a reader found it: the tool's own names, before the mapping to HF names. */
export interface RawRun {
  kind: SourceKind;
  /** the file or URL read, with `#…` locating the run inside it when needed */
  source: string;
  runId: string;
  /** study / experiment / sweep / output folder the run belongs to */
  group: string | null;
  state: RunState;
  params: Record<string, Sourced<ParamValue>>;
  metrics: Record<string, Sourced<number | null>>;
  history: HistoryPoint[];
  /** everything else the tool stored (user/system attrs, tags, model config), as JSON */
  attrs: Record<string, unknown>;
  notes: string[];
}

/** A run with HF names: the unit `import` writes as one row. */
export interface ImportedRun {
  kind: SourceKind;
  source: string;
  runId: string;
  group: string | null;
  state: RunState;
  /** hyperparameters by HF name (learning_rate, per_device_train_batch_size, num_train_epochs, …), seed/data_seed excluded */
  params: Record<string, ParamValue>;
  seed: number | null;
  dataSeed: number | null;
  /** final metrics by the study-export name (accuracy, f1, loss, …) */
  metrics: Record<string, number | null>;
  /** field (param, seed, data_seed, metric) → where it was read, e.g. `trial_params`, `all_results.json` */
  provenance: Record<string, string>;
  history: HistoryPoint[];
  attrs: Record<string, unknown>;
  notes: string[];
}

/** A problem with one run or one line of a source; the import goes on without it. */
export interface ImportWarning {
  file: string;
  line?: number;
  message: string;
}

/** One renaming applied: a tool's name → the HF / study-export name. */
export interface NameMapping {
  from: string;
  to: string;
  role: 'param' | 'metric';
  origin: 'default' | '--map';
}

export interface ImportResult {
  runs: ImportedRun[];
  warnings: ImportWarning[];
  mappings: NameMapping[];
  notes: string[];
  /** per source: what was read and how many runs it gave */
  sources: { kind: SourceKind; location: string; runs: number }[];
}

/** A study inside an Optuna storage, as listed when --study is omitted. */
export interface OptunaStudyInfo {
  name: string;
  directions: string[];
  metricNames: string[] | null;
  trials: Record<string, number>;
}
