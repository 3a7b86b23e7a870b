/**
 * Linear mixed models with variance components, fitted by REML — the estimates statsmodels' `MixedLM` gives with
 * `vc_formula` (one variance per component, e.g. `seed` and `data_seed`, crossed) — and, for balanced crossed
 * designs, the ANOVA (method-of-moments) estimators.
 *
 *   y = Xβ + Σₖ Zₖuₖ + ε,  uₖ ~ N(0, σₖ² I),  ε ~ N(0, σ² I),  Var(y) = σ²·H,  H = I + Σₖ γₖ ZₖZₖᵀ.
 *
 * σ² is profiled out; the REML criterion in ψₖ = √γₖ (so a component may be exactly 0) is
 *   −2ℓ = (n − p)·log(r'H⁻¹r/(n − p)) + log|H| + log|X'H⁻¹X| + const,
 * evaluated through the Woodbury identity on each independent block's q×q matrix I + D Z'Z D (D = diag ψ), so the
 * cost grows with the random-effect levels, not with n². Blocks: observations in different blocks share no random
 * effect (e.g. seeds nested in configurations). Minimised by Nelder–Mead from several starts.
 * Fixed effects: GLS β̂ = (X'H⁻¹X)⁻¹X'H⁻¹y with cov σ̂²(X'H⁻¹X)⁻¹, z-tests (as statsmodels reports them).
 * Component CIs: Wald on the standard-deviation scale from the observed REML information (numerical Hessian of
 * the unprofiled criterion in (σₖ, σ)), truncated at 0 and squared — finite at a zero estimate, where a log scale is not.
 *
 * The small Cholesky is written here: ml-matrix allocates a Matrix per call, and the criterion is evaluated
 * thousands of times on matrices of a few dozen rows.
 */
import type GammaincinvModule from '@stdlib/math-base-special-gammaincinv';
import { UserError, lazyRequire } from '../util/index.js';
import { normalTwoSidedP, Z_975 } from './distributions.js';
// required on first use (see util/lazy.ts)
const gammaincinv = lazyRequire<typeof GammaincinvModule>('@stdlib/math-base-special-gammaincinv');

/** χ²_df quantile: 2·P⁻¹(df/2, p) (inverse regularized lower incomplete gamma). */
function chisquare(p: number, df: number): number {
  return 2 * gammaincinv()(p, df / 2);
}

/** In-place lower Cholesky of the m×m row-major a; returns log|a|, or NaN when a is not positive definite. */
function cholesky(a: Float64Array, m: number): number {
  let logdet = 0;
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j]!;
    for (let k = 0; k < j; k++) d -= a[j * m + k]! ** 2;
    if (!(d > 0)) return NaN;
    const l = Math.sqrt(d);
    a[j * m + j] = l;
    logdet += 2 * Math.log(l);
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j]!;
      for (let k = 0; k < j; k++) s -= a[i * m + k]! * a[j * m + k]!;
      a[i * m + j] = s / l;
    }
  }
  return logdet;
}

/** Solve (LLᵀ)x = b in place for a lower Cholesky factor L (m×m row-major). */
function cholSolve(l: Float64Array, m: number, b: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * m + k]! * b[k]!;
    b[i] = s / l[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * b[k]!;
    b[i] = s / l[i * m + i]!;
  }
}

