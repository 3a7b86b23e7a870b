/**
 * Response-surface designs in coded units (each factor's range is −1…+1 on its own scale):
 *  - central composite (Box & Wilson 1951): circumscribed, inscribed or face-centred; α rotatable (n_F^¼), orthogonal
 *    (Myers & Montgomery's formula) or a number; a full or regular-fraction factorial part; centre points;
 *  - Box–Behnken (1960) for 3–7 factors, from the published incidence tables (pairs for 3–5 factors, the 3-factor
 *    blocks of the 6- and 7-factor designs);
 *  - regular 2^(k−p) fractions whose generators are found by a branch-and-bound search for maximum resolution, then
 *    minimum aberration (fewest shortest words), with the defining relation and alias chains;
 *  - exact D- and I-optimal designs by modified Fedorov exchange over a candidate set, several seeded random starts.
 *
 * Written here rather than taken from npm: no maintained JavaScript package generates these designs (the registry has
 * only unmaintained ports of pyDOE without fractions' alias structure or optimal designs), and each is short.
 */
import { Rng, UserError } from '../util/index.js';

// ---- 2^(k−p) fractions -----------------------------------------------------------------------------------------

/** Factor letters as in the design literature (I is skipped: it names the identity). */
export const FACTOR_LETTERS = 'ABCDEFGHJKLMNOPQRSTUVWXYZ';

export interface Fraction {
  k: number;
  p: number;
  /** base factors are the first k − p; generator g defines factor k − p + g as a product of base factors */
  generators: number[];
  /** every non-identity word of the defining relation (bit i = factor i) */
  words: number[];
  resolution: number;
  /** number of words of length 3, 4, …, k */
  wordLengthPattern: number[];
  /** ±1 points in standard (Yates) order of the base factors */
  points: number[][];
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}

/** `ABD` for a bit mask over factors (letters or the given names joined by `:`). */
export function wordName(mask: number, names?: string[]): string {
  const idx: number[] = [];
  for (let i = 0; (1 << i) <= mask; i++) if (mask & (1 << i)) idx.push(i);
  return names ? idx.map((i) => names[i]).join(':') : idx.map((i) => FACTOR_LETTERS[i]).join('');
}

function groupOf(gens: number[]): number[] {
  let group = [0];
  for (const g of gens) group = [...group, ...group.map((w) => w ^ g)];
  return group.filter((w) => w !== 0);
}

function wlp(words: number[], k: number): number[] {
  const out = new Array<number>(Math.max(0, k - 2)).fill(0);
  for (const w of words) { const l = popcount(w); if (l >= 3) out[l - 3]++; }
  return out;
}

