/**
 * The baseline for relative-frame analysis, read from the baseline model's own card (model-index results,
 * else its evaluation block): from a folder of cards (offline), else through src/hub (cache / HF_HUB_OFFLINE honoured).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFile, isHubId, type HubOptions } from '../hub/index.js';
import { UserError } from '../util/index.js';
import { baseModelAliases } from './harvest.js';
import { listCardFiles, parseCardFile, type CardRecord } from './ingest.js';
import { modelIdFromFileName } from './parse.js';
import type { Provenance } from './types.js';

export interface CardBaseline {
  modelId: string;
  /** File path or Hub URL of the card read. */
  source: string;
  /** Card metrics by canonical name: accuracy, f1, loss, precision, recall, plus any other metric the card reports. */
  metrics: Record<string, number>;
  /** Where each of accuracy/f1/loss/precision/recall came from in the card. */
  provenance: Record<string, Provenance>;
  card: CardRecord;
}

function findInDir(dir: string, ids: string[]): string | null {
  for (const id of ids) {
    const [owner, name] = id.includes('/') ? id.split('/') : ['', id];
    const candidates = owner
      ? [`${owner}__${name}.md`, `${owner}_${name}_README.md`, join(owner, name, 'README.md')]
      : [`${name}.md`, `${name}_README.md`];
    for (const c of candidates) if (existsSync(join(dir, c))) return join(dir, c);
  }
  for (const f of listCardFiles(dir)) {
    const id = modelIdFromFileName(f);
    if (id && ids.includes(id)) return f;
  }
  return null;
}

/**
 * Reads the baseline model's card: a card file (README.md / owner__name.md) given by path, else by model id —
 * `cardsDir` is searched first (file names `owner__name.md`, `owner_name_README.md`, `owner/name/README.md`; the
 * pre-2024 id without owner also matches), then the Hub.
 */
export async function readBaselineCard(id: string, opts: { cardsDir?: string; hub?: HubOptions } = {}): Promise<{ modelId: string; card: CardRecord }> {
  if (existsSync(id) && statSync(id).isFile()) {
    const card = parseCardFile(id);
    const fatal = card.warnings.find((w) => /^could not read card/.test(w));
    if (fatal) throw new UserError(`--baseline-card ${id}: ${fatal}`);
    return { modelId: card.values.model_id ?? modelIdFromFileName(id) ?? id, card };
  }
  if (!isHubId(id)) throw new UserError(`--baseline-card ${JSON.stringify(id)} is neither a card file nor a Hugging Face Hub model id (owner/name)`);
  const ids = baseModelAliases(id);
  let card: CardRecord | null = null;
  if (opts.cardsDir) {
    const f = findInDir(opts.cardsDir, ids);
    if (f) card = parseCardFile(f, { modelId: id });
  }
  if (!card) {
    const errors: string[] = [];
    for (const candidate of ids) {
      try {
        const path = await downloadFile(candidate, 'README.md', opts.hub ?? {});
        const endpoint = (opts.hub?.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
        card = parseCardFile(path, { modelId: candidate, source: `${endpoint}/${candidate}` });
        break;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (!card) {
      throw new UserError(
        `baseline card for ${id} not found${opts.cardsDir ? ` in ${opts.cardsDir} or` : ''} on the Hub/cache (--cards-dir DIR reads it from a folder of cards): ${errors.join('; ')}`,
      );
    }
  }
  return { modelId: id, card };
}

/** Reads the baseline model's metrics from its card (a card file, or a model id: see readBaselineCard). */
export async function baselineFromCard(id: string, opts: { cardsDir?: string; hub?: HubOptions } = {}): Promise<CardBaseline> {
  const { modelId, card } = await readBaselineCard(id, opts);
  const metrics: Record<string, number> = { ...card.evalMetrics };
  const provenance: Record<string, Provenance> = {};
  for (const k of ['accuracy', 'f1', 'loss', 'precision', 'recall'] as const) {
    const field = `eval_${k}` as const;
    const v = card.values[field];
    if (v !== undefined) {
      metrics[k] = v;
      provenance[k] = card.provenance[field] ?? 'text';
    }
  }
  if (Object.keys(provenance).length === 0) {
    throw new UserError(`baseline card ${card.source} reports no evaluation metrics (no model-index results, no evaluation block)`);
  }
  return { modelId, source: card.source, metrics, provenance, card };
}

/** Card fields → the hyperparameter column names an analysis may use for them (HF TrainingArguments names first). */
const CONFIG_NAMES: Array<[keyof CardRecord['values'], string[]]> = [
  ['learning_rate', ['learning_rate', 'lr']],
  ['train_batch_size', ['per_device_train_batch_size', 'train_batch_size', 'batch_size', 'bs']],
  ['num_epochs', ['num_train_epochs', 'num_epochs', 'epochs', 'ep']],
  ['gradient_accumulation_steps', ['gradient_accumulation_steps']],
  ['effective_train_batch_size', ['effective_train_batch_size']],
  ['total_train_batch_size', ['total_train_batch_size']],
  ['warmup_steps', ['warmup_steps']],
  ['warmup_ratio', ['warmup_ratio']],
];

/**
 * The configuration a card says its model was trained with, for the given predictor columns
 * (learning_rate ← the card's learning rate, per_device_train_batch_size ← its train_batch_size, num_train_epochs ←
 * its num_epochs, …). `missing` lists the predictors the card has no value for; `used` says where each came from.
 */
export function configFromCard(card: CardRecord, predictors: string[]): { config: Record<string, number>; missing: string[]; used: string[] } {
  const config: Record<string, number> = {};
  const used: string[] = [];
  for (const p of predictors) {
    const hit = CONFIG_NAMES.find(([, names]) => names.includes(p));
    const v = hit ? card.values[hit[0]] : undefined;
    if (hit && typeof v === 'number' && Number.isFinite(v)) {
      config[p] = v;
      used.push(`${p} = ${v} (card ${String(hit[0])}, from ${card.provenance[hit[0]] ?? 'card'})`);
    }
  }
  return { config, missing: predictors.filter((p) => config[p] === undefined), used };
}

/** Canonical metric name of an analysed column: eval_accuracy → accuracy, test_f1 → f1, validation_loss → loss. */
export function metricOfColumn(column: string): string {
  const k = column.toLowerCase().replace(/^(eval|evaluation|validation|val|test)_/, '');
  return k === 'f1_score' ? 'f1' : k;
}

/**
 * Baseline values for the given response columns (eval_accuracy ↔ accuracy, …). Columns the card has no
 * metric for are listed in `missing`.
 */
export function baselineForColumns(b: CardBaseline, columns: string[]): { values: Record<string, number>; missing: string[]; used: string[] } {
  const values: Record<string, number> = {};
  const missing: string[] = [];
  const used: string[] = [];
  for (const c of columns) {
    const m = metricOfColumn(c);
    const v = b.metrics[m];
    if (v === undefined) missing.push(c);
    else {
      values[c] = v;
      used.push(`${c} = ${v} (card metric ${m}, from ${b.provenance[m] ?? 'card'})`);
    }
  }
  return { values, missing, used };
}
