/**
 * `study extend`: sequential experimentation on a study's store (Box & Wilson 1951). From the finished design trials,
 * fit the analysis model in coded units (each factor's range −1…+1 on its scale, with a block effect once the study
 * has several blocks), propose the next block of design points and append it to the study:
 *  - augment: D-optimal augmentation over the candidate grid — the existing runs stay fixed and the exchange algorithm
 *    of src/study/rsm.ts picks the N candidates maximising |XᵀX| of the combined design (the new block's effect in the
 *    model), for the analysis degree or another (`degree`);
 *  - steepest_ascent: N points along the fitted gradient at the design centre, `step` coded units apart (descent for
 *    loss-like metrics), clipped to the allowed ranges and snapped to the allowed levels;
 *  - around_optimum: a face-centred CCD of half-width `step` centred on the fitted optimum of the degree-2 surface (the
 *    stationary point when it is the right kind and inside the ranges, else the best point of the surface in them),
 *    moved inside the ranges so the whole CCD fits.
 * Each point is crossed with the spec's seeds (a repeated point with fresh seeds, as in every design); trial ids are
 * sha256 of {config, seed, block}. See ./blocks.ts for how the block is recorded so that resuming is exact.
 */
import { existsSync } from 'node:fs';
import { buildDesign, defaultDirection, designRow, fitOls } from '../analysis/index.js';
import type { StudyStore, TrialRecord } from '../store/index.js';
import { UserError } from '../util/index.js';
import { BLOCKS_META_KEY, blockMap, blockNewTrials, blockOf, readBlocks, type BlockFit, type BlockTrial, type ExtendStrategy, type StudyBlock } from './blocks.js';
import { candidateSet, encode, factorRange, modelRows, snap } from './coded.js';
import { replicateSeeds, seedPairs, trialId } from './design.js';
import { centralComposite, exchangeDesign, information, spdInverse } from './rsm.js';
import { prepareStudy } from './run.js';
import { canonicalJson, sha256, type Factor, type StudySpec } from './spec.js';
import { evalSubsampleSeed } from '../data/index.js';
import { toDatasetSpec } from './dataset-spec.js';

export interface ExtendOptions {
  strategy: ExtendStrategy;
  /** new design points, each crossed with the spec's seeds (default: augment the model's terms, steepest_ascent 5, around_optimum a CCD with 1 centre point) */
  trials?: number;
  /** the metric the fit is of (default: the spec's first response) */
  metric?: string;
  /** steepest_ascent: distance between points along the path; around_optimum: the new CCD's half-width (coded units, default 0.5) */
  step?: number;
  /** augment: the exchange algorithm's seed (default: design.seed) */
  seed?: number;
  /** augment: the polynomial degree to augment for (default: the analysis degree; one more for the next degree) */
  degree?: 1 | 2 | 3;
  /** augment: random starts of the exchange (default 10) */
  starts?: number;
}

export interface ExtendResult {
  block: StudyBlock;
  /** trials inserted now (0 when the same request was recorded before and its trials are all there) */
  added: number;
  /** the same request on the same trials was already recorded as this block */
  existing: boolean;
  store: string;
}

const DEFAULT_STEP = 0.5;

function analysisDegree(spec: StudySpec): 1 | 2 | 3 {
  return spec.analysis.degree === 'cv' ? 2 : spec.analysis.degree;
}

/** Factors whose range has width (a factor with one value stays at it and is not coded). */
function codedFactors(spec: StudySpec): { varying: Factor[]; constant: Record<string, number> } {
  const varying: Factor[] = [];
  const constant: Record<string, number> = {};
  for (const f of spec.design.factors) {
    const [lo, hi] = factorRange(f);
    if (hi > lo) varying.push(f);
    else constant[f.name] = lo;
  }
  if (varying.length === 0) throw new UserError('no design factor has a range: nothing to extend');
  return { varying, constant };
}

function blockColumns(blocksOfRows: number[], levels: number[]): { terms: string[]; columns: Float64Array[] } {
  const rest = levels.slice(1);
  return {
    terms: rest.map((b) => `C(block)[T.${b}]`),
    columns: rest.map((b) => Float64Array.from(blocksOfRows, (v) => (v === b ? 1 : 0))),
  };
}

