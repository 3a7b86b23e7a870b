/**
 * Coded units for response-surface designs and the expansion of the coded design types (ccd, box_behnken,
 * fractional_factorial, d_optimal, i_optimal) into training configurations.
 *
 * Each factor's range maps to −1…+1 on its scale (log10 for the learning rate unless `scale: linear`). Whole-number
 * factors snap to their allowed levels (`levels: [8, 16, 32]`, `values: [...]`, or every whole number), nearest on
 * the coded scale, and every run reports the coded point actually used after snapping.
 */
import { compileExpression } from 'filtrex';
import { buildDesign } from '../analysis/index.js';
import { UserError } from '../util/index.js';
import {
  aliasChains, boxBehnken, candidateMoments, centralComposite, cubeMoments, definingRelation, efficiencies, exchangeDesign,
  fractionalFactorial, generatorText, type Efficiencies, type Fraction,
} from './rsm.js';
import { INTEGER_ARGS, type DesignSpec, type Factor } from './spec.js';

export type Config = Record<string, number>;

export function factorScale(f: Factor): 'log' | 'linear' {
  if ('values' in f) return f.scale ?? (f.name === 'learning_rate' ? 'log' : 'linear');
  return f.scale;
}

/** Natural-unit range coded as −1…+1. */
export function factorRange(f: Factor): [number, number] {
  if ('values' in f) return [Math.min(...f.values), Math.max(...f.values)];
  return [f.min, f.max];
}

/** Allowed natural levels (sorted), or null for a continuous factor. */
export function allowedLevels(f: Factor): number[] | null {
  if ('values' in f) return [...f.values].sort((a, b) => a - b);
  if (f.allowed) return f.allowed;
  return null;
}

function onScale(f: Factor, v: number): number {
  return factorScale(f) === 'log' ? Math.log10(v) : v;
}

export function encode(f: Factor, v: number): number {
  const [lo, hi] = factorRange(f).map((x) => onScale(f, x)) as [number, number];
  return (onScale(f, v) - (lo + hi) / 2) / ((hi - lo) / 2);
}

export function decode(f: Factor, c: number): number {
  const [lo, hi] = factorRange(f).map((x) => onScale(f, x)) as [number, number];
  const t = (lo + hi) / 2 + c * ((hi - lo) / 2);
  return factorScale(f) === 'log' ? Math.pow(10, t) : t;
}

function roundSig(x: number): number {
  return Number(x.toPrecision(12));
}

/** The natural value a coded coordinate becomes: the nearest allowed level, a whole number, or 12 significant digits. */
export function snap(f: Factor, c: number): number {
  const allowed = allowedLevels(f);
  if (allowed) {
    let best = allowed[0];
    for (const v of allowed) if (Math.abs(encode(f, v) - c) < Math.abs(encode(f, best) - c) - 1e-12) best = v;
    return best;
  }
  const v = decode(f, c);
  const integer = !('values' in f) && f.integer;
  const out = integer ? Math.round(v) : roundSig(v);
  if ((f.name === 'learning_rate' || INTEGER_ARGS.has(f.name)) && !(out > 0)) {
    throw new UserError(
      `design.factors.${f.name}: the design's point at coded ${c.toFixed(3)} is ${out} in natural units, which ${f.name} cannot take — use variant: inscribed or face_centered, a log scale, or a narrower range`,
    );
  }
  return out;
}

export interface CodedRun {
  config: Config;
  /** coded coordinates after snapping, in factor order */
  coded: number[];
}

export interface CodedDesignInfo {
  /** one-line description ("central composite, circumscribed, α = 1.682 (rotatable): 8 factorial + 6 axial + 2 centre") */
  summary: string;
  /** the factorial part's structure (ccd with a fraction, fractional_factorial) */
  fraction?: { generators: string[]; resolution: number; defining_relation: string; alias_chains: string[]; word_length_pattern: number[] };
  /** d_optimal / i_optimal */
  optimal?: { criterion: 'D' | 'I'; candidates: number; starts: number; excluded_by_constraints: number; efficiencies: Efficiencies | null };
}

