/**
 * Polynomial design matrices: intercept, main effects, then (degree ≥ 2) squares and pairwise
 * interactions, then (degree 3) cubes, `x^2:y` terms and triple products — term names and column
 * arithmetic as in patsy/R formulas (`I(x**2)` = x*x, `x:y` = x*y, formed in double).
 */
import { UserError } from '../util/index.js';

export interface ModelSpec {
  degree: 1 | 2 | 3;
  /** use log10 of the learning-rate column */
  logLr: boolean;
  /** z-score each predictor (sample sd, ddof = 1) before forming powers and interactions */
  standardize: boolean;
  /** which predictor is the learning rate (default: the first named lr / learning_rate / *learning_rate*) */
  lrColumn?: string;
  /**
   * The origin of the predictors (after log10 / z-scoring, before powers and interactions): `mean` = the design
   * centre, `baseline` = the baseline's configuration (natural units per raw predictor). Default: none.
   */
  center?: CenterOption;
}

export type CenterKind = 'none' | 'mean' | 'baseline';
export type CenterOption = { kind: 'none' } | { kind: 'mean' } | { kind: 'baseline'; config: Record<string, number> };

export interface CenterInfo {
  kind: 'mean' | 'baseline';
  /** subtracted from each transformed predictor (keyed by its transformed name: log10_lr, z_bs, …) */
  offset: Record<string, number>;
  /** the origin in natural units per raw predictor (for log10 lr: x = log10(lr / lr_origin)) */
  point: Record<string, number>;
}

export interface StandardizeInfo { of: string; mean: number; sd: number }

export interface DesignTransform {
  /** 'log10' when --log-lr applies to `lr_column` */
  lr: 'identity' | 'log10';
  lr_column: string | null;
  /** keyed by the transformed predictor name (z_lr …), null when not standardized */
  standardize: Record<string, StandardizeInfo> | null;
  /** the origin subtracted last (absent or null: not centred) */
  center?: CenterInfo | null;
}

export interface DesignInfo {
  /** raw column names, in predictor order */
  rawPredictors: string[];
  /** transformed names used in terms (lr, log10_lr, z_lr, …) */
  predictors: string[];
  transform: DesignTransform;
  terms: string[];
  /** per term, the exponent of each predictor */
  powers: number[][];
  /** per term, its formula factors (`lr^2:bs` → ['lr^2', 'bs']) for type-II marginality */
  factors: string[][];
  /** data range of each raw predictor */
  box: Record<string, [number, number]>;
}

const LR_NAME = /^(lr|learning_rate|learning-rate|learningrate)$/i;

export function findLrColumn(predictors: string[], explicit?: string): string | null {
  if (explicit !== undefined) {
    if (!predictors.includes(explicit)) throw new UserError(`--lr-column "${explicit}" is not one of the predictors (${predictors.join(', ')})`);
    return explicit;
  }
  return predictors.find((p) => LR_NAME.test(p)) ?? predictors.find((p) => /learning_rate|(^|_)lr($|_)/i.test(p)) ?? null;
}

function termList(k: number, degree: number): number[][] {
  const unit = (i: number, e = 1): number[] => { const v = new Array<number>(k).fill(0); v[i] = e; return v; };
  const out: number[][] = [new Array<number>(k).fill(0)];
  for (let i = 0; i < k; i++) out.push(unit(i));
  if (degree >= 2) {
    for (let i = 0; i < k; i++) out.push(unit(i, 2));
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) { const v = unit(i); v[j] = 1; out.push(v); }
  }
  if (degree >= 3) {
    for (let i = 0; i < k; i++) out.push(unit(i, 3));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (j !== i) { const v = unit(i, 2); v[j] = 1; out.push(v); }
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) for (let m = j + 1; m < k; m++) {
      const v = unit(i); v[j] = 1; v[m] = 1; out.push(v);
    }
  }
  return out;
}

/** Factor order within a term: the squared/cubed factor first (`lr^2:bs`), else predictor order. */
function termFactors(pw: number[], names: string[]): string[] {
  const idx = pw.map((e, i) => i).filter((i) => pw[i] > 0);
  idx.sort((a, b) => pw[b] - pw[a] || a - b);
  return idx.map((i) => (pw[i] === 1 ? names[i] : `${names[i]}^${pw[i]}`));
}

