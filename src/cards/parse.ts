/**
 * Hugging Face model-card parser: YAML front matter (base_model, datasets, model-index results) and the
 * Trainer-generated markdown ("It achieves the following results on the evaluation set:", "### Training
 * hyperparameters", "### Training results" table, "### Framework versions"), plus hand-written bullet cards and
 * rendered text whose newlines were collapsed. No library parses the Trainer's markdown conventions, so this is
 * hand-written, line based, and never throws on a bad card: problems become per-card warnings.
 */
import { parseDocument } from 'yaml';
import type { CardField, CardValues, EpochRow, ParsedCard, Provenance } from './types.js';

export interface ParseCardOptions {
  /** Cards larger than this are cut to this many bytes (with a warning). Default 2 MiB. */
  maxBytes?: number;
  /** Front matter larger than this is not parsed as YAML (warning). Default 512 KiB. */
  maxFrontMatterBytes?: number;
  /** YAML alias expansion limit (stops "billion laughs" bombs). Default 100. */
  maxAliasCount?: number;
  /** The file name or Hub id, used only to name the card in warnings. */
  source?: string;
  /** The Hub listing's pipeline_tag for this model (derived by the Hub from its config), a task hint after the card's own. */
  hubPipelineTag?: string;
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
const DEFAULT_MAX_FM_BYTES = 512 * 1024;

// ---------------------------------------------------------------- numbers and keys

const NUMBER_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?$/;

/** Parses "5e-05", "5e-5", "0.00005", "3.0", "73.44%" (→ 0.7344, percent flagged), "1,000". Null if not a number. */
export function parseCardNumber(raw: unknown): { value: number; percent: boolean } | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? { value: raw, percent: false } : null;
  if (typeof raw !== 'string') return null;
  let s = cleanValue(raw);
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (!NUMBER_RE.test(s)) return null;
  if (s.endsWith('%')) {
    const v = Number(s.slice(0, -1));
    // toPrecision avoids 73.44/100 = 0.7343999999999999
    return Number.isFinite(v) ? { value: Number((v / 100).toPrecision(12)), percent: true } : null;
  }
  const v = Number(s);
  return Number.isFinite(v) ? { value: v, percent: false } : null;
}

/** Strips markdown decoration around a value: **bold**, `code`, trailing punctuation. */
function cleanValue(raw: string): string {
  return raw
    .replace(/\*\*|__/g, '')
    .replace(/`/g, '')
    .trim()
    .replace(/[.,;]+$/, '')
    .trim();
}

/** "Train Batch Size" / "**Learning Rate:**" / "eval_loss" → snake_case key. */
export function snakeKey(raw: string): string {
  return raw
    .replace(/\*\*|__|`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** HF SchedulerType values; a card's "Linear" becomes "linear". */
const SCHEDULERS = [
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'constant',
  'constant_with_warmup',
  'inverse_sqrt',
  'reduce_lr_on_plateau',
  'cosine_with_min_lr',
  'cosine_warmup_with_min_lr',
  'warmup_stable_decay',
];
export function normalizeScheduler(raw: string): string {
  const s = cleanValue(raw);
  const k = snakeKey(s);
  return SCHEDULERS.includes(k) ? k : s;
}

type NumField = Exclude<CardField, 'model_id' | 'model_name' | 'base_model' | 'task' | 'dataset' | 'optimizer' | 'lr_scheduler_type'>;

/** Hyperparameter keys (snake_cased) → field. Trainer names first, then hand-written variants. */
const HYPER_ALIASES: Record<string, NumField | 'optimizer' | 'lr_scheduler_type' | 'warmup'> = {
  learning_rate: 'learning_rate',
  lr: 'learning_rate',
  train_batch_size: 'train_batch_size',
  per_device_train_batch_size: 'train_batch_size',
  batch_size: 'train_batch_size',
  training_batch_size: 'train_batch_size',
  eval_batch_size: 'eval_batch_size',
  per_device_eval_batch_size: 'eval_batch_size',
  evaluation_batch_size: 'eval_batch_size',
  gradient_accumulation_steps: 'gradient_accumulation_steps',
  total_train_batch_size: 'total_train_batch_size',
  num_epochs: 'num_epochs',
  num_train_epochs: 'num_epochs',
  epochs: 'num_epochs',
  number_of_epochs: 'num_epochs',
  training_epochs: 'num_epochs',
  seed: 'seed',
  random_seed: 'seed',
  optimizer: 'optimizer',
  lr_scheduler_type: 'lr_scheduler_type',
  lr_scheduler: 'lr_scheduler_type',
  learning_rate_scheduler: 'lr_scheduler_type',
  scheduler: 'lr_scheduler_type',
  lr_scheduler_warmup_steps: 'warmup_steps',
  warmup_steps: 'warmup_steps',
  lr_scheduler_warmup_ratio: 'warmup_ratio',
  warmup_ratio: 'warmup_ratio',
  warmup: 'warmup',
};

/** Metric keys (snake_cased, eval_ prefix removed) → canonical metric name. */
function canonicalMetric(key: string): string {
  let k = snakeKey(key).replace(/^(eval|evaluation|validation|val|test|overall)_/, '');
  if (k === 'f1_score' || k === 'f_1' || k === 'f1score') k = 'f1';
  if (k === 'validation_loss' || k === 'eval_loss') k = 'loss';
  if (k === 'acc') k = 'accuracy';
  return k;
}

const EVAL_FIELD: Record<string, CardField> = {
  accuracy: 'eval_accuracy',
  f1: 'eval_f1',
  loss: 'eval_loss',
  precision: 'eval_precision',
  recall: 'eval_recall',
};

// ---------------------------------------------------------------- card builder

class Builder {
  readonly values: CardValues = {};
  readonly provenance: Partial<Record<CardField, Provenance>> = {};
  readonly notes: string[] = [];
  readonly warnings: string[] = [];
  readonly evalMetrics: Record<string, number> = {};
  taskBasis?: string;

  has(f: CardField): boolean {
    return this.values[f] !== undefined;
  }
  /** Sets a field unless a higher-priority source already did (callers go from best to worst source). */
  set<F extends CardField>(f: F, v: CardValues[F] | undefined, p: Provenance): boolean {
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || this.has(f)) return false;
    this.values[f] = v;
    this.provenance[f] = p;
    return true;
  }
  setNumber(f: NumField, raw: unknown, p: Provenance, what: string): void {
    if (this.has(f)) return;
    const n = parseCardNumber(raw);
    if (!n) {
      if (raw !== undefined && raw !== null && String(raw).trim() !== '') {
        this.warnings.push(`${what}: ${JSON.stringify(String(raw).slice(0, 80))} is not a number; ${f} left empty`);
      }
      return;
    }
    if (n.percent) this.notes.push(`${f}: ${cleanValue(String(raw))} read as the fraction ${n.value}`);
    this.set(f, n.value, p);
  }
}

// ---------------------------------------------------------------- text preparation

function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 64 * 1024);
  if (n === 0) return false;
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return control / n > 0.05;
}

