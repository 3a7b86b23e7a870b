/**
 * Compares an analysis fit with an OLS golden fixture (../shared/fixtures/ols/expected/*.json) using the
 * fixture README's tolerance rule |a − e| ≤ rtol·max(|e|, floor): floors are the interval half-width for
 * confidence intervals, 1e-300 for p-values, 1e-10·centered_tss for ANOVA sums of squares, otherwise 0.
 * Rank-deficient fixtures are compared with `reference_r_convention` (R's aliasing) where it has the key.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonNumber } from '../../src/util/index.js';
import { analyze, readTable, stationaryPoint, bestInBox, type OlsFit } from '../../src/analysis/index.js';

export interface Fixture {
  id: string;
  dataset: string;
  data_file: string;
  response: string;
  framework: 'absolute' | 'relative';
  baseline: null | { column: string; value: number };
  spec: 'deg1' | 'deg2_full' | 'deg2_loglr' | 'deg2_standardized';
  predictors: string[];
  transform: { lr: string; standardize: null | Record<string, { of: string; mean: number; sd: number }> };
  terms: string[];
  rank_deficient: boolean;
  r_aliased_terms: string[];
  reference: Record<string, unknown>;
  reference_r_convention?: Record<string, unknown>;
  stationary_point?: Record<string, unknown>;
  optimum?: Record<string, unknown>;
}

export interface Mismatch { key: string; actual: unknown; expected: unknown; rel: number }
export interface CompareResult {
  id: string; checks: number; maxRel: number; maxKey: string; mismatches: Mismatch[];
  /** keys taken from `reference_r_convention` (rank-deficient fixtures) */
  rConvention: string[];
}

const P_KEYS = /(^|\.)(pvalues|pvalues_t|f_pvalue|pvalues_fdr_bh|PR\(>F\))(\.|\[|$)/;

export function fixtureDir(ols: string): string { return join(ols, 'expected'); }

export function loadFixtures(olsDir: string): Fixture[] {
  const dir = fixtureDir(olsDir);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('_'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);
}

/** The analyze() options that reproduce a fixture. */
export function fixtureOptions(fx: Fixture) {
  const metric = fx.framework === 'relative' ? fx.response.replace(/_rel$/, '') : fx.response;
  return {
    predictors: ['lr', 'bs', 'ep'],
    responses: [metric],
    frame: fx.framework,
    baseline: fx.baseline ? { [metric]: fx.baseline.value } : undefined,
    spec: {
      degree: (fx.spec === 'deg1' ? 1 : 2) as 1 | 2,
      logLr: fx.spec === 'deg2_loglr',
      standardize: fx.spec === 'deg2_standardized',
    },
  };
}

export function fitFixture(olsDir: string, fx: Fixture): OlsFit {
  const table = readTable(join(olsDir, fx.data_file));
  const r = analyze(table, fixtureOptions(fx));
  return r.fits[0];
}

class Checker {
  checks = 0;
  maxRel = 0;
  maxKey = '';
  mismatches: Mismatch[] = [];
  constructor(private rtol: number) {}
  num(key: string, actual: unknown, expectedRaw: unknown, floor = 0): void {
    this.checks++;
    if (expectedRaw === null || actual === null || actual === undefined) {
      if (!(expectedRaw === null && actual === null)) this.mismatches.push({ key, actual, expected: expectedRaw, rel: Infinity });
      return;
    }
    if (typeof expectedRaw === 'boolean') {
      if (actual !== expectedRaw) this.mismatches.push({ key, actual, expected: expectedRaw, rel: Infinity });
      return;
    }
    const e = parseJsonNumber(expectedRaw) as number;
    // the CLI's JSON writes non-finite numbers as strings
    const a = typeof actual === 'string' && /^(-?Infinity|NaN)$/.test(actual) ? (parseJsonNumber(actual) as number) : (actual as number);
    if (typeof a !== 'number') { this.mismatches.push({ key, actual, expected: expectedRaw, rel: Infinity }); return; }
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!(Object.is(e, a) || (Number.isNaN(e) && Number.isNaN(a)))) this.mismatches.push({ key, actual, expected: expectedRaw, rel: Infinity });
      return;
    }
    const scale = Math.max(Math.abs(e), floor);
    const diff = Math.abs(a - e);
    const rel = scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
    if (!(rel <= this.maxRel)) { if (!Number.isNaN(rel)) { this.maxRel = Math.max(this.maxRel, rel); this.maxKey = key; } }
    if (!(rel <= this.rtol)) this.mismatches.push({ key, actual, expected: expectedRaw, rel });
  }
  /** recursive over arrays/objects of the expected value */
  any(key: string, actual: unknown, expected: unknown, floorOf: (key: string, e: number) => number): void {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual) || actual.length !== expected.length) {
        this.mismatches.push({ key, actual, expected, rel: Infinity });
        return;
      }
      expected.forEach((e, i) => this.any(`${key}[${i}]`, actual[i], e, floorOf));
      return;
    }
    if (expected !== null && typeof expected === 'object') {
      const a = (actual ?? {}) as Record<string, unknown>;
      for (const [k, e] of Object.entries(expected)) this.any(`${key}.${k}`, a[k], e, floorOf);
      return;
    }
    const e = parseJsonNumber(typeof expected === 'boolean' ? null : expected);
    this.num(key, actual, typeof expected === 'boolean' ? expected : expected, floorOf(key, e ?? 0));
  }
}

