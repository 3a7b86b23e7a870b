/**
 * Ordinary least squares with statsmodels' reported quantities, computed the numerically careful way
 * (see ../shared/fixtures/ols/README.md "Conventions"): a Householder QR of unit-norm-scaled columns with
 * R's aliasing rule, (XᵀX)⁻¹ = R⁻¹R⁻ᵀ, leverages from Q, HC sandwiches as R⁻¹(Qᵀ diag(w) Q)R⁻ᵀ, robust Wald F
 * on the correlation-scaled covariance, ANOVA sums of squares as projections (no SSR differences), and the
 * condition number from a one-sided Jacobi SVD of the raw design. Aliased terms follow R: null estimates,
 * named in `aliased`, df from the rank.
 */
import { UserError } from '../util/index.js';
import { fUpperP, normalTwoSidedP, tTwoSidedP, tUpperQuantile, Z_975 } from './distributions.js';
import {
  ALIAS_TOL, applyQ, applyQt, invUpper, jacobiSingularValues, projectionOf, qrAliased, residualOf, solveUpper, sumSq, symmetricEigen, thinQ,
} from './linalg.js';

export type Num = number | null;
export type Interval = [number, number] | null;

export interface RobustCov {
  bse: Num[];
  zvalues: Num[];
  /** normal-based two-sided p-values (statsmodels' default for cov_type='HC*') */
  pvalues: Num[];
  /** Student-t (df_resid) p-values */
  pvalues_t: Num[];
  conf_int: Interval[];
  conf_int_t: Interval[];
  /** Wald test of all non-intercept coefficients, F with (f_df_num, df_resid) */
  fvalue: number;
  f_pvalue: number;
  f_df_num: number;
}

export interface AnovaRow { term: string; sum_sq: number; df: number; F: number; 'PR(>F)': number }

export interface OlsCore {
  terms: string[];
  aliased: string[];
  params: Num[];
  bse: Num[];
  tvalues: Num[];
  pvalues: Num[];
  conf_int: Interval[];
  nobs: number;
  rank: number;
  df_model: number;
  df_resid: number;
  ssr: number;
  centered_tss: number;
  ess: number;
  rsquared: number;
  rsquared_adj: number;
  mse_resid: number;
  mse_model: number;
  fvalue: number;
  f_pvalue: number;
  llf: number;
  aic: number;
  bic: number;
  aic_r: number;
  bic_r: number;
  singular_values: number[];
  condition_number: number;
  condition_number_unit_columns: number;
  resid: number[];
  fittedvalues: number[];
  hat_diag: number[];
  hc1: RobustCov;
  hc3: RobustCov;
  /** BH-adjusted p-values over the non-intercept, non-aliased terms; order terms[1:] */
  pvalues_fdr_bh: Num[];
  'fdr_bh_reject_0.05': (boolean | null)[];
  /** order terms[1:]; null for an aliased term */
  vif: Num[];
  /** one row per formula term (as statsmodels' anova_lm typ=2): a categorical's dummies are one joint row, e.g. C(block) */
  anova_type2: AnovaRow[];
  anova_type2_residual: { sum_sq: number; df: number };
  /** sequential (typ=1), rows as anova_type2's */
  anova_type1: AnovaRow[];
  /** (XᵀX)⁻¹ over all terms (null rows/cols for aliased) — for predictions and contrasts */
  normalized_cov_params: Num[][];
  warnings: string[];
}

export interface OlsInput {
  terms: string[];
  /** formula factors of each term (type-II marginality) */
  factors: string[][];
  columns: ArrayLike<number>[];
  y: ArrayLike<number>;
  /** used in messages */
  label?: string;
}

function bhAdjust(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const adj = new Array<number>(m);
  let run = Infinity;
  for (let k = m - 1; k >= 0; k--) {
    const i = order[k];
    run = Math.min(run, Math.min(1, (p[i] * m) / (k + 1)));
    adj[i] = run;
  }
  return adj;
}

