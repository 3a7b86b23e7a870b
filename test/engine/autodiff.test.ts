/**
 * Every gradient rule against central finite differences: the graph computes L = Σ w ⊙ f(inputs) with a fixed
 * random weight w, the rule's gradients come from `gradients(L, inputs)`, and each input element is nudged ±h.
 * float64 graphs where ORT has double kernels (Erf has none: float32 with a looser tolerance).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Session, RandomStream, gradients, gradientsMixed, type Tensor, type DType, type HostTensor, type SparseGrad } from '../../src/engine/index.js';
import { Rng } from '../../src/util/index.js';

interface Spec {
  shape: number[];
  /** values; default random normal */
  values?: number[];
  /** not differentiated (e.g. indices) */
  int?: boolean;
}

async function fdCheck(
  specs: Record<string, Spec>,
  build: (g: Graph, x: Record<string, Tensor>) => Tensor,
  opts: { dtype?: DType; h?: number; atol?: number; rtol?: number; seed?: number; meta?: string } = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'float64';
  const rng = new Rng(opts.seed ?? 1);
  const g = new Graph('fd');
  const inputs: Record<string, Tensor> = {};
  const feeds: Record<string, HostTensor> = {};
  const diff: string[] = [];
  for (const [name, s] of Object.entries(specs)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.int) {
      inputs[name] = g.input(name, 'int64', s.shape);
      feeds[name] = { dtype: 'int64', dims: s.shape, data: BigInt64Array.from((s.values ?? []).map((v) => BigInt(v))) };
    } else {
      inputs[name] = g.input(name, dtype, s.shape);
      const vals = s.values ?? Array.from({ length: n }, () => rng.normal());
      feeds[name] = { dtype, dims: s.shape, data: dtype === 'float64' ? Float64Array.from(vals) : Float32Array.from(vals) };
      diff.push(name);
    }
  }
  const y = build(g, inputs);
  const yShape = y.shape as number[];
  assert.ok(yShape.every((d) => typeof d === 'number'), `test output needs a static shape, got ${JSON.stringify(y.shape)}`);
  const w = g.input('__w', dtype, yShape);
  const nW = yShape.reduce((a, b) => a * b, 1);
  feeds.__w = { dtype, dims: yShape, data: dtype === 'float64' ? Float64Array.from({ length: nW }, () => rng.normal()) : Float32Array.from({ length: nW }, () => rng.normal()) };
  const loss = g.reduceSum(g.mul(y, w), Array.from({ length: yShape.length }, (_, i) => i), false);
  const grads = gradients(loss, diff.map((d) => inputs[d] as Tensor));
  const outputs: Record<string, Tensor> = { loss };
  diff.forEach((d, i) => (outputs[`grad_${d}`] = grads[i] as Tensor));
  const s = await Session.create(g.toModel(outputs), { intraOpNumThreads: 1 });
  try {
    const r = await s.run(feeds);
    const h = opts.h ?? (dtype === 'float64' ? 1e-6 : 1e-2);
    const atol = opts.atol ?? (dtype === 'float64' ? 1e-7 : 2e-3);
    const rtol = opts.rtol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
    for (const d of diff) {
      const data = (feeds[d] as HostTensor).data as Float64Array | Float32Array;
      const analytic = (r[`grad_${d}`] as HostTensor).data as Float64Array | Float32Array;
      assert.equal(analytic.length, data.length, `gradient of ${d} has ${analytic.length} values for ${data.length} inputs`);
      for (let i = 0; i < data.length; i++) {
        const orig = data[i] as number;
        data[i] = orig + h;
        const lp = ((await s.run(feeds, ['loss'])).loss?.data as Float64Array)[0] as number;
        data[i] = orig - h;
        const lm = ((await s.run(feeds, ['loss'])).loss?.data as Float64Array)[0] as number;
        data[i] = orig;
        const num = (lp - lm) / (2 * h);
        const a = analytic[i] as number;
        assert.ok(Math.abs(a - num) <= atol + rtol * Math.abs(num), `${opts.meta ?? ''} d/d${d}[${i}]: analytic ${a} vs finite difference ${num}`);
      }
    }
  } finally {
    await s.dispose();
  }
}

