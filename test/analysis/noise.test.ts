import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/util/index.js';
import {
  analyzeNoise, anovaComponents, bootstrapIntervals, bootstrapMetrics, expectedMax, fitLogit, fitMixedModel, mcnemarExact, pairedBootstrap, probabilityOfImprovement,
  type BootstrapInterval,
} from '../../src/analysis/index.js';

/** References from test/analysis/fixtures/noise/make.py (statsmodels, scipy, numpy definitions). */
const F = JSON.parse(readFileSync(new URL('./fixtures/noise/noise.json', import.meta.url), 'utf8'));

const close = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-300), `${what}: ${got} vs ${want} (rel err ${Math.abs(got - want) / Math.abs(want)})`);

function sameInterval(got: BootstrapInterval, want: { estimate: number; se: number; percentile: number[]; bca: number[] }, what: string) {
  close(got.estimate, want.estimate, 1e-6, `${what} estimate`);
  close(got.se, want.se, 1e-6, `${what} se`);
  want.percentile.forEach((v, i) => close(got.percentile[i]!, v, 1e-6, `${what} percentile[${i}]`));
  want.bca.forEach((v, i) => close(got.bca[i]!, v, 1e-6, `${what} bca[${i}]`));
}

test('bootstrap over evaluation examples: percentile and BCa equal their definitions on the same resamples', () => {
  const b = F.bootstrap;
  const preds = { numLabels: 2, label: b.label, predicted: b.predicted, probabilities: Float32Array.from(b.probabilities) };
  const got = bootstrapMetrics(preds, { resamples: b.resamples });
  for (const m of ['accuracy', 'f1', 'loss'] as const) sameInterval(got[m]!, b.intervals[m], m);
  // seeded: same seed, same intervals; B = 2000 by default
  const s1 = bootstrapMetrics(preds, { seed: 3, metrics: ['accuracy'] });
  assert.deepEqual(s1, bootstrapMetrics(preds, { seed: 3, metrics: ['accuracy'] }));
  assert.notDeepEqual(s1, bootstrapMetrics(preds, { seed: 4, metrics: ['accuracy'] }));
  // paired differences with the same resamples
  const other = { numLabels: 2, label: b.label, predicted: F.paired.predicted_b, probabilities: Float32Array.from(F.paired.probabilities_b) };
  for (const d of pairedBootstrap(preds, other, { resamples: b.resamples })) {
    const want = F.paired.differences[d.metric];
    sameInterval(d, want, `paired ${d.metric}`);
    close(d.p, want.p, 1e-12, `paired ${d.metric} p`);
  }
});

test('exact McNemar equals statsmodels mcnemar(exact=True)', () => {
  for (const c of F.mcnemar) {
    const label = c.a_correct.map(() => 1);
    const r = mcnemarExact(
      { numLabels: 2, label, predicted: c.a_correct.map((x: number) => (x ? 1 : 0)) },
      { numLabels: 2, label, predicted: c.b_correct.map((x: number) => (x ? 1 : 0)) },
    );
    assert.equal(r.statistic, c.statistic);
    close(r.pvalue, c.pvalue, 1e-10, `McNemar p (b=${r.b}, c=${r.c})`);
  }
  assert.throws(() => mcnemarExact({ numLabels: 2, label: [1], predicted: [1] }, { numLabels: 2, label: [1, 0], predicted: [1, 0] }), /different example sets/);
});

const codes = (xs: Array<number | string>) => xs.map((x) => Number(x));