/** Nelder–Mead minimisation (standard coefficients), until the simplex is tiny or flat to `tol` (relative). */
export function nelderMead(f: (x: number[]) => number, x0: number[], opts: { step?: number; tol?: number; maxIter?: number } = {}): { x: number[]; value: number } {
  const d = x0.length;
  const step = opts.step ?? 0.5;
  const tol = opts.tol ?? 1e-14;
  const maxIter = opts.maxIter ?? 4000;
  const val = (x: number[]) => { const v = f(x); return Number.isFinite(v) ? v : Infinity; };
  let simplex = [x0.slice(), ...x0.map((_, i) => x0.map((v, j) => (j === i ? v + step : v)))].map((x) => ({ x, v: val(x) }));
  for (let it = 0; it < maxIter; it++) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!, worst = simplex[d]!;
    const spread = Math.abs(worst.v - best.v);
    const size = Math.max(...simplex.map((s) => Math.max(...s.x.map((v, j) => Math.abs(v - best.x[j]!)))));
    if (size < 1e-9 || (spread <= tol * (Math.abs(best.v) + 1) && size < 1e-6)) break;
    const c = x0.map((_, j) => simplex.slice(0, d).reduce((s, p) => s + p.x[j]!, 0) / d);
    const at = (t: number) => c.map((v, j) => v + t * (worst.x[j]! - v));
    const r = at(-1), vr = val(r);
    if (vr < best.v) {
      const e = at(-2), ve = val(e);
      simplex[d] = ve < vr ? { x: e, v: ve } : { x: r, v: vr };
    } else if (vr < simplex[d - 1]!.v) {
      simplex[d] = { x: r, v: vr };
    } else {
      const k = vr < worst.v ? at(-0.5) : at(0.5);
      const vk = val(k);
      if (vk < Math.min(vr, worst.v)) simplex[d] = { x: k, v: vk };
      else simplex = simplex.map((s, i) => (i === 0 ? s : (() => { const x = s.x.map((v, j) => best.x[j]! + 0.5 * (v - best.x[j]!)); return { x, v: val(x) }; })()));
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v };
}

export interface MixedModelInput {
  y: ArrayLike<number>;
  /** fixed-effect design columns (each of length n) and their names */
  X: ArrayLike<number>[];
  terms: string[];
  /** random-effect components: the level of each observation (any integers; equal = same level) */
  components: Array<{ name: string; levels: ArrayLike<number> }>;
  /** independent blocks: observations in different blocks share no random effect (default: one block) */
  blocks?: ArrayLike<number>;
}

export interface MixedModelFit {
  terms: string[];
  params: number[];
  bse: number[];
  tvalues: number[];
  pvalues: number[];
  /** variance of each component (by name) and `residual` (σ²) */
  variances: Record<string, number>;
  /** 95 % Wald CIs on the sd scale, squared */
  ci: Record<string, [number, number]>;
  /** REML log-likelihood (statsmodels' constant) */
  llf: number;
  n: number;
  converged: boolean;
  method: string;
}

interface Block {
  q: number;
  /** component of each local random-effect column */
  comp: Int32Array;
  ztz: Float64Array;
  ztx: Float64Array; // q×p
  zty: Float64Array;
}

interface Prepared {
  n: number;
  p: number;
  K: number;
  xtx: Float64Array;
  xty: Float64Array;
  yty: number;
  blocks: Block[];
}

function prepare(inp: MixedModelInput): Prepared {
  const n = inp.y.length;
  const p = inp.X.length;
  const K = inp.components.length;
  for (const c of inp.X) if (c.length !== n) throw new UserError('mixed model: every design column needs one value per observation');
  for (const c of inp.components) if (c.levels.length !== n) throw new UserError(`mixed model: component ${c.name} needs one level per observation`);
  if (n <= p) throw new UserError(`mixed model: ${n} observations for ${p} fixed effects`);
  const xtx = new Float64Array(p * p), xty = new Float64Array(p);
  let yty = 0;
  for (let i = 0; i < n; i++) {
    const yi = inp.y[i]!;
    yty += yi * yi;
    for (let a = 0; a < p; a++) {
      const xa = inp.X[a]![i]!;
      xty[a]! += xa * yi;
      for (let b = 0; b < p; b++) xtx[a * p + b]! += xa * inp.X[b]![i]!;
    }
  }
  const byBlock = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const b = inp.blocks ? inp.blocks[i]! : 0;
    const list = byBlock.get(b) ?? [];
    list.push(i);
    byBlock.set(b, list);
  }
  const blocks: Block[] = [];
  for (const obs of byBlock.values()) {
    const cols: Array<Map<number, number>> = inp.components.map(() => new Map());
    const comp: number[] = [];
    for (const i of obs) {
      inp.components.forEach((c, k) => {
        const lv = c.levels[i]!;
        if (!cols[k]!.has(lv)) { cols[k]!.set(lv, comp.length); comp.push(k); }
      });
    }
    const q = comp.length;
    const ztz = new Float64Array(q * q), ztx = new Float64Array(q * p), zty = new Float64Array(q);
    for (const i of obs) {
      const js = inp.components.map((c, k) => cols[k]!.get(c.levels[i]!)!);
      for (const j of js) {
        zty[j]! += inp.y[i]!;
        for (let a = 0; a < p; a++) ztx[j * p + a]! += inp.X[a]![i]!;
        for (const j2 of js) ztz[j * q + j2]! += 1;
      }
    }
    blocks.push({ q, comp: Int32Array.from(comp), ztz, ztx, zty });
  }
  return { n, p, K, xtx, xty, yty, blocks };
}

