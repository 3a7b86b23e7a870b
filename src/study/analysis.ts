/**
 * `study analyze`: the analysis engine (src/analysis) on a study's rows — polynomial OLS of each metric on the
 * hyperparameters that vary, in the absolute frame and relative to the study's baseline (degree from the spec,
 * or per metric by cross-validation) — and the variability questions replicates answer: seed noise vs
 * hyperparameter effect, seeds needed for power, metric correlations, the Pareto set, the best configuration.
 */
import {
  analyze,
  seedVariability,
  effectVsNoise,
  seedsForPower,
  metricCorrelations,
  paretoFront,
  bestConfigurations,
  selectDegreeByCV,
  DEFAULT_OBJECTIVES,
  type OlsFit,
  type SeedVariability,
  type EffectVsNoise,
  type SeedsForPower,
  type MetricCorrelation,
  type BestConfiguration,
  type DegreeSelection,
  type Objective,
  analyzeNoise, formatNoiseAnalysis, noiseToJson, centerText, sobolIndices, formatSobol, type SobolIndices, type NoiseAnalysis, type CenterKind, type CenterOption,
} from '../analysis/index.js';
import { resolveTrainingArguments } from '../train/index.js';
import type { StudyStore } from '../store/index.js';
import { UserError } from '../util/index.js';
import { studyRows, type StudyTable } from './rows.js';
import { studyNoiseRows } from './predictions.js';
import type { StudySpec } from './spec.js';

export interface AnalyzeStudyOptions {
  degree?: 1 | 2 | 3 | 'cv';
  frame?: 'absolute' | 'relative' | 'both';
  responses?: string[];
  logLr?: boolean;
  standardize?: boolean;
  /** effect size (metric units) for the seeds-needed calculation */
  effectSize?: number;
  /** the noise analysis: leave diverged trials out (it always says how many) */
  excludeDiverged?: boolean;
  /** leave out trials with a missing metric (e.g. NaN from a diverged trial) instead of stopping; the fits say how many */
  dropMissing?: boolean;
  /** Sobol importance: bootstrap resamples (default 1000; 0: indices without CIs) and their seed (default 0) */
  importanceBootstrap?: number;
  importanceSeed?: number;
  /** origin of the predictors (default: the spec's analysis.center with baseline.config); config keys beyond the fitted predictors are ignored */
  center?: CenterOption;
}

/**
 * Training arguments with HF's defaults filled in. A study run by its own runner (`--runner`) may carry arguments the
 * built-in trainer does not know: its args are then taken as written (a report or dashboard must not fail over them).
 */
function withHfDefaults(args: Record<string, unknown>): Record<string, unknown> {
  try {
    return { ...resolveTrainingArguments(args as Parameters<typeof resolveTrainingArguments>[0]) };
  } catch (e) {
    if (e instanceof UserError) return args;
    throw e;
  }
}

/**
 * The spec's centre: analysis.center, and for `baseline` the baseline's configuration in natural units — a trained
 * baseline.config over the spec's args and HF's defaults (what that baseline ran with), a described one as written.
 */
export function specCenter(spec: Partial<StudySpec>): { center: CenterKind; config?: Record<string, number>; source?: string } {
  const center = spec.analysis?.center ?? 'none';
  const b = spec.baseline;
  if (!b?.config) return { center };
  const factors = spec.design?.factors?.map((f) => f.name) ?? [];
  const full: Record<string, unknown> = b.kind === 'config' ? withHfDefaults({ ...(spec.args ?? {}), ...b.config }) : b.config;
  const config: Record<string, number> = {};
  for (const f of factors) {
    const v = full[f];
    if (typeof v === 'number' && Number.isFinite(v)) config[f] = v;
  }
  return { center, config, source: b.kind === 'config' ? "the spec's baseline.config (with args and HF defaults)" : "the spec's baseline config" };
}

export interface MetricVariability {
  metric: string;
  anova: SeedVariability;
  /** per predictor: fitted effect over its range vs the seed-noise sd (absolute-frame fit) */
  effects: EffectVsNoise[];
  power: SeedsForPower | null;
}