/** OLS of the metric on the coded factors (polynomial of `degree`) plus a block effect when the trials span several blocks. */
export function fitCoded(
  factors: Factor[], trials: TrialRecord[], blocks: Map<string, number>, metric: string, degree: 1 | 2 | 3,
): BlockFit & { powers: number[][] } {
  const rows = trials.filter((t) => t.status === 'done' && t.inDesign && typeof t.metrics?.[metric] === 'number' && Number.isFinite(t.metrics[metric]));
  if (rows.length === 0) throw new UserError(`no finished design trial has a finite ${metric} yet: run the study first (\`tunescope study run\`)`);
  const names = factors.map((f) => f.name);
  const cols = factors.map((f) => rows.map((t) => encode(f, t.config[f.name]!)));
  const d = buildDesign(names, cols, { degree, logLr: false, standardize: false });
  const bOf = rows.map((t) => blockOf(blocks, t.id));
  const levels = [...new Set(bOf)].sort((a, b) => a - b);
  const bc = blockColumns(bOf, levels);
  const terms = [...d.info.terms, ...bc.terms];
  const label = `${metric} on the coded factors, degree ${degree}${bc.terms.length ? ' with a block effect' : ''}`;
  const fit = fitOls({
    terms, factors: [...d.info.factors, ...bc.terms.map(() => ['C(block)'])], columns: [...d.columns, ...bc.columns],
    y: rows.map((t) => t.metrics![metric] as number), label,
  });
  return { metric, direction: defaultDirection(metric), degree, factors: names, terms, params: fit.params, nobs: fit.nobs, rsquared: fit.rsquared, powers: d.info.powers };
}

function coefOf(fit: BlockFit & { powers: number[][] }, pw: number[]): number {
  const key = JSON.stringify(pw);
  const j = fit.powers.findIndex((p) => JSON.stringify(p) === key);
  const v = j < 0 ? 0 : fit.params[j];
  if (v === null || v === undefined) throw new UserError(`the fit of ${fit.metric} cannot estimate ${fit.terms[j]} (aliased): the finished trials do not support this strategy; use augment first`);
  return v;
}

/** Linear coefficients b and the symmetric B of a degree-2 fit (f = β₀ + bᵀx + xᵀBx). */
function quadraticParts(fit: BlockFit & { powers: number[][] }): { b: number[]; B: number[][] } {
  const k = fit.factors.length;
  const unit = (i: number, e = 1, j = -1): number[] => { const v = new Array<number>(k).fill(0); v[i] = e; if (j >= 0) v[j] = 1; return v; };
  const b = fit.factors.map((_, i) => coefOf(fit, unit(i)));
  const B = fit.factors.map((_, i) => fit.factors.map((__, j) => (i === j ? coefOf(fit, unit(i, 2)) : coefOf(fit, unit(Math.min(i, j), 1, Math.max(i, j))) / 2)));
  return { b, B };
}

/** x solving A x = y (Gaussian elimination, partial pivoting); null when A is singular. */
function solve(A: number[][], y: number[]): number[] | null {
  const n = y.length;
  const m = A.map((r, i) => [...r, y[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    if (!(Math.abs(m[piv][c]) > 1e-12)) return null;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let q = c; q <= n; q++) m[r][q] -= f * m[c][q];
    }
  }
  return m.map((r, i) => r[n] / r[i]);
}

function surfaceValue(fit: BlockFit & { powers: number[][] }, x: number[]): number {
  const row = designRow({ powers: fit.powers }, x);
  let v = 0;
  for (let j = 0; j < row.length; j++) v += (fit.params[j] ?? 0) * row[j];
  return v;
}

