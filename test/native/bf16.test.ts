/**
 * The bf16 GEMM addon against float64 references.
 *
 * Tolerance rule (bf16 keeps an 8-bit significand, so rounding to nearest has unit roundoff u = 2⁻⁸):
 * each operand becomes x(1+δ), |δ| ≤ u, so each product a·b gains a relative error ≤ 2u + u², and the fp32
 * sum of K such terms adds at most γ_K = K·2⁻²⁴/(1 − K·2⁻²⁴) of Σ|a||b|. Hence, elementwise,
 *     |C_bf16 − C_exact| ≤ ((2u + u²)(1 + γ_K) + γ_K) · (|A|·|B|)_ij
 * and against the exact product of the bf16-ROUNDED operands (Ã, B̃) only the fp32 accumulation is left:
 *     |C_bf16 − Ã·B̃| ≤ γ_K · (|Ã|·|B̃|)_ij.
 * The second bound is ~2¹⁵× tighter than the first: it fails if the kernel truncates instead of rounding to
 * nearest even, rounds the result, or accumulates in bf16.
 * Without the addon the tests skip locally; CI (CI set) builds it and fails instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16Support, loadBf16, type Bf16Kernels } from '../../src/native/index.js';

const support = bf16Support();
const skip = !support.built && !process.env.CI ? `bf16 addon not built: ${support.reason}` : false;

/** fp32 → bf16 → fp32 with round-to-nearest-even (the rounding the kernels must do). */
function roundBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const v = u[0] as number;
  u[0] = (((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return f[0] as number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  bBatched: boolean;
  bias: boolean;
}

/** Element (i, j) of op(X)[p] for X stored per batch element as rows×cols (cols×rows when trans). */
const at = (x: Float32Array, p: number, i: number, j: number, rows: number, cols: number, trans: boolean): number =>
  x[p * rows * cols + (trans ? j * rows + i : i * cols + j)] as number;

function check(k: Bf16Kernels, c: Case, seed: number): { worst: number; worstRounded: number } {
  const r = rng(seed);
  const bb = c.bBatched ? c.batch : 1;
  // operands with a spread of magnitudes (bf16 keeps fp32's exponent range)
  const a = Float32Array.from({ length: c.batch * c.m * c.k }, () => r() * 2 ** Math.floor(r() * 8));
  const b = Float32Array.from({ length: bb * c.k * c.n }, () => r() * 2 ** Math.floor(r() * 8));
  const bias = c.bias ? Float32Array.from({ length: c.n }, () => r()) : null;
  const out = new Float32Array(c.batch * c.m * c.n);
  k.gemm({ a, b, bias, out, batch: c.batch, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB, bBatched: c.bBatched });
  const u = 2 ** -8;
  const gamma = (c.k * 2 ** -24) / (1 - c.k * 2 ** -24);
  let worst = 0;
  let worstRounded = 0;
  for (let p = 0; p < c.batch; p++) {
    const pb = c.bBatched ? p : 0;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let exact = bias ? (bias[j] as number) : 0;
        let rounded = exact;
        let absExact = 0;
        let absRounded = 0;
        for (let q = 0; q < c.k; q++) {
          const av = at(a, p, i, q, c.m, c.k, c.transA);
          const bv = at(b, pb, q, j, c.k, c.n, c.transB);
          exact += av * bv;
          absExact += Math.abs(av * bv);
          const ar = roundBf16(av);
          const br = roundBf16(bv);
          rounded += ar * br;
          absRounded += Math.abs(ar * br);
        }
        const got = out[(p * c.m + i) * c.n + j] as number;
        // the bias is added in fp32: one more rounding of the result
        const ulp = Math.abs(rounded) * 2 ** -24;
        const bound = ((2 * u + u * u) * (1 + gamma) + gamma) * absExact + ulp;
        const boundRounded = gamma * absRounded + ulp;
        worst = Math.max(worst, Math.abs(got - exact) / bound);
        worstRounded = Math.max(worstRounded, Math.abs(got - rounded) / boundRounded);
        if (Math.abs(got - exact) > bound || Math.abs(got - rounded) > boundRounded) {
          assert.fail(`${JSON.stringify(c)} C[${p},${i},${j}] = ${got}: exact ${exact} (bound ${bound}), bf16-operand exact ${rounded} (bound ${boundRounded})`);
        }
      }
    }
  }
  return { worst, worstRounded };
}