test('Add/Sub/Mul/Div with broadcasting reduce back to each input shape', async () => {
  const specs = { a: { shape: [2, 3, 4] }, b: { shape: [4] }, c: { shape: [3, 1] }, d: { shape: [2, 1, 4], values: [1.5, 2, -1.7, 3, 2.2, -2.5, 1.1, 4] } };
  await fdCheck(specs, (g, x) => g.div(g.mul(g.sub(g.add(x.a as Tensor, x.b as Tensor), x.c as Tensor), x.b as Tensor), x.d as Tensor), { meta: 'arith' });
});

test('MatMul: 2-D, batched 4-D, broadcast batch, and the N-D × weight fold', async () => {
  await fdCheck({ a: { shape: [3, 4] }, b: { shape: [4, 2] } }, (g, x) => g.matmul(x.a as Tensor, x.b as Tensor));
  await fdCheck({ a: { shape: [2, 2, 3, 4] }, b: { shape: [2, 2, 4, 3] } }, (g, x) => g.matmul(x.a as Tensor, x.b as Tensor));
  await fdCheck({ a: { shape: [2, 3, 4] }, b: { shape: [1, 4, 5] } }, (g, x) => g.matmul(x.a as Tensor, x.b as Tensor));
  // linear layer y = x·Wᵀ with W [out, in]: exercises the transpose/MatMul rewrites
  await fdCheck({ x: { shape: [2, 3, 4] }, w: { shape: [5, 4] } }, (g, x) => g.matmul(x.x as Tensor, g.transpose(x.w as Tensor)));
});

test('Gemm with every transA/transB combination and a broadcast C', async () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const specs = { a: { shape: transA ? [4, 3] : [3, 4] }, b: { shape: transB ? [2, 4] : [4, 2] }, c: { shape: [2] } };
      await fdCheck(specs, (g, x) => g.gemm(x.a as Tensor, x.b as Tensor, x.c as Tensor, { transA, transB, alpha: 0.7, beta: 1.3 }), { meta: `gemm ${transA} ${transB}` });
    }
  }
});

test('Transpose, Reshape, Unsqueeze, Squeeze, Expand', async () => {
  await fdCheck({ a: { shape: [2, 3, 4] } }, (g, x) => g.transpose(g.reshape(x.a as Tensor, [0, 0, 2, 2]), [0, 2, 1, 3]));
  await fdCheck({ a: { shape: [2, 3] } }, (g, x) => g.squeeze(g.unsqueeze(x.a as Tensor, [0, 2]), [0]));
  await fdCheck({ a: { shape: [3, 1] } }, (g, x) => g.expand(x.a as Tensor, g.ints([2, 3, 4]), [2, 3, 4]));
});

test('unary ops: Exp, Log, Sqrt, Pow, Neg, Relu, Tanh, Sigmoid', async () => {
  const pos = { a: { shape: [6], values: [0.3, 1.2, 2.5, 0.7, 1.9, 3.1] } };
  await fdCheck(pos, (g, x) => g.add(g.add(g.exp(x.a as Tensor), g.log(x.a as Tensor)), g.add(g.sqrt(x.a as Tensor), g.pow(x.a as Tensor, 2.5))));
  await fdCheck({ a: { shape: [6], values: [-1.2, -0.3, 0.4, 1.7, -2.2, 0.9] } }, (g, x) => g.add(g.add(g.relu(x.a as Tensor), g.tanh(x.a as Tensor)), g.add(g.sigmoid(x.a as Tensor), g.neg(x.a as Tensor))));
  await fdCheck({ a: { shape: [4], values: [0.5, 1.5, 2, 1.1] }, b: { shape: [4], values: [1.3, 0.4, 2.1, -0.6] } }, (g, x) => g.pow(x.a as Tensor, x.b as Tensor));
});

