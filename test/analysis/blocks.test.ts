// A block effect (`study extend` adds blocks) is one formula term: its treatment dummies get their own coefficients,
// and the ANOVA has one joint row C(block) (an F test over all its dummies), equal to statsmodels' anova_lm for a
// C(block) term — typ=2 and, in tunescope's term order, typ=1 (fixtures/blocks/make.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, filterTable, fitToJson, formatSummary, readTable, type AnovaRow, type OlsFit } from '../../src/analysis/index.js';
import { ROOT } from '../helpers.js';

const DIR = join(ROOT, 'test', 'analysis', 'fixtures', 'blocks');
interface RefFit {
  degree: 1 | 2;
  blocks: number[];
  params: Record<string, number>;
  bse: Record<string, number>;
  pvalues: Record<string, number>;
  rsquared: number;
  ssr: number;
  df_resid: number;
  anova_type2: AnovaRow[];
  anova_type2_residual: { sum_sq: number; df: number };
  anova_type1: AnovaRow[];
}
const ref = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { fits: Record<string, RefFit> };
const P = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs'];

function close(a: number | null | undefined, b: number, tol: number, what: string): void {
  assert.ok(typeof a === 'number' && Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-300), `${what}: ${a} vs ${b}`);
}

function fitOf(name: string, r: RefFit): OlsFit {
  const table = readTable(join(DIR, 'data.csv'));
  const t = name.includes('two_blocks') ? filterTable(table, ['block<=2']).table : table;
  return analyze(t, {
    predictors: P, responses: ['accuracy'], frame: 'absolute', blocks: 'block',
    spec: { degree: r.degree, logLr: true, standardize: false, lrColumn: 'learning_rate' },
  }).fits[0]!;
}

function sameRow(got: AnovaRow | undefined, want: AnovaRow, label: string): void {
  assert.ok(got, `${label}: no row ${want.term}`);
  assert.equal(got.df, want.df, `${label} df`);
  close(got.sum_sq, want.sum_sq, 1e-7, `${label} sum_sq`);
  close(got.F, want.F, 1e-7, `${label} F`);
  close(got['PR(>F)'], want['PR(>F)'], 1e-6, `${label} PR(>F)`);
}

for (const [name, r] of Object.entries(ref.fits)) {
  test(`block effect ${name}: coefficients and the joint C(block) ANOVA row equal statsmodels`, () => {
    const f = fitOf(name, r);
    assert.deepEqual(f.blocks, { column: 'block', levels: r.blocks, terms: r.blocks.slice(1).map((b) => `C(block)[T.${b}]`) });
    assert.deepEqual([...f.terms].sort(), Object.keys(r.params).sort());
    for (const [term, v] of Object.entries(r.params)) {
      const j = f.terms.indexOf(term);
      close(f.params[j], v, 1e-8, `params[${term}]`);
      close(f.bse[j], r.bse[term]!, 1e-8, `bse[${term}]`);
      close(f.pvalues[j], r.pvalues[term]!, 1e-6, `pvalues[${term}]`);
    }
    close(f.rsquared, r.rsquared, 1e-10, 'R²');
    close(f.ssr, r.ssr, 1e-9, 'SSR');
    assert.equal(f.df_resid, r.df_resid);
    // one row per formula term: the dummies are tested together, not one by one
    assert.deepEqual(f.anova_type2.map((row) => row.term).sort(), r.anova_type2.map((row) => row.term).sort());
    assert.ok(!f.anova_type2.some((row) => row.term.startsWith('C(block)[')), JSON.stringify(f.anova_type2.map((row) => row.term)));
    for (const want of r.anova_type2) sameRow(f.anova_type2.find((row) => row.term === want.term), want, `type II ${want.term}`);
    close(f.anova_type2_residual.sum_sq, r.anova_type2_residual.sum_sq, 1e-9, 'residual SS');
    assert.equal(f.anova_type2_residual.df, r.anova_type2_residual.df);
    // sequential: the order is tunescope's (polynomial, then the block)
    assert.deepEqual(f.anova_type1.map((row) => row.term), r.anova_type1.map((row) => row.term));
    r.anova_type1.forEach((want, k) => sameRow(f.anova_type1[k], want, `type I ${want.term}`));
    const block = f.anova_type2.find((row) => row.term === 'C(block)')!;
    assert.equal(block.df, r.blocks.length - 1);
    // printed and in the JSON the same way
    assert.match(formatSummary(f), new RegExp(`\\nC\\(block\\)\\s+\\S+\\s+${r.blocks.length - 1}\\s`));
    assert.deepEqual((fitToJson(f).anova_type2 as AnovaRow[]).filter((row) => row.term.startsWith('C(block)')).map((row) => row.term), ['C(block)']);
  });
}

test('a block dummy aliased with a predictor: the joint row has the rank the block adds (R\'s convention)', () => {
  // b2 (a predictor) equals block 2's dummy, so C(block)[T.2] is aliased and the block term adds only T.3
  const table = readTable(join(DIR, 'data.csv'));
  const t = { ...table, columns: [...table.columns, 'b2'], rows: table.rows.map((row) => ({ ...row, b2: row.block === 2 ? 1 : 0 })) };
  const f = analyze(t, {
    predictors: ['learning_rate', 'b2'], responses: ['accuracy'], frame: 'absolute', blocks: 'block',
    spec: { degree: 1, logLr: true, standardize: false, lrColumn: 'learning_rate' },
  }).fits[0]!;
  assert.deepEqual(f.aliased, ['C(block)[T.2]']);
  const block = f.anova_type2.find((row) => row.term === 'C(block)')!;
  assert.equal(block.df, 1);
  // with one estimable dummy left, the joint F is that dummy's t²
  close(block.F, (f.tvalues[f.terms.indexOf('C(block)[T.3]')] as number) ** 2, 1e-9, 'F = t² of T.3');
});
