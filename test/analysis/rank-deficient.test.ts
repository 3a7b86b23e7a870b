// Rank-deficient and degenerate fits under R's convention (fixture README 13): a kept term's type-II SS comes from
// nested fits over the kept columns (degree 1: F = t²), VIF regresses on the kept columns only (aliased: null), a
// numerically aliased column is described as such and leaves the design's true (finite) condition number; an exact
// fit at rounding level is warned about and an overflowing fit is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, fitOls, tableFromRows, type Row } from '../../src/analysis/index.js';
import { UserError } from '../../src/util/index.js';

const deg = (degree: 1 | 2) => ({ degree, logLr: false, standardize: false });

function rel(a: number, e: number): number { return Math.abs(a - e) / Math.abs(e); }

test('degree 1 with ep = 2·bs exactly: ep aliased, bs keeps an ANOVA row with df 1 and F = t²', () => {
  const rows: Row[] = [];
  for (let i = 0; i < 24; i++) {
    const lr = [1e-5, 2e-5, 3e-5, 5e-5][i % 4];
    const bs = [8, 16, 32][i % 3];
    rows.push({ lr, bs, ep: 2 * bs, accuracy: 0.9 + 0.0004 * bs - 1e3 * lr + 0.003 * Math.sin(i * 1.3) });
  }
  const r = analyze(tableFromRows(rows), { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: deg(1) });
  const f = r.fits[0];
  assert.deepEqual(f.aliased, ['ep']);
  assert.equal(f.condition_number, Infinity);
  assert.equal(f.vif[2], null);
  assert.ok(f.vif[0] !== null && f.vif[1] !== null && Number.isFinite(f.vif[0]) && Number.isFinite(f.vif[1]));
  for (const term of ['lr', 'bs']) {
    const j = f.terms.indexOf(term);
    const row = f.anova_type2[j - 1];
    assert.equal(row.df, 1, term);
    const t = f.tvalues[j] as number;
    assert.ok(rel(row.F, t * t) < 1e-10, `${term}: F ${row.F} vs t² ${t * t}`);
    assert.ok(rel(row['PR(>F)'], f.pvalues[j] as number) < 1e-9, `${term}: p`);
  }
  assert.deepEqual({ ...f.anova_type2[2], F: String(f.anova_type2[2].F) }, { term: 'ep', sum_sq: 0, df: 0, F: 'NaN', 'PR(>F)': NaN });
  assert.ok(r.warnings.some((w) => /ep is an exact linear combination of earlier terms/.test(w)));
});

test('2×2×2 grid with replicates at degree 2: the squares are aliased, every main effect keeps df 1 with SS from nested fits', () => {
  const rows: Row[] = [];
  let k = 0;
  for (const lr of [1e-5, 5e-5]) for (const bs of [16, 32]) for (const ep of [1, 3]) for (const seed of [1, 2, 3]) {
    k++;
    rows.push({ lr, bs, ep, seed, accuracy: 0.88 + 300 * lr + 0.0005 * bs + 0.004 * ep + 0.002 * Math.sin(k * 2.1) });
  }
  const f = analyze(tableFromRows(rows), { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: deg(2) }).fits[0];
  assert.deepEqual(f.aliased, ['lr^2', 'bs^2', 'ep^2']);
  // SS_lr = SSR(kept columns without lr and without lr:bs, lr:ep) − SSR(kept columns without lr:bs, lr:ep)
  const col = (name: string) => rows.map((r) => name.split(':').reduce((p, v) => p * (r[v] as number), 1));
  const y = rows.map((r) => r.accuracy as number);
  const ssr = (names: string[]) => fitOls({ terms: ['Intercept', ...names], factors: [[], ...names.map((t) => t.split(':'))], columns: [rows.map(() => 1), ...names.map(col)], y }).ssr;
  const cases: [string, string[]][] = [['lr', ['bs', 'ep', 'bs:ep']], ['bs', ['lr', 'ep', 'lr:ep']], ['ep', ['lr', 'bs', 'lr:bs']]];
  for (const [term, others] of cases) {
    const row = f.anova_type2[f.terms.indexOf(term) - 1];
    assert.equal(row.df, 1, term);
    const expected = ssr(others) - ssr([term, ...others]);
    assert.ok(rel(row.sum_sq, expected) < 1e-9, `${term}: SS ${row.sum_sq} vs ${expected}`);
    assert.ok(Number.isFinite(row.F) && row['PR(>F)'] < 0.05, `${term}: a real effect is tested`);
  }
  for (const sq of ['lr^2', 'bs^2', 'ep^2']) {
    assert.equal(f.vif[f.terms.indexOf(sq) - 1], null, sq);
    assert.equal(f.anova_type2[f.terms.indexOf(sq) - 1].df, 0, sq);
  }
});