test('REML variance components equal statsmodels MixedLM (vc_formula seed + data_seed), balanced and unbalanced, one configuration and pooled', () => {
  const m = F.mixedlm;
  for (const name of ['one_balanced', 'one_unbalanced', 'pooled_balanced', 'pooled_unbalanced']) {
    const c = m[name];
    const configs = [...new Set<number>(c.config)].sort((a, b) => a - b);
    const pooled = configs.length > 1;
    const X = pooled ? [c.y.map(() => 1), ...configs.slice(1).map((k) => c.config.map((x: number) => (x === k ? 1 : 0)))] : [c.y.map(() => 1)];
    const fit = fitMixedModel({
      y: c.y, X, terms: c.terms,
      components: [{ name: 'seed', levels: codes(c.seed) }, { name: 'data_seed', levels: codes(c.data_seed) }],
      ...(pooled ? { blocks: c.config } : {}),
    });
    for (const k of ['seed', 'data_seed', 'residual']) close(fit.variances[k]!, c.variances[k], 1e-5, `${name} ${k}`);
    c.params.forEach((v: number, j: number) => close(fit.params[j]!, v, 1e-6, `${name} ${c.terms[j]}`));
    c.bse.forEach((v: number, j: number) => close(fit.bse[j]!, v, 1e-4, `${name} bse ${c.terms[j]}`));
    close(fit.llf, c.llf, 1e-8, `${name} llf`);
    for (const k of ['seed', 'data_seed', 'residual']) {
      const [lo, hi] = fit.ci[k]!;
      assert.ok(lo <= fit.variances[k]! && fit.variances[k]! <= hi, `${name} ${k} CI [${lo}, ${hi}] holds its estimate`);
    }
  }
});

test('mixed model: polynomial fixed effects with seed and data_seed crossed across configurations equal statsmodels', () => {
  for (const name of ['poly_balanced', 'poly_unbalanced']) {
    const c = F.mixedlm[name];
    const x1: number[] = c.x1, x2: number[] = c.x2;
    const fit = fitMixedModel({
      y: c.y,
      X: [x1.map(() => 1), x1, x2, x1.map((v) => v * v), x1.map((v, i) => v * x2[i]!)],
      terms: c.terms,
      components: [{ name: 'seed', levels: codes(c.seed) }, { name: 'data_seed', levels: codes(c.data_seed) }],
    });
    for (const k of ['seed', 'data_seed', 'residual']) close(fit.variances[k]!, c.variances[k], 1e-5, `${name} ${k}`);
    c.params.forEach((v: number, j: number) => close(fit.params[j]!, v, 1e-6, `${name} ${c.terms[j]}`));
    c.bse.forEach((v: number, j: number) => close(fit.bse[j]!, v, 1e-4, `${name} bse ${c.terms[j]}`));
    // p-values as tiny as 1e-192 magnify the SE's 1e-5 relative error: compared on the log scale
    c.pvalues.forEach((v: number, j: number) =>
      v === 0 ? assert.ok(fit.pvalues[j]! < 1e-300, `${name} p ${c.terms[j]} underflows in both`) : close(Math.log(fit.pvalues[j]!), Math.log(v), 1e-4, `${name} log p ${c.terms[j]}`),
    );
  }
});

test('ANOVA estimators and CIs on balanced crossed designs; equal to REML when positive; null when unbalanced', () => {
  for (const name of ['one_balanced', 'pooled_balanced']) {
    const c = F.mixedlm[name];
    const a = anovaComponents(c.y, codes(c.seed), codes(c.data_seed), { names: ['seed', 'data_seed'], blocks: c.config })!;
    const want = F.anova[name];
    for (const k of ['seed', 'data_seed', 'residual']) {
      close(a.variances[k]!, want.variances[k], 1e-10, `${name} ANOVA ${k}`);
      close(a.ci[k]![0], want.ci[k][0], 1e-8, `${name} ANOVA CI lo ${k}`);
      close(a.ci[k]![1], want.ci[k][1], 1e-8, `${name} ANOVA CI hi ${k}`);
      close(a.variances[k]!, c.variances[k], 1e-5, `${name} ANOVA vs MixedLM ${k}`);
    }
  }
  const u = F.mixedlm.one_unbalanced;
  assert.equal(anovaComponents(u.y, codes(u.seed), codes(u.data_seed)), null);
});

