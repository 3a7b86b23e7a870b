// Synthetic designs beyond the shared fixtures: one residual degree of freedom (checked against a 60-digit
// mpmath computation), n ≤ p, a column aliased only among the degree-2 terms, a constant z-scored square,
// degree-3 terms, frames, filters and missing values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, parseTable, tableFromRows, fitOls, buildDesign, stationaryPoint, bestInBox } from '../../src/analysis/index.js';

function close(actual: number | null, expected: number, rtol = 1e-8, what = ''): void {
  assert.ok(actual !== null, `${what}: null`);
  const err = Math.abs((actual as number) - expected) / Math.abs(expected);
  assert.ok(err <= rtol, `${what}: ${actual} vs ${expected} (rel ${err.toExponential(2)})`);
}

const TINY = `lr,bs,ep,accuracy
1e-05,8,1,0.881234
2e-05,16,2,0.902345
3e-05,32,3,0.899871
5e-05,8,2,0.893456
1e-05,32,2,0.871122
2e-05,8,3,0.905511
3e-05,16,1,0.896677
5e-05,32,1,0.879012
1e-05,16,3,0.889999
3e-05,8,2,0.910203
5e-05,16,3,0.887654
`;
// mpmath (60 digits) on the same double design columns
const TINY_REF = {
  params: [0.8412072205181035, 2766.4997420671666, -0.0012416078125964596, 0.03185999002415347, -42614944.7672624, -9.971419156287619e-06, -0.006256552103589838, 20.43691745667037, -198.98566321727318, 0.00023848120389233568],
  bse: [0.003062453705836295, 118.23223239382875, 0.00020111254669282508, 0.003185562050213907, 1505698.9371821373, 4.208344004948852e-06, 0.0007939305466697499, 2.7124420386215222, 29.22848411809291, 5.1185527642080194e-05],
  pvalues: [0.002317633420721196, 0.027190749591510358, 0.10223019722811368, 0.0634423902067148, 0.022484110487466874, 0.2542413412806321, 0.0803549420223143, 0.08400291951125373, 0.09284745806774987, 0.13459651461074515],
  ci_low: [0.8022950567366907, 1264.2167908561914, -0.00379698500588899, -0.008616413585652877, -61746663.73413929, -6.344349968342114e-05, -0.016344396175878788, -14.027926421061787, -570.3687665497924, -0.0004118925898570649],
  hc3_bse: [0.05121647524730183, 5090.680934908738, 0.006422449721374328, 0.11900556741100222, 48005419.193012424, 8.260345247267435e-05, 0.027796826950716315, 99.58921040102966, 308.9206377910821, 0.000516495954985613],
  hat: [0.9977775719974071, 0.7923264499799364, 0.9879001142081056, 0.9061024168904528, 0.9938265888816866, 0.8911010278729512, 0.9997530635552675, 0.9990122542210699, 0.9307188937247276, 0.5327345124548569, 0.9687471062135383],
  ssr: 6.471963274531597e-07,
  rsquared: 0.9995530072628405,
  llf: 75.95848893667862,
};

const spec2 = { degree: 2 as const, logLr: false, standardize: false };

test('one residual degree of freedom matches a 60-digit reference to 1e-8', () => {
  const { fits } = analyze(parseTable(TINY, 'tiny.csv'), { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: spec2 });
  const f = fits[0];
  assert.equal(f.df_resid, 1);
  assert.equal(f.rank, 10);
  TINY_REF.params.forEach((v, j) => close(f.params[j], v, 1e-8, `params[${j}]`));
  TINY_REF.bse.forEach((v, j) => close(f.bse[j], v, 1e-8, `bse[${j}]`));
  TINY_REF.pvalues.forEach((v, j) => close(f.pvalues[j], v, 1e-8, `pvalues[${j}]`));
  TINY_REF.ci_low.forEach((v, j) => {
    const ci = f.conf_int[j] as [number, number];
    const half = (ci[1] - ci[0]) / 2;
    assert.ok(Math.abs(ci[0] - v) <= 1e-8 * half, `conf_int[${j}]`);
  });
  TINY_REF.hc3_bse.forEach((v, j) => close(f.hc3.bse[j], v, 1e-8, `hc3.bse[${j}]`));
  TINY_REF.hat.forEach((v, i) => close(f.hat_diag[i], v, 1e-10, `hat[${i}]`));
  close(f.ssr, TINY_REF.ssr, 1e-8, 'ssr');
  close(f.rsquared, TINY_REF.rsquared, 1e-12, 'rsquared');
  close(f.llf, TINY_REF.llf, 1e-10, 'llf');
});

