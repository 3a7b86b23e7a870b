/**
 * The HF Trainer's inner training loop over pre-tokenized data and any model with the engine's
 * training interface (src/model's DistilBertForSequenceClassification satisfies `TrainableClassifier`).
 * Per epoch: sampler order → batches → chunks of gradient_accumulation_steps batches (the epoch's last chunk
 * may be shorter and is still an optimizer step); each micro-batch loss is scaled by 1 / (batches in its
 * chunk), as Trainer.training_step does for models without loss kwargs; then clip, AdamW step with the
 * scheduler's lr for this step, zero grads. Evaluation after each epoch (eval_strategy 'epoch') and at the end.
 * A step whose loss or gradient norm is not finite ends training there (`non_finite_step`): the optimizer has
 * already written NaN into the weights, every later step would only repeat NaN, so the run goes straight to its
 * final evaluation, which comes out flagged `non_finite` (see metrics.ts).
 */
import { createProgress, Rng } from '../util/index.js';
import type { TrainingArguments } from './arguments.js';
import type { Batch } from '../model/index.js';
import { chunk, collate, epochOrder, realTokens, type TokenizedSplit } from './dataloader.js';
import { computeMetrics, predictionsFromLogits, type EvalMetrics, type EvalPredictions } from './metrics.js';
import { learningRateAt, planSteps, type StepPlan } from './schedule.js';

export interface OptimizerConfig {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  noDecay?: (paramName: string) => boolean;
}

export interface TrainableClassifier {
  forward(batch: Batch): Promise<{ logits: Float32Array; loss?: number }>;
  accumulateGradients(batch: Batch, opts: { lossScale: number; dropoutSeed: number }): Promise<{ loss: number }>;
  optimizerStep(opts: { lr: number; maxGradNorm?: number; optimizer: OptimizerConfig }): Promise<{ gradNorm: number }>;
}

/**
 * HF's parameter groups: Trainer.get_decay_parameter_names excludes every bias and every LayerNorm
 * parameter (ALL_LAYERNORM_LAYERS) from weight decay.
 */
export function hfNoDecay(paramName: string): boolean {
  return paramName.endsWith('.bias') || /(^|\.)(LayerNorm|layer_norm|[a-z_]*_layer_norm|layernorm)\./i.test(paramName);
}

export interface EpochRecord {
  /** Epoch number, 1-based, as HF logs it (float epochs end at a fraction). */
  epoch: number;
  /** global_step at the end of the epoch. */
  step: number;
  /** Mean training loss over this epoch's optimizer steps. */
  train_loss: number;
  /** The learning rate of the epoch's last optimizer step. */
  learning_rate: number;
  /** Pre-clip global gradient norm of the epoch's last step. */
  grad_norm: number;
  eval: EvalMetrics | null;
  /** Training seconds of this epoch (evaluation excluded). */
  seconds: number;
}

export interface LogEntry {
  step: number;
  epoch: number;
  loss: number;
  learning_rate: number;
  grad_norm: number;
}

export interface TrainLoopResult {
  final: EvalMetrics;
  /** the final evaluation, example by example */
  predictions: EvalPredictions;
  epochs: EpochRecord[];
  /** Per optimizer step: loss (mean of its micro-batch losses), lr, pre-clip grad norm. */
  log_history: LogEntry[];
  plan: StepPlan;
  steps: number;
  /** Mean training loss over all optimizer steps (HF train_loss). */
  train_loss: number;
  /** Seconds spent in forward/backward/optimizer (evaluation excluded). */
  train_seconds: number;
  examples_per_second: number;
  /** Real (non-padding) tokens per training second. */
  tokens_per_second: number;
  /** Tokens including padding per training second (what the engine computed on). */
  padded_tokens_per_second: number;
  /** The optimizer step (1-based) whose loss or gradient norm was NaN/Inf; training stopped after it. null: never. */
  non_finite_step: number | null;
}

export interface ProgressInfo {
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
}