test('a numerically aliased column: described with its relative residual, VIF null, the true condition number', () => {
  // z = 2x + 3 + 7.2e-7·w: its relative residual on (1, x) is 4.99e-8 < R's 1e-7, so it is aliased, but the
  // design is not singular: cond = 77877000.3684466 (mpmath, 40 digits, on the same double columns)
  const n = 20;
  const x = Array.from({ length: n }, (_, i) => ((i * 7) % 11) / 10);
  const w = Array.from({ length: n }, (_, i) => ((i * 5) % 7) / 7 - 0.4);
  const z = x.map((v, i) => 2 * v + 3 + 7.2e-7 * w[i]);
  const rows = x.map((v, i) => ({ x: v, z: z[i], y: 0.5 + 0.1 * v + 0.01 * Math.cos(i) }));
  const r = analyze(tableFromRows(rows), { predictors: ['x', 'z'], responses: ['y'], frame: 'absolute', spec: deg(1) });
  const f = r.fits[0];
  assert.deepEqual(f.aliased, ['z']);
  assert.equal(f.vif[1], null);
  assert.ok(f.vif[0] !== null && rel(f.vif[0], 1) < 1e-12, `x regressed on the intercept alone: VIF 1, got ${f.vif[0]}`);
  assert.ok(rel(f.condition_number, 77877000.3684466) < 1e-9, `cond ${f.condition_number}`);
  assert.ok(r.warnings.some((m) => /z is numerically aliased with earlier terms \(relative residual 5\.0e-8 < 1e-7\)/.test(m)), r.warnings.join('\n'));
  assert.ok(!r.warnings.some((m) => /exact linear combination/.test(m)));
});

test('an exactly linear response (residuals at rounding level) is warned about; R² = 1 is not presented as a finding', () => {
  const rows = Array.from({ length: 12 }, (_, i) => ({ a: i * 0.37, b: (i * 5) % 7, y: 0.1 + 0.3 * (i * 0.37) - 0.07 * ((i * 5) % 7) }));
  const r = analyze(tableFromRows(rows), { predictors: ['a', 'b'], responses: ['y'], frame: 'absolute', spec: deg(1) });
  assert.ok(r.fits[0].ssr > 0, 'rounding leaves a non-zero residual sum of squares');
  assert.ok(r.warnings.some((m) => /reproduces the response exactly \(residual RMS .* at rounding level/.test(m)), r.warnings.join('\n'));
  // real (if small) noise is not flagged
  const noisy = rows.map((row, i) => ({ ...row, y: row.y + 1e-6 * Math.sin(i * 3.1) }));
  const q = analyze(tableFromRows(noisy), { predictors: ['a', 'b'], responses: ['y'], frame: 'absolute', spec: deg(1) });
  assert.ok(!q.warnings.some((m) => /reproduces the response exactly/.test(m)));
});

test('metric values so large that the fit overflows are an error, not p = 1', () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ x: i, y: 1e300 * (1 + 0.1 * i + 0.05 * Math.sin(i)) }));
  assert.throws(
    () => analyze(tableFromRows(rows), { predictors: ['x'], responses: ['y'], frame: 'absolute', spec: deg(1) }),
    (e: unknown) => e instanceof UserError && /overflows double precision .*response values up to 1\.\d+e\+300/.test((e as Error).message),
  );
});
