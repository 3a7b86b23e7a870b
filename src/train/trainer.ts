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
  readOptimizerState,
  savePretrained,
  writeOptimizerState,
  type AdamWParamGroup,
  type AdamWState,
  type PretrainedModel,
} from '../model/index.js';
import { loadTokenizer, tokenizerFingerprint, type Tokenizer } from '../tokenizer/index.js';
import type { Precision } from '../engine/index.js';
import { bf16Support } from '../native/index.js';
import { ensureDir, stringifyJson, trace, UserError, writeFileAtomic } from '../util/index.js';
import { resolveTrainingArguments, type TrainingArguments } from './arguments.js';
import type { TokenizedSplit } from './dataloader.js';
import { evaluateSplitWithPredictions, hfNoDecay, planFor, trainLoop, type EpochRecord, type LogEntry, type LoopState, type ProgressInfo } from './loop.js';
import type { EvalMetrics, EvalPredictions } from './metrics.js';
import type { StepPlan } from './schedule.js';
import { readTrainingFiles, resolveResume, rotateCheckpoints, trainFingerprint, writeCheckpointDir, writeTrainingFiles } from './checkpoint.js';
import { hfTrainerState, sortedJson } from './state.js';

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
  /** HF total_flos: 6 × input tokens (padding included) × non-embedding parameters. */
  total_flos: number;
  /** Where the final model was saved (save_strategy != 'no'). */
  saved_to?: string;
  /** The optimizer step whose loss or gradient norm was NaN/Inf (training stopped there); null: none. */
  non_finite_step: number | null;
  /** The checkpoint the run continued from. */
  resumed_from?: string;
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

/**
 * Checkpoints outside output_dir's save_strategy (a study trial's folder): every `steps` optimizer steps, every
 * `minutes`, and/or at each epoch end; only the newest `keep` are kept. `onSaved` hears of each one.
 */
export interface CheckpointPolicy {
  dir: string;
  steps?: number;
  minutes?: number;
  epoch?: boolean;
  keep?: number;
  /** Also checkpoint when the run is aborted (signal) between steps, so a stopped run loses nothing. */
  onStop?: boolean;
  onSaved?: (path: string, globalStep: number) => void | Promise<void>;
}

