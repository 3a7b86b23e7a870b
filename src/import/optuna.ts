/**
 * Optuna studies read straight from Optuna's storages, without Python: the RDB schema (SQLite through better-sqlite3,
 * PostgreSQL through `pg`; tables studies, study_directions, study_*_attributes, trials, trial_params, trial_values,
 * trial_intermediate_values, trial_*_attributes, alembic_version) and the JournalStorage log file (one JSON operation
 * per line, replayed as optuna/storages/_journal/storage.py does). Parameter values are decoded through each
 * parameter's stored distribution JSON (categorical index → choice, int, float). Read-only.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../util/index.js';
import { SourceDamage } from './errors.js';
import { isParamName } from './names.js';
import { isoTimestamp, openSql, type SqlRow, type SqlSource } from './sql.js';
import type { HistoryPoint, ImportWarning, OptunaStudyInfo, ParamValue, RawRun, RunState, Sourced } from './types.js';

/** alembic revisions whose tables this reader knows: Optuna 3.0–3.1 (v3.0.0.d) and 3.2 onwards (v3.2.0.a: indexes only). */
export const OPTUNA_SCHEMAS = ['v3.0.0.d', 'v3.2.0.a'] as const;

const STATE_BY_NAME: Record<string, RunState> = { RUNNING: 'running', COMPLETE: 'complete', PRUNED: 'pruned', FAIL: 'failed', WAITING: 'waiting' };
const STATE_BY_CODE: RunState[] = ['running', 'complete', 'pruned', 'failed', 'waiting'];
const DIRECTION_BY_CODE = ['NOT_SET', 'MINIMIZE', 'MAXIMIZE'];

export interface OptunaReadOptions {
  study?: string;
}

export interface OptunaRead {
  runs: RawRun[];
  warnings: ImportWarning[];
  study: OptunaStudyInfo;
}

/** Thrown (as a UserError) when --study is needed: the message lists the studies. */
export class OptunaStudyChoice extends UserError {
  constructor(readonly location: string, readonly studies: OptunaStudyInfo[], given?: string) {
    super(
      given !== undefined
        ? `${location}: no Optuna study named ${JSON.stringify(given)} (studies: ${studies.map((s) => s.name).join(', ') || 'none'})`
        : studies.length === 0
          ? `${location}: the Optuna storage holds no study`
          : `${location} holds ${studies.length} Optuna studies; choose one with --study NAME: ${studies.map((s) => s.name).join(', ')}`,
    );
  }
}

// ------------------------------------------------------------------ distributions

interface Distribution {
  kind: 'float' | 'int' | 'categorical';
  log: boolean;
  choices?: ParamValue[];
  describe: string;
}

/** Optuna's distribution JSON, both forms json_to_distribution accepts (named class with attributes, abbreviated `type`). */
export function parseDistribution(json: string): Distribution {
  const d = JSON.parse(json) as { name?: string; attributes?: Record<string, unknown>; type?: string; choices?: ParamValue[]; log?: boolean; low?: number; high?: number };
  const a = d.attributes ?? (d as Record<string, unknown>);
  const name = d.name ?? (d.type === 'categorical' ? 'CategoricalDistribution' : d.type === 'int' ? 'IntDistribution' : d.type === 'float' ? 'FloatDistribution' : undefined);
  const range = `[${String(a.low)}, ${String(a.high)}]`;
  switch (name) {
    case 'CategoricalDistribution':
      return { kind: 'categorical', log: false, choices: a.choices as ParamValue[], describe: `categorical ${JSON.stringify(a.choices)}` };
    case 'FloatDistribution':
    case 'UniformDistribution':
    case 'LogUniformDistribution':
    case 'DiscreteUniformDistribution': {
      const log = name === 'LogUniformDistribution' || a.log === true;
      const step = name === 'DiscreteUniformDistribution' ? a.q : a.step;
      return { kind: 'float', log, describe: `${log ? 'log float' : 'float'} ${range}${step != null ? ` step ${String(step)}` : ''}` };
    }
    case 'IntDistribution':
    case 'IntUniformDistribution':
    case 'IntLogUniformDistribution': {
      const log = name === 'IntLogUniformDistribution' || a.log === true;
      return { kind: 'int', log, describe: `${log ? 'log int' : 'int'} ${range}${a.step != null && a.step !== 1 ? ` step ${String(a.step)}` : ''}` };
    }
    default:
      throw new Error(`unknown distribution ${json.slice(0, 80)}`);
  }
}

