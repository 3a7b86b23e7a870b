/**
 * MLflow runs, read without MLflow: the file store (mlruns/<experiment_id>/meta.yaml, <run_id>/meta.yaml with the
 * RunStatus int, params/<key>, metrics/<key> lines "<timestamp> <value> [<step>]" whose latest value is the max by
 * (step, timestamp, value) as FileStore.get_metric does, tags/<key>; keys with "/" are folders) and the SQLAlchemy
 * backend (sqlite:///mlflow.db, postgresql://…: experiments, runs, params, metrics with is_nan, tags). Deleted runs
 * and experiments are left out with a count.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../util/index.js';
import { SourceDamage } from './errors.js';
import { readYamlFile } from './files.js';
import { trainerMetricName } from './names.js';
import { openSql } from './sql.js';
import type { HistoryPoint, ImportWarning, ParamValue, RawRun, RunState, Sourced } from './types.js';

const STATUS_BY_CODE: Record<number, RunState> = { 1: 'running', 2: 'waiting', 3: 'complete', 4: 'failed', 5: 'killed' };
const STATUS_BY_NAME: Record<string, RunState> = { RUNNING: 'running', SCHEDULED: 'waiting', FINISHED: 'complete', FAILED: 'failed', KILLED: 'killed' };

export interface MlflowRead {
  runs: RawRun[];
  warnings: ImportWarning[];
  notes: string[];
}

interface MetricPoint { timestamp: number; value: number; step: number }

/** A param as logged (always a string in MLflow): numbers become numbers, "None" null. */
export function paramValue(s: string): ParamValue {
  const t = s.trim();
  if (t === 'None' || t === '') return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  return t;
}

function pythonFloat(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === 'infinity' || t === '+inf') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number(t);
}

function parseMetricLine(line: string): MetricPoint | null {
  const parts = line.trim().split(' ');
  if (parts.length !== 2 && parts.length !== 3) return null;
  if (!/^-?\d+$/.test(parts[0]) || (parts.length === 3 && !/^-?\d+$/.test(parts[2]))) return null;
  const v = parts[1].trim();
  if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity))$/i.test(v)) return null;
  return { timestamp: Number(parts[0]), value: pythonFloat(v), step: parts.length === 3 ? Number(parts[2]) : 0 };
}

/** FileStore.get_metric: the latest is max by (step, timestamp, value). */
function latest(points: MetricPoint[]): MetricPoint | null {
  let best: MetricPoint | null = null;
  for (const p of points) {
    if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
  }
  return best;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Metric series → the run's metrics and history. HF's MLflowCallback logs the training loss as `loss` beside eval_loss:
 * in a run with eval_ metrics a bare `loss` is the training loss.
 */
function metricsOf(series: Map<string, MetricPoint[]>, fromOf: (key: string) => string): { metrics: Record<string, Sourced<number | null>>; history: HistoryPoint[] } {
  const metrics: Record<string, Sourced<number | null>> = {};
  const hasEval = [...series.keys()].some((k) => /^(eval|val|validation)[_/]/.test(k));
  const keys = [...series.keys()].sort((a, b) => Number(/^(eval|val)/.test(b)) - Number(/^(eval|val)/.test(a)) || a.localeCompare(b));
  const byStep = new Map<number, Record<string, number | null>>();
  for (const key of keys) {
    const name = hasEval && key === 'loss' ? 'train_loss' : trainerMetricName(key);
    if (name === null) continue;
    const pts = series.get(key)!;
    const last = latest(pts);
    if (!last) continue;
    metrics[name] = { value: last.value, from: `${fromOf(key)}${pts.length > 1 ? ` (latest of ${pts.length}, step ${last.step})` : ''}` };
    if (/^(eval|val|validation)[_/]/.test(key)) for (const p of pts) (byStep.get(p.step) ?? byStep.set(p.step, {}).get(p.step)!)[key] = p.value;
  }
  const history = [...byStep].sort((a, b) => a[0] - b[0]).map(([step, values]) => ({ step, values }));
  return { metrics, history };
}

// ------------------------------------------------------------------ file store

export function isMlrunsFolder(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => {
      const meta = join(dir, n, 'meta.yaml');
      return existsSync(meta) && /experiment_id/.test(readFileSync(meta, 'utf8').slice(0, 4096)) && !existsSync(join(dir, n, 'params'));
    });
  } catch {
    return false;
  }
}

