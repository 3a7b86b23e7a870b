/**
 * The full noise analysis of a sweep (what `tunescope variability`, `study analyze` and the report's Noise section
 * show), on plain rows plus optional per-example predictions:
 *  - the configuration-vs-seed decomposition (one-way ANOVA, ./variability.ts);
 *  - variance components seed / data_seed / residual, pooled (components nested in each configuration, the
 *    configuration a fixed effect) and per configuration, by REML and — balanced designs — ANOVA, each with CIs;
 *  - the evaluation-set sampling variance from the per-example predictions (bootstrap over examples) and the share of
 *    the seed-to-seed variance it alone explains;
 *  - diverged runs by a stated, configurable rule, their rate per configuration, and a logistic regression of
 *    P(diverged) on the hyperparameters;
 *  - expected validation performance E[max of n] ± SE, overall and per level of each factor;
 *  - the linear mixed model: the polynomial in the hyperparameters as fixed effects with seed and data_seed as crossed
 *    random effects, next to the OLS fit of the same design, with a note where they disagree.
 */
import { UserError } from '../util/index.js';
import { buildDesign, type ModelSpec } from './design.js';
import { fitOls } from './ols.js';
import { fitLogit, type LogitFit } from './logit.js';
import { anovaComponents, fitMixedModel, type MixedModelFit } from './mixed.js';
import { bootstrapMetrics, expectedMax, type BootstrapInterval, type ExamplePredictions, type ExpectedMax } from './noise.js';
import { seedVariability, type SeedVariability } from './variability.js';
import { isMissing, type Cell, type Row } from './table.js';

export interface DivergedRule {
  /** accuracy must exceed the majority-class rate by more than this many binomial SEs of the evaluation set */
  se_multiplier: number;
  /** the loss above which a run counts as diverged (default: the untrained model's, ln(number of labels)) */
  max_loss: number | null;
  /** the majority-class rate of the evaluation set (default: from the predictions' labels) */
  majority_rate: number | null;
  /** evaluation examples (default: from the predictions, else the `num_samples` column) */
  eval_n: number | null;
}

export const DEFAULT_DIVERGED_RULE: DivergedRule = { se_multiplier: 2, max_loss: null, majority_rate: null, eval_n: null };

export interface NoiseOptions {
  configColumns: string[];
  /** seed columns: the first is HF `seed`, the second (when present) `data_seed` */
  seedColumns: string[];
  metric: string;
  /** per row (same index as `rows`): that trial's final-evaluation predictions */
  predictions?: Array<ExamplePredictions | null>;
  diverged?: Partial<DivergedRule>;
  excludeDiverged?: boolean;
  /** the mixed model's polynomial (default degree 2, log10 learning rate) */
  model?: Partial<ModelSpec>;
  bootstrap?: { B?: number; seed?: number };
  /** number of labels (for the default loss threshold), default 2 */
  numLabels?: number;
}

export interface ComponentEstimates {
  reml: Record<string, number> | null;
  anova: Record<string, number> | null;
  ci: { reml: Record<string, [number, number]> | null; anova: Record<string, [number, number]> | null };
  n: number;
}

export interface ConfigNoise extends ComponentEstimates {
  config: Record<string, Cell>;
  mean: number;
  sd: number;
}

export interface DivergedSummary {
  rule: string;
  count: number;
  rate: number;
  total: number;
  excluded: number;
  by_config: Array<{ config: Record<string, Cell>; n: number; diverged: number; rate: number }>;
  /** row indices (into the input rows) of the diverged trials */
  rows: number[];
  logit: (Pick<LogitFit, 'terms' | 'params' | 'bse' | 'pvalues' | 'llr_pvalue' | 'prsquared' | 'separation' | 'converged' | 'warnings'>) | null;
  notes: string[];
}

export interface TrialInterval extends BootstrapInterval {
  row: number;
}

