/**
 * Analysis: polynomial OLS with statsmodels-grade inference, plus the statistics studies and reports use.
 * Usage:
 *   const table = readTable('runs.csv');                     // or tableFromRows(rows) for in-memory rows
 *   const { fits, filters, warnings } = analyze(table, {
 *     predictors: ['lr', 'bs', 'ep'], responses: ['accuracy', 'f1', 'loss'], frame: 'both',
 *     baseline: { accuracy: 0.9105, f1: 0.9137, loss: 0.3901 }, spec: { degree: 2, logLr: false, standardize: false },
 *     where: ['task=text-classification'], dropMissing: true });
 *   fits[i]: OlsFit (terms, params, bse, pvalues, conf_int, hc3, vif, anova_type2, aliased, …; null = aliased term)
 *   formatSummary(fit) → text; fitToJson(fit) → the CLI's JSON record; stationaryPoint(fit); bestInBox(fit)
 *   Errors a user can fix are UserError (bad CSV cell, missing column, n ≤ p, …).
 * Variability (rows = Row[]): seedVariability(rows, {configColumns, seedColumn, metric}) → eta², sigma_seed, per-config
 *   mean/sd; effectVsNoise(fit, sigma_seed); seedsForPower({effect, sigma, alpha, power}); metricCorrelations(rows,
 *   metrics); paretoFront(rows, objectives); bestConfigurations(rows, metrics, {configColumns}); selectDegreeByCV(table, …).
 * Noise (./noise.ts, ./mixed.ts, ./logit.ts, ./noise-analysis.ts): bootstrapMetrics(predictions, {B, seed}) → percentile and
 *   BCa CIs over evaluation examples; mcnemarExact(a, b); pairedBootstrap(a, b); expectedMax(scores); probabilityOfImprovement(a,
 *   b); compareRuns(a, b); fitMixedModel({y, X, terms, components, blocks}) (REML variance components, GLS fixed effects);
 *   anovaComponents(y, a, b); fitLogit(X, y, terms); analyzeNoise(rows, {configColumns, seedColumns, metric, predictions}) →
 *   everything `tunescope variability` prints (formatNoiseAnalysis, noiseToJson).
 */
export { readTable, parseTable, tableFromRows, filterTable, parseCell } from './table.js';
export type { Table, Row, Cell, FilterReport } from './table.js';
export { buildDesign, transformPoint, untransformPoint, designRow } from './design.js';
export type { ModelSpec, DesignInfo, DesignTransform, StandardizeInfo, Design, CenterKind, CenterOption, CenterInfo } from './design.js';
export { fitOls, describeAliases } from './ols.js';
export type { OlsCore, OlsInput, RobustCov, AnovaRow, AliasStructure } from './ols.js';
export { analyze, lookupBaseline } from './analyze.js';
export type { OlsFit, AnalyzeOptions, AnalyzeResult, Frame, BaselineResolver } from './analyze.js';
export { stationaryPoint, bestInBox, defaultDirection } from './surface.js';
export type { StationaryPoint, GridOptimum } from './surface.js';
export { formatSummary, formatSideBySide, fitToJson, centerText, formatNatural } from './summary.js';
export {
  seedVariability, effectVsNoise, seedsForPower, twoSampleTPower, noncentralTUpper, metricCorrelations, ranks,
  paretoFront, pareto, bestConfigurations, selectDegreeByCV, DEFAULT_OBJECTIVES,
} from './variability.js';
export type {
  SeedVariability, ConfigurationStats, EffectVsNoise, SeedsForPower, MetricCorrelation, Objective, ParetoResult,
  BestConfiguration, DegreeScore, DegreeSelection,
} from './variability.js';
export {
  bootstrapMetrics, bootstrapIntervals, quantileLinear, mcnemarExact, pairedBootstrap, accuracyVariance, expectedMax, probabilityOfImprovement,
  compareRuns, NOISE_METRICS,
} from './noise.js';
export type {
  ExamplePredictions, NoiseMetric, BootstrapInterval, BootstrapOptions, McNemarResult, PairedDifference, ExpectedMax, ProbabilityOfImprovement,
  RunScore, Comparison,
} from './noise.js';
export { fitMixedModel, anovaComponents, nelderMead } from './mixed.js';
export type { MixedModelInput, MixedModelFit, AnovaComponents } from './mixed.js';
export { fitLogit } from './logit.js';
export type { LogitFit } from './logit.js';
export { analyzeNoise, flagDiverged, formatNoiseAnalysis, noiseToJson, DEFAULT_DIVERGED_RULE } from './noise-analysis.js';
export type { NoiseAnalysis, NoiseOptions, DivergedRule, DivergedSummary, ComponentEstimates, ConfigNoise, TrialInterval } from './noise-analysis.js';
export { tUpperQuantile } from './distributions.js';
export { sobolIndices, sobolDecomposition, formatSobol } from './sobol.js';
export type { SobolIndices, SobolOptions, SobolDecomposition, Polynomial } from './sobol.js';
