/**
 * Global sensitivity of a fitted metric surface: Sobol indices of the polynomial over the design box (each predictor
 * uniform over its observed range in the fitted scale — log10 lr, z-scores, the centred origin: the same surface),
 * computed EXACTLY, with bootstrap CIs over configurations (all seeds of a configuration resampled together).
 *
 * Why hand-written: for a polynomial in independent uniform inputs the ANOVA (Hoeffding–Sobol) decomposition is
 * closed-form — map each predictor onto u ∈ [−1, 1], expand every monomial in Legendre polynomials (orthogonal under
 * the uniform law, E[P_n²] = 1/(2n+1)), and each multi-index's squared coefficient is its share of the variance.
 * No maintained JavaScript library does this (SALib / chaospy / UQLab are Python / Matlab, and their estimators are
 * sampling-based); the algebra is a few dozen lines and exact to rounding.
 */
import { UserError, Rng } from '../util/index.js';
import { buildDesign, transformPoint, type ModelSpec } from './design.js';
import { applyQt, qrAliased, solveUpper } from './linalg.js';
import { quantileLinear } from './noise.js';
import { formatNatural } from './summary.js';
import { checkNumeric, type Table } from './table.js';

/** The polynomial: per term its exponents and coefficient (null = aliased, contributes nothing to the fitted surface). */
export interface Polynomial { powers: number[][]; params: (number | null)[] }

export interface SobolDecomposition {
  /** total variance of the surface over the box */
  variance: number;
  /** D_u / D per non-empty subset u of predictor indices that carries variance (key: indices joined by ',') */
  shares: Map<string, number>;
  first: number[];
  total: number[];
  /** second-order (pure interaction) and closed (S_i + S_j + S_ij) indices per pair i < j, in pair order */
  second: number[];
  closed: number[];
  pairs: [number, number][];
  /** share of the variance in interactions of three or more predictors */
  higher: number;
}

/** Monomial coefficients of the Legendre polynomials P_0…P_d: rows n, columns power. */
function legendreMonomials(d: number): number[][] {
  const P: number[][] = [[1], [0, 1]];
  for (let n = 1; n < d; n++) {
    const next = new Array<number>(n + 2).fill(0);
    for (let k = 0; k <= n; k++) next[k + 1] += ((2 * n + 1) / (n + 1)) * (P[n]![k] ?? 0);
    for (let k = 0; k <= n - 1; k++) next[k] -= (n / (n + 1)) * (P[n - 1]![k] ?? 0);
    P.push(next);
  }
  return P.slice(0, d + 1);
}

