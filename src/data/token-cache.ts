/**
 * Token-id cache: tokenize a list of texts once per (texts, tokenizer fingerprint, max_length) and keep
 * the ids on disk. File layout (little-endian): 'TSTK' | u32 version | u32 count | u32 total |
 * u32 lengths[count] | i32 ids[total] | sha256 of everything before it. A file that fails any check
 * (truncated, wrong digest, wrong counts) is ignored and rebuilt. Written to a temp file, then renamed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const MAGIC = 0x4b545354; // 'TSTK'
const VERSION = 1;

/** What the cache needs from a tokenizer (src/tokenizer's Tokenizer satisfies it). */
export interface TextEncoder {
  encode(text: string, opts?: { maxLength?: number }): number[];
}

export function defaultTokenCacheDir(): string {
  const env = process.env;
  if (env.TUNESCOPE_CACHE) return resolve(env.TUNESCOPE_CACHE, 'tokens');
  if (env.XDG_CACHE_HOME) return resolve(env.XDG_CACHE_HOME, 'tunescope', 'tokens');
  return join(homedir(), '.cache', 'tunescope', 'tokens');
}

/** Content hash of the texts in order (what the ids depend on besides the tokenizer and max_length). */
export function textsHash(texts: string[]): string {
  const h = createHash('sha256');
  for (const t of texts) {
    h.update(t);
    h.update('\u0000');
  }
  return h.digest('hex');
}

function decode(buf: Buffer, expectCount: number): number[][] | null {
  if (buf.length < 16 + 32) return null;
  const body = buf.subarray(0, buf.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - 32))) return null;
  if (body.readUInt32LE(0) !== MAGIC || body.readUInt32LE(4) !== VERSION) return null;
  const count = body.readUInt32LE(8);
  const total = body.readUInt32LE(12);
  if (count !== expectCount || body.length !== 16 + 4 * count + 4 * total) return null;
  const out: number[][] = [];
  let off = 16 + 4 * count;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const len = body.readUInt32LE(16 + 4 * i);
    sum += len;
    if (sum > total) return null;
    const ids = new Array<number>(len);
    for (let j = 0; j < len; j++) ids[j] = body.readInt32LE(off + 4 * j);
    off += 4 * len;
    out.push(ids);
  }
  return sum === total ? out : null;
}

function encodeFile(ids: number[][]): Buffer {
  const total = ids.reduce((s, a) => s + a.length, 0);
  const body = Buffer.alloc(16 + 4 * ids.length + 4 * total);
  body.writeUInt32LE(MAGIC, 0);
  body.writeUInt32LE(VERSION, 4);
  body.writeUInt32LE(ids.length, 8);
  body.writeUInt32LE(total, 12);
  let off = 16 + 4 * ids.length;
  ids.forEach((a, i) => {
    body.writeUInt32LE(a.length, 16 + 4 * i);
    for (const id of a) {
      body.writeInt32LE(id, off);
      off += 4;
    }
  });
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export interface TokenizeResult {
  ids: number[][];
  /** 'hit' when read from the cache, 'miss' when tokenized (and written), 'off' when caching is disabled. */
  cache: 'hit' | 'miss' | 'off';
  path?: string;
}

/**
 * Token ids for `texts` ([CLS] … [SEP], truncated to maxLength), from the cache when present.
 * `cacheDir: null` disables the cache; a cache that cannot be written is silently skipped.
 */
export function tokenizeCached(
  texts: string[],
  tokenizer: TextEncoder,
  opts: { fingerprint: string; maxLength: number; cacheDir?: string | null },
): TokenizeResult {
  const encodeAll = (): number[][] => texts.map((t) => tokenizer.encode(t, { maxLength: opts.maxLength }));
  if (opts.cacheDir === null) return { ids: encodeAll(), cache: 'off' };
  const dir = opts.cacheDir ?? defaultTokenCacheDir();
  const key = createHash('sha256')
    .update(`${textsHash(texts)}|${opts.fingerprint}|${opts.maxLength}|v${VERSION}`)
    .digest('hex')
    .slice(0, 32);
  const path = join(dir, `${key}.bin`);
  try {
    const hit = decode(readFileSync(path), texts.length);
    if (hit) return { ids: hit, cache: 'hit', path };
  } catch {
    // absent or unreadable: rebuild
  }
  const ids = encodeAll();
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, encodeFile(ids));
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
  return { ids, cache: 'miss', path };
}
