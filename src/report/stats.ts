/**
 * Presentation arithmetic for the report: per-level means for the plots, replicate groups for the
 * seed chart, number formatting, and evaluating a fitted polynomial (and its standard error) on plot
 * grids from its term names. These are a few lines each and tied to the report's layout; everything
 * inferential (OLS, p-values, CIs, seed noise, Pareto sets, optima) comes from src/analysis.
 */
import { designRow, transformPoint } from '../analysis/index.js';
import type { ReportFit, ReportInput, ReportRow } from './types.js';

export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const x = Number(v);
    return Number.isNaN(x) ? NaN : x;
  }
  return NaN;
}

export const isFiniteNumber = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

export function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (ddof = 1); NaN below two values. */
export function sd(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (xs.length - 1));
}

export function finiteColumn(rows: ReportRow[], col: string): number[] {
  const out: number[] = [];
  for (const r of rows) {
    const x = num(r[col]);
    if (Number.isFinite(x)) out.push(x);
  }
  return out;
}

export function distinctSorted(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

/** Whether a column is better high or low: losses and errors are minimised, everything else maximised. */
export function metricDirection(metric: string): 'maximize' | 'minimize' {
  return /loss|error|perplexity|runtime|seconds|_time$/i.test(metric) ? 'minimize' : 'maximize';
}

export interface Box {
  min: number;
  max: number;
  centre: number;
  log: boolean;
}

/** Observed range of each predictor; the learning rate's centre is geometric (it lives on a log axis). */
export function predictorBoxes(input: ReportInput, rows: ReportRow[] = input.rows): Record<string, Box> {
  const out: Record<string, Box> = {};
  for (const p of input.predictors) {
    const xs = finiteColumn(rows, p);
    const log = p === input.lrColumn && xs.length > 0 && xs.every((x) => x > 0);
    const min = xs.length ? Math.min(...xs) : NaN;
    const max = xs.length ? Math.max(...xs) : NaN;
    const centre = log ? Math.sqrt(min * max) : (min + max) / 2;
    out[p] = { min, max, centre, log };
  }
  return out;
}

/** Rows usable for a metric: every predictor and the metric finite. */
export function completeRows(input: ReportInput, metric: string): ReportRow[] {
  return input.rows.filter((r) => Number.isFinite(num(r[metric])) && input.predictors.every((p) => Number.isFinite(num(r[p]))));
}

export interface ConfigGroup {
  key: string;
  label: string;
  config: Record<string, number>;
  values: number[];
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
}

export function configLabel(config: Record<string, number>, predictors: string[]): string {
  return predictors.map((p) => `${shortName(p)}=${fmtNum(config[p], 3)}`).join(' ');
}

/** Groups complete rows by their predictor values (seeds are replicates of one configuration). */
export function replicateGroups(input: ReportInput, metric: string): ConfigGroup[] {
  const groups = new Map<string, { config: Record<string, number>; values: number[] }>();
  for (const r of completeRows(input, metric)) {
    const config: Record<string, number> = {};
    for (const p of input.predictors) config[p] = num(r[p]);
    const key = input.predictors.map((p) => String(config[p])).join('|');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { config, values: [] }));
    g.values.push(num(r[metric]));
  }
  return [...groups.entries()].map(([key, g]) => ({
    key,
    label: configLabel(g.config, input.predictors),
    config: g.config,
    values: g.values,
    n: g.values.length,
    mean: mean(g.values),
    sd: sd(g.values),
    min: Math.min(...g.values),
    max: Math.max(...g.values),
  }));
}

/** Pooled within-configuration SD (seed noise); NaN when no configuration has two runs. */
export function pooledSd(groups: ConfigGroup[]): { sd: number; df: number } {
  let ss = 0;
  let df = 0;
  for (const g of groups) {
    if (g.n < 2) continue;
    ss += (g.n - 1) * g.sd * g.sd;
    df += g.n - 1;
  }
  return { sd: df > 0 ? Math.sqrt(ss / df) : NaN, df };
}

/** Mean and standard error of a metric at each level of one predictor. */
export function levelMeans(rows: ReportRow[], x: string, metric: string): { x: number; mean: number; se: number; n: number }[] {
  const by = new Map<number, number[]>();
  for (const r of rows) {
    const xv = num(r[x]);
    const yv = num(r[metric]);
    if (!Number.isFinite(xv) || !Number.isFinite(yv)) continue;
    let arr = by.get(xv);
    if (!arr) by.set(xv, (arr = []));
    arr.push(yv);
  }
  return [...by.entries()]
    .sort((p, q) => p[0] - q[0])
    .map(([xv, ys]) => ({ x: xv, mean: mean(ys), se: ys.length > 1 ? sd(ys) / Math.sqrt(ys.length) : 0, n: ys.length }));
}

/**
 * Evaluates a fitted polynomial at a raw point. Fits from analysis carry their design (powers, transform) and use
 * analysis' designRow; other fits (e.g. stored fixture fits) are evaluated from the term names (`lr`, `log10_lr`,
 * `z_bs`, `lr^2`, `lr:bs`, `lr^2:bs`) with z-scores from the rows the fit used. Aliased (null) coefficients count as 0, as in R.
 */
