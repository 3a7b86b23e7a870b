/** Flag-value parsers shared by the commands; a bad value is one UserError naming the flag. */
import { UserError, parseDecimal } from '../util/index.js';

/** A commander argParser for an integer flag ≥ 1. */
export function positiveInt(flag: string): (v: string) => number {
  return (v: string): number => {
    const n = parseDecimal(v);
    if (n === null || !Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer (got ${JSON.stringify(v)})`);
    return n;
  };
}

/** `a, b,,c` → ['a', 'b', 'c']: a comma-separated flag value, blanks dropped. */
export function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `--baseline accuracy=0.91,f1=0.91` → {accuracy: 0.91, f1: 0.91}; an empty or non-finite value is an error. */
export function parseBaselineList(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of list(v)) {
    const m = /^([^=]+)=(.+)$/.exec(part);
    const num = m ? parseDecimal(m[2]) : null;
    if (!m || num === null) {
      throw new UserError(`--baseline: expected METRIC=NUMBER[,METRIC=NUMBER…], got "${part}"`);
    }
    out[m[1].trim()] = num;
  }
  return out;
}

/** A commander argParser for a finite number > 0. */
export function positiveNumber(flag: string): (v: string) => number {
  return (v: string): number => {
    const n = parseDecimal(v);
    if (n === null || !(n > 0)) throw new UserError(`${flag} must be a positive number (got ${JSON.stringify(v)})`);
    return n;
  };
}

/** A commander argParser for a whole number ≥ 0 (decimal digits only). */
export function nonNegativeInt(flag: string): (v: string) => number {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim())) throw new UserError(`${flag} must be a whole number ≥ 0 (got ${JSON.stringify(v)})`);
    return Number(v.trim());
  };
}