function robust(
  w: Float64Array, q: Float64Array[], rinv: number[][], keptNorms: number[], beta: number[], keptTerms: number[], dfResid: number, tq: number,
  p: number, effects: ArrayLike<number>,
): RobustCov {
  const r = q.length;
  const n = w.length;
  const m: number[][] = Array.from({ length: r }, () => new Array<number>(r).fill(0));
  for (let a = 0; a < r; a++) {
    for (let b = a; b < r; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += q[a][i] * w[i] * q[b][i];
      m[a][b] = s;
      m[b][a] = s;
    }
  }
  // V_scaled = Rinv M Rinvᵀ (coefficients of the unit-norm columns)
  const tmp: number[][] = Array.from({ length: r }, () => new Array<number>(r).fill(0));
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) { let s = 0; for (let c = a; c < r; c++) s += rinv[a][c] * m[c][b]; tmp[a][b] = s; }
  const v: number[][] = Array.from({ length: r }, () => new Array<number>(r).fill(0));
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) { let s = 0; for (let c = b; c < r; c++) s += tmp[a][c] * rinv[b][c]; v[a][b] = s; }
  const bse: Num[] = new Array<Num>(p).fill(null);
  const z: Num[] = new Array<Num>(p).fill(null);
  const pv: Num[] = new Array<Num>(p).fill(null);
  const pvt: Num[] = new Array<Num>(p).fill(null);
  const ci: Interval[] = new Array<Interval>(p).fill(null);
  const cit: Interval[] = new Array<Interval>(p).fill(null);
  for (let a = 0; a < r; a++) {
    const j = keptTerms[a];
    const se = Math.sqrt(v[a][a]) / keptNorms[a];
    const b = beta[a];
    bse[j] = se;
    z[j] = b / se;
    pv[j] = normalTwoSidedP(b / se);
    pvt[j] = tTwoSidedP(b / se, dfResid);
    ci[j] = [b - Z_975 * se, b + Z_975 * se];
    cit[j] = [b - tq * se, b + tq * se];
  }
  // Wald F over the non-intercept coefficients. The test is invariant to reparametrising them, so it is taken
  // in the orthonormal basis of Q (intercept first): γ = (Qᵀy)_R, Cov(γ) = (Qᵀ diag(w) Q)_RR — no R⁻¹, so the
  // design's conditioning is not squared into the statistic.
  const idx: number[] = [];
  for (let a = 0; a < r; a++) if (keptTerms[a] !== 0) idx.push(a);
  let fvalue = NaN, fp = NaN, J = 0, quad = 0;
  const interceptFirst = keptTerms[0] === 0;
  if (idx.length > 0 && interceptFirst) {
    const dg = idx.map((a) => Math.sqrt(m[a][a]));
    const corr = idx.map((a, i) => idx.map((b, j) => m[a][b] / (dg[i] * dg[j])));
    const zz = idx.map((a, i) => effects[a] / dg[i]);
    const chol = choleskySolveQuad(corr, zz);
    if (chol !== null) {
      J = idx.length;
      quad = chol;
    } else {
      // singular robust covariance: pseudo-inverse over the eigenvalues above the rank tolerance
      const { values, vectors } = symmetricEigen(corr);
      const lmax = Math.max(...values);
      const tol = lmax * idx.length * 2.220446049250313e-16;
      for (let e = 0; e < values.length; e++) {
        if (!(values[e] > tol)) continue;
        J++;
        let u = 0;
        for (let i = 0; i < idx.length; i++) u += vectors[i][e] * zz[i];
        quad += (u * u) / values[e];
      }
    }
    if (J > 0) { fvalue = quad / J; fp = fUpperP(fvalue, J, dfResid); }
  }
  return { bse, zvalues: z, pvalues: pv, pvalues_t: pvt, conf_int: ci, conf_int_t: cit, fvalue, f_pvalue: fp, f_df_num: J };
}

/** zᵀC⁻¹z through a Cholesky factor of C; null when C is not numerically positive definite. */
function choleskySolveQuad(c: number[][], z: number[]): number | null {
  const k = c.length;
  const l: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let j = 0; j < k; j++) {
    let d = c[j][j];
    for (let m = 0; m < j; m++) d -= l[j][m] * l[j][m];
    if (!(d > 1e-13 * c[j][j])) return null;
    l[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < k; i++) {
      let s = c[i][j];
      for (let m = 0; m < j; m++) s -= l[i][m] * l[j][m];
      l[i][j] = s / l[j][j];
    }
  }
  let quad = 0;
  const w = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    let s = z[i];
    for (let m = 0; m < i; m++) s -= l[i][m] * w[m];
    w[i] = s / l[i][i];
    quad += w[i] * w[i];
  }
  return quad;
}