export interface StudyAnalysis {
  name: string;
  nobs: number;
  predictors: string[];
  responses: string[];
  /** degree per response (equal unless chosen by cross-validation) */
  degrees: Record<string, 1 | 2 | 3>;
  degreeSelection: Record<string, DegreeSelection>;
  frames: Array<'absolute' | 'relative'>;
  baseline: Record<string, number> | null;
  /** the predictors' origin (natural units per predictor; null when not centred) */
  center: CenterKind;
  centerPoint: Record<string, number> | null;
  fits: OlsFit[];
  variability: MetricVariability[];
  correlations: MetricCorrelation[];
  pareto: { objectives: Objective[]; rows: Array<Record<string, string | number | null>> } | null;
  best: BestConfiguration[];
  effectSize: number;
  /** noise analysis of the first response (variance components, evaluation noise, diverged runs, E[max], mixed model) */
  noise: NoiseAnalysis | null;
  /** Sobol indices of each response's fitted surface over the design box, with bootstrap CIs */
  importance: SobolIndices[];
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
  const baseline = table.baseline ? Object.fromEntries(Object.entries(table.baseline.metrics).filter(([k]) => responses.includes(k))) : null;
  if (frames.includes('relative') && !baseline) {
    if (frameOpt === 'relative') throw new UserError('the relative frame needs a baseline: add `baseline:` to the spec (or wait for the baseline trials)');
    warnings.push('no baseline: the relative frame is left out');
    frames = ['absolute'];
  }

  const logLr = (opts.logLr ?? spec.analysis?.log_lr ?? true) && predictors.includes('learning_rate');
  const standardize = opts.standardize ?? spec.analysis?.standardize ?? false;
  const lrColumn = predictors.includes('learning_rate') ? { lrColumn: 'learning_rate' } : {};
  const asTable = { columns: table.columns, rows: table.rows, source: store.location };
  // block-effect terms (one per block after the first) take degrees of freedom too
  const blockTerms = table.columns.includes('block') ? new Set(table.rows.map((r) => r.block)).size - 1 : 0;
  const maxDegree = (d: 1 | 2 | 3): 1 | 2 | 3 => {
    // keep at least one residual degree of freedom
    let out = d;
    while (out > 1 && termCount(predictors.length, out) + blockTerms >= table.rows.length) out = (out - 1) as 1 | 2;
    return out;
  };
  if (termCount(predictors.length, 1) >= table.rows.length) throw new UserError(`${table.rows.length} finished trials are too few to fit ${predictors.length} factors`);

  const degreeOpt = opts.degree ?? spec.analysis?.degree ?? 2;
  const degrees: Record<string, 1 | 2 | 3> = {};
  const degreeSelection: Record<string, DegreeSelection> = {};
  for (const r of responses) {
    if (degreeOpt === 'cv') {
      const sel = selectDegreeByCV(asTable, { predictors, response: r, degrees: ([1, 2, 3] as const).filter((d) => maxDegree(d) === d), logLr, standardize, ...lrColumn });
      degreeSelection[r] = sel;
      degrees[r] = sel.chosen;
    } else {
      degrees[r] = maxDegree(degreeOpt);
      if (degrees[r] !== degreeOpt) warnings.push(`${r}: degree ${degreeOpt} needs more than ${table.rows.length} trials for ${predictors.length} factors: using degree ${degrees[r]}`);
    }
  }
  let center: CenterOption = opts.center ?? { kind: 'none' };
  if (!opts.center) {
    const sc = specCenter(spec);
    if (sc.center === 'baseline' && !sc.config) throw new UserError("analysis.center: baseline needs the baseline's configuration (baseline.config in the spec, --baseline-card or --baseline-config)");
    center = sc.center === 'baseline' ? { kind: 'baseline', config: sc.config! } : { kind: sc.center };
  }
  if (center.kind === 'baseline') {
    // only the factors that vary are fitted; a constant factor's baseline value plays no part
    center = { kind: 'baseline', config: Object.fromEntries(Object.entries(center.config).filter(([k]) => predictors.includes(k))) };
  }
  const fits: OlsFit[] = [];
  for (const r of responses) {
    const result = analyze(asTable, {
      predictors,
      responses: [r],
      // a metric the baseline lacks gets the absolute frame only
      frame: baseline && !(r in baseline) ? 'absolute' : frames.length === 2 ? 'both' : frames[0]!,
      ...(baseline && r in baseline ? { baseline: { [r]: baseline[r]! } } : {}),
      spec: { degree: degrees[r]!, logLr, standardize, ...lrColumn, center },
      ...(opts.dropMissing ? { dropMissing: true } : {}),
      // sequential blocks (`study extend`): a block effect, so a shift between blocks is not read as an effect
      ...(table.columns.includes('block') ? { blocks: 'block' } : {}),
    });
    fits.push(...result.fits);
    warnings.push(...result.warnings);
  }