/** A card stored as rendered text with every newline collapsed to a space: put line breaks back before
 * headings, list items and table rows so the line-based parser can read it. */
function restoreLines(body: string): string {
  return body
    .replace(/\s+(#{1,6}\s)/g, '\n$1')
    .replace(/\s+(It achieves the following results)/g, '\n$1')
    .replace(/\s+(The following hyperparameters were used)/g, '\n$1')
    .replace(/\s+-\s+(?=(?:\*\*)?[A-Za-z_][\w .()/-]{0,60}?(?:\*\*)?\s*[:=]\s)/g, '\n- ')
    .replace(/\s+-\s+(?=(?:Transformers|Pytorch|PyTorch|Datasets|Tokenizers|TensorFlow|Tensorflow|JAX|Flax)\b)/g, '\n- ')
    .replace(/\s+(\|[^|]*\|)/g, '\n$1')
    .replace(/\n(\|[^\n]*)\n(?=\|)/g, '\n$1\n');
}

/** Collapsed YAML front matter ("--- license: x tags: - a - b model-index: ..."): one key or item a line. */
function restoreYamlLines(fm: string): string {
  return fm.replace(/\s+-\s+/g, '\n- ').replace(/\s+([A-Za-z_][\w-]*):(?=\s|$)/g, '\n$1:');
}

/** Rendered (copied from the web page) cards have the Trainer's headings as plain lines: make them headings. */
const TRAINER_HEADINGS =
  /^(Model description|Intended uses (?:&|and) limitations|Training and evaluation data|Training procedure|Training hyperparameters|Training results|Framework versions|Evaluation results|Evaluation|Results)\s*$/i;
function promoteHeadings(body: string): string {
  let fence = false;
  return body
    .split('\n')
    .map((l) => {
      if (/^\s*(```|~~~)/.test(l)) fence = !fence;
      return !fence && TRAINER_HEADINGS.test(l.trim()) ? `### ${l.trim()}` : l;
    })
    .join('\n');
}

/** A rendered Training results table: tab- (or 2+ space-) separated header and rows, "No log" cells. */
function readPlainTable(lines: string[]): { header: string[]; rows: string[][] } | null {
  const split = (l: string): string[] => l.trim().split(/\t+|\s{2,}/).map((c) => c.trim());
  const hi = lines.findIndex((l) => /epoch/i.test(l) && /loss/i.test(l) && /\t|\s{2,}/.test(l.trim()));
  if (hi < 0) return null;
  const header = split(lines[hi]);
  const rows: string[][] = [];
  for (let i = hi + 1; i < lines.length; i++) {
    const l = lines[i].replace(/No log/g, 'No_log');
    if (/^\s*$/.test(l)) {
      if (rows.length > 0) break;
      continue;
    }
    let cells = split(l);
    if (cells.length !== header.length) cells = l.trim().split(/\s+/);
    if (cells.length !== header.length || !cells.every((c) => c === 'No_log' || parseCardNumber(c) !== null)) break;
    rows.push(cells.map((c) => (c === 'No_log' ? 'No log' : c)));
  }
  return rows.length > 0 ? { header, rows } : null;
}

// ---------------------------------------------------------------- front matter

interface FrontMatter {
  data: Record<string, unknown> | null;
}

function splitFrontMatter(text: string, b: Builder, collapsed: boolean): { fm: string | null; body: string } {
  if (collapsed) {
    const m = /^---\s+([\s\S]*?)\s+---(?:\s+|$)/.exec(text);
    if (m) return { fm: restoreYamlLines(m[1]), body: text.slice(m[0].length) };
    if (/^---\s/.test(text)) {
      b.warnings.push('front matter is not closed (no second ---); YAML ignored');
      return { fm: null, body: text.replace(/^---\s+/, '') };
    }
    return { fm: null, body: text };
  }
  if (!/^---[ \t]*\n/.test(text)) return { fm: null, body: text };
  const rest = text.replace(/^---[ \t]*\n/, '');
  const end = /^(?:---|\.\.\.)[ \t]*$/m.exec(rest);
  if (!end) {
    b.warnings.push('front matter is not closed (no second ---); YAML ignored');
    return { fm: null, body: rest };
  }
  return { fm: rest.slice(0, end.index), body: rest.slice(end.index + end[0].length) };
}

function parseFrontMatter(fm: string, b: Builder, opts: Required<Pick<ParseCardOptions, 'maxFrontMatterBytes' | 'maxAliasCount'>>): FrontMatter {
  if (Buffer.byteLength(fm, 'utf8') > opts.maxFrontMatterBytes) {
    b.warnings.push(`front matter is ${Buffer.byteLength(fm, 'utf8')} bytes, over the ${opts.maxFrontMatterBytes}-byte limit; YAML ignored`);
    return { data: null };
  }
  try {
    const doc = parseDocument(fm, { prettyErrors: true, uniqueKeys: false, strict: false });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const pos = e.linePos?.[0];
      b.warnings.push(`front matter YAML error${pos ? ` at line ${pos.line + 1}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
      return { data: null };
    }
    const js: unknown = doc.toJS({ maxAliasCount: opts.maxAliasCount });
    if (js === null || js === undefined) return { data: null };
    if (typeof js !== 'object' || Array.isArray(js)) {
      b.warnings.push('front matter is not a YAML mapping; ignored');
      return { data: null };
    }
    return { data: js as Record<string, unknown> };
  } catch (e) {
    b.warnings.push(`front matter YAML rejected: ${(e as Error).message.split('\n')[0]}`);
    return { data: null };
  }
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (Array.isArray(v)) return asString(v[0]);
  return undefined;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

interface ModelIndexInfo {
  name?: string;
  taskType?: string;
  datasetName?: string;
  metrics: Array<{ key: string; value: unknown; averaged: boolean }>;
}

/** Reads model-index: the result on a validation/eval split if there is one, else the first with metrics. */
function readModelIndex(data: Record<string, unknown>): ModelIndexInfo {
  const info: ModelIndexInfo = { metrics: [] };
  const mi = data['model-index'];
  const first = Array.isArray(mi) ? asRecord(mi[0]) : asRecord(mi);
  if (!first) return info;
  info.name = asString(first.name);
  const results = Array.isArray(first.results) ? first.results.map(asRecord).filter((r): r is Record<string, unknown> => !!r) : [];
  for (const r of results) {
    const tt = asString(asRecord(r.task)?.type);
    if (tt && !info.taskType) info.taskType = tt;
  }
  const withMetrics = results.filter((r) => Array.isArray(r.metrics) && r.metrics.length > 0);
  const split = (r: Record<string, unknown>): string => String(asRecord(r.dataset)?.split ?? '').toLowerCase();
  const chosen = withMetrics.find((r) => /valid|dev|eval/.test(split(r))) ?? withMetrics[0];
  if (!chosen) return info;
  const ds = asRecord(chosen.dataset);
  info.datasetName = asString(ds?.name) ?? asString(ds?.type);
  for (const m of chosen.metrics as unknown[]) {
    const mr = asRecord(m);
    if (!mr) continue;
    const type = asString(mr.type) ?? asString(mr.name);
    if (!type) continue;
    const name = String(mr.name ?? '');
    const avg = /\b(macro|micro|weighted|samples)\b/i.exec(name);
    const key = canonicalMetric(type) + (avg ? `_${avg[1].toLowerCase()}` : '');
    info.metrics.push({ key, value: mr.value, averaged: !!avg });
  }
  return info;
}

// ---------------------------------------------------------------- markdown body

interface Section {
  heading: string;
  level: number;
  lines: string[];
}

function sections(body: string): Section[] {
  const out: Section[] = [{ heading: '', level: 0, lines: [] }];
  let fence = false;
  for (const line of body.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const h = fence ? null : /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) out.push({ heading: h[2].replace(/\*\*|__/g, '').trim(), level: h[1].length, lines: [] });
    else out[out.length - 1].lines.push(line);
  }
  return out;
}

/** "- key: value", "- **Key:** `value`", "- key = value", "key: value" → [key, value]. */
function keyValue(line: string): [string, string] | null {
  const m = /^\s*(?:[-*+]\s+)?(\*\*[^*]+?\*\*|[A-Za-z_][\w .()/-]*?)\s*(?::|=)\s*(?:\*\*)?\s*(.*?)\s*$/.exec(line.replace(/\*\*([^*]+?):\*\*/, '**$1**:'));
  if (!m) return null;
  const key = m[1].replace(/\*\*/g, '').trim();
  const value = m[2].replace(/\s+$/, '');
  if (key === '' || value === '') return null;
  return [key, value];
}

const RESULTS_MARKER = /achieves the following results on the evaluation set|following results on the evaluation set/i;

/** The Trainer results block: the bullet lines after "It achieves the following results on the evaluation set:". */
function readResultsBlock(body: string): Array<[string, string]> | null {
  const lines = body.split('\n');
  const i = lines.findIndex((l) => RESULTS_MARKER.test(l));
  if (i < 0) return null;
  const out: Array<[string, string]> = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j];
    if (/^\s*$/.test(l)) {
      if (out.length > 0) break;
      continue;
    }
    if (/^\s*#/.test(l)) break;
    // "- Loc: {'precision': …}" (seqeval per-entity dicts) and "- Accuracy: 0.91 (best)" stay in the block
    const kv = /^\s*[-*+]?\s*([A-Za-z_][\w .()/-]*?)\s*:\s*(\S+)(?:\s.*)?$/.exec(l);
    if (!kv) break;
    out.push([kv[1], kv[2]]);
  }
  return out;
}

/** A markdown pipe table: header cells and rows of cells. */
function readTable(lines: string[]): { header: string[]; rows: string[][] } | null {
  const cells = (l: string): string[] => l.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
  let start = -1;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (/^\s*\|.*\|/.test(lines[i]) && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(lines[i + 1])) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  const header = cells(lines[start]);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(cells(lines[i]));
  return { header, rows };
}

function tableColumn(h: string): string {
  const k = snakeKey(h);
  if (k === 'f1_score') return 'f1';
  if (/^overall_(precision|recall|f1|accuracy)$/.test(k)) return k.slice(8);
  if (k === 'val_loss' || k === 'eval_loss') return 'validation_loss';
  return k;
}

/** "[text](https://huggingface.co/owner/name)" → owner/name; "[text](other)" → text; bare id → id. */
function linkTarget(s: string): string {
  const m = /^\[([^\]]*)\]\(\s*([^)\s]+)[^)]*\)$/.exec(s.trim());
  if (m) {
    const hub = /^https?:\/\/(?:www\.)?huggingface\.co\/(?!datasets\/)([^?#]+?)\/?$/.exec(m[2]);
    return hub ? decodeURIComponent(hub[1]) : m[1].trim();
  }
  return s.trim().replace(/^`|`$/g, '');
}

function datasetName(s: string): string {
  const m = /^\[([^\]]*)\]\(([^)]*)\)$/.exec(s.trim());
  const text = (m ? m[1] : s).replace(/\*\*|`/g, '').trim().replace(/\s+dataset$/i, '').trim();
  return text;
}

const NO_DATASET = /^(none|null|unknown|an unknown|the none)$/i;

/** "This model is a fine-tuned version of [base](url) on the X dataset." */
function readFineTunedSentence(body: string): { base?: string; dataset?: string; datasetNone?: boolean } {
  const flat = body.replace(/\s+/g, ' ');
  const m = /fine-?tun(?:ed|e)[ -](?:version|checkpoint|model) of\s+(?:the\s+)?(\[[^\]]*\]\([^)]*\)|`[^`]+`|[\w./-]+)((?:\[[^\]]*\]\([^)]*\)|[^.[])*?)(?:\.(?:\s|$)|$)/i.exec(flat);
  if (!m) return {};
  const out: { base?: string; dataset?: string; datasetNone?: boolean } = { base: linkTarget(m[1]) };
  const tail = m[2];
  const d = /^\s*on\s+(?:the\s+)?(\[[^\]]*\]\([^)]*\)|.+?)(?:\s+dataset)?\s*$/i.exec(tail);
  if (d) {
    const name = datasetName(d[1]);
    if (/^an?\s+unknown$|^unknown$|^none$|^null$/i.test(name) || NO_DATASET.test(name)) out.datasetNone = true;
    else if (name) out.dataset = name;
  }
  return out;
}

