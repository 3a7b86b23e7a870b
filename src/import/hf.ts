/**
 * Hugging Face Trainer output folders, searched recursively: README.md (the Trainer's card, through src/cards),
 * all_results.json / eval_results.json / train_results.json (Trainer.save_metrics), trainer_state.json (TrainerState:
 * log_history evaluations per epoch/step, trial_params of hyperparameter_search runs, num_train_epochs,
 * train_batch_size), config.json (model type, labels), checkpoint-N/trainer_state.json (per-checkpoint metrics;
 * the only state of a hyperparameter_search trial folder run-N/), and training_args.json when a tool wrote one.
 * training_args.bin is a pickle and is never loaded.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseCardFile } from '../cards/index.js';
import { UserError } from '../util/index.js';
import { asNumber, readJsonFile } from './files.js';
import { trainerMetricName } from './names.js';
import type { HistoryPoint, ImportWarning, ParamValue, RawRun, RunState, Sourced } from './types.js';

const RUN_FILES = ['trainer_state.json', 'all_results.json', 'eval_results.json', 'train_results.json', 'training_args.json'];
export const TRAINING_ARGS_BIN_NOTE =
  'training_args.bin is a pickle (torch.save of TrainingArguments) and is never loaded: the arguments come from README.md, trainer_state.json (trial_params) and training_args.json';


interface TrainerState {
  log_history?: Record<string, unknown>[];
  trial_params?: Record<string, ParamValue> | null;
  trial_name?: string | null;
  num_train_epochs?: number;
  train_batch_size?: number | null;
  global_step?: number;
  max_steps?: number;
  best_metric?: number | null;
  best_model_checkpoint?: string | null;
  is_hyper_param_search?: boolean;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function checkpointsOf(dir: string): { name: string; step: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ name: n, m: /^checkpoint-(\d+)$/.exec(n) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null && existsSync(join(dir, x.name, 'trainer_state.json')))
    .map((x) => ({ name: x.name, step: Number(x.m[1]) }))
    .sort((a, b) => a.step - b.step);
}

/** A folder is a run when it holds run files, a Trainer card beside config.json, or checkpoints. */
function isRunDir(dir: string): boolean {
  if (RUN_FILES.some((f) => existsSync(join(dir, f)))) return true;
  if (existsSync(join(dir, 'README.md')) && existsSync(join(dir, 'config.json'))) return true;
  return checkpointsOf(dir).length > 0;
}

/** Run folders under `root` (root itself included), depth-first in name order; checkpoint-* folders belong to their run. */
export function findRunDirs(root: string, maxDepth = 8): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (isRunDir(dir)) out.push(dir);
    if (depth >= maxDepth) return;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (/^checkpoint-\d+$/.test(n) || n.startsWith('.') || n === 'node_modules') continue;
      const p = join(dir, n);
      if (isDir(p)) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** Eval entries of log_history → history points (eval_ prefix kept: the mapper drops it). */
function evalHistory(log: Record<string, unknown>[]): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (const e of log) {
    const keys = Object.keys(e).filter((k) => k.startsWith('eval_') && trainerMetricName(k) === k);
    if (keys.length === 0) continue;
    const values: Record<string, number | null> = {};
    for (const k of keys) {
      const v = asNumber(e[k]);
      if (v !== undefined) values[k] = v;
    }
    out.push({ step: Number(e.step ?? out.length), epoch: asNumber(e.epoch) ?? null, values });
  }
  return out;
}

function put<T>(into: Record<string, Sourced<T>>, key: string, value: T, from: string): void {
  if (!(key in into)) into[key] = { value, from };
}

function addMetrics(into: Record<string, Sourced<number | null>>, obj: Record<string, unknown>, from: string): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = trainerMetricName(k);
    if (key === null) continue;
    const n = asNumber(v);
    if (n !== undefined) put(into, key, n, from);
  }
}

export interface HfRead {
  runs: RawRun[];
  warnings: ImportWarning[];
  /** whether a training_args.bin was seen (the note is printed once) */
  sawTrainingArgsBin: boolean;
}

