/**
 * `loadDataset`: resolves a dataset name to split files (local folder, ../shared/datasets/<name>, or Hub
 * parquet files through src/hub), reads them, validates rows, maps labels, splits one-file datasets and
 * subsamples with a seed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadFile, isHubId } from '../hub/index.js';
import { UserError, checkNotSpecialFile, isUserError } from '../util/index.js';
import { readRawTable, type RawTable, type RawValue } from './readers.js';
import { stratifiedHoldout, stratifiedKFold, subsample } from './splits.js';
import { examplesFingerprint, fileFingerprint } from './fingerprint.js';
import type { DatasetSpec, Example, LoadedDataset } from './types.js';

const EXTENSIONS = ['.tsv', '.csv', '.jsonl', '.json', '.parquet'];
const SPLIT_ALIASES: Record<string, string[]> = {
  train: ['train'],
  validation: ['validation', 'dev', 'valid', 'val'],
  test: ['test'],
};
const TEXT_COLUMNS = ['sentence', 'text', 'content', 'review', 'sentence1'];
const LABEL_COLUMNS = ['label', 'labels'];
/** Short names with a Hub home, used when no local copy exists. */
const HUB_ALIASES: Record<string, string> = { sst2: 'stanfordnlp/sst2', 'glue/sst2': 'stanfordnlp/sst2' };

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Local folders where `name` may live, in lookup order. */
function candidateDirs(name: string): string[] {
  const dirs: string[] = [];
  if (process.env.TUNESCOPE_DATA_DIR) dirs.push(join(process.env.TUNESCOPE_DATA_DIR, name));
  dirs.push(resolve('..', 'shared', 'datasets', name));
  dirs.push(resolve(PROJECT_ROOT, '..', 'shared', 'datasets', name));
  return [...new Set(dirs)]; // run from the project root, the last two are the same folder
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
/** A FIFO, device or socket given as the dataset is named as such, not looked for on the Hub or read (a FIFO blocks). */
const refuseSpecial = (p: string, given: string): void => checkNotSpecialFile(p, `dataset ${given}`);

/** Files in `dir` (and its data/ subfolder, the Hub parquet layout) that belong to `split`. */
function splitFiles(dir: string, split: string): string[] {
  const names = SPLIT_ALIASES[split] ?? [split];
  const out: string[] = [];
  for (const sub of [dir, join(dir, 'data')]) {
    if (!isDir(sub)) continue;
    const entries = readdirSync(sub).sort();
    for (const n of names) {
      for (const ext of EXTENSIONS) if (entries.includes(n + ext)) out.push(join(sub, n + ext));
      // HF parquet shards: train-00000-of-00001.parquet (also with a hash suffix)
      for (const e of entries) if (e.startsWith(`${n}-`) && e.endsWith('.parquet')) out.push(join(sub, e));
    }
    if (out.length > 0) return out;
  }
  return out;
}

/** A folder with exactly one data file and no split files: a one-file dataset (all.tsv). */
function singleFile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => EXTENSIONS.some((e) => f.endsWith(e)) && isFile(join(dir, f)));
  const all = files.find((f) => /^all\./.test(f));
  if (all) return join(dir, all);
  return files.length === 1 ? join(dir, files[0]!) : null;
}

interface Resolved {
  kind: 'splits' | 'single';
  train: string[];
  eval: string[];
  evalSplit: string;
  single?: string;
  source: string;
  notes: string[];
}

function resolveLocal(dir: string, spec: DatasetSpec): Resolved | null {
  const trainSplit = spec.trainSplit ?? 'train';
  const train = splitFiles(dir, trainSplit);
  if (train.length > 0) {
    const notes: string[] = [];
    let evalSplit = spec.evalSplit ?? 'validation';
    let ev = splitFiles(dir, evalSplit);
    if (ev.length === 0 && spec.evalSplit === undefined) {
      ev = splitFiles(dir, 'test');
      if (ev.length > 0) {
        notes.push(`no validation split in ${dir}; evaluating on the test split`);
        evalSplit = 'test';
      }
    }
    if (ev.length === 0 && spec.evalSplit !== undefined) throw new UserError(`no '${spec.evalSplit}' split file in ${dir}`);
    if (ev.length === 0) {
      // no evaluation split at all: hold out part of train
      return { kind: 'single', train: [], eval: [], evalSplit: 'holdout', single: train[0], source: dir, notes: [`${dir} has only a train split; holding out a stratified part of it`] };
    }
    return { kind: 'splits', train, eval: ev, evalSplit, source: dir, notes };
  }
  if (spec.trainSplit !== undefined) throw new UserError(`no '${spec.trainSplit}' split file in ${dir}`);
  const one = singleFile(dir);
  if (one) return { kind: 'single', train: [], eval: [], evalSplit: 'holdout', single: one, source: one, notes: [] };
  return null;
}

