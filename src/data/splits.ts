/**
 * Seeded subsampling and stratified splits for datasets that ship as one file (MR, CR, SUBJ, MPQA).
 * Written here rather than taken from a library: a few lines over util's Rng, and the exact
 * index sets must be reproducible from (seed, n, labels) alone.
 */
import { Rng, UserError } from '../util/index.js';
import type { Example } from './types.js';

/** Up to `max` examples chosen uniformly at random with `seed`, kept in their original order. */
export function subsample<T>(items: T[], max: number | undefined, seed: number): T[] {
  if (max === undefined || max >= items.length) return items;
  if (!Number.isInteger(max) || max < 1) throw new UserError(`max samples must be a positive integer, got ${max}`);
  const idx = new Rng(seed).permutation(items.length).slice(0, max).sort((a, b) => a - b);
  return idx.map((i) => items[i] as T);
}

function byClass(examples: Example[], rng: Rng): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  examples.forEach((e, i) => {
    let g = groups.get(e.label);
    if (!g) groups.set(e.label, (g = []));
    g.push(i);
  });
  const sorted = new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
  for (const g of sorted.values()) rng.shuffle(g);
  return sorted;
}

/**
 * Stratified holdout: each class contributes round-to-fit shares of ceil(testSize * n) evaluation examples
 * (largest remainders get the leftover), so class proportions match in both parts.
 */
export function stratifiedHoldout(examples: Example[], testSize: number, seed: number): { train: Example[]; eval: Example[] } {
  if (!(testSize > 0 && testSize < 1)) throw new UserError(`test size must be in (0, 1), got ${testSize}`);
  const n = examples.length;
  const nTest = Math.ceil(testSize * n);
  if (nTest < 1 || nTest >= n) throw new UserError(`cannot hold out ${nTest} of ${n} examples`);
  const groups = byClass(examples, new Rng(seed));
  const shares = [...groups.entries()].map(([label, idx]) => {
    const exact = (idx.length * nTest) / n;
    return { label, idx, take: Math.floor(exact), rem: exact - Math.floor(exact) };
  });
  let left = nTest - shares.reduce((s, x) => s + x.take, 0);
  for (const s of [...shares].sort((a, b) => b.rem - a.rem || a.label - b.label)) {
    if (left <= 0) break;
    if (s.take < s.idx.length) {
      s.take++;
      left--;
    }
  }
  const evalIdx = new Set<number>();
  for (const s of shares) for (const i of s.idx.slice(0, s.take)) evalIdx.add(i);
  const train: Example[] = [];
  const ev: Example[] = [];
  examples.forEach((e, i) => (evalIdx.has(i) ? ev : train).push(e));
  return { train, eval: ev };
}

/** Fold id (0..k-1) for every example: each class is shuffled and dealt round-robin, as StratifiedKFold(shuffle=True) balances classes. */
export function stratifiedKFoldAssignment(examples: Example[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 2) throw new UserError(`k-fold needs an integer k >= 2, got ${k}`);
  if (k > examples.length) throw new UserError(`k-fold with k=${k} needs at least ${k} examples, found ${examples.length}`);
  const fold = new Array<number>(examples.length).fill(0);
  let offset = 0;
  for (const idx of byClass(examples, new Rng(seed)).values()) {
    // continue dealing where the previous class stopped so fold sizes differ by at most one
    idx.forEach((i, j) => (fold[i] = (offset + j) % k));
    offset = (offset + idx.length) % k;
  }
  return fold;
}

export function stratifiedKFold(examples: Example[], k: number, foldIndex: number, seed: number): { train: Example[]; eval: Example[] } {
  if (!Number.isInteger(foldIndex) || foldIndex < 0 || foldIndex >= k) {
    throw new UserError(`fold must be an integer in [0, ${k - 1}], got ${foldIndex}`);
  }
  const fold = stratifiedKFoldAssignment(examples, k, seed);
  const train: Example[] = [];
  const ev: Example[] = [];
  examples.forEach((e, i) => (fold[i] === foldIndex ? ev : train).push(e));
  return { train, eval: ev };
}
