/**
 * Evaluation-set noise and comparisons, on plain per-example predictions (typed arrays, no store, no tensors):
 *  - bootstrap CIs of accuracy / F1 / loss over evaluation examples (percentile and BCa, seeded, B = 2000);
 *  - paired comparisons of two models on the same examples: exact McNemar for accuracy, paired bootstrap for
 *    accuracy / F1 / loss differences;
 *  - expected validation performance E[max of n] ± SE (Dodge et al. 2019, "Show Your Work");
 *  - P(A > B) over paired runs with a bootstrap CI (Bouthillier et al. 2021).
 *
 * Conventions (those of the committed Python reference, test/analysis/fixtures/noise/make.py): percentiles interpolate
 * linearly between order statistics (numpy's default); the BCa bias correction z0 = Φ⁻¹ of the mid-rank share of
 * replicates below the estimate (scipy's), the acceleration from the jackknife over examples (Efron 1987).
 * Every resample statistic is computed from counts (correct, TP, FP, FN, summed −log p), so B × n work, no copies.
 */
import type BetaincModule from '@stdlib/math-base-special-betainc';
import type NormalModule from '@stdlib/stats-base-dists-normal';
import { Rng, UserError, lazyRequire } from '../util/index.js';
// required on first use (see util/lazy.ts)
const betainc = lazyRequire<typeof BetaincModule>('@stdlib/math-base-special-betainc');
const normal = lazyRequire<typeof NormalModule>('@stdlib/stats-base-dists-normal');

/** Per-example predictions as the analysis needs them: true label, predicted label, probabilities [n, k]. */
export interface ExamplePredictions {
  numLabels: number;
  label: ArrayLike<number>;
  predicted: ArrayLike<number>;
  /** row-major [n, numLabels]; needed for the loss */
  probabilities?: ArrayLike<number>;
}

export type NoiseMetric = 'accuracy' | 'f1' | 'loss';
export const NOISE_METRICS: readonly NoiseMetric[] = ['accuracy', 'f1', 'loss'];

export interface BootstrapInterval {
  estimate: number;
  /** bootstrap standard error (sd of the replicates, ddof 1) */
  se: number;
  percentile: [number, number];
  bca: [number, number];
}

export interface BootstrapOptions {
  /** replicates (default 2000) */
  B?: number;
  seed?: number;
  /** confidence level (default 0.95) */
  level?: number;
  /** explicit resamples (B rows of n example indices): tests use the reference's own */
  resamples?: ArrayLike<number>[];
}

const EPS_PROB = 1e-12;

/** Per-example pieces every metric is a function of. */
interface Pieces {
  n: number;
  k: number;
  correct: Uint8Array;
  label: Int32Array;
  predicted: Int32Array;
  /** −log p(true label), or null without probabilities */
  nll: Float64Array | null;
}

function pieces(p: ExamplePredictions): Pieces {
  const n = p.label.length;
  if (p.predicted.length !== n) throw new UserError(`predictions: ${n} labels but ${p.predicted.length} predicted labels`);
  const k = p.numLabels;
  const label = Int32Array.from(p.label);
  const predicted = Int32Array.from(p.predicted);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) correct[i] = label[i] === predicted[i] ? 1 : 0;
  let nll: Float64Array | null = null;
  if (p.probabilities) {
    if (p.probabilities.length !== n * k) throw new UserError(`predictions: ${p.probabilities.length} probabilities for ${n} examples × ${k} labels`);
    nll = new Float64Array(n);
    for (let i = 0; i < n; i++) nll[i] = -Math.log(Math.max(EPS_PROB, p.probabilities[i * k + label[i]!]!));
  }
  return { n, k, correct, label, predicted, nll };
}

/**
 * The metric from per-example weights (w[i] = how often example i is in the sample: a bootstrap resample,
 * a jackknife leave-one-out, or all ones). F1 as src/train reports it: positive label 1 for two labels, macro otherwise.
 */