async function resolveHub(repo: string, spec: DatasetSpec): Promise<Resolved> {
  const opts = { ...(spec.hub ?? {}), repoType: 'dataset' as const, revision: spec.revision ?? spec.hub?.revision };
  const fetchSplit = async (split: string): Promise<string | null> => {
    const names = SPLIT_ALIASES[split] ?? [split];
    const errors: string[] = [];
    for (const n of names) {
      // the layouts `datasets` writes (data/<split>-00000-of-00001.parquet) and plain files at the root
      for (const path of [`data/${n}-00000-of-00001.parquet`, `${n}.parquet`, `${n}.jsonl`, `${n}.csv`, `${n}.tsv`]) {
        try {
          return await downloadFile(repo, path, opts);
        } catch (e) {
          if (!isUserError(e)) throw e;
          errors.push(e.message);
          if (!/not found/i.test(e.message)) throw e; // offline without cache, network failure, bad id
        }
      }
    }
    return null;
  };
  const train = await fetchSplit(spec.trainSplit ?? 'train');
  if (!train) throw new UserError(`no '${spec.trainSplit ?? 'train'}' split parquet/jsonl/csv/tsv file found in Hub dataset ${repo}`);
  let evalSplit = spec.evalSplit ?? 'validation';
  let ev = await fetchSplit(evalSplit);
  const notes: string[] = [];
  if (!ev && spec.evalSplit === undefined) {
    ev = await fetchSplit('test');
    evalSplit = 'test';
    if (ev) notes.push(`no validation split in ${repo}; evaluating on the test split`);
  }
  if (!ev) throw new UserError(`no '${evalSplit}' split file found in Hub dataset ${repo}`);
  return { kind: 'splits', train: [train], eval: [ev], evalSplit, source: `hf://datasets/${repo}`, notes };
}

async function resolveSpec(spec: DatasetSpec): Promise<Resolved> {
  if (!spec.name && !spec.dataDir) throw new UserError('dataset: a name, folder or file is required');
  if (spec.dataDir) {
    const dir = resolve(spec.dataDir);
    refuseSpecial(dir, spec.dataDir);
    if (isFile(dir)) return { kind: 'single', train: [], eval: [], evalSplit: 'holdout', single: dir, source: dir, notes: [] };
    if (!isDir(dir)) throw new UserError(`data dir not found: ${spec.dataDir}`);
    const r = resolveLocal(dir, spec);
    if (!r) throw new UserError(`no split files (train.tsv, validation.tsv, …) or single data file in ${dir}`);
    return r;
  }
  const name = spec.name;
  const asPath = resolve(name);
  refuseSpecial(asPath, name);
  if (isFile(asPath)) return { kind: 'single', train: [], eval: [], evalSplit: 'holdout', single: asPath, source: asPath, notes: [] };
  if (isDir(asPath) && (name.includes('/') || name.includes('\\') || name.startsWith('.'))) {
    const r = resolveLocal(asPath, spec);
    if (!r) throw new UserError(`no split files (train.tsv, validation.tsv, …) or single data file in ${asPath}`);
    return r;
  }
  if (!name.includes('/') || name.startsWith('.')) {
    for (const dir of candidateDirs(name)) {
      if (!isDir(dir)) continue;
      const r = resolveLocal(dir, spec);
      if (r) return r;
    }
  }
  const hubId = HUB_ALIASES[name] ?? name;
  if (isHubId(hubId) && (hubId.includes('/') || HUB_ALIASES[name])) return resolveHub(hubId, spec);
  throw new UserError(
    `dataset '${name}' not found: not a local file or folder, not in ${candidateDirs(name).join(' or ')}, and not a Hub dataset id (owner/name); pass --data-dir`,
  );
}

// ---------------------------------------------------------------------------------------------
// rows → examples

interface PendingRow {
  text: string;
  label: RawValue;
  where: string;
}