// ---------------------------------------------------------------- task

const TASK_TAGS: Record<string, string> = {
  'text-classification': 'text-classification',
  'sentiment-analysis': 'text-classification',
  'sentiment-classification': 'text-classification',
  'token-classification': 'token-classification',
  ner: 'token-classification',
  'named-entity-recognition': 'token-classification',
  'pos-tagging': 'token-classification',
  'question-answering': 'question-answering',
  summarization: 'summarization',
  translation: 'translation',
  'fill-mask': 'fill-mask',
  'text-generation': 'text-generation',
  'zero-shot-classification': 'zero-shot-classification',
  'multiple-choice': 'multiple-choice',
};

function taskFromName(name: string | undefined): string | undefined {
  if (!name) return undefined;
  // camelCase counts as separate words: "ctxSentence" → ctx, sentence
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/);
  if (words.some((w) => w === 'token' || w === 'ner' || w === 'pos' || w === 'tagger' || w === 'tagging')) return 'token-classification';
  if (words.some((w) => ['sentence', 'sentiment', 'sst2', 'sst', 'emotion', 'classifier', 'classification', 'imdb', 'polarity'].includes(w)))
    return 'text-classification';
  return undefined;
}

/** seqeval reports precision, recall, f1, accuracy in that order; sequence-classification cards list accuracy/f1. */
function taskFromMetrics(order: string[]): string | undefined {
  const ks = order.filter((k) => k !== 'loss');
  if (ks.some((k) => /^rouge/.test(k))) return 'summarization';
  if (ks.some((k) => k === 'bleu' || k === 'sacrebleu')) return 'translation';
  if (ks.some((k) => k === 'wer' || k === 'cer')) return 'automatic-speech-recognition';
  if (ks.some((k) => k === 'exact_match' || k === 'exact')) return 'question-answering';
  const p = ks.indexOf('precision'), r = ks.indexOf('recall'), f = ks.indexOf('f1'), a = ks.indexOf('accuracy');
  if (p >= 0 && r > p && f > r && a > f) return 'token-classification';
  if (a >= 0 || f >= 0 || ks.includes('matthews_correlation')) return 'text-classification';
  return undefined;
}

