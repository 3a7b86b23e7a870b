/**
 * The data argument of `analyze`, `report`, `variability` and `compare`: a CSV/TSV, or a source `tunescope import`
 * reads, in the forms `import` takes (`optuna LOC`, `optuna:LOC`, a recognised LOC), read straight through
 * src/import's loadImportedRuns (complete runs only unless --all-states). One reader here so that every command takes
 * the same sources with the same --study / --map / --all-states.
 */
import type { Command } from 'commander';
import { SOURCE_KINDS, loadImportedRuns, parseMapOption, readRunsCsv, redactUrl, type RunsTable } from '../import/index.js';
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
    throw new UserError(`expected ${what}, got ${inputs.length} input(s): ${inputs.map(redactUrl).join(' ')}`);
  return inputs;
}

/** An import source read straight as a table (null when `data` is not one); --map parsed. */
export function loadImportedInput(data: string, opts: SourceCliOptions): Promise<RunsTable | null> {
  return loadImportedRuns(data, { study: opts.study, map: parseMapOption(opts.map), allStates: opts.allStates });
}

/** The rows to analyse: an import source read straight (complete runs), else a CSV/TSV (an `import` CSV: its complete runs). */
export async function readAnalysisTable(data: string, opts: SourceCliOptions): Promise<RunsTable> {
  return (await loadImportedInput(data, opts)) ?? readRunsCsv(data, opts);
}

/** How a command names its input in what it prints: a URL's password masked. */
export const inputLabel = redactUrl;

/** How the commands' help names the import sources they read straight. */
export const IMPORT_SOURCES_HELP =
  'a source `tunescope import` reads (`optuna sqlite:///optuna.db`, `optuna postgresql://…`, optuna:journal.log, `hf DIR`, `mlflow mlruns/`, `wandb runs.csv`, …)';

/** --study / --map / --all-states, for every command that reads import sources straight. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--study <name>', 'the Optuna study (or MLflow experiment), when an input is a storage holding several')
    .option('--map <list>', 'for a source read directly: rename its names (as `import --map`), e.g. value=accuracy')
    .option('--all-states', 'keep pruned/failed/running/waiting runs of an imported source (default: complete runs only, with a count)');
}
