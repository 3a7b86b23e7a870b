/**
 * Vega-Lite specs for the report's charts, each built from numbers already in the ReportInput.
 * A chart that cannot be drawn (too few rows, no fit, one level only) comes back with `missing`
 * saying why, and the report prints that sentence in the chart's place.
 */
import type TdistModule from '@stdlib/stats-base-dists-t';
import { lazyRequire } from '../util/index.js';
import { paretoFront } from '../analysis/index.js';
import type { Chart, ChartSpec, ReportFit, ReportInput, ReportRow } from './types.js';
import { isFraction, metricLabel, predictorLabel } from './labels.js';
import { noiseCharts } from './noise.js';
import {
  completeRows, distinctSorted, finiteColumn, fmtNum, gridOver, levelMeans, makePredictor, metricDirection, num,
  predictorBoxes, replicateGroups, shortName, type Box,
} from './stats.js';
// required on first use (see util/lazy.ts)
const tdist = lazyRequire<typeof TdistModule>('@stdlib/stats-base-dists-t');

/** Two-sided 95% Student-t critical value for the confidence bands. */
function tQuantile975(df: number): number {
  return tdist().quantile(0.975, df);
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const W = 240;
const H = 190;
/** Predictors with at most this many levels are summarised as level means; above it as raw points. */
const FEW_LEVELS = 12;

const slug = (...parts: string[]): string => parts.join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function finite(o: Record<string, number | string | boolean>): boolean {
  return Object.values(o).every((v) => typeof v !== 'number' || Number.isFinite(v));
}

/** 1-2-5 ticks per decade inside [min, max]: Vega's default log ticks crowd a half-decade range. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++)
    for (const m of [1, 2, 5]) {
      const v = Number((m * Math.pow(10, k)).toPrecision(6));
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  return out.length >= 2 ? out : [min, max];
}

function xEncoding(p: string, input: ReportInput, field = 'x'): Record<string, unknown> {
  const log = p === input.lrColumn;
  const xs = log ? finiteColumn(input.rows, p) : [];
  return {
    field,
    type: 'quantitative',
    title: predictorLabel(p, input.lrColumn),
    scale: log ? { type: 'log', nice: false } : { zero: false, nice: false },
    axis: log ? { format: '.0e', values: logTicks(Math.min(...xs), Math.max(...xs)) } : { tickMinStep: 1 },
  };
}

function yEncoding(metric: string, field = 'y'): Record<string, unknown> {
  return { field, type: 'quantitative', title: metricLabel(metric), scale: { zero: false } };
}

function baselineLayer(input: ReportInput, metric: string, channel: 'x' | 'y' = 'y'): Record<string, unknown>[] {
  const b = input.baseline?.[metric];
  if (b === undefined || !Number.isFinite(b)) return [];
  return [
    {
      data: { values: [{ baseline: b, label: `baseline ${fmtNum(b)}` }] },
      mark: { type: 'rule', strokeDash: [6, 4], color: '#b33', strokeWidth: 1.5 },
      encoding: { [channel]: { field: 'baseline', type: 'quantitative' }, tooltip: [{ field: 'label', type: 'nominal', title: 'baseline' }] },
    },
  ];
}

function absoluteFit(input: ReportInput, metric: string): ReportFit | undefined {
  return input.fits.find((f) => f.response === metric && f.frame === 'absolute');
}

function fitMissing(input: ReportInput, metric: string): string {
  const e = input.fitErrors?.find((x) => x.response === metric && x.frame === 'absolute');
  return e ? e.message : `no regression fit for ${metric}`;
}

function noRows(input: ReportInput, metric: string): string | null {
  if (input.rows.length === 0) return 'no rows in the data: nothing to plot';
  const n = completeRows(input, metric).length;
  if (n === 0) return `${metric} has no finite values (with finite ${input.predictors.join(', ')}): nothing to plot`;
  return null;
}

/** Coefficients (standardized when available) with 95% CIs, significant ones highlighted. */
export function coefficientChart(input: ReportInput, metric: string): Chart {
  const id = slug('chart', 'coef', metric);
  const std = input.standardizedFits?.find((f) => f.response === metric && f.frame === 'absolute');
  const fit = std ?? absoluteFit(input, metric);
  const title = `${metric}: ${std ? 'standardized ' : ''}coefficients with 95% CI`;
  if (!fit) return { id, kind: 'coefficients', title, missing: fitMissing(input, metric) };
  const values = fit.terms
    .map((term, i) => ({
      term,
      coef: fit.params[i],
      lo: fit.conf_int[i]?.[0],
      hi: fit.conf_int[i]?.[1],
      p: fit.pvalues[i],
    }))
    .filter((r) => r.term !== 'Intercept' && r.coef !== null)
    .map((r) => ({
      term: r.term,
      coef: r.coef as number,
      lo: r.lo ?? NaN,
      hi: r.hi ?? NaN,
      p: r.p ?? NaN,
      significance: (r.p ?? 1) < input.alpha ? `p < ${input.alpha}` : `p ≥ ${input.alpha}`,
    }))
    .filter(finite);
  if (values.length === 0) return { id, kind: 'coefficients', title, missing: `${metric}: no estimable coefficient with a finite confidence interval` };
  const unit = std ? 'change in ' + metricLabel(metric) + ' per 1 SD' : metricLabel(metric) + ' per unit';
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 320,
    height: Math.max(80, 22 * values.length),
    data: { values },
    layer: [
      { mark: { type: 'rule', color: '#888' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y: { field: 'term', type: 'nominal', sort: null, title: 'term' },
          x: { field: 'lo', type: 'quantitative', title: `coefficient (${unit})` },
          x2: { field: 'hi' },
          color: { field: 'significance', type: 'nominal', scale: { domain: [`p < ${input.alpha}`, `p ≥ ${input.alpha}`], range: ['#1f5fa8', '#aaa'] } },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          y: { field: 'term', type: 'nominal', sort: null },
          x: { field: 'coef', type: 'quantitative' },
          color: { field: 'significance', type: 'nominal' },
          tooltip: [
            { field: 'term', type: 'nominal' },
            { field: 'coef', type: 'quantitative', format: '.4~g' },
            { field: 'lo', type: 'quantitative', format: '.4~g', title: '2.5%' },
            { field: 'hi', type: 'quantitative', format: '.4~g', title: '97.5%' },
            { field: 'p', type: 'quantitative', format: '.3~g' },
          ],
        },
      },
    ],
  };
  return {
    id, kind: 'coefficients', title, spec,
    caption: std
      ? 'Fitted on z-scored hyperparameters so that the terms share one scale; the tables below are in the chosen spec.'
      : 'Raw-unit coefficients (standardized fit unavailable); scales differ between terms.',
  };
}