function readFileStore(root: string, experiment?: string): MlflowRead {
  const warnings: ImportWarning[] = [];
  const runs: RawRun[] = [];
  let deleted = 0;
  const names: string[] = [];
  const expDirs = readdirSync(root).filter((n) => !n.startsWith('.') && existsSync(join(root, n, 'meta.yaml'))).sort();
  for (const e of expDirs) {
    const meta = readYamlFile<Record<string, unknown>>(join(root, e, 'meta.yaml'));
    if (!meta.ok) {
      warnings.push(meta.warning);
      continue;
    }
    const name = String(meta.value?.name ?? e);
    names.push(name);
    if (experiment !== undefined && name !== experiment) continue;
    if (meta.value?.lifecycle_stage === 'deleted') continue;
    for (const r of readdirSync(join(root, e)).sort()) {
      const dir = join(root, e, r);
      if (!statSync(dir).isDirectory()) continue;
      const metaPath = join(dir, 'meta.yaml');
      if (!existsSync(metaPath)) {
        if (existsSync(join(dir, 'params')) || existsSync(join(dir, 'metrics'))) warnings.push({ file: dir, message: 'run folder without meta.yaml; left out' });
        continue;
      }
      const m = readYamlFile<Record<string, unknown>>(metaPath);
      if (!m.ok || typeof m.value !== 'object' || m.value === null) {
        warnings.push(m.ok ? { file: metaPath, message: 'not a YAML mapping; run left out' } : { ...m.warning, message: `${m.warning.message}; run left out` });
        continue;
      }
      const info = m.value;
      if (info.lifecycle_stage === 'deleted') {
        deleted++;
        continue;
      }
      const params: Record<string, Sourced<ParamValue>> = {};
      for (const f of filesUnder(join(dir, 'params'))) {
        const key = relative(join(dir, 'params'), f).split(/[\\/]/).join('/');
        params[key] = { value: paramValue(readFileSync(f, 'utf8')), from: `params/${key}` };
      }
      const series = new Map<string, MetricPoint[]>();
      for (const f of filesUnder(join(dir, 'metrics'))) {
        const key = relative(join(dir, 'metrics'), f).split(/[\\/]/).join('/');
        const pts: MetricPoint[] = [];
        readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
          if (line.trim() === '') return;
          const p = parseMetricLine(line);
          if (p) pts.push(p);
          else warnings.push({ file: f, line: i + 1, message: `bad metric line ${JSON.stringify(line.slice(0, 60))} (expected "<timestamp> <value> [<step>]"); line skipped` });
        });
        series.set(key, pts);
      }
      const { metrics, history } = metricsOf(series, (k) => `metrics/${k}`);
      const tags: Record<string, string> = {};
      for (const f of filesUnder(join(dir, 'tags'))) tags[relative(join(dir, 'tags'), f).split(/[\\/]/).join('/')] = readFileSync(f, 'utf8');
      const runId = String(info.run_id ?? info.run_uuid ?? r);
      const status = STATUS_BY_CODE[Number(info.status)] ?? (typeof info.status === 'string' ? STATUS_BY_NAME[info.status] : undefined) ?? 'running';
      runs.push({
        kind: 'mlflow',
        source: dir,
        runId,
        group: name,
        state: status,
        params,
        metrics,
        history,
        attrs: { run_name: (info.run_name as string | undefined) || tags['mlflow.runName'] || null, experiment_id: String(info.experiment_id ?? e), start_time: info.start_time ?? null, end_time: info.end_time ?? null, user_id: info.user_id ?? null, tags },
        notes: [],
      });
    }
  }
  if (experiment !== undefined && !names.includes(experiment)) throw new UserError(`${root}: no MLflow experiment named ${JSON.stringify(experiment)} (experiments: ${names.join(', ') || 'none'})`);
  const notes = [`${root}: MLflow file store, ${runs.length} run(s) in ${[...new Set(runs.map((r) => r.group))].join(', ') || 'no experiment'}`];
  if (deleted) notes.push(`${root}: left out ${deleted} deleted run(s)`);
  return { runs, warnings, notes };
}

