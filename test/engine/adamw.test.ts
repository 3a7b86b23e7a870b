/** The WASM AdamW kernels against a float64 reference of torch's AdamW + clip_grad_norm_. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamWStore } from '../../src/engine/index.js';

test('AdamWStore: two clipped AdamW steps with per-tensor decay match the torch formulas', () => {
  const sizes = new Map([['w', 7], ['b', 12], ['one', 1], ['empty', 0]]);
  const st = AdamWStore.create(sizes);
  assert.ok(st, 'WebAssembly SIMD is available in Node 20');
  const store = st as AdamWStore;
  const ref = new Map<string, { p: number[]; m: number[]; v: number[] }>();
  const grads = new Map<string, number[]>();
  for (const [n, k] of sizes) {
    const p = Array.from({ length: k }, (_, i) => Math.fround(Math.sin(i + k)));
    store.param(n).set(p);
    ref.set(n, { p, m: new Array<number>(k).fill(0), v: new Array<number>(k).fill(0) });
  }
  const [lr, wd, b1, b2, eps, maxNorm] = [1e-3, 0.01, 0.9, 0.999, 1e-8, 0.5];
  for (let t = 1; t <= 2; t++) {
    let ss = 0;
    for (const [n, k] of sizes) {
      const g = Array.from({ length: k }, (_, i) => Math.fround(Math.cos(3 * i + k + t) * 0.2));
      grads.set(n, g);
      store.grad(n).set(g);
      for (const x of g) ss += x * x;
    }
    const norm = store.update({ lr, betas: [b1, b2], eps, weightDecay: (n) => (n === 'b' ? 0 : wd), maxGradNorm: maxNorm });
    assert.ok(Math.abs(norm - Math.sqrt(ss)) < 1e-12 * Math.sqrt(ss) + 1e-15, `norm ${norm} vs ${Math.sqrt(ss)}`);
    const coef = Math.min(maxNorm / (Math.sqrt(ss) + 1e-6), 1);
    assert.ok(coef < 1, 'the test clips');
    for (const [n, r] of ref) {
      const g = grads.get(n) as number[];
      const w = n === 'b' ? 0 : wd;
      for (let i = 0; i < r.p.length; i++) {
        const gi = (g[i] as number) * coef;
        r.p[i] = (r.p[i] as number) * (1 - lr * w);
        r.m[i] = b1 * (r.m[i] as number) + (1 - b1) * gi;
        r.v[i] = b2 * (r.v[i] as number) + (1 - b2) * gi * gi;
        r.p[i] = (r.p[i] as number) - ((lr / (1 - b1 ** t)) * (r.m[i] as number)) / (Math.sqrt(r.v[i] as number) / Math.sqrt(1 - b2 ** t) + eps);
      }
      const got = store.param(n);
      for (let i = 0; i < r.p.length; i++) assert.ok(Math.abs((got[i] as number) - (r.p[i] as number)) < 2e-7, `${n}[${i}] step ${t}: ${got[i]} vs ${r.p[i]}`);
      const m = store.expAvg(n);
      for (let i = 0; i < r.m.length; i++) assert.ok(Math.abs((m[i] as number) - (r.m[i] as number)) < 1e-6 * Math.abs(r.m[i] as number) + 1e-12, `exp_avg ${n}[${i}]`);
    }
  }
  assert.equal(store.stepCount, 2);
  store.zeroGrads();
  assert.equal(store.gradNorm(), 0);
});

test('AdamWStore: without clipping a zero gradient only applies the decoupled decay', () => {
  const store = AdamWStore.create(new Map([['x', 5]])) as AdamWStore;
  store.param('x').set([1, -2, 3, -4, 5]);
  store.update({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: () => 0.5 });
  assert.deepEqual(Array.from(store.param('x')), [1, -2, 3, -4, 5].map((v) => Math.fround(v * Math.fround(0.95))));
});