export interface NoiseAnalysis {
  metric: string;
  n: number;
  seed_columns: string[];
  config_columns: string[];
  configuration_vs_seed: SeedVariability | null;
  variance_components: ComponentEstimates & { by_config: ConfigNoise[]; components: string[]; method: { reml: string; anova: string | null } };
  evaluation_noise: { variance: number; share_of_seed_variance: number; seed_variance: number; trials: number; method: string } | null;
  trial_intervals: TrialInterval[];
  /** bootstrap replicates behind trial_intervals and evaluation_noise */
  bootstrap_B: number;
  diverged: DivergedSummary;
  expected_max: ExpectedMax[];
  expected_max_by: Record<string, Array<{ level: Cell; curve: ExpectedMax[] }>>;
  mixed_model: { terms: string[]; params: number[]; bse: number[]; pvalues: number[]; ols: { params: number[]; bse: number[]; pvalues: number[] }; disagreements: string[] } | null;
  findings: string[];
  warnings: string[];
}

function num(c: Cell | undefined): number | null {
  if (c === undefined || isMissing(c)) return null;
  const v = typeof c === 'number' ? c : Number(c);
  return Number.isFinite(v) ? v : typeof c === 'number' && !Number.isNaN(c) ? c : null;
}

const keyOf = (r: Row, cols: string[]) => JSON.stringify(cols.map((c) => r[c] ?? null));

function majorityRate(label: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < label.length; i++) counts.set(label[i]!, (counts.get(label[i]!) ?? 0) + 1);
  return Math.max(...counts.values()) / label.length;
}

