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

/**
 * The first key that appears twice in one object of a JSON text (as a path like `a.b`), or null. JSON.parse keeps
 * the last of duplicate keys silently; where a file's meaning depends on which one is used (a safetensors header
 * naming a tensor twice) that is refused instead. `text` must already be valid JSON (JSON.parse it first).
 * A scanner, not a parser: no npm package for duplicate-key detection is maintained.
 */
export function findDuplicateKey(text: string): string | null {
  const stack: Array<{ keys: Set<string> | null; key: string | null }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return [...stack.slice(0, -1).map((f) => f.key).filter((k): k is string => k !== null), key].join('.');
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ keys: new Set(), key: null });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ keys: null, key: null });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return null;
}
