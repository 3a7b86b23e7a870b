/**
 * Bring your own runs: sweeps run elsewhere — Optuna storages (RDB and JournalStorage), Hugging Face Trainer output
 * folders, MLflow (file store, SQLite), Weights & Biases (runs CSV, offline run folders) — as rows in the format of
 * `study export` / `cards` (HF names, seed, data_seed, metrics, per-field provenance), for `analyze` and `report`.
 * Usage:
 *   const specs = await parseSourceArgs(['optuna', 'sqlite:///study.db']);
 *   const result = await importSources(specs, { study: 'sst2', map: { value: 'accuracy' } });
 *   const table = importTable(analysedRuns(result.runs).runs);   // complete runs only, with a count of the others
 */
export { parseSourceArgs, detectKind, importSources, formatWarning } from './sources.js';
export type { SourceSpec, ImportOptions } from './sources.js';
export { importTable, importCsv, importJson, analysedRuns, analysedRows, ANALYSED_STATES } from './rows.js';
export type { ImportRow, ImportTable } from './rows.js';
export { parseMapOption, formatMappings, NameMapper } from './names.js';
export { listOptunaStudies, OptunaStudyChoice, OPTUNA_SCHEMAS } from './optuna.js';
export { loadImportedTable, loadImportedRuns, readRunsCsv } from './load.js';
export type { LoadedImport, RunsTable } from './load.js';
export { redactUrl } from './sql.js';
export { SOURCE_KINDS } from './types.js';
export type { ImportedRun, ImportResult, ImportWarning, NameMapping, OptunaStudyInfo, RunState, SourceKind, HistoryPoint, ParamValue } from './types.js';
