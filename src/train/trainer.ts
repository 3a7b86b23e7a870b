/**
 * `fineTune` and `evaluateModel`: load a model (Hub id or folder; a config-only folder is initialised from
 * the config with `seed`, as HF `from_config`), load and tokenize the dataset (token ids cached on disk),
 * run the HF-Trainer loop on the engine, evaluate, and save in HF format with metrics.json /
 * trainer_state.json beside the weights.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintMismatch, loadDataset, tokenizeCached, type DatasetFingerprint, type DatasetSpec, type LoadedDataset } from '../data/index.js';
import type { HubOptions } from '../hub/index.js';
import {
  DistilBertForSequenceClassification,
  loadPretrained,
  savePretrained,
  type PretrainedModel,
} from '../model/index.js';
import { loadTokenizer, tokenizerFingerprint, type Tokenizer } from '../tokenizer/index.js';
import type { Precision } from '../engine/index.js';
import { bf16Support } from '../native/index.js';
import { ensureDir, stringifyJson, UserError, writeFileAtomic } from '../util/index.js';
import { resolveTrainingArguments, type TrainingArguments } from './arguments.js';
import type { TokenizedSplit } from './dataloader.js';
import { evaluateSplitWithPredictions, trainLoop, type EpochRecord, type LogEntry, type ProgressInfo } from './loop.js';
import type { EvalMetrics, EvalPredictions } from './metrics.js';
import type { StepPlan } from './schedule.js';

export interface FineTuneResult {
  final: EvalMetrics;
  /** the final evaluation, example by example (label, argmax, float32 probabilities) */
  predictions: EvalPredictions;
  epochs: EpochRecord[];
  train_seconds: number;
  examples_per_second: number;
  /** Real (non-padding) tokens per training second. */
  tokens_per_second: number;
  padded_tokens_per_second: number;
  steps: number;
  train_loss: number;
  log_history: LogEntry[];
  plan: StepPlan;
  args: TrainingArguments;
  model_source: string;
  dataset_source: string;
  num_train_examples: number;
  num_eval_examples: number;
  num_labels: number;
  notes: string[];
  /** Where the final model was saved (save_strategy != 'no'). */
  saved_to?: string;
  /** The optimizer step whose loss or gradient norm was NaN/Inf (training stopped there); null: none. */
  non_finite_step: number | null;
}

export interface CommonOptions {
  /** Hub id, local folder, or an already loaded model. */
  model: string | PretrainedModel;
  dataset: DatasetSpec | LoadedDataset;
  hub?: HubOptions;
  /** Number of labels for a new classification head (HF num_labels); default: the model config's. */
  numLabels?: number;
  /** Token-id cache folder; null disables it; default ~/.cache/tunescope/tokens (TUNESCOPE_CACHE). */
  tokenCacheDir?: string | null;
  /** Silences the progress bar (also TUNESCOPE_QUIET=1). */
  quiet?: boolean;
  /** Refuse to run when the loaded data differ from this (a study's recorded dataset fingerprint). */
  expectedFingerprint?: DatasetFingerprint;
}

export interface FineTuneOptions extends CommonOptions {
  args: Partial<TrainingArguments>;
  onProgress?: (p: ProgressInfo) => void;
  signal?: AbortSignal;
}

function isLoaded(d: DatasetSpec | LoadedDataset): d is LoadedDataset {
  return Array.isArray((d as LoadedDataset).train) && Array.isArray((d as LoadedDataset).eval);
}

interface Prepared {
  pretrained: PretrainedModel;
  tokenizer: Tokenizer;
  dataset: LoadedDataset;
  numLabels: number;
  maxLength: number;
  notes: string[];
}

async function prepare(opts: CommonOptions, args: TrainingArguments): Promise<Prepared> {
  const pretrained =
    typeof opts.model === 'string'
      ? await loadPretrained(opts.model, { seed: args.seed, hub: opts.hub, ...(opts.numLabels !== undefined ? { numLabels: opts.numLabels } : {}) })
      : opts.model;
  const config = pretrained.config;
  const dataset = isLoaded(opts.dataset) ? opts.dataset : await loadDataset(opts.dataset, { label2id: config.label2id });
  if (dataset.train.length === 0 && dataset.eval.length === 0) throw new UserError(`dataset ${dataset.source} is empty`);
  if (opts.expectedFingerprint && dataset.fingerprint) {
    const why = fingerprintMismatch(opts.expectedFingerprint, dataset.fingerprint);
    if (why) throw new UserError(`dataset refused: ${why}`);
  }
  let maxLabel = -1;
  for (const e of dataset.train) maxLabel = Math.max(maxLabel, e.label);
  for (const e of dataset.eval) maxLabel = Math.max(maxLabel, e.label);
  if (maxLabel >= config.num_labels) {
    throw new UserError(
      `dataset ${dataset.source} has label ids up to ${maxLabel}, but model ${pretrained.source} has num_labels=${config.num_labels}; pass --num_labels ${maxLabel + 1}`,
    );
  }
  if (!pretrained.tokenizerDir) throw new UserError(`model ${pretrained.source} has no tokenizer files (tokenizer.json or vocab.txt)`);
  const tokenizer = await loadTokenizer(pretrained.tokenizerDir);
  const maxLength = Math.min(args.max_seq_length, config.max_position_embeddings);
  const notes = [...pretrained.notes, ...dataset.notes];
  if (maxLength < args.max_seq_length) notes.push(`max_seq_length ${args.max_seq_length} capped at max_position_embeddings ${maxLength}`);
  return { pretrained, tokenizer, dataset, numLabels: config.num_labels, maxLength, notes };
}

