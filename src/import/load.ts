/**
 * A source given straight to `analyze` / `report` (instead of a CSV): recognised, imported, reduced to the
 * complete runs, with the lines that say what was read, mapped and left out.
 */
import { existsSync } from 'node:fs';
import { formatMappings } from './names.js';
import { analysedRuns, importTable, type ImportTable } from './rows.js';
import { formatWarning, importSources, parseSourceArgs, type ImportOptions } from './sources.js';
import { isDatabaseUrl } from './sql.js';
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