test('n ≤ p stops with a clear error', () => {
  const ten = TINY.trim().split('\n').slice(0, 11).join('\n'); // header + 10 rows for 10 terms
  assert.throws(
    () => analyze(parseTable(ten, 'ten.csv'), { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: spec2 }),
    /too few rows .*10 observation\(s\) for 10 terms/,
  );
});

// ep takes only 2 and 3: ep^2 = 5·ep − 6 exactly (aliased only among the degree-2 terms)
function ep2level(): string {
  const lines = ['lr,bs,ep,accuracy'];
  const lrs = [1e-5, 2e-5, 3e-5, 5e-5];
  const bss = [8, 16, 32];
  let k = 0;
  for (const lr of lrs) for (const bs of bss) for (const ep of [2, 3]) {
    k++;
    const acc = 0.9 - 1e7 * (lr - 3e-5) ** 2 + 0.0003 * bs - 0.002 * ep + 0.001 * Math.sin(k * 1.7);
    lines.push(`${lr},${bs},${ep},${acc.toFixed(6)}`);
  }
  return lines.join('\n');
}

test('a column aliased only in the degree-2 terms is reported as aliased, df from the rank', () => {
  const t = parseTable(ep2level(), 'ep2.csv');
  const d1 = analyze(t, { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: { ...spec2, degree: 1 } }).fits[0];
  assert.deepEqual(d1.aliased, []);
  const r = analyze(t, { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: spec2 });
  const f = r.fits[0];
  assert.deepEqual(f.aliased, ['ep^2']);
  assert.equal(f.rank, 9);
  assert.equal(f.df_resid, 24 - 9);
  assert.equal(f.df_model, 8);
  const j = f.terms.indexOf('ep^2');
  assert.equal(f.params[j], null);
  assert.equal(f.pvalues[j], null);
  assert.equal(f.hc3.bse[j], null);
  assert.equal(f.pvalues_fdr_bh[j - 1], null);
  assert.equal(f.vif[j - 1], null);
  assert.equal(f.anova_type2[j - 1].df, 0);
  // the kept terms keep their own df-1 rows (R's convention: nested fits over the kept columns)
  f.anova_type2.forEach((row, k) => { if (k !== j - 1) assert.equal(row.df, 1, row.term); });
  assert.equal(f.hc3.f_df_num, 8);
  assert.equal(f.condition_number, Infinity);
  assert.ok(r.warnings.some((w) => /ep\^2 is an exact linear combination/.test(w)));
  assert.equal(stationaryPoint(f), null);
  assert.equal(bestInBox(f), null);
  // z-scored: z_ep takes two values ±c with equal counts, so z_ep^2 is constant — aliased with the intercept, VIF null
  const z = analyze(t, { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: { ...spec2, standardize: true } }).fits[0];
  assert.deepEqual(z.aliased, ['z_ep^2']);
  assert.equal(z.vif[z.terms.indexOf('z_ep^2') - 1], null);
  // fitted values agree between the raw and the z-scored parametrisation
  f.fittedvalues.forEach((v, i) => close(z.fittedvalues[i], v, 1e-9, `fitted[${i}]`));
});

test('simple regression by hand: slope Sxy/Sxx, intercept ybar − slope·xbar', () => {
  const t = tableFromRows([1, 2, 3, 4, 5].map((x, i) => ({ x, y: [2.1, 3.9, 6.2, 7.8, 10.1][i] })));
  const f = analyze(t, { predictors: ['x'], responses: ['y'], frame: 'absolute', spec: { degree: 1, logLr: false, standardize: false } }).fits[0];
  close(f.params[1], 1.99, 1e-12, 'slope');
  close(f.params[0], 0.05, 1e-10, 'intercept');
  // ssr = Syy − Sxy²/Sxx
  const ys = [2.1, 3.9, 6.2, 7.8, 10.1];
  const syy = ys.reduce((s, v) => s + (v - 6.02) ** 2, 0);
  close(f.ssr, syy - 19.9 ** 2 / 10, 1e-10, 'ssr');
  // deg 1: type-II F = t²
  close(f.anova_type2[0].F, (f.tvalues[1] as number) ** 2, 1e-10, 'F = t²');
  assert.deepEqual(f.terms, ['Intercept', 'x']);
});