function pickColumn(table: RawTable, wanted: string | undefined, defaults: string[], what: string): string {
  if (wanted !== undefined) {
    if (!table.columns.includes(wanted)) {
      throw new UserError(`${table.file}: no ${what} column '${wanted}' (columns: ${table.columns.join(', ') || 'none'})`);
    }
    return wanted;
  }
  const found = defaults.find((c) => table.columns.includes(c));
  if (!found) {
    throw new UserError(
      `${table.file}: no ${what} column (looked for ${defaults.join(', ')}; columns: ${table.columns.join(', ') || 'none'}); pass the ${what} column name`,
    );
  }
  return found;
}

class BadRows {
  count = 0;
  constructor(private readonly skip: boolean) {}
  report(where: string, problem: string): void {
    if (!this.skip) throw new UserError(`${where}: ${problem} (use --skip-bad-rows to skip such rows)`);
    this.count++;
  }
}

function collectRows(table: RawTable, spec: DatasetSpec, bad: BadRows): PendingRow[] {
  const textCol = pickColumn(table, spec.textColumn, TEXT_COLUMNS, 'text');
  const labelCol = pickColumn(table, spec.labelColumn, LABEL_COLUMNS, 'label');
  const out: PendingRow[] = [];
  for (const row of table.rows) {
    const where = table.unit === 'line' ? `${table.file}:${row.line}` : `${table.file} row ${row.line}`;
    if (row.problem) {
      bad.report(where, row.problem);
      continue;
    }
    const text = row.values[textCol];
    if (text === undefined || text === null || String(text).trim() === '') {
      bad.report(where, `missing text in column '${textCol}'`);
      continue;
    }
    const label = row.values[labelCol];
    if (label === undefined || label === null || (typeof label === 'string' && label.trim() === '')) {
      bad.report(where, `missing label in column '${labelCol}'`);
      continue;
    }
    out.push({ text: String(text), label, where });
  }
  return out;
}

const INT_RE = /^[+-]?\d+$/;

/**
 * Maps raw labels to ids: the model's label2id for names it knows (also case-insensitively), integers as
 * themselves, and otherwise (no label2id) string labels sorted and numbered as `datasets`' class_encode_column does.
 */
