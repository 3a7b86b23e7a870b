import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, serializeSafetensors, type ParameterMap } from '../../src/model/index.js';
import { UserError } from '../../src/util/index.js';
import { sharedPath, tempDir } from '../helpers.js';

const FIX = sharedPath('fixtures/distilbert/tiny-a/model.safetensors');

/** Builds a file from a header object and raw data bytes. */
function build(header: unknown, data: Uint8Array, headerLen?: number): Uint8Array {
  const h = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('reads the fixture and writes it back byte for byte', () => {
  const { tensors, metadata } = readSafetensors(FIX);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.equal(tensors.size, 40);
  assert.deepEqual(tensors.get('distilbert.embeddings.word_embeddings.weight')!.shape, [189, 32]);
  assert.deepEqual(Buffer.from(serializeSafetensors(tensors, metadata)), readFileSync(FIX));
  const t = tempDir();
  try {
    const p = join(t.path, 'm.safetensors');
    writeSafetensors(p, tensors, metadata);
    const back = readSafetensors(p).tensors;
    for (const [k, v] of tensors) assert.deepEqual(back.get(k)!.data, v.data, k);
    assert.deepEqual(readdirSync(t.path), ['m.safetensors']);
  } finally {
    t.cleanup();
  }
});

test('F16, BF16, F64 and I64 become float32', () => {
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]); // 1, -2, ~0.33325, smallest subnormal, +inf
  const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
  const f64 = new Float64Array([0.1]);
  const i64 = new BigInt64Array([7n, -1n]);
  const parts = [new Uint8Array(f16.buffer), new Uint8Array(bf16.buffer), new Uint8Array(f64.buffer), new Uint8Array(i64.buffer)];
  const data = Buffer.concat(parts);
  let o = 0;
  const off = (n: number): [number, number] => [o, (o += n)];
  const header = {
    a: { dtype: 'F16', shape: [5], data_offsets: off(10) },
    b: { dtype: 'BF16', shape: [2], data_offsets: off(4) },
    c: { dtype: 'F64', shape: [1], data_offsets: off(8) },
    d: { dtype: 'I64', shape: [2], data_offsets: off(16) },
  };
  // 10+4 = 14 bytes before the F64: alignment is not required by the format
  const { tensors } = readSafetensors(build(header, data));
  assert.deepEqual([...tensors.get('a')!.data], [1, -2, Math.fround(0.333251953125), 2 ** -24, Infinity]);
  assert.deepEqual([...tensors.get('b')!.data], [1, -3]);
  assert.equal(tensors.get('c')!.data[0], Math.fround(0.1));
  assert.deepEqual([...tensors.get('d')!.data], [7, -1]);
});

test('corrupt files are one UserError naming the file and the tensor', () => {
  const good = readFileSync(FIX);
  const t = tempDir();
  const check = (bytes: Uint8Array, re: RegExp): void => {
    const p = join(t.path, 'bad.safetensors');
    writeFileSync(p, bytes);
    assert.throws(() => readSafetensors(p), (e: unknown) => e instanceof UserError && e.message.includes(p) && re.test(e.message), String(re));
  };
  try {
    check(good.subarray(0, good.length - 100), /truncated|not covered|run past/);
    check(good.subarray(0, 5), /shorter than/);
    const bigLen = Buffer.from(good);
    bigLen.writeBigUInt64LE(BigInt(good.length), 0);
    check(bigLen, /header length/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(10n ** 12n, 0);
    check(huge, /exceeds/);
    const data = new Uint8Array(16);
    check(build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, v: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data.subarray(0, 12)), /"v".*overlap|"w".*overlap/);
    check(build({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data.subarray(0, 8)), /"w".*shape \[3\] × F32 needs 12 bytes/);
    check(build({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, data.subarray(0, 8)), /"w".*unknown dtype/);
    check(build({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data.subarray(0, 12)), /"w".*gap/);
    check(build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data), /not covered/);
    check(build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, __metadata__: { a: 1 } }, data.subarray(0, 8)), /__metadata__/);
    check(build({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data.subarray(0, 8)), /"w".*shape/);
    const h = Buffer.from('{"w": nope}');
    const junk = new Uint8Array(8 + h.length);
    new DataView(junk.buffer).setBigUint64(0, BigInt(h.length), true);
    junk.set(h, 8);
    check(junk, /not valid JSON/);
    assert.throws(() => readSafetensors(join(t.path, 'missing.safetensors')), UserError);
  } finally {
    t.cleanup();
  }
});

test('writeSafetensors rejects a shape/data mismatch and leaves nothing behind', () => {
  const t = tempDir();
  try {
    const m: ParameterMap = new Map([['x', { shape: [3], data: new Float32Array(2) }]]);
    assert.throws(() => writeSafetensors(join(t.path, 'x.safetensors'), m));
    assert.deepEqual(readdirSync(t.path), []);
  } finally {
    t.cleanup();
  }
});