export class FitPredictor {
  private readonly factors: { name: string; power: number }[][];
  constructor(
    private readonly fit: ReportFit,
    private readonly predictors: string[],
    private readonly zStats: Record<string, { mean: number; sd: number }>,
  ) {
    const { powers, raw_predictors: raw, transform } = fit;
    if (powers && raw && transform && fit.predictors) {
      // analysis' own design (log10, z-scores of logs, any degree): exactly the columns the fit used
      const info = { rawPredictors: raw, predictors: fit.predictors, transform, powers };
      this.factors = [];
      this.row = (pt) => designRow(info, transformPoint(info, raw.map((p) => pt[p])));
      return;
    }
    this.factors = fit.terms.map((t) =>
      t === 'Intercept' ? [] : t.split(':').map((f) => {
        const m = /^(.*)\^(\d+)$/.exec(f);
        return m ? { name: m[1], power: Number(m[2]) } : { name: f, power: 1 };
      }),
    );
    for (const fs of this.factors) for (const f of fs) this.resolve(f.name); // fail early on an unknown term
  }

  private resolve(name: string): (raw: Record<string, number>) => number {
    if (this.predictors.includes(name)) return (raw) => raw[name];
    const log = /^log10_(.+)$/.exec(name);
    if (log && this.predictors.includes(log[1])) return (raw) => Math.log10(raw[log[1]]);
    const z = /^z_(.+)$/.exec(name);
    if (z && this.predictors.includes(z[1])) {
      const st = this.zStats[z[1]];
      return (raw) => (raw[z[1]] - st.mean) / st.sd;
    }
    throw new Error(`cannot evaluate term factor "${name}" from predictors ${this.predictors.join(', ')}`);
  }

  /** The design-matrix row of a raw point, in terms order. */
  row = (raw: Record<string, number>): number[] => this.factors.map((fs) => fs.reduce((v, f) => v * Math.pow(this.resolve(f.name)(raw), f.power), 1));

  predict(raw: Record<string, number>): number {
    const x = this.row(raw);
    let y = 0;
    this.fit.params.forEach((b, i) => {
      if (b !== null && Number.isFinite(b)) y += b * x[i];
    });
    return y;
  }

  /** Standard error of the fitted mean at a point, sqrt(mse_resid · xᵀ(XᵀX)⁻¹x); NaN without the covariance. */
  seFit(raw: Record<string, number>): number {
    const C = this.fit.normalized_cov_params;
    const s2 = this.fit.mse_resid;
    if (!C || s2 === undefined) return NaN;
    const x = this.row(raw);
    let q = 0;
    for (let i = 0; i < x.length; i++) {
      if (this.fit.params[i] === null) continue;
      for (let j = 0; j < x.length; j++) {
        const c = C[i]?.[j];
        if (this.fit.params[j] === null || c === null || c === undefined) continue;
        q += x[i] * c * x[j];
      }
    }
    return Math.sqrt(Math.max(0, q) * s2);
  }
}

export function makePredictor(fit: ReportFit, input: ReportInput): FitPredictor | null {
  try {
    const rows = completeRows(input, fit.response);
    const zStats: Record<string, { mean: number; sd: number }> = {};
    for (const p of input.predictors) {
      const xs = finiteColumn(rows, p);
      zStats[p] = { mean: mean(xs), sd: sd(xs) };
    }
    return new FitPredictor(fit, input.predictors, zStats);
  } catch {
    return null;
  }
}

/** Evenly spaced grid over a box side (log-spaced for the learning rate). */
export function gridOver(box: Box, n: number): number[] {
  if (!(box.max > box.min)) return [box.min];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    out.push(box.log ? Math.exp(Math.log(box.min) + t * (Math.log(box.max) - Math.log(box.min))) : box.min + t * (box.max - box.min));
  }
  return out;
}

const SHORT: Record<string, string> = {
  learning_rate: 'lr',
  per_device_train_batch_size: 'bs',
  num_train_epochs: 'ep',
  train_batch_size: 'bs',
  num_epochs: 'ep',
};
export const shortName = (p: string): string => SHORT[p] ?? p;

/** Compact number for labels and tables: 4 significant digits, exponent form for tiny/huge magnitudes. */
export function fmtNum(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  if (Number.isInteger(x) && a < 1e6) return String(x);
  return String(Number(x.toPrecision(digits)));
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined) return '—';
  if (Number.isNaN(p)) return 'NaN';
  if (p < 1e-4) return p.toExponential(1);
  return p.toFixed(4);
}

export function stars(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '';
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : '';
}

/**
 * A per-term statistic that covers the non-constant terms only (VIF, BH p): given either in terms order
 * (null for the intercept) or without the intercept; null for the intercept either way.
 */
export function nonConstValue(terms: string[], arr: (number | null)[] | undefined, i: number): number | null {
  if (!arr || terms[i] === 'Intercept') return null;
  const v = arr.length === terms.length ? arr[i] : arr[terms[0] === 'Intercept' ? i - 1 : i];
  return v ?? null;
}
