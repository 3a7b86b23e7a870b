/**
 * TrainingArguments with Hugging Face's names and defaults (transformers.TrainingArguments, plus run_glue's
 * max_seq_length / pad_to_max_length), validated with one clear UserError per bad key.
 * The ARGUMENT_SPECS table also drives the CLI flags, so names, defaults and help live in one place.
 */
import { availableParallelism } from 'node:os';
import { UserError, parseDecimal } from '../util/index.js';
import { LR_SCHEDULER_TYPES, type LrSchedulerType } from './schedule.js';

export type SaveStrategy = 'no' | 'epoch' | 'steps' | 'end';
export type EvalStrategy = 'no' | 'epoch';

export interface TrainingArguments {
  learning_rate: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  num_train_epochs: number;
  /** > 0 overrides num_train_epochs (HF semantics); -1 = unset. */
  max_steps: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  max_grad_norm: number;
  lr_scheduler_type: LrSchedulerType;
  warmup_ratio: number;
  warmup_steps: number;
  gradient_accumulation_steps: number;
  seed: number;
  /** Seed for the data sampler; defaults to seed (HF data_seed). */
  data_seed: number | null;
  max_seq_length: number;
  /** Pad every batch to max_seq_length instead of its longest sequence (run_glue's flag; default false = dynamic padding). */
  pad_to_max_length: boolean;
  group_by_length: boolean;
  eval_strategy: EvalStrategy;
  output_dir?: string;
  /**
   * 'epoch' / 'steps': a full checkpoint-<global_step>/ (model, optimizer, scheduler, RNG, trainer state) at each
   * epoch end / every save_steps steps and at the end (HF); 'end': only the final model; 'no': nothing.
   * Default: 'end' when output_dir is set, else 'no'.
   */
  save_strategy?: SaveStrategy;
  /** save_strategy 'steps': checkpoint every this many optimizer steps (HF default 500). */
  save_steps: number;
  /** Keep at most this many checkpoint-N/ folders, deleting the oldest (HF rotation); null keeps all. */
  save_total_limit: number | null;
  /** A checkpoint-N/ folder to continue from, or 'latest' (the newest complete one in output_dir). */
  resume_from_checkpoint?: string;
  /** ONNX Runtime intra-op threads; default: the runtime's choice. */
  intra_op_num_threads?: number;
  /** ONNX Runtime execution provider (cpu, cuda, webgpu, …); default TUNESCOPE_DEVICE, else cpu. */
  device?: string;
  /**
   * HF's bf16: mixed precision (bf16 matrix products with fp32 accumulation, fp32 master weights) on the CPU's
   * AMX units; 'auto' uses it where available and says so otherwise.
   */
  bf16: boolean | 'auto';
}

type Kind = 'float' | 'int' | 'bool' | 'boolOrAuto' | 'string' | 'enum';

export interface ArgumentSpec {
  name: keyof TrainingArguments;
  kind: Kind;
  default?: number | boolean | string | null;
  choices?: readonly string[];
  help: string;
  check?: (v: number) => string | null;
}

const positive = (v: number): string | null => (v > 0 ? null : 'must be > 0');
const nonNegative = (v: number): string | null => (v >= 0 ? null : 'must be >= 0');
const positiveInt = (v: number): string | null => (Number.isInteger(v) && v >= 1 ? null : 'must be an integer >= 1');
/** Engine threads beyond a few per core only slow a run down; a million of them never start (the process hangs). */
export const MAX_THREADS_PER_CORE = 4;
export const maxThreads = (): number => MAX_THREADS_PER_CORE * availableParallelism();
const threadCount = (v: number): string | null =>
  !(Number.isInteger(v) && v >= 1) ? 'must be an integer >= 1' : v > maxThreads() ? `must be at most ${maxThreads()} (${MAX_THREADS_PER_CORE} × the ${availableParallelism()} cores)` : null;
const unitOpen = (v: number): string | null => (v >= 0 && v < 1 ? null : 'must be in [0, 1)');