function better(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * The 2^(k−p) fraction of maximum resolution and, among those, minimum aberration. Ties are broken by the first
 * generator set in order of increasing word length and mask, so the result is deterministic.
 */
export function fractionalFactorial(k: number, p: number): Fraction {
  if (!Number.isInteger(k) || k < 2 || k > FACTOR_LETTERS.length) throw new UserError(`a fractional factorial needs 2 to ${FACTOR_LETTERS.length} factors, got ${k}`);
  if (!Number.isInteger(p) || p < 0 || p >= k) throw new UserError(`a 2^(k−p) fraction needs 0 ≤ p < k (k = ${k}, p = ${p})`);
  const m = k - p;
  if (p > 0 && (1 << m) < k + 1) {
    throw new UserError(`a 2^(${k}−${p}) fraction has ${1 << m} runs, too few to estimate ${k} main effects (resolution III needs at least ${k + 1}); use a smaller fraction`);
  }
  const cands: number[] = [];
  for (let mask = 1; mask < 1 << m; mask++) if (popcount(mask) >= 2) cands.push(mask);
  cands.sort((a, b) => popcount(a) - popcount(b) || a - b);
  let best: { gens: number[]; res: number; pattern: number[] } | null = null;
  let nodes = 0;
  const dfs = (start: number, gens: number[], group: number[], minLen: number): void => {
    if (++nodes > 5_000_000) return;
    if (best && minLen < best.res) return;
    if (gens.length === p) {
      const words = group;
      const pattern = wlp(words, k);
      if (!best || minLen > best.res || better(pattern, best.pattern)) best = { gens: gens.slice(), res: minLen, pattern };
      return;
    }
    const bit = 1 << (m + gens.length);
    for (let c = start; c < cands.length; c++) {
      const g = cands[c] | bit;
      const newWords = [g, ...group.map((w) => w ^ g)];
      let len = minLen;
      for (const w of newWords) len = Math.min(len, popcount(w));
      if (best && len < best.res) continue;
      dfs(c + 1, [...gens, cands[c]], [...group, ...newWords], len);
    }
  };
  if (p === 0) best = { gens: [], res: Infinity, pattern: wlp([], k) };
  else dfs(0, [], [], Infinity);
  if (!best) throw new UserError(`no 2^(${k}−${p}) fraction found`);
  const b = best as { gens: number[]; res: number; pattern: number[] };
  const fullGens = b.gens.map((g, i) => g | (1 << (m + i)));
  const points: number[][] = [];
  for (let r = 0; r < 1 << m; r++) {
    const base: number[] = Array.from({ length: m }, (_, j) => ((r >> j) & 1 ? 1 : -1));
    const extra = b.gens.map((g) => base.reduce((acc, v, j) => (g & (1 << j) ? acc * v : acc), 1));
    points.push([...base, ...extra]);
  }
  return { k, p, generators: b.gens, words: groupOf(fullGens), resolution: b.res, wordLengthPattern: b.pattern, points };
}

/** `E = ABCD` (or with factor names). */
export function generatorText(f: Fraction, names?: string[]): string[] {
  const m = f.k - f.p;
  return f.generators.map((g, i) => `${names ? names[m + i] : FACTOR_LETTERS[m + i]} = ${wordName(g, names)}`);
}

/** The defining relation `I = ABCE = …` */
export function definingRelation(f: Fraction, names?: string[]): string {
  if (f.words.length === 0) return 'I (full factorial)';
  return `I = ${[...f.words].sort((a, b) => popcount(a) - popcount(b) || a - b).map((w) => wordName(w, names)).join(' = ')}`;
}

/** Alias chains of the main effects and two-factor interactions, aliases up to order `maxOrder`. */
export function aliasChains(f: Fraction, names?: string[], maxOrder = 3): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  const effects: number[] = [];
  for (let i = 0; i < f.k; i++) effects.push(1 << i);
  for (let i = 0; i < f.k; i++) for (let j = i + 1; j < f.k; j++) effects.push((1 << i) | (1 << j));
  for (const e of effects) {
    if (seen.has(e)) continue;
    const aliases = f.words.map((w) => w ^ e).filter((a) => popcount(a) <= maxOrder).sort((a, b) => popcount(a) - popcount(b) || a - b);
    for (const a of aliases) seen.add(a);
    seen.add(e);
    if (aliases.length > 0) out.push(`${wordName(e, names)} = ${aliases.map((a) => wordName(a, names)).join(' = ')}`);
  }
  return out;
}

// ---- central composite ------------------------------------------------------------------------------------------

export type CcdVariant = 'circumscribed' | 'inscribed' | 'face_centered';
export type AlphaSpec = 'rotatable' | 'orthogonal' | number;

export interface Ccd {
  points: number[][];
  /** axial distance in units of the factorial half-width (before an inscribed design is scaled) */
  alpha: number;
  factorial: Fraction;
  nFactorial: number;
  nAxial: number;
  nCenter: number;
}

export function ccdAlpha(alpha: AlphaSpec, nF: number, k: number, nCenter: number): number {
  if (typeof alpha === 'number') return alpha;
  if (alpha === 'rotatable') return Math.pow(nF, 0.25);
  // orthogonal blocking-free CCD (Myers & Montgomery, Response Surface Methodology, eq. 7.11)
  const nTotal = nF + 2 * k + nCenter;
  return Math.pow((nF * (Math.sqrt(nTotal) - Math.sqrt(nF)) ** 2) / 4, 0.25);
}

