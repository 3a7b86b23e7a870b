/**
 * Weights & Biases runs, read without wandb: run folders (wandb/run-*, wandb/offline-run-*: files/config.yaml with
 * every key as {value: …} (older clients add desc), files/wandb-summary.json with the last logged values) and a sweep's
 * runs table exported as CSV from the web UI (Name, State, … then config and summary columns). The .wandb binary
 * log is not read: the summary holds the final values.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { UserError } from '../util/index.js';
import { asNumber, readJsonFile, readYamlFile } from './files.js';
import { isParamName, trainerMetricName } from './names.js';
import { paramValue } from './mlflow.js';
import type { ImportWarning, ParamValue, RawRun, RunState, Sourced } from './types.js';

const STATES: Record<string, RunState> = { finished: 'complete', running: 'running', crashed: 'failed', failed: 'failed', killed: 'killed', preempted: 'killed', pending: 'waiting' };
/** Columns of the runs-table export that describe the run rather than its config or summary. */
const META_COLUMNS = new Set(['Name', 'State', 'Notes', 'User', 'Tags', 'Created', 'Runtime', 'Sweep', 'ID', 'Group', 'Job Type', 'Hostname', 'Description', 'Commit', 'GitHub', 'GPU Type', 'GPU Count', 'Updated', 'End Time', 'Heartbeat']);

export interface WandbRead {
  runs: RawRun[];
  warnings: ImportWarning[];
  notes: string[];
}

function isRunFolderName(n: string): boolean {
  return /^(offline-)?run-\d{8}_\d{6}-[A-Za-z0-9]+$/.test(n);
}

/** A wandb/ folder (or a folder holding one), or one run folder. */
export function isWandbFolder(dir: string): boolean {
  try {
    if (isRunFolderName(basename(dir)) && existsSync(join(dir, 'files'))) return true;
    const names = readdirSync(dir);
    if (names.some((n) => isRunFolderName(n) && existsSync(join(dir, n, 'files')))) return true;
    return names.includes('wandb') && readdirSync(join(dir, 'wandb')).some(isRunFolderName);
  } catch {
    return false;
  }
}

/** A W&B runs-table CSV: its header starts with the UI's run columns. */
export function isWandbCsv(path: string): boolean {
  if (!/\.csv$/i.test(path)) return false;
  try {
    const head = readFileSync(path, 'utf8').slice(0, 4096).replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    const cols = head.split(',').map((c) => c.replace(/^"|"$/g, ''));
    return cols[0] === 'Name' && cols.includes('State') && (cols.includes('Created') || cols.includes('Runtime') || cols.includes('Sweep'));
  } catch {
    return false;
  }
}

function runFolders(dir: string): string[] {
  if (isRunFolderName(basename(dir))) return [dir];
  const base = existsSync(join(dir, 'wandb')) && !readdirSync(dir).some(isRunFolderName) ? join(dir, 'wandb') : dir;
  // latest-run is a symlink to one of the others
  return readdirSync(base).filter((n) => isRunFolderName(n) && !lstatSync(join(base, n)).isSymbolicLink()).sort().map((n) => join(base, n));
}

/** config.yaml: {key: {value: v, desc: …}}; wandb_version and _wandb are the client's own. */
function configValues(cfg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'wandb_version' || k === '_wandb') continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && 'value' in v ? (v as { value: unknown }).value : v;
  }
  return out;
}

function scalar(v: unknown): ParamValue | undefined {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return undefined;
}

