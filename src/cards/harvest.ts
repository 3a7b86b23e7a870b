/**
 * `cards harvest`: list the Hub models whose base_model is a given model, download each README.md through
 * src/hub (cached, retried, ids validated so cache paths cannot escape), parse it. A card that cannot be fetched
 * becomes a row with a warning; the harvest goes on.
 */
import { downloadFile, isHubId, listModels, type HubOptions } from '../hub/index.js';
import { UserError } from '../util/index.js';
import { parseCardFile, type CardRecord } from './ingest.js';
import { emptyCard, type ParseCardOptions } from './parse.js';

/** Models that moved under an organisation in 2024 keep working under their old bare names. */
const LEGACY_OWNERS: Array<[RegExp, string]> = [
  [/^distilbert-|^distilgpt2$|^distilroberta-/, 'distilbert'],
  [/^bert-/, 'google-bert'],
  [/^(roberta-|xlm-roberta-|xlm-)/, 'FacebookAI'],
  [/^gpt2(-|$)|^openai-gpt$/, 'openai-community'],
  [/^albert-/, 'albert'],
  [/^t5-/, 'google-t5'],
];

/** The base id plus its other spelling: "distilbert/x" ↔ "x" (the pre-2024 id). */
export function baseModelAliases(base: string): string[] {
  if (!isHubId(base)) throw new UserError(`--base ${JSON.stringify(base)} is not a Hugging Face Hub model id (owner/name)`);
  const out = [base];
  const slash = base.indexOf('/');
  if (slash > 0) out.push(base.slice(slash + 1));
  else {
    const owner = LEGACY_OWNERS.find(([re]) => re.test(base))?.[1];
    if (owner) out.push(`${owner}/${base}`);
  }
  return out;
}

/** Hub tag filters for "fine-tuned from base": `base_model:finetune:<id>` (current Hub tagging) and `base_model:<id>`. */
export function baseModelFilters(base: string): string[] {
  const ids = baseModelAliases(base);
  return [...ids.map((id) => `base_model:finetune:${id}`), ...ids.map((id) => `base_model:${id}`)];
}

export interface HarvestOptions extends ParseCardOptions {
  base: string;
  limit?: number;
  hub?: HubOptions;
  /** Called after each listed model's card is handled (progress bar). */
  onCard?: (done: number, total: number, r: CardRecord) => void;
}

export interface HarvestResult {
  records: CardRecord[];
  filters: Array<{ filter: string; listed: number }>;
  listed: number;
}

/** Lists, downloads and parses; rows keep the listing order (deduplicated across filters). */
export async function harvestCards(opts: HarvestOptions): Promise<HarvestResult> {
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new UserError(`--limit must be a positive integer (got ${opts.limit})`);
  }
  const hub = opts.hub ?? {};
  const endpoint = (hub.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const ids: string[] = [];
  const pipelineTags = new Map<string, string>();
  const seen = new Set<string>();
  const filters: HarvestResult['filters'] = [];
  for (const f of baseModelFilters(opts.base)) {
    const colon = f.indexOf(':');
    let listed = 0;
    for await (const m of listModels({ ...hub, filter: { [f.slice(0, colon)]: f.slice(colon + 1) }, limit: opts.limit })) {
      listed++;
      if (m.pipelineTag && !pipelineTags.has(m.id)) pipelineTags.set(m.id, m.pipelineTag);
      if (!seen.has(m.id)) {
        seen.add(m.id);
        ids.push(m.id);
      }
    }
    filters.push({ filter: f, listed });
  }
  const todo = opts.limit !== undefined ? ids.slice(0, opts.limit) : ids;
  // Cache the base model's own card too, so `analyze --baseline-card <base>` works offline afterwards.
  for (const id of baseModelAliases(opts.base)) {
    try {
      await downloadFile(id, 'README.md', hub);
      break;
    } catch {
      /* best effort: the base card is not needed for the harvest itself */
    }
  }
  const records: CardRecord[] = [];
  for (const id of todo) {
    const source = `${endpoint}/${id}`;
    let rec: CardRecord;
    if (!isHubId(id)) {
      rec = emptyRecord(id, source, `listed id ${JSON.stringify(id)} is not a valid Hub repo id; skipped`);
    } else {
      try {
        const path = await downloadFile(id, 'README.md', hub);
        rec = parseCardFile(path, { ...opts, modelId: id, source, hubPipelineTag: pipelineTags.get(id) });
      } catch (e) {
        rec = emptyRecord(id, source, `README.md not fetched: ${(e as Error).message}`);
      }
    }
    records.push(rec);
    opts.onCard?.(records.length, todo.length, rec);
  }
  return { records, filters, listed: ids.length };
}

function emptyRecord(id: string, source: string, warning: string): CardRecord {
  return { source, ...emptyCard({ values: { model_id: id }, provenance: { model_id: 'hub' }, textKind: 'empty', notes: [], warnings: [warning] }) };
}