export function centralComposite(k: number, opts: { variant: CcdVariant; alpha: AlphaSpec; centerPoints: number; p?: number }): Ccd {
  if (k < 2) throw new UserError(`a central composite design needs at least 2 factors, got ${k}`);
  const factorial = fractionalFactorial(k, opts.p ?? 0);
  const nF = factorial.points.length;
  if (opts.variant === 'face_centered' && opts.alpha !== 1 && typeof opts.alpha === 'number') {
    throw new UserError(`a face-centred CCD has α = 1 (got alpha: ${opts.alpha}); use variant: circumscribed for another α`);
  }
  const alpha = opts.variant === 'face_centered' ? 1 : ccdAlpha(opts.alpha, nF, k, opts.centerPoints);
  if (!(alpha > 0)) throw new UserError(`alpha must be > 0 (got ${alpha})`);
  const scaleF = opts.variant === 'inscribed' ? 1 / alpha : 1;
  const axial = opts.variant === 'inscribed' ? 1 : alpha;
  const points: number[][] = factorial.points.map((pt) => pt.map((v) => v * scaleF));
  for (let i = 0; i < k; i++) {
    for (const s of [-1, 1]) {
      const pt = new Array<number>(k).fill(0);
      pt[i] = s * axial;
      points.push(pt);
    }
  }
  for (let c = 0; c < opts.centerPoints; c++) points.push(new Array<number>(k).fill(0));
  return { points, alpha, factorial, nFactorial: nF, nAxial: 2 * k, nCenter: opts.centerPoints };
}

// ---- Box–Behnken ------------------------------------------------------------------------------------------------

/** Factor blocks (0-based) of Box & Behnken's designs: a 2^|block| factorial on each, the other factors at 0. */
const BB_BLOCKS: Record<number, number[][]> = {
  3: [[0, 1], [0, 2], [1, 2]],
  4: [[0, 1], [2, 3], [0, 3], [1, 2], [0, 2], [1, 3]],
  5: [[0, 1], [2, 3], [1, 4], [0, 2], [3, 4], [1, 2], [0, 3], [2, 4], [0, 4], [1, 3]],
  6: [[0, 1, 3], [1, 2, 4], [2, 3, 5], [0, 3, 4], [1, 4, 5], [0, 2, 5]],
  7: [[3, 4, 5], [0, 5, 6], [1, 4, 6], [0, 1, 3], [2, 3, 6], [0, 2, 4], [1, 2, 5]],
};

export function boxBehnken(k: number, centerPoints: number): number[][] {
  const blocks = BB_BLOCKS[k];
  if (!blocks) throw new UserError(`Box–Behnken designs exist here for 3 to 7 factors, got ${k} (use ccd or d_optimal)`);
  const points: number[][] = [];
  for (const b of blocks) {
    for (let r = 0; r < 1 << b.length; r++) {
      const pt = new Array<number>(k).fill(0);
      b.forEach((f, j) => { pt[f] = (r >> (b.length - 1 - j)) & 1 ? 1 : -1; });
      points.push(pt);
    }
  }
  for (let c = 0; c < centerPoints; c++) points.push(new Array<number>(k).fill(0));
  return points;
}

// ---- optimal designs ----------------------------------------------------------------------------------------------

/** Inverse and log-determinant of a symmetric positive definite matrix by Cholesky; null when not positive definite. */
export function spdInverse(m: number[][]): { inv: number[][]; logdet: number } | null {
  const p = m.length;
  const l: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  let logdet = 0;
  for (let j = 0; j < p; j++) {
    let d = m[j][j];
    for (let q = 0; q < j; q++) d -= l[j][q] * l[j][q];
    if (!(d > 1e-12 * Math.max(1, Math.abs(m[j][j])))) return null;
    l[j][j] = Math.sqrt(d);
    logdet += 2 * Math.log(l[j][j]);
    for (let i = j + 1; i < p; i++) {
      let s = m[i][j];
      for (let q = 0; q < j; q++) s -= l[i][q] * l[j][q];
      l[i][j] = s / l[j][j];
    }
  }
  // inverse of L, then LᵀL⁻¹
  const li: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    li[i][i] = 1 / l[i][i];
    for (let j = i - 1; j >= 0; j--) {
      let s = 0;
      for (let q = j; q < i; q++) s += l[i][q] * li[q][j];
      li[i][j] = -s / l[i][i];
    }
  }
  const inv: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let q = i; q < p; q++) s += li[q][i] * li[q][j];
    inv[i][j] = s;
    inv[j][i] = s;
  }
  return { inv, logdet };
}

