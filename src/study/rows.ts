/**
 * A study as a table: one row per trial with its hyperparameters (HF names), seed, final metrics and, when the
 * study has a baseline, relative metrics `relative_<metric>` = metric − baseline metric. This is what
 * `study export` writes and what the analysis engine and reports read.
 */
import type { StudyStore, TrialRecord, BaselineRecord } from '../store/index.js';
import type { StudySpec } from './spec.js';
import { blockMap, blockOf, readBlocks } from './blocks.js';

export type StudyRow = Record<string, string | number | null>;
export interface StudyTable {
  columns: string[];
  rows: StudyRow[];
  source?: string;
  /** the hyperparameter columns (the design's factors) */
  factors: string[];
  /** metric columns (absolute) */
  metrics: string[];
  baseline: BaselineRecord | null;
}

/** Metrics listed first, in this order, when present; any others follow alphabetically. */
const METRIC_ORDER = ['accuracy', 'f1', 'loss', 'precision', 'recall', 'f1_macro', 'f1_micro', 'f1_weighted', 'roc_auc'];

function metricColumns(trials: TrialRecord[]): string[] {
  const keys = new Set<string>();
  for (const t of trials) for (const [k, v] of Object.entries(t.metrics ?? {})) if (typeof v === 'number' || v === null) keys.add(k);
  const first = METRIC_ORDER.filter((k) => keys.has(k));
  return [...first, ...[...keys].filter((k) => !first.includes(k)).sort()];
}

export interface StudyRowsOptions {
  /** every trial (any status, baseline-only ones too) with status/role columns; default: done design trials only */
  all?: boolean;
}

export async function studyRows(store: StudyStore, opts: StudyRowsOptions = {}): Promise<StudyTable> {
  const study = await store.getStudy();
  const spec = study?.spec as Partial<StudySpec> | undefined;
  const trials = opts.all ? await store.listTrials() : await store.listTrials({ status: 'done', inDesign: true });
  const factorNames = spec?.design?.factors?.map((f) => f.name) ?? [];
  // configuration keys not among the factors (a baseline's extra args) follow the factors
  const extra = new Set<string>();
  for (const t of trials) for (const k of Object.keys(t.config)) if (!factorNames.includes(k)) extra.add(k);
  const factors = [...factorNames, ...extra];
  const metrics = metricColumns(trials);
  const baseline = await store.getBaseline();
  const hasDataSeeds = trials.some((t) => t.dataSeed !== null);
  const hasEvalSeeds = trials.some((t) => t.evalSeed !== null);
  const relative = baseline ? metrics.filter((m) => typeof baseline.metrics[m] === 'number') : [];
  // a `block` column once `study extend` has added a block (block 1: the spec's design)
  const blocks = await readBlocks(store);
  const blockOfTrial = blocks.length > 0 ? blockMap(blocks) : null;
  const columns = [
    'trial_id',
    ...(opts.all ? ['status', 'role', 'attempts'] : []),
    ...factors,
    'seed',
    ...(blockOfTrial ? ['block'] : []),
    ...(hasDataSeeds ? ['data_seed'] : []),
    ...(hasEvalSeeds ? ['eval_seed'] : []),
    ...metrics,
    ...relative.map((m) => `relative_${m}`),
    'train_seconds',
    'examples_per_second',
    ...(opts.all ? ['error'] : []),
  ];
  const rows = trials.map((t) => {
    const r: StudyRow = { trial_id: t.id };
    if (opts.all) {
      r.status = t.status;
      r.role = t.kind === 'evaluate' ? 'baseline-evaluation' : t.inDesign && t.isBaseline ? 'design+baseline' : t.isBaseline ? 'baseline' : 'design';
      r.attempts = t.attempts;
    }
    for (const f of factors) r[f] = t.config[f] ?? null;
    r.seed = t.seed;
    if (blockOfTrial) r.block = blockOf(blockOfTrial, t.id);
    if (hasDataSeeds) r.data_seed = t.dataSeed ?? t.seed; // HF: no data_seed means the data order follows seed
    if (hasEvalSeeds) r.eval_seed = t.evalSeed;
    for (const m of metrics) {
      const v = t.metrics?.[m];
      r[m] = typeof v === 'number' ? v : null;
    }
    for (const m of relative) {
      const v = t.metrics?.[m];
      r[`relative_${m}`] = typeof v === 'number' ? v - baseline!.metrics[m]! : null;
    }
    r.train_seconds = t.trainSeconds;
    r.examples_per_second = t.examplesPerSecond;
    if (opts.all) r.error = t.error;
    return r;
  });
  return { columns, rows, source: store.location, factors, metrics, baseline };
}