/** L[k][n]: u^k = Σ_n L[k][n] P_n(u), from L[k][n] = (2n+1) E[u^k P_n(u)] under u ~ U(−1, 1). */
function monomialToLegendre(d: number): number[][] {
  const P = legendreMonomials(d);
  const moment = (m: number): number => (m % 2 === 1 ? 0 : 1 / (m + 1));
  return Array.from({ length: d + 1 }, (_, k) => Array.from({ length: d + 1 }, (_, n) => {
    let s = 0;
    P[n]!.forEach((c, j) => { s += c * moment(k + j); });
    return (2 * n + 1) * s;
  }));
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Exact Sobol decomposition of `poly` with predictor i uniform on box[i] = [lo, hi] (its own scale). */
export function sobolDecomposition(poly: Polynomial, box: [number, number][]): SobolDecomposition {
  const k = box.length;
  const d = Math.max(1, ...poly.powers.flat());
  const L = monomialToLegendre(d);
  // per predictor and exponent e: x^e = Σ_n A[i][e][n] P_n(u), x = m + h u
  const A = box.map(([lo, hi]) => {
    const m = (lo + hi) / 2, h = (hi - lo) / 2;
    return Array.from({ length: d + 1 }, (_, e) => Array.from({ length: d + 1 }, (_, n) => {
      let s = 0;
      for (let q = n; q <= e; q++) s += binomial(e, q) * m ** (e - q) * h ** q * L[q]![n]!;
      return s;
    }));
  });
  const coef = new Map<string, { n: number[]; c: number }>();
  poly.powers.forEach((pw, j) => {
    const c = poly.params[j];
    if (c === null || c === undefined || c === 0) return;
    if (!Number.isFinite(c)) throw new UserError('Sobol indices: the fitted surface has a non-finite coefficient');
    // the product over predictors of each one's Legendre expansion
    let acc: { n: number[]; c: number }[] = [{ n: [], c }];
    for (let i = 0; i < k; i++) {
      const e = pw[i] ?? 0;
      const next: { n: number[]; c: number }[] = [];
      for (const a of acc) for (let n = 0; n <= e; n++) { const v = A[i]![e]![n]!; if (v !== 0) next.push({ n: [...a.n, n], c: a.c * v }); }
      acc = next;
    }
    for (const a of acc) {
      const key = a.n.join(',');
      const cur = coef.get(key);
      if (cur) cur.c += a.c; else coef.set(key, { n: a.n, c: a.c });
    }
  });
  const parts = new Map<string, number>();
  let variance = 0;
  for (const { n, c } of coef.values()) {
    if (n.every((x) => x === 0)) continue;
    const v = (c * c) / n.reduce((p, x) => p * (2 * x + 1), 1);
    const u = n.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0).join(',');
    parts.set(u, (parts.get(u) ?? 0) + v);
    variance += v;
  }
  const shares = new Map<string, number>();
  for (const [u, v] of parts) shares.set(u, variance > 0 ? v / variance : NaN);
  const share = (u: string): number => shares.get(u) ?? (variance > 0 ? 0 : NaN);
  const first = Array.from({ length: k }, (_, i) => share(String(i)));
  const total = Array.from({ length: k }, (_, i) => {
    if (!(variance > 0)) return NaN;
    let s = 0;
    for (const [u, v] of shares) if (u.split(',').includes(String(i))) s += v;
    return s;
  });
  const pairs: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
  const second = pairs.map(([i, j]) => share(`${i},${j}`));
  const closed = pairs.map(([i, j], q) => first[i]! + first[j]! + second[q]!);
  let higher = variance > 0 ? 0 : NaN;
  for (const [u, v] of shares) if (u.split(',').length >= 3) higher += v;
  return { variance, shares, first, total, second, closed, pairs, higher };
}

export type Interval = [number, number];

export interface SobolIndices {
  response: string;
  /** raw predictors, and the scale each is uniform on (log10 for a log-scaled learning rate) */
  predictors: string[];
  scale: Record<string, 'linear' | 'log10' | 'z-score'>;
  /** the design box in natural units */
  box: Record<string, [number, number]>;
  variance: number;
  first: Record<string, number>;
  total: Record<string, number>;
  /** per pair `a:b`: the pure interaction share S_ab and the closed index S_a + S_b + S_ab */
  second: Record<string, number>;
  closed: Record<string, number>;
  higher: number;
  /** percentile intervals over bootstrap resamples of the configurations (null: B = 0 or too few configurations) */
  ci: { first: Record<string, Interval>; total: Record<string, Interval>; second: Record<string, Interval>; closed: Record<string, Interval> } | null;
  bootstrap: { B: number; seed: number; level: number; configurations: number; failed: number } | null;
  warnings: string[];
}

export interface SobolOptions {
  predictors: string[];
  response: string;
  spec: ModelSpec;
  /** bootstrap resamples (default 1000; 0: none) */
  B?: number;
  /** RNG seed (the project's MT19937), default 0 */
  seed?: number;
  /** CI level, default 0.95 */
  level?: number;
}

function solve(columns: Float64Array[], rows: number[], y: number[], keep: number[]): number[] | null {
  const n = rows.length;
  const cols = keep.map((j) => Float64Array.from(rows, (r) => columns[j]![r]!));
  const qr = qrAliased(cols, n);
  if (qr.aliased.length > 0) return null;
  const c = applyQt(qr, Float64Array.from(rows, (r) => y[r]!));
  const b = solveUpper(qr.r, c);
  return b.map((v, i) => v / qr.norms[i]!);
}

/**
 * Sobol indices of the degree-`spec.degree` OLS surface of `response` over the data's box, and their bootstrap CIs:
 * each resample draws the configurations (distinct predictor tuples) with replacement, keeping all rows (seeds) of a
 * drawn configuration, refits the same terms and recomputes the indices over the same box. A resample whose design
 * is singular (too few distinct configurations drawn) is counted in `failed` and left out.
 */
