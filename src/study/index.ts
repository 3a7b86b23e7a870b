/** Study specs, designs (grid, random, LHS, Sobol, CCD, Box–Behnken, fractions, D/I-optimal), plans, and their parallel, resumable execution. */
export { loadStudySpec, parseStudySpec, parseStudySpecText, specHash, canonicalJson, studySpecSchema } from './spec.js';
export type { StudySpec, StudySpecInput, Factor, FactorRange, ModelSource, BaselineSpec, DatasetSource, CheckpointEvery } from './spec.js';
export { expandDesign, designConfigs, designRuns, replicateSeeds, designSize, trialCount, checkDesignSize, DEFAULT_MAX_TRIALS, HARD_MAX_TRIALS, trialId, sobolPoints, latinHypercube, mapUnit, SOBOL_MAX_DIMENSIONS } from './design.js';
export { codedDesign, encode, decode, snap, factorScale, factorRange } from './coded.js';
export type { CodedDesign, CodedRun, CodedDesignInfo } from './coded.js';
export { centralComposite, boxBehnken, fractionalFactorial, exchangeDesign, efficiencies, cubeMoments, generatorText, definingRelation, aliasChains } from './rsm.js';
export type { Fraction, Ccd, Efficiencies } from './rsm.js';
export { planStudy, formatPlan, pilotSigma, aliasedDesignError } from './plan.js';
export type { StudyPlan, PlanOptions, PlanTrial } from './plan.js';
export { toDatasetSpec } from './dataset-spec.js';
export type { Trial, TrialConfig, TrialKind } from './design.js';
export {
  runStudy,
  studyAliasedError,
  prepareStudy,
  planExecution,
  runIsAlive,
  deadRunReason,
  baselineFromTrials,
  nonFiniteReason,
  warningCollector,
  warnNonFinite,
  checkTrainingArguments,
  preflight,
  refreshBaseline,
  storedSpec,
  studyAnchor,
  workerSlot,
  inProcessSlot,
  runnerModuleUrl,
  errorText,
  trialsRoot,
  studyFingerprint,
  resumePoint,
  recordCheckpointSteps,
  AbortedTrial,
  WorkerStartError,
} from './run.js';
export type { RunStudyOptions, StudySummary, StudyEvent, Slot, OnCheckpoint } from './run.js';
export { createStudyProgress } from './progress.js';
export type { StudyProgress } from './progress.js';
export { trialArgs } from './runner.js';
export { StepLogWriter } from './steplog.js';
export type { StepLogWriterOptions } from './steplog.js';
export type { TrialRunner, TrialRunnerModule, TrialTask, TrialContext, TrialProgress } from './runner.js';
export { studyRows } from './rows.js';
export type { StudyTable, StudyRow, StudyRowsOptions } from './rows.js';
export { materializeModel } from './model-dir.js';
export { analyzeStudy, formatStudyAnalysis, specCenter } from './analysis.js';
export type { AnalyzeStudyOptions, StudyAnalysis, MetricVariability } from './analysis.js';
export { exportPredictions, readPredictionsFile, predictionsToBytes, predictionsFormatOf, studyNoiseRows } from './predictions.js';
export type { PredictionsFormat } from './predictions.js';
export { extendStudy, proposeBlock, formatExtension, fitCoded } from './extend.js';
export type { ExtendOptions, ExtendResult } from './extend.js';
export { readBlocks, blockMap, blockOf, blockCounts, EXTEND_STRATEGIES, BLOCKS_META_KEY } from './blocks.js';
export type { StudyBlock, BlockFit, BlockTrial, ExtendStrategy } from './blocks.js';
export { stepTimeModel, stepTimeCachePath, readStepTimes, recordStepTimes, shapeOf, machine } from './cost.js';
export type { StepTimeRecord, StepTimeModel, ModelShape } from './cost.js';