function power(x: number, e: number): number {
  // x*x and x*x*x in double, as patsy/R form I(x**2) and I(x**3)
  let v = x;
  for (let i = 1; i < e; i++) v *= x;
  return v;
}

/** Value of one term at a transformed point, multiplied left to right in factor order. */
function termValue(pw: number[], order: number[], x: ArrayLike<number>): number {
  let v = 1;
  let first = true;
  for (const i of order) {
    const f = power(x[i], pw[i]);
    v = first ? f : v * f;
    first = false;
  }
  return v;
}

function factorOrder(pw: number[]): number[] {
  const idx = pw.map((e, i) => i).filter((i) => pw[i] > 0);
  idx.sort((a, b) => pw[b] - pw[a] || a - b);
  return idx;
}

export interface Design { info: DesignInfo; columns: Float64Array[]; n: number }

/**
 * Builds the design for raw predictor columns (already validated finite numbers).
 * `raw[i]` is the column of predictor `predictors[i]`.
 */
export function buildDesign(predictors: string[], raw: ArrayLike<number>[], spec: ModelSpec): Design {
  const k = predictors.length;
  if (k === 0) throw new UserError('no predictors given');
  if (new Set(predictors).size !== k) throw new UserError(`duplicate predictor in ${predictors.join(',')}`);
  if (![1, 2, 3].includes(spec.degree)) throw new UserError(`degree must be 1, 2 or 3 (got ${String(spec.degree)})`);
  const n = raw[0]?.length ?? 0;
  const box: Record<string, [number, number]> = {};
  predictors.forEach((p, i) => {
    let lo = Infinity, hi = -Infinity;
    for (let r = 0; r < n; r++) { lo = Math.min(lo, raw[i][r]); hi = Math.max(hi, raw[i][r]); }
    box[p] = [lo, hi];
  });
  const lrColumn = spec.logLr ? findLrColumn(predictors, spec.lrColumn) : spec.lrColumn ?? findLrColumn(predictors);
  if (spec.logLr && lrColumn === null) {
    throw new UserError(`--log-lr needs a learning-rate predictor (lr or learning_rate, or name it with --lr-column); predictors are ${predictors.join(', ')}`);
  }
  const names = predictors.slice();
  const x: Float64Array[] = raw.map((c) => Float64Array.from(c));
  if (spec.logLr && lrColumn !== null) {
    const i = predictors.indexOf(lrColumn);
    for (let r = 0; r < n; r++) {
      if (!(x[i][r] > 0)) throw new UserError(`--log-lr: ${lrColumn} must be > 0, found ${x[i][r]} (data row ${r + 1})`);
      x[i][r] = Math.log10(x[i][r]);
    }
    names[i] = `log10_${lrColumn}`;
  }
  let standardize: Record<string, StandardizeInfo> | null = null;
  if (spec.standardize) {
    standardize = {};
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[i][r];
      const mean = s / n;
      let ss = 0;
      for (let r = 0; r < n; r++) ss += (x[i][r] - mean) * (x[i][r] - mean);
      const sd = Math.sqrt(ss / (n - 1));
      if (!(sd > 0)) throw new UserError(`--standardize: predictor ${predictors[i]} is constant (sd = 0) in the rows used; drop it or filter differently`);
      for (let r = 0; r < n; r++) x[i][r] = (x[i][r] - mean) / sd;
      const zname = `z_${names[i]}`;
      standardize[zname] = { of: names[i], mean, sd };
      names[i] = zname;
    }
  }
  const center = centerPredictors(predictors, names, x, n, spec, lrColumn, standardize);
  const powers = termList(k, spec.degree);
  const terms = powers.map((pw) => (pw.every((e) => e === 0) ? 'Intercept' : termFactors(pw, names).join(':')));
  const factors = powers.map((pw) => termFactors(pw, names));
  const columns = powers.map((pw) => {
    const col = new Float64Array(n);
    const order = factorOrder(pw);
    const pt = new Float64Array(k);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) pt[i] = x[i][r];
      col[r] = order.length === 0 ? 1 : termValue(pw, order, pt);
    }
    return col;
  });
  return {
    n,
    columns,
    info: {
      rawPredictors: predictors.slice(),
      predictors: names,
      transform: { lr: spec.logLr ? 'log10' : 'identity', lr_column: lrColumn, standardize, ...(center ? { center } : {}) },
      terms,
      powers,
      factors,
      box,
    },
  };
}