function tokenize(p: Prepared, which: 'train' | 'eval', cacheDir: string | null | undefined): TokenizedSplit {
  const examples = p.dataset[which];
  const { ids } = tokenizeCached(
    examples.map((e) => e.text),
    p.tokenizer,
    { fingerprint: tokenizerFingerprint(p.tokenizer), maxLength: p.maxLength, cacheDir },
  );
  return { ids, labels: examples.map((e) => e.label) };
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, stringifyJson(value) + '\n', 'output_dir file');
}

/**
 * What `bf16` (HF's argument) means on this machine: 'bf16' where the CPU has AMX and the addon is built; with
 * 'auto', fp32 and a note otherwise; with true, one UserError naming what is missing. TUNESCOPE_BF16_EMULATE=1
 * accepts the addon's portable kernel without AMX (the same bf16 numbers, slower than fp32: numerics studies).
 */
export function resolvePrecision(bf16: boolean | 'auto' | undefined): { precision: Precision; emulate: boolean; note: string | null } {
  if (!bf16) return { precision: 'fp32', emulate: false, note: null };
  const s = bf16Support();
  if (s.available) return { precision: 'bf16', emulate: false, note: null };
  if (process.env.TUNESCOPE_BF16_EMULATE === '1' && s.built) {
    return { precision: 'bf16', emulate: true, note: `bf16 through the portable kernel (TUNESCOPE_BF16_EMULATE=1; ${s.reason}): bf16 numbers, not bf16 speed` };
  }
  if (bf16 === 'auto') return { precision: 'fp32', emulate: false, note: `bf16 auto: ${s.reason} — running in fp32` };
  throw new UserError(`--bf16 is unavailable: ${s.reason} (--bf16 auto falls back to fp32)`);
}

/** The network on the engine, with the run's threads, execution provider and precision (its note goes to `notes`). */
function createModel(pretrained: PretrainedModel, args: TrainingArguments, notes: string[]): Promise<DistilBertForSequenceClassification> {
  const { precision, emulate, note } = resolvePrecision(args.bf16);
  if (note) notes.push(note);
  return DistilBertForSequenceClassification.create(pretrained.config, pretrained.parameters, {
    ...(args.intra_op_num_threads !== undefined ? { intraOpNumThreads: args.intra_op_num_threads } : {}),
    ...(args.device !== undefined ? { executionProvider: args.device } : {}),
    ...(precision === 'bf16' ? { precision, allowBf16Emulation: emulate } : {}),
  });
}

