/**
 * Which tool wrote a source, and reading many sources into one ImportResult. A source is `KIND:LOCATION`
 * (optuna:, hf:, mlflow:, wandb:), a kind word followed by locations (`optuna sqlite:///x.db`, `hf out1 out2`), or a
 * bare location recognised by its contents (an Optuna/MLflow database, a journal log, an mlruns/ or wandb/ folder,
 * a Trainer output folder, a W&B runs-table CSV).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isSqliteFile } from '../store/index.js';
import { UserError, isUserError } from '../util/index.js';
import { SourceDamage } from './errors.js';
import { NameMapper } from './names.js';
import { normalizeRun } from './normalize.js';
import { TRAINING_ARGS_BIN_NOTE, isHfFolder, readHf } from './hf.js';
import { isMlrunsFolder, readMlflow } from './mlflow.js';
import { isJournalFile, readOptuna } from './optuna.js';
import { isWandbCsv, isWandbFolder, readWandb } from './wandb.js';
import { isDatabaseUrl, openSql, redactUrl, sqlitePathOfUrl } from './sql.js';
import { SOURCE_KINDS, type ImportResult, type ImportWarning, type RawRun, type SourceKind } from './types.js';

export interface SourceSpec {
  kind: SourceKind;
  location: string;
}

function isKind(s: string): s is SourceKind {
  return (SOURCE_KINDS as readonly string[]).includes(s);
}

/** Databases: which tool's tables they hold (null: neither, e.g. a tunescope study store). */
async function databaseKind(location: string): Promise<SourceKind | null> {
  const db = await openSql(location);
  try {
    const t = await db.tables();
    if (t.has('studies') && t.has('trials') && t.has('trial_params')) return 'optuna';
    if (t.has('experiments') && t.has('runs') && t.has('metrics') && t.has('params')) return 'mlflow';
    return null;
  } catch {
    return null;
  } finally {
    await db.close();
  }
}

/** The tool that wrote `location`, or null when it is none of them (a plain CSV, a tunescope study store). */
export async function detectKind(location: string): Promise<SourceKind | null> {
  if (isDatabaseUrl(location)) {
    const p = sqlitePathOfUrl(location);
    if (p !== null && !existsSync(p)) throw new UserError(`${location}: no such file ${p}`);
    return databaseKind(location);
  }
  if (!existsSync(location)) return null;
  const st = statSync(location);
  if (st.isFile()) {
    if (isSqliteFile(location)) return databaseKind(location);
    if (isJournalFile(location)) return 'optuna';
    if (isWandbCsv(location)) return 'wandb';
    return null;
  }
  if (st.isDirectory()) {
    if (isMlrunsFolder(location)) return 'mlflow';
    if (isWandbFolder(location)) return 'wandb';
    if (isHfFolder(location)) return 'hf';
  }
  return null;
}

/** Command-line words → sources: kind words apply to the locations after them; bare locations are recognised. */
export async function parseSourceArgs(args: string[]): Promise<SourceSpec[]> {
  const out: SourceSpec[] = [];
  let kind: SourceKind | null = null;
  let pendingKind = false;
  for (const a of args) {
    if (isKind(a)) {
      if (pendingKind) throw new UserError(`source kind "${kind}" is not followed by a location`);
      kind = a;
      pendingKind = true;
      continue;
    }
    const m = /^(optuna|hf|mlflow|wandb):(?!\/\/)(.+)$/.exec(a);
    if (m) {
      out.push({ kind: m[1] as SourceKind, location: m[2] });
      continue;
    }
    pendingKind = false;
    if (kind) {
      out.push({ kind, location: a });
      continue;
    }
    const detected = await detectKind(a);
    if (!detected) {
      if (!isDatabaseUrl(a) && !existsSync(a)) throw new UserError(`${a}: no such file or folder`);
      const shown = redactUrl(a);
      throw new UserError(`${shown}: not a source tunescope imports (an Optuna or MLflow database, an Optuna journal log, a Trainer output folder, mlruns/, wandb/ or a W&B runs CSV); name the kind, e.g. \`optuna ${shown}\``);
    }
    out.push({ kind: detected, location: a });
  }
  if (pendingKind) throw new UserError(`source kind "${kind}" is not followed by a location`);
  if (out.length === 0) throw new UserError('no source given (e.g. `tunescope import optuna sqlite:///study.db --study NAME`)');
  return out;
}