interface Evaluated {
  logdetH: number;
  /** X'H⁻¹X (p×p), X'H⁻¹y, y'H⁻¹y */
  a: Float64Array;
  b: Float64Array;
  c: number;
}

function evaluate(pr: Prepared, psi: number[]): Evaluated | null {
  const { p } = pr;
  const a = Float64Array.from(pr.xtx);
  const b = Float64Array.from(pr.xty);
  let c = pr.yty;
  let logdetH = 0;
  for (const bl of pr.blocks) {
    const q = bl.q;
    const dvec = Float64Array.from(bl.comp, (k) => psi[k]!);
    const m = new Float64Array(q * q);
    for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) m[i * q + j] = dvec[i]! * bl.ztz[i * q + j]! * dvec[j]! + (i === j ? 1 : 0);
    const ld = cholesky(m, q);
    if (!Number.isFinite(ld)) return null;
    logdetH += ld;
    // u = D Z'X (q×p), v = D Z'y; subtract uᵀM⁻¹u, uᵀM⁻¹v, vᵀM⁻¹v
    const v = Float64Array.from(bl.zty, (x, i) => x * dvec[i]!);
    const mv = Float64Array.from(v);
    cholSolve(m, q, mv);
    let vmv = 0;
    for (let i = 0; i < q; i++) vmv += v[i]! * mv[i]!;
    c -= vmv;
    const mu: Float64Array[] = [];
    for (let col = 0; col < p; col++) {
      const u = new Float64Array(q);
      for (let i = 0; i < q; i++) u[i] = bl.ztx[i * p + col]! * dvec[i]!;
      const s = Float64Array.from(u);
      cholSolve(m, q, s);
      mu.push(s);
      let ub = 0;
      for (let i = 0; i < q; i++) ub += s[i]! * v[i]!;
      b[col]! -= ub;
    }
    for (let c1 = 0; c1 < p; c1++) {
      for (let c2 = 0; c2 < p; c2++) {
        let s = 0;
        for (let i = 0; i < q; i++) s += bl.ztx[i * p + c1]! * dvec[i]! * mu[c2]![i]!;
        a[c1 * p + c2]! -= s;
      }
    }
  }
  return { logdetH, a, b, c };
}

/** GLS pieces at ψ: β̂, r'H⁻¹r, log|X'H⁻¹X| and the Cholesky of X'H⁻¹X. */
function gls(pr: Prepared, ev: Evaluated): { beta: Float64Array; rss: number; logdetA: number; chol: Float64Array } | null {
  const chol = Float64Array.from(ev.a);
  const logdetA = cholesky(chol, pr.p);
  if (!Number.isFinite(logdetA)) return null;
  const beta = Float64Array.from(ev.b);
  cholSolve(chol, pr.p, beta);
  let bb = 0;
  for (let i = 0; i < pr.p; i++) bb += beta[i]! * ev.b[i]!;
  return { beta, rss: ev.c - bb, logdetA, chol };
}

const LOG_2PI = Math.log(2 * Math.PI);

/** −2 × profiled REML log-likelihood (without constants) at ψ. */
function profiledCriterion(pr: Prepared, psi: number[]): number {
  const ev = evaluate(pr, psi);
  if (!ev) return Infinity;
  const g = gls(pr, ev);
  if (!g || !(g.rss > 0)) return Infinity;
  const dfr = pr.n - pr.p;
  return dfr * Math.log(g.rss / dfr) + ev.logdetH + g.logdetA;
}