export interface TrainLoopOptions {
  model: TrainableClassifier;
  train: TokenizedSplit;
  eval: TokenizedSplit;
  numLabels: number;
  padTokenId: number;
  args: TrainingArguments;
  onProgress?: (p: ProgressInfo) => void;
  /** Called after each epoch (after its evaluation), e.g. to save a checkpoint. */
  onEpochEnd?: (record: EpochRecord, globalStep: number) => Promise<void> | void;
  signal?: AbortSignal;
  /** Progress-bar label; silent when TUNESCOPE_QUIET=1. */
  progressLabel?: string;
  quiet?: boolean;
}

/** Runs the model over `split` in order (eval mode) and computes all metrics. */
export async function evaluateSplit(
  model: Pick<TrainableClassifier, 'forward'>,
  split: TokenizedSplit,
  opts: { numLabels: number; padTokenId: number; batchSize: number; padToLength?: number; signal?: AbortSignal },
): Promise<EvalMetrics> {
  return (await evaluateSplitWithPredictions(model, split, opts)).metrics;
}

/** evaluateSplit plus the per-example predictions (label, argmax, softmax probabilities) a study stores. */
export async function evaluateSplitWithPredictions(
  model: Pick<TrainableClassifier, 'forward'>,
  split: TokenizedSplit,
  opts: { numLabels: number; padTokenId: number; batchSize: number; padToLength?: number; signal?: AbortSignal },
): Promise<{ metrics: EvalMetrics; predictions: EvalPredictions }> {
  const n = split.ids.length;
  const logits = new Float32Array(n * opts.numLabels);
  const all = Array.from({ length: n }, (_, i) => i);
  let offset = 0;
  for (const idx of chunk(all, opts.batchSize)) {
    opts.signal?.throwIfAborted();
    const batch = collate(split, idx, { padTokenId: opts.padTokenId, padToLength: opts.padToLength });
    const out = await model.forward(batch);
    if (out.logits.length !== idx.length * opts.numLabels) {
      throw new Error(`model returned ${out.logits.length} logits for a batch of ${idx.length} x ${opts.numLabels} labels`);
    }
    logits.set(out.logits, offset);
    offset += out.logits.length;
  }
  return { metrics: computeMetrics(logits, split.labels, opts.numLabels), predictions: predictionsFromLogits(logits, split.labels, opts.numLabels) };
}

export function optimizerConfig(args: TrainingArguments): OptimizerConfig {
  return { betas: [args.adam_beta1, args.adam_beta2], eps: args.adam_epsilon, weightDecay: args.weight_decay, noDecay: hfNoDecay };
}

