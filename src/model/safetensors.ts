/**
 * safetensors read/write (https://github.com/huggingface/safetensors, format section): 8-byte little-endian header
 * length, JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the byte buffer.
 * Hand-written because the npm packages for it either only parse headers (@huggingface/hub) or are unmaintained; the
 * format is small. Validation follows the Rust reference: header size bound, offsets inside the buffer, entries
 * contiguous (no holes, no overlaps) and covering the whole buffer, shape × dtype size = byte span.
 * Every floating dtype (F64/F32/F16/BF16) and the integer ones become float32 in memory. Stricter than JSON.parse:
 * a header must be valid UTF-8 and name each tensor once; the file must be a regular file.
 */
import { endianness } from 'node:os';
import { UserError, findDuplicateKey, readRegularFile, writeFileAtomic } from '../util/index.js';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
export type ParameterMap = Map<string, NamedTensor>;

/** Same bound as the Rust crate's MAX_HEADER_SIZE. */
const MAX_HEADER = 100_000_000;

const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};
const CONVERTIBLE = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL']);
const LITTLE = endianness() === 'LE';

// float16 → float32 through a 64k lookup table built once (exact: every f16 is representable in f32).
let F16_TABLE: Float32Array | null = null;
function f16Table(): Float32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return (F16_TABLE = t);
}

function convert(bytes: Uint8Array, dtype: string, n: number): Float32Array {
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      if (LITTLE) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16': {
      const t = f16Table();
      for (let i = 0; i < n; i++) out[i] = t[dv.getUint16(i * 2, true)]!;
      break;
    }
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      break;
    case 'U64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      break;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      break;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      break;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads and fully validates a safetensors file (or its bytes); any defect is one UserError naming the file and tensor. */
export function readSafetensors(pathOrBytes: string | Uint8Array): { tensors: ParameterMap; metadata: Record<string, string>; dtypes: Map<string, string> } {
  const file = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
  let buf: Uint8Array;
  if (typeof pathOrBytes === 'string') {
    // a regular file only (a FIFO or /dev/zero named model.safetensors would never finish), no larger than memory
    buf = readRegularFile(pathOrBytes);
  } else {
    buf = pathOrBytes;
  }
  const bad = (msg: string): never => {
    throw new UserError(`${file}: corrupt safetensors file: ${msg}`);
  };
  if (buf.byteLength < 8) bad(`only ${buf.byteLength} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) bad(`header length ${n64} exceeds the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > buf.byteLength) bad(`header length ${n} runs past the end of the file (${buf.byteLength} bytes; truncated?)`);
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    bad('header is not valid UTF-8');
  }
  if (!headerText.startsWith('{')) bad('header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  // JSON.parse keeps the last of two entries with one name: which weights load would depend on the writer's order
  const dup = findDuplicateKey(headerText);
  if (dup !== null) bad(`header names ${JSON.stringify(dup)} twice`);
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('"__metadata__" is not an object of strings');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') bad(`"__metadata__"[${JSON.stringify(k)}] is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const t = `tensor ${JSON.stringify(name)}`;
    if (typeof v !== 'object' || v === null) bad(`${t}: entry is not an object`);
    const { dtype, shape, data_offsets } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) bad(`${t}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!CONVERTIBLE.has(dtype as string)) bad(`${t}: dtype ${String(dtype)} is not supported (F64/F32/F16/BF16 and integer types are)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`${t}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`${t}: data_offsets ${JSON.stringify(data_offsets)} is not [begin, end]`);
    }
    const [begin, end] = data_offsets as [number, number];
    if (end < begin) bad(`${t}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) bad(`${t}: data_offsets [${begin}, ${end}] run past the data region (${dataLen} bytes; truncated?)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = numel * DTYPE_BYTES[dtype as string]!;
    if (want !== end - begin) bad(`${t}: shape [${(shape as number[]).join(', ')}] × ${String(dtype)} needs ${want} bytes but data_offsets span ${end - begin}`);
    entries.push({ name, dtype: dtype as string, shape: shape as number[], begin, end });
  }
  // The buffer must be exactly tiled by the tensors: sorted by offset, each starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) bad(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${pos})`);
    if (e.begin > pos) bad(`tensor ${JSON.stringify(e.name)}: gap of ${e.begin - pos} bytes before it (the data region must have no holes)`);
    pos = e.end;
  }
  if (pos !== dataLen) bad(`${dataLen - pos} bytes after the last tensor are not covered by any tensor`);
  const tensors: ParameterMap = new Map();
  const dtypes = new Map<string, string>();
  for (const e of entries) {
    const bytes = buf.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { shape: e.shape, data: convert(bytes, e.dtype, e.shape.reduce((a, b) => a * b, 1)) });
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

/** Serialises float32 tensors (sorted by name, header space-padded to 8 bytes, as the Rust writer does). */
export function serializeSafetensors(tensors: ParameterMap, metadata?: Record<string, string>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`writeSafetensors: tensor ${name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + numel * 4] };
    offset += numel * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    if (LITTLE) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    else {
      const dv = new DataView(out.buffer, pos, d.byteLength);
      for (let i = 0; i < d.length; i++) dv.setFloat32(i * 4, d[i]!, true);
    }
    pos += d.byteLength;
  }
  return out;
}

/** Writes float32 tensors atomically (temp file + rename). */
export function writeSafetensors(path: string, tensors: ParameterMap, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata), 'safetensors');
}

/** The first tensor holding NaN or ±Inf values, with how many, or null when every value is finite. */
export function nonFiniteTensor(tensors: ParameterMap): { name: string; count: number; size: number } | null {
  for (const [name, t] of tensors) {
    let count = 0;
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) count++;
    if (count > 0) return { name, count, size: d.length };
  }
  return null;
}
