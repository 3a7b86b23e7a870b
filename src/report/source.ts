/**
 * Adapters from a data source to a ReportInput: a results table (CSV/TSV: a study export, a cards harvest)
 * or a study database (SQLite). Fits come from src/analysis, one (metric, frame) at a time, so a metric
 * that cannot be fitted (all NaN, too few runs for the degree) becomes a sentence in the report instead
 * of stopping it.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import {
  analyze, analyzeNoise, bestConfigurations, bestInBox, effectVsNoise, filterTable, lookupBaseline, metricCorrelations, readTable, seedVariability,
  seedsForPower, sobolIndices, stationaryPoint, tableFromRows, type SobolIndices,
  type CenterKind, type CenterOption, type ExamplePredictions, type OlsFit, type Table,
} from '../analysis/index.js';
import { isSqliteFile, openStore, type StudyStore } from '../store/index.js';
import { loadImportedRuns, readRunsCsv } from '../import/index.js';
import { specCenter, studyRows, type StudySpec } from '../study/index.js';
import { UserError, isUserError } from '../util/index.js';
import type { Frame, ReportBestConfig, ReportCorrelation, ReportFit, ReportInput, ReportNoise, ReportOptimum, ReportStationary, ReportVariability } from './types.js';
import { metricDirection, num } from './stats.js';

export interface ReportOptions {
  /** Hyperparameter columns; default: the study's factors, else the known HF names present. */
  predictors?: string[];
  /** Metric columns; default: accuracy, f1, loss (with or without eval_) when present. */
  metrics?: string[];
  /** Baseline per metric; default: the study's baseline, else constant `baseline_<metric>` columns. */
  baseline?: Record<string, number>;
  degree?: 1 | 2 | 3;
  logLr?: boolean;
  standardize?: boolean;
  lrColumn?: string;
  /** bootstrap resamples for the Sobol importance CIs (default 500; 0: none) and their seed (default 0) */
  importanceBootstrap?: number;
  importanceSeed?: number;
  /** origin of the predictors (default: none; a study store: its spec's analysis.center) */
  center?: CenterOption;
  /**
   * The baseline's configuration from elsewhere (`--baseline-card`'s card), over the source's own baseline.config and
   * under `center.config`: used only when the centre is baseline (a study's own analysis.center, or `center`).
   */
  baselineConfig?: Record<string, number>;
  alpha?: number;
  where?: string[];
  title?: string;
  version?: string;
  /** per-example predictions by trial_id (a study store's): the Noise section's per-trial CIs and evaluation noise */
  predictionsByTrial?: Map<string, ExamplePredictions>;
  /** an imported source (Optuna storage, …): the Optuna study to read, --map renamings, and whether to keep runs that are not complete */
  study?: string;
  map?: Record<string, string>;
  allStates?: boolean;
}

const PREDICTOR_GROUPS = [
  ['learning_rate', 'lr'],
  ['per_device_train_batch_size', 'train_batch_size', 'batch_size', 'bs'],
  ['num_train_epochs', 'num_epochs', 'epochs', 'ep'],
];
const METRIC_NAMES = ['accuracy', 'eval_accuracy', 'f1', 'eval_f1', 'loss', 'eval_loss'];

/** The report's own sanity checks before fitting, phrased for the reader. */
function fitPrecheck(t: Table, predictors: string[], metric: string, degree: number): string | null {
  if (t.rows.length === 0) return 'no rows (no finished runs): nothing to fit';
  const usable = t.rows.filter((r) => Number.isFinite(num(r[metric])) && predictors.every((p) => Number.isFinite(num(r[p])))).length;
  if (t.rows.length > 0 && t.rows.every((r) => !Number.isFinite(num(r[metric])))) return `${metric} has no finite values (all missing or NaN)`;
  const k = predictors.length;
  const p = degree === 1 ? 1 + k : degree === 2 ? 1 + 2 * k + (k * (k - 1)) / 2 : ((k + 1) * (k + 2) * (k + 3)) / 6;
  if (usable <= p)
    return `degree ${degree} in ${k} hyperparameter${k === 1 ? '' : 's'} has ${p} terms and needs at least ${p + 1} runs with finite ${metric} (has ${usable}); try --degree ${degree > 1 ? degree - 1 : 1} or more runs`;
  return null;
}