/** A relative residual at or below this is an exact linear combination up to rounding (not merely numerically aliased). */
const EXACT_ALIAS = 1e-12;
/** Residual RMS relative to the largest |y| below which the residuals are rounding error (~4500 ulps). */
const EXACT_FIT = 1e-12;

/** "x is an exact linear combination of earlier terms; y is numerically aliased (relative residual 5e-8 < 1e-7)". */
function describeAliasing(aliased: string[], residuals: number[]): string {
  const exact = aliased.filter((_, i) => residuals[i] <= EXACT_ALIAS);
  const parts: string[] = [];
  if (exact.length > 0) parts.push(`${exact.join(', ')} ${exact.length === 1 ? 'is an exact linear combination' : 'are exact linear combinations'} of earlier terms`);
  aliased.forEach((t, i) => {
    if (residuals[i] > EXACT_ALIAS) parts.push(`${t} is numerically aliased with earlier terms (relative residual ${residuals[i].toExponential(1)} < ${ALIAS_TOL.toExponential(0)})`);
  });
  return parts.join('; ');
}

/** Whether the factor set a is a proper subset of b. */
function properSubset(a: string[], b: string[]): boolean {
  return a.length < b.length && a.every((f) => b.includes(f));
}

/**
 * The formula terms of the non-intercept columns, in order of first column: columns with the same factor set are one
 * term (a categorical's treatment dummies), named by its factors as patsy does (C(block), also with one dummy);
 * any other column alone keeps its own name.
 */
function anovaTerms(terms: string[], factors: string[][]): { term: string; columns: number[] }[] {
  const byKey = new Map<string, { term: string; columns: number[] }>();
  for (let j = 1; j < terms.length; j++) {
    const key = [...factors[j]].sort().join('\u0000');
    const name = factors[j].join(':');
    const g = byKey.get(key);
    if (g) {
      g.columns.push(j);
      g.term = name;
    } else byKey.set(key, { term: terms[j].startsWith(`${name}[`) ? name : terms[j], columns: [j] }); // C(block)[T.2] alone: C(block)
  }
  return [...byKey.values()];
}

