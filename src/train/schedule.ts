/**
 * Learning-rate schedules and step counting exactly as transformers' `get_scheduler` and
 * `Trainer.set_initial_training_values` compute them (transformers 4.5x):
 *  - the multiplier for optimizer step k (0-based) is lr_lambda(k); the scheduler steps after each optimizer step;
 *  - warmup steps = warmup_steps if > 0 else ceil(warmup_ratio * max_steps);
 *  - num_update_steps_per_epoch = max(ceil(len(dataloader) / gradient_accumulation_steps), 1) (the last,
 *    partial accumulation of an epoch is its own optimizer step), max_steps = ceil(num_train_epochs * that).
 */
export type LrSchedulerType = 'linear' | 'constant' | 'cosine' | 'constant_with_warmup';
export const LR_SCHEDULER_TYPES: readonly LrSchedulerType[] = ['linear', 'constant', 'cosine', 'constant_with_warmup'];

/** HF TrainingArguments.get_warmup_steps. */
export function warmupSteps(maxSteps: number, warmupRatio: number, warmupStepsArg: number): number {
  return warmupStepsArg > 0 ? warmupStepsArg : Math.ceil(maxSteps * warmupRatio);
}

/** The LambdaLR multiplier of each HF schedule at optimizer step `step` (0-based). */
export function lrLambda(type: LrSchedulerType, step: number, numWarmupSteps: number, numTrainingSteps: number): number {
  switch (type) {
    case 'constant':
      return 1;
    case 'constant_with_warmup':
      return step < numWarmupSteps ? step / Math.max(1, numWarmupSteps) : 1;
    case 'linear':
      if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
      return Math.max(0, (numTrainingSteps - step) / Math.max(1, numTrainingSteps - numWarmupSteps));
    case 'cosine': {
      if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
      const progress = (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
      const numCycles = 0.5;
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
    }
  }
}

/** The learning rate used by optimizer step `step` (0-based): base lr × lambda. */
export function learningRateAt(
  type: LrSchedulerType,
  baseLr: number,
  step: number,
  numWarmupSteps: number,
  numTrainingSteps: number,
): number {
  return baseLr * lrLambda(type, step, numWarmupSteps, numTrainingSteps);
}

export interface StepPlan {
  /** Batches per epoch (drop_last false): ceil(n / per_device_train_batch_size). */
  len_dataloader: number;
  num_update_steps_per_epoch: number;
  /** Total optimizer steps. */
  max_steps: number;
  /** Epochs the loop iterates (the last may stop early at max_steps). */
  num_train_epochs: number;
  num_warmup_steps: number;
  total_train_batch_size: number;
}

export function planSteps(opts: {
  numExamples: number;
  perDeviceTrainBatchSize: number;
  gradientAccumulationSteps: number;
  numTrainEpochs: number;
  maxSteps?: number;
  warmupRatio: number;
  warmupSteps: number;
}): StepPlan {
  const lenDataloader = Math.ceil(opts.numExamples / opts.perDeviceTrainBatchSize);
  const ga = opts.gradientAccumulationSteps;
  const perEpoch = Math.max(Math.floor(lenDataloader / ga) + (lenDataloader % ga > 0 ? 1 : 0), 1);
  let maxSteps: number;
  let epochs: number;
  if (opts.maxSteps !== undefined && opts.maxSteps > 0) {
    maxSteps = opts.maxSteps;
    epochs = Math.floor(maxSteps / perEpoch) + (maxSteps % perEpoch > 0 ? 1 : 0);
  } else {
    maxSteps = Math.ceil(opts.numTrainEpochs * perEpoch);
    epochs = Math.ceil(opts.numTrainEpochs);
  }
  return {
    len_dataloader: lenDataloader,
    num_update_steps_per_epoch: perEpoch,
    max_steps: maxSteps,
    num_train_epochs: epochs,
    num_warmup_steps: warmupSteps(maxSteps, opts.warmupRatio, opts.warmupSteps),
    total_train_batch_size: opts.perDeviceTrainBatchSize * ga,
  };
}