/** Sobol indices of the fitted surface: first-order and total per hyperparameter, pure interaction per pair, with bootstrap CIs. */
export function importanceChart(input: ReportInput, metric: string): Chart {
  const id = slug('chart', 'importance', metric);
  const title = `${metric}: importance (Sobol indices) with ${input.importance?.find((s) => s.response === metric)?.bootstrap ? `${Math.round(100 * input.importance.find((s) => s.response === metric)!.bootstrap!.level)}% bootstrap CI` : 'no CI'}`;
  const s = input.importance?.find((x) => x.response === metric);
  if (!s) return { id, kind: 'importance', title, missing: absoluteFit(input, metric) ? `${metric}: no Sobol indices (see Notes)` : fitMissing(input, metric) };
  const rows: Record<string, number | string>[] = [];
  for (const p of s.predictors) {
    rows.push({ name: p, index: 'first-order S_i', value: s.first[p]!, lo: s.ci?.first[p]?.[0] ?? NaN, hi: s.ci?.first[p]?.[1] ?? NaN });
    rows.push({ name: p, index: 'total T_i', value: s.total[p]!, lo: s.ci?.total[p]?.[0] ?? NaN, hi: s.ci?.total[p]?.[1] ?? NaN });
  }
  for (const q of Object.keys(s.second)) rows.push({ name: q.replace(':', ' × '), index: 'interaction S_ij', value: s.second[q]!, lo: s.ci?.second[q]?.[0] ?? NaN, hi: s.ci?.second[q]?.[1] ?? NaN });
  const values = rows.filter((r) => Number.isFinite(r.value as number)).map((r) => ({ ...r, lo: Number.isFinite(r.lo as number) ? r.lo : r.value, hi: Number.isFinite(r.hi as number) ? r.hi : r.value }));
  if (values.length === 0) return { id, kind: 'importance', title, missing: `${metric}: the fitted surface is flat over the box` };
  const kinds = ['first-order S_i', 'total T_i', 'interaction S_ij'];
  const y = { field: 'name', type: 'nominal', sort: null, title: null };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 320,
    height: Math.max(80, 18 * values.length),
    data: { values },
    encoding: { y, yOffset: { field: 'index', type: 'nominal', sort: kinds } },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'value', type: 'quantitative', title: 'share of the variance of the fitted surface', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
          color: { field: 'index', type: 'nominal', scale: { domain: kinds, range: ['#1f5fa8', '#9cc3e6', '#e08a3c'] }, title: null },
          tooltip: [
            { field: 'name', type: 'nominal' }, { field: 'index', type: 'nominal' },
            { field: 'value', type: 'quantitative', format: '.1%' }, { field: 'lo', type: 'quantitative', format: '.1%', title: 'CI low' }, { field: 'hi', type: 'quantitative', format: '.1%', title: 'CI high' },
          ],
        },
      },
      { mark: { type: 'rule', color: '#222' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  };
  const box = s.predictors.map((p) => `${p} ${s.scale[p] === 'log10' ? 'log-uniform' : 'uniform'} on [${fmtNum(s.box[p]![0], 3)}, ${fmtNum(s.box[p]![1], 3)}]`).join(', ');
  return {
    id, kind: 'importance', title, spec,
    caption: `Exact Sobol indices of the fitted degree-${input.spec.degree} surface over the design box (${box}). Black rules: ${s.bootstrap ? `percentile CI over ${s.bootstrap.B} bootstrap resamples of the ${s.bootstrap.configurations} configurations, seeds kept together (seed ${s.bootstrap.seed})` : 'none (no bootstrap)'}.`,
  };
}