/**
 * Centres the transformed predictors in place (mean: the design centre; baseline: the baseline configuration taken
 * through the same log10 / z-score) and returns what was subtracted, or null when not centred.
 */
function centerPredictors(
  predictors: string[], names: string[], x: Float64Array[], n: number, spec: ModelSpec, lrColumn: string | null,
  standardize: Record<string, StandardizeInfo> | null,
): CenterInfo | null {
  const c = spec.center ?? { kind: 'none' };
  if (c.kind === 'none') return null;
  if (c.kind !== 'mean' && c.kind !== 'baseline') throw new UserError(`center must be none, mean or baseline (got ${String((c as { kind: unknown }).kind)})`);
  const offset: Record<string, number> = {};
  const point: Record<string, number> = {};
  const partial = { rawPredictors: predictors, predictors: names, transform: { lr: spec.logLr ? 'log10' as const : 'identity' as const, lr_column: lrColumn, standardize } };
  let origin: number[];
  if (c.kind === 'mean') {
    origin = x.map((col) => { let s = 0; for (let r = 0; r < n; r++) s += col[r]; return s / n; });
  } else {
    const unknown = Object.keys(c.config).filter((k) => !predictors.includes(k));
    if (unknown.length > 0) throw new UserError(`baseline configuration: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a predictor' : 'are not predictors'} (predictors: ${predictors.join(', ')})`);
    const missing = predictors.filter((p) => c.config[p] === undefined);
    if (missing.length > 0) throw new UserError(`--center baseline needs the baseline's value of ${missing.join(', ')} (from baseline.config, --baseline-card or --baseline-config ${missing.map((m) => `${m}=VALUE`).join(',')})`);
    const raw = predictors.map((p) => c.config[p]!);
    raw.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new UserError(`baseline configuration: ${predictors[i]} = ${v} is not a finite number`);
      if (spec.logLr && predictors[i] === lrColumn && !(v > 0)) throw new UserError(`baseline configuration: ${predictors[i]} must be > 0 on the log10 scale (got ${v})`);
    });
    origin = transformPoint(partial, raw);
  }
  const natural = untransformPoint(partial, origin);
  predictors.forEach((p, i) => {
    offset[names[i]] = origin[i];
    point[p] = c.kind === 'baseline' ? c.config[p]! : natural[i];
    for (let r = 0; r < n; r++) x[i][r] -= origin[i];
  });
  return { kind: c.kind, offset, point };
}

/** Transformed coordinates of a raw point (log10, z-score, then the centre, as the design does). */
export function transformPoint(info: Pick<DesignInfo, 'rawPredictors' | 'predictors' | 'transform'>, raw: ArrayLike<number>): number[] {
  return info.rawPredictors.map((p, i) => {
    let v = raw[i];
    if (info.transform.lr === 'log10' && p === info.transform.lr_column) v = Math.log10(v);
    const st = info.transform.standardize?.[info.predictors[i]];
    if (st) v = (v - st.mean) / st.sd;
    const c = info.transform.center?.offset[info.predictors[i]];
    if (c !== undefined) v -= c;
    return v;
  });
}

/** Inverse of transformPoint. */
export function untransformPoint(info: Pick<DesignInfo, 'rawPredictors' | 'predictors' | 'transform'>, x: ArrayLike<number>): number[] {
  return info.rawPredictors.map((p, i) => {
    let v = x[i];
    const c = info.transform.center?.offset[info.predictors[i]];
    if (c !== undefined) v += c;
    const st = info.transform.standardize?.[info.predictors[i]];
    if (st) v = st.mean + st.sd * v;
    if (info.transform.lr === 'log10' && p === info.transform.lr_column) v = Math.pow(10, v);
    return v;
  });
}

/** Design row (all terms) at a transformed point. */
export function designRow(info: Pick<DesignInfo, 'powers'>, x: ArrayLike<number>): number[] {
  let orders = orderCache.get(info.powers);
  if (!orders) { orders = info.powers.map(factorOrder); orderCache.set(info.powers, orders); }
  const o = orders;
  return info.powers.map((pw, j) => (o[j].length === 0 ? 1 : termValue(pw, o[j], x)));
}

const orderCache = new WeakMap<number[][], number[][]>();