test('relative frame: same slopes and inference, intercept moved by −baseline; eval_ prefix finds the baseline', () => {
  const t = parseTable(TINY.replace('accuracy', 'eval_accuracy'), 'tiny.csv');
  const r = analyze(t, {
    predictors: ['lr', 'bs', 'ep'], responses: ['eval_accuracy'], frame: 'both', baseline: { accuracy: 0.9 }, spec: { degree: 1, logLr: true, standardize: false },
  });
  const [abs, rel] = r.fits;
  assert.equal(abs.frame, 'absolute');
  assert.equal(rel.frame, 'relative');
  assert.equal(rel.baseline, 0.9);
  assert.deepEqual(abs.terms, ['Intercept', 'log10_lr', 'bs', 'ep']);
  close(rel.params[0], (abs.params[0] as number) - 0.9, 1e-9, 'intercept');
  for (let j = 1; j < 4; j++) {
    close(rel.params[j], abs.params[j] as number, 1e-9, `slope ${j}`);
    close(rel.pvalues[j], abs.pvalues[j] as number, 1e-8, `p ${j}`);
  }
  close(rel.rsquared, abs.rsquared, 1e-9, 'R²');
});

test('degree 3 terms and names follow the actual column names', () => {
  const d = buildDesign(['learning_rate', 'train_batch_size'], [[1e-5, 2e-5], [8, 16]], { degree: 3, logLr: true, standardize: true });
  assert.deepEqual(d.info.terms, [
    'Intercept', 'z_log10_learning_rate', 'z_train_batch_size', 'z_log10_learning_rate^2', 'z_train_batch_size^2',
    'z_log10_learning_rate:z_train_batch_size', 'z_log10_learning_rate^3', 'z_train_batch_size^3',
    'z_log10_learning_rate^2:z_train_batch_size', 'z_train_batch_size^2:z_log10_learning_rate',
  ]);
  const three = buildDesign(['lr', 'bs', 'ep'], [[1], [2], [3]], { degree: 3, logLr: false, standardize: false });
  assert.equal(three.info.terms.length, 20);
  assert.equal(three.info.terms.at(-1), 'lr:bs:ep');
  assert.equal(three.columns[three.info.terms.indexOf('lr^2:bs')][0], 2);
  assert.equal(three.columns[three.info.terms.indexOf('lr:bs:ep')][0], 6);
  // type-II marginality: lr^2:bs contains lr^2 and bs
  assert.deepEqual(three.info.factors[three.info.terms.indexOf('lr^2:bs')], ['lr^2', 'bs']);
});

test('--where filters report what they kept; missing values stop or are dropped', () => {
  const csv = `task,lr,bs,acc\ntext-classification,1e-5,8,0.9\ntext-classification,2e-5,16,0.91\ntoken-classification,3e-5,8,0.5\ntext-classification,3e-5,32,0.92\ntext-classification,4e-5,8,\ntext-classification,5e-5,16,0.905\ntext-classification,5e-5,8,0.903\n`;
  const t = parseTable(csv, 'cards.csv');
  const opts = { predictors: ['lr', 'bs'], responses: ['acc'], frame: 'absolute' as const, spec: { degree: 1 as const, logLr: false, standardize: false } };
  assert.throws(() => analyze(t, { ...opts, where: ['task=text-classification'] }), /cards\.csv: line 6, column "acc": missing value/);
  const r = analyze(t, { ...opts, where: ['task=text-classification', 'bs<=16'], dropMissing: true });
  assert.deepEqual(r.filters.map((f) => [f.expr, f.kept, f.of]), [['task=text-classification', 6, 7], ['bs<=16', 5, 6]]);
  assert.equal(r.fits[0].nobs, 4);
  assert.equal(r.fits[0].dropped, 1);
  assert.ok(r.warnings.some((w) => /dropped 1 row/.test(w)));
  assert.equal(analyze(t, { ...opts, where: ['task!=token-classification', 'lr>1e-5'], dropMissing: true }).fits[0].nobs, 4);
  assert.throws(() => analyze(t, { ...opts, where: ['nope=1'] }), /--where "nope=1": no column "nope"/);
  assert.throws(() => analyze(t, { ...opts, where: ['bs<abc'] }), /needs a number/);
});

test('TSV input and fitOls on raw columns', () => {
  const t = parseTable('x\ty\n1\t1\n2\t2.5\n3\t2.9\n4\t4.2\n', 'runs.tsv');
  assert.deepEqual(t.columns, ['x', 'y']);
  assert.deepEqual(t.lines, [2, 3, 4, 5]);
  const core = fitOls({ terms: ['Intercept', 'x'], factors: [[], ['x']], columns: [[1, 1, 1, 1], [1, 2, 3, 4]], y: [1, 2.5, 2.9, 4.2] });
  assert.equal(core.df_resid, 2);
  assert.ok((core.params[1] as number) > 0.9 && (core.params[1] as number) < 1.1);
});