function metricOf(metric: NoiseMetric, q: Pieces, w: ArrayLike<number>): number {
  let total = 0;
  if (metric === 'accuracy') {
    let c = 0;
    for (let i = 0; i < q.n; i++) { total += w[i]!; c += w[i]! * q.correct[i]!; }
    return c / total;
  }
  if (metric === 'loss') {
    if (!q.nll) return NaN;
    let s = 0;
    for (let i = 0; i < q.n; i++) { total += w[i]!; s += w[i]! * q.nll[i]!; }
    return s / total;
  }
  const k = q.k;
  const tp = new Float64Array(k), fp = new Float64Array(k), fn = new Float64Array(k), present = new Uint8Array(k);
  for (let i = 0; i < q.n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const y = q.label[i]!, p = q.predicted[i]!;
    present[y] = 1;
    present[p] = 1;
    if (y === p) tp[y]! += wi;
    else { fp[p]! += wi; fn[y]! += wi; }
  }
  const f1 = (c: number) => { const d = 2 * tp[c]! + fp[c]! + fn[c]!; return d > 0 ? (2 * tp[c]!) / d : 0; };
  if (k === 2) return f1(1);
  let s = 0, m = 0;
  for (let c = 0; c < k; c++) if (present[c]) { s += f1(c); m++; }
  return m > 0 ? s / m : 0;
}

/** numpy's default percentile: linear interpolation between the sorted values at h = (B − 1)·q. */
export function quantileLinear(sorted: ArrayLike<number>, q: number): number {
  const B = sorted.length;
  if (B === 0) return NaN;
  const h = (B - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(B - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function sdOf(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - m) ** 2;
  return Math.sqrt(s / (x.length - 1));
}

/** Percentile and BCa intervals from replicates, the estimate and jackknife values (the definitions, nothing else). */
export function bootstrapIntervals(estimate: number, replicates: Float64Array, jackknife: ArrayLike<number>, level = 0.95): BootstrapInterval {
  const sorted = Float64Array.from(replicates).sort();
  const alpha = (1 - level) / 2;
  const percentile: [number, number] = [quantileLinear(sorted, alpha), quantileLinear(sorted, 1 - alpha)];
  let below = 0, atOrBelow = 0;
  for (const v of sorted) { if (v < estimate) below++; if (v <= estimate) atOrBelow++; }
  const z0 = normal().quantile((below + atOrBelow) / (2 * sorted.length), 0, 1);
  let jm = 0;
  for (let i = 0; i < jackknife.length; i++) jm += jackknife[i]!;
  jm /= jackknife.length;
  let num = 0, den = 0;
  for (let i = 0; i < jackknife.length; i++) { const d = jm - jackknife[i]!; num += d ** 3; den += d * d; }
  const a = den > 0 ? num / (6 * den ** 1.5) : 0;
  const adj = (q: number) => {
    const z = normal().quantile(q, 0, 1);
    return normal().cdf(z0 + (z0 + z) / (1 - a * (z0 + z)), 0, 1);
  };
  const bca: [number, number] = Number.isFinite(z0) ? [quantileLinear(sorted, adj(alpha)), quantileLinear(sorted, adj(1 - alpha))] : [...percentile];
  return { estimate, se: sdOf(replicates), percentile, bca };
}

/** A uniform index in [0, n) from one 32-bit draw (bias ≤ n/2³², far below the bootstrap's own noise). */
function drawIndex(rng: Rng, n: number): number {
  return Math.floor((rng.uint32() / 4294967296) * n);
}

/** Resample counts: w[i] = times example i was drawn in a resample of n with replacement. */
function* resampleWeights(n: number, opts: BootstrapOptions): Generator<Float64Array> {
  const w = new Float64Array(n);
  if (opts.resamples) {
    for (const r of opts.resamples) {
      w.fill(0);
      for (let j = 0; j < r.length; j++) w[r[j]!]! += 1;
      yield w;
    }
    return;
  }
  const B = opts.B ?? 2000;
  const rng = new Rng(opts.seed ?? 0);
  for (let b = 0; b < B; b++) {
    w.fill(0);
    for (let j = 0; j < n; j++) w[drawIndex(rng, n)]! += 1;
    yield w;
  }
}

/** Leave-one-out values of a metric in O(n·k) from its totals (the generic jackknifeOf is O(n²)). */
function jackknifeMetric(metric: NoiseMetric, q: Pieces): Float64Array {
  const n = q.n;
  const out = new Float64Array(n);
  if (metric === 'accuracy' || metric === 'loss') {
    const v = metric === 'accuracy' ? Float64Array.from(q.correct) : q.nll!;
    let total = 0;
    for (let i = 0; i < n; i++) total += v[i]!;
    for (let i = 0; i < n; i++) out[i] = (total - v[i]!) / (n - 1);
    return out;
  }
  const k = q.k;
  const tp = new Float64Array(k), fp = new Float64Array(k), fn = new Float64Array(k), seen = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const y = q.label[i]!, p = q.predicted[i]!;
    seen[y]! += 1;
    if (p !== y) seen[p]! += 1;
    if (y === p) tp[y]! += 1;
    else { fp[p]! += 1; fn[y]! += 1; }
  }
  const f1 = (t: number, a: number, b: number) => { const d = 2 * t + a + b; return d > 0 ? (2 * t) / d : 0; };
  for (let i = 0; i < n; i++) {
    const y = q.label[i]!, p = q.predicted[i]!;
    const dtp = (c: number) => (y === p && c === y ? 1 : 0);
    const dfp = (c: number) => (y !== p && c === p ? 1 : 0);
    const dfn = (c: number) => (y !== p && c === y ? 1 : 0);
    if (k === 2) { out[i] = f1(tp[1]! - dtp(1), fp[1]! - dfp(1), fn[1]! - dfn(1)); continue; }
    let sum = 0, m = 0;
    for (let c = 0; c < k; c++) {
      const present = seen[c]! - (c === y ? 1 : 0) - (c === p && p !== y ? 1 : 0) > 0;
      if (present) { sum += f1(tp[c]! - dtp(c), fp[c]! - dfp(c), fn[c]! - dfn(c)); m++; }
    }
    out[i] = m > 0 ? sum / m : 0;
  }
  return out;
}

function jackknifeOf(fn: (w: Float64Array) => number, n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    w[i] = 0;
    out[i] = fn(w);
    w[i] = 1;
  }
  return out;
}

