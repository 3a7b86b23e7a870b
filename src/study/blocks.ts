/**
 * Blocks of a study: block 1 is the spec's design; every `study extend` appends one more, recorded in the store (meta
 * `blocks`) with its strategy, parameters, the fit it came from and its trials (id, ordinal, config, seeds). The
 * record is written before the trials are inserted, and prepareStudy inserts every recorded block's trials again on
 * each start (by id, so nothing is duplicated): a process killed between the two writes, or during `study run`, loses
 * nothing and changes no id.
 */
import type { NewTrial, StudyStore, TrialRecord } from '../store/index.js';

export const BLOCKS_META_KEY = 'blocks';

export const EXTEND_STRATEGIES = ['augment', 'steepest_ascent', 'around_optimum'] as const;
export type ExtendStrategy = (typeof EXTEND_STRATEGIES)[number];

/** The fitted model a block was proposed from (coded units). */
export interface BlockFit {
  metric: string;
  direction: 'maximize' | 'minimize';
  degree: 1 | 2 | 3;
  /** the coded factors, in order */
  factors: string[];
  terms: string[];
  params: Array<number | null>;
  nobs: number;
  rsquared: number;
}

export interface BlockTrial {
  id: string;
  ordinal: number;
  config: Record<string, number>;
  seed: number;
  data_seed: number | null;
}

export interface StudyBlock {
  block: number;
  strategy: ExtendStrategy;
  /** the request as given (defaults filled) */
  params: { trials: number; metric: string; step: number | null; seed: number | null; degree: number | null };
  /** sha256 of the request and the trials it was computed from: the same request on the same trials is this block again */
  key: string;
  created_at: string;
  /** design trials in the study (any status) and finished ones used for the fit, when it was proposed */
  basis: { design_trials: number; done_trials: number };
  fit: BlockFit | null;
  /** coded factor names (order of every coded vector below) */
  factors: string[];
  /** steepest_ascent: the fitted gradient at the design centre and the unit direction taken */
  gradient?: number[];
  direction?: number[];
  /** around_optimum: the fitted optimum and the centre of the new CCD (after fitting it into the ranges) */
  optimum?: { coded: number[]; source: 'stationary point' | 'best point in the allowed box'; nature: string; value: number };
  centre?: number[];
  /** augment: log|XᵀX| of the polynomial model before and after, and the exchange's objective (block effects included) */
  d_criterion?: { terms: string[]; before: number | null; after: number; objective: number; d_efficiency_before: number | null; d_efficiency_after: number | null };
  /** the allowed box in coded units (per factor, ±) */
  limits: number[];
  /** the proposed points: coded before snapping (`target`), the coded point used, the configuration */
  points: Array<{ config: Record<string, number>; coded: number[]; target: number[] }>;
  trials: BlockTrial[];
  summary: string;
  notes: string[];
}

export async function readBlocks(store: StudyStore): Promise<StudyBlock[]> {
  const v = await store.getMeta(BLOCKS_META_KEY);
  return Array.isArray(v) ? (v as StudyBlock[]) : [];
}

/** Trial id → block number (1 for every trial no extension added). */
export function blockMap(blocks: StudyBlock[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of blocks) for (const t of b.trials) m.set(t.id, b.block);
  return m;
}

export function blockOf(map: Map<string, number>, id: string): number {
  return map.get(id) ?? 1;
}

/** A recorded block's trials as store rows. */
export function blockNewTrials(b: StudyBlock, evalSeed: number | null): NewTrial[] {
  return b.trials.map((t) => ({ id: t.id, ordinal: t.ordinal, kind: 'train', config: t.config, seed: t.seed, dataSeed: t.data_seed, evalSeed, inDesign: true, isBaseline: false }));
}

/** Per block: trials and their statuses (for `study status`). */
export function blockCounts(trials: TrialRecord[], blocks: StudyBlock[]): Array<{ block: number; label: string; total: number; done: number; running: number; pending: number; failed: number }> {
  const map = blockMap(blocks);
  const out = new Map<number, { block: number; label: string; total: number; done: number; running: number; pending: number; failed: number }>();
  out.set(1, { block: 1, label: 'the spec\'s design', total: 0, done: 0, running: 0, pending: 0, failed: 0 });
  for (const b of blocks) out.set(b.block, { block: b.block, label: `${b.strategy.replace(/_/g, ' ')}, ${b.created_at}`, total: 0, done: 0, running: 0, pending: 0, failed: 0 });
  for (const t of trials) {
    const c = out.get(blockOf(map, t.id))!;
    c.total++;
    c[t.status]++;
  }
  return [...out.values()];
}
