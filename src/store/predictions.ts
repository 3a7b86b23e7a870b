/**
 * The stored form of a trial's per-example predictions: one deflated blob per trial (a BLOB in SQLite, bytea in
 * PostgreSQL), far smaller than a row per example. Layout before deflate (little-endian):
 *   "TSP1" | u32 n | u32 numLabels | u8 flags (1: explicit index, 2: 32-bit labels)
 *   [u32 index × n]  label × n  predicted × n  (u8, or i32 with flag 2)  f32 probabilities × n·numLabels
 * The index is left out when it is 0…n−1 (the usual case).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { TrialPredictions } from './types.js';

const MAGIC = 0x31505354; // "TSP1"

export function encodePredictions(p: TrialPredictions): Buffer {
  const n = p.label.length;
  const k = p.numLabels;
  if (p.predicted.length !== n || p.index.length !== n || p.probabilities.length !== n * k) {
    throw new RangeError(`predictions: ${n} labels, ${p.predicted.length} predictions, ${p.index.length} indices, ${p.probabilities.length} probabilities for ${k} labels`);
  }
  let identity = true;
  for (let i = 0; i < n && identity; i++) identity = p.index[i] === i;
  const wide = k > 256;
  const lw = wide ? 4 : 1;
  const size = 13 + (identity ? 0 : 4 * n) + 2 * lw * n + 4 * n * k;
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(n, 4);
  buf.writeUInt32LE(k, 8);
  buf.writeUInt8((identity ? 0 : 1) | (wide ? 2 : 0), 12);
  let o = 13;
  if (!identity) for (let i = 0; i < n; i++, o += 4) buf.writeUInt32LE(p.index[i]!, o);
  for (const arr of [p.label, p.predicted]) {
    for (let i = 0; i < n; i++, o += lw) {
      if (wide) buf.writeInt32LE(arr[i]!, o);
      else buf.writeUInt8(arr[i]!, o);
    }
  }
  for (let i = 0; i < n * k; i++, o += 4) buf.writeFloatLE(p.probabilities[i]!, o);
  return deflateRawSync(buf, { level: 9 });
}

export function decodePredictions(blob: Uint8Array): TrialPredictions {
  const buf = inflateRawSync(blob);
  if (buf.length < 13 || buf.readUInt32LE(0) !== MAGIC) throw new Error('stored predictions: not a tunescope predictions blob');
  const n = buf.readUInt32LE(4);
  const k = buf.readUInt32LE(8);
  const flags = buf.readUInt8(12);
  const wide = (flags & 2) !== 0;
  const lw = wide ? 4 : 1;
  let o = 13;
  const index = new Uint32Array(n);
  if (flags & 1) for (let i = 0; i < n; i++, o += 4) index[i] = buf.readUInt32LE(o);
  else for (let i = 0; i < n; i++) index[i] = i;
  const read = (): Int32Array => {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++, o += lw) a[i] = wide ? buf.readInt32LE(o) : buf.readUInt8(o);
    return a;
  };
  const label = read();
  const predicted = read();
  const probabilities = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++, o += 4) probabilities[i] = buf.readFloatLE(o);
  if (o !== buf.length) throw new Error(`stored predictions: ${buf.length - o} unexpected trailing bytes`);
  return { numLabels: k, index, label, predicted, probabilities };
}
