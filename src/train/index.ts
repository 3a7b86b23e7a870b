/** The fine-tuning loop with HF Trainer semantics (AdamW, schedules, clipping, evaluation metrics). */
export { fineTune, evaluateModel, evaluateModelWithPredictions, writeRunFiles, resolvePrecision } from './trainer.js';
export type { FineTuneResult, FineTuneOptions, CommonOptions, CheckpointPolicy } from './trainer.js';
export { listCheckpoints, latestCheckpoint, checkpointLogHistory, writeCheckpointDir, rotateCheckpoints, diskUsage, CHECKPOINT_FILES } from './checkpoint.js';
export { hfTrainerState, TRAINER_STATE_KEYS } from './state.js';
export type { HfTrainerState } from './state.js';
export { resolveTrainingArguments, ARGUMENT_SPECS, MAX_THREADS_PER_CORE, maxThreads } from './arguments.js';
export type { TrainingArguments, ArgumentSpec, SaveStrategy, EvalStrategy } from './arguments.js';
export { computeMetrics, classificationMetrics, rocAuc, logitsSummary, predictionsFromLogits } from './metrics.js';
export type { EvalMetrics, EvalPredictions } from './metrics.js';
export { lrLambda, learningRateAt, warmupSteps, planSteps, LR_SCHEDULER_TYPES } from './schedule.js';
export type { LrSchedulerType, StepPlan } from './schedule.js';
export { collate, chunk, epochOrder, lengthGroupedIndices, realTokens } from './dataloader.js';
export type { TokenizedSplit } from './dataloader.js';
export { trainLoop, evaluateSplit, evaluateSplitWithPredictions, hfNoDecay, optimizerConfig, planFor } from './loop.js';
export type { TrainableClassifier, OptimizerConfig, EpochRecord, LogEntry, ProgressInfo, TrainLoopOptions, TrainLoopResult, LoopState } from './loop.js';
