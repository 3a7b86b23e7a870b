/** Text and JSON renderings of fits: a statsmodels-like summary, and the JSON record of the CLI. */
import type { OlsFit } from './analyze.js';
import { bestInBox, stationaryPoint } from './surface.js';

let W = 92;

function g(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return 'NA';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return Number(v.toPrecision(digits)).toString();
  return v.toExponential(digits - 1);
}

function pval(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'NA';
  if (Number.isNaN(v)) return 'nan';
  if (v === 0) return '0';
  return v < 1e-3 ? v.toExponential(2) : v.toFixed(3);
}

function pad(s: string, n: number, right = true): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function twoCol(rows: [string, string, string, string][]): string[] {
  const half = 46;
  return rows.map(([a, b, c, d]) => `${pad(a, 18, false)}${pad(b, half - 18)}   ${pad(c, 20, false)}${pad(d, half - 23)}`);
}

/** statsmodels-style summary of one fit (coefficients with t tests, HC3 robust inference, VIF, BH, type-II ANOVA). */
export function formatSummary(fit: OlsFit): string {
  const nameW = Math.max(12, ...fit.terms.map((t) => t.length + 1));
  W = nameW + 110;
  const eq = '='.repeat(W);
  const dash = '-'.repeat(W);
  const title = `OLS Regression Results — ${fit.response} (${fit.frame} frame${fit.baseline !== undefined ? `, baseline ${fit.baseline}` : ''})`;
  const out: string[] = [pad(title, Math.floor((W + title.length) / 2)), eq];
  const spec = `degree ${fit.spec.degree}${fit.spec.log_lr ? ', log10 lr' : ''}${fit.spec.standardize ? ', z-scored' : ''}${fit.spec.center && fit.spec.center !== 'none' ? `, centred (${fit.spec.center})` : ''}`;
  out.push(
    ...twoCol([
      ['Dep. Variable:', fit.frame === 'relative' ? `${fit.response} − baseline` : fit.response, 'R-squared:', g(fit.rsquared, 4)],
      ['Model:', 'OLS', 'Adj. R-squared:', g(fit.rsquared_adj, 4)],
      ['Design:', spec, 'F-statistic:', g(fit.fvalue, 4)],
      ['No. Observations:', String(fit.nobs), 'Prob (F-statistic):', pval(fit.f_pvalue)],
      ['Df Residuals:', String(fit.df_resid), 'Log-Likelihood:', g(fit.llf, 6)],
      ['Df Model:', String(fit.df_model), 'AIC:', g(fit.aic, 6)],
      ['Rank:', `${fit.rank} of ${fit.terms.length}`, 'BIC:', g(fit.bic, 6)],
      ['Covariance Type:', 'nonrobust', 'Cond. No.:', g(fit.condition_number, 3)],
    ]),
  );
  out.push(eq);
  // HC3 is undefined with leverage-1 observations; HC1 is shown then
  const hc3ok = fit.hc3.bse.some((v) => v !== null && Number.isFinite(v));
  const hc = hc3ok ? fit.hc3 : fit.hc1;
  const hcName = hc3ok ? 'HC3' : 'HC1';
  const cols = ['coef', 'std err', 't', 'P>|t|', '[0.025', '0.975]', `${hcName} se`, `${hcName} P>|z|`, 'VIF', 'P (BH)'];
  out.push(pad('', nameW, false) + cols.map((c) => pad(c, 11)).join(''));
  out.push(dash);
  fit.terms.forEach((t, j) => {
    const ci = fit.conf_int[j];
    const cells = [
      g(fit.params[j]), g(fit.bse[j]), g(fit.tvalues[j], 4), pval(fit.pvalues[j]), g(ci ? ci[0] : null), g(ci ? ci[1] : null),
      g(hc.bse[j]), pval(hc.pvalues[j]), j === 0 ? '' : g(fit.vif[j - 1], 4), j === 0 ? '' : pval(fit.pvalues_fdr_bh[j - 1]),
    ];
    out.push(pad(t, nameW, false) + cells.map((c) => pad(c, 11)).join(''));
  });
  out.push(dash);
  out.push(`${hcName} robust Wald F (all non-intercept terms): ${Number.isFinite(hc.fvalue) ? `F(${hc.f_df_num}, ${fit.df_resid}) = ${g(hc.fvalue)}, p = ${pval(hc.f_pvalue)}` : 'undefined'}`);
  out.push('');
  out.push('Type-II ANOVA');
  out.push(pad('', nameW, false) + ['sum_sq', 'df', 'F', 'PR(>F)'].map((c) => pad(c, 12)).join(''));
  for (const row of fit.anova_type2) {
    out.push(pad(row.term, nameW, false) + [g(row.sum_sq), String(row.df), g(row.F), pval(row['PR(>F)'])].map((c) => pad(c, 12)).join(''));
  }
  out.push(pad('Residual', nameW, false) + [g(fit.anova_type2_residual.sum_sq), String(fit.anova_type2_residual.df), '', ''].map((c) => pad(c, 12)).join(''));
  const sp = stationaryPoint(fit);
  if (sp) {
    out.push('');
    const coords = Object.entries(sp.coordinates_raw).map(([k, v]) => `${k}=${g(v, 5)}`).join(', ');
    out.push(`Stationary point: ${sp.nature} at ${coords} (${sp.inside_box ? 'inside' : 'outside'} the data box), predicted ${g(sp.predicted_value, 6)}; eigenvalues of B: ${sp.eigenvalues_B.map((v) => g(v, 4)).join(', ')}`);
  }
  const opt = bestInBox(fit);
  if (opt) {
    const coords = Object.entries(opt.best_point_raw).map(([k, v]) => `${k}=${g(v, 5)}`).join(', ');
    const edge = fit.raw_predictors.filter((_, i) => opt.on_boundary[i]);
    out.push(`Best on a ${opt.grid} grid in the data box (${opt.direction}): ${coords} → ${g(opt.best_value, 6)}${edge.length ? ` (on the boundary in ${edge.join(', ')})` : ''}`);
  }
  out.push(eq);
  const notes: string[] = [];
  const centre = centerText(fit);
  if (centre) notes.push(centre);
  const rankNote = fit.warnings.find((w) => w.startsWith('rank-deficient'));
  if (fit.aliased.length > 0) {
    const why = rankNote?.replace(/^rank-deficient design \(rank \d+ of \d+\): /, '').replace(/ — reported as aliased.*$/, '');
    notes.push(`Aliased (not estimable, shown as NA): ${fit.aliased.join(', ')}${why ? ` — ${why}` : ''}; VIF and ANOVA are over the kept columns.`);
  }
  for (const w of fit.warnings) if (!w.startsWith('rank-deficient')) notes.push(!hc3ok && /HC3 is undefined/.test(w) ? `${w}; HC1 is shown instead` : w);
  if (fit.dropped > 0) notes.push(`${fit.dropped} row(s) with missing values were left out.`);
  const cu = fit.condition_number_unit_columns;
  if (Number.isFinite(cu) && cu > 1e3) notes.push(`Strong multicollinearity: condition number of the unit-scaled design is ${g(cu, 3)} (see VIF).`);
  if (notes.length > 0) {
    out.push('Notes:');
    notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  }
  return out.join('\n');
}

