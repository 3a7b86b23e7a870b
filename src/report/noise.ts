/**
 * The report's "Noise" section, from analysis' noise analysis (a plain value): per-trial bootstrap CIs over the
 * evaluation examples as error bars, variance components (sd with CI) as bars, the expected-max curve with its band,
 * and the diverged-run table.
 */
import type { Chart, ChartSpec, ReportInput, ReportNoise } from './types.js';
import type { TableModel } from './tables.js';
import { metricLabel } from './labels.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const cfgText = (c: Record<string, string | number | null>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(', ');

/** Per-trial CIs; null without per-example predictions (the section's text says so). */
function intervalsChart(input: ReportInput, n: ReportNoise): Chart | null {
  const id = 'chart-noise-intervals';
  const title = `${n.metric}: each trial with its 95 % CI over evaluation examples`;
  if (n.trial_intervals.length === 0) return null;
  const values = n.trial_intervals
    .map((t) => {
      const r = input.rows[t.row] ?? {};
      return { config: cfgText(Object.fromEntries(n.config_columns.map((c) => [c, r[c] ?? null]))), seed: String(n.seed_columns.map((c) => r[c] ?? '').join('/')), estimate: t.estimate, lo: t.bca[0], hi: t.bca[1], plo: t.percentile[0], phi: t.percentile[1] };
    })
    .sort((a, b) => a.config.localeCompare(b.config) || a.seed.localeCompare(b.seed))
    .map((v, i) => ({ ...v, trial: i + 1 }));
  const x = { field: 'trial', type: 'ordinal', title: 'trial (grouped by configuration)', axis: { labels: false, ticks: false } };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: Math.min(900, Math.max(300, values.length * 9)),
    height: 240,
    data: { values },
    layer: [
      { mark: { type: 'rule', opacity: 0.8 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: metricLabel(n.metric), scale: { zero: false } }, y2: { field: 'hi' }, color: { field: 'config', type: 'nominal', title: 'configuration' } } },
      {
        mark: { type: 'point', filled: true, size: 30 },
        encoding: {
          x,
          y: { field: 'estimate', type: 'quantitative' },
          color: { field: 'config', type: 'nominal' },
          tooltip: [{ field: 'config' }, { field: 'seed', title: n.seed_columns.join('/') }, { field: 'estimate', format: '.4f' }, { field: 'lo', title: 'BCa low', format: '.4f' }, { field: 'hi', title: 'BCa high', format: '.4f' }, { field: 'plo', title: 'percentile low', format: '.4f' }, { field: 'phi', title: 'percentile high', format: '.4f' }],
        },
      },
    ],
  };
  return { id, kind: 'noise', title, spec, caption: `Bars: BCa 95 % intervals from ${n.bootstrap_B} bootstrap resamples of the evaluation examples (seeded); the width is the evaluation set's own noise, before any seed.` };
}

