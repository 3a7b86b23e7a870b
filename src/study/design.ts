/**
 * Experimental designs over training arguments: full factorial grid, random, Latin hypercube and Sobol,
 * each crossed with the replicate seeds. Expansion is deterministic; a trial's id is a short sha256 of the
 * canonical JSON of its configuration and seed, so ids do not depend on factor order or design order.
 *
 * The Sobol generator is written here: npm has no maintained Sobol package (none in the registry list we
 * checked), and the algorithm is a few lines of Gray-code XORs over the Joe–Kuo (2008) direction numbers
 * (new-joe-kuo-6.21201, dimensions 1–20, enough for any hyperparameter design).
 */
import { Rng } from '../util/index.js';
import { UserError } from '../util/index.js';
import { codedDesign } from './coded.js';
import { CODED_DESIGNS, canonicalJson, sha256, type Factor, type StudySpec } from './spec.js';

export type TrialConfig = Record<string, number>;
export type TrialKind = 'train' | 'evaluate';

export interface Trial {
  /** 16 hex characters of sha256(canonical JSON of {config, seed} — plus data_seed when set, the kind for evaluations). */
  id: string;
  kind: TrialKind;
  config: TrialConfig;
  seed: number;
  /** HF data_seed (sampler order); null: the data order follows `seed` */
  dataSeed: number | null;
  /** part of the design (analysed) */
  inDesign: boolean;
  /** part of the baseline (trained or evaluated to define the relative frame) */
  isBaseline: boolean;
  /** order in the expansion: baseline first, then design points × seeds */
  ordinal: number;
}

export function trialId(kind: TrialKind, config: TrialConfig, seed: number, dataSeed: number | null = null, block = 1): string {
  // data_seed only when set: trials of studies without data seeds keep their ids; the block only for follow-up
  // blocks (`study extend`), so a point a later block repeats is a new trial, and block-1 ids never change
  const seeds = dataSeed === null ? { seed } : { seed, data_seed: dataSeed };
  const blocked = block > 1 ? { block } : {};
  const body = kind === 'train' ? { config, ...seeds, ...blocked } : { kind, config, ...seeds, ...blocked };
  return sha256(canonicalJson(body)).slice(0, 16);
}

// Joe–Kuo direction numbers: [s, a, m_1..m_s] for dimensions 2..20 (dimension 1 is van der Corput).
const JOE_KUO: ReadonlyArray<readonly number[]> = [
  [1, 0, 1],
  [2, 1, 1, 3],
  [3, 1, 1, 3, 1],
  [3, 2, 1, 1, 1],
  [4, 1, 1, 1, 3, 3],
  [4, 4, 1, 3, 5, 13],
  [5, 2, 1, 1, 5, 5, 17],
  [5, 4, 1, 1, 5, 5, 5],
  [5, 7, 1, 1, 7, 11, 19],
  [5, 11, 1, 1, 5, 1, 1],
  [5, 13, 1, 1, 1, 3, 11],
  [5, 14, 1, 3, 5, 5, 31],
  [6, 1, 1, 3, 3, 9, 7, 49],
  [6, 13, 1, 1, 1, 15, 21, 21],
  [6, 16, 1, 3, 1, 13, 27, 49],
  [6, 19, 1, 1, 1, 15, 7, 5],
  [6, 22, 1, 3, 1, 15, 13, 25],
  [6, 25, 1, 1, 5, 5, 19, 61],
  [7, 1, 1, 3, 7, 11, 23, 15, 103],
];
const SOBOL_BITS = 32;
export const SOBOL_MAX_DIMENSIONS = JOE_KUO.length + 1;

function directionNumbers(dim: number): Uint32Array {
  const v = new Uint32Array(SOBOL_BITS);
  if (dim === 0) {
    for (let i = 0; i < SOBOL_BITS; i++) v[i] = 2 ** (31 - i);
    return v;
  }
  const [s, a, ...m] = JOE_KUO[dim - 1]!;
  for (let i = 0; i < s!; i++) v[i] = (m[i]! * 2 ** (31 - i)) >>> 0;
  for (let i = s!; i < SOBOL_BITS; i++) {
    let x = v[i - s!]! ^ (v[i - s!]! >>> s!);
    for (let k = 1; k < s!; k++) {
      if ((a! >>> (s! - 1 - k)) & 1) x ^= v[i - k]!;
    }
    v[i] = x >>> 0;
  }
  return v;
}