function readRun(dir: string, root: string, warnings: ImportWarning[]): { run: RawRun | null; bin: boolean } {
  const params: Record<string, Sourced<ParamValue>> = {};
  const metrics: Record<string, Sourced<number | null>> = {};
  const attrs: Record<string, unknown> = {};
  const notes: string[] = [];
  const rel = relative(root, dir) || basename(dir);
  let bin = existsSync(join(dir, 'training_args.bin'));
  let complete = false;
  let anyRead = false;
  const json = <T>(name: string): T | null => {
    const p = join(dir, name);
    if (!existsSync(p)) return null;
    const r = readJsonFile<T>(p);
    if (!r.ok) {
      warnings.push(r.warning);
      return null;
    }
    if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
      warnings.push({ file: p, message: 'not a JSON object; file skipped' });
      return null;
    }
    anyRead = true;
    return r.value;
  };

  // the final state, else the last checkpoint's (a hyperparameter_search trial folder holds only checkpoints)
  const checkpoints = checkpointsOf(dir);
  let state = json<TrainerState>('trainer_state.json');
  let stateFrom = 'trainer_state.json';
  const perCheckpoint: Record<string, unknown>[] = [];
  for (const c of checkpoints) {
    const s = json<TrainerState>(join(c.name, 'trainer_state.json'));
    if (existsSync(join(dir, c.name, 'training_args.bin'))) bin = true;
    if (!s) continue;
    const last = evalHistory(s.log_history ?? []).at(-1);
    perCheckpoint.push({ checkpoint: c.name, global_step: s.global_step ?? c.step, ...(last ? { metrics: last.values, epoch: last.epoch } : {}) });
    if (!existsSync(join(dir, 'trainer_state.json'))) {
      state = s;
      stateFrom = `${c.name}/trainer_state.json`;
    }
  }
  if (perCheckpoint.length) attrs.checkpoints = perCheckpoint;

  // hyperparameters, most specific first: the searched trial_params, a training_args.json, the card, the state
  for (const [k, v] of Object.entries(state?.trial_params ?? {})) put(params, k, v, `${stateFrom} trial_params`);
  if (state?.trial_name) attrs.trial_name = state.trial_name;
  const args = json<Record<string, unknown>>('training_args.json');
  const ARG_KEYS = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs', 'weight_decay', 'warmup_ratio', 'warmup_steps', 'gradient_accumulation_steps', 'lr_scheduler_type', 'max_steps', 'seed', 'data_seed', 'optim', 'max_grad_norm', 'label_smoothing_factor'];
  if (args) for (const k of ARG_KEYS) if (args[k] !== undefined && args[k] !== null && !(k === 'max_steps' && args[k] === -1)) put(params, k, args[k] as ParamValue, 'training_args.json');

  // metrics: the results files first (full precision), then the card (its results block rounds), then trainer_state
  const eval_ = json<Record<string, unknown>>('eval_results.json');
  const all = json<Record<string, unknown>>('all_results.json');
  const train = json<Record<string, unknown>>('train_results.json');
  if (eval_) addMetrics(metrics, eval_, 'eval_results.json');
  if (all) addMetrics(metrics, all, 'all_results.json');
  if (train) addMetrics(metrics, train, 'train_results.json');
  complete = !!(eval_ || all);
  const cardPath = join(dir, 'README.md');
  if (existsSync(cardPath)) {
    const card = parseCardFile(cardPath);
    anyRead = true;
    for (const w of card.warnings) warnings.push({ file: cardPath, message: w });
    const v = card.values;
    const fromCard = (f: keyof typeof card.provenance): string => `README.md ${card.provenance[f] ?? 'text'}`;
    const CARD_PARAMS: [keyof typeof v, string][] = [
      ['learning_rate', 'learning_rate'], ['train_batch_size', 'per_device_train_batch_size'], ['eval_batch_size', 'per_device_eval_batch_size'],
      ['num_epochs', 'num_train_epochs'], ['seed', 'seed'], ['lr_scheduler_type', 'lr_scheduler_type'], ['warmup_steps', 'warmup_steps'],
      ['warmup_ratio', 'warmup_ratio'], ['gradient_accumulation_steps', 'gradient_accumulation_steps'],
    ];
    for (const [field, hf] of CARD_PARAMS) if (v[field] !== undefined) put(params, hf, v[field] as ParamValue, fromCard(field));
    attrs.card = { model_id: v.model_id ?? null, model_name: v.model_name ?? null, base_model: v.base_model ?? null, dataset: v.dataset ?? null, task: v.task ?? null, optimizer: v.optimizer ?? null };
    complete = complete || Object.keys(card.evalMetrics).length > 0;
    for (const field of ['eval_accuracy', 'eval_f1', 'eval_loss', 'eval_precision', 'eval_recall'] as const)
      if (v[field] !== undefined) put(metrics, field, v[field] as number, fromCard(field));
    for (const [k, x] of Object.entries(card.evalMetrics)) put(metrics, `eval_${k}`, x, 'README.md');
  }

  let history: HistoryPoint[] = [];
  if (state) {
    if (typeof state.num_train_epochs === 'number') put(params, 'num_train_epochs', state.num_train_epochs, stateFrom);
    if (typeof state.train_batch_size === 'number') put(params, 'per_device_train_batch_size', state.train_batch_size, stateFrom);
    const log = Array.isArray(state.log_history) ? state.log_history : [];
    history = evalHistory(log);
    // no results file: the last evaluation and the train summary of log_history are the run's metrics
    const last = history.at(-1);
    if (last) for (const [k, x] of Object.entries(last.values)) put(metrics, k, x, `${stateFrom} log_history step ${last.step}`);
    const summary = log.find((e) => 'train_runtime' in e || 'train_loss' in e);
    if (summary) addMetrics(metrics, summary, `${stateFrom} log_history`);
    Object.assign(attrs, { global_step: state.global_step ?? null, max_steps: state.max_steps ?? null, best_metric: state.best_metric ?? null, best_model_checkpoint: state.best_model_checkpoint ?? null });
    if (typeof state.global_step === 'number' && typeof state.max_steps === 'number' && state.max_steps > 0) {
      if (state.global_step >= state.max_steps) complete = true;
      else if (!complete) notes.push(`training stopped at step ${state.global_step} of ${state.max_steps} (${stateFrom})`);
    }
  }
  const config = json<Record<string, unknown>>('config.json');
  if (config) {
    const id2label = config.id2label as Record<string, string> | undefined;
    attrs.model = {
      model_type: config.model_type ?? null,
      architectures: config.architectures ?? null,
      name_or_path: config._name_or_path ?? null,
      num_labels: id2label ? Object.keys(id2label).length : null,
      labels: id2label ? Object.values(id2label) : null,
      problem_type: config.problem_type ?? null,
    };
  }
  if (!anyRead) return { run: null, bin };
  const runState: RunState = complete ? 'complete' : 'running';
  return {
    run: { kind: 'hf', source: dir, runId: rel, group: basename(root), state: runState, params, metrics, history, attrs, notes },
    bin,
  };
}

export function readHf(dirs: string[]): HfRead {
  const runs: RawRun[] = [];
  const warnings: ImportWarning[] = [];
  let saw = false;
  for (const root of dirs) {
    if (!existsSync(root)) throw new UserError(`${root}: no such folder`);
    if (!isDir(root)) throw new UserError(`${root}: not a folder (hf sources are Trainer output folders)`);
    const found = findRunDirs(root);
    if (found.length === 0) throw new UserError(`${root}: no Trainer output found (trainer_state.json, all_results.json, eval_results.json, checkpoint-N/, or README.md with config.json)`);
    for (const dir of found) {
      const before = warnings.length;
      const { run, bin } = readRun(dir, root, warnings);
      saw ||= bin;
      if (run) runs.push(run);
      else if (warnings.length > before) warnings.push({ file: dir, message: 'run left out: none of its files could be read' });
    }
  }
  return { runs, warnings, sawTrainingArgsBin: saw };
}

/** Whether a folder holds Trainer output (itself or below). */
export function isHfFolder(dir: string): boolean {
  return findRunDirs(dir, 3).length > 0;
}