/** REML log-likelihood at sds (σ₁…σ_K, σ) — the unprofiled criterion, statsmodels' constant. */
function remlLogLik(pr: Prepared, sds: number[]): number {
  const sigma = sds[pr.K]!;
  if (!(sigma > 0)) return -Infinity;
  const psi = sds.slice(0, pr.K).map((s) => s / sigma);
  const ev = evaluate(pr, psi);
  if (!ev) return -Infinity;
  const g = gls(pr, ev);
  if (!g) return -Infinity;
  const dfr = pr.n - pr.p;
  const s2 = sigma * sigma;
  return -0.5 * (dfr * LOG_2PI + dfr * Math.log(s2) + ev.logdetH + g.logdetA + g.rss / s2);
}

/** The REML log-likelihood at a given β (not profiled) and sds (σ₁…σ_K, σ). */
function remlLogLikAt(pr: Prepared, beta: Float64Array, sds: number[]): { llf: number; score: Float64Array } | null {
  const sigma = sds[pr.K]!;
  if (!(sigma > 0)) return null;
  const ev = evaluate(pr, sds.slice(0, pr.K).map((x) => x / sigma));
  if (!ev) return null;
  const chol = Float64Array.from(ev.a);
  const logdetA = cholesky(chol, pr.p);
  if (!Number.isFinite(logdetA)) return null;
  const p = pr.p;
  const s2 = sigma * sigma;
  // Q = r'H⁻¹r = c − 2β'b + β'Aβ; ∂ℓ/∂β = (b − Aβ)/σ²
  let q = ev.c;
  const score = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let ab = 0;
    for (let j = 0; j < p; j++) ab += ev.a[i * p + j]! * beta[j]!;
    q += beta[i]! * ab - 2 * beta[i]! * ev.b[i]!;
    score[i] = (ev.b[i]! - ab) / s2;
  }
  const dfr = pr.n - p;
  return { llf: -0.5 * (dfr * LOG_2PI + dfr * Math.log(s2) + ev.logdetH + logdetA + q / s2), score };
}

/** SEs of β̂ from the inverse observed information over (β, sds): I_ββ = A/σ², I_βθ = −∂score/∂θ, I_θθ numerically. */
function fixedEffectSe(pr: Prepared, beta: Float64Array, sds: number[]): number[] | null {
  const p = pr.p;
  const d = sds.length;
  const at = remlLogLikAt(pr, beta, sds);
  if (!at) return null;
  const hThetaTheta = hessian((x) => remlLogLikAt(pr, beta, x)?.llf ?? NaN, sds);
  const scale = Math.max(...sds);
  const cross: number[][] = Array.from({ length: p }, () => new Array<number>(d).fill(0));
  for (let j = 0; j < d; j++) {
    const h = 1e-5 * Math.max(sds[j]!, 1e-3 * scale);
    const up = remlLogLikAt(pr, beta, sds.map((v, k) => (k === j ? v + h : v)));
    const dn = remlLogLikAt(pr, beta, sds.map((v, k) => (k === j ? v - h : v)));
    if (!up || !dn) return null;
    for (let i = 0; i < p; i++) cross[i]![j] = (up.score[i]! - dn.score[i]!) / (2 * h);
  }
  const ev = evaluate(pr, sds.slice(0, pr.K).map((x) => x / sds[pr.K]!))!;
  const s2 = sds[pr.K]! ** 2;
  const m = p + d;
  const info: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) info[i]![j] = ev.a[i * p + j]! / s2;
  for (let i = 0; i < p; i++) for (let j = 0; j < d; j++) info[i]![p + j] = info[p + j]![i] = -cross[i]![j]!;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) info[p + i]![p + j] = -hThetaTheta[i]![j]!;
  const inv = invert(info);
  if (!inv) return null;
  const se = Array.from({ length: p }, (_, i) => Math.sqrt(inv[i]![i]!));
  return se.every(Number.isFinite) ? se : null;
}