function detectLr(predictors: string[], explicit?: string): string | null {
  if (explicit) {
    // checked here, once, rather than failing every fit and chart of the report with the same message
    if (!predictors.includes(explicit)) throw new UserError(`--lr-column "${explicit}" is not one of the hyperparameters (${predictors.join(', ')})`);
    return explicit;
  }
  return predictors.find((p) => p === 'learning_rate' || p === 'lr') ?? predictors.find((p) => /learning_rate/.test(p)) ?? null;
}

/** Builds the report's input from a table: fits every (metric, frame), optima, standardized coefficients. */
export function reportInputFromTable(
  table: Table,
  opts: ReportOptions & { defaults?: { predictors?: string[]; metrics?: string[]; baseline?: Record<string, number>; title?: string; center?: CenterKind; baselineConfig?: Record<string, number> } } = {},
): ReportInput {
  const { table: t, filters } = filterTable(table, opts.where ?? []);
  const notes: string[] = filters.map((f) => `filter ${f.expr}: kept ${f.kept} of ${f.of} rows`);
  let predictors = opts.predictors ?? opts.defaults?.predictors ?? PREDICTOR_GROUPS.map((g) => g.find((c) => t.columns.includes(c))).filter((c): c is string => !!c);
  if (opts.predictors === undefined && t.rows.length > 1) {
    // a found hyperparameter with one value (e.g. every run 1 epoch) cannot be regressed on; as `study analyze` does
    const single = predictors.filter((p) => new Set(t.rows.map((r) => num(r[p])).filter(Number.isFinite)).size === 1);
    if (single.length > 0 && single.length < predictors.length) {
      predictors = predictors.filter((p) => !single.includes(p));
      notes.push(`left out of the regression (one value only): ${single.join(', ')}`);
    }
  }
  if (predictors.length === 0)
    throw new UserError(`${t.source ?? 'table'}: no hyperparameter columns found (looked for ${PREDICTOR_GROUPS.flat().join(', ')}); name them with --predictors`);
  const metrics = opts.metrics ?? opts.defaults?.metrics ?? METRIC_NAMES.filter((c) => t.columns.includes(c));
  if (metrics.length === 0) throw new UserError(`${t.source ?? 'table'}: no metric columns found (looked for ${METRIC_NAMES.join(', ')}); name them with --metrics`);
  for (const c of [...predictors, ...metrics])
    if (!t.columns.includes(c) && t.rows.length > 0) throw new UserError(`${t.source ?? 'table'}: no column "${c}" (columns: ${t.columns.join(', ')})`);
  for (const p of predictors) {
    if (t.rows.length === 0 || t.rows.some((r) => Number.isFinite(num(r[p])))) continue;
    const example = t.rows.map((r) => r[p]).find((v) => v !== null && v !== '');
    throw new UserError(`${t.source ?? 'table'}: hyperparameter column "${p}" has no numeric value${example !== undefined ? ` (e.g. ${JSON.stringify(example)})` : ''}; --predictors takes numeric columns`);
  }
  const overlap = metrics.filter((m) => predictors.includes(m));
  if (overlap.length) throw new UserError(`column ${overlap.join(', ')} is both a hyperparameter and a metric`);
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new UserError(`--alpha must be between 0 and 1 (got ${alpha})`);
  const degree = opts.degree ?? 2;

  // Baseline: explicit, else the source's, else constant baseline_<metric> columns (as in card harvests).
  const baseline: Record<string, number> = { ...(opts.defaults?.baseline ?? {}) };
  for (const m of metrics) {
    const col = `baseline_${m}`;
    if (baseline[m] === undefined && t.columns.includes(col)) {
      const vals = new Set(t.rows.map((r) => num(r[col])).filter(Number.isFinite));
      if (vals.size === 1) baseline[m] = [...vals][0];
    }
  }
  Object.assign(baseline, opts.baseline ?? {});
  for (const [k, v] of Object.entries(baseline)) if (!Number.isFinite(v)) throw new UserError(`baseline for ${k} is not a finite number`);
  // `accuracy=…` also serves an `eval_accuracy` column (card harvests), as in `tunescope analyze`.
  for (const m of metrics) {
    const b = lookupBaseline(baseline, m);
    if (b !== undefined) baseline[m] = b;
  }
  for (const k of Object.keys(baseline)) if (!metrics.includes(k)) delete baseline[k];

  const lrColumn = detectLr(predictors, opts.lrColumn);
  // a study's own baseline configuration may name factors left out of the regression (one value only)
  const ownConfig = Object.fromEntries(Object.entries({ ...opts.defaults?.baselineConfig, ...opts.baselineConfig }).filter(([k]) => predictors.includes(k)));
  const own = opts.defaults?.center ?? 'none';
  let center: CenterOption = opts.center ?? (own === 'baseline' ? { kind: 'baseline', config: {} } : { kind: own });
  // --center baseline on a study: its baseline's configuration (a --baseline-card's over it), overridden by --baseline-config
  if (center.kind === 'baseline') center = { kind: 'baseline', config: { ...ownConfig, ...center.config } };
  const spec = { degree, logLr: Boolean(opts.logLr), standardize: Boolean(opts.standardize), ...(lrColumn ? { lrColumn } : {}), center };
  const fits: ReportFit[] = [];
  const standardizedFits: ReportFit[] = [];
  const fitErrors: { response: string; frame: Frame; message: string }[] = [];
  const optima: ReportOptimum[] = [];
  const stationary: ReportStationary[] = [];
  const absFits = new Map<string, OlsFit>();
  const warnings = new Set<string>();
  const fitOne = (metric: string, frame: Frame, standardize: boolean): OlsFit | null => {
    const why = fitPrecheck(t, predictors, metric, degree);
    if (why) {
      if (!standardize) fitErrors.push({ response: metric, frame, message: why });
      return null;
    }
    try {
      // a study extended in blocks (`study extend`): the block effect, as `study analyze` fits it
      const blocks = t.columns.includes('block') && !predictors.includes('block') ? { blocks: 'block' } : {};
      const r = analyze(t, { predictors, responses: [metric], frame, baseline, spec: { ...spec, standardize }, dropMissing: true, ...blocks });
      if (!standardize) for (const w of r.warnings) warnings.add(w);
      return r.fits[0] ?? null;
    } catch (e) {
      if (!isUserError(e)) throw e;
      if (!standardize) fitErrors.push({ response: metric, frame, message: e.message });
      return null;
    }
  };
  for (const m of metrics) {
    const abs = fitOne(m, 'absolute', spec.standardize);
    if (abs) {
      fits.push(abs);
      absFits.set(m, abs);
      const opt = bestInBox(abs, t);
      if (opt) optima.push({ response: m, point: opt.best_point_raw, value: opt.best_value, direction: opt.direction });
      const sp = degree === 2 ? stationaryPoint(abs) : null;
      if (sp) stationary.push({ response: m, nature: sp.nature, inside_box: sp.inside_box, point: sp.coordinates_raw, value: sp.predicted_value });
    }
    if (baseline[m] !== undefined) {
      const rel = fitOne(m, 'relative', spec.standardize);
      if (rel) fits.push(rel);
    }
    const std = abs && spec.standardize ? abs : abs ? fitOne(m, 'absolute', true) : null;
    if (std) standardizedFits.push(std);
  }
  // Importance: Sobol indices of each fitted surface (the absolute fit's; frames and centres share the surface)
  const importance: SobolIndices[] = [];
  for (const m of metrics) {
    if (!absFits.has(m)) continue;
    try {
      const s = sobolIndices(t, { predictors, response: m, spec, B: opts.importanceBootstrap ?? 500, seed: opts.importanceSeed ?? 0 });
      importance.push(s);
      for (const w of s.warnings) notes.push(w);
    } catch (e) {
      if (!isUserError(e)) throw e;
      notes.push(`${m}: no Sobol indices: ${e.message}`);
    }
  }
  // Seed noise, metric correlations and the best configuration by its mean over seeds (analysis' variability tools).
  const seedColumn = t.columns.includes('seed') && !predictors.includes('seed') ? 'seed' : null;
  const variability: ReportVariability[] = [];
  const bestConfigs: ReportBestConfig[] = [];
  for (const m of metrics) {
    const rows = t.rows.filter((r) => Number.isFinite(num(r[m])) && predictors.every((p) => Number.isFinite(num(r[p]))));
    if (rows.length === 0) continue;
    try {
      const sv = seedVariability(rows, { configColumns: predictors, seedColumn: seedColumn ?? undefined, metric: m });
      if (sv.replicated > 0 && sv.sigma_seed > 0) {
        const fit = absFits.get(m);
        const effects = fit
          ? effectVsNoise(fit, sv.sigma_seed).map((e) => ({
              ...e,
              seeds_needed: e.effect > 0 ? seedsForPower({ effect: e.effect, sigma: sv.sigma_seed, alpha, power: 0.8, maxN: 10000 }).n_per_config : null,
            }))
          : [];
        variability.push({ metric: m, sigma_seed: sv.sigma_seed, df_within: sv.df_within, k: sv.k, replicated: sv.replicated, eta_squared: sv.eta_squared, F: sv.F, p: sv.p, effects });
        const [best] = bestConfigurations(rows, [{ metric: m, direction: metricDirection(m) === 'maximize' ? 'max' : 'min' }], { configColumns: predictors });
        if (best) bestConfigs.push({ metric: m, value: best.value, config: best.config, n: best.n, sd: best.sd });
      }
    } catch (e) {
      if (!isUserError(e)) throw e;
      notes.push(e.message);
    }
  }
  // Noise: per-trial CIs over evaluation examples, variance components, expected max, diverged runs (first metric)
  let noise: ReportNoise | undefined;
  const noiseMetric = metrics.find((m) => m === 'accuracy') ?? metrics[0];
  if (seedColumn && noiseMetric && predictors.length > 0 && t.rows.length >= 2) {
    try {
      const byTrial = opts.predictionsByTrial;
      const seedColumns = ['seed', ...(t.columns.includes('data_seed') ? ['data_seed'] : [])];
      const nz = analyzeNoise(t.rows, {
        configColumns: predictors,
        seedColumns,
        metric: noiseMetric,
        ...(byTrial ? { predictions: t.rows.map((r) => byTrial.get(String(r.trial_id)) ?? null) } : {}),
        model: { degree: Math.min(degree, 2) as 1 | 2, logLr: spec.logLr },
      });
      noise = { ...nz, config_columns: nz.config_columns, seed_columns: nz.seed_columns };
    } catch (e) {
      if (!isUserError(e)) throw e;
      notes.push(`no noise analysis: ${e.message}`);
    }
  }
  const correlations: ReportCorrelation[] = metrics.length >= 2 && t.rows.length >= 3 ? metricCorrelations(t.rows, metrics).filter((c) => c.n >= 3) : [];
  for (const w of warnings) notes.push(w);
  if (Object.keys(baseline).length === 0) notes.push('No baseline given (--baseline accuracy=…,f1=…,loss=…): the relative frame and baseline marks are left out.');
  return {
    title: opts.title ?? opts.defaults?.title ?? `tunescope report: ${basename(t.source ?? 'data')}`,
    source: t.source ?? 'data',
    rows: t.rows,
    columns: t.columns,
    predictors,
    metrics,
    seedColumn,
    lrColumn,
    baseline,
    alpha,
    spec: { degree, log_lr: spec.logLr, standardize: spec.standardize, center: center.kind, center_point: fits[0]?.spec.center_point ?? null },
    fits,
    standardizedFits,
    fitErrors,
    optima,
    stationary,
    variability,
    correlations,
    bestConfigs,
    ...(noise ? { noise } : {}),
    ...(importance.length ? { importance } : {}),
    notes,
    version: opts.version,
  };
}