  // Importance: exact Sobol indices of each response's surface (one per response: frames and centres share it)
  const importance: SobolIndices[] = [];
  for (const r of responses) {
    try {
      const s = sobolIndices(asTable, {
        predictors, response: r, spec: { degree: degrees[r]!, logLr, standardize, ...lrColumn }, B: opts.importanceBootstrap ?? 1000, seed: opts.importanceSeed ?? 0,
      });
      importance.push(s);
      warnings.push(...s.warnings);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      warnings.push(`${r}: no Sobol indices: ${e.message}`);
    }
  }
  if (importance.length > 0 && table.columns.includes('block')) warnings.push('Sobol indices are of the surface fitted without the block effect');

  // Variability: seed noise (one-way ANOVA over configurations), effects vs noise, seeds for power.
  const effectSize = opts.effectSize ?? 0.01;
  const variability: MetricVariability[] = [];
  const replicated = new Set(table.rows.map((r) => JSON.stringify(predictors.map((p) => r[p])))).size < table.rows.length;
  if (replicated) {
    for (const r of responses) {
      const anova = seedVariability(table.rows, { configColumns: predictors, seedColumn: 'seed', metric: r });
      warnings.push(...anova.warnings);
      const fit = fits.find((f) => f.response === r && f.frame === 'absolute') ?? fits.find((f) => f.response === r)!;
      const sigma = anova.sigma_seed;
      const effects = Number.isFinite(sigma) && sigma > 0 ? effectVsNoise(fit, sigma) : [];
      const power = Number.isFinite(sigma) && sigma > 0 ? seedsForPower({ effect: effectSize, sigma }) : null;
      variability.push({ metric: r, anova, effects, power });
    }
  } else {
    warnings.push('no configuration was run with more than one seed: seed noise cannot be separated from hyperparameter effects (add seeds)');
  }
  const correlations = responses.length >= 2 ? metricCorrelations(table.rows, responses) : [];
  const objectives = DEFAULT_OBJECTIVES.filter((o) => table.metrics.includes(o.metric));
  const pareto = objectives.length >= 2 ? { objectives, rows: paretoFront(table.rows, objectives).rows } : null;
  const best = bestConfigurations(table.rows, responses, { configColumns: predictors });

  // noise: per-example predictions by trial, seed × data_seed components, diverged runs (first response)
  let noise: NoiseAnalysis | null = null;
  const nr = await studyNoiseRows(store);
  try {
    noise = analyzeNoise(nr.rows, {
      configColumns: predictors,
      seedColumns: nr.seedColumns,
      metric: responses[0]!,
      predictions: nr.predictions,
      excludeDiverged: opts.excludeDiverged ?? false,
      model: { degree: 2, logLr: opts.logLr ?? spec.analysis?.log_lr ?? true },
    });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    warnings.push(`no noise analysis: ${e.message}`);
  }