test('logistic regression equals statsmodels Logit', () => {
  const L = F.logit;
  const fit = fitLogit([L.y.map(() => 1), L.log_lr, L.bs], L.y, ['const', 'x1', 'x2']);
  assert.ok(fit.converged && !fit.separation);
  L.params.forEach((v: number, j: number) => close(fit.params[j]!, v, 1e-8, `param ${j}`));
  L.bse.forEach((v: number, j: number) => close(fit.bse[j]!, v, 1e-7, `bse ${j}`));
  L.pvalues.forEach((v: number, j: number) => close(fit.pvalues[j]!, v, 1e-6, `p ${j}`));
  close(fit.llf, L.llf, 1e-10, 'llf');
  close(fit.llnull, L.llnull, 1e-10, 'llnull');
  close(fit.llr_pvalue, L.llr_pvalue, 1e-6, 'llr p');
  // separated data is reported, not silently fitted
  const sep = fitLogit([[1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6]], [0, 0, 0, 1, 1, 1], ['const', 'x']);
  assert.ok(sep.separation);
});

test('E[max of n] on hand-computable cases (Dodge et al. 2019)', () => {
  // scores 1, 2: E[max of 1] = 1.5; of 2 = 1·¼ + 2·¾ = 1.75, sd √(1·¼ + 4·¾ − 1.75²) = √0.1875
  const e = expectedMax([2, 1]);
  assert.deepEqual(e.map((x) => x.n), [1, 2]);
  assert.equal(e[0]!.mean, 1.5);
  assert.equal(e[0]!.se, 0.5);
  assert.equal(e[1]!.mean, 1.75);
  close(e[1]!.se, Math.sqrt(0.1875), 1e-15, 'sd of max of 2');
  // 1, 2, 3 with n = 3: weights 1/27, 7/27, 19/27
  close(expectedMax([3, 1, 2])[2]!.mean, (1 + 14 + 57) / 27, 1e-15, 'E[max of 3]');
  assert.equal(expectedMax([0.5, 0.5, 0.5], { maxN: 5 })[4]!.mean, 0.5);
  // losses: the expected minimum
  assert.equal(expectedMax([1, 2], { direction: 'min' })[1]!.mean, 1.25);
});

test('P(A > B) over paired runs with a seeded bootstrap CI and a verdict', () => {
  const a = [0.91, 0.92, 0.9, 0.93, 0.915, 0.925, 0.92, 0.91];
  const b = a.map((x) => x - 0.01);
  const r = probabilityOfImprovement(a, b, { seed: 1 });
  assert.equal(r.p, 1);
  assert.equal(r.better, 'A');
  const tie = probabilityOfImprovement([1, 2, 3, 4], [2, 1, 4, 3], { seed: 1 });
  assert.equal(tie.p, 0.5);
  assert.equal(tie.better, 'neither');
  assert.ok(tie.ci[0] <= 0.5 && tie.ci[1] >= 0.5);
  assert.deepEqual(tie, probabilityOfImprovement([1, 2, 3, 4], [2, 1, 4, 3], { seed: 1 }));
  assert.equal(probabilityOfImprovement([1, 1], [1, 1]).p, 0.5, 'ties count one half');
});