export interface FineTuneOptions extends CommonOptions {
  args: Partial<TrainingArguments>;
  onProgress?: (p: ProgressInfo) => void;
  signal?: AbortSignal;
  /** Checkpointing besides save_strategy (which writes into output_dir). */
  checkpointing?: CheckpointPolicy;
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

/** The checkpoint policy save_strategy 'epoch' / 'steps' asks for (HF: also a final checkpoint at the last step). */
function policyFromArgs(args: TrainingArguments): CheckpointPolicy | null {
  if (!args.output_dir || (args.save_strategy !== 'epoch' && args.save_strategy !== 'steps')) return null;
  return {
    dir: args.output_dir,
    ...(args.save_strategy === 'steps' ? { steps: args.save_steps } : { epoch: true }),
    ...(args.save_total_limit !== null ? { keep: args.save_total_limit } : {}),
  };
}

/** HF num_parameters(exclude_embeddings=True): every parameter but the nn.Embedding tables. */
function nonEmbeddingParameters(params: Map<string, { data: Float32Array }>): number {
  let n = 0;
  for (const [k, t] of params) if (!/embeddings\.(word|position)_embeddings\.weight$/.test(k)) n += t.data.length;
  return n;
}

/** The checkpoint's weights in place of the loaded ones (same names and shapes, or a clear error). */
async function checkpointWeights(dir: string, p: PretrainedModel): Promise<PretrainedModel> {
  const ck = await loadPretrained(dir, { numLabels: p.config.num_labels });
  for (const [k, t] of p.parameters) {
    const c = ck.parameters.get(k);
    if (!c || c.shape.join(',') !== t.shape.join(',')) throw new UserError(`resume_from_checkpoint ${dir}: its model does not match ${p.source} (parameter ${k})`);
  }
  if (ck.notes.some((n) => /initialised/.test(n))) throw new UserError(`resume_from_checkpoint ${dir}: its model.safetensors lacks trained weights (${ck.notes.join('; ')})`);
  return { ...p, parameters: ck.parameters };
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
  const loopArgs = { ...args, max_seq_length: p.maxLength };
  const plan = planFor(loopArgs, train.ids.length);
  const fingerprint = trainFingerprint(train);
  const policy = opts.checkpointing ?? policyFromArgs(args);
  let resume: { dir: string; state: LoopState; optimizer: AdamWState } | null = null;
  if (args.resume_from_checkpoint) {
    const dir = resolveResume(args.resume_from_checkpoint, args.output_dir ?? policy?.dir);
    const state = readTrainingFiles(dir, { args, plan, fingerprint });
    p.pretrained = await checkpointWeights(dir, p.pretrained);
    resume = { dir, state, optimizer: readOptimizerState(join(dir, 'optimizer.safetensors')).state };
    p.notes.push(`resumed from ${dir} at step ${state.global_step} of ${plan.max_steps}`);
  }
  const { config } = p.pretrained;
  const model = await createModel(p.pretrained, args, p.notes);
  const flosPerToken = 6 * nonEmbeddingParameters(p.pretrained.parameters);
  const save = (dir: string): void =>
    savePretrained(dir, { config, parameters: model.parameters(), tokenizerDir: p.pretrained.tokenizerDir });
  const paramGroups = (): AdamWParamGroup[] => {
    const names = [...model.optimizerState().expAvg.keys()];
    const group = (decay: boolean): AdamWParamGroup => ({
      lr: args.learning_rate, betas: [args.adam_beta1, args.adam_beta2], eps: args.adam_epsilon,
      weight_decay: decay ? args.weight_decay : 0, params: names.filter((n) => hfNoDecay(n) !== decay),
    });
    return [group(true), group(false)];
  };
  let lastSave = Date.now();
  // save_strategy epoch/steps also checkpoints the last step, as HF's DefaultFlowCallback does
  const atEnd = opts.checkpointing === undefined;
  const checkpoint = policy
    ? {
        due: (step: number, epochEnd: boolean): boolean =>
          (policy.steps !== undefined && step % policy.steps === 0) ||
          (policy.epoch === true && epochEnd) ||
          (atEnd && epochEnd && step >= plan.max_steps) ||
          (policy.minutes !== undefined && Date.now() - lastSave >= policy.minutes * 60_000),
        onStop: policy.onStop === true,
        save: async (state: LoopState): Promise<void> => {
          const path = writeCheckpointDir(policy.dir, state.global_step, (tmp) => {
            save(tmp);
            const optimizer = model.optimizerState();
            writeOptimizerState(join(tmp, 'optimizer.safetensors'), optimizer, paramGroups());
            const trainerState = hfTrainerState({
              log_history: state.log_history, epochs: state.epochs, plan, args, globalStep: state.global_step,
              total_flos: flosPerToken * state.padded_tokens_seen, numEvalExamples: ev.ids.length, trainingStopped: state.global_step >= plan.max_steps,
            });
            writeTrainingFiles(tmp, { state, args, plan, trainerState, fingerprint });
          });
          rotateCheckpoints(policy.dir, policy.keep ?? null);
          lastSave = Date.now();
          await policy.onSaved?.(path, state.global_step);
        },
      }
    : undefined;
  try {
    if (resume) model.loadOptimizerState(resume.optimizer);
    trace('train-start');
    const res = await trainLoop({
      model,
      train,
      eval: ev,
      numLabels: p.numLabels,
      padTokenId: p.tokenizer.padTokenId,
      args: loopArgs,
      onProgress: opts.onProgress,
      signal: opts.signal,
      quiet: opts.quiet,
      ...(checkpoint ? { checkpoint } : {}),
      ...(resume ? { resume: resume.state } : {}),
    });
    trace('train-end');
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
      total_flos: flosPerToken * res.padded_tokens,
      ...(resume ? { resumed_from: resume.dir } : {}),
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

/**
 * metrics.json (final eval metrics + train speed, HF all_results style), trainer_state.json (exactly HF's
 * TrainerState), training_args.json, and tunescope_run.json (per-epoch records and the step plan, which HF's
 * TrainerState has no field for).
 */
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
  const state = hfTrainerState({
    log_history: r.log_history,
    epochs: r.epochs,
    plan: r.plan,
    args: r.args,
    globalStep: r.steps,
    total_flos: r.total_flos,
    numEvalExamples: r.num_eval_examples,
    trainingStopped: true,
    summary: {
      train_runtime: Math.round(r.train_seconds * 1e4) / 1e4,
      train_samples_per_second: Math.round(r.examples_per_second * 1e3) / 1e3,
      train_steps_per_second: r.train_seconds > 0 ? Math.round((r.steps / r.train_seconds) * 1e3) / 1e3 : 0,
      total_flos: r.total_flos,
      train_loss: r.train_loss,
    },
  });
  writeFileAtomic(join(dir, 'trainer_state.json'), sortedJson(state), 'output_dir file');
  writeJsonAtomic(join(dir, 'tunescope_run.json'), { format: 'tunescope-run', version: 1, epochs: r.epochs, plan: r.plan, resumed_from: r.resumed_from ?? null });
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
