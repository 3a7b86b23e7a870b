/**
 * Statistics for studies and reports, on plain rows: seed noise vs hyperparameter effect (one-way ANOVA with the
 * configuration as factor), replicates needed for a given power, metric correlations, the Pareto set, the best
 * configuration per metric, and the polynomial degree chosen by cross-validation.
 *
 * Power uses the exact two-sample t-test power (noncentral t). @stdlib has no noncentral t, so its cdf is the
 * textbook mixture P(T' > c) = E[Φ(δ − c·S/√ν)], S ~ χ_ν, integrated numerically (Simpson on the χ density,
 * normalised by the same quadrature) with @stdlib's normal cdf; the normal approximation is reported alongside.
 */
import type NormalModule from '@stdlib/stats-base-dists-normal';
import { Rng, UserError, lazyRequire } from '../util/index.js';
import { fUpperP, tTwoSidedP, tUpperQuantile } from './distributions.js';
import { buildDesign, designRow, transformPoint, type ModelSpec } from './design.js';
import { fitOls } from './ols.js';
import type { OlsFit } from './analyze.js';
import { isMissing, type Cell, type Row, type Table } from './table.js';
// required on first use (see util/lazy.ts)
const normal = lazyRequire<typeof NormalModule>('@stdlib/stats-base-dists-normal');

function num(c: Cell | undefined): number | null {
  if (isMissing(c ?? null)) return null;
  if (typeof c === 'number') return Number.isFinite(c) ? c : null;
  const v = Number(c);
  return typeof c === 'string' && c.trim() !== '' && Number.isFinite(v) ? v : null;
}

function configKey(row: Row, cols: string[]): string {
  return JSON.stringify(cols.map((c) => row[c] ?? null));
}

/** Exact for constant data (a summed mean of equal values can miss by an ulp, which would make SS and correlations noise). */
function mean(x: number[]): number { return x.length > 0 && x.every((v) => v === x[0]) ? x[0] : x.reduce((a, b) => a + b, 0) / x.length; }
function sampleSd(x: number[]): number {
  if (x.length < 2) return NaN;
  const m = mean(x);
  return Math.sqrt(x.reduce((a, b) => a + (b - m) * (b - m), 0) / (x.length - 1));
}

// ---- seed variability ------------------------------------------------------------------------

export interface ConfigurationStats {
  config: Record<string, Cell>;
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  seeds: Cell[];
}

export interface SeedVariability {
  metric: string;
  n: number;
  /** number of configurations */
  k: number;
  /** configurations with at least two seeds */
  replicated: number;
  ss_between: number;
  ss_within: number;
  ss_total: number;
  df_between: number;
  df_within: number;
  F: number;
  p: number;
  /** share of the metric's variance explained by the hyperparameters (SS_between / SS_total) */
  eta_squared: number;
  /** less biased version of eta² */
  omega_squared: number;
  /** share left to seeds (SS_within / SS_total = 1 − eta²) */
  seed_share: number;
  /** pooled seed-noise sd, √MS_within */
  sigma_seed: number;
  /** between-configuration sd from the variance components, √max(0, (MS_b − MS_w)/n₀) */
  sigma_config: number;
  configurations: ConfigurationStats[];
  /** rows left out for a missing metric */
  skipped: number;
  warnings: string[];
}

