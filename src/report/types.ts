/**
 * The report's inputs as plain typed values. The data source (a results CSV, a study database)
 * is a thin adapter (./source.ts) that fills a ReportInput; everything else is a pure function of it.
 */

import type { CenterKind, DesignTransform, SobolIndices } from '../analysis/index.js';

export type Cell = string | number | null;
export type ReportRow = Record<string, Cell>;
export type Frame = 'absolute' | 'relative';

/**
 * The part of analysis' OlsFit the report reads (arrays in `terms` order; null = aliased / not applicable).
 * Declared structurally so analysis' OlsFit can be passed as is.
 */
export interface ReportFit {
  response: string;
  frame: Frame;
  spec: { degree: number; log_lr: boolean; standardize: boolean; center?: CenterKind; center_point?: Record<string, number> | null };
  terms: string[];
  params: (number | null)[];
  bse: (number | null)[];
  tvalues: (number | null)[];
  pvalues: (number | null)[];
  conf_int: ([number | null, number | null] | null)[];
  nobs: number;
  /** rows left out of this fit (a missing or non-finite value in its columns); absent: none */
  dropped?: number;
  df_model: number;
  df_resid: number;
  rsquared: number | null;
  rsquared_adj: number | null;
  fvalue: number | null;
  f_pvalue: number | null;
  aic?: number | null;
  bic?: number | null;
  condition_number?: number | null;
  vif?: (number | null)[];
  pvalues_fdr_bh?: (number | null)[];
  hc3?: { bse: (number | null)[]; pvalues: (number | null)[] };
  aliased?: string[];
  warnings?: string[];
  predictors?: string[];
  baseline?: number | null;
  /** analysis' design description: with it, predictions use analysis' own transformPoint/designRow. */
  transform?: DesignTransform;
  raw_predictors?: string[];
  powers?: number[][];
  /** (XᵀX)⁻¹ over all terms (null rows/cols for aliased): gives confidence bands on fitted curves. */
  normalized_cov_params?: (number | null)[][];
  mse_resid?: number;
}

/** Stationary point of a fitted quadratic surface (analysis.stationaryPoint), raw units. */
export interface ReportStationary {
  response: string;
  nature: 'maximum' | 'minimum' | 'saddle';
  inside_box: boolean;
  point: Record<string, number>;
  value: number;
}

/** A fitted optimum inside the observed box (analysis.bestInBox), in raw predictor units. */
export interface ReportOptimum {
  response: string;
  point: Record<string, number>;
  value: number;
  /** 'maximize' for accuracy/F1, 'minimize' for loss. */
  direction: 'maximize' | 'minimize';
}

/** Seed noise of one metric (analysis.seedVariability / effectVsNoise / seedsForPower). */
export interface ReportVariability {
  metric: string;
  /** pooled within-configuration SD, √MS_within */
  sigma_seed: number;
  df_within: number;
  /** configurations, and those with ≥ 2 runs */
  k: number;
  replicated: number;
  /** share of the metric's variance between configurations (the rest is seeds) */
  eta_squared: number;
  F: number;
  p: number;
  /** per hyperparameter: fitted effect over its range vs seed noise, seeds per configuration to detect it */
  effects: { predictor: string; effect: number; ratio: number; below_noise: boolean; seeds_needed: number | null }[];
}

export interface ReportCorrelation { a: string; b: string; n: number; pearson: number; pearson_p: number; spearman: number; spearman_p: number }

/** Best configuration by its mean over seeds (analysis.bestConfigurations). */
export interface ReportBestConfig { metric: string; value: number; config: Record<string, Cell>; n: number; sd: number }

/**
 * The noise analysis the report shows (analysis' NoiseAnalysis, structurally: only what the Noise section reads).
 * Trial intervals point into `rows` by index.
 */
export interface ReportNoise {
  metric: string;
  config_columns: string[];
  seed_columns: string[];
  bootstrap_B: number;
  trial_intervals: { row: number; estimate: number; se: number; percentile: [number, number]; bca: [number, number] }[];
  variance_components: {
    components: string[];
    reml: Record<string, number> | null;
    anova: Record<string, number> | null;
    ci: { reml: Record<string, [number, number]> | null; anova: Record<string, [number, number]> | null };
    by_config: { config: Record<string, Cell>; n: number; mean: number; sd: number; reml: Record<string, number> | null; ci: { reml: Record<string, [number, number]> | null } }[];
  };
  evaluation_noise: { variance: number; share_of_seed_variance: number; seed_variance: number; trials: number } | null;
  diverged: { rule: string; count: number; total: number; rate: number; excluded: number; by_config: { config: Record<string, Cell>; n: number; diverged: number; rate: number }[] };
  expected_max: { n: number; mean: number; se: number }[];
  findings: string[];
}

export interface ReportInput {
  title: string;
  /** Where the data came from (shown in the header). */
  source: string;
  rows: ReportRow[];
  /** Column order of the data table; defaults to the keys of the first row. */
  columns?: string[];
  /** Raw predictor columns (HF names such as learning_rate, or lr/bs/ep), in model order. */
  predictors: string[];
  /** Metric columns (accuracy, f1, loss, …). */
  metrics: string[];
  /** Column holding the seed (replicates share all predictor values); null when none. */
  seedColumn?: string | null;
  /** The learning-rate column: plotted on a log axis. */
  lrColumn?: string | null;
  /** Baseline value per metric (absolute frame); the relative frame is metric − baseline. */
  baseline?: Record<string, number>;
  alpha: number;
  /** center: the predictors' origin (absent: none); center_point: that origin in natural units */
  spec: { degree: number; log_lr: boolean; standardize: boolean; center?: CenterKind; center_point?: Record<string, number> | null };
  /** One fit per metric and frame, in the user's spec. */
  fits: ReportFit[];
  /** Same metrics fitted on z-scored predictors (absolute frame): the coefficient plot's scale. */
  standardizedFits?: ReportFit[];
  /** Why a (metric, frame) has no fit, in the user's words (too few rows, all NaN, …). */
  fitErrors?: { response: string; frame: Frame; message: string }[];
  optima?: ReportOptimum[];
  stationary?: ReportStationary[];
  variability?: ReportVariability[];
  correlations?: ReportCorrelation[];
  bestConfigs?: ReportBestConfig[];
  /** Sobol indices of each metric's fitted surface over the design box, with bootstrap CIs (analysis' sobolIndices) */
  importance?: SobolIndices[];
  /** The Noise section (per-trial CIs, variance components, expected max, diverged runs) */
  noise?: ReportNoise;
  /** Lines shown under "Notes" (skipped rows, filters, analysis warnings, …). */
  notes?: string[];
  /** Tool version shown in the footer. */
  version?: string;
}

/** A chart: a Vega-Lite spec, or the reason there is none. */
export type ChartSpec = Record<string, unknown>;
export interface Chart {
  id: string;
  kind: 'coefficients' | 'main-effects' | 'interaction' | 'surface' | 'seed-variability' | 'pareto' | 'noise' | 'importance';
  title: string;
  caption?: string;
  spec?: ChartSpec;
  missing?: string;
}

/** The rendered report: HTML plus the same tables as Markdown and CSV (file suffix → content). */
export interface ReportDocument {
  html: string;
  /** the report's sections without page, styles or scripts (charts as empty boxes): what the dashboard embeds */
  body: string;
  markdown: string;
  csv: Record<string, string>;
  charts: Chart[];
  findings: string[];
}