function componentsChart(n: ReportNoise): Chart {
  const id = 'chart-noise-components';
  const title = `${n.metric}: variance components (sd, REML, 95 % CI)`;
  const vc = n.variance_components;
  const groups: Array<{ group: string; est: Record<string, number> | null; ci: Record<string, [number, number]> | null }> = [
    { group: 'pooled', est: vc.reml, ci: vc.ci.reml },
    ...vc.by_config.map((c) => ({ group: cfgText(c.config), est: c.reml, ci: c.ci.reml })),
  ];
  const values = groups.flatMap((g) =>
    g.est ? vc.components.map((k) => ({ group: g.group, component: k, sd: Math.sqrt(Math.max(0, g.est![k] ?? NaN)), lo: Math.sqrt(g.ci?.[k]?.[0] ?? NaN), hi: Math.sqrt(g.ci?.[k]?.[1] ?? NaN) })) : [],
  ).filter((v) => Number.isFinite(v.sd));
  if (n.evaluation_noise) values.push({ group: 'pooled', component: 'evaluation set', sd: Math.sqrt(n.evaluation_noise.variance), lo: NaN, hi: NaN });
  if (values.length === 0) return { id, kind: 'noise', title, missing: 'too few replicates per configuration to estimate variance components' };
  const finite = values.map((v) => ({ ...v, lo: Number.isFinite(v.lo) ? v.lo : null, hi: Number.isFinite(v.hi) ? v.hi : null }));
  const enc = { y: { field: 'group', type: 'nominal', title: null, sort: null }, yOffset: { field: 'component', type: 'nominal' }, color: { field: 'component', type: 'nominal', title: 'component' } };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 380,
    data: { values: finite },
    layer: [
      { mark: { type: 'bar' }, encoding: { ...enc, x: { field: 'sd', type: 'quantitative', title: `sd of ${n.metric}` }, tooltip: [{ field: 'group' }, { field: 'component' }, { field: 'sd', format: '.5f' }, { field: 'lo', title: 'CI low', format: '.5f' }, { field: 'hi', title: 'CI high', format: '.5f' }] } },
      { transform: [{ filter: 'datum.lo !== null' }], mark: { type: 'rule', color: '#222' }, encoding: { y: enc.y, yOffset: enc.yOffset, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  };
  return { id, kind: 'noise', title, spec, caption: 'seed: initialisation and dropout (HF seed); data_seed: data order; residual: their interaction plus evaluation noise. "evaluation set": the bootstrap sd over evaluation examples, for scale.' };
}

function expectedMaxChart(n: ReportNoise): Chart {
  const id = 'chart-noise-expected-max';
  const title = `Expected best ${n.metric} of n trials`;
  if (n.expected_max.length < 2) return { id, kind: 'noise', title, missing: 'needs at least two trials' };
  const values = n.expected_max.map((e) => ({ n: e.n, mean: e.mean, lo: e.mean - e.se, hi: e.mean + e.se }));
  const x = { field: 'n', type: 'quantitative', title: 'trials (n)', scale: { type: 'log' } };
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: 320,
    height: 220,
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.25 }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: false }, title: `E[max ${n.metric}]` }, y2: { field: 'hi' } } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'n' }, { field: 'mean', format: '.4f' }, { field: 'lo', format: '.4f' }, { field: 'hi', format: '.4f' }] } },
    ],
  };
  return { id, kind: 'noise', title, spec, caption: 'E[max of n] = Σᵢ v₍ᵢ₎((i/N)ⁿ − ((i−1)/N)ⁿ) over the sorted trial scores (Dodge et al. 2019); band: ± the sd of the best of n.' };
}

export function noiseCharts(input: ReportInput): Chart[] {
  const n = input.noise;
  if (!n) return [];
  const iv = intervalsChart(input, n);
  return [...(iv ? [iv] : []), componentsChart(n), expectedMaxChart(n)];
}

export function divergedTable(n: ReportNoise): TableModel {
  return {
    id: 'diverged',
    title: 'Diverged runs per configuration',
    columns: [{ name: 'configuration', kind: 'text' }, { name: 'runs', kind: 'int' }, { name: 'diverged', kind: 'int' }, { name: 'rate', kind: 'num' }],
    rows: n.diverged.by_config.map((c) => [cfgText(c.config), c.n, c.diverged, c.rate]),
    empty: 'No runs.',
  };
}

export function componentsTable(n: ReportNoise): TableModel {
  const vc = n.variance_components;
  const rows = vc.components.map((k) => [k, vc.reml?.[k] ?? null, vc.ci.reml?.[k]?.[0] ?? null, vc.ci.reml?.[k]?.[1] ?? null, vc.anova?.[k] ?? null, vc.ci.anova?.[k]?.[0] ?? null, vc.ci.anova?.[k]?.[1] ?? null]);
  return {
    id: 'variance-components',
    title: 'Variance components (pooled over configurations)',
    columns: [{ name: 'component', kind: 'text' }, { name: 'REML variance', kind: 'num' }, { name: 'CI low', kind: 'num' }, { name: 'CI high', kind: 'num' }, { name: 'ANOVA variance', kind: 'num' }, { name: 'CI low ', kind: 'num' }, { name: 'CI high ', kind: 'num' }],
    rows,
  };
}