/** Bootstrap CIs over evaluation examples of each metric (loss only with probabilities). */
export function bootstrapMetrics(
  p: ExamplePredictions,
  opts: BootstrapOptions & { metrics?: readonly NoiseMetric[] } = {},
): Partial<Record<NoiseMetric, BootstrapInterval>> {
  const q = pieces(p);
  if (q.n < 2) throw new UserError('bootstrap: need at least two evaluation examples');
  const metrics = (opts.metrics ?? NOISE_METRICS).filter((m) => m !== 'loss' || q.nll);
  const ones = new Float64Array(q.n).fill(1);
  const reps = metrics.map(() => [] as number[]);
  if (!opts.resamples && q.k === 2) {
    // fast path (the bulk of a study's noise analysis): draw and count in one pass, no weight vector
    const n = q.n;
    const rng = new Rng(opts.seed ?? 0);
    for (let b = 0, B = opts.B ?? 2000; b < B; b++) {
      let c = 0, nll = 0, tp = 0, fp = 0, fn = 0;
      for (let j = 0; j < n; j++) {
        const i = drawIndex(rng, n);
        c += q.correct[i]!;
        if (q.nll) nll += q.nll[i]!;
        const y = q.label[i]!, p = q.predicted[i]!;
        if (p === 1) { if (y === 1) tp++; else fp++; } else if (y === 1) fn++;
      }
      metrics.forEach((m, j) => reps[j]!.push(m === 'accuracy' ? c / n : m === 'loss' ? nll / n : 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0));
    }
  } else {
    for (const w of resampleWeights(q.n, opts)) metrics.forEach((m, j) => reps[j]!.push(metricOf(m, q, w)));
  }
  const out: Partial<Record<NoiseMetric, BootstrapInterval>> = {};
  metrics.forEach((m, j) => {
    out[m] = bootstrapIntervals(metricOf(m, q, ones), Float64Array.from(reps[j]!), jackknifeMetric(m, q), opts.level ?? 0.95);
  });
  return out;
}