/** Observed level means (± 1 SE) of a metric against each predictor, with the fitted curve at the others' centre. */
export function mainEffectsChart(input: ReportInput, metric: string): Chart {
  const id = slug('chart', 'main', metric);
  const title = `${metric}: main effects`;
  const why = noRows(input, metric);
  if (why) return { id, kind: 'main-effects', title, missing: why };
  const rows = completeRows(input, metric);
  const boxes = predictorBoxes(input, rows);
  const fit = absoluteFit(input, metric);
  const pred = fit ? makePredictor(fit, input) : null;
  const panels: Record<string, unknown>[] = [];
  const skipped: string[] = [];
  let band_shown = false;
  for (const p of input.predictors) {
    const levels = distinctSorted(finiteColumn(rows, p));
    if (levels.length < 2) {
      skipped.push(`${p} has ${levels.length} distinct value${levels.length === 1 ? '' : 's'}`);
      continue;
    }
    const layers: Record<string, unknown>[] = [];
    if (levels.length <= FEW_LEVELS) {
      const means = levelMeans(rows, p, metric).map((m) => ({ x: m.x, y: m.mean, lo: m.mean - m.se, hi: m.mean + m.se, n: m.n }));
      layers.push(
        { data: { values: means }, mark: { type: 'rule', color: '#555' }, encoding: { x: xEncoding(p, input), y: { ...yEncoding(metric, 'lo') }, y2: { field: 'hi' } } },
        {
          data: { values: means },
          mark: { type: 'point', filled: true, size: 45, color: '#222' },
          encoding: { x: xEncoding(p, input), y: yEncoding(metric), tooltip: [{ field: 'x', title: p }, { field: 'y', title: `mean ${metric}`, format: '.4~g' }, { field: 'n' }] },
        },
      );
    } else {
      const pts = rows.map((r) => ({ x: num(r[p]), y: num(r[metric]) }));
      layers.push({ data: { values: pts }, mark: { type: 'point', opacity: 0.5, color: '#222' }, encoding: { x: xEncoding(p, input), y: yEncoding(metric) } });
    }
    if (pred && fit) {
      const centre: Record<string, number> = {};
      for (const q of input.predictors) centre[q] = boxes[q].centre;
      const tq = fit.df_resid > 0 ? tQuantile975(fit.df_resid) : NaN;
      const curve = gridOver(boxes[p], 40).map((x) => {
        const pt = { ...centre, [p]: x };
        const y = pred.predict(pt);
        const half = tq * pred.seFit(pt);
        return { x, y, lo: y - half, hi: y + half };
      });
      const band = curve.filter(finite);
      if (band.length > 1) {
        band_shown = true;
        layers.push({ data: { values: band }, mark: { type: 'area', color: '#1f5fa8', opacity: 0.15 }, encoding: { x: xEncoding(p, input), y: yEncoding(metric, 'lo'), y2: { field: 'hi' } } });
      }
      const line = curve.map(({ x, y }) => ({ x, y })).filter(finite);
      if (line.length > 1)
        layers.push({ data: { values: line }, mark: { type: 'line', color: '#1f5fa8', strokeWidth: 2 }, encoding: { x: xEncoding(p, input), y: yEncoding(metric) } });
    }
    layers.push(...baselineLayer(input, metric));
    panels.push({ width: W, height: H, title: shortName(p), layer: layers });
  }
  if (panels.length === 0) return { id, kind: 'main-effects', title, missing: `no hyperparameter varies: ${skipped.join('; ')}` };
  const spec: ChartSpec = { $schema: SCHEMA, hconcat: panels, resolve: { scale: { y: 'shared' } } };
  const others = input.predictors.length > 1 ? ', the other hyperparameters at the centre of their observed range' : '';
  return {
    id, kind: 'main-effects', title, spec,
    caption: `Points: observed mean ± 1 SE per level. Line: fitted model${others}${band_shown ? ', with its 95% confidence band' : ''}.${pred ? '' : ' (no fitted curve: ' + fitMissing(input, metric) + ')'} Dashed red: baseline.${skipped.length ? ' Not shown: ' + skipped.join('; ') + '.' : ''}`,
  };
}