export function information(rows: number[][]): number[][] {
  const p = rows[0]?.length ?? 0;
  const m: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (const f of rows) for (let a = 0; a < p; a++) for (let b = a; b < p; b++) m[a][b] += f[a] * f[b];
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) m[a][b] = m[b][a];
  return m;
}

function matVec(m: number[][], v: number[]): number[] {
  return m.map((row) => { let s = 0; for (let i = 0; i < v.length; i++) s += row[i] * v[i]; return s; });
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function traceOf(a: number[][]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i][i];
  return s;
}

function traceProduct(a: number[][], b: number[][]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a.length; j++) s += a[i][j] * b[j][i];
  return s;
}

export interface Efficiencies {
  /** 100·|XᵀX|^(1/p)/N (SAS OPTEX's D-efficiency, coded units) */
  d_efficiency: number;
  /** 100·p/(N·tr((XᵀX)⁻¹)) */
  a_efficiency: number;
  /** 100·tr(W)/(N·tr((XᵀX)⁻¹W)), W the region's moment matrix — like the two above, 100 when XᵀX = N·I */
  i_efficiency: number;
  /** tr((XᵀX)⁻¹ W): the average of Var(ŷ)/σ² over the region */
  average_prediction_variance: number;
}

/** Efficiencies of a model matrix (rows = runs); null when XᵀX is singular (some term is not estimable). */
export function efficiencies(rows: number[][], regionMoments: number[][]): Efficiencies | null {
  const n = rows.length;
  const p = rows[0]?.length ?? 0;
  const inv = spdInverse(information(rows));
  if (!inv || n === 0) return null;
  let tr = 0;
  for (let i = 0; i < p; i++) tr += inv.inv[i][i];
  const apv = traceProduct(inv.inv, regionMoments);
  return {
    d_efficiency: (100 * Math.exp(inv.logdet / p)) / n,
    a_efficiency: (100 * p) / (n * tr),
    i_efficiency: (100 * traceOf(regionMoments)) / (n * apv),
    average_prediction_variance: apv,
  };
}

/** E[f(x) f(x)ᵀ] for x uniform on the cube [−1, 1]^k, exactly, from each term's exponents. */
export function cubeMoments(powers: number[][]): number[][] {
  const moment = (e: number[]): number => e.reduce((acc, a) => (a % 2 === 1 ? 0 : acc / (a + 1)), 1);
  return powers.map((pa) => powers.map((pb) => moment(pa.map((a, i) => a + pb[i]))));
}

/** Mean of f fᵀ over a candidate set (the region when constraints cut the cube). */
export function candidateMoments(rows: number[][]): number[][] {
  const m = information(rows);
  return m.map((r) => r.map((v) => v / rows.length));
}

export interface ExchangeOptions {
  /** candidate model rows f(x) */
  candidates: number[][];
  n: number;
  criterion: 'D' | 'I';
  /** region moments for the I criterion */
  moments: number[][];
  starts: number;
  seed: number;
  /**
   * Augmentation: the information matrix of runs that stay in the design (Σ f fᵀ of the existing design); the
   * exchange picks the n further candidates that optimise the criterion of the combined design.
   */
  fixed?: number[][];
}

export interface ExchangeResult {
  /** indices into the candidates (repeats allowed: a repeated point is a replicate) */
  indices: number[];
  /** log|XᵀX| (D) or tr((XᵀX)⁻¹W) (I) of the best start */
  value: number;
  starts: number;
}