test('analyzeNoise: diverged rule stated and configurable, --exclude-diverged counts, components pooled and per configuration', () => {
  const rows: Array<Record<string, number>> = [];
  const preds = [];
  const label = Int32Array.from({ length: 100 }, (_, i) => (i < 55 ? 1 : 0)); // majority rate 0.55
  let k = 0;
  for (const lr of [1e-5, 1e-4, 1e-3]) {
    for (const seed of [1, 2, 3]) {
      for (const ds of [7, 8]) {
        const diverged = lr === 1e-3 && seed !== 3;
        const acc = diverged ? 0.55 : 0.85 + 0.01 * seed + 0.005 * ds - (lr === 1e-5 ? 0.02 : 0) + 0.001 * (k++ % 3);
        const nRight = Math.round(acc * 100);
        const predicted = Int32Array.from(label, (y, i) => (diverged ? 1 : i < nRight ? y : 1 - y));
        const probabilities = Float32Array.from({ length: 200 }, (_, j) => ((j % 2 === 1) === (predicted[j >> 1] === 1) ? 0.8 : 0.2));
        preds.push({ numLabels: 2, label, predicted, probabilities });
        rows.push({ learning_rate: lr, seed, data_seed: ds, accuracy: predicted.reduce((s, p, i) => s + (p === label[i] ? 1 : 0), 0) / 100, loss: diverged ? 0.69 : 0.4 });
      }
    }
  }
  const opts = { configColumns: ['learning_rate'], seedColumns: ['seed', 'data_seed'], metric: 'accuracy', predictions: preds, bootstrap: { B: 200 } };
  const a = analyzeNoise(rows, opts);
  assert.equal(a.diverged.count, 4);
  assert.match(a.diverged.rule, /accuracy ≤ 0\.6495 \(majority-class rate 0\.5500 \+ 2 × √\(p\(1−p\)\/100\)\), or loss non-finite or > 0\.6931/);
  assert.deepEqual(a.diverged.by_config.map((c) => c.diverged), [0, 0, 4]);
  assert.ok(a.diverged.logit, 'a logistic regression of P(diverged)');
  assert.equal(a.n, 18);
  const ex = analyzeNoise(rows, { ...opts, excludeDiverged: true });
  assert.equal(ex.n, 14);
  assert.equal(ex.diverged.excluded, 4);
  assert.ok(ex.findings.some((f) => /4 excluded/.test(f)));
  // a stricter rule: 10 SEs above the majority rate flags nothing more here, a loss cap of 0.3 flags everything
  assert.equal(analyzeNoise(rows, { ...opts, diverged: { max_loss: 0.3 } }).diverged.count, 18);
  assert.equal(a.variance_components.by_config.length, 3);
  assert.ok(a.variance_components.reml && a.variance_components.anova, 'balanced: REML and ANOVA');
  assert.equal(ex.variance_components.anova, null, 'unbalanced after exclusion: REML only');
  assert.equal(a.expected_max.length, 18);
  assert.deepEqual(Object.keys(a.expected_max_by), ['learning_rate']);
  assert.ok(a.mixed_model && a.mixed_model.terms.includes('Intercept'));
  assert.ok(a.evaluation_noise && a.evaluation_noise.variance > 0);
  assert.equal(a.trial_intervals.length, 18);
});

test('BCa for a three-label macro F1: the closed-form jackknife equals leaving each example out', () => {
  const rng = new Rng(5);
  const n = 40;
  const label = Array.from({ length: n }, () => rng.int(3));
  const predicted = label.map((y) => (rng.uniform() < 0.7 ? y : rng.int(3)));
  const resamples = Array.from({ length: 300 }, () => Array.from({ length: n }, () => rng.int(n)));
  const got = bootstrapMetrics({ numLabels: 3, label, predicted }, { resamples, metrics: ['f1'] }).f1!;
  const est = (idx: number[]) => bootstrapMetrics({ numLabels: 3, label: idx.map((i) => label[i]!), predicted: idx.map((i) => predicted[i]!) }, { resamples: [idx.map((_, j) => j)], metrics: ['f1'] }).f1!.estimate;
  const all = label.map((_, i) => i);
  const jack = all.map((i) => est(all.filter((j) => j !== i)));
  const reps = Float64Array.from(resamples.map((r) => est(r)));
  const want = bootstrapIntervals(est(all), reps, jack);
  assert.deepEqual(got.bca, want.bca);
  assert.deepEqual(got.percentile, want.percentile);
});