const COMPARED = [
  'params', 'bse', 'tvalues', 'pvalues', 'nobs', 'rank', 'df_model', 'df_resid', 'ssr', 'centered_tss', 'ess', 'rsquared',
  'rsquared_adj', 'mse_resid', 'mse_model', 'fvalue', 'f_pvalue', 'llf', 'aic', 'bic', 'aic_r', 'bic_r', 'singular_values',
  'condition_number', 'condition_number_unit_columns', 'resid', 'hat_diag', 'pvalues_fdr_bh', 'fdr_bh_reject_0.05', 'vif',
  'anova_type2_residual', 'anova_type1', 'anova_type2',
];

/** Compares a fit (an OlsFit or the same object read back from JSON) with the fixture's exact reference. */
export function compareFit(fx: Fixture, fit: Record<string, unknown>, rtol = 1e-8): CompareResult {
  const ref = fx.reference;
  const rconv = fx.rank_deficient ? fx.reference_r_convention ?? {} : {};
  const pick = (k: string): unknown => (k in rconv ? rconv[k] : ref[k]);
  const tss = parseJsonNumber(ref.centered_tss) as number;
  const c = new Checker(rtol);
  const floorOf = (key: string): number => {
    if (P_KEYS.test(key)) return 1e-300;
    if (/anova_type[12]\[\d+\]\.sum_sq/.test(key)) return 1e-10 * tss;
    return 0;
  };
  for (const k of COMPARED) {
    const e = pick(k);
    if (e === undefined) continue;
    if (k === 'vif') {
      // zero-variance column: NaN (0/0) by the README; compared as NaN too
      c.any(k, fit[k], e, floorOf);
      continue;
    }
    c.any(k, fit[k], e, floorOf);
  }
  // intervals: floor = half-width
  const intervals = (key: string, a: unknown, e: unknown): void => {
    const ea = e as ([unknown, unknown] | null)[];
    const aa = (a ?? []) as ([unknown, unknown] | null)[];
    ea.forEach((iv, i) => {
      if (iv === null) { c.num(`${key}[${i}]`, aa[i] ?? null, null); return; }
      const lo = parseJsonNumber(iv[0]) as number, hi = parseJsonNumber(iv[1]) as number;
      const half = Math.abs(hi - lo) / 2;
      const ai = aa[i];
      c.num(`${key}[${i}][0]`, ai ? ai[0] : null, iv[0], half);
      c.num(`${key}[${i}][1]`, ai ? ai[1] : null, iv[1], half);
    });
  };
  intervals('conf_int', fit.conf_int, pick('conf_int'));
  for (const hc of ['hc1', 'hc3'] as const) {
    const e = pick(hc) as Record<string, unknown>;
    const a = (fit[hc] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(e)) {
      if (k === 'conf_int' || k === 'conf_int_t') intervals(`${hc}.${k}`, a[k], v);
      else c.any(`${hc}.${k}`, a[k], v, floorOf);
    }
  }
  // term names
  c.checks++;
  if (JSON.stringify(fit.terms) !== JSON.stringify(fx.terms)) c.mismatches.push({ key: 'terms', actual: fit.terms, expected: fx.terms, rel: Infinity });
  if (fx.rank_deficient) {
    c.checks++;
    if (JSON.stringify(fit.aliased) !== JSON.stringify(fx.r_aliased_terms)) c.mismatches.push({ key: 'aliased', actual: fit.aliased, expected: fx.r_aliased_terms, rel: Infinity });
  }
  if (fx.transform.standardize) {
    const st = (fit.transform as { standardize: Record<string, { mean: number; sd: number }> }).standardize;
    for (const [k, v] of Object.entries(fx.transform.standardize)) {
      c.num(`transform.standardize.${k}.mean`, st?.[k]?.mean, v.mean);
      c.num(`transform.standardize.${k}.sd`, st?.[k]?.sd, v.sd);
    }
  }
  const rConvention = [...COMPARED, 'conf_int', 'hc1', 'hc3'].filter((k) => k in rconv);
  return { id: fx.id, checks: c.checks, maxRel: c.maxRel, maxKey: c.maxKey, mismatches: c.mismatches, rConvention };
}