export interface McNemarResult {
  /** A right, B wrong */
  b: number;
  /** A wrong, B right */
  c: number;
  /** min(b, c), as statsmodels' exact test reports it */
  statistic: number;
  pvalue: number;
  method: string;
}

/** Binomial(n, ½) cdf at k, as the regularized incomplete beta I_½(n − k, k + 1). */
function binomHalfCdf(k: number, n: number): number {
  if (k >= n) return 1;
  if (k < 0) return 0;
  return betainc()(0.5, n - k, k + 1, true, false);
}

/** Exact McNemar test of paired correctness (statsmodels `mcnemar(table, exact=True)`: two-sided binomial on the discordant pairs). */
export function mcnemarExact(a: ExamplePredictions, b: ExamplePredictions): McNemarResult {
  const qa = pieces(a), qb = pieces(b);
  if (qa.n !== qb.n) throw new UserError(`McNemar: the two models were evaluated on different example sets (${qa.n} vs ${qb.n} examples)`);
  let nb = 0, nc = 0;
  for (let i = 0; i < qa.n; i++) {
    if (qa.label[i] !== qb.label[i]) throw new UserError(`McNemar: example ${i} has different true labels in the two prediction sets`);
    if (qa.correct[i] && !qb.correct[i]) nb++;
    else if (!qa.correct[i] && qb.correct[i]) nc++;
  }
  const s = Math.min(nb, nc);
  return { b: nb, c: nc, statistic: s, pvalue: nb + nc === 0 ? 1 : Math.min(1, 2 * binomHalfCdf(s, nb + nc)), method: 'exact McNemar (two-sided binomial test on the discordant pairs)' };
}

export interface PairedDifference extends BootstrapInterval {
  metric: NoiseMetric;
  /** two-sided bootstrap p-value: 2·min(share of replicate differences ≤ 0, share ≥ 0) */
  p: number;
}

/** Paired bootstrap of metric(A) − metric(B) over the same evaluation examples (both resampled with one index set). */
export function pairedBootstrap(
  a: ExamplePredictions,
  b: ExamplePredictions,
  opts: BootstrapOptions & { metrics?: readonly NoiseMetric[] } = {},
): PairedDifference[] {
  const qa = pieces(a), qb = pieces(b);
  if (qa.n !== qb.n) throw new UserError(`paired bootstrap: the two models were evaluated on different example sets (${qa.n} vs ${qb.n} examples)`);
  const metrics = (opts.metrics ?? NOISE_METRICS).filter((m) => m !== 'loss' || (qa.nll && qb.nll));
  const fns = metrics.map((m) => (w: ArrayLike<number>) => metricOf(m, qa, w) - metricOf(m, qb, w));
  const reps = fns.map(() => [] as number[]);
  for (const w of resampleWeights(qa.n, opts)) fns.forEach((f, j) => reps[j]!.push(f(w)));
  const ones = new Float64Array(qa.n).fill(1);
  return metrics.map((metric, j) => {
    const r = Float64Array.from(reps[j]!);
    let le = 0, ge = 0;
    for (const v of r) { if (v <= 0) le++; if (v >= 0) ge++; }
    const iv = bootstrapIntervals(fns[j]!(ones), r, jackknifeOf(fns[j]!, qa.n), opts.level ?? 0.95);
    return { metric, ...iv, p: Math.min(1, (2 * Math.min(le, ge)) / r.length) };
  });
}

/** Binomial sampling variance of an accuracy p on n examples, p(1 − p)/n. */
export function accuracyVariance(p: number, n: number): number {
  return (p * (1 - p)) / n;
}

// ---- expected validation performance --------------------------------------------------------

export interface ExpectedMax {
  n: number;
  mean: number;
  /** sd of the best of n draws (√(E[max²] − E[max]²)), the band Dodge et al. draw */
  se: number;
}

