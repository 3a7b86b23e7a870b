/**
 * `study analyze`: the analysis engine (src/analysis) on a study's rows — polynomial OLS of each metric on the
 * hyperparameters that vary, in the absolute frame and relative to the study's baseline.
 */
import { analyze, type OlsFit } from '../analysis/index.js';
import type { StudyStore } from '../store/index.js';
import { UserError } from '../util/index.js';
import { studyRows, type StudyTable } from './rows.js';
import type { StudySpec } from './spec.js';

export interface AnalyzeStudyOptions {
  degree?: 1 | 2 | 3 | 'cv';
  frame?: 'absolute' | 'relative' | 'both';
  responses?: string[];
  logLr?: boolean;
  standardize?: boolean;
  /** effect size (metric units) for the seeds-needed calculation */
  effectSize?: number;
}

export interface StudyAnalysis {
  name: string;
  nobs: number;
  predictors: string[];
  responses: string[];
  degree: 1 | 2 | 3;
  frames: Array<'absolute' | 'relative'>;
  baseline: Record<string, number> | null;
  fits: OlsFit[];
  warnings: string[];
  /** everything above, JSON-ready */
  json: Record<string, unknown>;
  table: StudyTable;
}

/** Number of terms of a full polynomial of this degree in k predictors (with intercept). */
function termCount(k: number, degree: number): number {
  let n = 1 + k;
  if (degree >= 2) n += k + (k * (k - 1)) / 2;
  if (degree >= 3) n += k + k * (k - 1) + (k * (k - 1) * (k - 2)) / 6;
  return n;
}

export async function analyzeStudy(store: StudyStore, opts: AnalyzeStudyOptions = {}): Promise<StudyAnalysis> {
  const study = await store.getStudy();
  if (!study) throw new UserError(`${store.location} holds no study`);
  const spec = study.spec as StudySpec;
  const table = await studyRows(store);
  const warnings: string[] = [];
  if (table.rows.length === 0) throw new UserError(`study ${study.name} has no finished design trials yet (see \`tunescope study status\`)`);

  const predictors = table.factors.filter((f) => new Set(table.rows.map((r) => r[f])).size > 1);
  const constant = table.factors.filter((f) => !predictors.includes(f));
  if (constant.length > 0) warnings.push(`left out of the regression (one value only): ${constant.join(', ')}`);
  if (predictors.length === 0) throw new UserError('no hyperparameter varies across the finished trials: nothing to regress on');

  const wanted = opts.responses ?? spec.analysis?.responses ?? ['accuracy', 'f1', 'loss'];
  const responses = wanted.filter((r) => table.metrics.includes(r));
  const unknown = wanted.filter((r) => !table.metrics.includes(r));
  if (unknown.length > 0) {
    if (responses.length === 0) throw new UserError(`no metric ${unknown.join(', ')} in the study (metrics: ${table.metrics.join(', ')})`);
    warnings.push(`no metric ${unknown.join(', ')} in the study`);
  }

  const frameOpt = opts.frame ?? spec.analysis?.frame ?? 'both';
  let frames: Array<'absolute' | 'relative'> = frameOpt === 'both' ? ['absolute', 'relative'] : [frameOpt];
  const baseline = table.baseline?.metrics ?? null;
  if (frames.includes('relative') && !baseline) {
    if (frameOpt === 'relative') throw new UserError('the relative frame needs a baseline: add `baseline:` to the spec (or wait for the baseline trials)');
    warnings.push('no baseline: the relative frame is left out');
    frames = ['absolute'];
  }

  let degreeOpt = opts.degree ?? spec.analysis?.degree ?? 2;
  if (degreeOpt === 'cv') {
    // TODO(analysis phase 2): selectDegreeByCV; until it is exported the largest estimable degree ≤ 2 is used.
    warnings.push('degree by cross-validation is not available yet: using the largest estimable degree ≤ 2');
    degreeOpt = 2;
  }
  let degree = degreeOpt;
  // Keep at least one residual degree of freedom.
  while (degree > 1 && termCount(predictors.length, degree) >= table.rows.length) degree = (degree - 1) as 1 | 2;
  if (degree !== degreeOpt) warnings.push(`degree ${degreeOpt} needs more than ${table.rows.length} trials for ${predictors.length} factors: using degree ${degree}`);
  if (termCount(predictors.length, degree) >= table.rows.length) throw new UserError(`${table.rows.length} finished trials are too few to fit ${predictors.length} factors`);

  const logLr = (opts.logLr ?? spec.analysis?.log_lr ?? true) && predictors.includes('learning_rate');
  const standardize = opts.standardize ?? spec.analysis?.standardize ?? false;
  const result = analyze(
    { columns: table.columns, rows: table.rows, source: store.location },
    {
      predictors,
      responses,
      frame: frames.length === 2 ? 'both' : frames[0]!,
      ...(baseline ? { baseline } : {}),
      spec: { degree, logLr, standardize, ...(predictors.includes('learning_rate') ? { lrColumn: 'learning_rate' } : {}) },
    },
  );
  warnings.push(...result.warnings);
  const json = {
    study: study.name,
    store: store.location,
    nobs: table.rows.length,
    predictors,
    responses,
    degree,
    frames,
    baseline: table.baseline,
    fits: result.fits,
    warnings,
  };
  return { name: study.name, nobs: table.rows.length, predictors, responses, degree, frames, baseline, fits: result.fits, warnings, json, table };
}

function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return 'aliased';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(digits - 1) : x.toFixed(digits);
}

function stars(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '';
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : '';
}

/** A compact per-fit coefficient table (the full statsmodels-style summary is in --json). */
export function formatStudyAnalysis(a: StudyAnalysis): string {
  const out: string[] = [];
  out.push(`study ${a.name}: ${a.nobs} finished trials; predictors ${a.predictors.join(', ')}; degree ${a.degree}; frames ${a.frames.join(' + ')}`);
  if (a.baseline) out.push(`baseline: ${Object.entries(a.baseline).filter(([k]) => a.responses.includes(k)).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  for (const fit of a.fits) {
    out.push('');
    out.push(`== ${fit.response} (${fit.frame}${fit.frame === 'relative' ? `: ${fit.response} − ${fmt(fit.baseline)}` : ''}) — R² ${fmt(fit.rsquared, 3)}, adj. R² ${fmt(fit.rsquared_adj, 3)}, F p-value ${fmt(fit.f_pvalue, 3)}, n ${fit.nobs}`);
    const w = Math.max(10, ...fit.terms.map((t) => t.length)) + 2;
    out.push(`${'term'.padEnd(w)}${'coef'.padStart(12)}${'std err'.padStart(12)}${'P>|t|'.padStart(10)}${'BH p'.padStart(10)}`);
    fit.terms.forEach((t, i) => {
      const p = fit.pvalues[i];
      // pvalues_fdr_bh runs over terms[1:] (statsmodels' multipletests over the non-intercept terms)
      const bh = i === 0 ? null : fit.pvalues_fdr_bh?.[i - 1];
      const isAliased = fit.params[i] === null;
      out.push(`${t.padEnd(w)}${fmt(fit.params[i]).padStart(12)}${(isAliased ? '' : fmt(fit.bse[i])).padStart(12)}${(isAliased ? '' : fmt(p, 3)).padStart(10)}${(bh === null || bh === undefined ? '' : fmt(bh, 3)).padStart(10)} ${stars(p)}`);
    });
  }
  if (a.warnings.length > 0) {
    out.push('');
    for (const w of a.warnings) out.push(`warning: ${w}`);
  }
  return out.join('\n');
}
