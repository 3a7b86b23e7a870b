/** Reading the JSON/YAML files of run folders: a file that does not parse is a warning naming it and the line. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parsePythonJson } from './optuna.js';
import type { ImportWarning } from './types.js';

/** The line of a character offset, for JSON.parse's "at position N". */
function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(pos, text.length); i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export type FileRead<T> = { ok: true; value: T } | { ok: false; warning: ImportWarning };

function readText(path: string): { ok: true; value: string } | { ok: false; warning: ImportWarning } {
  try {
    return { ok: true, value: readFileSync(path, 'utf8') };
  } catch (e) {
    return { ok: false, warning: { file: path, message: `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` } };
  }
}

export function readJsonFile<T = unknown>(path: string): FileRead<T> {
  const read = readText(path);
  if (!read.ok) return read;
  const text = read.value;
  try {
    return { ok: true, value: parsePythonJson(text) as T };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    // "Unexpected end of JSON input" has no position: the file was cut off at its last line
    const line = m ? lineOf(text, Number(m[1])) : text.trim() === '' ? 1 : lineOf(text, text.length);
    return { ok: false, warning: { file: path, line, message: `unreadable JSON (${msg.replace(/ in JSON at position \d+.*$/, '')})` } };
  }
}

export function readYamlFile<T = unknown>(path: string): FileRead<T> {
  const read = readText(path);
  if (!read.ok) return read;
  try {
    return { ok: true, value: parseYaml(read.value, { maxAliasCount: 100 }) as T };
  } catch (e) {
    const err = e as Error & { linePos?: { line: number }[] };
    return { ok: false, warning: { file: path, line: err.linePos?.[0]?.line, message: `unreadable YAML (${err.message.split('\n')[0]})` } };
  }
}

/** Numbers as the tools write them in JSON: numbers, and the non-finite strings of jsonSafe/pandas. */
export function asNumber(v: unknown): number | null | undefined {
  if (typeof v === 'number') return v;
  if (v === null) return null;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}
