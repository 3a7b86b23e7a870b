/**
 * Response-surface reading of a fit: the stationary point of a degree-2 surface (canonical analysis as in
 * R's rsm: x* = −½B⁻¹b, eigenvalues of B → maximum / minimum / saddle) and the best predicted point on a
 * dense grid inside the observed box (numpy.linspace arithmetic, linear in the raw units).
 */
import { Matrix, solve } from 'ml-matrix';
import { designRow, transformPoint, untransformPoint } from './design.js';
import type { OlsFit } from './analyze.js';
import { symmetricEigen } from './linalg.js';
import type { Table } from './table.js';

type SurfaceFit = Pick<OlsFit, 'params' | 'powers' | 'predictors' | 'raw_predictors' | 'transform' | 'box' | 'response'>;

export interface StationaryPoint {
  /** in the fit's own coordinates (lr / log10_lr / z_lr …) */
  coordinates: Record<string, number>;
  /** back-transformed to the raw columns */
  coordinates_raw: Record<string, number>;
  predicted_value: number;
  B_matrix: number[][];
  /** ascending */
  eigenvalues_B: number[];
  eigenvalues_hessian: number[];
  nature: 'maximum' | 'minimum' | 'saddle';
  inside_box: boolean;
}

function paramOf(fit: SurfaceFit, pw: number[]): number | null | undefined {
  const key = JSON.stringify(pw);
  const j = fit.powers.findIndex((p) => JSON.stringify(p) === key);
  return j < 0 ? undefined : fit.params[j];
}

/** Stationary point of a full-rank degree-2 fit; null for other degrees or with aliased terms. */
export function stationaryPoint(fit: SurfaceFit): StationaryPoint | null {
  const k = fit.predictors.length;
  if (fit.powers.some((pw) => pw.reduce((a, b) => a + b, 0) > 2)) return null;
  if (fit.params.some((b) => b === null)) return null;
  const unit = (i: number, e = 1, j = -1): number[] => { const v = new Array<number>(k).fill(0); v[i] = e; if (j >= 0) v[j] = 1; return v; };
  const b: number[] = [];
  const B: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    const bi = paramOf(fit, unit(i));
    const bii = paramOf(fit, unit(i, 2));
    if (bi === undefined || bi === null || bii === undefined || bii === null) return null;
    b.push(bi);
    B[i][i] = bii;
    for (let j = i + 1; j < k; j++) {
      const bij = paramOf(fit, unit(i, 1, j));
      if (bij === undefined || bij === null) return null;
      B[i][j] = bij / 2;
      B[j][i] = bij / 2;
    }
  }
  const b0 = paramOf(fit, new Array<number>(k).fill(0));
  if (b0 === undefined || b0 === null) return null;
  // solve with a symmetric diagonal equilibration: raw units make B's entries span ~1e12
  const d = B.map((row, i) => 1 / Math.sqrt(Math.abs(row[i]) || 1));
  const Bs = B.map((row, i) => row.map((v, j) => v * d[i] * d[j]));
  let ys: number[];
  try {
    ys = solve(new Matrix(Bs), Matrix.columnVector(b.map((v, i) => v * d[i]))).getColumn(0);
  } catch {
    return null;
  }
  const x = ys.map((v, i) => -0.5 * v * d[i]);
  if (!x.every(Number.isFinite)) return null;
  let fx = b0;
  let bx = 0;
  for (let i = 0; i < k; i++) bx += b[i] * x[i];
  fx = b0 + 0.5 * bx;
  const eig = symmetricEigen(B).values;
  const nature = eig.every((v) => v < 0) ? 'maximum' : eig.every((v) => v > 0) ? 'minimum' : 'saddle';
  const raw = untransformPoint({ rawPredictors: fit.raw_predictors, predictors: fit.predictors, transform: fit.transform }, x);
  const inside = fit.raw_predictors.every((p, i) => raw[i] >= fit.box[p][0] && raw[i] <= fit.box[p][1]);
  return {
    coordinates: Object.fromEntries(fit.predictors.map((p, i) => [p, x[i]])),
    coordinates_raw: Object.fromEntries(fit.raw_predictors.map((p, i) => [p, raw[i]])),
    predicted_value: fx,
    B_matrix: B,
    eigenvalues_B: eig,
    eigenvalues_hessian: eig.map((v) => 2 * v),
    nature,
    inside_box: inside,
  };
}

