// Seed-noise ANOVA, power, correlations, Pareto set, best configurations and CV degree selection on
// hand-checkable numbers (expected values by hand or from scipy 1.17 / R's power.t.test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/index.js';
import {
  analyze, bestConfigurations, effectVsNoise, metricCorrelations, paretoFront, seedVariability, seedsForPower,
  selectDegreeByCV, tableFromRows, twoSampleTPower, type Row,
} from '../../src/analysis/index.js';

const near = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('seedVariability: one-way ANOVA with configurations as factor', () => {
  const rows: Row[] = [
    { lr: 1e-5, bs: 8, seed: 1, accuracy: 1 }, { lr: 1e-5, bs: 8, seed: 2, accuracy: 2 }, { lr: 1e-5, bs: 8, seed: 3, accuracy: 3 },
    { lr: 2e-5, bs: 8, seed: 1, accuracy: 4 }, { lr: 2e-5, bs: 8, seed: 2, accuracy: 5 }, { lr: 2e-5, bs: 8, seed: 3, accuracy: 6 },
    { lr: 2e-5, bs: 8, seed: 4, accuracy: null },
  ];
  const v = seedVariability(rows, { configColumns: ['lr', 'bs'], seedColumn: 'seed', metric: 'accuracy' });
  assert.equal(v.n, 6);
  assert.equal(v.k, 2);
  assert.equal(v.skipped, 1);
  near(v.ss_between, 13.5, 1e-12, 'SSb');
  near(v.ss_within, 4, 1e-12, 'SSw');
  near(v.ss_total, 17.5, 1e-12, 'SSt');
  near(v.F, 13.5, 1e-12, 'F');
  near(v.p, 0.021311641128756713, 1e-12, 'p'); // scipy.stats.f.sf(13.5, 1, 4)
  near(v.eta_squared, 13.5 / 17.5, 1e-12, 'eta²');
  near(v.seed_share, 4 / 17.5, 1e-12, 'seed share');
  near(v.sigma_seed, 1, 1e-12, 'sigma_seed');
  near(v.sigma_config, Math.sqrt(12.5 / 3), 1e-12, 'sigma_config');
  const a = v.configurations.find((c) => c.config.lr === 1e-5);
  assert.deepEqual(a && [a.n, a.mean, a.sd, a.min, a.max, a.seeds], [3, 2, 1, 1, 3, [1, 2, 3]]);
  const single = seedVariability(rows.slice(0, 1).concat(rows.slice(3, 4)), { configColumns: ['lr'], metric: 'accuracy' });
  assert.ok(Number.isNaN(single.sigma_seed));
  assert.ok(single.warnings.some((w) => /no configuration has more than one seed/.test(w)));
});

test('effectVsNoise flags effects smaller than the seed sd', () => {
  const rows = [0, 0.25, 0.5, 0.75, 1].flatMap((x) => [0, 1].map((z) => ({ x, z, y: 1 + 0.01 * x + 0.5 * z + (x === 0.5 ? 1e-4 : -1e-4 * z) })));
  const fit = analyze(tableFromRows(rows), { predictors: ['x', 'z'], responses: ['y'], frame: 'absolute', spec: { degree: 1, logLr: false, standardize: false } }).fits[0];
  const e = effectVsNoise(fit, 0.02);
  near(e[0].effect, Math.abs(fit.params[1] as number), 1e-12, 'x effect = |slope|·range');
  assert.equal(e[0].below_noise, true);
  assert.equal(e[1].below_noise, false);
  near(e[1].ratio, e[1].effect / 0.02, 1e-12);
});

test('power: exact two-sample t power and seeds needed', () => {
  // R: power.t.test(n = 17, delta = 1) → 0.8070367; n = 10 → 0.5620066; scipy nct for n = 2, delta = 0.5
  near(twoSampleTPower({ effect: 1, sigma: 1, n: 17 }), 0.8070367151472198, 1e-9, 'n=17');
  near(twoSampleTPower({ effect: 1, sigma: 1, n: 10 }), 0.5620066465861494, 1e-9, 'n=10');
  near(twoSampleTPower({ effect: 0.5, sigma: 1, n: 2 }), 0.06150785655602508, 1e-9, 'n=2');
  const s = seedsForPower({ effect: 1, sigma: 1 });
  assert.equal(s.n_per_config, 17); // power.t.test(delta = 1, power = 0.8) → n = 16.71
  assert.ok(s.achieved_power >= 0.8);
  assert.equal(s.normal_approximation_n, 16);
  // a 0.5-point accuracy difference with 0.4-point seed noise at 90 % power
  const t = seedsForPower({ effect: 0.005, sigma: 0.004, power: 0.9 });
  assert.equal(t.n_per_config, 15);
  assert.ok(twoSampleTPower({ effect: 0.005, sigma: 0.004, n: 14 }) < 0.9);
  assert.throws(() => seedsForPower({ effect: 0, sigma: 1 }), /effect must be non-zero/);
});

