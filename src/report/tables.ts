/** The report's tables as plain values, rendered the same way to HTML, Markdown and CSV. */
import type { Cell, ReportFit, ReportInput } from './types.js';
import { fmtNum, fmtP, nonConstValue, replicateGroups, stars } from './stats.js';

export type ColumnKind = 'text' | 'num' | 'p' | 'int';
export interface TableModel {
  id: string;
  title: string;
  columns: { name: string; kind: ColumnKind }[];
  rows: Cell[][];
  /** Shown instead of the table when it has no rows. */
  empty?: string;
}

export function formatCell(v: Cell, kind: ColumnKind): string {
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  if (kind === 'p') return fmtP(v);
  if (kind === 'int') return Number.isInteger(v) ? String(v) : fmtNum(v);
  if (kind === 'num') return fmtNum(v);
  return String(v);
}

const ID_COLUMNS = ['trial_id', 'run_id', 'model_id', 'id', 'name', 'task', 'dataset'];

/** The columns worth reading in the HTML/Markdown data table: ids, hyperparameters, seed, metrics (CSV keeps all). */
export function shownColumns(input: ReportInput): string[] {
  const all = input.columns ?? (input.rows[0] ? Object.keys(input.rows[0]) : []);
  const want = [
    ...ID_COLUMNS,
    ...input.predictors,
    ...(input.seedColumn ? [input.seedColumn] : []),
    ...input.metrics,
    ...input.metrics.flatMap((m) => [`relative_${m}`, `${m}_rel`]),
    'train_seconds',
  ];
  return want.filter((c, i) => all.includes(c) && want.indexOf(c) === i);
}

export function dataTable(input: ReportInput, opts: { allColumns?: boolean } = {}): TableModel {
  const cols = opts.allColumns ? input.columns ?? (input.rows[0] ? Object.keys(input.rows[0]) : []) : shownColumns(input);
  const kinds = cols.map((c): ColumnKind => (input.rows.some((r) => typeof r[c] === 'number') ? 'num' : 'text'));
  return {
    id: 'data',
    title: 'Runs',
    columns: cols.map((name, i) => ({ name, kind: kinds[i] })),
    rows: input.rows.map((r) => cols.map((c) => r[c] ?? null)),
    empty: 'The data has no rows.',
  };
}

export const COEF_COLUMNS: { name: string; kind: ColumnKind }[] = [
  { name: 'term', kind: 'text' },
  { name: 'coef', kind: 'num' },
  { name: 'std err', kind: 'num' },
  { name: 't', kind: 'num' },
  { name: 'P>|t|', kind: 'p' },
  { name: '[0.025', kind: 'num' },
  { name: '0.975]', kind: 'num' },
  { name: 'sig', kind: 'text' },
  { name: 'BH p', kind: 'p' },
  { name: 'HC3 std err', kind: 'num' },
  { name: 'HC3 p', kind: 'p' },
  { name: 'VIF', kind: 'num' },
];

/** One row per term, statsmodels' column order plus significance stars, BH-adjusted p and HC3 robust SE. */
export function coefficientTable(fit: ReportFit): TableModel {
  return {
    id: `coef-${fit.response}-${fit.frame}`,
    title: `${fit.response} (${fit.frame} frame)`,
    columns: COEF_COLUMNS,
    rows: fit.terms.map((t, i) => {
      const aliased = fit.params[i] === null;
      const pick = (arr: (number | null)[] | undefined): Cell => nonConstValue(fit.terms, arr, i);
      return [
        aliased ? `${t} (aliased)` : t,
        fit.params[i],
        fit.bse[i],
        fit.tvalues[i],
        fit.pvalues[i],
        fit.conf_int[i]?.[0] ?? null,
        fit.conf_int[i]?.[1] ?? null,
        stars(fit.pvalues[i]),
        pick(fit.pvalues_fdr_bh),
        fit.hc3?.bse[i] ?? null,
        fit.hc3?.pvalues[i] ?? null,
        pick(fit.vif),
      ];
    }),
  };
}

export const FIT_COLUMNS: { name: string; kind: ColumnKind }[] = [
  { name: 'metric', kind: 'text' },
  { name: 'frame', kind: 'text' },
  { name: 'No. Observations', kind: 'int' },
  { name: 'Df Model', kind: 'int' },
  { name: 'Df Residuals', kind: 'int' },
  { name: 'R-squared', kind: 'num' },
  { name: 'Adj. R-squared', kind: 'num' },
  { name: 'F-statistic', kind: 'num' },
  { name: 'Prob (F-statistic)', kind: 'p' },
  { name: 'AIC', kind: 'num' },
  { name: 'BIC', kind: 'num' },
  { name: 'Cond. No.', kind: 'num' },
];

export function fitTable(input: ReportInput): TableModel {
  return {
    id: 'fits',
    title: 'Goodness of fit',
    columns: FIT_COLUMNS,
    rows: input.fits.map((f) => [
      f.response, f.frame, f.nobs, f.df_model, f.df_resid, f.rsquared, f.rsquared_adj, f.fvalue, f.f_pvalue,
      f.aic ?? null, f.bic ?? null, f.condition_number ?? null,
    ]),
    empty: 'No regression could be fitted.',
  };
}

export function seedTable(input: ReportInput): TableModel {
  const rows: Cell[][] = [];
  for (const m of input.metrics)
    for (const g of replicateGroups(input, m).filter((x) => x.n >= 2).sort((a, b) => a.mean - b.mean))
      rows.push([m, g.label, g.n, g.mean, Number.isFinite(g.sd) ? g.sd : null, g.min, g.max]);
  return {
    id: 'seeds',
    title: 'Spread across seeds',
    columns: [
      { name: 'metric', kind: 'text' }, { name: 'configuration', kind: 'text' }, { name: 'n', kind: 'int' }, { name: 'mean', kind: 'num' },
      { name: 'sd', kind: 'num' }, { name: 'min', kind: 'num' }, { name: 'max', kind: 'num' },
    ],
    rows,
    empty: 'No configuration was run more than once (no seed replicates).',
  };
}
