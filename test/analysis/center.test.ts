// The centred frame (`--center baseline|mean`): a fit on centred predictors equals statsmodels' OLS on explicitly
// centred columns (fixtures/center/make.py), and what centring must leave alone does not move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, fitToJson, formatSummary, readTable, stationaryPoint, type CenterOption, type OlsFit } from '../../src/analysis/index.js';
import { runAnalyze } from '../../src/cli/commands/analyze.js';
import { parseBaselineConfig } from '../../src/cli/center.js';
import { ROOT, runCli, sharedPath, tempDir } from '../helpers.js';

const DIR = join(ROOT, 'test', 'analysis', 'fixtures', 'center');
const DATA = join(DIR, 'data.csv');
interface RefFit { terms: string[]; params: number[]; bse: number[]; pvalues: number[]; tvalues: number[]; rsquared: number; fvalue: number; f_pvalue: number; ssr: number; resid: number[]; fittedvalues: number[]; origin_transformed: number[] }
const ref = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  baseline_config: Record<string, number>; mean_center_point: Record<string, number>; fits: Record<string, RefFit>;
};
const P = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs'];
const BASE = ref.baseline_config;
const CARD = sharedPath('fixtures', 'cards', 'raw', 'distilbert__distilbert-base-uncased-finetuned-sst-2-english.md');

function fit(center: CenterOption, o: { degree?: 1 | 2; standardize?: boolean } = {}): OlsFit {
  return analyze(readTable(DATA), {
    predictors: P, responses: ['accuracy'], frame: 'absolute',
    spec: { degree: o.degree ?? 2, logLr: true, standardize: o.standardize ?? false, lrColumn: 'learning_rate', center },
  }).fits[0]!;
}