export const ARGUMENT_SPECS: readonly ArgumentSpec[] = [
  { name: 'learning_rate', kind: 'float', default: 5e-5, help: 'initial AdamW learning rate', check: positive },
  { name: 'per_device_train_batch_size', kind: 'int', default: 8, help: 'training batch size', check: positiveInt },
  { name: 'per_device_eval_batch_size', kind: 'int', default: 8, help: 'evaluation batch size', check: positiveInt },
  { name: 'num_train_epochs', kind: 'float', default: 3, help: 'number of training epochs (may be fractional)', check: positive },
  { name: 'max_steps', kind: 'int', default: -1, help: 'if > 0: total optimizer steps, overrides num_train_epochs', check: (v) => (Number.isInteger(v) && (v > 0 || v === -1) ? null : 'must be -1 or an integer > 0') },
  { name: 'weight_decay', kind: 'float', default: 0, help: 'AdamW decoupled weight decay (not applied to biases and LayerNorm weights)', check: nonNegative },
  { name: 'adam_beta1', kind: 'float', default: 0.9, help: 'AdamW beta1', check: unitOpen },
  { name: 'adam_beta2', kind: 'float', default: 0.999, help: 'AdamW beta2', check: unitOpen },
  { name: 'adam_epsilon', kind: 'float', default: 1e-8, help: 'AdamW epsilon', check: positive },
  { name: 'max_grad_norm', kind: 'float', default: 1.0, help: 'gradient clipping by global L2 norm (0 disables)', check: nonNegative },
  { name: 'lr_scheduler_type', kind: 'enum', default: 'linear', choices: LR_SCHEDULER_TYPES, help: 'learning-rate schedule' },
  { name: 'warmup_ratio', kind: 'float', default: 0, help: 'fraction of max_steps used for linear warmup', check: (v) => (v >= 0 && v <= 1 ? null : 'must be in [0, 1]') },
  { name: 'warmup_steps', kind: 'int', default: 0, help: 'warmup steps (overrides warmup_ratio when > 0)', check: (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be an integer >= 0') },
  { name: 'gradient_accumulation_steps', kind: 'int', default: 1, help: 'micro-batches per optimizer step', check: positiveInt },
  { name: 'seed', kind: 'int', default: 42, help: 'seed for initialisation, shuffling and dropout', check: (v) => (Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? null : 'must be an integer in [0, 2^32-1]') },
  { name: 'data_seed', kind: 'int', default: null, help: 'seed for the data sampler (default: seed)', check: (v) => (Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? null : 'must be an integer in [0, 2^32-1]') },
  { name: 'max_seq_length', kind: 'int', default: 128, help: 'truncate tokenized inputs to this many tokens', check: (v) => (Number.isInteger(v) && v >= 2 ? null : 'must be an integer >= 2') },
  { name: 'pad_to_max_length', kind: 'bool', default: false, help: 'pad every batch to max_seq_length (default: pad to the longest in the batch)' },
  { name: 'group_by_length', kind: 'bool', default: false, help: 'sample batches of similar length (HF LengthGroupedSampler)' },
  { name: 'eval_strategy', kind: 'enum', default: 'epoch', choices: ['no', 'epoch'], help: 'evaluate after each epoch, or only at the end' },
  { name: 'output_dir', kind: 'string', help: 'where the model, metrics.json and trainer_state.json go' },
  { name: 'save_strategy', kind: 'enum', choices: ['no', 'epoch', 'steps', 'end'], help: "checkpoint-N/ per epoch or every save_steps (resumable), only the final model ('end'), or nothing (default: 'end' with output_dir)" },
  { name: 'save_steps', kind: 'int', default: 500, help: "save_strategy steps: checkpoint every N optimizer steps", check: positiveInt },
  { name: 'save_total_limit', kind: 'int', default: null, help: 'keep only the newest N checkpoint-N/ folders (default: all)', check: positiveInt },
  { name: 'resume_from_checkpoint', kind: 'string', help: "continue from a checkpoint-N/ folder, or 'latest' in output_dir (bit-identical to an uninterrupted run)" },
  { name: 'intra_op_num_threads', kind: 'int', help: `ONNX Runtime intra-op threads (at most ${MAX_THREADS_PER_CORE} per core)`, check: threadCount },
  { name: 'device', kind: 'string', help: 'ONNX Runtime execution provider: cpu (default), cuda, webgpu, … where installed' },
  { name: 'bf16', kind: 'boolOrAuto', default: false, help: "bf16 mixed precision on the CPU's AMX units (fp32 master weights); 'auto': only where available" },
];

const SPEC_BY_NAME = new Map(ARGUMENT_SPECS.map((s) => [s.name as string, s]));

function coerce(spec: ArgumentSpec, value: unknown): unknown {
  const bad = (why: string): never => {
    throw new UserError(`training argument ${spec.name}: ${why}, got ${JSON.stringify(value)}`);
  };
  switch (spec.kind) {
    case 'float':
    case 'int': {
      // a string (a CLI flag) must be decimal or exponent notation: `0x10` is not 16
      const v = typeof value === 'string' ? parseDecimal(value) : value;
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad('must be a finite number');
      if (spec.kind === 'int' && !Number.isInteger(v)) return bad('must be an integer');
      const problem = spec.check?.(v);
      if (problem) return bad(problem);
      return v;
    }
    case 'boolOrAuto':
    case 'bool':
      if (spec.kind === 'boolOrAuto' && value === 'auto') return value;
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return bad(spec.kind === 'boolOrAuto' ? 'must be true, false or auto' : 'must be true or false');
    case 'string':
      if (typeof value !== 'string' || value === '') return bad('must be a non-empty string');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.choices!.includes(value)) return bad(`must be one of ${spec.choices!.join(', ')}`);
      return value;
  }
}

/** Fills HF defaults and validates every key; unknown keys are an error naming them. */
export function resolveTrainingArguments(partial: Partial<TrainingArguments> | Record<string, unknown> = {}): TrainingArguments {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    const spec = SPEC_BY_NAME.get(k);
    if (!spec) {
      const close = [...SPEC_BY_NAME.keys()].find((n) => n.replace(/_/g, '') === k.replace(/[-_]/g, '').toLowerCase());
      throw new UserError(`unknown training argument '${k}'${close ? ` (did you mean '${close}'?)` : ''}`);
    }
    out[k] = v === null && spec.default === null ? null : coerce(spec, v);
  }
  for (const spec of ARGUMENT_SPECS) if (!(spec.name in out) && spec.default !== undefined) out[spec.name] = spec.default;
  const args = out as unknown as TrainingArguments;
  if (args.save_strategy === undefined) args.save_strategy = args.output_dir ? 'end' : 'no';
  if (args.save_strategy !== 'no' && !args.output_dir) {
    throw new UserError(`training argument save_strategy '${args.save_strategy}' needs output_dir`);
  }
  if (args.resume_from_checkpoint === 'latest' && !args.output_dir) {
    throw new UserError("training argument resume_from_checkpoint 'latest' needs output_dir (where the checkpoint-N/ folders are)");
  }
  return args;
}