/** Fine-tunes `model` on `dataset` with HF Trainer semantics; see FineTuneResult. */
export async function fineTune(opts: FineTuneOptions): Promise<FineTuneResult> {
  const args = resolveTrainingArguments(opts.args);
  resolvePrecision(args.bf16); // an unavailable --bf16 fails before anything loads
  // created before training (as HF's Trainer does): a path that cannot be a folder fails at once, not after the run
  if (args.output_dir) ensureDir(args.output_dir, 'output_dir');
  const p = await prepare(opts, args);
  if (p.dataset.train.length === 0) throw new UserError(`train split of ${p.dataset.source} is empty`);
  if (p.dataset.eval.length === 0) throw new UserError(`evaluation split of ${p.dataset.source} is empty`);
  const train = tokenize(p, 'train', opts.tokenCacheDir);
  const ev = tokenize(p, 'eval', opts.tokenCacheDir);
  const { config } = p.pretrained;
  const model = await createModel(p.pretrained, args, p.notes);
  const save = (dir: string): void =>
    savePretrained(dir, { config, parameters: model.parameters(), tokenizerDir: p.pretrained.tokenizerDir });
  try {
    const res = await trainLoop({
      model,
      train,
      eval: ev,
      numLabels: p.numLabels,
      padTokenId: p.tokenizer.padTokenId,
      args: { ...args, max_seq_length: p.maxLength },
      onProgress: opts.onProgress,
      signal: opts.signal,
      quiet: opts.quiet,
      onEpochEnd: (_record, step) => {
        if (args.save_strategy === 'epoch' && args.output_dir) save(join(args.output_dir, `checkpoint-${step}`));
      },
    });
    const result: FineTuneResult = {
      final: res.final,
      predictions: res.predictions,
      epochs: res.epochs,
      train_seconds: res.train_seconds,
      examples_per_second: res.examples_per_second,
      tokens_per_second: res.tokens_per_second,
      padded_tokens_per_second: res.padded_tokens_per_second,
      steps: res.steps,
      train_loss: res.train_loss,
      log_history: res.log_history,
      plan: res.plan,
      args,
      model_source: p.pretrained.source,
      dataset_source: p.dataset.source,
      num_train_examples: p.dataset.train.length,
      num_eval_examples: p.dataset.eval.length,
      num_labels: p.numLabels,
      notes: p.notes,
      non_finite_step: res.non_finite_step,
    };
    if (res.non_finite_step !== null) {
      result.notes = [...result.notes, `training stopped at step ${res.non_finite_step} of ${res.plan.max_steps}: its loss or gradient norm is not finite (learning_rate ${args.learning_rate} too high?); the weights are NaN`];
    }
    if (args.output_dir) {
      if (args.save_strategy !== 'no') {
        // savePretrained into an existing folder replaces its own files and keeps checkpoint-N/ and run files
        save(args.output_dir);
        result.saved_to = args.output_dir;
      }
      writeRunFiles(args.output_dir, result);
    }
    return result;
  } finally {
    await model.dispose();
  }
}

/** metrics.json (final eval metrics + train speed, HF all_results style), trainer_state.json (log_history), training_args.json. */
export function writeRunFiles(dir: string, r: FineTuneResult): void {
  mkdirSync(dir, { recursive: true });
  const prefixed = Object.fromEntries(Object.entries(r.final).map(([k, v]) => [`eval_${k}`, v]));
  writeJsonAtomic(join(dir, 'metrics.json'), {
    ...prefixed,
    epoch: r.epochs.at(-1)?.epoch ?? 0,
    train_loss: r.train_loss,
    train_runtime: r.train_seconds,
    train_samples_per_second: r.examples_per_second,
    train_tokens_per_second: r.tokens_per_second,
    train_samples: r.num_train_examples,
    eval_samples: r.num_eval_examples,
  });
  const logHistory: Record<string, unknown>[] = r.log_history.map((l) => ({ ...l }));
  for (const e of r.epochs) {
    if (e.eval) logHistory.push({ step: e.step, epoch: e.epoch, ...Object.fromEntries(Object.entries(e.eval).map(([k, v]) => [`eval_${k}`, v])) });
  }
  logHistory.sort((a, b) => (a.step as number) - (b.step as number));
  writeJsonAtomic(join(dir, 'trainer_state.json'), {
    global_step: r.steps,
    max_steps: r.plan.max_steps,
    num_train_epochs: r.plan.num_train_epochs,
    epoch: r.epochs.at(-1)?.epoch ?? 0,
    train_batch_size: r.args.per_device_train_batch_size,
    log_history: logHistory,
    epochs: r.epochs,
  });
  writeJsonAtomic(join(dir, 'training_args.json'), r.args);
}

type EvaluateOptions = CommonOptions & {
  args?: Partial<TrainingArguments>;
  /** what loading did (e.g. weights initialised from the config, subsampling) */
  onNote?: (note: string) => void;
  /** checked between evaluation batches (a cooperative stop) */
  signal?: AbortSignal;
};

/** Evaluates `model` on the dataset's evaluation split without training (a study's baseline). */
export async function evaluateModel(opts: EvaluateOptions): Promise<EvalMetrics> {
  return (await evaluateModelWithPredictions(opts)).metrics;
}

/** evaluateModel plus the per-example predictions. */
export async function evaluateModelWithPredictions(opts: EvaluateOptions): Promise<{ metrics: EvalMetrics; predictions: EvalPredictions }> {
  const args = resolveTrainingArguments(opts.args ?? {});
  resolvePrecision(args.bf16);
  const p = await prepare(opts, args);
  if (p.dataset.eval.length === 0) throw new UserError(`evaluation split of ${p.dataset.source} is empty`);
  const ev = tokenize(p, 'eval', opts.tokenCacheDir);
  const model = await createModel(p.pretrained, args, p.notes);
  for (const n of p.notes) opts.onNote?.(n);
  try {
    return await evaluateSplitWithPredictions(model, ev, {
      numLabels: p.numLabels,
      padTokenId: p.tokenizer.padTokenId,
      batchSize: args.per_device_eval_batch_size,
      padToLength: args.pad_to_max_length ? p.maxLength : undefined,
      signal: opts.signal,
    });
  } finally {
    await model.dispose();
  }
}