export function sobolIndices(table: Table, opts: SobolOptions): SobolIndices {
  const { predictors, response } = opts;
  const B = opts.B ?? 1000;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(B) || B < 0) throw new UserError(`bootstrap resamples must be a whole number ≥ 0 (got ${B})`);
  if (!(level > 0 && level < 1)) throw new UserError(`CI level must be between 0 and 1 (got ${level})`);
  const use: number[] = [];
  for (let i = 0; i < table.rows.length; i++) if ([...predictors, response].every((c) => checkNumeric(table, i, c) !== null)) use.push(i);
  const raw = predictors.map((p) => use.map((i) => checkNumeric(table, i, p) as number));
  const y = use.map((i) => checkNumeric(table, i, response) as number);
  const design = buildDesign(predictors, raw, opts.spec);
  const info = design.info;
  const all = use.map((_, r) => r);
  // aliased terms (R's convention) are dropped from every refit, as from the fit
  const qr = qrAliased(design.columns, design.n);
  const keep = qr.kept;
  const params = (b: number[]): (number | null)[] => info.terms.map((_, j) => { const q = keep.indexOf(j); return q < 0 ? null : b[q]!; });
  const base = solve(design.columns, all, y, keep);
  if (!base) throw new UserError(`Sobol indices for ${response}: the design cannot be fitted`);
  const lo = transformPoint(info, predictors.map((p) => info.box[p]![0]));
  const hi = transformPoint(info, predictors.map((p) => info.box[p]![1]));
  const box = predictors.map((_, i) => [lo[i]!, hi[i]!] as [number, number]);
  const dec = sobolDecomposition({ powers: info.powers, params: params(base) }, box);
  const warnings: string[] = [];
  if (!(dec.variance > 0)) warnings.push(`${response}: the fitted surface is flat over the box: Sobol indices are undefined`);
  if (qr.aliased.length > 0) warnings.push(`${response}: aliased terms (${qr.aliased.map((j) => info.terms[j]).join(', ')}) contribute nothing to the surface whose indices are shown`);

  const pairName = ([i, j]: [number, number]): string => `${predictors[i]}:${predictors[j]}`;
  const byName = (v: number[], names: string[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, v[i]!]));
  const pairNames = dec.pairs.map(pairName);

  // configurations: distinct predictor tuples
  const groups = new Map<string, number[]>();
  all.forEach((r) => {
    const key = JSON.stringify(raw.map((c) => c[r]));
    const g = groups.get(key);
    if (g) g.push(r); else groups.set(key, [r]);
  });
  const configs = [...groups.values()];
  let ci: SobolIndices['ci'] = null;
  let bootstrap: SobolIndices['bootstrap'] = null;
  if (B > 0 && dec.variance > 0 && configs.length > keep.length) {
    const rng = new Rng(seed);
    const k = predictors.length;
    const reps = { first: Array.from({ length: k }, () => [] as number[]), total: Array.from({ length: k }, () => [] as number[]), second: dec.pairs.map(() => [] as number[]), closed: dec.pairs.map(() => [] as number[]) };
    let failed = 0;
    for (let b = 0; b < B; b++) {
      const rows: number[] = [];
      for (let c = 0; c < configs.length; c++) rows.push(...configs[rng.int(configs.length)]!);
      const fit = solve(design.columns, rows, y, keep);
      if (!fit) { failed++; continue; }
      const d = sobolDecomposition({ powers: info.powers, params: params(fit) }, box);
      if (!(d.variance > 0)) { failed++; continue; }
      d.first.forEach((v, i) => reps.first[i]!.push(v));
      d.total.forEach((v, i) => reps.total[i]!.push(v));
      d.second.forEach((v, i) => reps.second[i]!.push(v));
      d.closed.forEach((v, i) => reps.closed[i]!.push(v));
    }
    const a = (1 - level) / 2;
    const interval = (xs: number[]): Interval => {
      const s = Float64Array.from(xs).sort();
      return [quantileLinear(s, a), quantileLinear(s, 1 - a)];
    };
    if (B - failed >= 2) {
      ci = {
        first: Object.fromEntries(predictors.map((p, i) => [p, interval(reps.first[i]!)])),
        total: Object.fromEntries(predictors.map((p, i) => [p, interval(reps.total[i]!)])),
        second: Object.fromEntries(pairNames.map((p, i) => [p, interval(reps.second[i]!)])),
        closed: Object.fromEntries(pairNames.map((p, i) => [p, interval(reps.closed[i]!)])),
      };
    }
    bootstrap = { B, seed, level, configurations: configs.length, failed };
    if (failed > 0.1 * B) warnings.push(`${response}: ${failed} of ${B} bootstrap resamples drew too few distinct configurations to fit the model and were left out`);
  } else if (B > 0 && configs.length <= keep.length) {
    warnings.push(`${response}: ${configs.length} configurations for ${keep.length} terms: no bootstrap CIs (resamples could not be fitted)`);
  }
  const scale = Object.fromEntries(predictors.map((p, i) => [p, info.transform.standardize ? 'z-score' : info.transform.lr === 'log10' && p === info.transform.lr_column ? 'log10' : 'linear'])) as SobolIndices['scale'];
  if (info.transform.standardize && info.transform.lr === 'log10' && info.transform.lr_column) scale[info.transform.lr_column] = 'log10';
  return {
    response, predictors, scale, box: info.box, variance: dec.variance,
    first: byName(dec.first, predictors), total: byName(dec.total, predictors),
    second: byName(dec.second, pairNames), closed: byName(dec.closed, pairNames), higher: dec.higher,
    ci, bootstrap, warnings,
  };
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'NA';
}