/** Stationary point and 41³ grid optimum vs the fixture (exact indices, values at rtol). */
export function compareSurface(fx: Fixture, fit: OlsFit, rtol = 1e-8): CompareResult {
  const c = new Checker(rtol);
  const floorOf = (): number => 0;
  if (fx.stationary_point) {
    const sp = stationaryPoint(fit);
    const e = fx.stationary_point as Record<string, unknown>;
    c.any('stationary_point.coordinates', sp?.coordinates, e.coordinates, floorOf);
    c.any('stationary_point.coordinates_raw', sp?.coordinates_raw, e.coordinates_raw, floorOf);
    c.any('stationary_point.predicted_value', sp?.predicted_value, e.predicted_value, floorOf);
    c.any('stationary_point.eigenvalues_B', sp?.eigenvalues_B, e.eigenvalues_B, floorOf);
    c.any('stationary_point.eigenvalues_hessian', sp?.eigenvalues_hessian, e.eigenvalues_hessian, floorOf);
    c.checks += 2;
    if (sp?.nature !== e.nature) c.mismatches.push({ key: 'stationary_point.nature', actual: sp?.nature, expected: e.nature, rel: Infinity });
    if (sp?.inside_box !== e.inside_box) c.mismatches.push({ key: 'stationary_point.inside_box', actual: sp?.inside_box, expected: e.inside_box, rel: Infinity });
  }
  if (fx.optimum) {
    const o = bestInBox(fit);
    const e = fx.optimum as Record<string, unknown>;
    c.checks += 3;
    if (JSON.stringify(o?.best_index) !== JSON.stringify(e.best_index)) c.mismatches.push({ key: 'optimum.best_index', actual: o?.best_index, expected: e.best_index, rel: Infinity });
    if (o?.direction !== e.direction) c.mismatches.push({ key: 'optimum.direction', actual: o?.direction, expected: e.direction, rel: Infinity });
    if (JSON.stringify(o?.on_boundary) !== JSON.stringify(e.on_boundary)) c.mismatches.push({ key: 'optimum.on_boundary', actual: o?.on_boundary, expected: e.on_boundary, rel: Infinity });
    c.any('optimum.best_point_raw', o?.best_point_raw, e.best_point_raw, floorOf);
    c.any('optimum.best_value', o?.best_value, e.best_value, floorOf);
  }
  return { id: fx.id, checks: c.checks, maxRel: c.maxRel, maxKey: c.maxKey, mismatches: c.mismatches, rConvention: [] };
}