test('Erf and the exact GELU built from it (float32: ORT has no double Erf)', async () => {
  await fdCheck({ a: { shape: [8] } }, (g, x) => {
    const h = x.a as Tensor;
    return g.mul(g.mul(h, 0.5), g.add(g.erf(g.div(h, Math.SQRT2)), 1));
  }, { dtype: 'float32' });
});

test('com.microsoft Gelu (fused exact GELU) has the closed-form gradient', async () => {
  await fdCheck({ a: { shape: [2, 5], values: [-3, -1.5, -0.7, -0.2, 0, 0.1, 0.6, 1.2, 2.2, 3.5] } }, (g, x) => g.gelu(x.a as Tensor), { dtype: 'float32' });
});

test('Softmax, LogSoftmax and reductions (keepdims on/off)', async () => {
  await fdCheck({ a: { shape: [2, 3, 4] } }, (g, x) => g.softmax(x.a as Tensor, -1));
  await fdCheck({ a: { shape: [3, 5] } }, (g, x) => g.logSoftmax(x.a as Tensor, 1));
  await fdCheck({ a: { shape: [2, 3, 4] } }, (g, x) => g.add(g.reduceSum(x.a as Tensor, [1], false), g.reduceMean(x.a as Tensor, [1], false)));
  await fdCheck({ a: { shape: [2, 3, 4] } }, (g, x) => g.mul(g.reduceMean(x.a as Tensor, [0, 2], true), g.reduceSum(x.a as Tensor, [2], true)));
});

test('Where routes the gradient by the condition to both branches', async () => {
  await fdCheck(
    { a: { shape: [2, 3] }, b: { shape: [3] }, m: { shape: [2, 3], values: [1, 0, 1, 0, 0, 1], int: true } },
    (g, x) => g.where(g.equal(x.m as Tensor, 0), x.a as Tensor, x.b as Tensor),
  );
});

test('LayerNormalization: input, scale and bias', async () => {
  await fdCheck({ x: { shape: [2, 3, 5] }, s: { shape: [5] }, b: { shape: [5] } }, (g, x) => g.layerNorm(x.x as Tensor, x.s as Tensor, x.b as Tensor, 1e-5), { rtol: 1e-5, atol: 1e-6 });
});

test('Slice (static and runtime ends) pads the gradient back; Concat splits it', async () => {
  await fdCheck({ a: { shape: [3, 5] } }, (g, x) => g.slice(x.a as Tensor, [1, 0], [3, 4], [0, 1]));
  await fdCheck({ a: { shape: [6, 2] }, ids: { shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8], int: true } }, (g, x) => {
    const len = g.gather(g.shapeOf(x.ids as Tensor), g.ints([1]), 0);
    return g.reshape(g.slice(x.a as Tensor, g.constant([0], 'int64', [1]), len, [0]), [4, 2]);
  });
  await fdCheck({ a: { shape: [2, 3] }, b: { shape: [2, 2] } }, (g, x) => g.concat([x.a as Tensor, x.b as Tensor, x.a as Tensor], 1));
});

test('Gather (embedding): repeated ids add up; the padding row gets no gradient', async () => {
  const ids = { shape: [2, 3], values: [1, 3, 1, 0, 3, 3], int: true };
  await fdCheck({ table: { shape: [4, 2] }, ids }, (g, x) => g.gather(x.table as Tensor, x.ids as Tensor, 0));
  // with paddingIdx 0 the analytic gradient of row 0 is exactly zero (torch padding_idx), the rest unchanged
  const g = new Graph();
  const table = g.input('table', 'float32', [4, 2]);
  const idsT = g.input('ids', 'int64', [2, 3]);
  const y = g.reduceSum(g.gather(table, idsT, 0, { paddingIdx: 0 }), [0, 1, 2], false);
  const acc = g.input('acc', 'float32', [4, 2]);
  const [grad] = gradients(y, [table], { accumulate: [acc] });
  const s = await Session.create(g.toModel({ grad: grad as Tensor }), { intraOpNumThreads: 1 });
  const r = await s.run({
    table: { dtype: 'float32', dims: [4, 2], data: new Float32Array(8) },
    ids: { dtype: 'int64', dims: [2, 3], data: BigInt64Array.from([1n, 3n, 1n, 0n, 3n, 3n]) },
    acc: { dtype: 'float32', dims: [4, 2], data: Float32Array.from([10, 10, 0, 0, 0, 0, 0.5, 0.5]) },
  });
  // row 0: accumulator only; row 1: 2 occurrences; row 2: none; row 3: 3 occurrences + 0.5
  assert.deepEqual(Array.from(r.grad?.data as Float32Array), [10, 10, 2, 2, 0, 0, 3.5, 3.5]);
  await s.dispose();
});