// ------------------------------------------------------------------ SQL backend

async function readSqlStore(location: string, experiment?: string): Promise<MlflowRead> {
  const db = await openSql(location);
  try {
    const warnings: ImportWarning[] = [];
    let exps, runRows;
    try {
      exps = await db.all('SELECT experiment_id, name, lifecycle_stage FROM experiments ORDER BY experiment_id');
      runRows = await db.all('SELECT run_uuid, name, status, start_time, end_time, lifecycle_stage, experiment_id, user_id FROM runs ORDER BY start_time, run_uuid');
    } catch (e) {
      const v = await db.all('SELECT version_num FROM alembic_version').catch(() => []);
      if (/malformed|not a database/i.test((e as Error).message)) throw new SourceDamage(db.location, `cannot read the MLflow database (${(e as Error).message})`);
      throw new UserError(`${db.location}: an MLflow database this reader does not know (schema ${String(v[0]?.version_num ?? 'unknown')}: ${(e as Error).message})`);
    }
    const names = new Map(exps.map((x) => [String(x.experiment_id), String(x.name)]));
    if (experiment !== undefined && ![...names.values()].includes(experiment)) throw new UserError(`${db.location}: no MLflow experiment named ${JSON.stringify(experiment)} (experiments: ${[...names.values()].join(', ')})`);
    const deletedExps = new Set(exps.filter((x) => x.lifecycle_stage === 'deleted').map((x) => String(x.experiment_id)));
    const runs: RawRun[] = [];
    let deleted = 0;
    for (const r of runRows) {
      const group = names.get(String(r.experiment_id)) ?? String(r.experiment_id);
      if (experiment !== undefined && group !== experiment) continue;
      if (r.lifecycle_stage === 'deleted' || deletedExps.has(String(r.experiment_id))) {
        deleted++;
        continue;
      }
      const id = String(r.run_uuid);
      try {
        const params: Record<string, Sourced<ParamValue>> = {};
        for (const p of await db.all('SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key', [id])) params[String(p.key)] = { value: paramValue(String(p.value)), from: `params.${String(p.key)}` };
        const series = new Map<string, MetricPoint[]>();
        for (const m of await db.all('SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? ORDER BY key, step, timestamp', [id])) {
          const key = String(m.key);
          const pts = series.get(key) ?? series.set(key, []).get(key)!;
          pts.push({ timestamp: Number(m.timestamp), step: Number(m.step), value: Number(m.is_nan) ? NaN : Number(m.value) });
        }
        const { metrics, history } = metricsOf(series, (k) => `metrics.${k}`);
        const tags: Record<string, string> = {};
        for (const t of await db.all('SELECT key, value FROM tags WHERE run_uuid = ?', [id])) tags[String(t.key)] = String(t.value ?? '');
        runs.push({
          kind: 'mlflow',
          source: `${db.location}#${id}`,
          runId: id,
          group,
          state: STATUS_BY_NAME[String(r.status)] ?? 'running',
          params,
          metrics,
          history,
          attrs: { run_name: (r.name as string | null) || tags['mlflow.runName'] || null, experiment_id: String(r.experiment_id), start_time: r.start_time ?? null, end_time: r.end_time ?? null, user_id: r.user_id ?? null, tags },
          notes: [],
        });
      } catch (e) {
        warnings.push({ file: db.location, message: `run ${id} left out: ${(e as Error).message}` });
      }
    }
    const notes = [`${db.location}: MLflow database, ${runs.length} run(s) in ${[...new Set(runs.map((x) => x.group))].join(', ') || 'no experiment'}`];
    if (deleted) notes.push(`${db.location}: left out ${deleted} deleted run(s)`);
    return { runs, warnings, notes };
  } finally {
    await db.close();
  }
}

/** An mlruns/ folder or an MLflow database (URL or SQLite file); `experiment` keeps one experiment. */
export async function readMlflow(location: string, experiment?: string): Promise<MlflowRead> {
  if (!/^\w+(\+\w+)?:\/\//.test(location) && existsSync(location) && statSync(location).isDirectory()) return readFileStore(location, experiment);
  return readSqlStore(location, experiment);
}