const cases: Case[] = [
  { batch: 1, m: 37, n: 29, k: 67, transA: false, transB: false, bBatched: false, bias: false },
  { batch: 1, m: 64, n: 48, k: 96, transA: false, transB: true, bBatched: false, bias: true },
  { batch: 1, m: 33, n: 40, k: 50, transA: true, transB: false, bBatched: false, bias: false },
  { batch: 1, m: 16, n: 70, k: 31, transA: true, transB: true, bBatched: false, bias: true },
  { batch: 3, m: 12, n: 9, k: 16, transA: false, transB: false, bBatched: true, bias: false },
  { batch: 4, m: 7, n: 12, k: 20, transA: true, transB: true, bBatched: true, bias: false },
  { batch: 2, m: 5, n: 8, k: 6, transA: true, transB: false, bBatched: false, bias: false },
  { batch: 1, m: 1, n: 1, k: 1000, transA: false, transB: false, bBatched: false, bias: false },
];

test('bf16 GEMM: within the bf16 rounding bound of the exact product, and fp32-exact on bf16 operands', { skip }, () => {
  const k = loadBf16({ allowEmulation: true });
  let worst = 0;
  cases.forEach((c, i) => {
    const r = check(k, c, 11 + i);
    worst = Math.max(worst, r.worst);
  });
  // the rounding is real: errors reach a visible fraction of the bf16 bound (an fp32 kernel would sit ~2¹⁵× lower)
  assert.ok(worst > 0.01, `worst error only ${worst} of the bf16 bound: are the operands rounded at all?`);
});

test('bf16 GEMM: repeated runs are bit-identical; both thread counts agree', { skip }, () => {
  const k = loadBf16({ allowEmulation: true });
  const r = rng(5);
  const [M, N, K] = [96, 80, 128];
  const a = Float32Array.from({ length: M * K }, r);
  const b = Float32Array.from({ length: N * K }, r);
  const run = (threads: number): Float32Array => {
    k.setThreads(threads);
    const out = new Float32Array(M * N);
    k.gemm({ a, b, bias: null, out, batch: 1, m: M, n: N, k: K, transA: false, transB: true, bBatched: false });
    return out;
  };
  const first = run(2);
  assert.deepEqual(run(2), first);
  const one = run(1);
  run(2);
  // a fixed split over rows: the thread count does not change any sum (oneDNN may split k differently: within the bound)
  if (k.backend === 'emulated') assert.deepEqual(one, first);
});

test('bf16 GEMM: argument errors are thrown, not crashes', { skip }, () => {
  const k = loadBf16({ allowEmulation: true });
  const small = new Float32Array(4);
  assert.throws(() => k.gemm({ a: small, b: small, bias: null, out: small, batch: 1, m: 4, n: 4, k: 4, transA: false, transB: false, bBatched: false }), /holds 4 values, needs 16/);
  assert.throws(() => k.gemm({ a: small, b: small, bias: null, out: small, batch: 1, m: 0, n: 1, k: 1, transA: false, transB: false, bBatched: false }), /≥ 1/);
});

test('bf16 support: an unavailable addon is one clear reason', () => {
  const prev = process.env.TUNESCOPE_BF16_DISABLE;
  process.env.TUNESCOPE_BF16_DISABLE = '1';
  try {
    const s = bf16Support();
    assert.equal(s.available, false);
    assert.match(s.reason ?? '', /TUNESCOPE_BF16_DISABLE/);
    assert.throws(() => loadBf16(), /--bf16 is unavailable: disabled by TUNESCOPE_BF16_DISABLE=1/);
  } finally {
    if (prev === undefined) delete process.env.TUNESCOPE_BF16_DISABLE;
    else process.env.TUNESCOPE_BF16_DISABLE = prev;
  }
  // on this machine: either AMX with oneDNN, or a reason naming what is missing
  const s = bf16Support();
  if (!s.available) assert.ok(s.reason && s.reason.length > 10);
  else assert.equal(s.isa, 'avx512_core_amx');
});