/** Which rows diverged, by the rule (accuracy near the majority class, or a non-finite / too-high loss). */
export function flagDiverged(rows: Row[], opts: { predictions?: Array<ExamplePredictions | null>; rule?: Partial<DivergedRule>; numLabels?: number }): { flags: boolean[]; rule: string; notes: string[] } {
  const rule = { ...DEFAULT_DIVERGED_RULE, ...opts.rule };
  const notes: string[] = [];
  const firstPred = opts.predictions?.find((p) => p);
  const majority = rule.majority_rate ?? (firstPred ? majorityRate(firstPred.label) : null);
  const evalN = rule.eval_n ?? (firstPred ? firstPred.label.length : num(rows.find((r) => num(r.num_samples) !== null)?.num_samples) ?? null);
  const maxLoss = rule.max_loss ?? Math.log(opts.numLabels ?? 2);
  let accThreshold: number | null = null;
  if (majority !== null && evalN !== null) accThreshold = majority + rule.se_multiplier * Math.sqrt((majority * (1 - majority)) / evalN);
  else notes.push('the majority-class rate or the evaluation-set size is unknown (no per-example predictions; give --majority-rate and --eval-n): only the loss part of the rule applies');
  const parts = [];
  if (accThreshold !== null) parts.push(`accuracy ≤ ${accThreshold.toFixed(4)} (majority-class rate ${majority!.toFixed(4)} + ${rule.se_multiplier} × √(p(1−p)/${evalN}))`);
  parts.push(`loss non-finite or > ${maxLoss.toFixed(4)}${rule.max_loss === null ? ` (the untrained model's: ln ${opts.numLabels ?? 2})` : ''}`);
  const flags = rows.map((r) => {
    const acc = num(r.accuracy);
    const lossCell = r.loss;
    const loss = typeof lossCell === 'number' ? lossCell : num(lossCell);
    const lossBad = lossCell !== undefined && lossCell !== null && lossCell !== '' && (loss === null || !Number.isFinite(loss) || loss > maxLoss);
    const accBad = accThreshold !== null && (acc === null ? false : acc <= accThreshold);
    return accBad || lossBad;
  });
  return { flags, rule: `diverged when ${parts.join(', or ')}`, notes };
}

function components(
  y: number[],
  levels: number[][],
  names: string[],
  blocks: number[] | null,
  configIndex: number[] | null,
): ComponentEstimates {
  const n = y.length;
  let reml: MixedModelFit | null = null;
  const nConfigs = configIndex ? new Set(configIndex).size : 1;
  try {
    const X: number[][] = [y.map(() => 1)];
    if (configIndex) for (let k = 1; k < nConfigs; k++) X.push(configIndex.map((c) => (c === k ? 1 : 0)));
    if (n > X.length + 1) {
      reml = fitMixedModel({ y, X, terms: X.map((_, i) => (i === 0 ? 'Intercept' : `config${i}`)), components: names.map((name, k) => ({ name, levels: levels[k]! })), ...(blocks ? { blocks } : {}) });
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  const anova = names.length === 2 ? anovaComponents(y, levels[0]!, levels[1]!, { names: [names[0]!, names[1]!], ...(blocks ? { blocks } : {}) }) : null;
  return {
    reml: reml ? reml.variances : null,
    anova: anova ? anova.variances : null,
    ci: { reml: reml ? reml.ci : null, anova: anova ? anova.ci : null },
    n,
  };
}

/** The noise analysis (see the module header). */
export function analyzeNoise(rowsIn: Row[], opts: NoiseOptions): NoiseAnalysis {
  const { configColumns, metric } = opts;
  const seedCols = opts.seedColumns;
  if (seedCols.length === 0 || seedCols.length > 2) throw new UserError('variability: --seed-cols takes one or two columns (seed[,data_seed])');
  for (const c of [...configColumns, ...seedCols, metric]) if (rowsIn.length > 0 && !(c in rowsIn[0]!)) throw new UserError(`variability: no column ${c} (columns: ${Object.keys(rowsIn[0]!).join(', ')})`);
  const warnings: string[] = [];
  const findings: string[] = [];
  const direction = /loss|error|perplexity/i.test(metric) ? 'min' : 'max';

  // diverged runs: flagged on every row, excluded on request
  const div = flagDiverged(rowsIn, { ...(opts.predictions ? { predictions: opts.predictions } : {}), ...(opts.diverged ? { rule: opts.diverged } : {}), ...(opts.numLabels ? { numLabels: opts.numLabels } : {}) });
  const keep = rowsIn.map((_, i) => !(opts.excludeDiverged && div.flags[i]));
  const idx = rowsIn.map((_, i) => i).filter((i) => keep[i] && num(rowsIn[i]![metric]) !== null);
  const rows = idx.map((i) => rowsIn[i]!);
  const preds = opts.predictions ? idx.map((i) => opts.predictions![i] ?? null) : null;
  if (rows.length === 0) throw new UserError(`variability: no rows with a value for ${metric}${opts.excludeDiverged ? ' after excluding diverged runs' : ''}`);
  const y = rows.map((r) => num(r[metric])!);

  const configKeys = [...new Set(rows.map((r) => keyOf(r, configColumns)))];
  const configIndex = rows.map((r) => configKeys.indexOf(keyOf(r, configColumns)));
  const levelCodes = seedCols.map((c) => {
    const vals = [...new Set(rows.map((r) => String(r[c] ?? '')))];
    return rows.map((r) => vals.indexOf(String(r[c] ?? '')));
  });
  const names = seedCols.length === 2 ? ['seed', 'data_seed'] : ['seed'];

  let anova1: SeedVariability | null = null;
  try {
    anova1 = seedVariability(rows, { configColumns, seedColumn: seedCols[0]!, metric });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }

  const pooled = components(y, levelCodes, names, configKeys.length > 1 ? configIndex : null, configKeys.length > 1 ? configIndex : null);
  const by_config: ConfigNoise[] = configKeys.map((key, k) => {
    const sel = configIndex.map((c, i) => (c === k ? i : -1)).filter((i) => i >= 0);
    const ys = sel.map((i) => y[i]!);
    const m = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sd = ys.length > 1 ? Math.sqrt(ys.reduce((a, b) => a + (b - m) ** 2, 0) / (ys.length - 1)) : NaN;
    const est = ys.length > names.length + 1 ? components(ys, levelCodes.map((l) => sel.map((i) => l[i]!)), names, null, null) : { reml: null, anova: null, ci: { reml: null, anova: null }, n: ys.length };
    const first = rows[sel[0]!]!;
    return { config: Object.fromEntries(configColumns.map((c) => [c, first[c] ?? null])), mean: m, sd, ...est };
  });
  if (!pooled.reml) warnings.push('the variance components could not be estimated (too few replicates per configuration)');
  if (pooled.anova === null && names.length === 2) warnings.push('the seed × data_seed design is unbalanced (or has one level): ANOVA estimators are not defined, REML only');

  // evaluation-set noise from the per-example predictions
  const trial_intervals: TrialInterval[] = [];
  let evaluation_noise: NoiseAnalysis['evaluation_noise'] = null;
  const bootMetric = (['accuracy', 'f1', 'loss'] as const).find((m) => m === metric);
  if (preds && bootMetric) {
    const vars: number[] = [];
    preds.forEach((p, j) => {
      if (!p) return;
      const iv = bootstrapMetrics(p, { metrics: [bootMetric], ...(opts.bootstrap ?? {}) })[bootMetric];
      if (!iv) return;
      trial_intervals.push({ row: idx[j]!, ...iv });
      vars.push(iv.se ** 2);
    });
    if (vars.length > 0) {
      const v = vars.reduce((a, b) => a + b, 0) / vars.length;
      const seedVar = pooled.reml ? Object.values(pooled.reml).reduce((a, b) => a + b, 0) : anova1 && anova1.df_within > 0 ? anova1.sigma_seed ** 2 : NaN;
      evaluation_noise = {
        variance: v,
        seed_variance: seedVar,
        share_of_seed_variance: v / seedVar,
        trials: vars.length,
        method: `mean bootstrap variance of ${metric} over evaluation examples (B = ${opts.bootstrap?.B ?? 2000}), over the total within-configuration variance (REML seed + data_seed + residual)`,
      };
      if (Number.isFinite(v / seedVar)) findings.push(`the finite evaluation set alone accounts for ${(100 * Math.min(1, v / seedVar)).toFixed(0)} % of the seed-to-seed variance of ${metric} (evaluation sd ${Math.sqrt(v).toFixed(4)} vs seed sd ${Math.sqrt(seedVar).toFixed(4)})`);
    }
  }

  // diverged summary (over all rows with the metric, before any exclusion)
  const allIdx = rowsIn.map((_, i) => i).filter((i) => num(rowsIn[i]![metric]) !== null || div.flags[i]);
  const byCfg = new Map<string, { config: Record<string, Cell>; n: number; diverged: number }>();
  for (const i of allIdx) {
    const r = rowsIn[i]!;
    const k = keyOf(r, configColumns);
    const g = byCfg.get(k) ?? { config: Object.fromEntries(configColumns.map((c) => [c, r[c] ?? null])), n: 0, diverged: 0 };
    g.n++;
    if (div.flags[i]) g.diverged++;
    byCfg.set(k, g);
  }
  const count = allIdx.filter((i) => div.flags[i]).length;
  let logit: DivergedSummary['logit'] = null;
  const notes = [...div.notes];
  if (count > 0 && count < allIdx.length) {
    try {
      const spec: ModelSpec = { degree: 1, logLr: opts.model?.logLr ?? configColumns.some((c) => /^(lr|learning_rate)$/.test(c)), standardize: false, ...(opts.model?.lrColumn ? { lrColumn: opts.model.lrColumn } : {}) };
      const varying = configColumns.filter((c) => new Set(allIdx.map((i) => num(rowsIn[i]![c]))).size > 1);
      const ok = allIdx.filter((i) => varying.every((c) => num(rowsIn[i]![c]) !== null));
      if (varying.length > 0) {
        const d = buildDesign(varying, varying.map((c) => ok.map((i) => num(rowsIn[i]![c])!)), spec);
        const f = fitLogit(d.columns, ok.map((i) => (div.flags[i] ? 1 : 0)), d.info.terms);
        logit = { terms: f.terms, params: f.params, bse: f.bse, pvalues: f.pvalues, llr_pvalue: f.llr_pvalue, prsquared: f.prsquared, separation: f.separation, converged: f.converged, warnings: f.warnings };
      }
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notes.push(`no logistic regression of P(diverged): ${e.message}`);
    }
  } else {
    notes.push(count === 0 ? 'no run diverged: no logistic regression of P(diverged)' : 'every run diverged: no logistic regression of P(diverged)');
  }
  const excluded = opts.excludeDiverged ? rowsIn.filter((_, i) => div.flags[i]).length : 0;
  const diverged: DivergedSummary = {
    rule: div.rule,
    count,
    total: allIdx.length,
    rate: allIdx.length > 0 ? count / allIdx.length : NaN,
    excluded,
    by_config: [...byCfg.values()].map((g) => ({ ...g, rate: g.diverged / g.n })),
    rows: allIdx.filter((i) => div.flags[i]),
    logit,
    notes,
  };
  if (count > 0) findings.push(`${count} of ${allIdx.length} runs diverged (${div.rule})${opts.excludeDiverged ? `; ${excluded} excluded from the analysis` : ' — they are included; --exclude-diverged leaves them out'}`);

  // expected validation performance
  const expected_max = expectedMax(y, { direction });
  const expected_max_by: NoiseAnalysis['expected_max_by'] = {};
  for (const c of configColumns) {
    const levels = [...new Set(rows.map((r) => r[c] ?? null))];
    if (levels.length < 2) continue;
    expected_max_by[c] = levels.map((level) => ({ level, curve: expectedMax(rows.filter((r) => (r[c] ?? null) === level).map((r) => num(r[metric])!), { direction }) }));
  }

  // mixed model next to OLS on the same polynomial
  let mixed_model: NoiseAnalysis['mixed_model'] = null;
  const varying = configColumns.filter((c) => new Set(rows.map((r) => num(r[c]))).size > 1);
  if (varying.length > 0 && rows.every((r) => varying.every((c) => num(r[c]) !== null))) {
    try {
      const spec: ModelSpec = {
        degree: opts.model?.degree ?? 2,
        logLr: opts.model?.logLr ?? varying.some((c) => /^(lr|learning_rate)$/.test(c)),
        standardize: opts.model?.standardize ?? false,
        ...(opts.model?.lrColumn ? { lrColumn: opts.model.lrColumn } : {}),
      };
      const d = buildDesign(varying, varying.map((c) => rows.map((r) => num(r[c])!)), spec);
      const ols = fitOls({ terms: d.info.terms, factors: d.info.factors, columns: d.columns, y });
      const keepCols = d.info.terms.map((t, j) => (ols.aliased.includes(t) ? -1 : j)).filter((j) => j >= 0);
      const terms = keepCols.map((j) => d.info.terms[j]!);
      const mm = fitMixedModel({ y, X: keepCols.map((j) => d.columns[j]!), terms, components: names.map((name, k) => ({ name, levels: levelCodes[k]! })) });
      const olsOf = (arr: Array<number | null>) => keepCols.map((j) => arr[j] ?? NaN);
      const o = { params: olsOf(ols.params), bse: olsOf(ols.bse), pvalues: olsOf(ols.pvalues) };
      const disagreements: string[] = [];
      terms.forEach((t, j) => {
        if (t === 'Intercept') return;
        const sigM = mm.pvalues[j]! < 0.05, sigO = o.pvalues[j]! < 0.05;
        if (sigM !== sigO) disagreements.push(`${t}: ${sigO ? 'significant' : 'not significant'} by OLS (p ${o.pvalues[j]!.toPrecision(3)}) but ${sigM ? 'significant' : 'not significant'} in the mixed model (p ${mm.pvalues[j]!.toPrecision(3)}) — runs sharing a seed are correlated`);
      });
      mixed_model = { terms, params: mm.params, bse: mm.bse, pvalues: mm.pvalues, ols: o, disagreements };
      findings.push(...disagreements);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      warnings.push(`no mixed model: ${e.message}`);
    }
  }

  // effects smaller than the evaluation noise
  if (evaluation_noise && by_config.length > 1) {
    const evalSd = Math.sqrt(evaluation_noise.variance);
    const means = by_config.map((c) => c.mean);
    const spread = Math.max(...means) - Math.min(...means);
    if (spread < 2 * evalSd) findings.push(`the configurations' mean ${metric} spans ${spread.toFixed(4)}, less than two evaluation-noise SDs (${(2 * evalSd).toFixed(4)}): the hyperparameter effect is within evaluation noise`);
  }

  return {
    metric,
    n: rows.length,
    seed_columns: seedCols,
    config_columns: configColumns,
    configuration_vs_seed: anova1,
    variance_components: {
      ...pooled,
      components: [...names, 'residual'],
      by_config,
      method: {
        reml: 'REML, statsmodels MixedLM with variance components (pooled: configuration fixed, components nested in it); CIs Wald on the sd scale',
        anova: pooled.anova ? 'ANOVA method of moments (balanced crossed); CIs χ² (residual) and Satterthwaite' : null,
      },
    },
    evaluation_noise,
    trial_intervals,
    bootstrap_B: opts.bootstrap?.B ?? 2000,
    diverged,
    expected_max,
    expected_max_by,
    mixed_model,
    findings,
    warnings: [...warnings, ...(anova1?.warnings ?? [])],
  };
}

const f4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(3) : x.toFixed(4));
const sd = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : Math.sqrt(Math.max(0, v)).toFixed(4));
const cfgText = (c: Record<string, Cell>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');

/** The noise analysis as text (what `tunescope variability` prints). */
export function formatNoiseAnalysis(a: NoiseAnalysis): string {
  const out: string[] = [];
  out.push(`== noise analysis of ${a.metric}: ${a.n} trials, ${a.variance_components.by_config.length} configuration(s) (${a.config_columns.join(', ')}), seed columns ${a.seed_columns.join(', ')}`);
  const v = a.configuration_vs_seed;
  if (v) {
    out.push(`configuration vs seed (one-way ANOVA): hyperparameters ${(100 * v.eta_squared).toFixed(1)} %, seeds ${(100 * v.seed_share).toFixed(1)} % of the variance; σ seed ${f4(v.sigma_seed)}, σ config ${f4(v.sigma_config)}, F ${f4(v.F)}, p ${f4(v.p)}`);
  }
  const vc = a.variance_components;
  out.push('', `variance components (pooled over configurations; sd in ${a.metric} units, 95 % CI of the variance):`);
  out.push(`${'component'.padEnd(12)}${'REML var'.padStart(12)}${'sd'.padStart(9)}${'CI (REML)'.padStart(26)}${'ANOVA var'.padStart(12)}${'CI (ANOVA)'.padStart(26)}`);
  for (const c of vc.components) {
    const ci = vc.ci.reml?.[c];
    const ca = vc.ci.anova?.[c];
    out.push(
      `${c.padEnd(12)}${f4(vc.reml?.[c]).padStart(12)}${sd(vc.reml?.[c]).padStart(9)}${(ci ? `[${f4(ci[0])}, ${f4(ci[1])}]` : '—').padStart(26)}` +
        `${f4(vc.anova?.[c]).padStart(12)}${(ca ? `[${f4(ca[0])}, ${f4(ca[1])}]` : '—').padStart(26)}`,
    );
  }
  if (vc.by_config.length > 1) {
    out.push('', 'per configuration (REML sd of each component):');
    for (const c of vc.by_config) out.push(`  ${cfgText(c.config)}: n ${c.n}, mean ${f4(c.mean)}, sd ${f4(c.sd)}; ${vc.components.map((k) => `${k} ${sd(c.reml?.[k])}`).join(', ')}`);
  }
  if (a.evaluation_noise) {
    const e = a.evaluation_noise;
    out.push('', `evaluation-set noise: sd ${sd(e.variance)} per trial (bootstrap over examples, ${e.trials} trials) = ${(100 * e.share_of_seed_variance).toFixed(1)} % of the within-configuration variance (sd ${sd(e.seed_variance)})`);
  } else {
    out.push('', 'evaluation-set noise: no per-example predictions');
  }
  const d = a.diverged;
  out.push('', `diverged runs: ${d.count} of ${d.total} (${(100 * d.rate).toFixed(1)} %)${d.excluded ? `, ${d.excluded} excluded` : ''} — rule: ${d.rule}`);
  for (const c of d.by_config.filter((x) => x.diverged > 0)) out.push(`  ${cfgText(c.config)}: ${c.diverged}/${c.n} (${(100 * c.rate).toFixed(0)} %)`);
  if (d.logit) {
    out.push('  logistic regression of P(diverged):');
    d.logit.terms.forEach((t, j) => out.push(`    ${t.padEnd(24)} coef ${f4(d.logit!.params[j])}  se ${f4(d.logit!.bse[j])}  p ${f4(d.logit!.pvalues[j])}`));
    for (const w of d.logit.warnings) out.push(`    warning: ${w}`);
  }
  for (const n of d.notes) out.push(`  ${n}`);
  if (a.expected_max.length > 0) {
    const pick = [...new Set([1, 2, 3, 5, 10, 20, 50, a.expected_max.length])].filter((n) => n <= a.expected_max.length);
    out.push('', `expected best ${a.metric} of n trials (E[max of n] ± sd, Dodge et al. 2019): ${pick.map((n) => `n=${n} ${f4(a.expected_max[n - 1]!.mean)} ± ${f4(a.expected_max[n - 1]!.se)}`).join(', ')}`);
  }
  if (a.mixed_model) {
    const m = a.mixed_model;
    out.push('', 'mixed model (polynomial fixed effects; seed and data_seed crossed random effects) vs OLS:');
    out.push(`${'term'.padEnd(26)}${'mixed coef'.padStart(12)}${'se'.padStart(11)}${'p'.padStart(11)}${'OLS coef'.padStart(12)}${'se'.padStart(11)}${'p'.padStart(11)}`);
    m.terms.forEach((t, j) => out.push(`${t.padEnd(26)}${f4(m.params[j]).padStart(12)}${f4(m.bse[j]).padStart(11)}${f4(m.pvalues[j]).padStart(11)}${f4(m.ols.params[j]).padStart(12)}${f4(m.ols.bse[j]).padStart(11)}${f4(m.ols.pvalues[j]).padStart(11)}`));
  }
  if (a.findings.length > 0) out.push('', 'findings:', ...a.findings.map((f) => `  - ${f}`));
  for (const w of a.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

/** The JSON record of `tunescope variability --json` (the issue's keys; trial intervals by row). */
export function noiseToJson(a: NoiseAnalysis): Record<string, unknown> {
  return {
    metric: a.metric,
    n: a.n,
    config_columns: a.config_columns,
    seed_columns: a.seed_columns,
    configuration_vs_seed: a.configuration_vs_seed,
    variance_components: a.variance_components,
    evaluation_noise: a.evaluation_noise,
    trial_intervals: a.trial_intervals,
    bootstrap_B: a.bootstrap_B,
    diverged: a.diverged,
    expected_max: a.expected_max,
    expected_max_by: a.expected_max_by,
    mixed_model: a.mixed_model,
    findings: a.findings,
    warnings: a.warnings,
  };
}