/** A natural-unit value as a user writes it: 1e-5, 32, 2.2361e-5 (6 significant digits, shortest form). */
export function formatNatural(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const r = Number(v.toPrecision(6));
  const a = Math.abs(r);
  return a < 1e-3 || a >= 1e6 ? r.toExponential() : String(r);
}

/**
 * Which origin the predictors have, in words (null when not centred): the main effects are the local slopes of the
 * fitted surface there when the model has squares or interactions.
 */
export function centerText(fit: Pick<OlsFit, 'spec' | 'transform' | 'raw_predictors' | 'predictors'>): string | null {
  const c = fit.transform.center;
  if (!c || fit.spec.center === 'none') return null;
  const at = fit.raw_predictors.map((p) => `${p}=${formatNatural(c.point[p]!)}`).join(', ');
  const lr = fit.transform.lr === 'log10' && fit.transform.lr_column ? `; ${fit.predictors[fit.raw_predictors.indexOf(fit.transform.lr_column)]} is log10(${fit.transform.lr_column} / ${formatNatural(c.point[fit.transform.lr_column]!)})` : '';
  const what = c.kind === 'baseline' ? 'the baseline configuration' : 'the design centre (mean of each predictor, fitted scale)';
  const slopes = fit.spec.degree >= 2 ? ': main-effect coefficients are the local slopes of the fitted surface there' : '';
  return `Predictors centred at ${what} ${at}${lr}${slopes}.`;
}