function readRunFolder(dir: string, warnings: ImportWarning[]): RawRun | null {
  const files = join(dir, 'files');
  const params: Record<string, Sourced<ParamValue>> = {};
  const metrics: Record<string, Sourced<number | null>> = {};
  const attrs: Record<string, unknown> = {};
  const cfgPath = join(files, 'config.yaml');
  const sumPath = join(files, 'wandb-summary.json');
  let ok = false;
  if (existsSync(cfgPath)) {
    const c = readYamlFile<Record<string, unknown>>(cfgPath);
    if (!c.ok) warnings.push(c.warning);
    else if (c.value && typeof c.value === 'object') {
      ok = true;
      const nested: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(configValues(c.value))) {
        const s = scalar(v);
        if (s !== undefined) params[k] = { value: s, from: 'config.yaml' };
        else nested[k] = v;
      }
      if (Object.keys(nested).length) attrs.config = nested;
    }
  }
  let complete = false;
  if (existsSync(sumPath)) {
    const s = readJsonFile<Record<string, unknown>>(sumPath);
    if (!s.ok) warnings.push(s.warning);
    else if (s.value && typeof s.value === 'object') {
      ok = true;
      complete = true;
      for (const [k, v] of Object.entries(s.value)) {
        const name = trainerMetricName(k);
        const n = asNumber(v);
        if (name !== null && n !== undefined) metrics[name] = { value: n, from: 'wandb-summary.json' };
      }
      if (typeof s.value._runtime === 'number') attrs.runtime_seconds = s.value._runtime;
    }
  }
  const meta = join(files, 'wandb-metadata.json');
  if (existsSync(meta)) {
    const m = readJsonFile<Record<string, unknown>>(meta);
    if (m.ok && m.value) attrs.metadata = { host: m.value.host ?? null, program: m.value.program ?? null, startedAt: m.value.startedAt ?? null };
  }
  if (!ok) {
    warnings.push({ file: dir, message: 'run left out: neither files/config.yaml nor files/wandb-summary.json could be read' });
    return null;
  }
  const m = /-([A-Za-z0-9]+)$/.exec(basename(dir));
  return {
    kind: 'wandb',
    source: dir,
    runId: m ? m[1] : basename(dir),
    group: basename(dir).startsWith('offline-') ? 'wandb offline' : 'wandb',
    state: complete ? 'complete' : 'running',
    params,
    metrics,
    history: [],
    attrs: { folder: basename(dir), ...attrs },
    notes: complete ? [] : ['no readable files/wandb-summary.json: the run has no final values'],
  };
}

function readCsv(path: string): WandbRead {
  const warnings: ImportWarning[] = [];
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(readFileSync(path, 'utf8'), { bom: true, info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (e) {
    throw new UserError(`${path}: not a readable CSV (${(e as Error).message})`);
  }
  const header = records[0]?.record ?? [];
  const runs: RawRun[] = [];
  for (const { record, info } of records.slice(1)) {
    if (record.length !== header.length) {
      warnings.push({ file: path, line: info.lines, message: `${record.length} fields where the header has ${header.length}; row left out` });
      continue;
    }
    const params: Record<string, Sourced<ParamValue>> = {};
    const metrics: Record<string, Sourced<number | null>> = {};
    const attrs: Record<string, unknown> = {};
    header.forEach((col, i) => {
      const raw = record[i];
      if (META_COLUMNS.has(col)) {
        attrs[col.toLowerCase().replace(/ /g, '_')] = raw === '' || raw === '-' ? null : raw;
        return;
      }
      const from = `column "${col}"`;
      // the export does not say which columns are config and which summary: logged names (with a /) and known metric
      // names are metrics, the rest config
      const metricName = trainerMetricName(col);
      const looksMetric = col.includes('/') || /(^|_)(accuracy|acc|f1|loss|precision|recall|auc|mcc)$/.test(col);
      if (looksMetric && !isParamName(col)) {
        if (metricName === null) return;
        const v = paramValue(raw);
        metrics[metricName] = { value: typeof v === 'number' ? v : null, from };
      } else params[col] = { value: paramValue(raw), from };
    });
    const state = STATES[String(attrs.state ?? '').toLowerCase()] ?? 'complete';
    runs.push({ kind: 'wandb', source: `${path}:${info.lines}`, runId: String(attrs.name ?? info.lines), group: attrs.sweep ? `sweep ${String(attrs.sweep)}` : basename(path), state, params, metrics, history: [], attrs, notes: [] });
  }
  return { runs, warnings, notes: [`${path}: W&B runs table, ${runs.length} run(s)`] };
}

export function readWandb(location: string): WandbRead {
  if (!existsSync(location)) throw new UserError(`${location}: no such file or folder`);
  if (lstatSync(location).isFile()) return readCsv(location);
  const warnings: ImportWarning[] = [];
  const runs: RawRun[] = [];
  const dirs = runFolders(location);
  if (dirs.length === 0) throw new UserError(`${location}: no W&B run folders (run-*/files or offline-run-*/files)`);
  for (const d of dirs) {
    const r = readRunFolder(d, warnings);
    if (r) runs.push(r);
  }
  return { runs, warnings, notes: [`${location}: ${runs.length} W&B run folder(s)`] };
}
