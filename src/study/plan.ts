/**
 * `study plan`: what a study's design can answer before any compute is spent — its trials in coded and natural units,
 * which terms of the analysis model are estimable (alias chains for the rest), condition number, VIF, D-/A-/I-
 * efficiency, and given a seed-noise σ the predicted standard error of every coefficient and of the fitted surface,
 * the power on each main effect, recommendations, and the cost from measured seconds per training example.
 *
 * Every design statistic is the analysis engine's own (src/analysis fitOls on the design matrix the analysis will
 * build): VIF, condition number and (XᵀX)⁻¹ do not depend on the response, so a fixed pseudo-response stands in.
 */
import {
  buildDesign, describeAliases, designRow, fitOls, noncentralTUpper, seedVariability, transformPoint, tUpperQuantile, type DesignInfo,
} from '../analysis/index.js';
import type { StudyStore } from '../store/index.js';
import { UserError, isUserError } from '../util/index.js';
import { codedDesign, decode, encode, factorRange, factorScale, modelRows, type CodedDesignInfo } from './coded.js';
import { expandDesign, type Trial } from './design.js';
import { cubeMoments, efficiencies, type Efficiencies } from './rsm.js';
import { studyRows } from './rows.js';
import type { StudyBlock } from './blocks.js';
import type { StepTimeModel } from './cost.js';
import { CODED_DESIGNS, INTEGER_ARGS, type Factor, type StudySpec } from './spec.js';
import { planSteps } from '../train/index.js';

export interface PlanOptions {
  /** seed-noise standard deviation of the primary response */
  sigma?: number;
  /** where σ came from (printed) */
  sigmaSource?: string;
  /** effect (metric units over a factor's range) the power is computed for; default 0.01 */
  effect?: number;
  /** measured seconds per training example (per epoch), for the cost */
  secondsPerExample?: { value: number; source: string };
  /** training examples per epoch (after max_train_samples) */
  trainExamples?: number;
  /** planned workers (default: the spec's, 'auto' counted as 1) */
  workers?: number;
  /** do not plan the suggested alternative design (used for that alternative itself) */
  noAlternatives?: boolean;
  /** blocks `study extend` appended to the study (from its store): listed with their block numbers */
  blocks?: StudyBlock[];
  /** the engine's step time for the spec's model at its data's batch shapes (calibrated or cached; see ./cost.ts) */
  stepTime?: StepTimeModel;
  /** why there is no step time (printed, and in the JSON) */
  costReason?: string;
  /** engine threads per worker (with `workers`: the execution the cost is for) */
  threadsPerWorker?: number;
}

export interface PlanTrial { id: string; config: Record<string, number>; coded: number[] | null; seed: number; block: number; role: 'design' | 'baseline' | 'design+baseline' }

export interface StudyPlan {
  name: string;
  design: { type: StudySpec['design']['type']; factors: string[]; summary: string; fraction?: CodedDesignInfo['fraction']; optimal?: CodedDesignInfo['optimal'] };
  model: { degree: 1 | 2 | 3; log_lr: boolean; standardize: boolean; predictors: string[] };
  n_trials: number;
  n_design_trials: number;
  n_points: number;
  seeds: number[];
  trials: PlanTrial[];
  terms: string[];
  estimable_terms: string[];
  aliased_terms: string[];
  alias_chains: Record<string, string>;
  residual_df: number | null;
  condition_number: number | null;
  vif: Record<string, number | null>;
  d_efficiency: number | null;
  a_efficiency: number | null;
  i_efficiency: number | null;
  sigma?: number;
  sigma_source?: string;
  effect: number;
  predicted_se?: Record<string, number | null>;
  predicted_se_surface?: { centre: { config: Record<string, number>; se: number }; corners: Array<{ config: Record<string, number>; se: number }> };
  power?: Record<string, number>;
  /** block 1 is the spec's design; later blocks were appended by `study extend` (the statistics above are block 1's) */
  blocks: Array<{ block: number; strategy: string; points: number; trials: number; summary: string }>;
  estimated_hours: number | null;
  cost: {
    /** where the step time came from: a calibration run now, the step-time cache (bench or an earlier calibration), a pilot study's trials; null: none */
    basis: 'calibration' | 'cache' | 'pilot' | null;
    steps_per_trial: Record<string, number> | null;
    /** per batch size: padded length of a training batch of the spec's data and milliseconds per training step */
    step_time: Record<string, { seq_length: number; ms_per_step: number }> | null;
    seconds_per_example: number | null;
    source: string | null;
    workers: number;
    threads_per_worker: number | null;
    /** the trials' training time before dividing over the workers */
    trial_hours: number | null;
    note: string;
  };
  recommendations: string[];
}

