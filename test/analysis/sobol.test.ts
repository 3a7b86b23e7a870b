// Sobol indices of polynomial surfaces: the exact Legendre decomposition against closed forms, and the bootstrap
// over configurations (seeded, deterministic, covering the truth on a simulated study).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sobolDecomposition, sobolIndices, formatSobol, tableFromRows } from '../../src/analysis/index.js';
import { Rng } from '../../src/util/index.js';

const close = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('additive polynomial: S_i = T_i, no interaction share', () => {
  // f = x1 + 2 x2 on [0, 1]²: Var = 1/12 + 4/12
  const d = sobolDecomposition({ powers: [[0, 0], [1, 0], [0, 1]], params: [3, 1, 2] }, [[0, 1], [0, 1]]);
  close(d.variance, 5 / 12, 'variance');
  close(d.first[0]!, 0.2, 'S1'); close(d.first[1]!, 0.8, 'S2');
  close(d.total[0]!, 0.2, 'T1'); close(d.total[1]!, 0.8, 'T2');
  close(d.second[0]!, 0, 'S12');
  // x1² + x2 on [−1, 1]²: Var(x²) = 1/5 − 1/9 = 4/45, Var(x2) = 1/3
  const q = sobolDecomposition({ powers: [[2, 0], [0, 1]], params: [1, 1] }, [[-1, 1], [-1, 1]]);
  close(q.first[0]!, 4 / 19, 'S1 of x1²'); close(q.total[0]!, 4 / 19, 'T1 of x1²');
});

test('pure interaction x1·x2: S_i = 0, T_i = 1 on a symmetric box; 3/7 and 1/7 on [0, 1]²', () => {
  const d = sobolDecomposition({ powers: [[1, 1]], params: [1] }, [[-1, 1], [-2, 2]]);
  close(d.first[0]!, 0, 'S1'); close(d.first[1]!, 0, 'S2');
  close(d.total[0]!, 1, 'T1'); close(d.total[1]!, 1, 'T2');
  close(d.second[0]!, 1, 'S12'); close(d.closed[0]!, 1, 'closed 12');
  const u = sobolDecomposition({ powers: [[1, 1]], params: [1] }, [[0, 1], [0, 1]]);
  close(u.first[0]!, 3 / 7, 'S1 on [0,1]²'); close(u.second[0]!, 1 / 7, 'S12 on [0,1]²'); close(u.total[1]!, 4 / 7, 'T2 on [0,1]²');
});

test('Ishigami-like piece x1 (1 + x3²) on [−1, 1]³: S1 = 20/21, S13 = 1/21, x3 acts only through the interaction', () => {
  const d = sobolDecomposition({ powers: [[1, 0, 0], [1, 0, 2]], params: [1, 1] }, [[-1, 1], [-1, 1], [-1, 1]]);
  close(d.variance, 28 / 45, 'variance');
  close(d.first[0]!, 20 / 21, 'S1'); close(d.first[1]!, 0, 'S2'); close(d.first[2]!, 0, 'S3');
  close(d.total[0]!, 1, 'T1'); close(d.total[2]!, 1 / 21, 'T3'); close(d.total[1]!, 0, 'T2');
  const pair13 = d.pairs.findIndex(([i, j]) => i === 0 && j === 2);
  close(d.second[pair13]!, 1 / 21, 'S13');
  // the triple product alone is all third-order
  const t = sobolDecomposition({ powers: [[1, 1, 1]], params: [1] }, [[-1, 1], [-1, 1], [-1, 1]]);
  close(t.higher, 1, 'S123'); close(t.first[0]!, 0, 'S1 of x1x2x3');
});

test('for any polynomial the shares of every subset add to 1 and T_i sums the subsets holding i', () => {
  const rng = new Rng(7);
  const powers = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 0], [1, 0, 1], [0, 1, 1], [3, 0, 0], [2, 1, 0], [1, 1, 1], [0, 1, 2]];
  for (let rep = 0; rep < 5; rep++) {
    const params = powers.map(() => rng.normal());
    const box: [number, number][] = [[-5.5, -3.5], [8, 64], [1, 3]];
    const d = sobolDecomposition({ powers, params }, box);
    let sum = 0;
    for (const v of d.shares.values()) sum += v;
    close(sum, 1, 'Σ shares', 1e-9);
    close(d.first.reduce((a, b) => a + b, 0) + d.second.reduce((a, b) => a + b, 0) + d.higher, 1, 'Σ S_i + Σ S_ij + higher', 1e-9);
    for (let i = 0; i < 3; i++) assert.ok(d.total[i]! >= d.first[i]! - 1e-12);
    // Monte Carlo check of the variance (independent of the Legendre algebra)
    const f = (x: number[]): number => powers.reduce((s, pw, j) => s + params[j]! * pw.reduce((p, e, i) => p * x[i]! ** e, 1), 0);
    let m = 0, m2 = 0;
    const N = 200000;
    for (let n = 0; n < N; n++) {
      const v = f(box.map(([lo, hi]) => lo + (hi - lo) * rng.uniform()));
      m += v; m2 += v * v;
    }
    const mcVar = m2 / N - (m / N) ** 2;
    assert.ok(Math.abs(mcVar - d.variance) < 0.02 * d.variance, `variance ${d.variance} vs Monte Carlo ${mcVar}`);
  }
});

function simulated(noise: number, seed = 3): ReturnType<typeof tableFromRows> {
  const rng = new Rng(seed);
  const rows: Record<string, number>[] = [];
  for (const x1 of [0, 0.25, 0.5, 0.75, 1]) for (const x2 of [-1, -0.5, 0, 0.5, 1]) for (const s of [1, 2, 3]) {
    rows.push({ x1, x2, seed: s, y: 0.5 * x1 + x2 * x2 + 0.3 * x1 * x2 + noise * rng.normal() });
  }
  return tableFromRows(rows, 'sim');
}
const SPEC = { degree: 2 as const, logLr: false, standardize: false };

