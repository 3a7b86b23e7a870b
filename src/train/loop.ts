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
import { createProgress, Rng, UserError } from '../util/index.js';
import type { TrainingArguments } from './arguments.js';
import type { Batch, OptimizerConfig } from '../model/index.js';
import { chunk, collate, epochOrder, realTokens, type TokenizedSplit } from './dataloader.js';
import { computeMetrics, predictionsFromLogits, type EvalMetrics, type EvalPredictions } from './metrics.js';
import { learningRateAt, planSteps, type StepPlan } from './schedule.js';

// the model's own optimizer settings type: a TrainableClassifier's optimizerStep takes what DistilBERT's does
export type { OptimizerConfig };

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
  /** Seconds the epoch-end evaluation took (HF eval_runtime); null without one. */
  eval_seconds: number | null;
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
  /** Input tokens the training steps saw, padding included (HF's estimate_tokens, for total_flos). */
  padded_tokens: number;
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
  /** Called after each epoch (after its evaluation). */
  onEpochEnd?: (record: EpochRecord, globalStep: number) => Promise<void> | void;
  /**
   * Checkpointing: after each optimizer step `due(step, false)` is asked — except for an epoch's last step, which
   * is asked `due(step, true)` after the epoch-end evaluation, so a checkpoint holds everything done at its step.
   * `save` gets the loop's state (the caller adds the model's weights and optimizer state).
   */
  checkpoint?: { due: (globalStep: number, epochEnd: boolean) => boolean; save: (state: LoopState) => Promise<void> | void; onStop?: boolean };
  /** Continue from a checkpoint's loop state (the model must hold that checkpoint's weights and optimizer state). */
  resume?: LoopState;
  signal?: AbortSignal;
  /** Progress-bar label; silent when TUNESCOPE_QUIET=1. */
  progressLabel?: string;
  quiet?: boolean;
}

/**
 * Everything the loop needs to continue bit-identically from a step boundary: where the sampler is (the epoch's
 * order is a pure function of data_seed and epoch, so the epoch and the optimizer steps done in it suffice), the
 * dropout generator's MT19937 state, and the running sums behind epoch records and the final train_loss.
 */
