/**
 * Binary logistic regression by Newton–Raphson (IRLS), with statsmodels `Logit` inference: SEs from the inverse
 * observed information (X'WX)⁻¹, z-tests, McFadden pseudo-R², and the likelihood-ratio test against the intercept-only
 * model. Perfect separation (a coefficient running off to ±∞) is reported, not hidden.
 */
import { UserError, lazyRequire } from '../util/index.js';
import { normalTwoSidedP, Z_975 } from './distributions.js';
import { Matrix, inverse, solve } from 'ml-matrix';
import type GammaincModule from '@stdlib/math-base-special-gammainc';
// required on first use (see util/lazy.ts)
const gammainc = lazyRequire<typeof GammaincModule>('@stdlib/math-base-special-gammainc');

export interface LogitFit {
  terms: string[];
  params: number[];
  bse: number[];
  zvalues: number[];
  pvalues: number[];
  conf_int: Array<[number, number]>;
  llf: number;
  llnull: number;
  prsquared: number;
  /** likelihood-ratio χ² against the intercept-only model, df, p */
  llr: number;
  llr_df: number;
  llr_pvalue: number;
  n: number;
  iterations: number;
  converged: boolean;
  /** fitted probabilities reach 0 or 1 (the MLE does not exist; estimates and SEs are meaningless) */
  separation: boolean;
  warnings: string[];
}

function logLik(X: ArrayLike<number>[], y: ArrayLike<number>, beta: number[]): { llf: number; mu: Float64Array } {
  const n = y.length;
  const mu = new Float64Array(n);
  let llf = 0;
  for (let i = 0; i < n; i++) {
    let eta = 0;
    for (let j = 0; j < X.length; j++) eta += X[j]![i]! * beta[j]!;
    mu[i] = 1 / (1 + Math.exp(-eta));
    // log(1 + e^η) computed stably
    const softplus = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    llf += y[i]! * eta - softplus;
  }
  return { llf, mu };
}

/** Fit P(y = 1) = logistic(Xβ); `X` holds the design columns (an intercept column included by the caller). */
export function fitLogit(X: ArrayLike<number>[], y: ArrayLike<number>, terms: string[], opts: { maxIter?: number; tol?: number } = {}): LogitFit {
  const n = y.length;
  const p = X.length;
  if (n <= p) throw new UserError(`logistic regression: ${n} observations for ${p} parameters`);
  for (let i = 0; i < n; i++) if (y[i] !== 0 && y[i] !== 1) throw new UserError('logistic regression: the response must be 0 or 1');
  const ones = Array.from(y).reduce((a, b) => a + b, 0);
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-10;
  let beta = new Array<number>(p).fill(0);
  let { llf, mu } = logLik(X, y, beta);
  let iterations = 0;
  let converged = false;
  let info: number[][] = [];
  for (; iterations < maxIter; iterations++) {
    const grad = new Array<number>(p).fill(0);
    info = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < n; i++) {
      const w = mu[i]! * (1 - mu[i]!);
      const r = y[i]! - mu[i]!;
      for (let a = 0; a < p; a++) {
        grad[a]! += X[a]![i]! * r;
        for (let b = a; b < p; b++) info[a]![b]! += X[a]![i]! * w * X[b]![i]!;
      }
    }
    for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) info[a]![b] = info[b]![a]!;
    let step: number[];
    try {
      step = solve(new Matrix(info), Matrix.columnVector(grad)).to1DArray();
    } catch {
      break;
    }
    if (!step.every(Number.isFinite)) break;
    // step halving keeps every iteration an ascent (Newton can overshoot far from the optimum)
    let t = 1;
    let next = beta.map((b, j) => b + step[j]!);
    let ev = logLik(X, y, next);
    while (ev.llf < llf - 1e-12 && t > 1e-8) {
      t /= 2;
      next = beta.map((b, j) => b + t * step[j]!);
      ev = logLik(X, y, next);
    }
    const change = Math.max(...step.map((s) => Math.abs(t * s)));
    beta = next;
    const prev = llf;
    ({ llf, mu } = ev);
    if (change < tol || Math.abs(llf - prev) < tol * 1e-2 * (1 + Math.abs(llf))) { converged = true; iterations++; break; }
  }
  // information at the final estimate
  info = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < n; i++) {
    const w = mu[i]! * (1 - mu[i]!);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) info[a]![b]! += X[a]![i]! * w * X[b]![i]!;
  }
  const cov = invertSym(info);
  const bse = beta.map((_, j) => (cov ? Math.sqrt(cov[j]![j]!) : NaN));
  const zvalues = beta.map((b, j) => b / bse[j]!);
  const pbar = ones / n;
  const llnull = ones === 0 || ones === n ? 0 : ones * Math.log(pbar) + (n - ones) * Math.log(1 - pbar);
  const separation = Array.from(mu).some((m) => m < 1e-10 || m > 1 - 1e-10);
  const warnings: string[] = [];
  if (separation) warnings.push('perfect or quasi-complete separation: some fitted probabilities are 0 or 1, so the estimates and SEs are not meaningful');
  if (!converged) warnings.push(`Newton–Raphson did not converge in ${maxIter} iterations`);
  if (ones === 0 || ones === n) warnings.push(`the response is constant (${ones} of ${n} are 1)`);
  const llr = 2 * (llf - llnull);
  return {
    terms,
    params: beta,
    bse,
    zvalues,
    pvalues: zvalues.map(normalTwoSidedP),
    conf_int: beta.map((b, j) => [b - Z_975 * bse[j]!, b + Z_975 * bse[j]!] as [number, number]),
    llf,
    llnull,
    prsquared: llnull !== 0 ? 1 - llf / llnull : NaN,
    llr,
    llr_df: p - 1,
    llr_pvalue: p > 1 ? chi2Upper(llr, p - 1) : NaN,
    n,
    iterations,
    converged,
    separation,
    warnings,
  };
}

function invertSym(m: number[][]): number[][] | null {
  try {
    const inv = inverse(new Matrix(m)).to2DArray();
    return inv.every((r) => r.every(Number.isFinite)) ? inv : null;
  } catch {
    return null;
  }
}

/** Upper tail of χ²_df. */
function chi2Upper(x: number, df: number): number {
  if (!(x > 0)) return 1;
  return gammainc()(x / 2, df / 2, true, true);
}