export interface ImportOptions {
  /** the Optuna study, or the MLflow experiment, to read (MLflow default: every experiment) */
  study?: string;
  /** --map overrides: tool name → HF name */
  map?: Record<string, string>;
  /** one line per source read, for progress */
  onSource?: (spec: SourceSpec, runs: number) => void;
}

async function readSource(spec: SourceSpec, opts: ImportOptions): Promise<{ runs: RawRun[]; warnings: ImportWarning[]; notes: string[] }> {
  switch (spec.kind) {
    case 'optuna': {
      const r = await readOptuna(spec.location, { study: opts.study });
      const notes: string[] = [];
      const shown = redactUrl(spec.location);
      const counts = Object.entries(r.study.trials).map(([s, n]) => `${n} ${s}`).join(', ');
      notes.push(`${shown}: Optuna study ${r.study.name} (${r.study.directions.map((d, i) => `${d.toLowerCase()} ${r.study.metricNames?.[i] ?? (r.study.directions.length === 1 ? 'value' : `values_${i}`)}`).join(', ')}): ${counts || 'no trials'}`);
      if (!r.study.metricNames && !opts.map?.value && r.study.directions.length === 1)
        notes.push(`${shown}: the objective has no name (Study.set_metric_names, Optuna ≥ 3.2): it is column \`value\`; --map value=accuracy names it`);
      return { runs: r.runs, warnings: r.warnings, notes };
    }
    case 'hf': {
      const r = readHf([spec.location]);
      const notes = [`${spec.location}: ${r.runs.length} Trainer run folder(s)`];
      if (r.sawTrainingArgsBin) notes.push(TRAINING_ARGS_BIN_NOTE);
      return { runs: r.runs, warnings: r.warnings, notes };
    }
    case 'mlflow':
      return readMlflow(spec.location, opts.study);
    case 'wandb':
      return readWandb(spec.location);
  }
}

/** Reads every source; a damaged source or run is a warning and the others go on. */
export async function importSources(specs: SourceSpec[], opts: ImportOptions = {}): Promise<ImportResult> {
  const mapper = new NameMapper(opts.map ?? {});
  const result: ImportResult = { runs: [], warnings: [], mappings: [], notes: [], sources: [] };
  const damaged: SourceDamage[] = [];
  for (const spec of specs) {
    let r;
    try {
      r = await readSource(spec, opts);
    } catch (e) {
      if (!(e instanceof SourceDamage)) throw e;
      damaged.push(e);
      result.warnings.push({ file: e.file, message: `${e.reason}; source skipped` });
      result.sources.push({ kind: spec.kind, location: redactUrl(spec.location), runs: 0 });
      opts.onSource?.(spec, 0);
      continue;
    }
    result.runs.push(...r.runs.map((x) => normalizeRun(x, mapper)));
    result.warnings.push(...r.warnings);
    // a note said once per import (training_args.bin) however many sources repeat it
    for (const n of r.notes) if (!result.notes.includes(n)) result.notes.push(n);
    result.sources.push({ kind: spec.kind, location: redactUrl(spec.location), runs: r.runs.length });
    opts.onSource?.(spec, r.runs.length);
  }
  if (result.runs.length === 0 && damaged.length > 0) throw damaged[0];
  result.mappings = mapper.mappings();
  const unused = Object.keys(opts.map ?? {}).filter((k) => !result.mappings.some((m) => m.from === k));
  if (unused.length) result.notes.push(`--map names not found in any source: ${unused.join(', ')}`);
  return result;
}

export function formatWarning(w: ImportWarning): string {
  return `${w.file}${w.line !== undefined ? `: line ${w.line}` : ''}: ${w.message}`;
}