test('gradientsMixed: an all-sparse gradient stays rows + ids (two lookups concatenated); scattered, it equals the dense one', async () => {
  const g = new Graph();
  const table = g.input('table', 'float32', [5, 2]);
  const w = g.input('w', 'float32', [2]);
  const a = g.input('a', 'int64', [3]);
  const b = g.input('b', 'int64', [2]);
  // table feeds two Gathers (one with a padding row); w is dense
  const y = g.reduceSum(g.mul(g.add(g.reduceSum(g.gather(table, a, 0, { paddingIdx: 0 }), [0], false), g.reduceSum(g.mul(g.gather(table, b, 0), 3), [0], false)), w), [0], false);
  const [sp, dw] = gradientsMixed(y, [table, w], { sparse: [true, true] });
  assert.ok(sp && 'kind' in sp && sp.kind === 'sparse');
  assert.ok(dw && !('kind' in dw), 'a dense gradient stays dense even when sparse is asked for');
  const [dense] = gradients(y, [table]);
  const s = await Session.create(g.toModel({ idx: (sp as SparseGrad).indices, upd: (sp as SparseGrad).updates, dense: dense as Tensor }), { intraOpNumThreads: 1 });
  const r = await s.run({
    table: { dtype: 'float32', dims: [5, 2], data: new Float32Array(10) },
    w: { dtype: 'float32', dims: [2], data: Float32Array.from([1, 2]) },
    a: { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, 0n, 4n]) },
    b: { dtype: 'int64', dims: [2], data: BigInt64Array.from([4n, 0n]) },
  });
  const idx = r.idx?.data as BigInt64Array;
  const upd = r.upd?.data as Float32Array;
  assert.deepEqual(r.idx?.dims, [5, 1]);
  const scattered = new Float32Array(10);
  for (let k = 0; k < idx.length; k++) for (let j = 0; j < 2; j++) scattered[Number(idx[k]) * 2 + j] += upd[k * 2 + j] as number;
  assert.deepEqual(Array.from(scattered), Array.from(r.dense?.data as Float32Array));
  // row 0: only the second lookup (the first one's padding row gets nothing): 3·w; row 4: w + 3·w
  assert.deepEqual(Array.from(scattered), [3, 6, 1, 2, 0, 0, 0, 0, 4, 8]);
  await s.dispose();
  const acc = g.input('acc', 'float32', [5, 2]);
  assert.throws(() => gradientsMixed(y, [table], { sparse: [true], accumulate: [acc] }), /cannot also be accumulated/);
});

test('gradients(): seed scales, accumulate adds, unreachable inputs get zeros', async () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [3]);
  const unused = g.input('u', 'float32', [2]);
  const seed = g.input('seed', 'float32', []);
  const acc = g.input('acc', 'float32', [3]);
  const y = g.reduceSum(g.mul(a, a), [0], false);
  const [ga, gu] = gradients(y, [a, unused], { seed, accumulate: [acc, null] });
  const s = await Session.create(g.toModel({ ga: ga as Tensor, gu: gu as Tensor }), { intraOpNumThreads: 1 });
  const r = await s.run({
    a: { dtype: 'float32', dims: [3], data: Float32Array.from([1, 2, 3]) },
    u: { dtype: 'float32', dims: [2], data: Float32Array.from([5, 5]) },
    seed: { dtype: 'float32', dims: [], data: Float32Array.of(0.5) },
    acc: { dtype: 'float32', dims: [3], data: Float32Array.from([1, 1, 1]) },
  });
  assert.deepEqual(Array.from(r.ga?.data as Float32Array), [2, 3, 4]);
  assert.deepEqual(Array.from(r.gu?.data as Float32Array), [0, 0]);
  await s.dispose();
});

