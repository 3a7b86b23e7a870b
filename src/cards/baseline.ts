/**
 * The baseline for relative-frame analysis, read from the baseline model's own card (model-index results,
 * else its evaluation block): from a folder of cards (offline), else through src/hub (cache / HF_HUB_OFFLINE honoured).
 */
import { existsSync } from 'node:fs';
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
 * Reads the baseline model's metrics from its card. `cardsDir` is searched first (file names `owner__name.md`,
 * `owner_name_README.md`, `owner/name/README.md`; the pre-2024 id without owner also matches); then the Hub.
 */
export async function baselineFromCard(id: string, opts: { cardsDir?: string; hub?: HubOptions } = {}): Promise<CardBaseline> {
  if (!isHubId(id)) throw new UserError(`--baseline-card ${JSON.stringify(id)} is not a Hugging Face Hub model id (owner/name)`);
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
  return { modelId: id, source: card.source, metrics, provenance, card };
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