/** Mean metric over x, one line per level of `colour` (e.g. epochs × batch size). */
export function interactionChart(input: ReportInput, metric: string, x: string, colour: string): Chart {
  const id = slug('chart', 'interaction', metric, x, colour);
  const title = `${metric}: ${shortName(x)} × ${shortName(colour)}`;
  const why = noRows(input, metric);
  if (why) return { id, kind: 'interaction', title, missing: why };
  const rows = completeRows(input, metric);
  const cl = distinctSorted(finiteColumn(rows, colour));
  const xl = distinctSorted(finiteColumn(rows, x));
  if (cl.length < 2 || xl.length < 2)
    return { id, kind: 'interaction', title, missing: `needs at least two levels of both ${x} (has ${xl.length}) and ${colour} (has ${cl.length})` };
  const values: Record<string, number | string>[] = [];
  for (const c of cl) {
    const sub = rows.filter((r) => num(r[colour]) === c);
    for (const m of levelMeans(sub, x, metric)) values.push({ x: m.x, y: m.mean, level: fmtNum(c), order: c, n: m.n });
  }
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 300,
    height: 210,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: xEncoding(x, input),
          y: yEncoding(metric),
          color: { field: 'level', type: 'ordinal', title: shortName(colour), sort: { field: 'order' }, scale: { scheme: 'viridis' } },
          tooltip: [{ field: 'x', title: x }, { field: 'level', title: colour }, { field: 'y', title: `mean ${metric}`, format: '.4~g' }, { field: 'n' }],
        },
      },
      ...baselineLayer(input, metric),
    ],
  };
  return { id, kind: 'interaction', title, spec, caption: `Observed mean ${metric} per (${x}, ${colour}) cell; non-parallel lines indicate an interaction. Dashed red: baseline.` };
}