test('metricCorrelations: Pearson and Spearman with p-values (scipy values)', () => {
  const rows: Row[] = [1, 2, 3, 4, 5].map((x, i) => ({ accuracy: x, f1: [2, 4, 5, 4, 5][i], loss: null }));
  const [c] = metricCorrelations(rows, ['accuracy', 'f1']);
  near(c.pearson, 0.7745966692414835, 1e-12, 'r');
  near(c.pearson_p, 0.1240270626575546, 1e-10, 'p');
  near(c.spearman, 0.7378647873726218, 1e-12, 'rho');
  near(c.spearman_p, 0.15461852312844926, 1e-10, 'p_s');
  const withLoss = metricCorrelations(rows, ['accuracy', 'loss']);
  assert.equal(withLoss[0].n, 0);
});

test('paretoFront over (accuracy ↑, f1 ↑, loss ↓) and best configurations', () => {
  const rows: Row[] = [
    { id: 'A', lr: 1, accuracy: 0.9, f1: 0.9, loss: 0.3 },
    { id: 'B', lr: 2, accuracy: 0.91, f1: 0.89, loss: 0.35 },
    { id: 'C', lr: 1, accuracy: 0.89, f1: 0.88, loss: 0.31 },
    { id: 'D', lr: 3, accuracy: 0.9, f1: 0.9, loss: 0.3 },
    { id: 'E', lr: 2, accuracy: 0.95, f1: null, loss: 0.2 },
  ];
  const p = paretoFront(rows);
  assert.deepEqual(p.rows.map((r) => r.id), ['A', 'B', 'D']);
  assert.equal(p.skipped, 1);
  const best = bestConfigurations(rows, ['accuracy', 'loss']);
  assert.deepEqual(best.map((b) => [b.metric, b.direction, b.config.id]), [['accuracy', 'max', 'E'], ['loss', 'min', 'E']]);
  const byLr = bestConfigurations(rows, [{ metric: 'accuracy', direction: 'max' }], { configColumns: ['lr'] });
  assert.deepEqual(byLr[0].config, { lr: 2 });
  near(byLr[0].value, (0.91 + 0.95) / 2, 1e-15);
  assert.equal(byLr[0].n, 2);
});

test('selectDegreeByCV picks 2 for a curved response and 1 for a straight one', () => {
  const rows: Row[] = [];
  const rng = new Rng(7);
  for (const x of [1, 2, 3, 4, 5, 6, 7]) for (const z of [1, 2, 3]) {
    const noise = 0.01 * rng.normal();
    rows.push({ x, z, curved: 0.9 - 0.02 * (x - 4) ** 2 + 0.01 * z + noise, straight: 0.5 + 0.03 * x - 0.01 * z + noise });
  }
  const t = tableFromRows(rows);
  const c = selectDegreeByCV(t, { predictors: ['x', 'z'], response: 'curved' });
  assert.equal(c.chosen, 2);
  assert.equal(c.method, 'leave-one-out');
  assert.equal(c.scores.length, 3);
  const s = selectDegreeByCV(t, { predictors: ['x', 'z'], response: 'straight', folds: 5, seed: 1 });
  assert.equal(s.chosen, 1);
  assert.ok(s.scores[0].rmse < s.scores[2].rmse);
});

test('seedVariability and metricCorrelations: a constant metric is undefined (NaN), not 100 % hyperparameters from an ulp', async () => {
  const { seedVariability, metricCorrelations } = await import('../../src/analysis/index.js');
  const rows = [1e-3, 3e-3].flatMap((lr) => [16, 32].flatMap((bs) => [1, 2].map((seed) => ({ lr, bs, seed, f1: 0.7326732673267327, loss: 0.69 + lr + seed / 1000 }))));
  const v = seedVariability(rows, { configColumns: ['lr', 'bs'], seedColumn: 'seed', metric: 'f1' });
  assert.equal(v.ss_between, 0);
  assert.ok(Number.isNaN(v.eta_squared) && Number.isNaN(v.F));
  const c = metricCorrelations(rows, ['f1', 'loss']);
  assert.ok(Number.isNaN(c[0].pearson), String(c[0].pearson));
});