function close(a: number | null, b: number, tol: number, what: string): void {
  assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

function compare(f: OlsFit, r: RefFit, label: string): void {
  assert.equal(f.terms.length, r.terms.length, label);
  r.params.forEach((v, j) => close(f.params[j]!, v, 1e-8, `${label} params[${f.terms[j]}]`));
  r.bse.forEach((v, j) => close(f.bse[j]!, v, 1e-8, `${label} bse[${f.terms[j]}]`));
  r.tvalues.forEach((v, j) => close(f.tvalues[j]!, v, 1e-7, `${label} t[${f.terms[j]}]`));
  r.pvalues.forEach((v, j) => close(f.pvalues[j]!, v, 1e-8, `${label} p[${f.terms[j]}]`));
  close(f.rsquared, r.rsquared, 1e-10, `${label} R²`);
  close(f.fvalue, r.fvalue, 1e-7, `${label} F`);
  r.resid.forEach((v, i) => close(f.resid[i]!, v, 1e-10, `${label} resid[${i}]`));
}

for (const [name, center, opts] of [
  ['baseline', { kind: 'baseline', config: BASE }, {}],
  ['mean', { kind: 'mean' }, {}],
  ['baseline_standardized', { kind: 'baseline', config: BASE }, { standardize: true }],
  ['baseline_deg1', { kind: 'baseline', config: BASE }, { degree: 1 }],
  ['none', { kind: 'none' }, {}],
] as const) {
  test(`center ${name}: equals statsmodels OLS on explicitly centred predictors`, () => {
    const f = fit(center as CenterOption, opts as { degree?: 1 | 2; standardize?: boolean });
    compare(f, ref.fits[name]!, name);
    if (name !== 'none') {
      const off = Object.values(f.transform.center!.offset);
      ref.fits[name]!.origin_transformed.forEach((v, i) => close(off[i]!, v, 1e-12, `${name} origin[${i}]`));
    }
  });
}

test('centring moves no fitted value, residual, R², F or highest-order coefficient; main effects are the local slopes at the origin', () => {
  const none = fit({ kind: 'none' });
  const base = fit({ kind: 'baseline', config: BASE });
  const mean = fit({ kind: 'mean' });
  for (const f of [base, mean]) {
    close(f.rsquared, none.rsquared, 1e-12, 'R²');
    close(f.fvalue, none.fvalue, 1e-9, 'F');
    close(f.ssr, none.ssr, 1e-10, 'SSR');
    f.fittedvalues.forEach((v, i) => close(v, none.fittedvalues[i]!, 1e-12, `fitted[${i}]`));
    f.resid.forEach((v, i) => close(v, none.resid[i]!, 1e-10, `resid[${i}]`));
    // squares and interactions (terms 4…9) do not depend on the origin
    for (let j = 4; j < f.terms.length; j++) {
      close(f.params[j]!, none.params[j]!, 1e-9, `${f.terms[j]}`);
      close(f.bse[j]!, none.bse[j]!, 1e-9, `se ${f.terms[j]}`);
    }
    // the stationary point is the same place in natural units
    const a = stationaryPoint(f)!, b = stationaryPoint(none)!;
    for (const p of P) close(a.coordinates_raw[p]!, b.coordinates_raw[p]!, 1e-9, `stationary ${p}`);
  }
  // ∂ŷ/∂x_i of the uncentred surface at the baseline (x = log10 lr, bs, ep) equals the centred main effect
  const x0 = [Math.log10(BASE.learning_rate!), BASE.per_device_train_batch_size!, BASE.num_train_epochs!];
  const b = none.params as number[];
  const grad = [
    b[1]! + 2 * b[4]! * x0[0]! + b[7]! * x0[1]! + b[8]! * x0[2]!,
    b[2]! + 2 * b[5]! * x0[1]! + b[7]! * x0[0]! + b[9]! * x0[2]!,
    b[3]! + 2 * b[6]! * x0[2]! + b[8]! * x0[0]! + b[9]! * x0[1]!,
  ];
  grad.forEach((g, i) => close(base.params[i + 1]!, g, 1e-9, `local slope ${P[i]}`));
  // the intercept is the fitted value at the baseline configuration
  const at = b[0]! + b[1]! * x0[0]! + b[2]! * x0[1]! + b[3]! * x0[2]! + b[4]! * x0[0]! ** 2 + b[5]! * x0[1]! ** 2 + b[6]! * x0[2]! ** 2 + b[7]! * x0[0]! * x0[1]! + b[8]! * x0[0]! * x0[2]! + b[9]! * x0[1]! * x0[2]!;
  close(base.params[0]!, at, 1e-10, 'intercept = ŷ(baseline)');
  // a degree-1 fit: every slope is unchanged, only the intercept moves
  const n1 = fit({ kind: 'none' }, { degree: 1 }), b1 = fit({ kind: 'baseline', config: BASE }, { degree: 1 });
  for (let j = 1; j < 4; j++) close(b1.params[j]!, n1.params[j]!, 1e-10, `degree 1 ${b1.terms[j]}`);
});

test('fit JSON records spec.center and spec.center_point; the summary says where the origin is', () => {
  const base = fitToJson(fit({ kind: 'baseline', config: BASE }));
  assert.deepEqual((base.spec as Record<string, unknown>).center, 'baseline');
  assert.deepEqual((base.spec as Record<string, unknown>).center_point, BASE);
  const mean = fitToJson(fit({ kind: 'mean' })).spec as { center: string; center_point: Record<string, number> };
  assert.equal(mean.center, 'mean');
  for (const p of P) close(mean.center_point[p]!, ref.mean_center_point[p]!, 1e-12, `mean origin ${p}`);
  const none = fitToJson(fit({ kind: 'none' })).spec as { center: string; center_point: unknown };
  assert.equal(none.center, 'none');
  assert.equal(none.center_point, null);
  const text = formatSummary(fit({ kind: 'baseline', config: BASE }));
  assert.match(text, /Predictors centred at the baseline configuration learning_rate=1e-5, per_device_train_batch_size=32, num_train_epochs=3; log10_learning_rate is log10\(learning_rate \/ 1e-5\): main-effect coefficients are the local slopes/);
  assert.doesNotMatch(formatSummary(fit({ kind: 'none' })), /centred/);
});

test('--baseline-config parsing is strict: decimal/exponent numbers, known names, once each', () => {
  assert.deepEqual(parseBaselineConfig('learning_rate=1e-5, per_device_train_batch_size=32,num_train_epochs=3.0', P), BASE);
  assert.deepEqual(parseBaselineConfig('learning_rate=.5E+1', P), { learning_rate: 5 });
  for (const [bad, msg] of [
    ['learning_rate=0x10', /learning_rate=0x10 is not a decimal number/],
    ['learning_rate=Infinity', /not a decimal number/],
    ['learning_rate=1e-5x', /not a decimal number/],
    ['learning_rate=', /not a decimal number/],
    ['=3', /expected NAME=NUMBER/],
    ['learning_rate', /expected NAME=NUMBER/],
    ['lr=1e-5', /lr is not a predictor \(predictors: learning_rate, per_device_train_batch_size, num_train_epochs\)/],
    ['learning_rate=1e-5,learning_rate=2e-5', /learning_rate is given twice/],
  ] as const) assert.throws(() => parseBaselineConfig(bad, P), msg, bad);
});

test('analyze --center baseline from --baseline-config and from the baseline model card; errors are one line', async () => {
  const tmp = tempDir();
  try {
    const run = async (extra: Record<string, unknown>): Promise<Record<string, unknown>[]> => {
      const out = join(tmp.path, 'fits.json');
      let text = '';
      await runAnalyze(DATA, { predictors: P.join(','), response: 'accuracy', degree: '2', logLr: true, json: out, ...extra }, (s) => { text += s; });
      assert.match(text, /predictors centred at the baseline configuration learning_rate=1e-5/);
      return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[];
    };
    const viaConfig = await run({ center: 'baseline', baselineConfig: 'learning_rate=1e-5,per_device_train_batch_size=32,num_train_epochs=3' });
    // the card states learning_rate = 1e-5, batch_size = 32, num_train_epochs = 3.0 (and its metrics: the relative frame too)
    const viaCard = await run({ center: 'baseline', baselineCard: CARD });
    assert.equal(viaCard.length, 2);
    for (const f of [viaConfig[0]!, viaCard[0]!]) {
      assert.deepEqual((f.spec as { center_point: unknown }).center_point, BASE);
      (f.params as number[]).forEach((v, j) => close(v, ref.fits.baseline!.params[j]!, 1e-8, `param ${j}`));
    }
    assert.equal((viaCard[1]!.spec as { center: string }).center, 'baseline');
    assert.equal(viaCard[1]!.frame, 'relative');
    const opts = { predictors: P.join(','), response: 'accuracy', degree: '2', logLr: true };
    await assert.rejects(runAnalyze(DATA, { ...opts, center: 'baseline', baselineConfig: 'learning_rate=1e-5' }, () => {}), /--center baseline needs the baseline's value of per_device_train_batch_size, num_train_epochs/);
    await assert.rejects(runAnalyze(DATA, { ...opts, center: 'baseline' }, () => {}), /needs the baseline's value of learning_rate, per_device_train_batch_size, num_train_epochs/);
    await assert.rejects(runAnalyze(DATA, { ...opts, baselineConfig: 'learning_rate=1e-5' }, () => {}), /--baseline-config sets the origin of --center baseline .*add --center baseline/);
    await assert.rejects(runAnalyze(DATA, { ...opts, center: 'baseline', baselineConfig: 'learning_rate=-1,per_device_train_batch_size=32,num_train_epochs=3' }, () => {}), /learning_rate must be > 0 on the log10 scale/);
    const r = runCli(['analyze', DATA, '--predictors', P.join(','), '--response', 'accuracy', '--log-lr', '--center', 'baseline', '--baseline-config', 'learning_rate=1e-5,batch=32']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^tunescope: error: --baseline-config: batch is not a predictor/);
  } finally {
    tmp.cleanup();
  }
});
