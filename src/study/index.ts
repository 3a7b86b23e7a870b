/** Study specs, designs (grid, random, LHS, Sobol) and their parallel, resumable execution. */
export { loadStudySpec, parseStudySpec, parseStudySpecText, specHash, canonicalJson, studySpecSchema } from './spec.js';
export type { StudySpec, StudySpecInput, Factor, FactorRange, ModelSource, BaselineSpec, DatasetSource } from './spec.js';
export { expandDesign, designConfigs, trialId, sobolPoints, latinHypercube, mapUnit, SOBOL_MAX_DIMENSIONS } from './design.js';
export type { Trial, TrialConfig, TrialKind } from './design.js';
export {
  runStudy,
  prepareStudy,
  planExecution,
  runIsAlive,
  baselineFromTrials,
  nonFiniteReason,
  checkTrainingArguments,
  preflight,
  refreshBaseline,
  storedSpec,
  studyAnchor,
  workerSlot,
  inProcessSlot,
  runnerModuleUrl,
  errorText,
  tunescopeVersion,
  AbortedTrial,
  WorkerStartError,
} from './run.js';
export type { RunStudyOptions, StudySummary, StudyEvent, Slot } from './run.js';
export { createStudyProgress } from './progress.js';
export type { StudyProgress } from './progress.js';
export { trialArgs } from './runner.js';
export type { TrialRunner, TrialRunnerModule, TrialTask, TrialContext, TrialProgress } from './runner.js';
export { studyRows } from './rows.js';
export type { StudyTable, StudyRow, StudyRowsOptions } from './rows.js';
export { materializeModel } from './model-dir.js';
export { analyzeStudy, formatStudyAnalysis } from './analysis.js';
export type { AnalyzeStudyOptions, StudyAnalysis, MetricVariability } from './analysis.js';
export { runDemo, DEMO_GRID, DEMO_SEEDS, DEMO_MODEL, DEMO_BASELINE } from './demo.js';
export type { DemoOptions, DemoResult } from './demo.js';
export { exportPredictions, readPredictionsFile, predictionsToBytes, predictionsFormatOf, studyNoiseRows } from './predictions.js';
export type { PredictionsFormat } from './predictions.js';
