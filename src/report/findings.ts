/**
 * Plain-language findings generated from the numbers (never written per dataset): model fit,
 * significant terms at alpha with direction, effect sizes over the observed range, trade-offs
 * between metrics, aliased terms, effects smaller than seed noise, and the best runs vs baseline.
 */
import type { ReportFit, ReportInput } from './types.js';
import { formatNatural } from '../analysis/index.js';
import { isFraction } from './labels.js';
import {
  completeRows, configLabel, fmtNum, fmtP, gridOver, makePredictor, nonConstValue, metricDirection, num, pooledSd, predictorBoxes, replicateGroups, shortName,
} from './stats.js';

export interface Effect {
  metric: string;
  predictor: string;
  from: number;
  to: number;
  /** Fitted change of the metric moving the predictor from the low to the high end, others at their centre. */
  delta: number;
  /** Where along the observed range the fitted metric is best (others at their centre), and how much it varies. */
  bestAt: number;
  spread: number;
  /** Some term containing the predictor has p < alpha. */
  significant: boolean;
}

function mentions(term: string, predictor: string): boolean {
  return term.split(':').some((f) => {
    const name = f.replace(/\^\d+$/, '');
    return name === predictor || name === `log10_${predictor}` || name === `z_${predictor}`;
  });
}

export function size(metric: string, d: number): string {
  const sign = d > 0 ? '+' : d < 0 ? '−' : '';
  return isFraction(metric) ? `${sign}${fmtNum(Math.abs(d) * 100, 3)} points` : `${sign}${fmtNum(Math.abs(d), 3)}`;
}

export function effects(input: ReportInput, fit: ReportFit): Effect[] {
  const pred = makePredictor(fit, input);
  if (!pred) return [];
  const boxes = predictorBoxes(input, completeRows(input, fit.response));
  const centre: Record<string, number> = {};
  for (const p of input.predictors) centre[p] = boxes[p].centre;
  const out: Effect[] = [];
  for (const p of input.predictors) {
    const b = boxes[p];
    if (!(b.max > b.min)) continue;
    const delta = pred.predict({ ...centre, [p]: b.max }) - pred.predict({ ...centre, [p]: b.min });
    const significant = fit.terms.some((t, i) => t !== 'Intercept' && mentions(t, p) && (fit.pvalues[i] ?? 1) < input.alpha);
    const sign = metricDirection(fit.response) === 'maximize' ? 1 : -1;
    const curve = gridOver(b, 41).map((x) => ({ x, y: pred.predict({ ...centre, [p]: x }) }));
    const best = curve.reduce((u, v) => (sign * v.y > sign * u.y ? v : u));
    const ys = curve.map((c) => c.y);
    const spread = Math.max(...ys) - Math.min(...ys);
    if (Number.isFinite(delta) && Number.isFinite(spread))
      out.push({ metric: fit.response, predictor: p, from: b.min, to: b.max, delta, bestAt: best.x, spread, significant });
  }
  return out;
}

/** Which origin the predictors have, for the header and the findings. */
export function centerPhrase(input: Pick<ReportInput, 'spec'>): string {
  const c = input.spec.center ?? 'none';
  const at = Object.entries(input.spec.center_point ?? {}).map(([k, v]) => `${k} = ${formatNatural(v)}`).join(', ');
  if (c === 'none') return 'predictors not centred';
  return `predictors centred at ${c === 'baseline' ? 'the baseline configuration' : 'the design centre'}${at ? ` (${at})` : ''}`;
}

