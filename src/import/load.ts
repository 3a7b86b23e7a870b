/**
 * The runs `analyze`, `report`, `variability` and `compare` read: a source given straight (instead of a CSV) —
 * recognised, imported, reduced to the complete runs, with the lines that say what was read, mapped and left out —
 * or a CSV/TSV, of which an `import` CSV keeps its complete runs the same way. One reader for the CLI and the report.
 */
import { existsSync } from 'node:fs';
import { readTable, tableFromRows, type Table } from '../analysis/index.js';
import { formatMappings } from './names.js';
import { analysedRows, analysedRuns, importTable, type ImportTable } from './rows.js';
import { formatWarning, importSources, parseSourceArgs, type ImportOptions } from './sources.js';
import { isDatabaseUrl, redactUrl } from './sql.js';
import type { ImportResult } from './types.js';

export interface LoadedImport extends ImportTable {
  result: ImportResult;
  /** lines for the user: the study read, the mapping, runs left out, warnings */
  notes: string[];
}

/**
 * null when `input` is not an import source (a plain CSV/TSV, a tunescope study store): the caller reads it as before.
 * `optuna:…`-style prefixes force the kind.
 */
export async function loadImportedTable(input: string, opts: ImportOptions & { allStates?: boolean } = {}): Promise<LoadedImport | null> {
  const prefixed = /^(optuna|hf|mlflow|wandb):(?!\/\/)/.test(input);
  if (!prefixed && !isDatabaseUrl(input) && !existsSync(input)) return null;
  let specs;
  try {
    specs = await parseSourceArgs([input]);
  } catch (e) {
    // not a recognised source: the caller's own reader gives its error for it
    if (!prefixed && !isDatabaseUrl(input)) return null;
    throw e;
  }
  const result = await importSources(specs, opts);
  const { runs, note } = analysedRuns(result.runs, opts);
  const notes = [...result.notes];
  if (result.mappings.length) notes.push(`names mapped to HF's: ${formatMappings(result.mappings)}`);
  if (note) notes.push(note);
  for (const w of result.warnings) notes.push(`warning: ${formatWarning(w)}`);
  notes.push(`kept ${runs.length} run(s) of ${result.runs.length} for the analysis`);
  return { ...importTable(runs), result, notes };
}

export interface RunsTable {
  /** the rows to analyse; `source` names the input with a URL's password masked */
  table: Table;
  notes: string[];
  /** the import behind the table (null: a CSV/TSV) */
  imported: LoadedImport | null;
}

/** An import source read straight, as a table in the import's column order; null when `input` is not one. */
export async function loadImportedRuns(input: string, opts: ImportOptions & { allStates?: boolean } = {}): Promise<RunsTable | null> {
  const imported = await loadImportedTable(input, opts);
  if (!imported) return null;
  return { table: { ...tableFromRows(imported.rows, redactUrl(input)), columns: imported.columns }, notes: imported.notes, imported };
}

/** A CSV/TSV of runs, of which an `import` CSV keeps its complete runs (--all-states: every run), with a note saying so. */
export function readRunsCsv(path: string, opts: { allStates?: boolean } = {}): RunsTable {
  const table = readTable(path);
  const { rows, note } = analysedRows(table.columns, table.rows, opts);
  if (!note) return { table, notes: [], imported: null };
  const kept = new Set(rows);
  return { table: { ...table, rows, lines: table.lines?.filter((_, i) => kept.has(table.rows[i]!)) }, notes: [note], imported: null };
}