/**
 * E[max of n] = Σᵢ v₍ᵢ₎·((i/N)ⁿ − ((i−1)/N)ⁿ) over the N sorted scores (n draws with replacement from the empirical
 * distribution), with √(Σᵢ v₍ᵢ₎²·wᵢ − E²) as its spread, for n = 1…maxN (default N). `direction: 'min'` for losses.
 */
export function expectedMax(scores: readonly number[], opts: { maxN?: number; direction?: 'max' | 'min' } = {}): ExpectedMax[] {
  const v = scores.filter((x) => Number.isFinite(x));
  const N = v.length;
  if (N === 0) return [];
  const sign = opts.direction === 'min' ? -1 : 1;
  const s = v.map((x) => sign * x).sort((x, y) => x - y);
  const out: ExpectedMax[] = [];
  for (let n = 1; n <= (opts.maxN ?? N); n++) {
    let e = 0, e2 = 0;
    for (let i = 1; i <= N; i++) {
      const w = (i / N) ** n - ((i - 1) / N) ** n;
      e += s[i - 1]! * w;
      e2 += s[i - 1]! ** 2 * w;
    }
    out.push({ n, mean: sign * e, se: Math.sqrt(Math.max(0, e2 - e * e)) });
  }
  return out;
}

// ---- P(A > B) ---------------------------------------------------------------------------------

export interface ProbabilityOfImprovement {
  /** paired runs (A and B with the same seeds) */
  pairs: number;
  /** P(A > B): share of pairs where A beats B (ties count ½) */
  p: number;
  ci: [number, number];
  B: number;
  seed: number;
  /** 'A' when the CI's lower bound is above 0.5, 'B' when the upper bound is below 0.5, else 'neither' */
  better: 'A' | 'B' | 'neither';
}

/** P(A > B) over paired scores with a percentile bootstrap CI over the pairs (Bouthillier et al. 2021). */
export function probabilityOfImprovement(a: readonly number[], b: readonly number[], opts: { B?: number; seed?: number; level?: number; direction?: 'max' | 'min' } = {}): ProbabilityOfImprovement {
  if (a.length !== b.length) throw new UserError(`P(A > B): ${a.length} runs of A but ${b.length} of B to pair`);
  const n = a.length;
  if (n === 0) throw new UserError('P(A > B): no paired runs (A and B share no seeds)');
  const sign = opts.direction === 'min' ? -1 : 1;
  const win: number[] = a.map((x, i) => { const d = sign * (x - b[i]!); return d > 0 ? 1 : d < 0 ? 0 : 0.5; });
  const Bn = opts.B ?? 2000;
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const reps = new Float64Array(Bn);
  for (let r = 0; r < Bn; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += win[rng.int(n)]!;
    reps[r] = s / n;
  }
  reps.sort();
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  const ci: [number, number] = [quantileLinear(reps, alpha), quantileLinear(reps, 1 - alpha)];
  const p = win.reduce((x, y) => x + y, 0) / n;
  return { pairs: n, p, ci, B: Bn, seed, better: ci[0] > 0.5 ? 'A' : ci[1] < 0.5 ? 'B' : 'neither' };
}

// ---- A vs B over paired runs ---------------------------------------------------------------------

export interface RunScore {
  score: number;
  /** seeds that pair it with a run of the other side */
  key: string;
  predictions?: ExamplePredictions | null;
}

export interface Comparison {
  metric: string;
  pairs: number;
  mean_a: number;
  mean_b: number;
  mean_difference: number;
  /** t interval over the paired differences (seed noise) */
  seed_ci: [number, number] | null;
  /** paired bootstrap over evaluation examples of the mean difference (evaluation noise), when predictions exist */
  evaluation_ci: [number, number] | null;
  probability: ProbabilityOfImprovement;
  mcnemar: Array<McNemarResult & { key: string }>;
  verdict: string;
}

/**
 * Compare A with B on `metric` over runs paired by their seeds (a single B run, e.g. a baseline evaluation, pairs
 * with every A run): P(A > B) with a bootstrap CI, the mean difference with a seed-noise CI (t over pairs) and an
 * evaluation-noise CI (examples resampled jointly for every pair), exact McNemar per pair for accuracy.
 */