/** A deterministic stand-in response: the quantities used here do not depend on it. */
function pseudoResponse(n: number): number[] {
  return Array.from({ length: n }, (_, i) => { const s = Math.sin((i + 1) * 12.9898) * 43758.5453; return s - Math.floor(s); });
}

function g(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

interface DesignStats {
  info: DesignInfo;
  terms: string[];
  aliased: string[];
  chains: Record<string, string>;
  residualDf: number | null;
  cond: number | null;
  vif: Record<string, number | null>;
  /** (XᵀX)⁻¹ over the terms (null rows for aliased), null when n ≤ rank */
  ncov: (number | null)[][] | null;
  eff: Efficiencies | null;
}

function designStats(spec: StudySpec, configs: Record<string, number>[], predictors: string[], degree: 1 | 2 | 3): DesignStats {
  const raw = predictors.map((p) => configs.map((c) => c[p]));
  const logLr = spec.analysis.log_lr && predictors.includes('learning_rate');
  const d = buildDesign(predictors, raw, { degree, logLr, standardize: spec.analysis.standardize, ...(predictors.includes('learning_rate') ? { lrColumn: 'learning_rate' } : {}) });
  const al = describeAliases(d.info.terms, d.columns);
  const factors = spec.design.factors.filter((f) => predictors.includes(f.name));
  const coded = configs.map((c) => factors.map((f) => encode(f, c[f.name])));
  const mr = modelRows(predictors, coded, degree);
  const eff = al.aliased.length === 0 ? efficiencies(mr.rows, cubeMoments(mr.powers)) : null;
  let residualDf: number | null = null, cond: number | null = null, ncov: (number | null)[][] | null = null;
  const vif: Record<string, number | null> = {};
  try {
    const fit = fitOls({ terms: d.info.terms, factors: d.info.factors, columns: d.columns, y: pseudoResponse(configs.length) });
    residualDf = fit.df_resid;
    cond = fit.condition_number;
    ncov = fit.normalized_cov_params;
    d.info.terms.slice(1).forEach((t, j) => { vif[t] = fit.vif[j]; });
  } catch (e) {
    if (!isUserError(e)) throw e; // n ≤ rank: nothing left to estimate σ from
    residualDf = configs.length - al.kept.length;
  }
  return { info: d.info, terms: d.info.terms, aliased: al.aliased, chains: al.chains, residualDf, cond, vif, ncov, eff };
}

function quadForm(ncov: (number | null)[][], x: number[]): number {
  let s = 0;
  for (let a = 0; a < x.length; a++) for (let b = 0; b < x.length; b++) s += x[a] * x[b] * (ncov[a][b] ?? 0);
  return s;
}

/** Power of the two-sided 5 % t-test of a contrast with this standard error. */
function contrastPower(effect: number, se: number, df: number): number {
  const c = tUpperQuantile(0.025, df);
  const ncp = Math.abs(effect) / se;
  return noncentralTUpper(c, df, ncp) + noncentralTUpper(c, df, -ncp);
}

function analysisDegree(spec: StudySpec): 1 | 2 | 3 {
  return spec.analysis.degree === 'cv' ? 2 : spec.analysis.degree;
}

function trialCoded(spec: StudySpec, t: Trial): number[] | null {
  if (t.kind === 'evaluate') return null;
  const fs = spec.design.factors;
  if (!fs.every((f) => typeof t.config[f.name] === 'number')) return null;
  return fs.map((f) => encode(f, t.config[f.name]));
}

/** Main-effect contrast of factor i: the fitted change from its low to its high end, the other factors at their centre. */
function mainEffectContrast(info: DesignInfo, spec: StudySpec, predictors: string[], i: number): number[] {
  const fs = predictors.map((p) => spec.design.factors.find((f) => f.name === p)!);
  const centre = fs.map((f) => decode(f, 0));
  const lo = centre.slice(), hi = centre.slice();
  [lo[i], hi[i]] = factorRange(fs[i]);
  const rlo = designRow(info, transformPoint(info, lo));
  const rhi = designRow(info, transformPoint(info, hi));
  return rhi.map((v, j) => v - rlo[j]);
}

export function planStudy(spec: StudySpec, opts: PlanOptions = {}): StudyPlan {
  const trials = expandDesign(spec);
  const design = trials.filter((t) => t.inDesign);
  const blockOfTrial = new Map<string, number>();
  const extended: Trial[] = (opts.blocks ?? []).flatMap((b) =>
    b.trials.map((t) => {
      blockOfTrial.set(t.id, b.block);
      return { id: t.id, kind: 'train' as const, config: t.config, seed: t.seed, dataSeed: t.data_seed, inDesign: true, isBaseline: false, ordinal: t.ordinal };
    }),
  );
  const allTrials = [...trials, ...extended];
  const factorNames = spec.design.factors.map((f) => f.name);
  const predictors = factorNames.filter((f) => new Set(design.map((t) => t.config[f])).size > 1);
  if (predictors.length === 0) throw new UserError('no factor takes more than one value in the design: nothing to analyse');
  const degree = analysisDegree(spec);
  const configs = design.map((t) => t.config);
  const st = designStats(spec, configs, predictors, degree);
  const coded = CODED_DESIGNS.has(spec.design.type) ? codedDesign(spec.design, spec.args).info : null;
  const summary = coded?.summary ?? `${spec.design.type} design`;
  const points = new Set(design.map((t) => JSON.stringify(t.config))).size;
  const effect = opts.effect ?? 0.01;
  const plan: StudyPlan = {
    name: spec.name,
    design: { type: spec.design.type, factors: factorNames, summary, ...(coded?.fraction ? { fraction: coded.fraction } : {}), ...(coded?.optimal ? { optimal: coded.optimal } : {}) },
    model: { degree, log_lr: spec.analysis.log_lr && predictors.includes('learning_rate'), standardize: spec.analysis.standardize, predictors },
    n_trials: allTrials.length,
    n_design_trials: design.length,
    n_points: points,
    seeds: spec.seeds,
    trials: allTrials.map((t) => ({
      id: t.id, config: t.config, coded: trialCoded(spec, t), seed: t.seed, block: blockOfTrial.get(t.id) ?? 1,
      role: t.inDesign && t.isBaseline ? 'design+baseline' : t.inDesign ? 'design' : 'baseline',
    })),
    terms: st.terms,
    estimable_terms: st.terms.filter((t) => !st.aliased.includes(t)),
    aliased_terms: st.aliased,
    alias_chains: st.chains,
    residual_df: st.residualDf,
    condition_number: st.cond,
    vif: st.vif,
    d_efficiency: st.eff?.d_efficiency ?? null,
    a_efficiency: st.eff?.a_efficiency ?? null,
    i_efficiency: st.eff?.i_efficiency ?? null,
    effect,
    blocks: [
      { block: 1, strategy: 'design', points, trials: trials.length, summary },
      ...(opts.blocks ?? []).map((b) => ({ block: b.block, strategy: b.strategy, points: b.points.length, trials: b.trials.length, summary: b.summary })),
    ],
    estimated_hours: null,
    cost: { basis: null, steps_per_trial: null, step_time: null, seconds_per_example: null, source: null, workers: 1, threads_per_worker: opts.threadsPerWorker ?? null, trial_hours: null, note: '' },
    recommendations: [],
  };
  const sigma = opts.sigma;
  if (sigma !== undefined && st.ncov && st.residualDf !== null && st.residualDf > 0) {
    const ncov = st.ncov;
    plan.sigma = sigma;
    if (opts.sigmaSource) plan.sigma_source = opts.sigmaSource;
    plan.predicted_se = Object.fromEntries(st.terms.map((t, j) => [t, ncov[j][j] === null ? null : sigma * Math.sqrt(ncov[j][j] as number)]));
    const fs = predictors.map((p) => spec.design.factors.find((f) => f.name === p)!);
    const at = (raw: number[]) => sigma * Math.sqrt(quadForm(ncov, designRow(st.info, transformPoint(st.info, raw))));
    const centreRaw = fs.map((f) => decode(f, 0));
    const corners: Array<{ config: Record<string, number>; se: number }> = [];
    for (let m = 0; m < Math.min(1 << fs.length, 64); m++) {
      const raw = fs.map((f, i) => factorRange(f)[(m >> i) & 1]);
      corners.push({ config: Object.fromEntries(predictors.map((p, i) => [p, raw[i]])), se: at(raw) });
    }
    plan.predicted_se_surface = { centre: { config: Object.fromEntries(predictors.map((p, i) => [p, Number(centreRaw[i].toPrecision(6))])), se: at(centreRaw) }, corners };
    if (st.aliased.length === 0) {
      plan.power = {};
      predictors.forEach((p, i) => {
        const c = mainEffectContrast(st.info, spec, predictors, i);
        const se = sigma * Math.sqrt(quadForm(ncov, c));
        plan.power![st.info.predictors[i]] = contrastPower(effect, se, st.residualDf as number);
      });
    }
  }
  cost(plan, spec, opts, design.length, allTrials);
  plan.recommendations = recommend(spec, plan, st, predictors, degree, opts);
  return plan;
}

function cost(plan: StudyPlan, spec: StudySpec, opts: PlanOptions, _nDesign: number, trials: Trial[]): void {
  const workers = opts.workers ?? (typeof spec.execution.workers === 'number' ? spec.execution.workers : 1);
  plan.cost.workers = workers;
  const accum = typeof spec.args.gradient_accumulation_steps === 'number' ? spec.args.gradient_accumulation_steps : 1;
  const train = trials.filter((t) => t.kind === 'train');
  const num = (t: Trial, k: string, dflt: number) => (typeof t.config[k] === 'number' ? t.config[k] : typeof spec.args[k] === 'number' ? (spec.args[k] as number) : dflt);
  if (opts.trainExamples !== undefined) {
    const steps: Record<string, number> = {};
    let examples = 0;
    let ms = 0;
    const stepTime: Record<string, { seq_length: number; ms_per_step: number }> = {};
    for (const t of train) {
      const bs = num(t, 'per_device_train_batch_size', 8);
      const ga = num(t, 'gradient_accumulation_steps', accum);
      // HF Trainer's step count (len(dataloader) = ceil(N / bs), optimizer steps = ceil over gradient accumulation)
      steps[t.id] = planSteps({
        numExamples: opts.trainExamples, perDeviceTrainBatchSize: bs, gradientAccumulationSteps: ga, numTrainEpochs: num(t, 'num_train_epochs', 3),
        ...(typeof spec.args.max_steps === 'number' && spec.args.max_steps > 0 ? { maxSteps: spec.args.max_steps } : {}), warmupRatio: 0, warmupSteps: 0,
      }).max_steps;
      examples += steps[t.id] * bs * ga;
      if (opts.stepTime) {
        // an optimizer step is `ga` micro-batches of `bs` examples
        ms += steps[t.id] * ga * opts.stepTime.msPerStep(bs);
        // unrounded: the JSON's hours must be recomputable from it (a 0.1 ms rounding is 4 % of a 1.2 ms step); the note rounds
        stepTime[String(bs)] ??= { seq_length: Number(opts.stepTime.seqLength(bs).toFixed(1)), ms_per_step: Number(opts.stepTime.msPerStep(bs).toPrecision(12)) };
      }
    }
    plan.cost.steps_per_trial = steps;
    if (opts.stepTime) {
      plan.cost.basis = opts.stepTime.basis;
      plan.cost.source = opts.stepTime.source;
      plan.cost.step_time = stepTime;
      plan.cost.trial_hours = ms / 1000 / 3600;
      plan.estimated_hours = plan.cost.trial_hours / workers;
      const total = Object.values(steps).reduce((a, b) => a + b, 0);
      plan.cost.note = `${total} training steps over ${train.length} trial(s) at ${Object.entries(stepTime).map(([b, v]) => `batch ${b} × ${g(v.seq_length)} tokens ${g(v.ms_per_step)} ms`).join(', ')} per step (${opts.stepTime.basis === 'calibration' ? 'measured now' : 'from the step-time cache'}) = ${g(plan.cost.trial_hours)} h of training / ${workers} worker(s)${opts.threadsPerWorker ? ` × ${opts.threadsPerWorker} thread(s)` : ''}; evaluation passes not included`;
      return;
    }
    if (opts.secondsPerExample) {
      plan.cost.basis = 'pilot';
      plan.cost.seconds_per_example = opts.secondsPerExample.value;
      plan.cost.source = opts.secondsPerExample.source;
      plan.estimated_hours = (examples * opts.secondsPerExample.value) / 3600 / workers;
      plan.cost.note = `${examples} training examples × ${g(opts.secondsPerExample.value)} s each (${opts.secondsPerExample.source}) / ${workers} worker(s)`;
      return;
    }
  }
  plan.cost.note = opts.costReason ?? 'no step time measured on this machine yet: run `tunescope study plan --calibrate`, `npm run bench -- engine`, or pass --pilot STORE (a finished study with the same model)';
}

function recommend(spec: StudySpec, plan: StudyPlan, st: DesignStats, predictors: string[], degree: 1 | 2 | 3, opts: PlanOptions): string[] {
  const out: string[] = [];
  const k = predictors.length;
  if (st.aliased.length > 0) {
    const design = plan.trials.filter((t) => t.role !== 'baseline');
    const few = degree >= 2 ? predictors.filter((p) => new Set(design.map((t) => t.config[p])).size < 3) : [];
    const alt = k >= 3 && k <= 7 ? 'ccd (variant: face_centered) or box_behnken' : 'ccd (variant: face_centered)';
    // what the suggested second-order design would give with the same factors and seeds
    let altText = '';
    if (degree === 2 && k >= 2 && !opts.noAlternatives) {
      try {
        // the same ranges as continuous factors (whole numbers still rounded), so the CCD can use their middle
        const factors = spec.design.factors.filter((f) => predictors.includes(f.name)).map((f): Factor => {
          const [min, max] = factorRange(f);
          return { name: f.name, min, max, scale: factorScale(f), integer: INTEGER_ARGS.has(f.name) };
        });
        const fc: StudySpec = { ...spec, baseline: null, design: { type: 'ccd', factors, seed: 0, scramble: false, variant: 'face_centered', alpha: 1, center_points: 1, fraction_p: 0 } };
        const p = planStudy(fc, { ...opts, secondsPerExample: undefined, trainExamples: undefined, noAlternatives: true });
        const narrow = predictors.filter((q) => new Set(p.trials.map((t) => t.config[q])).size < 3);
        const surf = p.predicted_se_surface;
        altText = p.aliased_terms.length > 0
          ? `; over these ranges even a face-centred CCD cannot: widen ${narrow.join(', ') || 'the ranges'} to at least three whole-number levels`
          : `; a face-centred CCD over the same ranges has ${p.n_design_trials} trials (${spec.seeds.length} seed(s)) and estimates every term${surf ? `, surface SE ${g(surf.centre.se)} at the centre, ≤ ${g(Math.max(...surf.corners.map((c) => c.se)))} at the corners (σ = ${g(opts.sigma as number)})` : ''}`;
      } catch (e) {
        if (!isUserError(e)) throw e;
      }
    }
    if (few.length > 0) out.push(`degree ${degree} needs ≥3 levels of ${few.join(', ')}: use ${alt}${altText}`);
    else out.push(`the design cannot estimate ${st.aliased.join(', ')} (see alias chains): use ${alt}, or a lower analysis degree${altText}`);
    if (!spec.analysis.allow_aliased) out.push('`study run` refuses this design; set analysis.allow_aliased: true to run it anyway');
  }
  if (st.residualDf !== null && st.residualDf < 3) out.push(`only ${st.residualDf} residual degree(s) of freedom: add seeds or centre points so σ and p-values are estimable`);
  if (plan.power) {
    const weak = Object.entries(plan.power).filter(([, p]) => p < 0.8);
    if (weak.length > 0 && opts.sigma !== undefined) {
      // seeds scale (XᵀX)⁻¹ by 1/m: the smallest multiple of the seeds giving 80 % power on each weak effect
      const needed = weak.map(([term, p]) => {
        let m = 1;
        const se1 = Math.abs(plan.effect) / ncpFromPower(p, plan.residual_df as number);
        while (m < 64 && contrastPower(plan.effect, se1 / Math.sqrt(m), m * (plan.n_design_trials) - (plan.estimable_terms.length)) < 0.8) m++;
        return `${term} ${p.toFixed(2)} (×${m} seeds → ≥0.80)`;
      });
      out.push(`power to detect an effect of ${g(plan.effect)} over a factor's range at σ = ${g(opts.sigma)}: ${needed.join('; ')}`);
    }
  }
  // in raw units a square is collinear with its main effect by construction; VIF says something once z-scored
  if (spec.analysis.standardize && plan.condition_number !== null && Number.isFinite(plan.condition_number)) {
    const big = Object.entries(plan.vif).filter(([, v]) => v !== null && v > 10);
    if (big.length > 0) out.push(`VIF above 10 for ${big.map(([t, v]) => `${t} (${g(v as number)})`).join(', ')}: their coefficients are poorly separated by this design`);
  }
  return out;
}

/** The noncentrality a two-sided 5 % t-test with this df has at this power (bisection). */
function ncpFromPower(power: number, df: number): number {
  let lo = 0, hi = 50;
  const c = tUpperQuantile(0.025, df);
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (noncentralTUpper(c, df, mid) + noncentralTUpper(c, df, -mid) < power) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

/** σ of the primary response from a finished pilot study's seed replicates (pooled within-configuration SD). */
export async function pilotSigma(store: StudyStore, metric: string): Promise<{ sigma: number; source: string; secondsPerExample: number | null }> {
  const table = await studyRows(store);
  if (table.rows.length === 0) throw new UserError(`${store.location}: the pilot study has no finished trials`);
  if (!table.metrics.includes(metric)) throw new UserError(`${store.location}: the pilot study has no metric ${metric} (metrics: ${table.metrics.join(', ')})`);
  const v = seedVariability(table.rows, { configColumns: table.factors, seedColumn: 'seed', metric });
  if (!(v.df_within > 0)) throw new UserError(`${store.location}: no configuration of the pilot study has two seeds, so seed noise cannot be estimated`);
  const trials = await store.listTrials({ status: 'done' });
  let secs = 0, examples = 0;
  for (const t of trials) {
    if (t.trainSeconds === null || t.steps === null || t.kind !== 'train') continue;
    const bs = typeof t.config.per_device_train_batch_size === 'number' ? t.config.per_device_train_batch_size : 8;
    secs += t.trainSeconds;
    examples += t.steps * bs;
  }
  return {
    sigma: v.sigma_seed,
    source: `pooled seed SD of ${metric} in ${store.location} (${v.configurations.length} configurations, ${v.df_within} df)`,
    secondsPerExample: examples > 0 ? secs / examples : null,
  };
}

/** The text `study plan` prints. */
export function formatPlan(p: StudyPlan): string {
  const out: string[] = [];
  out.push(`study ${p.name}: ${p.design.summary}`);
  out.push(`  ${p.n_points} design points × ${p.seeds.length} seed(s) = ${p.n_design_trials} design trials; ${p.n_trials} trials in all (baseline included)`);
  if (p.design.fraction) {
    out.push(`  fraction: ${p.design.fraction.generators.join(', ')}; resolution ${p.design.fraction.resolution}; ${p.design.fraction.defining_relation}`);
    if (p.design.fraction.alias_chains.length) out.push(`  aliases (to order 3): ${p.design.fraction.alias_chains.slice(0, 12).join('; ')}${p.design.fraction.alias_chains.length > 12 ? '; …' : ''}`);
  }
  if (p.design.optimal?.efficiencies) {
    const e = p.design.optimal.efficiencies;
    out.push(`  ${p.design.optimal.criterion}-optimal: D-efficiency ${e.d_efficiency.toFixed(1)} %, A ${e.a_efficiency.toFixed(1)} %, I ${e.i_efficiency.toFixed(1)} %`);
  }
  const names = p.design.factors;
  const w = Math.max(...names.map((n) => n.length), 6);
  out.push('', `  points (natural units; coded in brackets):`);
  const seen = new Set<string>();
  const blocked = p.blocks.length > 1;
  const pointKey = (t: PlanTrial) => `${t.block}:${JSON.stringify(t.config)}`;
  for (const t of p.trials) {
    const key = pointKey(t);
    if (seen.has(key) || t.role === 'baseline') continue;
    seen.add(key);
    const reps = p.trials.filter((u) => pointKey(u) === key && u.role !== 'baseline').length;
    out.push(`    ${blocked ? `block ${t.block}  ` : ''}${names.map((n, i) => `${n}=${g(t.config[n])}${t.coded ? ` [${t.coded[i].toFixed(3)}]` : ''}`).join('  ')}  × ${reps}`);
    if (seen.size >= 40) { out.push(`    … (${new Set(p.trials.map(pointKey)).size - 40} more; --json has them all)`); break; }
  }
  if (blocked) {
    out.push(`  blocks (the statistics below are block 1's, the spec's design):`);
    for (const b of p.blocks) out.push(`    block ${b.block}: ${b.trials} trials, ${b.points} points — ${b.summary}`);
  }
  void w;
  out.push('', `  analysis model: degree ${p.model.degree} in ${p.model.predictors.join(', ')}${p.model.log_lr ? ' (log10 learning rate)' : ''}: ${p.terms.length} terms, ${p.estimable_terms.length} estimable`);
  if (p.aliased_terms.length > 0) {
    out.push(`  ALIASED: ${p.aliased_terms.join(', ')}`);
    for (const t of p.aliased_terms) out.push(`    ${p.alias_chains[t]}`);
  }
  out.push(`  residual df ${p.residual_df ?? 'none'}; condition number ${p.condition_number === null ? 'n/a' : g(p.condition_number)}; D-efficiency ${p.d_efficiency === null ? 'n/a (aliased terms)' : `${p.d_efficiency.toFixed(1)} %`}${p.a_efficiency !== null ? `, A ${p.a_efficiency.toFixed(1)} %, I ${(p.i_efficiency as number).toFixed(1)} %` : ''} (coded units)`);
  const tw = Math.max(...p.terms.map((t) => t.length)) + 2;
  out.push(`  ${'term'.padEnd(tw)}${'VIF'.padStart(10)}${p.predicted_se ? `${'pred. SE'.padStart(12)}` : ''}${p.power ? `${'power'.padStart(8)}` : ''}`);
  for (const t of p.terms) {
    const vif = t === 'Intercept' ? '' : p.vif[t] === null || p.vif[t] === undefined ? 'aliased' : g(p.vif[t] as number);
    const se = p.predicted_se ? (p.predicted_se[t] === null ? 'NA' : g(p.predicted_se[t] as number)) : null;
    const pw = p.power ? (p.power[t] !== undefined ? p.power[t].toFixed(2) : '') : null;
    out.push(`  ${t.padEnd(tw)}${vif.padStart(10)}${se !== null ? se.padStart(12) : ''}${pw !== null ? pw.padStart(8) : ''}`);
  }
  if (p.sigma !== undefined) {
    out.push(`  σ = ${g(p.sigma)}${p.sigma_source ? ` (${p.sigma_source})` : ''}; power: two-sided 5 % test of a change of ${g(p.effect)} across a factor's range (others at the centre)`);
    if (p.predicted_se_surface) {
      const c = p.predicted_se_surface;
      const cs = c.corners.map((x) => x.se);
      out.push(`  SE of the fitted surface: centre ${g(c.centre.se)}, corners ${g(Math.min(...cs))}–${g(Math.max(...cs))}`);
    }
  } else {
    out.push('  (pass --sigma S or --pilot STORE for predicted standard errors and power)');
  }
  out.push(`  cost: ${p.estimated_hours === null ? 'unknown' : `${p.estimated_hours < 1 ? `${(p.estimated_hours * 60).toFixed(1)} min` : `${p.estimated_hours.toFixed(2)} h`}`} — ${p.cost.note}`);
  if (p.recommendations.length > 0) {
    out.push('', 'recommendations:');
    for (const r of p.recommendations) out.push(`  - ${r}`);
  }
  return out.join('\n');
}

/** The error `study run` gives for a design whose analysis model has aliased terms (null when it is fine). */
export function aliasedDesignError(spec: StudySpec, blocks: StudyBlock[] = []): string | null {
  if (spec.analysis.allow_aliased) return null;
  let plan: StudyPlan;
  try {
    plan = planStudy(spec);
  } catch (e) {
    if (isUserError(e)) return null; // nothing to analyse: the run itself reports what is wrong
    throw e;
  }
  if (plan.aliased_terms.length === 0) return null;
  // blocks `study extend` added (an augmentation is how an aliased design is repaired): the design as it now stands
  if (blocks.length > 0) {
    const configs = [...plan.trials.filter((t) => t.role !== 'baseline').map((t) => t.config), ...blocks.flatMap((b) => b.trials.map((t) => t.config))];
    if (designStats(spec, configs, plan.model.predictors, plan.model.degree).aliased.length === 0) return null;
  }
  return (
    `${spec.source ?? 'study spec'}: the design cannot estimate the degree-${plan.model.degree} analysis model — aliased: ` +
    `${plan.aliased_terms.map((t) => plan.alias_chains[t]).join('; ')}. ${plan.recommendations[0] ?? ''} ` +
    '(`tunescope study plan` shows the details; set analysis.allow_aliased: true to run it anyway)'
  );
}