/**
 * Fedorov exchange: make the (run, candidate) swap that improves the criterion most, until none does. Each swap's
 * effect comes from the 2×2 Woodbury identity (O(p) per pair given the candidates' M⁻¹f), and M⁻¹ is refactored
 * after every swap so no rounding accumulates.
 */
export function exchangeDesign(o: ExchangeOptions): ExchangeResult {
  const { candidates: F, n, criterion, moments: W } = o;
  const N = F.length;
  const p = F[0]?.length ?? 0;
  if (N === 0) throw new UserError('the candidate set is empty (every grid point violates a constraint?)');
  if (n < 1) throw new UserError(`an optimal design needs at least one run (got ${n})`);
  if (!o.fixed && n < p) throw new UserError(`${n} runs cannot estimate ${p} model terms: an optimal design needs n ≥ ${p}`);
  const withFixed = (m: number[][]): number[][] => (o.fixed ? m.map((row, a) => row.map((v, b) => v + o.fixed![a][b])) : m);
  const rng = new Rng(o.seed);
  let bestIdx: number[] | null = null;
  let bestVal = criterion === 'D' ? -Infinity : Infinity;
  const ridge = 1e-6;
  for (let s = 0; s < o.starts; s++) {
    // a random start: n distinct candidates where possible (a permutation prefix), replicates beyond N
    const perm = rng.permutation(N);
    const idx = Array.from({ length: n }, (_, i) => (i < N ? perm[i] : rng.int(N)));
    for (let swap = 0; swap < 50 * n; swap++) {
      const m = withFixed(information(idx.map((i) => F[i])));
      for (let a = 0; a < p; a++) m[a][a] += ridge; // a singular random start still has a direction to improve
      const f = spdInverse(m);
      if (!f) break;
      const A = f.inv;
      const AF = F.map((row) => matVec(A, row));
      const d = F.map((row, c) => dot(row, AF[c]));
      const WAF = criterion === 'I' ? AF.map((v) => matVec(W, v)) : [];
      let bestGain = 1e-9;
      let bestR = -1, bestJ = -1;
      for (let r = 0; r < n; r++) {
        const i = idx[r];
        for (let j = 0; j < N; j++) {
          if (j === i) continue;
          const dij = dot(F[j], AF[i]);
          // det(M + f_j f_jᵀ − f_i f_iᵀ) / det(M)
          const ratio = (1 + d[j]) * (1 - d[i]) + dij * dij;
          let gain: number;
          if (criterion === 'D') gain = ratio > 0 ? Math.log(ratio) : -Infinity;
          else {
            if (!(ratio > 1e-9)) continue; // the swap would make XᵀX singular
            // tr(M'⁻¹W) = tr(AW) − tr(S⁻¹ UᵀAWAU), S = C⁻¹ + UᵀAU, U = [f_j f_i], C = diag(1, −1): the gain is the drop
            const s11 = 1 + d[j], s12 = dij, s22 = -1 + d[i];
            const det = s11 * s22 - s12 * s12;
            const q11 = dot(AF[j], WAF[j]), q12 = dot(AF[j], WAF[i]), q22 = dot(AF[i], WAF[i]);
            gain = (s22 * q11 - 2 * s12 * q12 + s11 * q22) / det;
          }
          if (gain > bestGain) { bestGain = gain; bestR = r; bestJ = j; }
        }
      }
      if (bestR < 0) break;
      idx[bestR] = bestJ;
    }
    const m = withFixed(information(idx.map((i) => F[i])));
    const f = spdInverse(m);
    if (!f) continue;
    const val = criterion === 'D' ? f.logdet : traceProduct(f.inv, W);
    if (criterion === 'D' ? val > bestVal + 1e-10 : val < bestVal - 1e-12) { bestVal = val; bestIdx = idx.slice(); }
  }
  if (!bestIdx) throw new UserError(`no start of the exchange algorithm gave an estimable design with ${n} runs: add candidate levels or runs`);
  return { indices: bestIdx, value: bestVal, starts: o.starts };
}