/** One-way ANOVA of `metric` with the configuration (the `configColumns` values) as factor and seeds as replicates. */
export function seedVariability(
  rows: Row[],
  opts: { configColumns: string[]; seedColumn?: string; metric: string },
): SeedVariability {
  const { configColumns, metric } = opts;
  if (configColumns.length === 0) throw new UserError('seedVariability: no configuration columns given');
  const groups = new Map<string, { config: Record<string, Cell>; y: number[]; seeds: Cell[] }>();
  let skipped = 0;
  for (const r of rows) {
    const y = num(r[metric]);
    if (y === null) { skipped++; continue; }
    const key = configKey(r, configColumns);
    let g = groups.get(key);
    if (!g) {
      g = { config: Object.fromEntries(configColumns.map((c) => [c, r[c] ?? null])), y: [], seeds: [] };
      groups.set(key, g);
    }
    g.y.push(y);
    g.seeds.push(opts.seedColumn ? r[opts.seedColumn] ?? null : null);
  }
  const all = [...groups.values()];
  const ys = all.flatMap((g) => g.y);
  const n = ys.length;
  const k = all.length;
  if (n === 0) throw new UserError(`seedVariability: no rows with a value for ${metric}`);
  const grand = mean(ys);
  let ssb = 0, ssw = 0;
  for (const g of all) {
    const m = mean(g.y);
    ssb += g.y.length * (m - grand) * (m - grand);
    for (const v of g.y) ssw += (v - m) * (v - m);
  }
  const sst = ys.reduce((a, v) => a + (v - grand) * (v - grand), 0);
  const dfb = k - 1;
  const dfw = n - k;
  const msb = ssb / dfb;
  const msw = ssw / dfw;
  const warnings: string[] = [];
  const replicated = all.filter((g) => g.y.length >= 2).length;
  if (dfw <= 0) warnings.push(`${metric}: no configuration has more than one seed — seed noise cannot be estimated`);
  if (skipped > 0) warnings.push(`${metric}: ${skipped} row(s) without a value were left out`);
  const F = dfb > 0 && dfw > 0 ? msb / msw : NaN;
  const n0 = k > 1 ? (n - all.reduce((a, g) => a + g.y.length * g.y.length, 0) / n) / (k - 1) : NaN;
  return {
    metric,
    n,
    k,
    replicated,
    ss_between: ssb,
    ss_within: ssw,
    ss_total: sst,
    df_between: dfb,
    df_within: dfw,
    F,
    p: Number.isFinite(F) ? fUpperP(F, dfb, dfw) : NaN,
    eta_squared: sst > 0 ? ssb / sst : NaN,
    omega_squared: sst > 0 && dfw > 0 ? (ssb - dfb * msw) / (sst + msw) : NaN,
    seed_share: sst > 0 ? ssw / sst : NaN,
    sigma_seed: dfw > 0 ? Math.sqrt(msw) : NaN,
    sigma_config: dfw > 0 && dfb > 0 ? Math.sqrt(Math.max(0, (msb - msw) / n0)) : NaN,
    configurations: all.map((g) => ({
      config: g.config,
      n: g.y.length,
      mean: mean(g.y),
      sd: sampleSd(g.y),
      min: Math.min(...g.y),
      max: Math.max(...g.y),
      seeds: g.seeds,
    })),
    skipped,
    warnings,
  };
}

export interface EffectVsNoise {
  predictor: string;
  /** range of the fitted partial-dependence curve over the predictor's observed range (others at the box centre) */
  effect: number;
  sigma_seed: number;
  /** effect / sigma_seed */
  ratio: number;
  below_noise: boolean;
}

/**
 * For each raw predictor of a fit: how far the fitted surface moves when that predictor sweeps its observed range
 * (41 points, the others at the centre of the box), compared with the seed-noise sd. `below_noise` flags effects
 * smaller than one seed sd — differences the seed alone produces.
 */