test('an op without a rule is a clear error', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [3]);
  const y = g.node('Cos', [a], {}, [{ dtype: 'float32', shape: [3] }])[0] as Tensor;
  assert.throws(() => gradients(g.reduceSum(y, [0], false), [a]), /no gradient rule for ONNX op Cos/);
});

test('dropout: threshold at p·2³², survivors scaled by 1/(1−p), the same mask in backward; RandomStream keeps ≈1−p', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [6]);
  const bits = g.input('bits', 'uint32', [6]);
  const y = g.dropout(x, bits, 0.25);
  const [dx] = gradients(g.reduceSum(y, [0], false), [x]);
  const s = await Session.create(g.toModel({ y, dx: dx as Tensor }), { intraOpNumThreads: 1 });
  const q = 0.25 * 2 ** 32;
  const r = await s.run({
    x: { dtype: 'float32', dims: [6], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    bits: { dtype: 'uint32', dims: [6], data: Uint32Array.from([0, q - 1024, q, q + 1024, 2 ** 32 - 1, 12345]) },
  });
  const scale = Math.fround(1 / 0.75);
  assert.deepEqual(Array.from(r.y?.data as Float32Array), [0, 0, 3, 4, 5, 0].map((v) => Math.fround(v * scale)));
  assert.deepEqual(Array.from(r.dx?.data as Float32Array), [0, 0, 1 / 0.75, 1 / 0.75, 1 / 0.75, 0].map(Math.fround));
  await s.dispose();
  const n = 200_000;
  const a = new RandomStream(7).uint32(n);
  const b = new RandomStream(7).uint32(n);
  assert.deepEqual(a.subarray(0, 16), b.subarray(0, 16));
  assert.notDeepEqual(Array.from(new RandomStream(8).uint32(16)), Array.from(a.subarray(0, 16)));
  let kept = 0;
  for (const v of a) if (v >= 0.1 * 2 ** 32) kept++;
  assert.ok(Math.abs(kept / n - 0.9) < 4 * Math.sqrt((0.9 * 0.1) / n), `kept ${kept / n}`);
});

test('dropout: int32 draws (RandomStream.int32) keep exactly the elements the uint32 draws of the same stream keep', async () => {
  const n = 4096;
  for (const p of [0.1, 0.25, 0.5, 0.9]) {
    const g = new Graph();
    const x = g.input('x', 'float32', [n]);
    const yu = g.dropout(x, g.input('bu', 'uint32', [n]), p);
    const yi = g.dropout(x, g.input('bi', 'int32', [n]), p);
    const s = await Session.create(g.toModel({ yu, yi }), { intraOpNumThreads: 1 });
    const bu = new RandomStream(3).uint32(n);
    const bi = new RandomStream(3).int32(n);
    for (let i = 0; i < n; i++) assert.equal(bi[i], ((bu[i] as number) ^ 0x80000000) | 0);
    // draws right at the threshold: u0 − 1 is dropped and u0 kept on both paths
    const q = Math.fround(p * 2 ** 32);
    bu.set([q - 1, q, q + 1, 0, 2 ** 32 - 1]);
    bi.set(Array.from(bu.subarray(0, 5), (u) => (u ^ 0x80000000) | 0));
    const r = await s.run({
      x: { dtype: 'float32', dims: [n], data: Float32Array.from({ length: n }, (_, i) => i + 1) },
      bu: { dtype: 'uint32', dims: [n], data: bu },
      bi: { dtype: 'int32', dims: [n], data: bi },
    });
    assert.deepEqual(r.yi?.data, r.yu?.data, `p ${p}`);
    await s.dispose();
  }
});