export function compareRuns(a: RunScore[], b: RunScore[], opts: { metric: string; B?: number; seed?: number; tQuantile: (df: number) => number }): Comparison {
  const direction = /loss|error|perplexity/i.test(opts.metric) ? 'min' : 'max';
  const pairs: Array<[RunScore, RunScore]> = [];
  const byKey = new Map(b.map((x) => [x.key, x]));
  for (const x of a) { const y = byKey.get(x.key); if (y) pairs.push([x, y]); }
  // one B run sharing no seeds with A (a baseline evaluation): every A run pairs with it
  if (pairs.length === 0 && b.length === 1) for (const x of a) pairs.push([x, b[0]!]);
  if (pairs.length === 0) throw new UserError(`compare: A and B share no seeds (A: ${a.map((x) => x.key).join(' ') || 'no runs'}; B: ${b.map((x) => x.key).join(' ') || 'no runs'})`);
  const diffs = pairs.map(([x, y]) => x.score - y.score);
  const n = diffs.length;
  const md = diffs.reduce((s, d) => s + d, 0) / n;
  let seed_ci: [number, number] | null = null;
  if (n >= 2) {
    const s = Math.sqrt(diffs.reduce((acc, d) => acc + (d - md) ** 2, 0) / (n - 1));
    const h = opts.tQuantile(n - 1) * (s / Math.sqrt(n));
    seed_ci = [md - h, md + h];
  }
  let evaluation_ci: [number, number] | null = null;
  const metricKey = (['accuracy', 'f1', 'loss'] as const).find((m) => m === opts.metric);
  const withPreds = pairs.filter(([x, y]) => x.predictions && y.predictions);
  if (metricKey && withPreds.length === pairs.length) {
    const qs = withPreds.map(([x, y]) => [pieces(x.predictions!), pieces(y.predictions!)] as const);
    const m0 = qs[0]![0].n;
    if (qs.every(([qa, qb]) => qa.n === m0 && qb.n === m0)) {
      const stat = (w: ArrayLike<number>) => qs.reduce((s, [qa, qb]) => s + metricOf(metricKey, qa, w) - metricOf(metricKey, qb, w), 0) / qs.length;
      const reps: number[] = [];
      for (const w of resampleWeights(m0, { B: opts.B ?? 2000, seed: opts.seed ?? 0 })) reps.push(stat(w));
      const sorted = Float64Array.from(reps).sort();
      evaluation_ci = [quantileLinear(sorted, 0.025), quantileLinear(sorted, 0.975)];
    }
  }
  const mcnemar = metricKey === 'accuracy' ? withPreds.map(([x, y]) => ({ key: x.key, ...mcnemarExact(x.predictions!, y.predictions!) })) : [];
  const probability = probabilityOfImprovement(pairs.map((p) => p[0].score), pairs.map((p) => p[1].score), { B: opts.B ?? 2000, seed: opts.seed ?? 0, direction });
  const pct = (x: number) => x.toFixed(3);
  const verdict =
    probability.better === 'A'
      ? `A is better than B on ${opts.metric}: P(A > B) = ${pct(probability.p)}, 95 % CI [${pct(probability.ci[0])}, ${pct(probability.ci[1])}] over ${n} paired run(s) lies above 0.5`
      : probability.better === 'B'
        ? `B is better than A on ${opts.metric}: P(A > B) = ${pct(probability.p)}, 95 % CI [${pct(probability.ci[0])}, ${pct(probability.ci[1])}] lies below 0.5`
        : `no reliable difference on ${opts.metric}: P(A > B) = ${pct(probability.p)}, 95 % CI [${pct(probability.ci[0])}, ${pct(probability.ci[1])}] contains 0.5${n < 5 ? ` (only ${n} paired run(s): add seeds)` : ''}`;
  return {
    metric: opts.metric,
    pairs: n,
    mean_a: pairs.reduce((s, p) => s + p[0].score, 0) / n,
    mean_b: pairs.reduce((s, p) => s + p[1].score, 0) / n,
    mean_difference: md,
    seed_ci,
    evaluation_ci,
    probability,
    mcnemar,
    verdict,
  };
}