/** distribution.to_external_repr: the stored float (a categorical's index) → the value the objective saw. */
export function externalValue(d: Distribution, internal: number): ParamValue {
  if (d.kind === 'categorical') {
    const c = d.choices?.[Math.round(internal)];
    if (c === undefined) throw new Error(`categorical index ${internal} outside the ${d.choices?.length ?? 0} choices`);
    return c;
  }
  return d.kind === 'int' ? Math.round(internal) : internal;
}

// ------------------------------------------------------------------ one trial → RawRun

interface TrialData {
  number: number;
  state: RunState;
  params: { name: string; internal: number; distribution: string; from: string }[];
  values: (number | null)[] | null;
  intermediate: [number, number | null][];
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
  datetimeStart: string | null;
  datetimeComplete: string | null;
  from: { values: string; userAttrs: string };
}

function objectiveNames(study: OptunaStudyInfo): string[] {
  if (study.metricNames && study.metricNames.length === study.directions.length) return study.metricNames;
  return study.directions.length === 1 ? ['value'] : study.directions.map((_, i) => `values_${i}`);
}

function toRun(source: string, study: OptunaStudyInfo, t: TrialData): RawRun {
  const params: Record<string, Sourced<ParamValue>> = {};
  const distributions: Record<string, string> = {};
  for (const p of t.params) {
    const d = parseDistribution(p.distribution);
    params[p.name] = { value: externalValue(d, p.internal), from: p.from };
    distributions[p.name] = d.describe;
  }
  const names = objectiveNames(study);
  const metrics: Record<string, Sourced<number | null>> = {};
  names.forEach((n, i) => {
    metrics[n] = { value: t.values ? (t.values[i] ?? null) : null, from: `${t.from.values}[${i}]` };
  });
  const userAttrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t.userAttrs)) {
    // numbers set with trial.set_user_attr are often the seed and the other metrics: kept as columns
    if (typeof v === 'number' && !(k in params) && !(k in metrics)) {
      if (isParamName(k)) params[k] = { value: v, from: t.from.userAttrs };
      else metrics[k] = { value: v, from: t.from.userAttrs };
    } else userAttrs[k] = v;
  }
  const history: HistoryPoint[] = t.intermediate.sort((a, b) => a[0] - b[0]).map(([step, v]) => ({ step, values: { [names[0]]: v } }));
  return {
    kind: 'optuna',
    source,
    runId: `${study.name}/${t.number}`,
    group: study.name,
    state: t.state,
    params,
    metrics,
    history,
    attrs: {
      number: t.number,
      distributions,
      datetime_start: t.datetimeStart,
      datetime_complete: t.datetimeComplete,
      ...(Object.keys(userAttrs).length ? { user_attrs: userAttrs } : {}),
      ...(Object.keys(t.systemAttrs).length ? { system_attrs: t.systemAttrs } : {}),
    },
    notes: [],
  };
}

// ------------------------------------------------------------------ RDB

function storedValue(value: unknown, type: unknown): number | null {
  switch (type) {
    case 'INF_POS':
      return Infinity;
    case 'INF_NEG':
      return -Infinity;
    case 'NAN':
      return NaN;
    default:
      return value === null || value === undefined ? null : Number(value);
  }
}

function attrMap(rows: SqlRow[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) out[String(r.key)] = parsePythonJson(String(r.value_json));
  return out;
}

function isoDate(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  // SQLAlchemy writes SQLite DATETIME as 'YYYY-MM-DD HH:MM:SS.ffffff', PostgreSQL prints timestamps with trailing
  // zeros of the fraction cut: ISO 8601 with microseconds, as the journal and pandas write it
  return isoTimestamp(String(v));
}

