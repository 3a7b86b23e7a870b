/**
 * One strict number syntax for every number typed on the command line (flags, `k=v` lists): decimal with an
 * optional exponent (`16`, `-0.5`, `.5`, `3e-5`, `1E+3`). `Number()` alone also reads `0x10` as 16, `0b1`, `0o7`,
 * `Infinity`, `''` and `' '` as 0, which turn a typo into a silently different hyperparameter.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number `text` spells in decimal/exponent notation, or null (hex, binary, octal, Infinity, NaN, blanks, junk). */
export function parseDecimal(text: string): number | null {
  const s = text.trim();
  if (!DECIMAL.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