function mapLabels(
  groups: PendingRow[][],
  label2id: Record<string, number> | undefined,
  bad: BadRows,
): { mapped: Example[][]; labelNames?: string[] } {
  const lower = new Map(Object.entries(label2id ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const names = new Set<string>();
  for (const g of groups) {
    for (const r of g) {
      const s = String(r.label).trim();
      if (typeof r.label === 'string' && !INT_RE.test(s) && !(label2id && (s in label2id || lower.has(s.toLowerCase())))) names.add(s);
    }
  }
  const useNames = names.size > 0 && !label2id;
  const nameList = useNames ? [...names].sort() : undefined;
  const nameIds = new Map(nameList?.map((n, i) => [n, i]));
  const mapped = groups.map((g) => {
    const out: Example[] = [];
    for (const r of g) {
      let id: number | undefined;
      const raw = r.label;
      if (typeof raw === 'number') id = raw;
      else if (typeof raw === 'bigint') id = Number(raw);
      else if (typeof raw === 'boolean') id = raw ? 1 : 0;
      else {
        const s = String(raw).trim();
        if (label2id && s in label2id) id = label2id[s];
        else if (label2id && lower.has(s.toLowerCase())) id = lower.get(s.toLowerCase());
        else if (INT_RE.test(s)) id = Number(s);
        else if (nameIds.has(s)) id = nameIds.get(s);
        else {
          bad.report(r.where, `unknown label '${s}' (model labels: ${Object.keys(label2id ?? {}).join(', ') || 'none'})`);
          continue;
        }
      }
      if (id === undefined || !Number.isInteger(id) || id < 0) {
        bad.report(r.where, `label must be a non-negative integer or a label name, got '${String(raw)}'`);
        continue;
      }
      out.push({ text: r.text, label: id });
    }
    return out;
  });
  return { mapped, labelNames: nameList };
}

async function readFiles(files: string[], spec: DatasetSpec, bad: BadRows, notes: string[]): Promise<PendingRow[]> {
  const rows: PendingRow[] = [];
  for (const f of files) {
    const raw = await readRawTable(f);
    notes.push(...(raw.notes ?? []));
    rows.push(...collectRows(raw, spec, bad));
  }
  return rows;
}

/** The seed that picks the evaluation subsample (max_eval_samples), or null when the whole split is evaluated. */
export function evalSubsampleSeed(spec: Pick<DatasetSpec, 'seed' | 'maxEvalSamples'>): number | null {
  return spec.maxEvalSamples === undefined ? null : ((spec.seed ?? 42) + 1) >>> 0;
}

/** Loads train and evaluation examples for `spec`; see DatasetSpec for the options. */
export async function loadDataset(spec: DatasetSpec, opts: { label2id?: Record<string, number> } = {}): Promise<LoadedDataset> {
  const seed = spec.seed ?? 42;
  // checked before any file is read; named as HF's run_glue arguments (and the study spec keys) are
  for (const [key, v] of [['max_train_samples', spec.maxTrainSamples], ['max_eval_samples', spec.maxEvalSamples]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UserError(`${key} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UserError(`the dataset's split seed (--split-seed, dataset.seed) must be an integer in [0, 2^32-1], got ${seed}`);
  }
  const r = await resolveSpec(spec);
  const bad = new BadRows(spec.skipBadRows ?? false);
  const notes = [...r.notes];
  let train: Example[];
  let ev: Example[];
  let labelNames: string[] | undefined;
  let source: string;
  if (r.kind === 'splits') {
    const tr = await readFiles(r.train, spec, bad, notes);
    const evRows = await readFiles(r.eval, spec, bad, notes);
    const m = mapLabels([tr, evRows], opts.label2id, bad);
    [train, ev] = m.mapped as [Example[], Example[]];
    labelNames = m.labelNames;
    source = `${r.source} (train: ${r.train.map((f) => basename(f)).join(', ')}; ${r.evalSplit}: ${r.eval.map((f) => basename(f)).join(', ')})`;
    if (train.length === 0) throw new UserError(`train split of ${r.source} is empty (${r.train.join(', ')})`);
    if (ev.length === 0) throw new UserError(`${r.evalSplit} split of ${r.source} is empty (${r.eval.join(', ')})`);
  } else {
    const rows = await readFiles([r.single!], spec, bad, notes);
    const m = mapLabels([rows], opts.label2id, bad);
    const all = m.mapped[0]!;
    labelNames = m.labelNames;
    if (all.length === 0) throw new UserError(`${r.single} holds no examples`);
    if (spec.kFold) {
      ({ train, eval: ev } = stratifiedKFold(all, spec.kFold.k, spec.kFold.fold, seed));
      notes.push(`stratified ${spec.kFold.k}-fold, evaluating on fold ${spec.kFold.fold} (seed ${seed})`);
      source = `${r.source} (fold ${spec.kFold.fold}/${spec.kFold.k})`;
    } else {
      const testSize = spec.testSize ?? 0.1;
      ({ train, eval: ev } = stratifiedHoldout(all, testSize, seed));
      notes.push(`stratified holdout of ${testSize} for evaluation (seed ${seed})`);
      source = `${r.source} (holdout ${testSize})`;
    }
    if (train.length === 0 || ev.length === 0) throw new UserError(`${r.single}: a split came out empty`);
  }
  const nTrain = train.length;
  const nEval = ev.length;
  // different streams so that changing one limit does not change the other subset
  train = subsample(train, spec.maxTrainSamples, seed);
  ev = subsample(ev, spec.maxEvalSamples, evalSubsampleSeed(spec) ?? 0);
  if (train.length < nTrain) notes.push(`train subsampled to ${train.length} of ${nTrain} (seed ${seed})`);
  if (ev.length < nEval) notes.push(`eval subsampled to ${ev.length} of ${nEval} (seed ${(seed + 1) >>> 0})`);
  let maxLabel = 0;
  for (const e of train) maxLabel = Math.max(maxLabel, e.label);
  for (const e of ev) maxLabel = Math.max(maxLabel, e.label);
  const numLabels = Math.max(maxLabel + 1, labelNames?.length ?? 0, 2);
  if (bad.count > 0) notes.push(`skipped ${bad.count} bad rows`);
  const files =
    r.kind === 'splits'
      ? [...r.train.map((f) => fileFingerprint('train', f)), ...r.eval.map((f) => fileFingerprint('eval', f))]
      : [fileFingerprint('all', r.single!)];
  const fingerprint = { files, train: examplesFingerprint(train), eval: examplesFingerprint(ev) };
  return { train, eval: ev, labelNames, source, skipped: bad.count, numLabels, notes, fingerprint };
}