export async function trainLoop(opts: TrainLoopOptions): Promise<TrainLoopResult> {
  const { model, args, train } = opts;
  const n = train.ids.length;
  const plan = planSteps({
    numExamples: n,
    perDeviceTrainBatchSize: args.per_device_train_batch_size,
    gradientAccumulationSteps: args.gradient_accumulation_steps,
    numTrainEpochs: args.num_train_epochs,
    maxSteps: args.max_steps,
    warmupRatio: args.warmup_ratio,
    warmupSteps: args.warmup_steps,
  });
  const lengths = train.ids.map((a) => a.length);
  const padToLength = args.pad_to_max_length ? args.max_seq_length : undefined;
  const optimizer = optimizerConfig(args);
  // one stream of dropout seeds per run, drawn once per micro-batch: same seed → same masks
  const dropoutRng = new Rng(args.seed).fork(0x0d0);
  const evalOpts = { numLabels: opts.numLabels, padTokenId: opts.padTokenId, batchSize: args.per_device_eval_batch_size, padToLength, signal: opts.signal };
  const progress = createProgress({
    total: plan.max_steps,
    label: opts.progressLabel ?? 'train',
    quiet: opts.quiet,
    format: '{bar} {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | ETA {eta_formatted}',
    payload: { epoch: '1', loss: '-', lr: '-' },
  });

  const epochs: EpochRecord[] = [];
  const logHistory: LogEntry[] = [];
  let globalStep = 0;
  let trainSeconds = 0;
  let examplesSeen = 0;
  let tokensSeen = 0;
  let paddedTokensSeen = 0;
  let lossTotal = 0;
  let lastEval: EvalMetrics | null = null;
  let lastPredictions: EvalPredictions | null = null;
  let evaluatedAtStep = -1;
  let nonFiniteStep: number | null = null;
  try {
    for (let epoch = 0; epoch < plan.num_train_epochs && globalStep < plan.max_steps && nonFiniteStep === null; epoch++) {
      const order = epochOrder(lengths, {
        dataSeed: args.data_seed ?? args.seed,
        epoch,
        groupByLength: args.group_by_length,
        batchSize: args.per_device_train_batch_size,
      });
      const batches = chunk(order, args.per_device_train_batch_size);
      const stepsInEpoch = batches.length;
      const updates = chunk(batches, args.gradient_accumulation_steps);
      let epochLoss = 0;
      let epochSteps = 0;
      let lr = 0;
      let gradNorm = NaN;
      let batchesDone = 0;
      const t0 = performance.now();
      for (const group of updates) {
        if (globalStep >= plan.max_steps) break;
        opts.signal?.throwIfAborted();
        const lossScale = 1 / group.length;
        let stepLoss = 0;
        for (const idx of group) {
          const batch = collate(train, idx, { padTokenId: opts.padTokenId, padToLength });
          const { loss } = await model.accumulateGradients(batch, { lossScale, dropoutSeed: dropoutRng.uint32() });
          stepLoss += loss * lossScale;
          examplesSeen += batch.batchSize;
          tokensSeen += realTokens(batch);
          paddedTokensSeen += batch.batchSize * batch.seqLength;
          batchesDone++;
        }
        lr = learningRateAt(args.lr_scheduler_type, args.learning_rate, globalStep, plan.num_warmup_steps, plan.max_steps);
        const res = await model.optimizerStep({ lr, maxGradNorm: args.max_grad_norm > 0 ? args.max_grad_norm : undefined, optimizer });
        gradNorm = res.gradNorm;
        globalStep++;
        epochLoss += stepLoss;
        epochSteps++;
        lossTotal += stepLoss;
        const epochFloat = epoch + batchesDone / stepsInEpoch;
        logHistory.push({ step: globalStep, epoch: epochFloat, loss: stepLoss, learning_rate: lr, grad_norm: gradNorm });
        progress.update(globalStep, { epoch: epochFloat.toFixed(2), loss: stepLoss.toFixed(4), lr: lr.toExponential(2) });
        opts.onProgress?.({ epoch: epochFloat, step: globalStep, totalSteps: plan.max_steps, loss: stepLoss, lr });
        if (!Number.isFinite(stepLoss) || !Number.isFinite(gradNorm)) {
          nonFiniteStep = globalStep;
          break;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      let ev: EvalMetrics | null = null;
      const last = epoch + 1 >= plan.num_train_epochs || globalStep >= plan.max_steps || nonFiniteStep !== null;
      if (args.eval_strategy === 'epoch' || last) {
        const r = await evaluateSplitWithPredictions(model, opts.eval, evalOpts);
        ev = r.metrics;
        lastEval = ev;
        lastPredictions = r.predictions;
        evaluatedAtStep = globalStep;
      }
      const record: EpochRecord = {
        epoch: epoch + batchesDone / stepsInEpoch,
        step: globalStep,
        train_loss: epochSteps > 0 ? epochLoss / epochSteps : NaN,
        learning_rate: lr,
        grad_norm: gradNorm,
        eval: ev,
        seconds,
      };
      epochs.push(record);
      await opts.onEpochEnd?.(record, globalStep);
    }
  } finally {
    progress.stop();
  }
  const reuse = lastEval !== null && lastPredictions !== null && evaluatedAtStep === globalStep;
  const fin = reuse ? { metrics: lastEval!, predictions: lastPredictions! } : await evaluateSplitWithPredictions(model, opts.eval, evalOpts);
  return {
    final: fin.metrics,
    predictions: fin.predictions,
    epochs,
    log_history: logHistory,
    plan,
    steps: globalStep,
    train_loss: globalStep > 0 ? lossTotal / globalStep : NaN,
    train_seconds: trainSeconds,
    examples_per_second: trainSeconds > 0 ? examplesSeen / trainSeconds : NaN,
    tokens_per_second: trainSeconds > 0 ? tokensSeen / trainSeconds : NaN,
    padded_tokens_per_second: trainSeconds > 0 ? paddedTokensSeen / trainSeconds : NaN,
    non_finite_step: nonFiniteStep,
  };
}