/** Pairs to show as interaction plots: the colour variable has few levels, x the more levels. */
export function interactionPairs(input: ReportInput, metric: string): [string, string][] {
  const rows = completeRows(input, metric);
  const nlev = (p: string): number => distinctSorted(finiteColumn(rows, p)).length;
  const out: [string, string][] = [];
  const ps = input.predictors;
  for (let i = 0; i < ps.length; i++)
    for (let j = i + 1; j < ps.length; j++) {
      const [a, b] = [ps[i], ps[j]];
      const [x, c] = nlev(a) >= nlev(b) ? [a, b] : [b, a];
      if (nlev(c) >= 2 && nlev(c) <= 8 && nlev(x) >= 2) out.push([x, c]);
    }
  return out;
}

function edges(centres: number[], log: boolean): [number, number][] {
  const t = (v: number): number => (log ? Math.log(v) : v);
  const inv = (v: number): number => (log ? Math.exp(v) : v);
  return centres.map((c, i) => {
    const lo = i === 0 ? t(c) - (t(centres[1]) - t(c)) / 2 : (t(centres[i - 1]) + t(c)) / 2;
    const hi = i === centres.length - 1 ? t(c) + (t(c) - t(centres[i - 1])) / 2 : (t(c) + t(centres[i + 1])) / 2;
    return [inv(lo), inv(hi)];
  });
}

