/**
 * Tables of runs/cards for the analysis: CSV/TSV reading (csv-parse), typed cells, row filters,
 * and numeric column extraction with errors that name the file, line and column.
 */
import { parse } from 'csv-parse/sync';
import { UserError, decodeUtf8, readRegularFile } from '../util/index.js';

export type Cell = string | number | null;
export type Row = Record<string, Cell>;
export interface Table {
  columns: string[];
  rows: Row[];
  /** file path (or a description) used in error messages */
  source?: string;
  /** 1-based source line of each row, parallel to `rows` (CSV input) */
  lines?: number[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING = /^(|na|n\/a|nan|null|none)$/i;
const INFINITE = /^[+-]?(inf|infinity)$/i;

/** A cell as read from text: number when it is one, null when missing (empty, NA, NaN, null), else the string. */
export function parseCell(text: string): Cell {
  const s = text.trim();
  if (MISSING.test(s)) return null;
  if (NUMBER.test(s)) return Number(s);
  if (INFINITE.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return s;
}

/** Reads a CSV (or TSV: `.tsv`/`.tab` extension or a tab-separated header) with a header row. */
export function readTable(path: string): Table {
  const bytes = readRegularFile(path); // a FIFO would block the read for ever
  if (bytes.includes(0)) throw new UserError(`${path}: not a text CSV file (contains NUL bytes)`);
  return parseTable(decodeUtf8(bytes, path), path);
}

export function parseTable(text: string, source = '<input>'): Table {
  if (text.includes('\u0000')) throw new UserError(`${source}: not a text CSV file (contains NUL bytes)`);
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = /\.(tsv|tab)$/i.test(source) || (firstLine.includes('\t') && !firstLine.includes(',')) ? '\t' : ',';
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, delimiter, info: true, skip_empty_lines: true, relax_quotes: false }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (e) {
    const err = e as Error & { lines?: number; code?: string };
    const msg = err.message.replace(/^Invalid Record Length: /, 'wrong number of fields: ');
    throw new UserError(`${source}: ${msg}${err.lines !== undefined && !/line \d+/.test(msg) ? ` (line ${err.lines})` : ''}`);
  }
  if (records.length === 0) throw new UserError(`${source}: empty file (a header row is needed)`);
  const header = records[0].record.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new UserError(`${source}: line ${records[0].info.lines}: column ${i + 1} of the header has no name`);
    if (seen.has(h)) throw new UserError(`${source}: line ${records[0].info.lines}: duplicate column name "${h}" in the header`);
    seen.add(h);
  });
  const rows: Row[] = [];
  const lines: number[] = [];
  for (let k = 1; k < records.length; k++) {
    const { record, info } = records[k];
    const row: Row = {};
    header.forEach((h, i) => { row[h] = parseCell(record[i] ?? ''); });
    rows.push(row);
    lines.push(info.lines);
  }
  return { columns: header, rows, source, lines };
}

/** In-memory rows (e.g. a study's trials) as a Table; columns from the union of keys in first-seen order. */
export function tableFromRows(rows: Row[], source = '<rows>'): Table {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k)) { seen.add(k); cols.push(k); }
  return { columns: cols, rows, source };
}

export function rowLabel(table: Table, i: number): string {
  const src = table.source ?? '<rows>';
  return table.lines ? `${src}: line ${table.lines[i]}` : `${src}: row ${i + 1}`;
}

// ---- filters -------------------------------------------------------------------------------

export interface FilterReport { expr: string; kept: number; of: number }

const FILTER = /^\s*([^=!<>]+?)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$/;

/** Applies `col=value`, `col!=value`, `col<num` … filters in order; reports the rows each one kept. */
export function filterTable(table: Table, where: string[]): { table: Table; filters: FilterReport[] } {
  let rows = table.rows.map((r, i) => ({ r, line: table.lines?.[i] }));
  const reports: FilterReport[] = [];
  for (const expr of where) {
    const m = FILTER.exec(expr);
    if (!m) throw new UserError(`--where "${expr}": expected COLUMN=VALUE, COLUMN!=VALUE or COLUMN<, <=, >, >= NUMBER`);
    const [, col, op, rawValue] = m;
    if (!table.columns.includes(col)) {
      throw new UserError(`--where "${expr}": no column "${col}" in ${table.source ?? 'the table'} (columns: ${table.columns.join(', ')})`);
    }
    const value = rawValue.replace(/^["']|["']$/g, '');
    const num = NUMBER.test(value) ? Number(value) : null;
    if ((op === '<' || op === '>' || op === '<=' || op === '>=') && num === null) {
      throw new UserError(`--where "${expr}": ${op} needs a number, got "${value}"`);
    }
    const before = rows.length;
    rows = rows.filter(({ r }) => {
      const cell = r[col];
      switch (op) {
        case '=':
        case '==':
        case '!=': {
          let eq: boolean;
          if (cell === null || cell === undefined) eq = MISSING.test(value);
          else if (typeof cell === 'number' && num !== null) eq = cell === num;
          else eq = String(cell) === value;
          return op === '!=' ? !eq : eq;
        }
        default: {
          if (typeof cell !== 'number' || Number.isNaN(cell)) return false;
          const v = num as number;
          return op === '<' ? cell < v : op === '>' ? cell > v : op === '<=' ? cell <= v : cell >= v;
        }
      }
    });
    reports.push({ expr, kept: rows.length, of: before });
  }
  return {
    table: {
      columns: table.columns,
      rows: rows.map((x) => x.r),
      source: table.source,
      lines: table.lines ? rows.map((x) => x.line as number) : undefined,
    },
    filters: reports,
  };
}

/** Whether a cell counts as missing (empty/NA/NaN). */
export function isMissing(c: Cell | undefined): boolean {
  return c === null || c === undefined || (typeof c === 'number' && Number.isNaN(c));
}

/** Throws the one clear error for a cell that is present but not a finite number. */
export function checkNumeric(table: Table, i: number, col: string): number | null {
  const c = table.rows[i][col];
  if (isMissing(c)) return null;
  if (typeof c === 'string') {
    const n = parseCell(c);
    if (typeof n === 'number' && Number.isFinite(n)) return n;
    if (n === null) return null;
    throw new UserError(`${rowLabel(table, i)}, column "${col}": non-numeric value "${c.length > 40 ? `${c.slice(0, 40)}…` : c}"`);
  }
  if (typeof c === 'number' && !Number.isFinite(c)) throw new UserError(`${rowLabel(table, i)}, column "${col}": non-finite value ${c}`);
  return c as number;
}