test('a leverage-1 row makes HC3 undefined (NaN, warned, HC1 shown); a constant predictor is named', async () => {
  const { formatSummary } = await import('../../src/analysis/index.js');
  const rows = [0, 0, 1, 1, 2, 0, 1].map((x, i) => ({ x, k: 5, y: [0.1, 0.12, 0.3, 0.28, 0.9, 0.11, 0.31][i] }));
  const r = analyze(tableFromRows(rows), { predictors: ['x', 'k'], responses: ['y'], frame: 'absolute', spec: spec2 });
  const f = r.fits[0];
  assert.ok(f.hat_diag.some((h) => Math.abs(h - 1) < 1e-12));
  assert.ok(f.hc3.bse.every((v) => v === null || Number.isNaN(v)));
  assert.ok(f.hc1.bse.every((v) => v === null || Number.isFinite(v)));
  assert.ok(f.aliased.includes('k') && f.aliased.includes('k^2') && f.aliased.includes('x:k'));
  assert.ok(r.warnings.some((w) => /predictor k takes a single value \(5\)/.test(w)));
  const text = formatSummary(f);
  assert.match(text, /HC1 se/);
  assert.match(text, /HC3 is undefined; HC1 is shown instead/);
});

// ep ∈ {2, 3}: ep^2 = 5·ep − 6 exactly. Reference: 50-digit mpmath fit without the aliased column (R's convention),
// robust Wald F over the non-aliased coefficients; VIF over the kept columns (fixture README 13): ep^2 lies in
// span(1, ep), so every other VIF equals the full-design one and ep's is 557/70 (statsmodels on the kept columns:
// 7.957142857142848), ep^2's null.
const EP2_CSV = `lr,bs,ep,accuracy
1e-05,8,2,0.895392
1e-05,8,3,0.892144
1e-05,16,2,0.895874
1e-05,16,3,0.895294
1e-05,32,2,0.902398
1e-05,32,3,0.898900
2e-05,8,2,0.896782
2e-05,8,3,0.896259
2e-05,16,2,0.900197
2e-05,16,3,0.896839
2e-05,32,2,0.904451
2e-05,32,3,0.903600
3e-05,8,2,0.898291
3e-05,8,3,0.895428
3e-05,16,2,0.901159
3e-05,16,3,0.899679
3e-05,32,2,0.905014
3e-05,32,3,0.902872
5e-05,8,2,0.895173
5e-05,8,3,0.892929
5e-05,16,2,0.895890
5e-05,16,3,0.894505
5e-05,32,2,0.902586
5e-05,32,3,0.899641
`;
const EP2_REF = {"full": {"keep": [0, 1, 2, 3, 4, 5, 7, 8, 9], "params": [0.8918048791125539, 564.123679653681, 0.00024366221301021248, -0.0018858440476189663, -9409924.24242424, 1.9358723958332364e-06, 0.11853316326532308, -0.16476190476283514, -1.0859375000001753e-05], "bse": [0.0028720400978869552, 89.18152118098723, 0.00015580060417401997, 0.000996505555475029, 996342.9005232437, 2.9810178174422817e-06, 1.196917922264009, 23.88510285440665, 3.540530960967851e-05], "pvalues": [5.56773945103047e-30, 1.360971749872515e-05, 0.13868102826759113, 0.07789193629158693, 1.0542642201439156e-07, 0.5258998814037337, 0.92242422369516, 0.9945870605628359, 0.7632761160617111], "hc3": [0.003794271333281068, 112.09164409528718, 0.00018546515813466986, 0.0012784775626584952, 1275077.7446317547, 3.7289982493525183e-06, 1.5987297248658836, 31.33694236361987, 4.524973945949038e-05], "hc3F": 47.6973821806579, "hc3Fp": 2.7490929038425494e-09, "vif": [55.76420454545454, 77.45714285714286, 7.957142857142857, 27.264204545454547, 49.0, null, 7.957142857142857, 29.457142857142852, 29.5], "ssr": 1.1231682099072452e-05}, "std": {"keep": [0, 1, 2, 3, 4, 5, 7, 8, 9], "params": [0.9002530690761784, 0.0007309180324338304, 0.0029766359705826603, -0.0010690505141533627, -0.0021479174901185773, 0.00020110628019322647, 1.8252823786303702e-05, -1.271405965816176e-06, -5.653156269148499e-05], "bse": [0.00040838443042178017, 0.0002047436439667119, 0.000214366430815289, 0.00018043170532688134, 0.0002274260968585666, 0.0003096802277598011, 0.000184312401018535, 0.000184312401018535, 0.00018431240101853498], "pvalues": [9.5039685416159e-43, 0.00279275825984973, 5.742352421017684e-10, 2.7868644490513883e-05, 1.0542642201439156e-07, 0.5258998814037341, 0.92242422369516, 0.9945870605628357, 0.7632761160617111], "hc3": [0.000510844759922026, 0.0002761749904432377, 0.0002642780173820618, 0.00022816577465947712, 0.00029105035475290067, 0.00038738347030954856, 0.00024618706820962554, 0.00024181545806291671, 0.00023556037829314572], "hc3F": 47.6973821806579, "hc3Fp": 2.7490929038425494e-09, "vif": [1.2876420454545445, 1.4115226337448559, 1.0, 1.2876420454545445, 1.4115226337448559, null, 1.0, 1.0, 1.0], "ssr": 1.1231682099072452e-05}};