export async function checkOptunaSchema(db: SqlSource): Promise<void> {
  const tables = await db.tables();
  if (!tables.has('studies') || !tables.has('trials')) throw new UserError(`${db.location}: not an Optuna storage (no studies/trials tables)`);
  if (!tables.has('alembic_version')) throw new UserError(`${db.location}: an Optuna storage without an alembic_version table: its schema version is unknown`);
  const rows = await db.all('SELECT version_num FROM alembic_version');
  const v = rows[0] ? String(rows[0].version_num) : '(none)';
  if (!(OPTUNA_SCHEMAS as readonly string[]).includes(v)) {
    throw new UserError(
      `${db.location}: Optuna RDB schema version ${v} is not one tunescope reads (${OPTUNA_SCHEMAS.join(', ')}: Optuna 3.0 and later); ` +
        (v < 'v3.0.0.d' ? 'upgrade a copy with `optuna storage upgrade --storage URL`' : 'a newer Optuna changed its tables'),
    );
  }
}

async function listRdbStudies(db: SqlSource): Promise<(OptunaStudyInfo & { id: number })[]> {
  const studies = await db.all('SELECT study_id, study_name FROM studies ORDER BY study_id');
  const out: (OptunaStudyInfo & { id: number })[] = [];
  for (const s of studies) {
    const id = Number(s.study_id);
    const dirs = await db.all('SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective', [id]);
    const names = await db.all("SELECT value_json FROM study_system_attributes WHERE study_id = ? AND key = 'study:metric_names'", [id]);
    const counts = await db.all('SELECT state, COUNT(*) AS n FROM trials WHERE study_id = ? GROUP BY state', [id]);
    const metricNames = names[0] ? (parsePythonJson(String(names[0].value_json)) as string[]) : null;
    out.push({
      id,
      name: String(s.study_name),
      directions: dirs.map((d) => String(d.direction)),
      metricNames,
      // one order whatever the database's GROUP BY gives (PostgreSQL: hash order)
      trials: Object.fromEntries(counts.map((c) => [STATE_BY_NAME[String(c.state)] ?? String(c.state).toLowerCase(), Number(c.n)] as const).sort((a, b) => a[0].localeCompare(b[0]))),
    });
  }
  return out;
}

function pickStudy<T extends OptunaStudyInfo>(location: string, studies: T[], name?: string): T {
  if (name !== undefined) {
    const s = studies.find((x) => x.name === name);
    if (!s) throw new OptunaStudyChoice(location, studies, name);
    return s;
  }
  if (studies.length !== 1) throw new OptunaStudyChoice(location, studies);
  return studies[0];
}

/** A read failure of a damaged database (truncated file, bad page): a warning, not a stop. */
function isDatabaseDamage(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return /^SQLITE_(CORRUPT|NOTADB|IOERR)/.test(code) || /malformed|not a database|disk I\/O/i.test((e as Error).message ?? '');
}

export async function listOptunaStudies(location: string): Promise<OptunaStudyInfo[]> {
  if (isJournalFile(location)) return replayJournal(location).studies.map((s) => s.info);
  const db = await openSql(location);
  try {
    await checkOptunaSchema(db);
    return await listRdbStudies(db);
  } finally {
    await db.close();
  }
}

async function readRdb(location: string, opts: OptunaReadOptions): Promise<OptunaRead> {
  const db = await openSql(location);
  const warnings: ImportWarning[] = [];
  try {
    let study: OptunaStudyInfo & { id: number };
    let trials: SqlRow[];
    try {
      await checkOptunaSchema(db);
      study = pickStudy(db.location, await listRdbStudies(db), opts.study);
      trials = await db.all('SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE study_id = ? ORDER BY number', [study.id]);
    } catch (e) {
      if (!isDatabaseDamage(e)) throw e;
      throw new SourceDamage(db.location, `cannot read the Optuna storage (${(e as Error).message})`);
    }
    const runs: RawRun[] = [];
    for (const t of trials) {
      const id = Number(t.trial_id);
      try {
        const params = await db.all('SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ? ORDER BY param_id', [id]);
        const values = await db.all('SELECT objective, value, value_type FROM trial_values WHERE trial_id = ? ORDER BY objective', [id]);
        const inter = await db.all('SELECT step, intermediate_value, intermediate_value_type FROM trial_intermediate_values WHERE trial_id = ? ORDER BY step', [id]);
        const user = await db.all('SELECT key, value_json FROM trial_user_attributes WHERE trial_id = ?', [id]);
        const system = await db.all('SELECT key, value_json FROM trial_system_attributes WHERE trial_id = ?', [id]);
        const vals: (number | null)[] = [];
        for (const v of values) vals[Number(v.objective)] = storedValue(v.value, v.value_type);
        runs.push(
          toRun(`${db.location}#${study.name}/${String(t.number)}`, study, {
            number: Number(t.number),
            state: STATE_BY_NAME[String(t.state)] ?? 'failed',
            params: params.map((p) => ({ name: String(p.param_name), internal: Number(p.param_value), distribution: String(p.distribution_json), from: 'trial_params' })),
            values: values.length ? vals : null,
            intermediate: inter.map((r) => [Number(r.step), storedValue(r.intermediate_value, r.intermediate_value_type)]),
            userAttrs: attrMap(user),
            systemAttrs: attrMap(system),
            datetimeStart: isoDate(t.datetime_start),
            datetimeComplete: isoDate(t.datetime_complete),
            from: { values: 'trial_values', userAttrs: 'trial_user_attributes' },
          }),
        );
      } catch (e) {
        if (e instanceof UserError) throw e;
        warnings.push({ file: db.location, message: `trial ${String(t.number)} (trial_id ${id}) left out: ${(e as Error).message}` });
      }
    }
    return { runs, warnings, study };
  } finally {
    await db.close();
  }
}