/** The JSON record of one fit (the CLI's --json array element): the issue's keys first, then the rest. */
export function fitToJson(fit: OlsFit): Record<string, unknown> {
  const sp = stationaryPoint(fit);
  const opt = bestInBox(fit);
  return {
    response: fit.response,
    frame: fit.frame,
    ...(fit.baseline !== undefined ? { baseline: fit.baseline } : {}),
    spec: fit.spec,
    terms: fit.terms,
    aliased: fit.aliased,
    params: fit.params,
    bse: fit.bse,
    tvalues: fit.tvalues,
    pvalues: fit.pvalues,
    conf_int: fit.conf_int,
    nobs: fit.nobs,
    rank: fit.rank,
    df_model: fit.df_model,
    df_resid: fit.df_resid,
    rsquared: fit.rsquared,
    rsquared_adj: fit.rsquared_adj,
    fvalue: fit.fvalue,
    f_pvalue: fit.f_pvalue,
    llf: fit.llf,
    aic: fit.aic,
    bic: fit.bic,
    mse_resid: fit.mse_resid,
    condition_number: fit.condition_number,
    vif: fit.vif,
    pvalues_fdr_bh: fit.pvalues_fdr_bh,
    'fdr_bh_reject_0.05': fit['fdr_bh_reject_0.05'],
    hc1: fit.hc1,
    hc3: fit.hc3,
    anova_type2: fit.anova_type2,
    anova_type2_residual: fit.anova_type2_residual,
    anova_type1: fit.anova_type1,
    ssr: fit.ssr,
    centered_tss: fit.centered_tss,
    ess: fit.ess,
    mse_model: fit.mse_model,
    aic_r: fit.aic_r,
    bic_r: fit.bic_r,
    singular_values: fit.singular_values,
    condition_number_unit_columns: fit.condition_number_unit_columns,
    predictors: fit.predictors,
    raw_predictors: fit.raw_predictors,
    transform: fit.transform,
    box: fit.box,
    powers: fit.powers,
    dropped: fit.dropped,
    warnings: fit.warnings,
    stationary_point: sp,
    optimum: opt,
    resid: fit.resid,
    fittedvalues: fit.fittedvalues,
    hat_diag: fit.hat_diag,
    normalized_cov_params: fit.normalized_cov_params,
  };
}

/** The absolute and relative fits of one response next to each other (coefficients, p-values, fit statistics). */
export function formatSideBySide(abs: OlsFit, rel: OlsFit): string {
  const nameW = Math.max(12, ...abs.terms.map((t) => t.length + 1));
  const cols = ['coef (abs)', 'P>|t|', `coef (rel)`, 'P>|t|'];
  const out: string[] = [
    `${abs.response}: absolute vs relative frame (baseline ${rel.baseline ?? 'NA'})`,
    pad('', nameW, false) + cols.map((c) => pad(c, 13)).join(''),
  ];
  abs.terms.forEach((t, j) => {
    out.push(pad(t, nameW, false) + [g(abs.params[j]), pval(abs.pvalues[j]), g(rel.params[j]), pval(rel.pvalues[j])].map((c) => pad(c, 13)).join(''));
  });
  const stat = (name: string, a: number, b: number, d = 4): string => pad(name, nameW, false) + [g(a, d), '', g(b, d), ''].map((c) => pad(c, 13)).join('');
  out.push(stat('R-squared', abs.rsquared, rel.rsquared), stat('F-statistic', abs.fvalue, rel.fvalue), stat('AIC', abs.aic, rel.aic, 6));
  return out.join('\n');
}
