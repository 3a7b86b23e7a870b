/** Flag-value parsers shared by the commands; a bad value is one UserError naming the flag. */
import { UserError } from '../util/index.js';

/** A commander argParser for an integer flag ≥ 1. */
export function positiveInt(flag: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer (got ${JSON.stringify(v)})`);
    return n;
  };
}