export interface CodedDesign { runs: CodedRun[]; info: CodedDesignInfo }

/** Model rows f(x) of a polynomial of `degree` at coded points (term order as the analysis), and each term's exponents. */
export function modelRows(names: string[], coded: number[][], degree: 1 | 2 | 3): { rows: number[][]; terms: string[]; powers: number[][] } {
  const cols = names.map((_, j) => coded.map((pt) => pt[j]));
  const d = buildDesign(names, cols, { degree, logLr: false, standardize: false });
  const rows = coded.map((_, i) => d.columns.map((c) => c[i]));
  return { rows, terms: d.info.terms, powers: d.info.powers };
}

function fractionInfo(f: Fraction, names: string[]): NonNullable<CodedDesignInfo['fraction']> {
  return {
    generators: generatorText(f, names),
    resolution: f.resolution,
    defining_relation: definingRelation(f, names),
    alias_chains: aliasChains(f, names),
    word_length_pattern: f.wordLengthPattern,
  };
}

const ROMAN = ['', 'I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'];
export function romanResolution(r: number): string {
  return Number.isFinite(r) ? ROMAN[r] ?? String(r) : 'full';
}

/** Levels per factor of an optimal design's candidate grid (coded). */
function candidateLevels(f: Factor): number[] {
  const allowed = allowedLevels(f);
  if (allowed) return allowed.map((v) => encode(f, v));
  const k = !('values' in f) && typeof f.levels === 'number' ? f.levels : 3;
  if (k === 1) return [0];
  return Array.from({ length: k }, (_, i) => -1 + (2 * i) / (k - 1));
}

/** Compiled constraints; each returns true when a configuration (with the fixed numeric args) satisfies it. */
export function compileConstraints(exprs: string[]): ((scope: Record<string, number>) => boolean)[] {
  return exprs.map((expr, i) => {
    let fn: (o: Record<string, number>) => unknown;
    try {
      fn = compileExpression(expr) as (o: Record<string, number>) => unknown;
    } catch (e) {
      throw new UserError(`design.constraints[${i}]: cannot parse "${expr}": ${(e as Error).message.split('\n').pop()}`);
    }
    return (scope) => {
      const r = fn(scope);
      if (r instanceof Error) {
        const prop = (r as Error & { propertyName?: string }).propertyName;
        throw new UserError(`design.constraints[${i}] "${expr}": ${prop ? `unknown name ${prop} (not a factor or a numeric args entry)` : r.message}`);
      }
      return Boolean(r);
    };
  });
}

/** Coded design points (before snapping) and the description of a fixed design type. */
function fixedPoints(d: DesignSpec, names: string[]): { points: number[][]; info: CodedDesignInfo } {
  const k = d.factors.length;
  if (d.type === 'ccd') {
    const c = centralComposite(k, { variant: d.variant ?? 'circumscribed', alpha: d.alpha ?? 'rotatable', centerPoints: d.center_points ?? 1, p: d.fraction_p ?? 0 });
    const alphaName = d.variant === 'face_centered' ? 'face-centred' : typeof d.alpha === 'number' ? 'given' : d.alpha ?? 'rotatable';
    const frac = (d.fraction_p ?? 0) > 0 ? ` (a 2^(${k}−${d.fraction_p}) fraction, resolution ${romanResolution(c.factorial.resolution)})` : '';
    return {
      points: c.points,
      info: {
        summary: `central composite, ${d.variant ?? 'circumscribed'}, α = ${c.alpha.toFixed(4)} (${alphaName}): ${c.nFactorial} factorial${frac} + ${c.nAxial} axial + ${c.nCenter} centre`,
        ...((d.fraction_p ?? 0) > 0 ? { fraction: fractionInfo(c.factorial, names) } : {}),
      },
    };
  }
  if (d.type === 'box_behnken') {
    const pts = boxBehnken(k, d.center_points ?? 1);
    return { points: pts, info: { summary: `Box–Behnken, ${pts.length - (d.center_points ?? 1)} edge points + ${d.center_points ?? 1} centre` } };
  }
  const f = fractionalFactorial(k, d.fraction_p ?? 0);
  return {
    points: f.points,
    info: { summary: `2^(${k}−${f.p}) fractional factorial, resolution ${romanResolution(f.resolution)} (${generatorText(f, names).join(', ')})`, fraction: fractionInfo(f, names) },
  };
}

