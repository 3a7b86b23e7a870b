/**
 * `trainer_state.json` exactly as transformers writes it (TrainerState.save_to_json: the dataclass fields, keys
 * sorted, indent 2), so `TrainerState.load_from_json` — `cls(**json.loads(text))`, which raises on any key the
 * dataclass lacks — accepts our files. What tunescope keeps that HF has no field for (per-epoch records, the loop's
 * running sums for a bit-identical resume) goes to `tunescope_state.json` beside it.
 *
 * Field list: transformers ≥ 4.41 (when `stateful_callbacks` appeared) up to 4.55 all accept the keys below;
 * 4.52+ also has `best_global_step` and every version since 4.37 `num_input_tokens_seen` — both optional, left
 * out so that older releases load the file too.
 */
import type { TrainingArguments } from './arguments.js';
import type { EpochRecord, LogEntry } from './loop.js';
import type { StepPlan } from './schedule.js';

/** The keys we write, all fields of transformers' TrainerState dataclass. */
export const TRAINER_STATE_KEYS = [
  'best_metric',
  'best_model_checkpoint',
  'epoch',
  'eval_steps',
  'global_step',
  'is_hyper_param_search',
  'is_local_process_zero',
  'is_world_process_zero',
  'log_history',
  'logging_steps',
  'max_steps',
  'num_train_epochs',
  'save_steps',
  'stateful_callbacks',
  'total_flos',
  'train_batch_size',
  'trial_name',
  'trial_params',
] as const;

export type HfLogEntry = Record<string, number>;

export interface HfTrainerState {
  best_metric: number | null;
  best_model_checkpoint: string | null;
  epoch: number;
  eval_steps: number;
  global_step: number;
  is_hyper_param_search: boolean;
  is_local_process_zero: boolean;
  is_world_process_zero: boolean;
  log_history: HfLogEntry[];
  logging_steps: number;
  max_steps: number;
  num_train_epochs: number;
  save_steps: number;
  stateful_callbacks: { TrainerControl: { args: Record<string, boolean>; attributes: Record<string, never> } };
  total_flos: number;
  train_batch_size: number;
  trial_name: string | null;
  trial_params: Record<string, string | number | boolean> | null;
}

/** transformers' default for eval_steps / save_steps when the argument is unset (the dataclass default). */
const HF_DEFAULT_INTERVAL = 500;

/** An epoch-end evaluation as HF logs it: eval_<metric>…, eval_runtime, eval_samples_per_second, eval_steps_per_second, epoch, step. */
export function evalLogEntry(e: EpochRecord, numEvalExamples: number, evalBatchSize: number): HfLogEntry {
  const out: HfLogEntry = {};
  for (const [k, v] of Object.entries(e.eval ?? {})) if (typeof v === 'number') out[`eval_${k}`] = v;
  const rt = e.eval_seconds ?? 0;
  out.eval_runtime = round(rt, 4);
  out.eval_samples_per_second = rt > 0 ? round(numEvalExamples / rt, 3) : 0;
  out.eval_steps_per_second = rt > 0 ? round(Math.ceil(numEvalExamples / evalBatchSize) / rt, 3) : 0;
  out.epoch = e.epoch;
  out.step = e.step;
  return out;
}

/** HF speed_metrics rounding: runtime to 4 digits, rates to 3. */
function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export interface TrainSummary {
  train_runtime: number;
  train_samples_per_second: number;
  train_steps_per_second: number;
  total_flos: number;
  train_loss: number;
}

export interface TrainerStateInput {
  log_history: LogEntry[];
  epochs: EpochRecord[];
  plan: StepPlan;
  args: TrainingArguments;
  globalStep: number;
  total_flos: number;
  numEvalExamples: number;
  /** the end-of-training summary entry (only in the final file, not in checkpoints) */
  summary?: TrainSummary;
  /** TrainerControl flags at the time of the save */
  trainingStopped: boolean;
}

/** The HF TrainerState for a run: per-step logs and epoch-end evaluations in step order, then the train summary. */
export function hfTrainerState(s: TrainerStateInput): HfTrainerState {
  const entries: HfLogEntry[] = [];
  // HF order within a step: the training log (on_step_end) comes before that step's evaluation (on_epoch_end)
  const evals = s.epochs.filter((e) => e.eval !== null);
  let k = 0;
  for (const l of s.log_history) {
    entries.push({ loss: l.loss, grad_norm: l.grad_norm, learning_rate: l.learning_rate, epoch: l.epoch, step: l.step });
    while (k < evals.length && evals[k]!.step <= l.step) entries.push(evalLogEntry(evals[k++]!, s.numEvalExamples, s.args.per_device_eval_batch_size));
  }
  while (k < evals.length) entries.push(evalLogEntry(evals[k++]!, s.numEvalExamples, s.args.per_device_eval_batch_size));
  const epoch = s.epochs.at(-1)?.epoch ?? s.log_history.at(-1)?.epoch ?? 0;
  if (s.summary) entries.push({ ...s.summary, epoch, step: s.globalStep });
  return {
    best_metric: null,
    best_model_checkpoint: null,
    epoch,
    eval_steps: HF_DEFAULT_INTERVAL,
    global_step: s.globalStep,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: entries,
    logging_steps: 1,
    max_steps: s.plan.max_steps,
    num_train_epochs: s.plan.num_train_epochs,
    save_steps: s.args.save_steps,
    stateful_callbacks: {
      TrainerControl: {
        args: { should_epoch_stop: false, should_evaluate: false, should_log: false, should_save: true, should_training_stop: s.trainingStopped },
        attributes: {},
      },
    },
    total_flos: s.total_flos,
    train_batch_size: s.args.per_device_train_batch_size,
    trial_name: null,
    trial_params: null,
  };
}

/** JSON with every object's keys sorted and indent 2, as Python's json.dumps(…, indent=2, sort_keys=True). */
export function sortedJson(value: unknown): string {
  const sortDeep = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
    }
    // HF writes NaN/Infinity as bare tokens JSON.parse rejects; null keeps the file valid JSON
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    return v;
  };
  return JSON.stringify(sortDeep(value), null, 2) + '\n';
}