/** Symmetric inverse of a small row-major matrix by Gauss–Jordan (null when singular). */
function invert(m: number[][]): number[][] | null {
  const d = m.length;
  const a = m.map((r, i) => [...r, ...Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < d; c++) {
    let piv = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (!(Math.abs(a[piv]![c]!) > 1e-300)) return null;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const pv = a[c]![c]!;
    for (let j = 0; j < 2 * d; j++) a[c]![j]! /= pv;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f !== 0) for (let j = 0; j < 2 * d; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((r) => r.slice(d));
}

/** Numerical Hessian by central differences (steps relative to each coordinate). */
function hessian(f: (x: number[]) => number, x: number[]): number[][] {
  const d = x.length;
  const h = x.map((v) => 1e-4 * Math.max(Math.abs(v), 1e-3 * Math.max(...x.map(Math.abs))));
  const at = (dx: number[]) => f(x.map((v, i) => v + dx[i]!));
  const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const f0 = f(x);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      if (i === j) {
        const e = x.map((_, k) => (k === i ? h[i]! : 0));
        H[i]![i] = (at(e) - 2 * f0 + at(e.map((v) => -v))) / (h[i]! * h[i]!);
      } else {
        const e = (si: number, sj: number) => x.map((_, k) => (k === i ? si * h[i]! : k === j ? sj * h[j]! : 0));
        H[i]![j] = H[j]![i] = (at(e(1, 1)) - at(e(1, -1)) - at(e(-1, 1)) + at(e(-1, -1))) / (4 * h[i]! * h[j]!);
      }
    }
  }
  return H;
}

/** REML fit of a linear mixed model with independent variance components (see the module header). */
export function fitMixedModel(inp: MixedModelInput): MixedModelFit {
  const pr = prepare(inp);
  const K = pr.K;
  const crit = (psi: number[]) => profiledCriterion(pr, psi);
  let best: { x: number[]; value: number } | null = null;
  for (const start of [0.3, 1, 3]) {
    const r = nelderMead(crit, new Array<number>(K).fill(start), { step: start / 2 });
    if (!best || r.value < best.value) best = r;
  }
  const psi = best!.x.map(Math.abs);
  const ev = evaluate(pr, psi);
  const g = ev ? gls(pr, ev) : null;
  if (!ev || !g) throw new UserError('mixed model: the fixed-effect design is singular (aliased terms?)');
  const dfr = pr.n - pr.p;
  const sigma2 = g.rss / dfr;
  const variances: Record<string, number> = {};
  inp.components.forEach((c, k) => { variances[c.name] = sigma2 * psi[k]! ** 2; });
  variances.residual = sigma2;
  // fixed effects: the β block of the inverse observed information over (β, σ₁…σ_K, σ), as statsmodels' bse_fe —
  // in unbalanced designs the β–σ cross terms make it differ from σ²(X'H⁻¹X)⁻¹ (by ~1e-4 relative here)
  const params = Array.from(g.beta);
  const sds = [...psi.map((x) => x * Math.sqrt(sigma2)), Math.sqrt(sigma2)];
  const bse = fixedEffectSe(pr, g.beta, sds) ?? params.map((_, j) => {
    const e = new Float64Array(pr.p);
    e[j] = 1;
    cholSolve(g.chol, pr.p, e);
    return Math.sqrt(sigma2 * e[j]!);
  });
  const tvalues = params.map((b, j) => b / bse[j]!);
  const llf = remlLogLik(pr, sds);
  const names = [...inp.components.map((c) => c.name), 'residual'];
  const ci: Record<string, [number, number]> = {};
  const info = invert(hessian((x) => -remlLogLik(pr, x), sds));
  names.forEach((nm, k) => {
    const se = info && info[k]![k]! > 0 ? Math.sqrt(info[k]![k]!) : NaN;
    ci[nm] = [Math.max(0, sds[k]! - Z_975 * se) ** 2, (sds[k]! + Z_975 * se) ** 2];
  });
  return {
    terms: inp.terms,
    params,
    bse,
    tvalues,
    pvalues: tvalues.map(normalTwoSidedP),
    variances,
    ci,
    llf,
    n: pr.n,
    converged: Number.isFinite(best!.value),
    method: 'REML (variance components, profiled, Nelder–Mead); fixed effects GLS with z-tests; component CIs: Wald on the sd scale',
  };
}

// ---- ANOVA estimators -------------------------------------------------------------------------

export interface AnovaComponents {
  /** seed, data_seed (the two factors' names) and residual */
  variances: Record<string, number>;
  ci: Record<string, [number, number]>;
  mean_squares: Record<string, number>;
  df: Record<string, number>;
  method: string;
}