/** A coded point as a run: each factor snapped to what it can take, and the coded point actually used. */
export function codedRun(factors: Factor[], pt: number[]): CodedRun {
  const config: Config = {};
  factors.forEach((f, j) => { config[f.name] = snap(f, pt[j]); });
  return { config, coded: factors.map((f) => encode(f, config[f.name])) };
}

/**
 * The candidate set of optimal designs (and of augmenting a design): the grid of each factor's levels (its allowed
 * levels, `levels: N` evenly spaced, else 3), distinct configurations only, those violating a constraint removed.
 */
export function candidateSet(d: Pick<DesignSpec, 'factors' | 'constraints'>, args: Record<string, number | string | boolean> = {}): { candidates: CodedRun[]; levels: number[][]; excluded: number } {
  const levels = d.factors.map(candidateLevels);
  let grid: number[][] = [[]];
  for (const lv of levels) grid = grid.flatMap((pt) => lv.map((v) => [...pt, v]));
  const numericArgs: Record<string, number> = {};
  for (const [k, v] of Object.entries(args)) if (typeof v === 'number') numericArgs[k] = v;
  const constraints = compileConstraints(d.constraints ?? []);
  const seen = new Set<string>();
  const candidates = grid.map((pt) => codedRun(d.factors, pt)).filter((r) => {
    const key = JSON.stringify(r.config);
    if (seen.has(key)) return false;
    seen.add(key);
    return constraints.every((c) => c({ ...numericArgs, ...r.config }));
  });
  return { candidates, levels, excluded: seen.size - candidates.length };
}

/**
 * The runs of a coded design type in order (a repeated configuration is a replicate: the centre points of a CCD,
 * a point an optimal design takes twice). `args` are the fixed training arguments (for constraints).
 */
export function codedDesign(d: DesignSpec, args: Record<string, number | string | boolean> = {}): CodedDesign {
  const names = d.factors.map((f) => f.name);
  const toRun = (pt: number[]): CodedRun => codedRun(d.factors, pt);
  if (d.type === 'd_optimal' || d.type === 'i_optimal') {
    const { candidates: cands, levels, excluded } = candidateSet(d, args);
    const degree = d.model_degree ?? 2;
    const model = modelRows(names, cands.map((r) => r.coded), degree);
    const moments = (d.constraints ?? []).length > 0 ? candidateMoments(model.rows) : cubeMoments(model.powers);
    const criterion = d.type === 'd_optimal' ? 'D' : 'I';
    const res = exchangeDesign({ candidates: model.rows, n: d.n as number, criterion, moments, starts: d.starts ?? 10, seed: d.seed });
    // candidate order, so equal designs list their runs the same way whatever the exchange path
    const indices = [...res.indices].sort((a, b) => a - b);
    const runs = indices.map((i) => cands[i]);
    return {
      runs,
      info: {
        summary: `${criterion}-optimal for a degree-${degree} model: ${runs.length} runs from ${cands.length} candidates (${levels.map((l) => l.length).join('×')} grid${excluded ? `, ${excluded} excluded by constraints` : ''}), best of ${res.starts} seeded starts`,
        optimal: { criterion, candidates: cands.length, starts: res.starts, excluded_by_constraints: excluded, efficiencies: efficiencies(indices.map((i) => model.rows[i]), moments) },
      },
    };
  }
  const { points, info } = fixedPoints(d, names);
  return { runs: points.map(toRun), info };
}
