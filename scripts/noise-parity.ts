/**
 * `npm run noise-parity`: the noise statistics against the committed references of
 * test/analysis/fixtures/noise/make.py (statsmodels MixedLM / Logit / mcnemar, bootstrap definitions), printing the
 * largest relative error of each group. The tests assert the same comparisons.
 */
import { readFileSync } from 'node:fs';
import { anovaComponents, bootstrapMetrics, fitLogit, fitMixedModel, mcnemarExact, pairedBootstrap } from '../src/analysis/index.js';

const F = JSON.parse(readFileSync(new URL('../test/analysis/fixtures/noise/noise.json', import.meta.url), 'utf8'));
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));
const worst: Record<string, number> = {};
const track = (k: string, a: number, b: number) => { worst[k] = Math.max(worst[k] ?? 0, rel(a, b)); };

const b = F.bootstrap;
const preds = { numLabels: 2, label: b.label, predicted: b.predicted, probabilities: Float32Array.from(b.probabilities) };
const got = bootstrapMetrics(preds, { resamples: b.resamples });
for (const m of ['accuracy', 'f1', 'loss'] as const) {
  const w = b.intervals[m];
  [0, 1].forEach((i) => { track('bootstrap percentile', got[m]!.percentile[i]!, w.percentile[i]); track('bootstrap BCa', got[m]!.bca[i]!, w.bca[i]); });
}
const other = { numLabels: 2, label: b.label, predicted: F.paired.predicted_b, probabilities: Float32Array.from(F.paired.probabilities_b) };
for (const d of pairedBootstrap(preds, other, { resamples: b.resamples })) [0, 1].forEach((i) => track('paired bootstrap BCa', d.bca[i]!, F.paired.differences[d.metric].bca[i]));
for (const c of F.mcnemar) {
  const label = c.a_correct.map(() => 1);
  const r = mcnemarExact({ numLabels: 2, label, predicted: c.a_correct }, { numLabels: 2, label, predicted: c.b_correct });
  track('McNemar exact p', r.pvalue, c.pvalue);
}
for (const [name, c] of Object.entries(F.mixedlm) as Array<[string, Record<string, any>]>) {
  const configs = [...new Set<number>(c.config)].sort((x, y) => x - y);
  const poly = name.startsWith('poly');
  const pooled = !poly && configs.length > 1;
  const ones = c.y.map(() => 1);
  const X = poly
    ? [ones, c.x1, c.x2, c.x1.map((v: number) => v * v), c.x1.map((v: number, i: number) => v * c.x2[i])]
    : pooled ? [ones, ...configs.slice(1).map((k) => c.config.map((x: number) => (x === k ? 1 : 0)))] : [ones];
  const fit = fitMixedModel({ y: c.y, X, terms: c.terms, components: [{ name: 'seed', levels: c.seed }, { name: 'data_seed', levels: c.data_seed }], ...(pooled ? { blocks: c.config } : {}) });
  const grp = name.includes('unbalanced') ? 'unbalanced' : 'balanced';
  for (const k of ['seed', 'data_seed', 'residual']) track(`MixedLM variance components (${grp})`, fit.variances[k]!, c.variances[k]);
  c.params.forEach((v: number, j: number) => track(`MixedLM fixed effects (${grp})`, fit.params[j]!, v));
  c.bse.forEach((v: number, j: number) => track(`MixedLM fixed-effect SEs (${grp})`, fit.bse[j]!, v));
  track(`MixedLM REML llf (${grp})`, fit.llf, c.llf);
}
for (const name of ['one_balanced', 'pooled_balanced']) {
  const c = F.mixedlm[name];
  const a = anovaComponents(c.y, c.seed, c.data_seed, { names: ['seed', 'data_seed'], blocks: c.config })!;
  for (const k of ['seed', 'data_seed', 'residual']) { track('ANOVA estimators', a.variances[k]!, F.anova[name].variances[k]); [0, 1].forEach((i) => track('ANOVA CIs', a.ci[k]![i]!, F.anova[name].ci[k][i])); }
}
const L = F.logit;
const lf = fitLogit([L.y.map(() => 1), L.log_lr, L.bs], L.y, ['const', 'x1', 'x2']);
L.params.forEach((v: number, j: number) => track('Logit params', lf.params[j]!, v));
L.bse.forEach((v: number, j: number) => track('Logit SEs', lf.bse[j]!, v));
L.pvalues.forEach((v: number, j: number) => track('Logit p-values', lf.pvalues[j]!, v));
for (const [k, v] of Object.entries(worst)) console.log(`${k.padEnd(44)} max relative error ${v.toExponential(2)}`);