/**
 * The first n points of the unscrambled Sobol sequence in [0,1)^d, starting at the origin (scipy's
 * `Sobol(d, scramble=False).random(n)` convention). `shift` XORs each dimension with a fixed 32-bit word
 * (a random digital shift, which keeps the net properties).
 */
export function sobolPoints(n: number, d: number, shift?: Uint32Array): number[][] {
  if (d < 1 || d > SOBOL_MAX_DIMENSIONS) throw new UserError(`Sobol designs support 1 to ${SOBOL_MAX_DIMENSIONS} factors, got ${d}`);
  const v = Array.from({ length: d }, (_, j) => directionNumbers(j));
  const x = new Uint32Array(d);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    out.push(Array.from(x, (xi, j) => ((xi ^ (shift ? shift[j]! : 0)) >>> 0) / 2 ** 32));
    // Gray-code update: flip the direction number of the lowest zero bit of i.
    let c = 0;
    while ((i >>> c) & 1) c++;
    for (let j = 0; j < d; j++) x[j] = (x[j]! ^ v[j]![c]!) >>> 0;
  }
  return out;
}

/** Latin hypercube in [0,1)^d: each dimension's n strata hold exactly one point, jittered inside its stratum. */
export function latinHypercube(n: number, d: number, rng: Rng): number[][] {
  const cols = Array.from({ length: d }, () => rng.permutation(n).map((stratum) => (stratum + rng.uniform()) / n));
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]!));
}

/** Map u ∈ [0,1) onto a factor: linear or log scale, whole numbers equally likely when `integer`. */
export function mapUnit(f: Factor, u: number): number {
  if ('values' in f) return f.values[Math.min(f.values.length - 1, Math.floor(u * f.values.length))]!;
  if (f.integer) {
    const lo = Math.ceil(f.min);
    const hi = Math.floor(f.max);
    if (f.scale === 'log') {
      // equal mass per whole number on the log axis: sample in [lo-0.5, hi+0.5] on log scale, then round
      const a = Math.log(lo - 0.5);
      const b = Math.log(hi + 0.5);
      return Math.min(hi, Math.max(lo, Math.round(Math.exp(a + u * (b - a)))));
    }
    return Math.min(hi, lo + Math.floor(u * (hi - lo + 1)));
  }
  if (f.scale === 'log') return roundSig(Math.exp(Math.log(f.min) + u * (Math.log(f.max) - Math.log(f.min))));
  return roundSig(f.min + u * (f.max - f.min));
}

/** 12 significant digits: keeps ids and CSVs readable without changing any experiment. */
function roundSig(x: number): number {
  return Number(x.toPrecision(12));
}