export interface LoopState {
  global_step: number;
  /** the epoch in progress (0-based); after an epoch's end: the next one */
  epoch_index: number;
  /** optimizer steps and micro-batches of epoch_index already done */
  updates_done_in_epoch: number;
  batches_done_in_epoch: number;
  epoch_loss: number;
  epoch_steps: number;
  epoch_seconds: number;
  last_lr: number;
  last_grad_norm: number;
  loss_total: number;
  train_seconds: number;
  examples_seen: number;
  tokens_seen: number;
  padded_tokens_seen: number;
  epochs: EpochRecord[];
  log_history: LogEntry[];
  last_eval: EvalMetrics | null;
  evaluated_at_step: number;
  /** seed of the sampler's generator (data_seed, else seed) and of the dropout stream */
  data_seed: number;
  dropout_seed: number;
  /** MT19937 state of the stream that draws one dropout seed per micro-batch, and how many it has drawn */
  dropout_rng_state: number[];
  dropout_draws: number;
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

/** The step plan of a run on `numExamples` training examples. */
export function planFor(args: TrainingArguments, numExamples: number): StepPlan {
  return planSteps({
    numExamples,
    perDeviceTrainBatchSize: args.per_device_train_batch_size,
    gradientAccumulationSteps: args.gradient_accumulation_steps,
    numTrainEpochs: args.num_train_epochs,
    maxSteps: args.max_steps,
    warmupRatio: args.warmup_ratio,
    warmupSteps: args.warmup_steps,
  });
}

export async function trainLoop(opts: TrainLoopOptions): Promise<TrainLoopResult> {
  const { model, args, train } = opts;
  const plan = planFor(args, train.ids.length);
  const lengths = train.ids.map((a) => a.length);
  const padToLength = args.pad_to_max_length ? args.max_seq_length : undefined;
  const optimizer = optimizerConfig(args);
  const dataSeed = args.data_seed ?? args.seed;
  const r = opts.resume;
  if (r && (r.data_seed !== dataSeed || r.dropout_seed !== args.seed)) {
    throw new UserError(`checkpoint: it was trained with seed ${r.dropout_seed} / data_seed ${r.data_seed}, this run has ${args.seed} / ${dataSeed}`);
  }
  // one stream of dropout seeds per run, drawn once per micro-batch: same seed → same masks
  const dropoutRng = r ? Rng.fromState(args.seed, r.dropout_rng_state) : new Rng(args.seed).fork(0x0d0);
  let dropoutDraws = r?.dropout_draws ?? 0;
  const evalOpts = { numLabels: opts.numLabels, padTokenId: opts.padTokenId, batchSize: args.per_device_eval_batch_size, padToLength, signal: opts.signal };
  const progress = createProgress({
    total: plan.max_steps,
    label: opts.progressLabel ?? 'train',
    quiet: opts.quiet,
    format: '{bar} {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | ETA {eta_formatted}',
    payload: { epoch: String(r ? r.epoch_index + 1 : 1), loss: '-', lr: '-' },
  });
  if (r) progress.update(r.global_step);

  const epochs: EpochRecord[] = r ? r.epochs.map((e) => ({ ...e })) : [];
  const logHistory: LogEntry[] = r ? r.log_history.map((l) => ({ ...l })) : [];
  let globalStep = r?.global_step ?? 0;
  let trainSeconds = r?.train_seconds ?? 0;
  let examplesSeen = r?.examples_seen ?? 0;
  let tokensSeen = r?.tokens_seen ?? 0;
  let paddedTokensSeen = r?.padded_tokens_seen ?? 0;
  let lossTotal = r?.loss_total ?? 0;
  let lastEval: EvalMetrics | null = r?.last_eval ?? null;
  let lastPredictions: EvalPredictions | null = null;
  let evaluatedAtStep = r?.evaluated_at_step ?? -1;
  let nonFiniteStep: number | null = null;
  let savedAt = globalStep;
  // the epoch in progress, for a checkpoint taken inside it
  let cur = { epoch: r?.epoch_index ?? 0, updates: r?.updates_done_in_epoch ?? 0, batches: r?.batches_done_in_epoch ?? 0, loss: r?.epoch_loss ?? 0, steps: r?.epoch_steps ?? 0, seconds: r?.epoch_seconds ?? 0, lr: r?.last_lr ?? 0, gradNorm: r?.last_grad_norm ?? NaN };
  const snapshot = (): LoopState => ({
    global_step: globalStep,
    epoch_index: cur.epoch,
    updates_done_in_epoch: cur.updates,
    batches_done_in_epoch: cur.batches,
    epoch_loss: cur.loss,
    epoch_steps: cur.steps,
    epoch_seconds: cur.seconds,
    last_lr: cur.lr,
    last_grad_norm: cur.gradNorm,
    loss_total: lossTotal,
    train_seconds: trainSeconds,
    examples_seen: examplesSeen,
    tokens_seen: tokensSeen,
    padded_tokens_seen: paddedTokensSeen,
    epochs: epochs.map((e) => ({ ...e })),
    log_history: logHistory.map((l) => ({ ...l })),
    last_eval: lastEval,
    evaluated_at_step: evaluatedAtStep,
    data_seed: dataSeed,
    dropout_seed: args.seed,
    dropout_rng_state: dropoutRng.getState(),
    dropout_draws: dropoutDraws,
  });
  try {
    for (let epoch = cur.epoch; epoch < plan.num_train_epochs && globalStep < plan.max_steps && nonFiniteStep === null; epoch++) {
      const order = epochOrder(lengths, {
        dataSeed,
        epoch,
        groupByLength: args.group_by_length,
        // HF Trainer._get_train_sampler: LengthGroupedSampler(train_batch_size * gradient_accumulation_steps)
        batchSize: args.per_device_train_batch_size * args.gradient_accumulation_steps,
      });
      const batches = chunk(order, args.per_device_train_batch_size);
      const stepsInEpoch = batches.length;
      const updates = chunk(batches, args.gradient_accumulation_steps);
      if (epoch !== cur.epoch) cur = { epoch, updates: 0, batches: 0, loss: 0, steps: 0, seconds: 0, lr: 0, gradNorm: NaN };
      let t0 = performance.now();
      const secondsBefore = cur.seconds;
      const tick = (): void => {
        cur.seconds = secondsBefore + (performance.now() - t0) / 1000;
      };
      for (let u = cur.updates; u < updates.length; u++) {
        if (globalStep >= plan.max_steps) break;
        if (opts.signal?.aborted) {
          // a stop between steps is a clean step boundary: save it (unless just saved) so the resume loses nothing
          if (opts.checkpoint?.onStop && globalStep > savedAt) {
            tick();
            await opts.checkpoint.save(snapshot());
          }
          opts.signal.throwIfAborted();
        }
        const group = updates[u]!;
        const lossScale = 1 / group.length;
        let stepLoss = 0;
        for (const idx of group) {
          const batch = collate(train, idx, { padTokenId: opts.padTokenId, padToLength });
          dropoutDraws++;
          const { loss } = await model.accumulateGradients(batch, { lossScale, dropoutSeed: dropoutRng.uint32() });
          stepLoss += loss * lossScale;
          examplesSeen += batch.batchSize;
          tokensSeen += realTokens(batch);
          paddedTokensSeen += batch.batchSize * batch.seqLength;
          cur.batches++;
        }
        cur.lr = learningRateAt(args.lr_scheduler_type, args.learning_rate, globalStep, plan.num_warmup_steps, plan.max_steps);
        const res = await model.optimizerStep({ lr: cur.lr, maxGradNorm: args.max_grad_norm > 0 ? args.max_grad_norm : undefined, optimizer });
        cur.gradNorm = res.gradNorm;
        globalStep++;
        cur.updates++;
        cur.loss += stepLoss;
        cur.steps++;
        lossTotal += stepLoss;
        const epochFloat = epoch + cur.batches / stepsInEpoch;
        logHistory.push({ step: globalStep, epoch: epochFloat, loss: stepLoss, learning_rate: cur.lr, grad_norm: cur.gradNorm });
        progress.update(globalStep, { epoch: epochFloat.toFixed(2), loss: stepLoss.toFixed(4), lr: cur.lr.toExponential(2) });
        opts.onProgress?.({ epoch: epochFloat, step: globalStep, totalSteps: plan.max_steps, loss: stepLoss, lr: cur.lr });
        if (!Number.isFinite(stepLoss) || !Number.isFinite(cur.gradNorm)) {
          // no checkpoint of NaN weights: the last good one stays the newest
          nonFiniteStep = globalStep;
          break;
        }
        const epochEnds = u + 1 >= updates.length || globalStep >= plan.max_steps;
        if (!epochEnds && opts.checkpoint?.due(globalStep, false)) {
          tick();
          await opts.checkpoint.save(snapshot());
          savedAt = globalStep;
          // the save is not training time
          t0 = performance.now() - (cur.seconds - secondsBefore) * 1000;
        }
      }
      tick();
      trainSeconds += cur.seconds;
      let ev: EvalMetrics | null = null;
      let evSeconds: number | null = null;
      const last = epoch + 1 >= plan.num_train_epochs || globalStep >= plan.max_steps || nonFiniteStep !== null;
      if (args.eval_strategy === 'epoch' || last) {
        const e0 = performance.now();
        const out = await evaluateSplitWithPredictions(model, opts.eval, evalOpts);
        evSeconds = (performance.now() - e0) / 1000;
        ev = out.metrics;
        lastEval = ev;
        lastPredictions = out.predictions;
        evaluatedAtStep = globalStep;
      }
      const record: EpochRecord = {
        epoch: epoch + cur.batches / stepsInEpoch,
        step: globalStep,
        train_loss: cur.steps > 0 ? cur.loss / cur.steps : NaN,
        learning_rate: cur.lr,
        grad_norm: cur.gradNorm,
        eval: ev,
        eval_seconds: evSeconds,
        seconds: cur.seconds,
      };
      epochs.push(record);
      await opts.onEpochEnd?.(record, globalStep);
      cur = { epoch: epoch + 1, updates: 0, batches: 0, loss: 0, steps: 0, seconds: 0, lr: 0, gradNorm: NaN };
      if (nonFiniteStep === null && opts.checkpoint?.due(globalStep, true)) {
        await opts.checkpoint.save(snapshot());
        savedAt = globalStep;
      }
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
    padded_tokens: paddedTokensSeen,
  };
}