export function findings(input: ReportInput): string[] {
  const out: string[] = [];
  const a = input.alpha;
  if (input.rows.length === 0) return ['The data has no rows: there is nothing to analyse.'];
  out.push(`${input.rows.length} run${input.rows.length === 1 ? '' : 's'}, hyperparameters ${input.predictors.join(', ')}; metrics ${input.metrics.join(', ')}; significance at α = ${a}.`);
  if ((input.spec.center ?? 'none') !== 'none') {
    out.push(`Coefficients are in the relative frame of the hyperparameters: ${centerPhrase(input)}${input.spec.log_lr ? ', the learning rate as log10 of its ratio to it' : ''}${input.spec.degree >= 2 ? '; each main effect is the local slope of the fitted surface there' : ''}.`);
  }
  const allEffects: Effect[] = [];
  for (const m of input.metrics) {
    const fit = input.fits.find((f) => f.response === m && f.frame === 'absolute');
    if (!fit) {
      const e = input.fitErrors?.find((x) => x.response === m);
      out.push(`${m}: no regression (${e?.message ?? 'not fitted'}).`);
      continue;
    }
    const sig = fit.terms
      .map((t, i) => ({ t, b: fit.params[i], p: fit.pvalues[i], q: nonConstValue(fit.terms, fit.pvalues_fdr_bh, i) }))
      .filter((x) => x.t !== 'Intercept' && x.b !== null && x.p !== null && x.p < a);
    const fTxt = fit.fvalue !== null && Number.isFinite(fit.fvalue)
      ? `F(${fit.df_model}, ${fit.df_resid}) = ${fmtNum(fit.fvalue, 3)}, p = ${fmtP(fit.f_pvalue)}`
      : 'no F-test';
    const overall = (fit.f_pvalue ?? 1) < a ? 'the model explains a significant share of the variation' : `the model as a whole is not significant at α = ${a}`;
    const terms = sig.length
      ? `significant terms: ${sig.map((x) => `${x.t} (${(x.b as number) > 0 ? '+' : '−'}, p = ${fmtP(x.p)}${x.q !== null ? `, BH p = ${fmtP(x.q)}` : ''})`).join(', ')}`
      : `no term is significant at α = ${a}`;
    // the run count above is every row; a fit that left rows out says how many and why, next to its numbers
    const left = (fit.dropped ?? 0) > 0 ? ` (fitted on ${fit.nobs} of ${input.rows.length} runs: ${fit.dropped} left out with a missing or non-finite ${m} or hyperparameter, e.g. diverged trials)` : '';
    out.push(`${m}: R² = ${fmtNum(fit.rsquared, 3)} (adj. ${fmtNum(fit.rsquared_adj, 3)})${left}, ${fTxt}: ${overall}; ${terms}.`);
    const effs = effects(input, fit);
    allEffects.push(...effs);
    const dir = metricDirection(m);
    const sized = effs.filter((e) => e.significant).sort((x, y) => y.spread - x.spread);
    if (sized.length) {
      out.push(
        `${m}: over the observed range (others at their centre) ` +
          sized.map((e) => {
            if (e.bestAt > e.from && e.bestAt < e.to)
              return `${e.predictor} is best near ${fmtNum(e.bestAt, 3)}, inside its range ${fmtNum(e.from)}–${fmtNum(e.to)} (fitted ${m} varies by ${size(m, e.spread).replace(/^[+−]/, '')})`;
            const good = (e.delta > 0) === (dir === 'maximize');
            return `raising ${e.predictor} from ${fmtNum(e.from)} to ${fmtNum(e.to)} changes ${m} by ${size(m, e.delta)} (${e.delta === 0 ? 'no change' : good ? 'better' : 'worse'})`;
          }).join('; ') + '.',
      );
    }
    if (fit.aliased && fit.aliased.length)
      out.push(`${m}: aliased terms (linear combinations of earlier terms in these rows, not estimable; the design cannot separate them): ${fit.aliased.join(', ')}.`);
    const v = input.variability?.find((x) => x.metric === m);
    const groups = replicateGroups(input, m);
    const noise = pooledSd(groups);
    if (v) {
      const small = v.effects.filter((e) => e.below_noise);
      const what = input.seedColumn ? 'seeds' : 'repeated configurations';
      let txt = `${m}: run-to-run SD within a configuration (${what}) is ${fmtNum(v.sigma_seed, 3)} (${v.replicated} of ${v.k} configurations repeated, ${v.df_within} df); configurations explain η² = ${fmtNum(v.eta_squared, 3)} of the variance, ${input.seedColumn ? 'seeds' : 'repeats'} the rest`;
      if (small.length)
        txt += `. Smaller than that noise: ${small.map((e) => `${e.predictor} (fitted ${m} varies by ${size(m, e.effect).replace(/^[+−]/, '')}${e.seeds_needed ? `; ${e.seeds_needed} seeds per configuration to detect at 80% power` : ''})`).join(', ')} — a single run cannot show it`;
      else if (v.effects.length) txt += '; every hyperparameter moves the fitted value by more than that over its range';
      out.push(txt + '.');
    } else if (Number.isFinite(noise.sd)) {
      const small = effs.filter((e) => e.spread < noise.sd);
      out.push(
        `${m}: run-to-run SD within a configuration (${input.seedColumn ? 'seeds' : 'repeated configurations'}) is ${fmtNum(noise.sd, 3)} (pooled, ${noise.df} df)` +
          (small.length
            ? `; smaller than that noise: the effect of ${small.map((e) => `${e.predictor} (fitted ${m} varies by ${size(m, e.spread).replace(/^[+−]/, '')})`).join(', ')} — one run per configuration cannot show it.`
            : '; every hyperparameter moves the fitted value by more than that over its range.'),
      );
    }
  }
  // Trade-offs: one hyperparameter, significant on two metrics, better for one and worse for the other.
  for (const p of input.predictors) {
    const es = allEffects.filter((e) => e.predictor === p && e.significant && e.delta !== 0);
    const good = es.filter((e) => (e.delta > 0) === (metricDirection(e.metric) === 'maximize'));
    const bad = es.filter((e) => (e.delta > 0) !== (metricDirection(e.metric) === 'maximize'));
    if (good.length && bad.length)
      out.push(`Trade-off: raising ${p} improves ${good.map((e) => `${e.metric} (${size(e.metric, e.delta)})`).join(', ')} but worsens ${bad.map((e) => `${e.metric} (${size(e.metric, e.delta)})`).join(', ')}.`);
  }
  // Correlations between metrics across runs: do they move together or trade off?
  for (const c of input.correlations ?? []) {
    if (!(c.spearman_p < a) || !Number.isFinite(c.spearman)) continue;
    const agree = c.spearman * (metricDirection(c.a) === 'maximize' ? 1 : -1) * (metricDirection(c.b) === 'maximize' ? 1 : -1) > 0;
    out.push(`${c.a} and ${c.b} ${agree ? 'improve together' : 'trade off'} across runs: Spearman ρ = ${fmtNum(c.spearman, 3)} (p = ${fmtP(c.spearman_p)}, n = ${c.n}; Pearson r = ${fmtNum(c.pearson, 3)}).`);
  }
  for (const m of input.metrics) {
    const rows = completeRows(input, m);
    if (rows.length === 0) {
      out.push(`${m}: no run has a finite value.`);
      continue;
    }
    const dir = metricDirection(m);
    const best = rows.reduce((x, y) => ((dir === 'maximize' ? num(y[m]) > num(x[m]) : num(y[m]) < num(x[m])) ? y : x));
    const cfg: Record<string, number> = {};
    for (const p of input.predictors) cfg[p] = num(best[p]);
    const b = input.baseline?.[m];
    let txt = `${m}: best run ${fmtNum(num(best[m]))} at ${configLabel(cfg, input.predictors)}`;
    if (b !== undefined && Number.isFinite(b)) {
      const beat = rows.filter((r) => (dir === 'maximize' ? num(r[m]) > b : num(r[m]) < b)).length;
      txt += ` (${size(m, num(best[m]) - b)} vs the baseline ${fmtNum(b)}); ${beat} of ${rows.length} run${rows.length === 1 ? '' : 's'} beat${rows.length === 1 ? 's' : ''} the baseline`;
    }
    const bc = input.bestConfigs?.find((x) => x.metric === m);
    if (bc && bc.n > 1)
      txt += `; best configuration by its mean over ${bc.n} runs: ${fmtNum(bc.value)} ± ${fmtNum(bc.sd, 2)} (SD) at ${input.predictors.map((p) => `${shortName(p)}=${fmtNum(num(bc.config[p]), 3)}`).join(' ')}`;
    const opt = input.optima?.find((o) => o.response === m);
    if (opt)
      txt += `; the fitted optimum in the observed box is ${fmtNum(opt.value)}${b !== undefined && Number.isFinite(b) ? ` (${size(m, opt.value - b)} vs the baseline)` : ''} at ${input.predictors.map((p) => `${shortName(p)}=${fmtNum(opt.point[p], 3)}`).join(' ')}`;
    const sp = input.stationary?.find((s) => s.response === m);
    if (sp)
      txt += `; the fitted quadratic surface has a ${sp.nature} ${sp.inside_box ? 'inside' : 'outside'} the observed box (${fmtNum(sp.value)} at ${input.predictors.map((p) => `${shortName(p)}=${fmtNum(sp.point[p], 3)}`).join(' ')})`;
    out.push(txt + '.');
  }
  // Noise: effects the finite evaluation set alone could produce, then the noise analysis' own findings
  const nz = input.noise;
  if (nz?.evaluation_noise) {
    const evalSd = Math.sqrt(nz.evaluation_noise.variance);
    const v = input.variability?.find((x) => x.metric === nz.metric);
    for (const e of v?.effects ?? []) {
      if (e.effect < 2 * evalSd) out.push(`${shortName(e.predictor)}'s fitted effect on ${nz.metric} (${fmtNum(e.effect)} over its range) is smaller than the evaluation noise (2 × ${fmtNum(evalSd)}, the bootstrap SD over evaluation examples): the finite evaluation set alone could produce it.`);
    }
  }
  for (const f of nz?.findings ?? []) out.push(`Noise: ${f}.`);
  return out;
}