/** A text table: first-order and total index per hyperparameter, then the pairs, with CIs. */
export function formatSobol(s: SobolIndices): string {
  const w = Math.max(14, ...s.predictors.map((p) => p.length + 2), ...Object.keys(s.second).map((p) => p.length + 2));
  const iv = (x: Interval | undefined): string => (x ? `[${pct(x[0])}, ${pct(x[1])}]` : '');
  const lvl = s.bootstrap ? `${Math.round(s.bootstrap.level * 100)}% CI` : 'CI';
  const out = [
    `Sobol indices of the fitted ${s.response} surface over the design box (uniform in ${s.predictors.map((p) => `${p} ∈ [${formatNatural(s.box[p]![0])}, ${formatNatural(s.box[p]![1])}]${s.scale[p] === 'log10' ? ' on log10' : ''}`).join(', ')}); variance ${s.variance.toExponential(3)}`,
    `${'hyperparameter'.padEnd(w)}${'first S_i'.padStart(10)}${lvl.padStart(20)}${'total T_i'.padStart(11)}${lvl.padStart(20)}`,
  ];
  for (const p of s.predictors) out.push(`${p.padEnd(w)}${pct(s.first[p]!).padStart(10)}${iv(s.ci?.first[p]).padStart(20)}${pct(s.total[p]!).padStart(11)}${iv(s.ci?.total[p]).padStart(20)}`);
  if (Object.keys(s.second).length > 0) {
    out.push(`${'pair'.padEnd(w)}${'S_ij'.padStart(10)}${lvl.padStart(20)}${'closed'.padStart(11)}${lvl.padStart(20)}`);
    for (const p of Object.keys(s.second)) out.push(`${p.padEnd(w)}${pct(s.second[p]!).padStart(10)}${iv(s.ci?.second[p]).padStart(20)}${pct(s.closed[p]!).padStart(11)}${iv(s.ci?.closed[p]).padStart(20)}`);
  }
  if (s.higher > 0) out.push(`interactions of 3+ hyperparameters: ${pct(s.higher)}`);
  if (s.bootstrap) out.push(`bootstrap: ${s.bootstrap.B} resamples of ${s.bootstrap.configurations} configurations (seeds kept together), seed ${s.bootstrap.seed}${s.bootstrap.failed ? `, ${s.bootstrap.failed} left out (singular)` : ''}`);
  for (const w2 of s.warnings) out.push(`warning: ${w2}`);
  return out.join('\n');
}
