/**
 * File readers for text-classification splits: GLUE-style TSV, CSV, JSONL and parquet (hyparquet).
 * Each returns raw rows with the file line (or parquet row) they came from, so that bad rows can be
 * reported as `file:line`. TSV is split by hand because GLUE TSV is written with QUOTE_NONE
 * (quotes are ordinary characters); CSV goes through csv-parse.
 */
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { UserError, decodeUtf8Lenient, readRegularFile } from '../util/index.js';

export type RawValue = string | number | bigint | boolean | null | undefined;

export interface RawTable {
  file: string;
  columns: string[];
  rows: Array<{ line: number; values: Record<string, RawValue>; problem?: string }>;
  /** 'line' for text formats, 'row' for parquet (1-based). */
  unit: 'line' | 'row';
  /** e.g. invalid UTF-8 bytes that were replaced */
  notes?: string[];
}

export type FileFormat = 'tsv' | 'csv' | 'jsonl' | 'parquet';

export function formatOf(file: string): FileFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.txt') return 'tsv';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.json' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new UserError(`${file}: unsupported dataset file type '${ext}' (expected .tsv, .csv, .jsonl or .parquet)`);
}

export async function readRawTable(file: string): Promise<RawTable> {
  const format = formatOf(file);
  // a regular file only: a FIFO named train.tsv would block the read for ever
  const bytes = readRegularFile(file, { what: `dataset file ${file}` });
  if (format === 'parquet') return readParquet(file, bytes);
  // Invalid UTF-8 is replaced (U+FFFD) and reported as a note rather than stopping the run, as HF's loaders do
  // for the stray byte in TREC; a file that is mostly not UTF-8 shows up in that note's location.
  const { text, problem } = decodeUtf8Lenient(bytes, file);
  const table = format === 'tsv' ? readTsv(file, text) : format === 'csv' ? readCsv(file, text) : readJsonl(file, text);
  if (problem) table.notes = [...(table.notes ?? []), `${problem}: invalid bytes were replaced by U+FFFD`];
  return table;
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\uFEFF/, '');
  return lines;
}

export function readTsv(file: string, text: string): RawTable {
  const lines = splitLines(text);
  if (lines.length === 0) throw new UserError(`${file}: empty file (expected a header line such as 'sentence<TAB>label')`);
  const columns = lines[0]!.split('\t').map((c) => c.trim());
  const rows: RawTable['rows'] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    const values: Record<string, RawValue> = {};
    columns.forEach((c, j) => (values[c] = fields[j]));
    const problem =
      fields.length !== columns.length ? `expected ${columns.length} tab-separated columns, found ${fields.length}` : undefined;
    rows.push({ line: i + 1, values, problem });
  }
  return { file, columns, rows, unit: 'line' };
}

export function readCsv(file: string, text: string): RawTable {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parseCsv(text, { info: true, relax_column_count: true, bom: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new UserError(`${file}${err.lines ? `:${err.lines}` : ''}: malformed CSV: ${err.message}`);
  }
  if (records.length === 0) throw new UserError(`${file}: empty file (expected a header line such as 'sentence,label')`);
  const columns = records[0]!.record.map((c) => c.trim());
  const rows: RawTable['rows'] = [];
  let prevEnd = records[0]!.info.lines;
  for (let i = 1; i < records.length; i++) {
    const { record, info } = records[i]!;
    // info.lines is where the record ends; a record starts on the line after the previous one
    // (a quoted field may span lines).
    const line = Math.min(prevEnd + 1, info.lines);
    prevEnd = info.lines;
    const values: Record<string, RawValue> = {};
    columns.forEach((c, j) => (values[c] = record[j]));
    const problem =
      record.length !== columns.length ? `expected ${columns.length} comma-separated columns, found ${record.length}` : undefined;
    rows.push({ line, values, problem });
  }
  return { file, columns, rows, unit: 'line' };
}

export function readJsonl(file: string, text: string): RawTable {
  if (/^\uFEFF?\s*\[/.test(text)) return readJsonArray(file, text);
  const lines = splitLines(text);
  const rows: RawTable['rows'] = [];
  const columns = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let obj: unknown;
    let problem: string | undefined;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      problem = `invalid JSON: ${(e as Error).message}`;
    }
    const values: Record<string, RawValue> = {};
    if (problem === undefined) {
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) problem = 'expected a JSON object per line';
      else {
        for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
          columns.add(k);
          values[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as RawValue);
        }
      }
    }
    rows.push({ line: i + 1, values, problem });
  }
  return { file, columns: [...columns], rows, unit: 'line' };
}

/** A .json file holding one array of row objects (rows are numbered from 1 in place of lines). */
function readJsonArray(file: string, text: string): RawTable {
  let arr: unknown;
  try {
    arr = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UserError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  const columns = new Set<string>();
  const rows: RawTable['rows'] = (arr as unknown[]).map((obj, i) => {
    const values: Record<string, RawValue> = {};
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { line: i + 1, values, problem: 'expected a JSON object' };
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      columns.add(k);
      values[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as RawValue);
    }
    return { line: i + 1, values };
  });
  return { file, columns: [...columns], rows, unit: 'row' };
}

export async function readParquet(file: string, bytes: Buffer): Promise<RawTable> {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let objects: Array<Record<string, unknown>>;
  try {
    objects = (await parquetReadObjects({ file: ab })) as Array<Record<string, unknown>>;
  } catch (e) {
    throw new UserError(`${file}: cannot read parquet file: ${(e as Error).message}`);
  }
  const columns = objects.length > 0 ? Object.keys(objects[0]!) : [];
  const rows: RawTable['rows'] = objects.map((o, i) => {
    const values: Record<string, RawValue> = {};
    for (const [k, v] of Object.entries(o)) values[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as RawValue);
    return { line: i + 1, values };
  });
  return { file, columns, rows, unit: 'row' };
}