/** The best point of the fitted surface in the box ∏[−limit_i, limit_i]: a grid, then pattern search from its best node. */
function bestInBox(fit: BlockFit & { powers: number[][] }, limits: number[], sign: number): number[] {
  const k = limits.length;
  const g = k <= 2 ? 41 : k === 3 ? 21 : k <= 5 ? 9 : 5;
  let best: number[] = new Array<number>(k).fill(0);
  let bestV = -Infinity;
  const idx = new Array<number>(k).fill(0);
  for (let t = 0; t < g ** k; t++) {
    let rem = t;
    for (let i = k - 1; i >= 0; i--) { idx[i] = rem % g; rem = Math.floor(rem / g); }
    const x = idx.map((v, i) => -limits[i] + (2 * limits[i] * v) / (g - 1));
    const s = sign * surfaceValue(fit, x);
    if (s > bestV) { bestV = s; best = x; }
  }
  let h = Math.max(...limits) / (g - 1);
  while (h > 1e-9) {
    let moved = false;
    for (let i = 0; i < k; i++) {
      for (const dir of [-1, 1]) {
        const x = best.slice();
        x[i] = Math.min(limits[i], Math.max(-limits[i], x[i] + dir * h));
        const s = sign * surfaceValue(fit, x);
        if (s > bestV + 1e-15) { bestV = s; best = x; moved = true; }
      }
    }
    if (!moved) h /= 2;
  }
  return best;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The configuration of a coded point: coded factors snapped to what they can take, the others at their one value. */
function pointOf(varying: Factor[], constant: Record<string, number>, target: number[]): { config: Record<string, number>; coded: number[]; target: number[] } {
  const config: Record<string, number> = { ...constant };
  varying.forEach((f, j) => { config[f.name] = snap(f, target[j]); });
  return { config, coded: varying.map((f) => encode(f, config[f.name]!)), target };
}

/** Trials of a block's points: each point × the seed pairs, a repeated point with fresh seeds; ids include the block. */
function blockTrials(spec: StudySpec, block: number, points: Array<{ config: Record<string, number> }>, firstOrdinal: number): BlockTrial[] {
  const pairs = seedPairs(spec);
  const copies = new Map<string, number>();
  const out: BlockTrial[] = [];
  for (const p of points) {
    const key = canonicalJson(p.config);
    const r = copies.get(key) ?? 0;
    copies.set(key, r + 1);
    const reps = r === 0 ? pairs : seedPairs({ seeds: replicateSeeds(spec.seeds, r), data_seeds: spec.data_seeds });
    for (const s of reps) out.push({ id: trialId('train', p.config, s.seed, s.dataSeed, block), ordinal: firstOrdinal + out.length, config: p.config, seed: s.seed, data_seed: s.dataSeed });
  }
  return out;
}

interface Proposal {
  points: Array<{ config: Record<string, number>; coded: number[]; target: number[] }>;
  fit: BlockFit | null;
  extra: Partial<Pick<StudyBlock, 'gradient' | 'direction' | 'optimum' | 'centre' | 'd_criterion'>>;
  summary: string;
  notes: string[];
  params: StudyBlock['params'];
}

/**
 * The next block's points for a study whose trials (all blocks) and recorded blocks are given. Pure: the same spec,
 * trials and options give the same points.
 */
export function proposeBlock(spec: StudySpec, trials: TrialRecord[], blocks: StudyBlock[], opts: ExtendOptions): Proposal & { limits: number[]; factors: string[] } {
  const { varying, constant } = codedFactors(spec);
  const names = varying.map((f) => f.name);
  const k = varying.length;
  const design = trials.filter((t) => t.inDesign && t.kind === 'train');
  const map = blockMap(blocks);
  // the allowed box: each factor's range, or farther where the design itself went (a circumscribed CCD's axial points)
  const limits = varying.map((f) => Math.max(1, ...design.map((t) => Math.abs(encode(f, t.config[f.name]!)))));
  const metric = opts.metric ?? spec.analysis.responses[0] ?? 'accuracy';
  const notes: string[] = [];
  if (opts.trials !== undefined && !(Number.isInteger(opts.trials) && opts.trials >= 1)) throw new UserError(`--trials must be a positive integer (got ${opts.trials})`);
  if (opts.step !== undefined && !(opts.step > 0 && Number.isFinite(opts.step))) throw new UserError(`--step must be a positive number of coded units (got ${opts.step})`);
  const strip = ({ powers: _p, ...f }: BlockFit & { powers: number[][] }): BlockFit => f;

  if (opts.strategy === 'steepest_ascent') {
    const n = opts.trials ?? 5;
    const step = opts.step ?? DEFAULT_STEP;
    const fit = fitCoded(varying, trials, map, metric, analysisDegree(spec));
    const gradient = names.map((_, i) => coefOf(fit, names.map((__, j) => (j === i ? 1 : 0))));
    const norm = Math.hypot(...gradient);
    if (!(norm > 0)) throw new UserError(`the fitted gradient of ${metric} at the design centre is zero: there is no direction to move in (use around_optimum or augment)`);
    const sign = fit.direction === 'maximize' ? 1 : -1;
    const direction = gradient.map((g) => (sign * g) / norm);
    const seen = new Set<string>();
    const points: Proposal['points'] = [];
    let clipped = 0;
    for (let j = 1; j <= n; j++) {
      const raw = direction.map((u) => j * step * u);
      const target = raw.map((v, i) => clamp(v, -limits[i], limits[i]));
      if (target.some((v, i) => v !== raw[i])) clipped++;
      const p = pointOf(varying, constant, target);
      const key = canonicalJson(p.config);
      if (seen.has(key)) continue; // past the edge of the ranges the clipped path stays on one point
      seen.add(key);
      points.push(p);
    }
    if (clipped > 0) notes.push(`${clipped} point(s) of the path lay outside the allowed ranges and were clipped to them`);
    if (points.length < n) notes.push(`${n - points.length} point(s) coincided with another after clipping and snapping: ${points.length} distinct points proposed`);
    return {
      points, fit: strip(fit), limits, factors: names, notes,
      extra: { gradient, direction },
      params: { trials: n, metric, step, seed: null, degree: fit.degree },
      summary: `steepest ${sign > 0 ? 'ascent' : 'descent'} of ${metric}: ${points.length} point(s) ${step} coded units apart along ${names.map((f, i) => `${direction[i] >= 0 ? '+' : ''}${direction[i].toFixed(3)}·${f}`).join(' ')} from the design centre`,
    };
  }

  if (opts.strategy === 'around_optimum') {
    if (k < 2) throw new UserError('around_optimum builds a central composite design, which needs at least 2 coded factors');
    const h = opts.step ?? DEFAULT_STEP;
    const fit = fitCoded(varying, trials, map, metric, 2);
    if (analysisDegree(spec) !== 2) notes.push(`the optimum is that of a degree-2 fit (the analysis degree is ${spec.analysis.degree})`);
    const { b, B } = quadraticParts(fit);
    const sign = fit.direction === 'maximize' ? 1 : -1;
    const xs = solve(B.map((r) => r.map((v) => 2 * v)), b.map((v) => -v));
    // the stationary point is the optimum when the surface curves the right way there: B negative definite to maximise
    const definite = spdInverse(B.map((r) => r.map((v) => -sign * v))) !== null;
    const nature = !xs ? 'no unique stationary point' : definite ? (sign > 0 ? 'maximum' : 'minimum') : spdInverse(B.map((r) => r.map((v) => sign * v))) ? (sign > 0 ? 'minimum' : 'maximum') : 'saddle';
    let optimum: number[];
    let source: 'stationary point' | 'best point in the allowed box';
    if (xs && definite && xs.every((v, i) => Math.abs(v) <= limits[i])) {
      optimum = xs;
      source = 'stationary point';
    } else {
      optimum = bestInBox(fit, limits, sign);
      source = 'best point in the allowed box';
      notes.push(
        xs && definite
          ? `the fitted ${nature} (${xs.map((v) => v.toFixed(3)).join(', ')} coded) lies outside the allowed ranges: centred on the best point of the surface inside them`
          : `the fitted surface has a ${nature} at its stationary point, not a ${sign > 0 ? 'maximum' : 'minimum'}: centred on the best point of the surface inside the allowed ranges`,
      );
    }
    const centre = optimum.map((v, i) => (limits[i] > h ? clamp(v, -limits[i] + h, limits[i] - h) : 0));
    if (centre.some((v, i) => Math.abs(v - optimum[i]) > 1e-12)) notes.push(`the CCD's centre moved to ${centre.map((v) => v.toFixed(3)).join(', ')} (coded) so that all its points lie inside the ranges`);
    const core = 2 ** k + 2 * k;
    if (opts.trials !== undefined && opts.trials < core) throw new UserError(`around_optimum proposes a face-centred CCD of ${core} points plus centre points for ${k} factors: --trials must be at least ${core} (got ${opts.trials})`);
    const nc = opts.trials !== undefined ? opts.trials - core : 1;
    const ccd = centralComposite(k, { variant: 'face_centered', alpha: 1, centerPoints: nc });
    const points = ccd.points.map((pt) => pointOf(varying, constant, pt.map((v, i) => centre[i] + h * v)));
    return {
      points, fit: strip(fit), limits, factors: names, notes,
      extra: { optimum: { coded: optimum, source, nature, value: surfaceValue(fit, optimum) }, centre },
      params: { trials: points.length, metric, step: h, seed: null, degree: 2 },
      summary: `face-centred CCD (${ccd.nFactorial} factorial + ${ccd.nAxial} axial + ${nc} centre, half-width ${h} coded) around the fitted ${sign > 0 ? 'maximum' : 'minimum'} of ${metric} (${source}) at ${names.map((f, i) => `${f} ${optimum[i].toFixed(3)}`).join(', ')} coded`,
    };
  }

  // augment
  const degree = opts.degree ?? analysisDegree(spec);
  const seed = opts.seed ?? spec.design.seed;
  const newBlock = 1 + blocks.length + 1;
  const numericArgs: Record<string, number | string | boolean> = { ...spec.args, ...constant };
  // a continuous factor needs degree + 1 levels among the candidates for the model to be estimable
  const candFactors = varying.map((f): Factor => ('values' in f || f.allowed ? f : { ...f, levels: Math.max(f.levels ?? 3, degree + 1) }));
  const { candidates } = candidateSet({ factors: candFactors, constraints: spec.design.constraints ?? [] }, numericArgs);
  const existing = design.map((t) => varying.map((f) => encode(f, t.config[f.name]!)));
  const polyExisting = existing.length > 0 ? modelRows(names, existing, degree).rows : [];
  const polyCand = modelRows(names, candidates.map((c) => c.coded), degree);
  const p = polyCand.terms.length;
  const n = opts.trials ?? p;
  // block effects: one column per block after the first, the new block's included (its runs share it)
  const existingBlocks = design.map((t) => blockOf(map, t.id));
  const levels = [...new Set([...existingBlocks, newBlock])].sort((a, b) => a - b).slice(1);
  const withBlocks = (rows: number[][], blockOfRow: (i: number) => number) => rows.map((r, i) => [...r, ...levels.map((b) => (blockOfRow(i) === b ? 1 : 0))]);
  const w = seedPairs(spec).length;
  // each design point ran with w seed pairs: the information of the runs is that of the trials over w
  const fixed = information(withBlocks(polyExisting, (i) => existingBlocks[i])).map((r) => r.map((v) => v / w));
  const candRows = withBlocks(polyCand.rows, () => newBlock);
  const res = exchangeDesign({ candidates: candRows, n, criterion: 'D', moments: [], starts: opts.starts ?? 10, seed, fixed });
  const indices = [...res.indices].sort((a, b) => a - b);
  const chosen = indices.map((i) => candidates[i]);
  const logdet = (rows: number[][]) => (rows.length > 0 ? spdInverse(information(rows))?.logdet ?? null : null);
  // per trial (each new point runs with w seed pairs too); D-efficiency divides by the trial count, so it is comparable
  const before = logdet(polyExisting);
  const after = logdet([...polyExisting, ...indices.flatMap((i) => Array.from({ length: w }, () => polyCand.rows[i]))]);
  const nRuns = design.length;
  const dEff = (ld: number | null, N: number) => (ld === null ? null : (100 * Math.exp(ld / p)) / N);
  let fit: BlockFit | null = null;
  try {
    fit = strip(fitCoded(varying, trials, map, metric, degree));
  } catch {
    notes.push(`no fit of ${metric} yet: the augmentation uses the design alone (it does not depend on the responses)`);
  }
  if (before === null) notes.push(`the existing design cannot estimate every term of the degree-${degree} model: the new points make it estimable`);
  return {
    points: chosen.map((c) => ({ config: { ...constant, ...c.config }, coded: c.coded, target: c.coded })),
    fit, limits, factors: names, notes,
    extra: {
      d_criterion: {
        terms: polyCand.terms, before, after: after ?? -Infinity, objective: res.value,
        d_efficiency_before: dEff(before, nRuns), d_efficiency_after: dEff(after, nRuns + n * w),
      },
    },
    params: { trials: n, metric, step: null, seed, degree },
    summary: `D-optimal augmentation for the degree-${degree} model (${p} terms, block effect included): ${n} point(s) from ${candidates.length} candidates, best of ${res.starts} seeded starts; log|XᵀX| ${before === null ? 'singular' : before.toFixed(4)} → ${after === null ? 'singular' : after.toFixed(4)}`,
  };
}

/**
 * Propose the next block from the study's finished trials and append it to the store (record first, then trials).
 * The same request on the same trials returns the recorded block (inserting any of its trials that are missing).
 */
export async function extendStudy(spec: StudySpec, opts: ExtendOptions, store?: StudyStore): Promise<ExtendResult> {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(spec.store);
  if (!store && !isUrl && !existsSync(spec.store)) throw new UserError(`no study at ${spec.store} yet: \`tunescope study run\` it first (extend builds on finished trials)`);
  const { store: s } = await prepareStudy(spec, store);
  try {
    const trials = await s.listTrials();
    const blocks = await readBlocks(s);
    const evalSeed = evalSubsampleSeed(toDatasetSpec(spec.dataset));
    const design = trials.filter((t) => t.inDesign).map((t) => t.id).sort();
    const done = trials.filter((t) => t.inDesign && t.status === 'done').map((t) => t.id).sort();
    const request = { strategy: opts.strategy, trials: opts.trials ?? null, metric: opts.metric ?? null, step: opts.step ?? null, seed: opts.seed ?? null, degree: opts.degree ?? null, starts: opts.starts ?? null };
    const keyOf = (without: Set<string>) => sha256(canonicalJson({ request, design: design.filter((id) => !without.has(id)), done: done.filter((id) => !without.has(id)) })).slice(0, 16);
    const key = keyOf(new Set());
    // the same request again (a rerun after a kill, or twice by mistake): the last block, if it was proposed from
    // exactly the trials there are now besides its own and none of its own has finished (else there is news to fit)
    const last = blocks.at(-1);
    const lastIds = new Set(last?.trials.map((t) => t.id) ?? []);
    const lastDone = done.some((id) => lastIds.has(id));
    const same = last && !lastDone && last.key === keyOf(lastIds) ? last : undefined;
    if (same) {
      const added = await s.addTrials(blockNewTrials(same, evalSeed));
      return { block: same, added, existing: true, store: s.location };
    }
    const proposal = proposeBlock(spec, trials, blocks, opts);
    const block = 1 + blocks.length + 1;
    const firstOrdinal = trials.reduce((m, t) => Math.max(m, t.ordinal), -1) + 1;
    const rec: StudyBlock = {
      block,
      strategy: opts.strategy,
      params: proposal.params,
      key,
      created_at: new Date().toISOString(),
      basis: { design_trials: design.length, done_trials: done.length },
      fit: proposal.fit,
      factors: proposal.factors,
      ...proposal.extra,
      limits: proposal.limits,
      points: proposal.points,
      trials: blockTrials(spec, block, proposal.points, firstOrdinal),
      summary: proposal.summary,
      notes: proposal.notes,
    };
    // the record first: a process killed before the trials are in leaves a block that the next start inserts
    await s.setMeta(BLOCKS_META_KEY, [...blocks, rec]);
    const added = await s.addTrials(blockNewTrials(rec, evalSeed));
    return { block: rec, added, existing: false, store: s.location };
  } finally {
    if (!store) await s.close();
  }
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export function formatExtension(r: ExtendResult): string {
  const b = r.block;
  const lines = [
    r.existing
      ? `block ${b.block} (${b.strategy}) was already proposed from these trials on ${b.created_at}; ${r.added > 0 ? `${r.added} missing trial(s) inserted` : 'its trials are all in the store'}`
      : `block ${b.block}: ${b.summary}`,
  ];
  if (b.fit) lines.push(`  fitted ${b.fit.metric} (${b.fit.direction}) on ${b.basis.done_trials} finished trial(s): ${b.fit.terms.map((t, i) => `${t} ${b.fit!.params[i] === null ? 'aliased' : fmt(b.fit!.params[i] as number)}`).join(', ')}; R² ${b.fit.rsquared.toFixed(4)}`);
  if (b.gradient) lines.push(`  gradient at the centre (coded): ${b.factors.map((f, i) => `${f} ${fmt(b.gradient![i])}`).join(', ')}`);
  if (b.optimum) lines.push(`  fitted optimum (${b.optimum.source}, ${b.optimum.nature}): ${b.factors.map((f, i) => `${f} ${b.optimum!.coded[i].toFixed(4)}`).join(', ')} coded, predicted ${b.fit?.metric ?? ''} ${fmt(b.optimum.value)}`);
  if (b.d_criterion) {
    const d = b.d_criterion;
    lines.push(`  D-efficiency ${d.d_efficiency_before === null ? 'n/a (singular)' : d.d_efficiency_before.toFixed(2)} → ${d.d_efficiency_after === null ? 'n/a' : d.d_efficiency_after.toFixed(2)} (terms ${d.terms.join(', ')})`);
  }
  for (const n of b.notes) lines.push(`  note: ${n}`);
  lines.push(`  ${b.points.length} point(s), ${b.trials.length} trial(s) with the spec's seeds${r.existing ? '' : ` appended to ${r.store}`}; \`tunescope study run\` runs them`);
  lines.push(`  ${'point'.padEnd(6)} ${'coded'.padEnd(8 * b.factors.length)} config`);
  b.points.forEach((p, i) => lines.push(`  ${String(i + 1).padEnd(6)} ${p.coded.map((c) => c.toFixed(3).padStart(7)).join(' ').padEnd(8 * b.factors.length)} ${Object.entries(p.config).map(([k, v]) => `${k}=${v}`).join(' ')}`));
  return lines.join('\n');
}