export function fitOls(input: OlsInput): OlsCore {
  const { terms, columns, y, factors } = input;
  const n = y.length;
  const p = terms.length;
  const warnings: string[] = [];
  const qr = qrAliased(columns, n);
  const r = qr.kept.length;
  const dfResid = n - r;
  const where = input.label ? ` (${input.label})` : '';
  if (dfResid < 1) {
    throw new UserError(
      `too few rows${where}: ${n} observation(s) for ${p} terms (rank ${r}); OLS needs more observations than estimable terms (n > p) — use a lower --degree or more data`,
    );
  }
  const aliased = qr.aliased.map((j) => terms[j]);
  if (aliased.length > 0) warnings.push(`rank-deficient design (rank ${r} of ${p}): ${describeAliasing(aliased, qr.aliasResidual)} — reported as aliased (null), as R's lm() does`);
  const keptNorms = qr.kept.map((j) => qr.norms[j]);
  // An exactly constant response (e.g. every run predicting the majority class) has nothing to explain: all of Qᵀy
  // beyond the intercept direction is rounding noise, which would otherwise come out as slopes with p-values.
  const constantY = n > 0 && Array.prototype.every.call(y, (v: number) => v === y[0]) && terms[0] === 'Intercept' && qr.kept[0] === 0;
  const c = applyQt(qr, y);
  if (constantY) for (let i = 1; i < c.length; i++) c[i] = 0;
  const bScaled = solveUpper(qr.r, c);
  const beta = bScaled.map((b, a) => b / keptNorms[a]);
  if (constantY) beta[0] = y[0]; // the intercept alone fits it, exactly
  const cr = Float64Array.from(c);
  for (let i = 0; i < r; i++) cr[i] = 0;
  const resid = applyQ(qr, cr);
  const fitted = new Float64Array(n);
  for (let i = 0; i < n; i++) fitted[i] = y[i] - resid[i];
  const ssr = sumSq(resid);
  let ybar = 0;
  for (let i = 0; i < n; i++) ybar += y[i];
  ybar /= n;
  let tss = 0;
  if (!constantY) for (let i = 0; i < n; i++) tss += (y[i] - ybar) * (y[i] - ybar);
  const ess = tss - ssr;
  const dfModel = r - 1;
  const rsquared = tss > 0 ? 1 - ssr / tss : NaN;
  const rsquaredAdj = 1 - ((n - 1) / dfResid) * (1 - rsquared);
  const mseResid = ssr / dfResid;
  const mseModel = ess / dfModel;
  const fvalue = tss > 0 ? mseModel / mseResid : NaN;
  const fPvalue = dfModel > 0 ? fUpperP(fvalue, dfModel, dfResid) : NaN;
  let yMax = 0;
  for (let i = 0; i < n; i++) yMax = Math.max(yMax, Math.abs(y[i]));
  // Sums of squares of values near 1e154 and above overflow double precision: every test would be meaningless.
  if (!Number.isFinite(tss) || !Number.isFinite(ssr) || !beta.every(Number.isFinite)) {
    throw new UserError(
      `the fit overflows double precision${where}: response values up to ${yMax.toExponential(3)} give sums of squares beyond 1.8e308 — rescale the response (e.g. divide it by a power of ten)`,
    );
  }
  if (!(tss > 0)) warnings.push('the response is constant: R², F and p-values are undefined');
  else if (Math.sqrt(ssr / n) <= EXACT_FIT * yMax) {
    warnings.push(
      `the model reproduces the response exactly (residual RMS ${Math.sqrt(ssr / n).toExponential(2)} is at rounding level for values up to ${yMax.toExponential(3)}): R², F, standard errors and p-values are degenerate`,
    );
  }
  const llf = -(n / 2) * Math.log(2 * Math.PI) - (n / 2) * Math.log(ssr / n) - n / 2;
  const aic = -2 * llf + 2 * r;
  const bic = -2 * llf + Math.log(n) * r;

  const rinv = invUpper(qr.r);
  const covScaled: number[][] = Array.from({ length: r }, (_, a) =>
    Array.from({ length: r }, (_, b) => { let s = 0; for (let m = Math.max(a, b); m < r; m++) s += rinv[a][m] * rinv[b][m]; return s; }));
  const tq = tUpperQuantile(0.025, dfResid);
  const params: Num[] = new Array<Num>(p).fill(null);
  const bse: Num[] = new Array<Num>(p).fill(null);
  const tvalues: Num[] = new Array<Num>(p).fill(null);
  const pvalues: Num[] = new Array<Num>(p).fill(null);
  const confInt: Interval[] = new Array<Interval>(p).fill(null);
  const ncov: Num[][] = Array.from({ length: p }, () => new Array<Num>(p).fill(null));
  for (let a = 0; a < r; a++) {
    const j = qr.kept[a];
    const se = Math.sqrt(mseResid * covScaled[a][a]) / keptNorms[a];
    params[j] = beta[a];
    bse[j] = se;
    tvalues[j] = constantY ? NaN : beta[a] / se;
    pvalues[j] = constantY ? NaN : tTwoSidedP(beta[a] / se, dfResid);
    confInt[j] = [beta[a] - tq * se, beta[a] + tq * se];
    for (let b = 0; b < r; b++) ncov[j][qr.kept[b]] = covScaled[a][b] / (keptNorms[a] * keptNorms[b]);
  }

  // leverages and heteroscedasticity-consistent covariances
  const q = thinQ(qr);
  const hat = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = 0; for (let a = 0; a < r; a++) s += q[a][i] * q[a][i]; hat[i] = s; }
  const w1 = new Float64Array(n);
  const w3 = new Float64Array(n);
  let highLeverage = 0;
  for (let i = 0; i < n; i++) {
    const e2 = resid[i] * resid[i];
    w1[i] = (e2 * n) / dfResid;
    const d = 1 - hat[i];
    if (d <= 1e-12) highLeverage++;
    w3[i] = d <= 1e-12 ? NaN : e2 / (d * d);
  }
  if (highLeverage > 0) warnings.push(`${highLeverage} observation(s) have leverage 1 (fitted exactly): HC3 is undefined`);
  const hc1 = robust(w1, q, rinv, keptNorms, beta, qr.kept, dfResid, tq, p, c);
  const hc3 = robust(w3, q, rinv, keptNorms, beta, qr.kept, dfResid, tq, p, c);
  if (constantY) {
    for (const hc of [hc1, hc3]) for (const a of [hc.zvalues, hc.pvalues, hc.pvalues_t]) for (let j = 0; j < p; j++) if (a[j] !== null) a[j] = NaN;
  }

  // Benjamini–Hochberg over non-intercept, non-aliased terms
  const bhIdx: number[] = [];
  for (let j = 1; j < p; j++) if (pvalues[j] !== null) bhIdx.push(j);
  const adj = bhAdjust(bhIdx.map((j) => pvalues[j] as number));
  const pBh: Num[] = new Array<Num>(p - 1).fill(null);
  const reject: (boolean | null)[] = new Array<boolean | null>(p - 1).fill(null);
  bhIdx.forEach((j, k) => { pBh[j - 1] = adj[k]; reject[j - 1] = adj[k] <= 0.05; });

  // VIF and type-II ANOVA describe the model actually fitted (R's convention, fixture README 13): aliased columns
  // are left out of every auxiliary regression, an aliased term gets VIF null and an ANOVA row of df 0.
  const keptSet = new Set(qr.kept);
  const vif: Num[] = [];
  for (let j = 1; j < p; j++) {
    if (!keptSet.has(j)) { vif.push(null); continue; }
    const qo = qrAliased(qr.kept.filter((m) => m !== j).map((m) => columns[m]), n);
    const xj = columns[j];
    const ssrJ = sumSq(residualOf(qo, xj));
    let mean = 0;
    for (let i = 0; i < n; i++) mean += xj[i];
    mean /= n;
    let tssJ = 0;
    for (let i = 0; i < n; i++) tssJ += (xj[i] - mean) * (xj[i] - mean);
    vif.push(tssJ / ssrJ);
  }

  // ANOVA rows are per formula term, as statsmodels' anova_lm: columns with the same factors (the dummies of one
  // categorical, e.g. C(block)[T.2], C(block)[T.3]) are one term with one joint row named by its factors (C(block)).
  const groups = anovaTerms(terms, factors);
  // type-II ANOVA: SS_T = ‖(I − P_A) P_B y‖², B = kept columns of terms not containing T, A = B without T's columns
  const anova2: AnovaRow[] = [];
  for (const g of groups) {
    const empty = { term: g.term, sum_sq: 0, df: 0, F: NaN, 'PR(>F)': NaN };
    if (!g.columns.some((j) => keptSet.has(j))) { anova2.push(empty); continue; }
    const bSet = qr.kept.filter((m) => !properSubset(factors[g.columns[0]], factors[m]));
    const aSet = bSet.filter((m) => !g.columns.includes(m));
    const qb = qrAliased(bSet.map((m) => columns[m]), n);
    const qa = qrAliased(aSet.map((m) => columns[m]), n);
    const df = qb.kept.length - qa.kept.length;
    if (df <= 0) { anova2.push(empty); continue; }
    const ss = constantY ? 0 : sumSq(residualOf(qa, projectionOf(qb, y)));
    const F = ss / df / mseResid;
    anova2.push({ term: g.term, sum_sq: ss, df, F, 'PR(>F)': fUpperP(F, df, dfResid) });
  }
  // type-I (sequential) ANOVA from the QR effects Qᵀy: a term's SS is the sum over its kept columns
  const anova1: AnovaRow[] = [];
  for (const g of groups) {
    const at = g.columns.map((j) => qr.kept.indexOf(j)).filter((a) => a >= 0);
    if (at.length === 0) { anova1.push({ term: g.term, sum_sq: 0, df: 0, F: NaN, 'PR(>F)': NaN }); continue; }
    const ss = at.reduce((acc, a) => acc + c[a] * c[a], 0);
    const F = ss / at.length / mseResid;
    anova1.push({ term: g.term, sum_sq: ss, df: at.length, F, 'PR(>F)': fUpperP(F, at.length, dfResid) });
  }

  // singular values / condition number of the raw design (intercept included)
  const sv = jacobiSingularValues(columns, n);
  const svUnit = jacobiSingularValues(columns.map((col, j) => { const s = qr.norms[j] > 0 ? qr.norms[j] : 1; return Array.from(col, (v) => v / s); }), n);
  // Only columns aliased exactly (residual at rounding level) make the design singular; a column aliased
  // numerically (residual below R's 1e-7 but real) leaves a finite, true condition number.
  const exact = qr.aliasResidual.filter((res) => res <= EXACT_ALIAS).length;
  for (let i = p - exact; i < p; i++) { sv[i] = 0; svUnit[i] = 0; }
  const cond = exact > 0 ? Infinity : sv[0] / sv[p - 1];
  const condUnit = exact > 0 ? Infinity : svUnit[0] / svUnit[p - 1];

  return {
    terms: terms.slice(),
    aliased,
    params, bse, tvalues, pvalues, conf_int: confInt,
    nobs: n, rank: r, df_model: dfModel, df_resid: dfResid,
    ssr, centered_tss: tss, ess, rsquared, rsquared_adj: rsquaredAdj, mse_resid: mseResid, mse_model: mseModel,
    fvalue, f_pvalue: fPvalue, llf, aic, bic, aic_r: aic + 2, bic_r: bic + Math.log(n),
    singular_values: sv, condition_number: cond, condition_number_unit_columns: condUnit,
    resid: Array.from(resid), fittedvalues: Array.from(fitted), hat_diag: Array.from(hat),
    hc1, hc3,
    pvalues_fdr_bh: pBh, 'fdr_bh_reject_0.05': reject,
    vif,
    anova_type2: anova2, anova_type2_residual: { sum_sq: ssr, df: dfResid }, anova_type1: anova1,
    normalized_cov_params: ncov,
    warnings,
  };
}

