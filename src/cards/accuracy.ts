/**
 * Field-level accuracy of the parser against a manifest of values a careful reader took from real cards
 * (fixtures/cards/manifest.csv: file, model_id, base_model, dataset, learning_rate, …).
 * Numbers compare by value (5e-05 = 0.00005, 3.0 = 3; a manifest percentage "73.44%" is the fraction 0.7344),
 * lr_scheduler_type by HF scheduler name (the manifest copies "Linear" as written), text exactly.
 * An empty manifest cell means "the card does not give it": the parser must leave the field absent too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../util/index.js';
import { parseCardFile, type CardRecord } from './ingest.js';
import { normalizeScheduler, parseCardNumber } from './parse.js';
import { NUMERIC_FIELDS, type CardField } from './types.js';

export interface FieldMismatch {
  file: string;
  field: string;
  expected: string;
  got: string;
}
export interface AccuracyReport {
  cards: number;
  fields: string[];
  perField: Record<string, { correct: number; total: number }>;
  correct: number;
  total: number;
  mismatches: FieldMismatch[];
}

/** Manifest columns that are not extracted fields. */
const NOT_FIELDS = new Set(['file', 'source_url', 'text_kind', 'complete', 'notes']);

function same(field: string, expected: string, got: string | number | undefined): boolean {
  if (expected.trim() === '') return got === undefined;
  if (got === undefined) return false;
  if (NUMERIC_FIELDS.has(field as CardField)) {
    const e = parseCardNumber(expected);
    return e !== null && typeof got === 'number' && e.value === got;
  }
  if (field === 'lr_scheduler_type') return normalizeScheduler(expected) === String(got);
  return expected.trim() === String(got);
}

export function cardsAccuracy(manifestPath: string, rawDir: string): AccuracyReport & { records: CardRecord[] } {
  let parsed: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    parsed = parse(readFileSync(manifestPath), { columns: true, skip_empty_lines: true, info: true }) as typeof parsed;
  } catch (e) {
    throw new UserError(`${manifestPath}: cannot read manifest (${(e as Error).message})`);
  }
  if (parsed.length === 0) throw new UserError(`${manifestPath}: manifest has no rows`);
  const rows = parsed.map((p) => p.record);
  if (!('file' in rows[0])) throw new UserError(`${manifestPath}: the manifest has no "file" column (columns: ${Object.keys(rows[0]).join(', ')})`);
  // a card the manifest names but the folder lacks is a wrong folder or manifest, not a parser miss
  for (const { record, info } of parsed) {
    const path = join(rawDir, record.file ?? '');
    if (!record.file || !existsSync(path)) {
      throw new UserError(`${manifestPath}: line ${info.lines}: ${record.file ? `no card ${path}` : 'empty "file" cell'}`);
    }
  }
  const fields = Object.keys(rows[0]).filter((c) => !NOT_FIELDS.has(c));
  const perField: AccuracyReport['perField'] = Object.fromEntries(fields.map((f) => [f, { correct: 0, total: 0 }]));
  const mismatches: FieldMismatch[] = [];
  const records: CardRecord[] = [];
  for (const row of rows) {
    const rec = parseCardFile(join(rawDir, row.file));
    records.push(rec);
    for (const f of fields) {
      const got = (rec.values as Record<string, string | number | undefined>)[f];
      perField[f].total++;
      if (same(f, row[f] ?? '', got)) perField[f].correct++;
      else mismatches.push({ file: row.file, field: f, expected: row[f] ?? '', got: got === undefined ? '(absent)' : String(got) });
    }
  }
  const correct = Object.values(perField).reduce((s, x) => s + x.correct, 0);
  const total = Object.values(perField).reduce((s, x) => s + x.total, 0);
  return { cards: rows.length, fields, perField, correct, total, mismatches, records };
}

export function formatAccuracy(r: AccuracyReport): string {
  const lines: string[] = [`cards: ${r.cards}`, 'field                      correct/total  accuracy'];
  for (const f of r.fields) {
    const { correct, total } = r.perField[f];
    lines.push(`${f.padEnd(26)} ${`${correct}/${total}`.padStart(13)}  ${((100 * correct) / total).toFixed(1)}%`);
  }
  lines.push(`${'overall'.padEnd(26)} ${`${r.correct}/${r.total}`.padStart(13)}  ${((100 * r.correct) / r.total).toFixed(2)}%`);
  if (r.mismatches.length === 0) lines.push('mismatches: none');
  else {
    lines.push(`mismatches (${r.mismatches.length}):`);
    for (const m of r.mismatches) lines.push(`  ${m.file}  ${m.field}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)}`);
  }
  return lines.join('\n');
}
