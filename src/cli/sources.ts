/**
 * The data argument of `analyze`, `report`, `variability` and `compare`: a CSV/TSV, or a source `tunescope import`
 * reads (read straight through src/import's loadImportedTable, complete runs only unless --all-states). One reader
 * here so that every command takes the same sources with the same --study / --map / --all-states.
 */
import type { Command } from 'commander';
import { tableFromRows, readTable, type Table } from '../analysis/index.js';
import { SOURCE_KINDS, analysedRows, loadImportedTable, parseMapOption, type LoadedImport } from '../import/index.js';
import { UserError } from '../util/index.js';

export interface SourceCliOptions {
  study?: string;
  map?: string;
  allStates?: boolean;
}

/**
 * Command-line words → inputs: a kind word and its location (`optuna sqlite:///study.db`, as `tunescope import`
 * takes them) become one input `optuna:sqlite:///study.db`; other words are inputs as they are.
 */
export function inputArgs(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if ((SOURCE_KINDS as readonly string[]).includes(w)) {
      const loc = words[i + 1];
      if (loc === undefined) throw new UserError(`source kind "${w}" is not followed by a location`);
      out.push(`${w}:${loc}`);
      i++;
    } else out.push(w);
  }
  return out;
}

/** Exactly `n` inputs (from inputArgs), or one error line saying what the command takes. */
export function expectInputs(words: string[], min: number, max: number, what: string): string[] {
  const inputs = inputArgs(words);
  if (inputs.length < min || inputs.length > max)
    throw new UserError(`expected ${what}, got ${inputs.length} input(s): ${inputs.join(' ')}`);
  return inputs;
}

/** An import source read straight (null when `data` is not one); --map parsed. */
export function loadImportedInput(data: string, opts: SourceCliOptions): Promise<LoadedImport | null> {
  return loadImportedTable(data, { study: opts.study, map: parseMapOption(opts.map), allStates: opts.allStates });
}

/** An imported source as a table (its columns in the import's order). */
export function importedAsTable(imported: LoadedImport, source: string): Table {
  return { ...tableFromRows(imported.rows, source), columns: imported.columns };
}

/** A CSV/TSV, of which an `import` CSV keeps its complete runs (--all-states: every run), with a note saying so. */
export function readCsvInput(data: string, opts: SourceCliOptions): { table: Table; notes: string[] } {
  const table = readTable(data);
  const { rows, note } = analysedRows(table.columns, table.rows, opts);
  if (!note) return { table, notes: [] };
  const kept = new Set(rows);
  return { table: { ...table, rows, lines: table.lines?.filter((_, i) => kept.has(table.rows[i]!)) }, notes: [note] };
}

/** The rows to analyse: an import source read straight (complete runs), else a CSV/TSV (readCsvInput). */
export async function readAnalysisTable(data: string, opts: SourceCliOptions): Promise<{ table: Table; notes: string[] }> {
  const imported = await loadImportedInput(data, opts);
  if (imported) return { table: importedAsTable(imported, data), notes: imported.notes };
  return readCsvInput(data, opts);
}

/** How the commands' help names the import sources they read straight. */
export const IMPORT_SOURCES_HELP =
  'a source `tunescope import` reads (`optuna sqlite:///optuna.db`, `optuna postgresql://…`, optuna:journal.log, `hf DIR`, `mlflow mlruns/`, `wandb runs.csv`, …)';

/** --study / --map / --all-states, for every command that reads import sources straight. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--study <name>', 'the Optuna study (or MLflow experiment), when an input is a storage holding several')
    .option('--map <list>', 'for a source read directly: rename its names (as `import --map`), e.g. value=accuracy')
    .option('--all-states', 'keep pruned/failed/running runs of an imported source (default: complete runs only, with a count)');
}