/** Fitted response over a pair of hyperparameters, the others held at their centre; optimum marked. */
export function surfaceChart(input: ReportInput, metric: string, px: string, py: string): Chart {
  const id = slug('chart', 'surface', metric, px, py);
  const title = `${metric}: fitted surface over ${shortName(px)} × ${shortName(py)}`;
  const why = noRows(input, metric);
  if (why) return { id, kind: 'surface', title, missing: why };
  const fit = absoluteFit(input, metric);
  if (!fit) return { id, kind: 'surface', title, missing: fitMissing(input, metric) };
  const pred = makePredictor(fit, input);
  if (!pred) return { id, kind: 'surface', title, missing: `cannot evaluate the fitted terms ${fit.terms.join(', ')} from ${input.predictors.join(', ')}` };
  const rows = completeRows(input, metric);
  const boxes = predictorBoxes(input, rows);
  const bx: Box = boxes[px];
  const by: Box = boxes[py];
  if (!(bx.max > bx.min) || !(by.max > by.min)) return { id, kind: 'surface', title, missing: `${px} or ${py} takes a single value: no surface to draw` };
  const N = 25;
  const xs = gridOver(bx, N);
  const ys = gridOver(by, N);
  const xe = edges(xs, bx.log);
  const ye = edges(ys, by.log);
  const centre: Record<string, number> = {};
  for (const q of input.predictors) centre[q] = boxes[q].centre;
  const dir = metricDirection(metric);
  const cells: Record<string, number>[] = [];
  let best: Record<string, number> | null = null;
  xs.forEach((x, i) =>
    ys.forEach((y, j) => {
      const v = pred.predict({ ...centre, [px]: x, [py]: y });
      if (!Number.isFinite(v)) return;
      const c = { x, y, x0: xe[i][0], x1: xe[i][1], y0: ye[j][0], y1: ye[j][1], value: v };
      cells.push(c);
      if (!best || (dir === 'maximize' ? v > best.value : v < best.value)) best = c;
    }),
  );
  if (cells.length === 0 || !best) return { id, kind: 'surface', title, missing: `the fitted ${metric} surface is not finite over the observed box` };
  const bestCell = best as Record<string, number>;
  const designPts = distinctPairs(rows, px, py);
  const opt = input.optima?.find((o) => o.response === metric);
  const marks: Record<string, unknown>[] = [
    { x: bestCell.x, y: bestCell.y, value: bestCell.value, what: 'best on this slice' },
  ];
  if (opt && Number.isFinite(opt.point[px]) && Number.isFinite(opt.point[py]))
    marks.push({ x: opt.point[px], y: opt.point[py], value: opt.value, what: 'fitted optimum in the box (all hyperparameters free)' });
  const b = input.baseline?.[metric];
  const vals = cells.map((c) => c.value);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  // Blue = better than the baseline, red = worse: diverging around the baseline when the slice straddles it,
  // otherwise one sequential hue (darker = further from the baseline) so the surface's shape stays visible.
  const maximize = dir === 'maximize';
  let scale: Record<string, unknown> = { scheme: 'redblue', reverse: !maximize };
  let baseTxt = '';
  if (b !== undefined && b > lo && b < hi) {
    scale = { ...scale, domainMid: b };
    baseTxt = ` The colour scale is centred on the baseline (${fmtNum(b)}): blue is better, red worse.`;
  } else if (b !== undefined) {
    const allBetter = maximize ? lo >= b : hi <= b;
    scale = allBetter ? { scheme: 'blues', reverse: !maximize } : { scheme: 'reds', reverse: maximize };
    baseTxt = ` Every fitted value on this slice is ${allBetter ? 'better' : 'worse'} than the baseline (${fmtNum(b)}); darker is ${allBetter ? 'better' : 'worse'}.`;
  }
  const colour: Record<string, unknown> = { field: 'value', type: 'quantitative', title: `fitted ${metric}`, scale, legend: { format: '.4~g' } };
  // Say so when the surface is not trustworthy away from the data.
  const warn: string[] = [];
  if (isFraction(metric) && (lo < 0 || hi > 1))
    warn.push(`Fitted values leave [0, 1] (${fmtNum(lo)} to ${fmtNum(hi)}): the polynomial extrapolates where there are no runs.`);
  if (fit.aliased && fit.aliased.length)
    warn.push(`Aliased terms (${fit.aliased.join(', ')}) count as 0, so the surface is not identified away from the observed configurations.`);
  const xEnc = (f: string): Record<string, unknown> => ({ ...xEncoding(px, input, f) });
  const yEnc = (f: string): Record<string, unknown> => ({ ...xEncoding(py, input, f), title: predictorLabel(py, input.lrColumn) });
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 260,
    height: 220,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect' },
        encoding: {
          x: xEnc('x0'), x2: { field: 'x1' }, y: yEnc('y0'), y2: { field: 'y1' }, color: colour,
          tooltip: [{ field: 'x', title: px, format: '.4~g' }, { field: 'y', title: py, format: '.4~g' }, { field: 'value', title: `fitted ${metric}`, format: '.4~g' }],
        },
      },
      {
        data: { values: designPts },
        mark: { type: 'point', shape: 'circle', size: 18, color: '#000', opacity: 0.6 },
        encoding: { x: xEnc('x'), y: yEnc('y') },
      },
      {
        data: { values: marks },
        mark: { type: 'point', filled: true, size: 160, stroke: '#fff', strokeWidth: 1.5 },
        encoding: {
          x: xEnc('x'), y: yEnc('y'),
          shape: { field: 'what', type: 'nominal', title: 'optimum', scale: { range: ['diamond', 'cross'] }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 320 } },
          color: { value: '#111' },
          tooltip: [{ field: 'what' }, { field: 'x', title: px, format: '.4~g' }, { field: 'y', title: py, format: '.4~g' }, { field: 'value', title: metric, format: '.4~g' }],
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
  const held = input.predictors.filter((q) => q !== px && q !== py).map((q) => `${q} = ${fmtNum(centre[q])}`);
  return {
    id, kind: 'surface', title, spec,
    caption: `Fitted ${metric}${held.length ? ' with ' + held.join(', ') + ' (centre of the observed range)' : ''}. Dots: observed configurations; diamond: best fitted value on this slice (${fmtNum(bestCell.value)}).${baseTxt}${warn.length ? ' ⚠ ' + warn.join(' ') : ''}`,
  };
}

