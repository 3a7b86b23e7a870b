/**
 * `cards ingest`: parse every *.md card in a folder into one row per card (CSV or JSON), with per-field
 * provenance columns, warnings, and the per-epoch Training results table (JSON column or a second CSV).
 */
import { readdirSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/index.js';
import { modelIdFromFileName, parseCard, type ParseCardOptions } from './parse.js';
import { CARD_FIELDS, NUMERIC_FIELDS, type ParsedCard } from './types.js';

/** A parsed card plus where it came from. */
export interface CardRecord extends ParsedCard {
  /** The card's file path or Hub URL. */
  source: string;
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;

/** Reads at most maxBytes + 1 bytes, so a 50 MB card is never loaded whole. */
function readCapped(path: string, maxBytes: number): Uint8Array {
  const size = statSync(path).size;
  if (size <= maxBytes) return readFileSync(path);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    const n = readSync(fd, buf, 0, maxBytes + 1, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Parses one card file; model_id comes from the file name when the card itself does not say. */
export function parseCardFile(path: string, opts: ParseCardOptions & { modelId?: string; source?: string } = {}): CardRecord {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let card: ParsedCard;
  try {
    const bytes = readCapped(path, maxBytes);
    card = parseCard(bytes, { ...opts, maxBytes });
    if (statSync(path).size > maxBytes && !card.warnings.some((w) => w.includes('-byte limit'))) {
      card.warnings.unshift(`card is ${statSync(path).size} bytes, over the ${maxBytes}-byte limit; only the first ${maxBytes} bytes were parsed`);
    }
  } catch (e) {
    card = parseCard('', opts);
    card.warnings.splice(0, card.warnings.length, `could not read card: ${(e as Error).message}`);
  }
  attachModelId(card, opts.modelId, path);
  return { source: opts.source ?? path, ...card };
}

function attachModelId(card: ParsedCard, given: string | undefined, path: string): void {
  if (given) {
    card.values = { model_id: given, ...card.values };
    card.provenance.model_id = 'hub';
    return;
  }
  // Keras cards (and some others) name the model "owner/name" in model-index: that is the card's own id.
  const own = card.values.model_name;
  if (own && /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(own)) {
    card.values = { model_id: own, ...card.values };
    card.provenance.model_id = card.provenance.model_name;
    return;
  }
  const fromName = modelIdFromFileName(path, card.values.model_name);
  if (fromName) {
    // keep model_id first in key order for readability of JSON output
    card.values = { model_id: fromName, ...card.values };
    card.provenance.model_id = 'file_name';
  } else if (card.values.model_name) {
    card.values = { model_id: card.values.model_name, ...card.values };
    card.provenance.model_id = card.provenance.model_name;
  }
}

/** All *.md cards in a folder (not recursive), sorted by name. */
export function listCardFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: not a folder of *.md model cards`);
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${dir}: cannot read folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return names.filter((n) => /\.md$/i.test(n)).sort().map((n) => join(dir, n));
}

export function ingestCards(dir: string, opts: ParseCardOptions & { onCard?: (r: CardRecord) => void } = {}): CardRecord[] {
  const files = listCardFiles(dir);
  if (files.length === 0) throw new UserError(`${dir}: no *.md model cards found`);
  return files.map((f) => {
    const r = parseCardFile(f, opts);
    opts.onCard?.(r);
    return r;
  });
}

// ---------------------------------------------------------------- output

/** Column order of the cards table: source, the fields, one <field>_source column per field, then JSON columns. */
export function cardColumns(): string[] {
  return [
    'source',
    ...CARD_FIELDS,
    'task_basis',
    ...CARD_FIELDS.map((f) => `${f}_source`),
    'text_kind',
    'eval_metrics',
    'hyperparameters',
    'framework_versions',
    'training_results',
    'notes',
    'warnings',
  ];
}

export type CardRow = Record<string, string | number | null>;

/** One flat row per card; numbers stay numbers, absent stays null (never 0). */
export function cardRow(r: CardRecord): CardRow {
  const row: CardRow = { source: r.source };
  for (const f of CARD_FIELDS) {
    const v = r.values[f];
    row[f] = v === undefined ? null : v;
  }
  row.task_basis = r.taskBasis ?? null;
  for (const f of CARD_FIELDS) row[`${f}_source`] = r.provenance[f] ?? null;
  row.text_kind = r.textKind;
  row.eval_metrics = Object.keys(r.evalMetrics).length ? JSON.stringify(r.evalMetrics) : null;
  row.hyperparameters = Object.keys(r.hyperparameters).length ? JSON.stringify(r.hyperparameters) : null;
  row.framework_versions = Object.keys(r.frameworkVersions).length ? JSON.stringify(r.frameworkVersions) : null;
  row.training_results = r.trainingResults.length ? JSON.stringify(r.trainingResults) : null;
  row.notes = r.notes.length ? r.notes.join('; ') : null;
  row.warnings = r.warnings.length ? r.warnings.join('; ') : null;
  return row;
}

/** Full-precision number formatting for CSV (no exponent surprises for the analysis reader: String(5e-5) = "0.00005"). */
function cell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return v;
}

export function cardsCsv(records: CardRecord[]): string {
  const cols = cardColumns();
  const rows = records.map(cardRow).map((r) => cols.map((c) => cell(r[c] ?? null)));
  return stringify([cols, ...rows]);
}

/** Per-epoch rows of every card's Training results table, keyed by model_id and source. */
export function epochsCsv(records: CardRecord[]): string {
  const cols = new Set<string>();
  for (const r of records) for (const row of r.trainingResults) for (const k of Object.keys(row)) cols.add(k);
  const header = ['model_id', 'source', ...cols];
  const rows: string[][] = [];
  for (const r of records)
    for (const row of r.trainingResults) rows.push([r.values.model_id ?? '', r.source, ...[...cols].map((c) => cell(row[c] ?? null))]);
  return stringify([header, ...rows]);
}

export function cardsJson(records: CardRecord[]): unknown[] {
  return records.map((r) => ({
    source: r.source,
    ...Object.fromEntries(CARD_FIELDS.map((f) => [f, r.values[f] ?? null])),
    task_basis: r.taskBasis ?? null,
    provenance: r.provenance,
    text_kind: r.textKind,
    eval_metrics: r.evalMetrics,
    hyperparameters: r.hyperparameters,
    framework_versions: r.frameworkVersions,
    training_results: r.trainingResults,
    notes: r.notes,
    warnings: r.warnings,
  }));
}

export { NUMERIC_FIELDS };