/** Reads a results CSV/TSV, a study database or a source `tunescope import` reads, and builds the report's input. */
export async function loadReportInput(path: string, opts: ReportOptions = {}): Promise<ReportInput> {
  const read = await loadImportedRuns(path, { study: opts.study, map: opts.map, allStates: opts.allStates });
  if (read?.imported) {
    const { imported } = read;
    const preferred = imported.metrics.filter((m) => ['accuracy', 'f1', 'loss'].includes(m));
    const numeric = imported.metrics.filter((m) => imported.rows.some((r) => typeof r[m] === 'number'));
    const input = reportInputFromTable(read.table, {
      ...opts,
      defaults: { metrics: preferred.length ? preferred : numeric, title: `Imported runs: ${[...new Set(imported.result.runs.map((r) => r.group ?? r.kind))].join(', ')}` },
    });
    return { ...input, notes: [...read.notes, ...(input.notes ?? [])] };
  }
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  if (!isSqliteFile(path)) {
    // a store name holding something else would be read as a CSV and fail with a misleading column message
    if (/\.(sqlite3?|db)$/i.test(path)) throw new UserError(`${path}: not a SQLite database (expected a study store written by \`tunescope study run\`, or a results CSV/TSV)`);
    const { table, notes } = readRunsCsv(path, opts);
    const input = reportInputFromTable(table, opts);
    return notes.length ? { ...input, notes: [...notes, ...(input.notes ?? [])] } : input;
  }
  const store = openStore(path, { readonly: true });
  try {
    return await reportInputFromStore(store, opts, path);
  } finally {
    await store.close();
  }
}