function gridLevels(f: Factor): number[] {
  if ('values' in f) return f.values;
  if (f.allowed) return f.allowed;
  const k = f.levels!;
  if (k === 1) return [mapUnit(f, 0.5)];
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const t = i / (k - 1);
    let v = f.scale === 'log' ? Math.exp(Math.log(f.min) + t * (Math.log(f.max) - Math.log(f.min))) : f.min + t * (f.max - f.min);
    v = f.integer ? Math.round(v) : roundSig(v);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** Trials a study may have unless `execution.max_trials` says more: above it a typo (levels: 10000) is likelier than intent. */
export const DEFAULT_MAX_TRIALS = 10_000;
/** No spec may go above this: every trial is a row in the store and an object in memory while the design expands. */
export const HARD_MAX_TRIALS = 1_000_000;

/**
 * How many configurations a design has at most, computed from the spec without materialising it (a grid is the
 * product of its level counts; rounding may merge a few levels, never add any). Every design type passes here,
 * so the size bound holds for all of them.
 */
export function designSize(design: StudySpec['design'], args: StudySpec['args'] = {}): number {
  if (design.type === 'grid') return design.factors.reduce((p, f) => p * ('values' in f ? f.values.length : f.levels!), 1);
  // response-surface and optimal designs are small by construction: count their runs (centre points included)
  if (CODED_DESIGNS.has(design.type)) return codedDesign(design, args).runs.length;
  if ('n' in design && design.n !== undefined) return design.n;
  return designConfigs(design, args, { unchecked: true }).length;
}

/** Replicates per configuration: distinct seeds × distinct data seeds. */
function replicates(spec: Pick<StudySpec, 'seeds'> & { data_seeds?: number[] | null }): number {
  return new Set(spec.seeds).size * (spec.data_seeds ? new Set(spec.data_seeds).size : 1);
}

/** Configurations × seeds (× data seeds), plus the baseline's trials, without expanding. */
export function trialCount(spec: Pick<StudySpec, 'design' | 'seeds' | 'baseline'> & { data_seeds?: number[] | null; args?: StudySpec['args'] }): number {
  const seeds = replicates(spec);
  const b = spec.baseline;
  return designSize(spec.design, spec.args ?? {}) * seeds + (b?.kind === 'evaluate' ? 1 : b?.kind === 'config' ? seeds : 0);
}

/** A clear error when the design is larger than the bound (`execution.max_trials`, default DEFAULT_MAX_TRIALS). */
export function checkDesignSize(
  spec: Pick<StudySpec, 'design' | 'seeds' | 'baseline'> & { data_seeds?: number[] | null; args?: StudySpec['args']; execution?: Pick<StudySpec['execution'], 'max_trials'> },
): number {
  const limit = Math.min(spec.execution?.max_trials ?? DEFAULT_MAX_TRIALS, HARD_MAX_TRIALS);
  const configs = designSize(spec.design, spec.args ?? {});
  const total = trialCount(spec);
  if (!(total <= limit)) {
    const shape =
      spec.design.type === 'grid'
        ? spec.design.factors.map((f) => `${f.name} ${'values' in f ? f.values.length : f.levels}`).join(' × ')
        : `n ${configs}`;
    const raise =
      limit < HARD_MAX_TRIALS && total <= HARD_MAX_TRIALS
        ? `; set execution.max_trials: ${total} to run it anyway`
        : ` (the most any study may have is ${HARD_MAX_TRIALS.toLocaleString('en-US')})`;
    throw new UserError(
      `design: ${Number.isFinite(total) ? total.toLocaleString('en-US') : total} trials (${shape} configurations × ${replicates(spec)} seed(s)) is above the limit of ${limit.toLocaleString('en-US')}${raise}`,
    );
  }
  return total;
}

/**
 * The design's runs in a deterministic order, with repeats: a configuration listed r times is run with r sets of
 * seeds (the centre points of a CCD or Box–Behnken design, a point an optimal design takes twice).
 */
export function designRuns(design: StudySpec['design'], args: StudySpec['args'] = {}): TrialConfig[] {
  if (CODED_DESIGNS.has(design.type)) return codedDesign(design, args).runs.map((r) => r.config);
  return designConfigs(design, args);
}

/** The design's distinct configurations (without seeds), in a deterministic order. Bounded by HARD_MAX_TRIALS. */
export function designConfigs(design: StudySpec['design'], args: StudySpec['args'] = {}, opts: { unchecked?: boolean } = {}): TrialConfig[] {
  if (!opts.unchecked) {
    const size = designSize(design, args);
    if (!(size <= HARD_MAX_TRIALS)) throw new UserError(`design: ${size} configurations is above the limit of ${HARD_MAX_TRIALS.toLocaleString('en-US')}`);
  }
  const fs = design.factors;
  let points: TrialConfig[];
  if (CODED_DESIGNS.has(design.type)) {
    points = codedDesign(design, args).runs.map((r) => r.config);
  } else if (design.type === 'grid') {
    points = [{}];
    for (const f of fs) {
      const next: TrialConfig[] = [];
      for (const p of points) for (const v of gridLevels(f)) next.push({ ...p, [f.name]: v });
      points = next;
    }
  } else {
    const n = design.n!;
    const rng = new Rng(design.seed);
    let units: number[][];
    if (design.type === 'random') units = Array.from({ length: n }, () => fs.map(() => rng.uniform()));
    else if (design.type === 'lhs') units = latinHypercube(n, fs.length, rng);
    else {
      const shift = design.scramble ? Uint32Array.from(fs, () => rng.uint32()) : undefined;
      units = sobolPoints(n, fs.length, shift);
    }
    points = units.map((u) => Object.fromEntries(fs.map((f, j) => [f.name, mapUnit(f, u[j]!)])));
  }
  // Rounding can make two points equal: keep the first.
  const seen = new Set<string>();
  return points.filter((p) => {
    const k = canonicalJson(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The (seed, data_seed) replicates: `seeds` × `data_seeds` (seed-major), or each seed with data_seed null. */
export function seedPairs(spec: Pick<StudySpec, 'seeds' | 'data_seeds'>): Array<{ seed: number; dataSeed: number | null }> {
  const data = spec.data_seeds ?? [null];
  return spec.seeds.flatMap((seed) => data.map((dataSeed) => ({ seed, dataSeed })));
}

/**
 * Seeds of the r-th copy of a design point: the spec's seeds for the first, then fresh ones after the largest
 * (seeds [42, 43]: copy 1 gets 44, 45; copy 2 gets 46, 47), so replicated points are independent runs.
 */
export function replicateSeeds(seeds: number[], r: number): number[] {
  if (r === 0) return seeds;
  const top = Math.max(...seeds);
  return seeds.map((_, i) => top + (r - 1) * seeds.length + i + 1);
}

/**
 * Every trial of a study: baseline trials first (an evaluation of the starting model, or the reference
 * configuration × seeds × data seeds), then the design × seeds × data seeds. A reference configuration that is
 * also a design point is one trial serving both roles.
 */
export function expandDesign(
  spec: Pick<StudySpec, 'design' | 'seeds' | 'baseline'> & { data_seeds?: number[] | null; args?: StudySpec['args']; execution?: Pick<StudySpec['execution'], 'max_trials'> },
): Trial[] {
  checkDesignSize(spec);
  const trials = new Map<string, Trial>();
  const pairs = seedPairs({ seeds: spec.seeds, data_seeds: spec.data_seeds ?? null });
  let ordinal = 0;
  const add = (kind: TrialKind, config: TrialConfig, seed: number, dataSeed: number | null, role: { inDesign?: boolean; isBaseline?: boolean }) => {
    const id = trialId(kind, config, seed, dataSeed);
    const t = trials.get(id);
    if (t) {
      t.inDesign ||= role.inDesign ?? false;
      t.isBaseline ||= role.isBaseline ?? false;
      return;
    }
    trials.set(id, { id, kind, config, seed, dataSeed, inDesign: role.inDesign ?? false, isBaseline: role.isBaseline ?? false, ordinal: ordinal++ });
  };
  const b = spec.baseline;
  // an evaluation has no training data order: one trial, data_seed null
  if (b?.kind === 'evaluate') add('evaluate', {}, spec.seeds[0]!, null, { isBaseline: true });
  if (b?.kind === 'config') {
    const numeric: TrialConfig = {};
    for (const [k, v] of Object.entries(b.config)) {
      if (typeof v !== 'number') throw new UserError(`baseline.config.${k}: expected a number`);
      numeric[k] = v;
    }
    for (const p of pairs) add('train', numeric, p.seed, p.dataSeed, { isBaseline: true });
  }
  const copies = new Map<string, number>();
  for (const config of designRuns(spec.design, spec.args ?? {})) {
    const key = canonicalJson(config);
    const r = copies.get(key) ?? 0;
    copies.set(key, r + 1);
    // a repeated point (a CCD's centre) runs with fresh seeds; data seeds cross it as any other point
    const reps = r === 0 ? pairs : seedPairs({ seeds: replicateSeeds(spec.seeds, r), data_seeds: spec.data_seeds ?? null });
    for (const p of reps) add('train', config, p.seed, p.dataSeed, { inDesign: true });
  }
  return [...trials.values()];
}