/**
 * Method-of-moments estimators for a balanced two-way crossed random design (every level of A with every level of B,
 * r observations per cell, within each block — blocks (configurations) pooled): σ²_A = (MS_A − MS_E)/(b·r),
 * σ²_B = (MS_B − MS_E)/(a·r), σ²_E = MS_E (interaction and error together). Null when unbalanced.
 * CIs: σ²_E exact χ²; σ²_A, σ²_B Satterthwaite's χ² approximation; an estimate ≤ 0 gets [0, c·df·MS/χ²_{0.025,df}].
 */
export function anovaComponents(
  y: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: { names?: [string, string]; blocks?: ArrayLike<number> } = {},
): AnovaComponents | null {
  const [na, nb] = opts.names ?? ['A', 'B'];
  const n = y.length;
  const byBlock = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = opts.blocks ? opts.blocks[i]! : 0;
    const l = byBlock.get(k) ?? [];
    l.push(i);
    byBlock.set(k, l);
  }
  let ssA = 0, ssB = 0, ssE = 0, dfA = 0, dfB = 0, dfE = 0;
  let shape: [number, number, number] | null = null;
  for (const obs of byBlock.values()) {
    const la = [...new Set(obs.map((i) => a[i]!))];
    const lb = [...new Set(obs.map((i) => b[i]!))];
    const cells = new Map<string, number[]>();
    for (const i of obs) {
      const key = `${a[i]}|${b[i]}`;
      const l = cells.get(key) ?? [];
      l.push(y[i]!);
      cells.set(key, l);
    }
    const r = obs.length / (la.length * lb.length);
    if (cells.size !== la.length * lb.length || [...cells.values()].some((c) => c.length !== r)) return null;
    if (shape && (shape[0] !== la.length || shape[1] !== lb.length || shape[2] !== r)) return null;
    shape = [la.length, lb.length, r];
    if (la.length < 2 || lb.length < 2) return null;
    const grand = obs.reduce((s, i) => s + y[i]!, 0) / obs.length;
    const meanOf = (f: (i: number) => boolean) => { const v = obs.filter(f); return v.reduce((s, i) => s + y[i]!, 0) / v.length; };
    let sa = 0, sb = 0;
    for (const lv of la) sa += lb.length * r * (meanOf((i) => a[i] === lv) - grand) ** 2;
    for (const lv of lb) sb += la.length * r * (meanOf((i) => b[i] === lv) - grand) ** 2;
    const st = obs.reduce((s, i) => s + (y[i]! - grand) ** 2, 0);
    ssA += sa; ssB += sb; ssE += st - sa - sb;
    dfA += la.length - 1; dfB += lb.length - 1; dfE += obs.length - la.length - lb.length + 1;
  }
  if (!shape || dfE <= 0) return null;
  const [A, B, r] = shape;
  const msA = ssA / dfA, msB = ssB / dfB, msE = ssE / dfE;
  const vA = (msA - msE) / (B * r), vB = (msB - msE) / (A * r);
  const satterthwaite = (ms: number, df: number, c: number): [number, number] => {
    // linear combination c·(MS − MS_E): ν = (MS − MS_E)² / (MS²/df + MS_E²/df_E)
    const est = c * (ms - msE);
    const nu = (ms - msE) ** 2 / (ms ** 2 / df + msE ** 2 / dfE);
    if (!(est > 0) || !(nu > 0)) {
      // at or below zero: the upper bound uses MS alone (a conservative bound on c·MS)
      return [0, (c * ms * df) / chisquare(0.025, df)];
    }
    return [(nu * est) / chisquare(0.975, nu), (nu * est) / chisquare(0.025, nu)];
  };
  return {
    variances: { [na]: vA, [nb]: vB, residual: msE },
    ci: {
      [na]: satterthwaite(msA, dfA, 1 / (B * r)),
      [nb]: satterthwaite(msB, dfB, 1 / (A * r)),
      residual: [(dfE * msE) / chisquare(0.975, dfE), (dfE * msE) / chisquare(0.025, dfE)],
    },
    mean_squares: { [na]: msA, [nb]: msB, residual: msE },
    df: { [na]: dfA, [nb]: dfB, residual: dfE },
    method: 'ANOVA (method of moments), balanced two-way crossed; CIs: χ² for the residual, Satterthwaite for the others',
  };
}
