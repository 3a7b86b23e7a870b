/**
 * MixedSession (products as native bf16 GEMMs, the rest in ORT) against the plain fp32 Session on the same graph.
 * Plumbing is checked bit-exactly: with small integer operands every value is exact in bf16 and every sum exact in
 * fp32, so any wrong transpose, batch, bias or stage order shows as a difference, while rounding cannot.
 * The rounding itself is checked in test/native/bf16.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, MixedSession, Session, gradients, type HostTensor, type Tensor } from '../../src/engine/index.js';
import { bf16Support } from '../../src/native/index.js';

const support = bf16Support();
const skip = !support.built && !process.env.CI ? `bf16 addon not built: ${support.reason}` : false;

function ints(n: number, seed: number, range = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s % (2 * range + 1)) - range;
  });
}

/** A graph with every product form the engine records: Gemm (bias, transB, transA), 2-D/3-D/4-D MatMul, folded transposes; loss Σ y ⊙ w and its gradients. */
function build(): { g: Graph; outputs: Record<string, Tensor>; feeds: Record<string, HostTensor>; products: number } {
  const g = new Graph('mixed');
  const [B, S, D, H] = [2, 3, 4, 2];
  const x = g.input('x', 'float32', ['batch', 'seq', D]);
  const w1 = g.input('w1', 'float32', [D, D]);
  const b1 = g.input('b1', 'float32', [D]);
  const w2 = g.input('w2', 'float32', [D, 5]);
  const x2 = g.reshape(x, [-1, D]);
  const h = g.gemm(x2, w1, b1, { transB: true }); // [B·S, D]
  const h3 = g.reshape(h, [B, S, D]);
  const heads = g.transpose(g.reshape(h3, [B, S, H, D / H]), [0, 2, 1, 3]); // [B,H,S,dh]
  const scores = g.matmul(heads, g.transposeLast2(heads)); // [B,H,S,S], folded transB
  const ctx = g.matmul(scores, heads); // [B,H,S,dh]
  const merged = g.reshape(g.transpose(ctx, [0, 2, 1, 3]), [B, S, D]);
  const y3 = g.matmul(merged, w2); // rank 3 × rank 2: folded into rows
  const t = g.gemm(g.reshape(y3, [-1, 5]), x2, null, { transA: true }); // [5, D]
  const out = t;
  const wt = g.input('wt', 'float32', [B, 5]);
  const loss = g.add(g.reduceSum(g.mul(g.relu(y3), g.unsqueeze(wt, [1])), [0, 1, 2], false), g.reduceSum(t, [0, 1], false));
  const [gx, gw1, gb1, gw2] = gradients(loss, [x, w1, b1, w2]) as Tensor[];
  const feeds: Record<string, HostTensor> = {
    x: { dtype: 'float32', dims: [B, S, D], data: ints(B * S * D, 1) },
    w1: { dtype: 'float32', dims: [D, D], data: ints(D * D, 2) },
    b1: { dtype: 'float32', dims: [D], data: ints(D, 3, 2) },
    w2: { dtype: 'float32', dims: [D, 5], data: ints(D * 5, 4) },
    wt: { dtype: 'float32', dims: [B, 5], data: ints(B * 5, 5) },
  };
  const outputs = { out, loss, gx: gx as Tensor, gw1: gw1 as Tensor, gb1: gb1 as Tensor, gw2: gw2 as Tensor };
  const products = g.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm').length;
  return { g, outputs, feeds, products };
}

test('MixedSession: every product runs as bf16 GEMM and the outputs equal the fp32 session bit for bit on exact operands', { skip }, async () => {
  const { g, outputs, feeds } = build();
  const ref = await Session.create(g.toModel(outputs), { intraOpNumThreads: 1 });
  const mixed = await MixedSession.create(g, outputs, { intraOpNumThreads: 1, allowEmulation: true });
  try {
    assert.equal(mixed.stats.fp32Products, 0);
    assert.ok(mixed.stats.bf16Products >= 8, `only ${mixed.stats.bf16Products} products went native`);
    assert.ok(mixed.stats.ortParts >= 3);
    const a = await ref.run(feeds);
    const b = await mixed.run(feeds);
    for (const name of Object.keys(outputs)) {
      const x = a[name] as HostTensor;
      const y = b[name] as HostTensor;
      assert.deepEqual([...y.dims], [...x.dims], `${name} dims`);
      assert.deepEqual(Array.from(y.data as Float32Array), Array.from(x.data as Float32Array), `${name} values`);
      assert.ok((x.data as Float32Array).some((v) => v !== 0), `${name} is all zeros: the check would be vacuous`);
    }
  } finally {
    await ref.dispose();
    await mixed.dispose();
  }
});

test('MixedSession: outputs go into caller buffers; repeated runs are identical; a subset of outputs can be asked for', { skip }, async () => {
  const { g, outputs, feeds } = build();
  // non-exact operands: bf16 rounding now matters, results must still repeat exactly
  for (const k of Object.keys(feeds)) feeds[k] = { ...(feeds[k] as HostTensor), data: ((feeds[k] as HostTensor).data as Float32Array).map((v, i) => v * 0.37 + i * 0.011) };
  const mixed = await MixedSession.create(g, outputs, { intraOpNumThreads: 2, allowEmulation: true });
  try {
    const gw1 = new Float32Array(16);
    const gx = new Float32Array(24);
    const r1 = await mixed.run(feeds, undefined, { gw1: { dtype: 'float32', dims: [4, 4], data: gw1 }, gx: { dtype: 'float32', dims: [2, 3, 4], data: gx } });
    assert.equal((r1.gw1 as HostTensor).data, gw1);
    assert.equal((r1.gx as HostTensor).data, gx);
    assert.ok(gw1.some((v) => v !== 0) && gx.some((v) => v !== 0));
    const r2 = await mixed.run(feeds);
    for (const n of Object.keys(outputs)) assert.deepEqual(Array.from((r2[n] as HostTensor).data as Float32Array), Array.from((r1[n] as HostTensor).data as Float32Array), n);
    const r3 = await mixed.run(feeds, ['loss']);
    assert.deepEqual(Object.keys(r3), ['loss']);
    assert.equal(((r3.loss as HostTensor).data as Float32Array)[0], ((r1.loss as HostTensor).data as Float32Array)[0]);
    // and bf16 rounding is visible against fp32 (the products are not secretly fp32)
    const ref = await Session.create(g.toModel(outputs), { intraOpNumThreads: 1 });
    const a = await ref.run(feeds);
    await ref.dispose();
    const diff = Math.max(...Array.from((a.gw1 as HostTensor).data as Float32Array, (v, i) => Math.abs(v - (gw1[i] as number))));
    assert.ok(diff > 0, 'bf16 result equals fp32 exactly on inexact operands');
  } finally {
    await mixed.dispose();
  }
});