test('aliased-in-degree-2 design matches a 50-digit reference (R convention) to 1e-8', () => {
  const t = parseTable(EP2_CSV, 'ep2level.csv');
  for (const [key, standardize] of [['full', false], ['std', true]] as const) {
    const f = analyze(t, { predictors: ['lr', 'bs', 'ep'], responses: ['accuracy'], frame: 'absolute', spec: { ...spec2, standardize } }).fits[0];
    const R = EP2_REF[key];
    R.keep.forEach((j, a) => {
      close(f.params[j], R.params[a], 1e-8, `${key} params[${j}]`);
      close(f.bse[j], R.bse[a], 1e-8, `${key} bse[${j}]`);
      close(f.pvalues[j], R.pvalues[a], 1e-8, `${key} pvalues[${j}]`);
      close(f.hc3.bse[j], R.hc3[a], 1e-8, `${key} hc3.bse[${j}]`);
    });
    close(f.hc3.fvalue, R.hc3F, 1e-8, `${key} hc3 F`);
    close(f.hc3.f_pvalue, R.hc3Fp, 1e-8, `${key} hc3 F p`);
    assert.equal(f.hc3.f_df_num, 8);
    R.vif.forEach((v, j) => {
      if (v === null) assert.equal(f.vif[j], null, `${key} vif[${j}] null (aliased)`);
      else close(f.vif[j], v, 1e-8, `${key} vif[${j}]`);
    });
    close(f.ssr, R.ssr, 1e-9, `${key} ssr`);
  }
});

test('exact fit and constant response are flagged, not silently reported', () => {
  const t = tableFromRows([1, 2, 3, 4, 5].map((x) => ({ x, y: 1 + 2 * x, c: 0.5 })));
  const spec1 = { degree: 1 as const, logLr: false, standardize: false };
  const exact = analyze(t, { predictors: ['x'], responses: ['y'], frame: 'absolute', spec: spec1 });
  assert.ok(exact.warnings.some((w) => /reproduces the response exactly/.test(w)));
  const constant = analyze(t, { predictors: ['x'], responses: ['c'], frame: 'absolute', spec: spec1 });
  assert.ok(constant.warnings.some((w) => /response is constant/.test(w)));
  assert.ok(Number.isNaN(constant.fits[0].rsquared));
});

test('a constant response whose mean is inexact in floating point (every run at the majority class) gets no noise slopes or p-values', () => {
  // 0.7326732673267327 × 8 / 8 is not 0.7326732673267327: the centred sum of squares used to come out ~1e-32,
  // giving R² 0.375 and slopes with p = 0.36 out of rounding noise; minus a baseline the same happened.
  const y = 0.7326732673267327;
  const t = tableFromRows([1e-3, 3e-3].flatMap((lr) => [16, 32].flatMap((bs) => [1, 2].map((seed) => ({ lr, bs, seed, f1: y })))));
  for (const frame of ['absolute', 'relative'] as const) {
    const r = analyze(t, { predictors: ['lr', 'bs'], responses: ['f1'], frame, baseline: { f1: 0.9137168141592922 }, spec: { degree: 1, logLr: true, standardize: false } });
    const fit = r.fits[0];
    assert.ok(r.warnings.some((w) => /response is constant/.test(w)), frame);
    assert.ok(Number.isNaN(fit.rsquared) && Number.isNaN(fit.fvalue), frame);
    assert.deepEqual(fit.params.slice(1).map((b) => (b as number) + 0), [0, 0], frame); // -0 allowed
    for (const pv of [...fit.pvalues, ...fit.hc3.pvalues, ...fit.anova_type2.map((a) => a['PR(>F)'])]) assert.ok(Number.isNaN(pv as number), `${frame}: p ${pv}`);
    assert.equal(fit.params[0], frame === 'absolute' ? y : y - 0.9137168141592922);
  }
});