  const json = {
    study: study.name,
    store: store.location,
    nobs: table.rows.length,
    predictors,
    responses,
    degrees,
    degree_selection: degreeSelection,
    frames,
    baseline: table.baseline,
    center: center.kind,
    center_point: fits[0]?.spec.center_point ?? null,
    fits,
    variability,
    correlations,
    pareto,
    best,
    effect_size: effectSize,
    importance,
    noise: noise ? noiseToJson(noise) : null,
    warnings,
  };
  return {
    name: study.name,
    nobs: table.rows.length,
    predictors,
    responses,
    degrees,
    degreeSelection,
    frames,
    baseline,
    center: center.kind,
    centerPoint: fits[0]?.spec.center_point ?? null,
    fits,
    variability,
    correlations,
    pareto,
    best,
    effectSize,
    noise,
    importance,
    warnings,
    json,
    table,
  };
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

function configText(c: Record<string, unknown>): string {
  return Object.entries(c).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : String(v)}`).join(' ');
}

/** A compact per-fit coefficient table (the full statsmodels-style summary is in --json), then the variability findings. */
export function formatStudyAnalysis(a: StudyAnalysis): string {
  const out: string[] = [];
  const degs = [...new Set(Object.values(a.degrees))];
  out.push(
    `study ${a.name}: ${a.nobs} finished trials; predictors ${a.predictors.join(', ')}; degree ${degs.length === 1 ? degs[0] : Object.entries(a.degrees).map(([r, d]) => `${r} ${d}`).join(', ')}` +
      `${Object.keys(a.degreeSelection).length ? ' (by cross-validation)' : ''}; frames ${a.frames.join(' + ')}`,
  );
  if (a.baseline) out.push(`baseline: ${Object.entries(a.baseline).filter(([k]) => a.responses.includes(k)).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  const centred = a.fits.find((f) => f.spec.center !== 'none');
  out.push(centred ? centerText(centred)! : 'predictors not centred (center: none)');
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
  if (a.variability.length > 0) {
    const v0 = a.variability[0]!.anova;
    out.push('');
    out.push(`== seed noise vs hyperparameters (one-way ANOVA, configuration as factor: ${v0.k} configurations, ${v0.n} trials)`);
    out.push(`${'metric'.padEnd(12)}${'hyperparams'.padStart(12)}${'seeds'.padStart(8)}${'σ seed'.padStart(10)}${'σ config'.padStart(10)}${'F'.padStart(9)}${'p'.padStart(10)}${'max sd/config'.padStart(15)}`);
    for (const v of a.variability) {
      const maxSd = Math.max(...v.anova.configurations.map((c) => (Number.isFinite(c.sd) ? c.sd : 0)));
      out.push(
        `${v.metric.padEnd(12)}${`${(100 * v.anova.eta_squared).toFixed(1)}%`.padStart(12)}${`${(100 * v.anova.seed_share).toFixed(1)}%`.padStart(8)}` +
          `${fmt(v.anova.sigma_seed).padStart(10)}${fmt(v.anova.sigma_config).padStart(10)}${fmt(v.anova.F, 3).padStart(9)}${fmt(v.anova.p, 3).padStart(10)}${fmt(maxSd).padStart(15)}`,
      );
    }
    const below = a.variability.flatMap((v) => v.effects.filter((e) => e.below_noise).map((e) => `${v.metric}: ${e.predictor} moves the fit by ${fmt(e.effect)} < σ seed ${fmt(e.sigma_seed)}`));
    out.push(below.length > 0 ? `effects smaller than the seed noise:\n  ${below.join('\n  ')}` : 'every fitted hyperparameter effect exceeds the seed noise');
    const pw = a.variability.filter((v) => v.power);
    if (pw.length > 0) {
      out.push(
        `seeds per configuration to detect a difference of ${a.effectSize} (α 0.05, power 0.8): ` +
          pw.map((v) => `${v.metric} ${v.power!.n_per_config}`).join(', '),
      );
    }
  }
  if (a.correlations.length > 0) {
    out.push('');
    out.push('== trade-offs');
    out.push(`correlations across trials (Pearson / Spearman): ${a.correlations.map((c) => `${c.a}–${c.b} ${fmt(c.pearson, 3)} / ${fmt(c.spearman, 3)}`).join(', ')}`);
  }
  if (a.pareto) {
    out.push(`Pareto set over (${a.pareto.objectives.map((o) => `${o.metric} ${o.direction === 'max' ? '↑' : '↓'}`).join(', ')}): ${a.pareto.rows.length} trial(s)`);
    for (const r of a.pareto.rows.slice(0, 8)) {
      out.push(`  ${configText(Object.fromEntries(a.predictors.map((p) => [p, r[p]])))} seed=${r.seed} → ${a.pareto.objectives.map((o) => `${o.metric} ${fmt(r[o.metric] as number)}`).join(', ')}`);
    }
    if (a.pareto.rows.length > 8) out.push(`  … ${a.pareto.rows.length - 8} more (see --json)`);
  }
  if (a.best.length > 0) {
    out.push('best configuration per metric (mean over seeds):');
    for (const b of a.best) out.push(`  ${b.metric} (${b.direction}): ${configText(b.config)} → ${fmt(b.value)}${b.n > 1 ? ` ± ${fmt(b.sd)} (sd over ${b.n} seeds)` : ''}`);
  }
  if (a.warnings.length > 0) {
    out.push('');
    // "accuracy (absolute): X" for every fit → one line "X (accuracy, f1, …)"
    const grouped = new Map<string, string[]>();
    for (const w of a.warnings) {
      const m = /^(\S+) \((absolute|relative)\): (.*)$/s.exec(w);
      const key = m ? m[3]! : w;
      const who = grouped.get(key) ?? [];
      if (m) who.push(`${m[1]} ${m[2]}`);
      grouped.set(key, who);
    }
    for (const [w, who] of grouped) out.push(`warning: ${w}${who.length > 0 ? ` (${who.join(', ')})` : ''}`);
  }
  for (const s of a.importance) out.push('', `== importance: ${formatSobol({ ...s, warnings: [] })}`);
  if (a.noise) out.push('', formatNoiseAnalysis(a.noise));
  return out.join('\n');
}