export function effectVsNoise(fit: Pick<OlsFit, 'params' | 'powers' | 'predictors' | 'raw_predictors' | 'transform' | 'box'>, sigmaSeed: number): EffectVsNoise[] {
  const beta = fit.params.map((b) => b ?? 0); // aliased terms contribute nothing (R's predict on rank-deficient fits)
  const info = { rawPredictors: fit.raw_predictors, predictors: fit.predictors, transform: fit.transform, powers: fit.powers };
  const centre = fit.raw_predictors.map((p) => (fit.box[p][0] + fit.box[p][1]) / 2);
  return fit.raw_predictors.map((p, i) => {
    const [lo, hi] = fit.box[p];
    let mn = Infinity, mx = -Infinity;
    for (let s = 0; s <= 40; s++) {
      const pt = centre.slice();
      pt[i] = s === 40 ? hi : lo + (s * (hi - lo)) / 40;
      const row = designRow(info, transformPoint(info, pt));
      let v = 0;
      for (let j = 0; j < row.length; j++) v += beta[j] * row[j];
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    const effect = mx - mn;
    return { predictor: p, effect, sigma_seed: sigmaSeed, ratio: effect / sigmaSeed, below_noise: effect < sigmaSeed };
  });
}

// ---- power -----------------------------------------------------------------------------------

/**
 * P(T' > c) for the noncentral t with df ν and noncentrality δ: T' = (Z + δ)/(S/√ν) with S ~ χ_ν, so
 * P(T' > c) = E[Φ(δ − c·S/√ν)], integrated over the χ density s^(ν−1)·e^(−s²/2) (smooth in s) by Simpson's rule,
 * normalised by the same quadrature.
 */
export function noncentralTUpper(c: number, df: number, ncp: number): number {
  const centre = Math.sqrt(Math.max(df - 1, 0));
  const lo = Math.max(0, centre - 12);
  const hi = centre + 12;
  const m = 4000; // even
  const h = (hi - lo) / m;
  const logf = (s: number): number => (s <= 0 ? (df === 1 ? 0 : -Infinity) : (df - 1) * (Math.log(s) - Math.log(centre || 1)) - (s * s - centre * centre) / 2);
  let num = 0, den = 0;
  const rootDf = Math.sqrt(df);
  for (let i = 0; i <= m; i++) {
    const sv = lo + i * h;
    const w = (i === 0 || i === m ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(logf(sv));
    if (w === 0) continue;
    den += w;
    num += w * normal().cdf(ncp - (c * sv) / rootDf, 0, 1);
  }
  return num / den;
}

/** Power of the two-sided two-sample t-test with n per group for a mean difference `effect` and sd `sigma`. */
export function twoSampleTPower(opts: { effect: number; sigma: number; n: number; alpha?: number }): number {
  const alpha = opts.alpha ?? 0.05;
  const df = 2 * opts.n - 2;
  if (df < 1) return NaN;
  const delta = (Math.abs(opts.effect) / opts.sigma) * Math.sqrt(opts.n / 2);
  const c = tUpperQuantile(alpha / 2, df);
  return noncentralTUpper(c, df, delta) + noncentralTUpper(c, df, -delta);
}

export interface SeedsForPower {
  /** replicates (seeds) per configuration */
  n_per_config: number;
  achieved_power: number;
  effect: number;
  sigma: number;
  alpha: number;
  power: number;
  /** n from the normal approximation 2((z_{1−α/2} + z_power)·σ/effect)², for comparison */
  normal_approximation_n: number;
  method: string;
}

/** Seeds per configuration needed to detect a difference `effect` between two configurations (two-sided t-test). */
export function seedsForPower(opts: { effect: number; sigma: number; alpha?: number; power?: number; maxN?: number }): SeedsForPower {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  const { effect, sigma } = opts;
  if (!(Math.abs(effect) > 0) || !(sigma > 0)) throw new UserError('seedsForPower: effect must be non-zero and sigma > 0');
  if (!(alpha > 0 && alpha < 1) || !(power > 0 && power < 1)) throw new UserError('seedsForPower: alpha and power must be in (0, 1)');
  const zA = normal().quantile(1 - alpha / 2, 0, 1);
  const zB = normal().quantile(power, 0, 1);
  const approx = 2 * Math.pow(((zA + zB) * sigma) / effect, 2);
  const maxN = opts.maxN ?? 100000;
  let n = Math.max(2, Math.floor(approx) - 1);
  while (n > 2 && twoSampleTPower({ effect, sigma, n: n - 1, alpha }) >= power) n--;
  let p = twoSampleTPower({ effect, sigma, n, alpha });
  while (p < power && n < maxN) { n++; p = twoSampleTPower({ effect, sigma, n, alpha }); }
  return {
    n_per_config: n,
    achieved_power: p,
    effect,
    sigma,
    alpha,
    power,
    normal_approximation_n: Math.ceil(approx),
    method: 'two-sided two-sample t-test, exact power from the noncentral t (numerical integration)',
  };
}

// ---- correlations ----------------------------------------------------------------------------

export interface MetricCorrelation {
  a: string;
  b: string;
  n: number;
  pearson: number;
  pearson_p: number;
  spearman: number;
  spearman_p: number;
}

function pearson(x: number[], y: number[]): number {
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy);
}

/** Average ranks (ties share the mean rank), 1-based. */
export function ranks(x: number[]): number[] {
  const idx = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let m = i; m <= j; m++) r[idx[m]] = avg;
    i = j + 1;
  }
  return r;
}