export interface GridOptimum {
  direction: 'maximize' | 'minimize';
  grid: string;
  best_index: number[];
  best_point_raw: Record<string, number>;
  best_value: number;
  /** difference to the second-best grid value (how robust the argmax is) */
  gap_to_runner_up: number;
  on_boundary: boolean[];
}

/** Losses are minimised, everything else (accuracy, F1, …) maximised. */
export function defaultDirection(response: string): 'maximize' | 'minimize' {
  return /loss|error|perplexity|runtime|seconds/i.test(response) ? 'minimize' : 'maximize';
}

export function linspace(lo: number, hi: number, num: number): number[] {
  if (num === 1) return [lo];
  const step = (hi - lo) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(lo + i * step);
  out[num - 1] = hi;
  return out;
}

/**
 * Best predicted point on a dense grid over the box of the raw predictors (the fit's data range, or the range
 * of the given table's columns). Null when the fit has aliased terms (its surface is not identified).
 */
const optimumCache = new WeakMap<object, GridOptimum | null>();

export function bestInBox(
  fit: SurfaceFit,
  table?: Table,
  opts: { gridSize?: number; direction?: 'maximize' | 'minimize' } = {},
): GridOptimum | null {
  const plain = table === undefined && opts.gridSize === undefined && opts.direction === undefined;
  if (plain && optimumCache.has(fit)) return optimumCache.get(fit) ?? null;
  const result = gridOptimum(fit, table, opts);
  if (plain) optimumCache.set(fit, result);
  return result;
}

function gridOptimum(fit: SurfaceFit, table: Table | undefined, opts: { gridSize?: number; direction?: 'maximize' | 'minimize' }): GridOptimum | null {
  if (fit.params.some((b) => b === null)) return null;
  const k = fit.raw_predictors.length;
  const g = opts.gridSize ?? Math.max(2, Math.min(41, Math.floor(Math.pow(2.5e6, 1 / k))));
  const box = fit.raw_predictors.map((p): [number, number] => {
    if (!table) return fit.box[p];
    let lo = Infinity, hi = -Infinity;
    for (const r of table.rows) { const v = r[p]; if (typeof v === 'number' && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    return [lo, hi];
  });
  const axes = box.map(([lo, hi]) => linspace(lo, hi, g));
  const direction = opts.direction ?? defaultDirection(fit.response);
  const sign = direction === 'maximize' ? 1 : -1;
  const beta = fit.params as number[];
  const info = { rawPredictors: fit.raw_predictors, predictors: fit.predictors, transform: fit.transform, powers: fit.powers };
  // each coordinate's transform is separate, so transform the axes once
  const taxes = fit.raw_predictors.map((_, i) => axes[i].map((v) => {
    const pt = fit.raw_predictors.map((__, m) => (m === i ? v : axes[m][0]));
    return transformPoint(info, pt)[i];
  }));
  let best = -Infinity, second = -Infinity;
  let bestIdx: number[] = [];
  const idx = new Array<number>(k).fill(0);
  const total = Math.pow(g, k);
  const x = new Float64Array(k);
  for (let t = 0; t < total; t++) {
    let rem = t;
    for (let i = k - 1; i >= 0; i--) { idx[i] = rem % g; rem = Math.floor(rem / g); }
    for (let i = 0; i < k; i++) x[i] = taxes[i][idx[i]];
    const row = designRow(info, x);
    let v = 0;
    for (let j = 0; j < row.length; j++) v += beta[j] * row[j];
    const s = sign * v;
    if (s > best) { second = best; best = s; bestIdx = idx.slice(); } else if (s > second) second = s;
  }
  return {
    direction,
    grid: new Array<number>(k).fill(g).join('x'),
    best_index: bestIdx,
    best_point_raw: Object.fromEntries(fit.raw_predictors.map((p, i) => [p, axes[i][bestIdx[i]]])),
    best_value: sign * best,
    gap_to_runner_up: best - second,
    on_boundary: bestIdx.map((i) => i === 0 || i === g - 1),
  };
}