export interface AliasStructure {
  kept: string[];
  aliased: string[];
  /** per aliased term: the linear combination of earlier kept terms it equals ("ep^2 = −6 + 5·ep") */
  chains: Record<string, string>;
  /** per aliased term: its relative residual on the earlier kept columns (0 = exact) */
  residuals: Record<string, number>;
}

function coefText(v: number): string {
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(a.toPrecision(4))) : a.toExponential(3);
}

/** Which terms a design matrix can estimate, by R's sequential rule, and what each aliased term equals. */
export function describeAliases(terms: string[], columns: ArrayLike<number>[]): AliasStructure {
  const n = columns[0]?.length ?? 0;
  const qr = qrAliased(columns, n);
  const chains: Record<string, string> = {};
  const residuals: Record<string, number> = {};
  qr.aliased.forEach((j, a) => {
    const before = qr.kept.filter((m) => m < j);
    residuals[terms[j]] = qr.aliasResidual[a];
    if (before.length === 0 || !(qr.norms[j] > 0)) { chains[terms[j]] = `${terms[j]} = 0 (the column is zero)`; return; }
    const sub = qrAliased(before.map((m) => columns[m]), n);
    const c = applyQt(sub, columns[j]);
    const b = solveUpper(sub.r, c).map((v, i) => v / sub.norms[i]);
    const parts: string[] = [];
    b.forEach((v, i) => {
      const m = before[sub.kept[i]];
      if (Math.abs(v) * qr.norms[m] <= 1e-9 * qr.norms[j]) return; // a rounding-level coefficient
      const name = terms[m] === 'Intercept' ? '' : `·${terms[m]}`;
      parts.push(`${parts.length === 0 ? (v < 0 ? '−' : '') : v < 0 ? ' − ' : ' + '}${coefText(v)}${name}`);
    });
    chains[terms[j]] = `${terms[j]} = ${parts.join('') || '0'}`;
  });
  return { kept: qr.kept.map((j) => terms[j]), aliased: qr.aliased.map((j) => terms[j]), chains, residuals };
}
