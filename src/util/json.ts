/**
 * JSON for statistics: non-finite numbers become the strings "NaN" / "Infinity" / "-Infinity"
 * (the convention of the OLS fixtures and of pandas' to_json), `undefined` becomes null.
 */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return 'Infinity';
    if (value === -Infinity) return '-Infinity';
    return value;
  }
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, jsonSafe);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

export function stringifyJson(value: unknown, indent = 2): string {
  return JSON.stringify(jsonSafe(value), null, indent);
}

/** Inverse of jsonSafe for numbers: "NaN"/"Infinity"/"-Infinity" strings back to numbers, null stays null. */
export function parseJsonNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new TypeError(`not a JSON number: ${JSON.stringify(v)}`);
}