function distinctPairs(rows: ReportRow[], px: string, py: string): { x: number; y: number }[] {
  const seen = new Set<string>();
  const out: { x: number; y: number }[] = [];
  for (const r of rows) {
    const x = num(r[px]);
    const y = num(r[py]);
    const k = `${x}|${y}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ x, y });
    }
  }
  return out;
}

/** Per-configuration spread across seeds: every run as a point, the mean as a tick, the range as a rule. */
export function seedChart(input: ReportInput, metric: string): Chart | null {
  const id = slug('chart', 'seeds', metric);
  const title = `${metric}: spread across runs (seeds) of each configuration`;
  const why = noRows(input, metric);
  if (why) return null;
  const groups = replicateGroups(input, metric).filter((g) => g.n >= 2);
  if (groups.length === 0) return null;
  groups.sort((a, b) => a.mean - b.mean);
  const summary = groups.map((g, i) => ({ config: g.label, order: i, mean: g.mean, min: g.min, max: g.max, sd: Number.isFinite(g.sd) ? g.sd : 0, n: g.n }));
  const points = groups.flatMap((g) => g.values.map((v) => ({ config: g.label, y: v })));
  const xEnc = { field: 'config', type: 'nominal', sort: summary.map((s) => s.config), title: 'configuration (sorted by mean)', axis: { labelAngle: -60, labelLimit: 200 } };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: { step: 14 },
    height: 220,
    layer: [
      { data: { values: summary }, mark: { type: 'rule', color: '#999' }, encoding: { x: xEnc, y: yEncoding(metric, 'min'), y2: { field: 'max' } } },
      { data: { values: points }, mark: { type: 'point', size: 18, opacity: 0.7, color: '#1f5fa8' }, encoding: { x: xEnc, y: yEncoding(metric, 'y') } },
      {
        data: { values: summary },
        mark: { type: 'tick', color: '#111', thickness: 2 },
        encoding: {
          x: xEnc, y: yEncoding(metric, 'mean'),
          tooltip: [{ field: 'config' }, { field: 'n' }, { field: 'mean', format: '.4~g' }, { field: 'sd', format: '.3~g', title: 'SD across seeds' }],
        },
      },
      ...baselineLayer(input, metric),
    ],
  };
  return { id, kind: 'seed-variability', title, spec, caption: `${groups.length} configurations with ≥ 2 runs. Dots: runs; tick: mean; grey rule: min–max. Dashed red: baseline.` };
}

/** Metric-vs-metric scatter with the 2-D Pareto set highlighted and joined. */
export function paretoChart(input: ReportInput, ma: string, mb: string): Chart {
  const id = slug('chart', 'pareto', ma, mb);
  const title = `${ma} vs ${mb}: trade-off and Pareto set`;
  const rows = input.rows.filter((r) => Number.isFinite(num(r[ma])) && Number.isFinite(num(r[mb])));
  if (rows.length < 2) return { id, kind: 'pareto', title, missing: `needs at least two runs with finite ${ma} and ${mb} (has ${rows.length})` };
  const a = rows.map((r) => num(r[ma]));
  const b = rows.map((r) => num(r[mb]));
  const dir = (m: string): 'max' | 'min' => (metricDirection(m) === 'maximize' ? 'max' : 'min');
  const front = new Set(paretoFront(rows, [{ metric: ma, direction: dir(ma) }, { metric: mb, direction: dir(mb) }]).indices);
  const cols = [...input.predictors, ...(input.seedColumn ? [input.seedColumn] : [])];
  const values = rows.map((r, i) => {
    const o: Record<string, number | string> = { a: a[i], b: b[i], set: front.has(i) ? 'Pareto set' : 'dominated' };
    for (const c of cols) o[c] = r[c] ?? '';
    return o;
  });
  const frontPts = values.filter((v) => v.set === 'Pareto set').sort((p, q) => (p.a as number) - (q.a as number));
  const enc = { x: { field: 'a', type: 'quantitative', title: metricLabel(ma), scale: { zero: false } }, y: { field: 'b', type: 'quantitative', title: metricLabel(mb), scale: { zero: false } } };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 300,
    height: 240,
    layer: [
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.75 },
        encoding: {
          ...enc,
          color: { field: 'set', type: 'nominal', title: null, scale: { domain: ['Pareto set', 'dominated'], range: ['#d9480f', '#9aa5b1'] } },
          tooltip: [{ field: 'a', title: ma, format: '.4~g' }, { field: 'b', title: mb, format: '.4~g' }, ...cols.map((c) => ({ field: c }))],
        },
      },
      { data: { values: frontPts }, mark: { type: 'line', color: '#d9480f', interpolate: 'step-after', strokeDash: [3, 2] }, encoding: enc },
      ...baselineLayer(input, ma, 'x'),
      ...baselineLayer(input, mb, 'y'),
    ],
  };
  const better = (m: string): string => (metricDirection(m) === 'maximize' ? 'higher' : 'lower');
  return {
    id, kind: 'pareto', title, spec,
    caption: `${front.size} of ${rows.length} runs are Pareto-optimal (${better(ma)} ${ma}, ${better(mb)} ${mb}). Dashed red: baselines.`,
  };
}

/** Every chart in report order. */
export function allCharts(input: ReportInput): Chart[] {
  const charts: Chart[] = [];
  if (input.rows.length < 2) {
    // Nothing varies: one sentence per section instead of one per chart.
    const why = input.rows.length === 0 ? 'no rows in the data: nothing to plot' : 'one run only: plots need at least two runs';
    const kinds: [Chart['kind'], string][] = [['coefficients', 'Coefficients'], ['main-effects', 'Main effects'], ['interaction', 'Interactions'], ['surface', 'Response surfaces'], ['pareto', 'Trade-offs']];
    return kinds.map(([kind, title]) => ({ id: slug('chart', kind), kind, title, missing: why }));
  }
  for (const m of input.metrics) charts.push(coefficientChart(input, m));
  for (const m of input.metrics) charts.push(mainEffectsChart(input, m));
  if (input.importance?.length) for (const m of input.metrics) charts.push(importanceChart(input, m));
  for (const m of input.metrics) {
    const pairs = interactionPairs(input, m);
    if (pairs.length === 0 && input.predictors.length >= 2)
      charts.push({ id: slug('chart', 'interaction', m), kind: 'interaction', title: `${m}: interactions`, missing: noRows(input, m) ?? 'no pair of hyperparameters with 2–8 levels on one side: interaction plots need grouped levels' });
    for (const [x, c] of pairs) charts.push(interactionChart(input, m, x, c));
  }
  for (const m of input.metrics)
    for (let i = 0; i < input.predictors.length; i++)
      for (let j = i + 1; j < input.predictors.length; j++) charts.push(surfaceChart(input, m, input.predictors[i], input.predictors[j]));
  for (const m of input.metrics) {
    const c = seedChart(input, m);
    if (c) charts.push(c);
  }
  for (let i = 0; i < input.metrics.length; i++)
    for (let j = i + 1; j < input.metrics.length; j++) charts.push(paretoChart(input, input.metrics[i], input.metrics[j]));
  charts.push(...noiseCharts(input));
  return charts;
}