// ------------------------------------------------------------------ JournalStorage

/** Python's json.dumps writes NaN/Infinity/-Infinity bare; JSON.parse does not take them. */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
    const marked = text.replace(/([:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '$1"\u0000$2"');
    return JSON.parse(marked, (_k, v: unknown) => (typeof v === 'string' && v.startsWith('\u0000') ? Number(v.slice(1)) : v));
  }
}

interface JournalTrial extends TrialData {
  studyId: number;
  line: number;
}
interface JournalStudy {
  id: number;
  info: OptunaStudyInfo;
  userAttrs: Record<string, unknown>;
  trialIds: number[];
}

/** A JournalStorage log: every line a JSON object with an op_code (0 CREATE_STUDY … 9 SET_TRIAL_SYSTEM_ATTR). */
export function isJournalFile(path: string): boolean {
  try {
    const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 4096);
    const first = head.split('\n', 1)[0]?.trim() ?? '';
    return /^\{.*"op_code"\s*:\s*\d/.test(first);
  } catch {
    return false;
  }
}

const FINISHED = new Set<RunState>(['complete', 'pruned', 'failed']);

export function replayJournal(path: string): { studies: JournalStudy[]; trials: JournalTrial[]; warnings: ImportWarning[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const warnings: ImportWarning[] = [];
  const studies = new Map<number, JournalStudy>();
  const trials: JournalTrial[] = [];
  let nextStudyId = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let log: Record<string, unknown>;
    try {
      log = parsePythonJson(raw) as Record<string, unknown>;
      if (typeof log !== 'object' || log === null || typeof log.op_code !== 'number') throw new Error('no op_code');
    } catch (e) {
      warnings.push({ file: path, line, message: `not a journal operation (${(e as Error).message}); line skipped` });
      return;
    }
    const trial = (): JournalTrial | null => {
      const t = trials[Number(log.trial_id)];
      return t && !FINISHED.has(t.state) ? t : null;
    };
    const one = (o: unknown): [string, unknown] => Object.entries(o as Record<string, unknown>)[0] ?? ['', null];
    try {
      switch (log.op_code) {
        case 0: {
          const name = String(log.study_name);
          if ([...studies.values()].some((s) => s.info.name === name)) break;
          const id = nextStudyId++;
          studies.set(id, { id, info: { name, directions: (log.directions as number[]).map((d) => DIRECTION_BY_CODE[d] ?? String(d)), metricNames: null, trials: {} }, userAttrs: {}, trialIds: [] });
          break;
        }
        case 1:
          studies.delete(Number(log.study_id));
          break;
        case 2: {
          const s = studies.get(Number(log.study_id));
          if (s) Object.assign(s.userAttrs, log.user_attr);
          break;
        }
        case 3: {
          const s = studies.get(Number(log.study_id));
          const [k, v] = one(log.system_attr);
          if (s && k === 'study:metric_names') s.info.metricNames = v as string[];
          break;
        }
        case 4: {
          const s = studies.get(Number(log.study_id));
          if (!s) break;
          const dists = (log.distributions ?? {}) as Record<string, string>;
          const params = (log.params ?? {}) as Record<string, number>;
          const values = (log.values as (number | null)[] | null | undefined) ?? (log.value !== undefined && log.value !== null ? [log.value as number] : null);
          const t: JournalTrial = {
            studyId: s.id,
            line,
            number: s.trialIds.length,
            state: STATE_BY_CODE[Number(log.state ?? 0)] ?? 'running',
            params: Object.entries(params).map(([name, internal]) => ({ name, internal, distribution: dists[name], from: `journal line ${line}` })),
            values,
            intermediate: Object.entries((log.intermediate_values ?? {}) as Record<string, number | null>).map(([k, v]) => [Number(k), v]),
            userAttrs: { ...((log.user_attrs ?? {}) as Record<string, unknown>) },
            systemAttrs: { ...((log.system_attrs ?? {}) as Record<string, unknown>) },
            datetimeStart: (log.datetime_start as string | null) ?? null,
            datetimeComplete: (log.datetime_complete as string | null | undefined) ?? null,
            from: { values: `journal line ${line} values`, userAttrs: 'journal user_attr' },
          };
          s.trialIds.push(trials.length);
          trials.push(t);
          break;
        }
        case 5: {
          const t = trial();
          if (!t) break;
          const name = String(log.param_name);
          t.params = t.params.filter((p) => p.name !== name);
          t.params.push({ name, internal: Number(log.param_value_internal), distribution: String(log.distribution), from: `journal line ${line}` });
          break;
        }
        case 6: {
          const t = trial();
          if (!t) break;
          const state = STATE_BY_CODE[Number(log.state)] ?? 'failed';
          if (state === 'running' && log.datetime_start) t.datetimeStart = String(log.datetime_start);
          if (FINISHED.has(state) && log.datetime_complete) t.datetimeComplete = String(log.datetime_complete);
          t.state = state;
          if (log.values !== null && log.values !== undefined) {
            t.values = log.values as (number | null)[];
            t.from.values = `journal line ${line} values`;
          }
          break;
        }
        case 7: {
          const t = trial();
          if (!t) break;
          t.intermediate = t.intermediate.filter(([s]) => s !== Number(log.step));
          t.intermediate.push([Number(log.step), (log.intermediate_value as number | null) ?? null]);
          break;
        }
        case 8: {
          const t = trial();
          if (t) Object.assign(t.userAttrs, log.user_attr);
          break;
        }
        case 9: {
          const t = trial();
          if (t) Object.assign(t.systemAttrs, log.system_attr);
          break;
        }
        default:
          warnings.push({ file: path, line, message: `unknown op_code ${String(log.op_code)}; line skipped` });
      }
    } catch (e) {
      warnings.push({ file: path, line, message: `cannot apply the operation (${(e as Error).message}); line skipped` });
    }
  });
  for (const s of studies.values()) {
    const counts: Record<string, number> = {};
    for (const id of s.trialIds) counts[trials[id].state] = (counts[trials[id].state] ?? 0) + 1;
    s.info.trials = counts;
  }
  return { studies: [...studies.values()], trials, warnings };
}

function readJournal(path: string, opts: OptunaReadOptions): OptunaRead {
  const j = replayJournal(path);
  const s = pickStudy(path, j.studies.map((x) => ({ ...x.info, id: x.id })), opts.study);
  const study = j.studies.find((x) => x.id === s.id)!;
  const runs: RawRun[] = [];
  const warnings = [...j.warnings];
  for (const id of study.trialIds) {
    const t = j.trials[id];
    try {
      runs.push(toRun(`${path}#${study.info.name}/${t.number}`, study.info, t));
    } catch (e) {
      warnings.push({ file: path, line: t.line, message: `trial ${t.number} left out: ${(e as Error).message}` });
    }
  }
  return { runs, warnings, study: study.info };
}

/** Reads one study of an Optuna storage: a database URL / SQLite file, or a JournalStorage log file. */
export async function readOptuna(location: string, opts: OptunaReadOptions = {}): Promise<OptunaRead> {
  if (!/^\w+(\+\w+)?:\/\//.test(location) && isJournalFile(location)) return readJournal(location, opts);
  return readRdb(location, opts);
}
