/**
 * Tool names → HF names. Hyperparameters take the Trainer's TrainingArguments names (learning_rate,
 * per_device_train_batch_size, num_train_epochs, …); metrics take `study export`'s names (accuracy, f1, loss: the
 * Trainer's eval_ prefix dropped, as in `cards`' baseline matching). `--map a=b` overrides or extends both.
 */
import { UserError } from '../util/index.js';
import type { NameMapping } from './types.js';

const PARAM_ALIASES: Record<string, string[]> = {
  learning_rate: ['lr', 'learning_rate', 'learningrate', 'learning-rate', 'base_lr', 'init_lr'],
  per_device_train_batch_size: ['batch_size', 'bs', 'train_batch_size', 'per_device_train_batch_size', 'batch', 'train_bs', 'per_gpu_train_batch_size'],
  per_device_eval_batch_size: ['eval_batch_size', 'per_device_eval_batch_size', 'eval_bs'],
  num_train_epochs: ['epochs', 'num_epochs', 'n_epochs', 'num_train_epochs', 'max_epochs', 'epoch_num'],
  weight_decay: ['weight_decay', 'wd'],
  warmup_ratio: ['warmup_ratio', 'warmup_proportion'],
  warmup_steps: ['warmup_steps', 'num_warmup_steps'],
  gradient_accumulation_steps: ['gradient_accumulation_steps', 'grad_accum', 'accumulate_grad_batches', 'grad_accumulation_steps'],
  lr_scheduler_type: ['lr_scheduler_type', 'lr_scheduler', 'scheduler', 'lr_schedule'],
  optim: ['optim', 'optimizer', 'optimizer_name'],
  max_grad_norm: ['max_grad_norm', 'grad_clip', 'gradient_clip_val', 'clip_grad_norm'],
  label_smoothing_factor: ['label_smoothing_factor', 'label_smoothing'],
  adam_beta1: ['adam_beta1', 'beta1'],
  adam_beta2: ['adam_beta2', 'beta2'],
  adam_epsilon: ['adam_epsilon', 'adam_eps', 'eps'],
  max_steps: ['max_steps', 'num_steps', 'total_steps'],
  seed: ['seed', 'random_seed', 'training_seed'],
  data_seed: ['data_seed', 'dataloader_seed', 'shuffle_seed'],
  model_name_or_path: ['model_name_or_path', 'model_name', 'model', 'base_model', 'model_id'],
};

/** Metrics whose eval_/validation prefix is dropped; the rest keep their name. */
const METRIC_ALIASES: Record<string, string[]> = {
  accuracy: ['accuracy', 'acc', 'eval_accuracy', 'eval_acc', 'val_accuracy', 'val_acc', 'validation_accuracy', 'eval/accuracy', 'val/accuracy', 'valid_accuracy'],
  f1: ['f1', 'eval_f1', 'val_f1', 'validation_f1', 'eval/f1', 'val/f1', 'f1_score', 'eval_f1_score'],
  loss: ['loss', 'eval_loss', 'val_loss', 'validation_loss', 'eval/loss', 'val/loss', 'valid_loss'],
  precision: ['precision', 'eval_precision', 'val_precision', 'eval/precision'],
  recall: ['recall', 'eval_recall', 'val_recall', 'eval/recall'],
  train_loss: ['train_loss', 'train/train_loss', 'training_loss'],
};
/** Trainer bookkeeping the eval_ prefix is kept on (eval_runtime is not a "runtime" metric of the model). */
const KEEP_PREFIX = new Set(['runtime', 'samples_per_second', 'steps_per_second', 'epoch', 'step']);

function index(table: Record<string, string[]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [to, froms] of Object.entries(table)) for (const f of froms) m.set(f, to);
  return m;
}
const PARAMS = index(PARAM_ALIASES);
const METRICS = index(METRIC_ALIASES);

const norm = (s: string): string => s.trim().toLowerCase().replace(/-/g, '_');

/** Whether a name is a known hyperparameter name (a tool's or HF's): decides a number's role where the tool does not. */
export function isParamName(name: string): boolean {
  return PARAMS.has(norm(name));
}

/** `--map lr=learning_rate,value=accuracy` → {lr: 'learning_rate', value: 'accuracy'}. */
export function parseMapOption(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v) return out;
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=]+)=([^=]+)$/.exec(part);
    if (!m || !m[1].trim() || !m[2].trim()) throw new UserError(`--map: expected FROM=TO[,FROM=TO…], got "${part}"`);
    out[m[1].trim()] = m[2].trim();
  }
  return out;
}

export class NameMapper {
  private readonly used = new Map<string, NameMapping>();
  constructor(private readonly overrides: Record<string, string> = {}) {}

  private record(from: string, to: string, role: 'param' | 'metric', origin: 'default' | '--map'): string {
    if (from !== to && !this.used.has(`${role}:${from}`)) this.used.set(`${role}:${from}`, { from, to, role, origin });
    return to;
  }

  param(name: string): string {
    if (this.overrides[name] !== undefined) return this.record(name, this.overrides[name], 'param', '--map');
    return this.record(name, PARAMS.get(norm(name)) ?? name, 'param', 'default');
  }

  metric(name: string): string {
    if (this.overrides[name] !== undefined) return this.record(name, this.overrides[name], 'metric', '--map');
    const n = norm(name);
    const known = METRICS.get(n);
    if (known) return this.record(name, known, 'metric', 'default');
    const m = /^(eval|validation|val)[_/](.+)$/.exec(n);
    if (m && !KEEP_PREFIX.has(m[2])) return this.record(name, m[2], 'metric', 'default');
    return this.record(name, name.replace(/\//g, '_'), 'metric', 'default');
  }

  /** Whether a name (a user attr, a config key) is a known metric name. */
  isMetric(name: string): boolean {
    const n = norm(name);
    return (this.overrides[name] !== undefined && METRICS.has(norm(this.overrides[name]))) || METRICS.has(n);
  }

  /** The renamings applied so far, in first-use order. */
  mappings(): NameMapping[] {
    return [...this.used.values()];
  }
}

/** "lr → learning_rate, value → accuracy (--map)": the line `import` prints. */
export function formatMappings(ms: NameMapping[]): string {
  return ms.map((m) => `${m.from} → ${m.to}${m.origin === '--map' ? ' (--map)' : ''}`).join(', ');
}

/** Trainer bookkeeping in *_results.json and log_history (and what HF's MLflow/W&B callbacks log from it) that is no model metric. */
const BOOKKEEPING = /^(epoch|step|total_flos|train\/(epoch|global_step|total_flos|grad_norm|learning_rate|loss|train_steps_per_second)|.*_samples|.*[_/]runtime|.*[_/]samples_per_second|.*[_/]steps_per_second|eval_mem_.*|train_mem_.*|init_mem_.*|num_input_tokens_seen|learning_rate|grad_norm|_runtime|_step|_timestamp|_wandb)$/;
/** The train speed keeps its study-export names. */
const SPEED: Record<string, string> = { train_runtime: 'train_seconds', 'train/train_runtime': 'train_seconds', train_samples_per_second: 'examples_per_second', 'train/train_samples_per_second': 'examples_per_second' };

/** A logged key's metric name: the train speed renamed to the study-export columns, bookkeeping (epoch, learning_rate, runtimes) null. */
export function trainerMetricName(key: string): string | null {
  if (SPEED[key]) return SPEED[key];
  return BOOKKEEPING.test(key) ? null : key;
}