function corrP(r: number, n: number): number {
  if (n < 3 || !Number.isFinite(r)) return NaN;
  if (Math.abs(r) >= 1) return 0;
  return tTwoSidedP(r * Math.sqrt((n - 2) / (1 - r * r)), n - 2);
}

/** Pearson and Spearman correlations (with two-sided p-values, t with n − 2 df as scipy) for every pair of metrics. */
export function metricCorrelations(rows: Row[], metrics: string[]): MetricCorrelation[] {
  const out: MetricCorrelation[] = [];
  for (let i = 0; i < metrics.length; i++) {
    for (let j = i + 1; j < metrics.length; j++) {
      const x: number[] = [], y: number[] = [];
      for (const r of rows) {
        const a = num(r[metrics[i]]), b = num(r[metrics[j]]);
        if (a !== null && b !== null) { x.push(a); y.push(b); }
      }
      const n = x.length;
      const pr = n >= 2 ? pearson(x, y) : NaN;
      const sr = n >= 2 ? pearson(ranks(x), ranks(y)) : NaN;
      out.push({ a: metrics[i], b: metrics[j], n, pearson: pr, pearson_p: corrP(pr, n), spearman: sr, spearman_p: corrP(sr, n) });
    }
  }
  return out;
}

// ---- Pareto set and best configurations ------------------------------------------------------

export interface Objective { metric: string; direction: 'max' | 'min' }

export const DEFAULT_OBJECTIVES: Objective[] = [
  { metric: 'accuracy', direction: 'max' },
  { metric: 'f1', direction: 'max' },
  { metric: 'loss', direction: 'min' },
];

export interface ParetoResult { indices: number[]; rows: Row[]; skipped: number }

/** Rows not dominated by any other (at least as good on every objective and better on one); rows missing a metric are skipped. */
export function paretoFront(rows: Row[], objectives: Objective[] = DEFAULT_OBJECTIVES): ParetoResult {
  const pts: { i: number; v: number[] }[] = [];
  let skipped = 0;
  rows.forEach((r, i) => {
    const v = objectives.map((o) => num(r[o.metric]));
    if (v.some((x) => x === null)) { skipped++; return; }
    pts.push({ i, v: v.map((x, k) => (objectives[k].direction === 'max' ? (x as number) : -(x as number))) });
  });
  const front = pts.filter((p) => !pts.some((q) => q !== p && q.v.every((x, k) => x >= p.v[k]) && q.v.some((x, k) => x > p.v[k])));
  return { indices: front.map((p) => p.i), rows: front.map((p) => rows[p.i]), skipped };
}
export const pareto = paretoFront;

export interface BestConfiguration {
  metric: string;
  direction: 'max' | 'min';
  value: number;
  /** the configuration (configColumns given) or the whole best row */
  config: Record<string, Cell>;
  /** replicates behind `value` (a mean over seeds when configColumns are given) */
  n: number;
  sd: number;
}

/** The best row (or, with configColumns, the best configuration by its mean over seeds) for each metric. */
export function bestConfigurations(
  rows: Row[],
  metrics: (string | Objective)[],
  opts: { configColumns?: string[] } = {},
): BestConfiguration[] {
  return metrics.map((m) => {
    const o: Objective = typeof m === 'string' ? { metric: m, direction: /loss|error|perplexity/i.test(m) ? 'min' : 'max' } : m;
    const sign = o.direction === 'max' ? 1 : -1;
    const cols = opts.configColumns;
    const cands: { config: Record<string, Cell>; ys: number[] }[] = [];
    if (cols && cols.length > 0) {
      const groups = new Map<string, { config: Record<string, Cell>; ys: number[] }>();
      for (const r of rows) {
        const y = num(r[o.metric]);
        if (y === null) continue;
        const key = configKey(r, cols);
        const g = groups.get(key) ?? { config: Object.fromEntries(cols.map((c) => [c, r[c] ?? null])), ys: [] };
        g.ys.push(y);
        groups.set(key, g);
      }
      cands.push(...groups.values());
    } else {
      for (const r of rows) { const y = num(r[o.metric]); if (y !== null) cands.push({ config: { ...r }, ys: [y] }); }
    }
    if (cands.length === 0) throw new UserError(`bestConfigurations: no rows with a value for ${o.metric}`);
    let best = cands[0];
    for (const c of cands) if (sign * mean(c.ys) > sign * mean(best.ys)) best = c;
    return { metric: o.metric, direction: o.direction, value: mean(best.ys), config: best.config, n: best.ys.length, sd: sampleSd(best.ys) };
  });
}