/** The report's input from an open study store (any StudyStore: the dashboard reads live ones). */
export async function reportInputFromStore(store: StudyStore, opts: ReportOptions = {}, label: string = store.location): Promise<ReportInput> {
  const study = await store.getStudy();
  if (!study) throw new UserError(`${label}: the database holds no study`);
  const st = await studyRows(store);
  const table = tableFromRows(st.rows, label);
  // keep the study's column order (tableFromRows takes it from the rows, which may be none)
  const t: Table = { ...table, columns: st.columns };
  // An empty study has no metric columns yet: report on the usual ones, saying there is nothing.
  const metrics = st.rows.length === 0 ? ['accuracy', 'f1', 'loss'] : st.metrics;
  const preferred = metrics.filter((m) => ['accuracy', 'f1', 'loss'].includes(m));
  const predictionsByTrial = new Map((await store.predictions()).map((p) => [p.trialId, p.predictions]));
  return reportInputFromTable(t, {
    ...opts,
    ...(predictionsByTrial.size > 0 ? { predictionsByTrial } : {}),
    defaults: {
      predictors: st.factors.filter((f) => f !== 'seed' && (st.rows.length === 0 || st.rows.some((r) => typeof r[f] === 'number'))),
      metrics: preferred.length ? preferred : metrics,
      baseline: st.baseline?.metrics,
      title: `Study ${study.name}`,
      ...specCenterOption(study.spec as StudySpec),
    },
  });
}

/** A study's own centre (analysis.center) and its baseline's configuration, for a report of its store. */
function specCenterOption(spec: StudySpec): { center?: CenterKind; baselineConfig?: Record<string, number> } {
  const sc = specCenter(spec);
  return { center: sc.center, ...(sc.config ? { baselineConfig: sc.config } : {}) };
}