// ---------------------------------------------------------------- main entry

/** A card from which nothing but what `init` says was extracted (no metrics, hyperparameters or results). */
export function emptyCard(init: Pick<ParsedCard, 'values' | 'provenance' | 'textKind' | 'notes' | 'warnings'>): ParsedCard {
  const { values, provenance, textKind, notes, warnings } = init;
  return { values, provenance, evalMetrics: {}, hyperparameters: {}, trainingResults: [], frameworkVersions: {}, textKind, notes, warnings };
}

/** Parses one model card (README.md text or bytes). Never throws; problems are in `warnings`. */
export function parseCard(input: string | Uint8Array, opts: ParseCardOptions = {}): ParsedCard {
  const b = new Builder();
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const empty = (kind: ParsedCard['textKind']): ParsedCard => emptyCard({ values: b.values, provenance: b.provenance, textKind: kind, notes: b.notes, warnings: b.warnings });
  let bytes = typeof input === 'string' ? null : input;
  let text: string;
  if (bytes) {
    if (looksBinary(bytes)) {
      b.warnings.push('not a text file (binary content); nothing extracted');
      return empty('binary');
    }
    if (bytes.length > maxBytes) {
      b.warnings.push(`card is ${bytes.length} bytes, over the ${maxBytes}-byte limit; only the first ${maxBytes} bytes were parsed`);
      bytes = bytes.subarray(0, maxBytes);
    }
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  } else {
    text = input as string;
    if (text.length > maxBytes) {
      b.warnings.push(`card is ${text.length} characters, over the ${maxBytes} limit; only the first ${maxBytes} were parsed`);
      text = text.slice(0, maxBytes);
    }
    if (text.includes('\u0000')) {
      b.warnings.push('not a text file (binary content); nothing extracted');
      return empty('binary');
    }
  }
  const replacement = (text.match(/\uFFFD/g) ?? []).length;
  if (replacement > 0 && replacement / Math.max(1, text.length) > 0.01) {
    b.warnings.push('not a text file (invalid UTF-8); nothing extracted');
    return empty('binary');
  }
  text = text.replace(/^\uFEFF/, '').replace(/[\u200B\u200C\u200D\u2060\uFEFF]/g, '').replace(/\r\n?/g, '\n');
  if (text.trim() === '') {
    b.warnings.push('empty card');
    return empty('empty');
  }
  const newlines = (text.match(/\n/g) ?? []).length;
  const collapsed = newlines <= 2 && text.length > 200;
  if (collapsed) b.notes.push('rendered text with newlines collapsed; line breaks restored before headings and list items');

  // ---- front matter
  const { fm, body: rawBody } = splitFrontMatter(collapsed ? text.trim() : text, b, collapsed);
  const body = promoteHeadings(collapsed ? restoreLines(rawBody) : rawBody);
  const data = fm !== null ? parseFrontMatter(fm, b, { maxFrontMatterBytes: opts.maxFrontMatterBytes ?? DEFAULT_MAX_FM_BYTES, maxAliasCount: opts.maxAliasCount ?? 100 }).data : null;
  const mi: ModelIndexInfo = data ? readModelIndex(data) : { metrics: [] };

  const secs = sections(body);
  const h1 = secs.find((s) => s.level === 1)?.heading;
  b.set('model_name', mi.name ?? (h1 ? h1.replace(/\*\*|`/g, '').trim() : undefined), mi.name ? 'front_matter' : 'text');

  // ---- base model
  const sentence = readFineTunedSentence(body);
  b.set('base_model', data ? asString(data.base_model) : undefined, 'front_matter');
  b.set('base_model', sentence.base, 'text');

  // ---- dataset: the "on the X dataset" sentence, then front matter datasets, model-index, prose
  b.set('dataset', sentence.dataset, 'text');
  b.set('dataset', data ? asString(data.datasets) : undefined, 'front_matter');
  b.set('dataset', mi.datasetName, 'front_matter');
  if (!b.has('dataset') && !sentence.datasetNone) {
    const prose = /\b(?:on|using)\s+the\s+\[?([A-Za-z][\w./-]*)\]?(?:\([^)]*\))?(?:\s+[\w-]+){0,3}?\s+(?:dataset|corpus)\b/i.exec(body.replace(/\s+/g, ' '));
    if (prose && !/^(none|unknown|same|following|this|above|whole|full|entire|training|test|evaluation)$/i.test(prose[1])) b.set('dataset', prose[1], 'text');
  }
  if (sentence.datasetNone && !b.has('dataset')) b.notes.push('card names no dataset ("None"/"unknown"); dataset left empty');

  // ---- hyperparameters: the Training hyperparameters section first, then bullets anywhere else
  const hyper: Record<string, string> = {};
  const isHyperSec = (s: Section): boolean => /hyper-?param|training (?:args|arguments|configuration|setup|details)/i.test(s.heading);
  const ordered = [...secs.filter(isHyperSec), ...secs.filter((s) => !isHyperSec(s))];
  const resultsLines = new Set<string>();
  for (const s of ordered) {
    const inHyper = isHyperSec(s);
    let inFence = false;
    for (const line of s.lines) {
      if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence || RESULTS_MARKER.test(line) || /^\s*\|/.test(line)) continue;
      // outside the hyperparameter section only list items count (prose "batch size: 16" in a sentence does not)
      if (!inHyper && !/^\s*[-*+]\s/.test(line)) continue;
      const kv = keyValue(line);
      if (!kv) continue;
      const key = snakeKey(kv[0]);
      if (inHyper && hyper[key] === undefined) hyper[key] = cleanValue(kv[1]);
      const field = HYPER_ALIASES[key];
      if (!field) continue;
      const val = kv[1];
      if (field === 'optimizer') b.set('optimizer', cleanValue(val), 'text');
      else if (field === 'lr_scheduler_type') b.set('lr_scheduler_type', normalizeScheduler(val), 'text');
      else if (field === 'warmup') {
        const n = parseCardNumber(val);
        if (n && !n.percent && n.value > 0 && n.value < 1) b.setNumber('warmup_ratio', val, 'text', key);
        else b.setNumber('warmup_steps', val, 'text', key);
      } else b.setNumber(field, val, 'text', key);
      void resultsLines;
    }
  }
  // Rendered text without list markers: "learning_rate: 5e-05" / "seed: 42" on a line of its own …
  for (const [key, field] of Object.entries(HYPER_ALIASES)) {
    if (field === 'warmup' || (field !== 'optimizer' && b.has(field))) continue;
    const m = new RegExp(`^\\s*(?:[-*+]\\s+)?${key}\\s*[:=]\\s*(.+?)\\s*$`, 'mi').exec(body);
    if (!m) continue;
    if (field === 'optimizer') b.set('optimizer', cleanValue(m[1]), 'text');
    else if (field === 'lr_scheduler_type') b.set('lr_scheduler_type', normalizeScheduler(m[1]), 'text');
    else b.setNumber(field, m[1].split(/\s/)[0], 'text', key);
  }
  // Keras cards: the learning rate sits inside the optimizer dict ('learning_rate': 2e-05 or 'initial_learning_rate': 2e-05).
  const keras = /'(?:initial_)?learning_rate':\s*([-+]?[\d.]+(?:e[-+]?\d+)?)/i.exec(body);
  if (keras) b.setNumber('learning_rate', keras[1], 'text', 'optimizer learning_rate');
  // … or anywhere in collapsed text (keys with an underscore only, so prose does not match).
  for (const [key, field] of Object.entries(HYPER_ALIASES)) {
    if (field === 'optimizer' || field === 'warmup' || !key.includes('_')) continue;
    const re = new RegExp(`(?:^|[\\s(])${key}\\s*[:=]\\s*([^\\s,;)]+)`, 'm');
    const m = re.exec(body);
    if (!m) continue;
    if (field === 'lr_scheduler_type') b.set('lr_scheduler_type', normalizeScheduler(m[1]), 'text');
    else if (!b.has(field)) b.setNumber(field, m[1], 'text', key);
  }

  // ---- evaluation metrics: results line, then model-index, then hand-written result bullets, then the table's last row
  const block = readResultsBlock(body) ?? [];
  const blockOrder: string[] = [];
  for (const [k, v] of block) {
    const key = canonicalMetric(k);
    blockOrder.push(key);
    const n = parseCardNumber(v);
    if (!n) continue;
    if (b.evalMetrics[key] === undefined) b.evalMetrics[key] = n.value;
    const f = EVAL_FIELD[key];
    if (f) b.setNumber(f as NumField, v, 'results_line', `results line ${k}`);
  }
  const miPlain = mi.metrics.filter((m) => !m.averaged);
  for (const m of [...miPlain, ...mi.metrics.filter((x) => x.averaged)]) {
    const n = parseCardNumber(m.value);
    if (!n) continue;
    if (b.evalMetrics[m.key] === undefined) b.evalMetrics[m.key] = n.value;
    const f = !m.averaged ? EVAL_FIELD[m.key] : undefined;
    if (f) b.setNumber(f as NumField, m.value, 'front_matter', `model-index ${m.key}`);
  }
  for (const s of secs) {
    if (!/eval|result|metric|perform|score/i.test(s.heading) || /training results/i.test(s.heading)) continue;
    for (const line of s.lines) {
      if (!/^\s*[-*+]\s/.test(line)) continue;
      const kv = keyValue(line);
      if (!kv) continue;
      const key = snakeKey(kv[0]);
      const metric = /(?:^|_)(accuracy|f1|precision|recall|loss)$/.exec(key)?.[1];
      if (!metric || /train/.test(key)) continue;
      const f = EVAL_FIELD[metric];
      if (f && !b.has(f)) {
        b.setNumber(f as NumField, kv[1], 'text', kv[0]);
        if (b.has(f) && key !== metric) b.notes.push(`${f} read from "${kv[0]}"`);
      }
    }
  }

  // "| Metric | Value |" tables in an evaluation section
  for (const s of secs) {
    if (!/eval|result|metric|perform|score/i.test(s.heading) || /training results/i.test(s.heading)) continue;
    const t = readTable(s.lines);
    if (!t || t.header.length !== 2) continue;
    for (const [k, v] of t.rows) {
      const metric = canonicalMetric(k ?? '');
      const f = EVAL_FIELD[metric];
      if (f) b.setNumber(f as NumField, v, 'table', `${s.heading} table ${k}`);
      const n = parseCardNumber(v ?? '');
      if (n && b.evalMetrics[metric] === undefined) b.evalMetrics[metric] = n.value;
    }
  }

  // Bounded metrics above 1 are usually percentages written without "%": flag them, keep the value as written.
  for (const f of ['eval_accuracy', 'eval_f1', 'eval_precision', 'eval_recall'] as const) {
    const v = b.values[f];
    if (v !== undefined && v > 1 && v <= 100) b.warnings.push(`${f} = ${v} is above 1: probably a percentage without "%"; left as written`);
  }

  // ---- training results table
  const trainingResults: EpochRow[] = [];
  const trSec = secs.find((s) => /training results/i.test(s.heading));
  const table = trSec ? (readTable(trSec.lines) ?? readPlainTable(trSec.lines)) : null;
  if (table) {
    const cols = table.header.map(tableColumn);
    for (const cells of table.rows) {
      const row: EpochRow = {};
      cols.forEach((c, i) => {
        const n = parseCardNumber(cells[i] ?? '');
        row[c || `column_${i + 1}`] = n ? n.value : null;
      });
      trainingResults.push(row);
    }
    const last = trainingResults[trainingResults.length - 1];
    if (last) {
      const fromTable: Array<[string, NumField]> = [
        ['validation_loss', 'eval_loss'],
        ['accuracy', 'eval_accuracy'],
        ['f1', 'eval_f1'],
        ['precision', 'eval_precision'],
        ['recall', 'eval_recall'],
      ];
      for (const [col, f] of fromTable) {
        if (!b.has(f) && last[col] !== undefined && last[col] !== null) {
          b.set(f, last[col] as number, 'table');
          b.notes.push(`${f} taken from the last row of the Training results table (the card has no evaluation block)`);
        }
      }
    }
  } else if (trSec && trSec.lines.some((l) => /^\s*\|/.test(l))) {
    b.warnings.push('Training results table could not be read (no header separator row)');
  }

  // ---- framework versions
  const frameworkVersions: Record<string, string> = {};
  const fwSec = secs.find((s) => /framework versions/i.test(s.heading));
  for (const line of fwSec?.lines ?? []) {
    const m = /^\s*[-*+]\s+(?:\*\*)?([A-Za-z][\w .-]*?)(?::\*\*|\*\*:|:)?\s+`?v?([\w.+-]+)`?\s*$/.exec(line);
    if (m) frameworkVersions[m[1].trim()] = m[2];
  }

  // ---- derived: effective batch size
  if (b.has('total_train_batch_size')) {
    b.set('effective_train_batch_size', b.values.total_train_batch_size, b.provenance.total_train_batch_size ?? 'text');
    if ((b.values.gradient_accumulation_steps ?? 1) > 1) b.notes.push('effective_train_batch_size = total_train_batch_size (gradient accumulation)');
  } else if (b.has('train_batch_size')) {
    const acc = b.values.gradient_accumulation_steps ?? 1;
    b.set('effective_train_batch_size', (b.values.train_batch_size as number) * acc, b.provenance.train_batch_size ?? 'text');
    if (acc > 1) b.notes.push(`effective_train_batch_size = train_batch_size × gradient_accumulation_steps (${acc})`);
  }

  // ---- task
  const tags = data && Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === 'string') : [];
  const pipelineTag = data ? asString(data.pipeline_tag) : undefined;
  const tagTask = tags.map((t) => TASK_TAGS[t.toLowerCase()]).find((t) => t !== undefined);
  const metricOrder = blockOrder.length > 0 ? blockOrder : table ? table.header.map(tableColumn).filter((c) => !['training_loss', 'epoch', 'step'].includes(c)).map((c) => (c === 'validation_loss' ? 'loss' : c)) : mi.metrics.map((m) => m.key);
  const candidates: Array<[string | undefined, Provenance, string]> = [
    [mi.taskType, 'front_matter', 'model-index task.type'],
    [pipelineTag, 'front_matter', 'pipeline_tag'],
    [opts.hubPipelineTag, 'hub', 'Hub pipeline_tag'],
    [tagTask, 'front_matter', 'tags'],
    [taskFromName(b.values.model_name), 'text', 'model name'],
    [taskFromMetrics(metricOrder), b.provenance.eval_accuracy ?? b.provenance.eval_f1 ?? 'text', 'metric set'],
  ];
  for (const [t, p, basis] of candidates) {
    if (t && b.set('task', t, p)) {
      b.taskBasis = basis;
      break;
    }
  }

  return {
    values: b.values,
    provenance: b.provenance,
    taskBasis: b.taskBasis,
    evalMetrics: b.evalMetrics,
    hyperparameters: hyper,
    trainingResults,
    frameworkVersions,
    textKind: collapsed ? 'rendered_text' : 'markdown',
    notes: b.notes,
    warnings: b.warnings,
  };
}

/**
 * Model id from a card's file name: `owner__name.md` (double underscore), `owner_name_README.md` (the public
 * scrape's convention; when the card states its own name the owner is what precedes it, else the first segment),
 * or `owner/name/README.md` paths. Null when the name gives no owner.
 */
export function modelIdFromFileName(path: string, cardName?: string): string | null {
  const parts = path.split(/[\\/]/);
  const file = parts[parts.length - 1];
  if (/^readme\.md$/i.test(file) && parts.length >= 3) return `${parts[parts.length - 3]}/${parts[parts.length - 2]}`;
  const stem = file.replace(/\.(md|markdown|txt)$/i, '');
  const dbl = /^([^_].*?)__(.+)$/.exec(stem);
  if (dbl) return `${dbl[1]}/${dbl[2]}`;
  const scrape = /^(.+)_README$/i.exec(stem);
  if (scrape) {
    const s = scrape[1];
    if (cardName && s.endsWith(`_${cardName}`) && s.length > cardName.length + 1) return `${s.slice(0, -cardName.length - 1)}/${cardName}`;
    const i = s.indexOf('_');
    return i > 0 ? `${s.slice(0, i)}/${s.slice(i + 1)}` : null;
  }
  return null;
}
