/**
 * Imported runs as a table in the row format of `study export` and `cards`: one row per run, hyperparameters under
 * HF names, seed, data_seed, metrics, then `<field>_source` provenance columns and the run's history, attributes and
 * notes as JSON/text. Absent values are null (never 0).
 */
import { stringify } from 'csv-stringify/sync';
import type { ImportedRun, ImportResult, RunState } from './types.js';

export type ImportRow = Record<string, string | number | null>;
export interface ImportTable {
  columns: string[];
  rows: ImportRow[];
  /** hyperparameter columns (HF names), seed/data_seed excluded */
  factors: string[];
  /** metric columns */
  metrics: string[];
}

const FACTOR_ORDER = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs', 'weight_decay', 'warmup_ratio', 'warmup_steps', 'gradient_accumulation_steps', 'lr_scheduler_type'];
const METRIC_ORDER = ['accuracy', 'f1', 'loss', 'precision', 'recall'];

function ordered(keys: Set<string>, first: string[]): string[] {
  const head = first.filter((k) => keys.has(k));
  return [...head, ...[...keys].filter((k) => !head.includes(k)).sort()];
}

function cellOf(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v);
}

export function importTable(runs: ImportedRun[]): ImportTable {
  const pk = new Set<string>();
  const mk = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params)) pk.add(k);
    for (const k of Object.keys(r.metrics)) mk.add(k);
  }
  const factors = ordered(pk, FACTOR_ORDER);
  const metrics = ordered(mk, METRIC_ORDER);
  const sourced = [...factors, 'seed', 'data_seed', ...metrics];
  const columns = ['run_id', 'source', 'source_kind', 'study', 'state', ...factors, 'seed', 'data_seed', ...metrics, ...sourced.map((f) => `${f}_source`), 'history', 'attrs', 'notes'];
  const rows = runs.map((r) => {
    const row: ImportRow = { run_id: r.runId, source: r.source, source_kind: r.kind, study: r.group, state: r.state };
    for (const f of factors) row[f] = cellOf(r.params[f]);
    row.seed = r.seed;
    row.data_seed = r.dataSeed;
    for (const m of metrics) row[m] = r.metrics[m] ?? null;
    for (const f of sourced) row[`${f}_source`] = r.provenance[f] ?? null;
    row.history = r.history.length ? JSON.stringify(r.history) : null;
    row.attrs = Object.keys(r.attrs).length ? JSON.stringify(r.attrs) : null;
    row.notes = r.notes.length ? r.notes.join('; ') : null;
    return row;
  });
  return { columns, rows, factors, metrics };
}

/** CSV with full-precision numbers; a non-finite metric is written as NaN / Infinity / -Infinity (read back by `analyze`). */
export function importCsv(t: ImportTable): string {
  return stringify(
    t.rows.map((r) => t.columns.map((c) => {
      const v = r[c];
      return v === null || v === undefined ? '' : String(v);
    })),
    { header: true, columns: t.columns },
  );
}

/** The JSON form of `import --json`: the same rows with history/attrs nested, plus mappings and warnings. */
export function importJson(result: ImportResult, t: ImportTable): unknown {
  return {
    columns: t.columns,
    rows: t.rows.map((row, i) => ({ ...row, history: result.runs[i].history, attrs: result.runs[i].attrs, notes: result.runs[i].notes })),
    mappings: result.mappings,
    warnings: result.warnings,
    notes: result.notes,
  };
}

/** States analyses use by default: finished runs (COMPLETE / FINISHED / finished). */
export const ANALYSED_STATES: ReadonlySet<RunState> = new Set<RunState>(['complete']);

/** The runs an analysis uses, and the sentence counting those left out by state. */
export function analysedRuns(runs: ImportedRun[], opts: { allStates?: boolean } = {}): { runs: ImportedRun[]; note: string | null } {
  if (opts.allStates) return { runs, note: null };
  const kept = runs.filter((r) => ANALYSED_STATES.has(r.state));
  const left = new Map<string, number>();
  for (const r of runs) if (!ANALYSED_STATES.has(r.state)) left.set(r.state, (left.get(r.state) ?? 0) + 1);
  if (left.size === 0) return { runs: kept, note: null };
  const what = [...left].map(([s, n]) => `${n} ${s}`).join(', ');
  return { runs: kept, note: `left out ${what} run(s) of ${runs.length} (not complete; --all-states keeps them)` };
}

/**
 * The same rule for a table read back from an `import` CSV (it has source_kind and state columns): rows whose state
 * is not complete are left out, with the count. Other tables are returned as they are.
 */
export function analysedRows<R extends Record<string, unknown>>(columns: string[], rows: R[], opts: { allStates?: boolean } = {}): { rows: R[]; note: string | null } {
  if (opts.allStates || !columns.includes('source_kind') || !columns.includes('state')) return { rows, note: null };
  const kept = rows.filter((r) => r.state === null || r.state === undefined || ANALYSED_STATES.has(r.state as RunState));
  if (kept.length === rows.length) return { rows, note: null };
  const left = new Map<string, number>();
  for (const r of rows) if (!kept.includes(r)) left.set(String(r.state), (left.get(String(r.state)) ?? 0) + 1);
  return { rows: kept, note: `left out ${[...left].map(([s, n]) => `${n} ${s}`).join(', ')} run(s) of ${rows.length} (not complete; --all-states keeps them)` };
}