test('fitted surface: exact data give the closed form; the bootstrap is deterministic for a seed and its CIs cover the truth', () => {
  const truth = sobolDecomposition({ powers: [[0, 0], [1, 0], [0, 1], [2, 0], [0, 2], [1, 1]], params: [0, 0.5, 0, 0, 1, 0.3] }, [[0, 1], [-1, 1]]);
  const exact = sobolIndices(simulated(0), { predictors: ['x1', 'x2'], response: 'y', spec: SPEC, B: 50, seed: 1 });
  close(exact.first.x1!, truth.first[0]!, 'exact S1', 1e-9);
  close(exact.total.x2!, truth.total[1]!, 'exact T2', 1e-9);
  close(exact.second['x1:x2']!, truth.second[0]!, 'exact S12', 1e-9);
  const a = sobolIndices(simulated(0.05), { predictors: ['x1', 'x2'], response: 'y', spec: SPEC, B: 400, seed: 11 });
  const b = sobolIndices(simulated(0.05), { predictors: ['x1', 'x2'], response: 'y', spec: SPEC, B: 400, seed: 11 });
  const c = sobolIndices(simulated(0.05), { predictors: ['x1', 'x2'], response: 'y', spec: SPEC, B: 400, seed: 12 });
  assert.deepEqual(a.ci, b.ci);
  assert.notDeepEqual(a.ci, c.ci);
  assert.equal(a.bootstrap!.configurations, 25);
  const inside = (iv: [number, number], v: number, what: string): void => assert.ok(iv[0] <= v && v <= iv[1], `${what}: ${v} outside [${iv[0]}, ${iv[1]}]`);
  inside(a.ci!.first.x1!, truth.first[0]!, 'S1');
  inside(a.ci!.first.x2!, truth.first[1]!, 'S2');
  inside(a.ci!.total.x1!, truth.total[0]!, 'T1');
  inside(a.ci!.total.x2!, truth.total[1]!, 'T2');
  inside(a.ci!.second['x1:x2']!, truth.second[0]!, 'S12');
  assert.ok(a.ci!.first.x1![1] - a.ci!.first.x1![0] > 0, 'a noisy fit has a CI of positive width');
  const text = formatSobol(a);
  assert.match(text, /^Sobol indices of the fitted y surface over the design box/);
  assert.match(text, /x1:x2/);
  assert.match(text, /bootstrap: 400 resamples of 25 configurations \(seeds kept together\), seed 11/);
});

test('log-scaled learning rate: the surface is uniform in log10 lr; centring does not change the indices', () => {
  const rows: Record<string, number>[] = [];
  for (const lr of [1e-5, 3e-5, 1e-4]) for (const bs of [8, 16, 32]) rows.push({ lr, bs, y: 0.9 + 0.02 * Math.log10(lr) ** 2 + 0.001 * bs });
  const t = tableFromRows(rows, 'lr');
  const plain = sobolIndices(t, { predictors: ['lr', 'bs'], response: 'y', spec: { degree: 2, logLr: true, standardize: false }, B: 0 });
  const centred = sobolIndices(t, { predictors: ['lr', 'bs'], response: 'y', spec: { degree: 2, logLr: true, standardize: false, center: { kind: 'baseline', config: { lr: 1e-5, bs: 32 } } }, B: 0 });
  assert.equal(plain.scale.lr, 'log10');
  close(plain.first.lr!, centred.first.lr!, 'S lr', 1e-9);
  close(plain.total.bs!, centred.total.bs!, 'T bs', 1e-9);
  const x: [number, number] = [-5, -4];
  const truth = sobolDecomposition({ powers: [[0, 0], [2, 0], [0, 1]], params: [0.9, 0.02, 0.001] }, [x, [8, 32]]);
  close(plain.first.lr!, truth.first[0]!, 'S lr vs closed form', 1e-9);
  assert.equal(plain.ci, null);
});

test('analyze --importance prints the table and writes each fit\'s `sobol` (the same for both frames)', async () => {
  const { runAnalyze } = await import('../../src/cli/commands/analyze.js');
  const { tempDir, ROOT } = await import('../helpers.js');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const tmp = tempDir();
  try {
    const out = join(tmp.path, 'fits.json');
    let text = '';
    await runAnalyze(join(ROOT, 'test', 'analysis', 'fixtures', 'center', 'data.csv'), {
      predictors: 'learning_rate,per_device_train_batch_size,num_train_epochs', response: 'accuracy', degree: '2', logLr: true,
      baseline: 'accuracy=0.91', importance: true, importanceBootstrap: 200, importanceSeed: 5, json: out,
    }, (s) => { text += s; });
    assert.match(text, /Sobol indices of the fitted accuracy surface over the design box \(uniform in learning_rate ∈ \[1e-5, 1e-4\] on log10/);
    assert.match(text, /bootstrap: 200 resamples of 27 configurations \(seeds kept together\), seed 5/);
    const fits = JSON.parse(readFileSync(out, 'utf8')) as { frame: string; sobol: { first: Record<string, number>; ci: { total: Record<string, [number, number]> } } }[];
    assert.equal(fits.length, 2);
    assert.deepEqual(fits[0]!.sobol, fits[1]!.sobol);
    const s = fits[0]!.sobol;
    assert.ok(s.first.learning_rate! > s.first.per_device_train_batch_size!);
    const [lo, hi] = s.ci.total.learning_rate!;
    assert.ok(lo < hi && lo >= 0 && hi <= 1);
  } finally {
    tmp.cleanup();
  }
});