// ---- degree by cross-validation --------------------------------------------------------------

export interface DegreeScore { degree: 1 | 2 | 3; rmse: number; folds: number; failed_folds: number }
export interface DegreeSelection { chosen: 1 | 2 | 3; scores: DegreeScore[]; folds: number; method: string; n: number }

/**
 * K-fold cross-validated RMSE of the polynomial fit for each degree (leave-one-out when n ≤ 60 unless `folds` is
 * given). The transform (log10, z-scores) is re-estimated on each training fold. The degree with the smallest RMSE is
 * chosen (ties → the lower degree); a degree whose training folds have too few rows scores Infinity.
 */
export function selectDegreeByCV(
  table: Table,
  opts: { predictors: string[]; response: string; degrees?: (1 | 2 | 3)[]; folds?: number; seed?: number; logLr?: boolean; standardize?: boolean; lrColumn?: string },
): DegreeSelection {
  const rows = table.rows.filter((r) => [...opts.predictors, opts.response].every((c) => num(r[c]) !== null));
  const n = rows.length;
  if (n < 3) throw new UserError(`selectDegreeByCV: ${n} complete row(s) for ${opts.response}; need at least 3`);
  const x = opts.predictors.map((p) => rows.map((r) => num(r[p]) as number));
  const y = rows.map((r) => num(r[opts.response]) as number);
  const k = Math.min(n, opts.folds ?? (n <= 60 ? n : 10));
  const perm = k === n ? rows.map((_, i) => i) : new Rng(opts.seed ?? 0).permutation(n);
  const foldOf = new Array<number>(n);
  perm.forEach((row, pos) => { foldOf[row] = pos % k; });
  const degrees = opts.degrees ?? [1, 2, 3];
  const scores: DegreeScore[] = degrees.map((degree) => {
    const spec: ModelSpec = { degree, logLr: Boolean(opts.logLr), standardize: Boolean(opts.standardize), lrColumn: opts.lrColumn };
    let sse = 0, count = 0, failed = 0;
    for (let f = 0; f < k; f++) {
      const train = [...Array(n).keys()].filter((i) => foldOf[i] !== f);
      const test = [...Array(n).keys()].filter((i) => foldOf[i] === f);
      try {
        const d = buildDesign(opts.predictors, x.map((col) => train.map((i) => col[i])), spec);
        const core = fitOls({ terms: d.info.terms, factors: d.info.factors, columns: d.columns, y: train.map((i) => y[i]) });
        const beta = core.params.map((b) => b ?? 0);
        for (const i of test) {
          const row = designRow(d.info, transformPoint(d.info, x.map((col) => col[i])));
          let pred = 0;
          for (let j = 0; j < row.length; j++) pred += beta[j] * row[j];
          sse += (y[i] - pred) ** 2;
          count++;
        }
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        failed++;
      }
    }
    return { degree, rmse: failed > 0 || count === 0 ? Infinity : Math.sqrt(sse / count), folds: k, failed_folds: failed };
  });
  let best = scores[0];
  for (const s of scores) if (s.rmse < best.rmse) best = s;
  if (!Number.isFinite(best.rmse)) throw new UserError(`selectDegreeByCV: no degree could be fitted on the training folds (${n} rows)`);
  return { chosen: best.degree, scores, folds: k, n, method: k === n ? 'leave-one-out' : `${k}-fold (seed ${opts.seed ?? 0})` };
}
