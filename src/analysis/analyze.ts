/**
 * The analysis driver: rows → (response × frame) polynomial OLS fits. The absolute frame regresses the
 * metric, the relative frame regresses metric − baseline (computed in double, per row).
 */
import { UserError } from '../util/index.js';
import { buildDesign, type CenterKind, type DesignTransform, type ModelSpec } from './design.js';
import { fitOls, type OlsCore } from './ols.js';
import { checkNumeric, filterTable, type FilterReport, type Table } from './table.js';

export type Frame = 'absolute' | 'relative';

export interface OlsFit extends Omit<OlsCore, 'normalized_cov_params'> {
  response: string;
  frame: Frame;
  /** center: the predictors' origin; center_point: that origin in natural units per raw predictor (null: not centred) */
  spec: { degree: 1 | 2 | 3; log_lr: boolean; standardize: boolean; center: CenterKind; center_point: Record<string, number> | null };
  /** transformed predictor names as used in the terms (lr, log10_lr, z_lr, …) */
  predictors: string[];
  /** the raw data columns behind them */
  raw_predictors: string[];
  transform: DesignTransform;
  /** data range of each raw predictor over the rows used */
  box: Record<string, [number, number]>;
  /** per term: exponent of each predictor (for predictions) */
  powers: number[][];
  /** baseline subtracted in the relative frame */
  baseline?: number;
  /** rows left out because of missing values (with dropMissing) */
  dropped: number;
  normalized_cov_params: (number | null)[][];
  /**
   * A block effect (treatment-coded, `C(block)[T.b]` as statsmodels names it), when the rows span several blocks:
   * its terms follow the polynomial's (powers cover the polynomial only, so predictions are at the first block).
   */
  blocks?: { column: string; levels: Array<string | number>; terms: string[] };
}

export interface AnalyzeOptions {
  predictors: string[];
  responses: string[];
  frame: Frame | 'both';
  /** per response (metric) name; `eval_accuracy` also finds a baseline given as `accuracy` */
  baseline?: Record<string, number>;
  spec: ModelSpec;
  /** row filters (`task=text-classification`, `bs>=16`, …), applied in order */
  where?: string[];
  /** leave out rows with a missing value in the fit's columns instead of stopping */
  dropMissing?: boolean;
  /** a categorical column of blocks (sequential experiments): a block effect is fitted when it has several levels */
  blocks?: string;
}

export interface AnalyzeResult { fits: OlsFit[]; filters: FilterReport[]; warnings: string[] }

/** A baseline for `metric`: exact key, else with the `eval_` prefix removed or added. */
export function lookupBaseline(baseline: Record<string, number> | undefined, metric: string): number | undefined {
  if (!baseline) return undefined;
  if (metric in baseline) return baseline[metric];
  const alt = metric.startsWith('eval_') ? metric.slice(5) : `eval_${metric}`;
  return baseline[alt];
}

/**
 * Resolves baseline metrics from a reference (e.g. a Hub model id whose card's model-index holds them).
 * Issue 7's `--baseline-card` plugs a resolver of this shape into `tunescope analyze`.
 */
export type BaselineResolver = (reference: string, metrics: string[]) => Promise<Record<string, number>>;

/** Treatment-coded block columns over the rows used (the first level is the reference); null with one level. */
function blockEffect(t: Table, use: number[], column: string): { column: string; levels: Array<string | number>; terms: string[]; columns: Float64Array[] } | null {
  if (!t.columns.includes(column)) throw new UserError(`${t.source ?? 'table'}: no block column "${column}"`);
  const values = use.map((i) => t.rows[i][column]);
  if (values.some((v) => v === null || v === undefined || v === '')) throw new UserError(`${t.source ?? 'table'}: a row has no ${column}`);
  const levels = [...new Set(values as Array<string | number>)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
  if (levels.length < 2) return null;
  const rest = levels.slice(1);
  return {
    column,
    levels,
    terms: rest.map((l) => `C(${column})[T.${l}]`),
    columns: rest.map((l) => Float64Array.from(values, (v) => (v === l ? 1 : 0))),
  };
}

export function analyze(table: Table, opts: AnalyzeOptions): AnalyzeResult {
  const warnings: string[] = [];
  const { predictors, responses } = opts;
  if (predictors.length === 0) throw new UserError('no predictors given (--predictors lr,bs,ep)');
  if (responses.length === 0) throw new UserError('no responses given (--response accuracy,f1,loss)');
  for (const c of [...predictors, ...responses]) {
    if (!table.columns.includes(c)) {
      throw new UserError(`${table.source ?? 'table'}: no column "${c}" (columns: ${table.columns.join(', ')})`);
    }
  }
  const overlap = responses.filter((r) => predictors.includes(r));
  if (overlap.length > 0) throw new UserError(`column ${overlap.join(', ')} is both a predictor and a response`);
  const frames: Frame[] = opts.frame === 'both' ? ['absolute', 'relative'] : [opts.frame];
  if (!['absolute', 'relative', 'both'].includes(opts.frame)) throw new UserError(`--frame must be absolute, relative or both (got ${String(opts.frame)})`);
  if (frames.includes('relative')) {
    const missing = responses.filter((r) => lookupBaseline(opts.baseline, r) === undefined);
    if (missing.length > 0) {
      throw new UserError(`the relative frame needs a baseline for ${missing.join(', ')} (--baseline ${missing.map((m) => `${m}=VALUE`).join(',')})`);
    }
  }
  for (const [k, v] of Object.entries(opts.baseline ?? {})) {
    if (!Number.isFinite(v)) throw new UserError(`baseline for ${k} is not a finite number`);
  }
  if (frames.includes('relative')) {
    const used = new Set(responses.map((r) => (r in (opts.baseline ?? {}) ? r : r.startsWith('eval_') ? r.slice(5) : `eval_${r}`)));
    const unused = Object.keys(opts.baseline ?? {}).filter((k) => !used.has(k));
    if (unused.length > 0) warnings.push(`baseline given for ${unused.join(', ')}, which ${unused.length === 1 ? 'is' : 'are'} not among the responses`);
  }
  const { table: t, filters } = filterTable(table, opts.where ?? []);
  if (t.rows.length === 0) throw new UserError(`no rows left${filters.length ? ` after --where ${filters.map((f) => f.expr).join(' ')}` : ''} in ${table.source ?? 'the table'}`);

  const fits: OlsFit[] = [];
  for (const response of responses) {
    // rows with every used value present; a non-numeric cell always stops with its line and column
    const cols = [...predictors, response];
    const use: number[] = [];
    let dropped = 0;
    for (let i = 0; i < t.rows.length; i++) {
      let missingCol: string | null = null;
      for (const c of cols) if (checkNumeric(t, i, c) === null && missingCol === null) missingCol = c;
      if (missingCol === null) { use.push(i); continue; }
      if (!opts.dropMissing) {
        const where = t.lines ? `${t.source ?? 'table'}: line ${t.lines[i]}` : `${t.source ?? 'table'}: row ${i + 1}`;
        throw new UserError(`${where}, column "${missingCol}": missing value (use --drop-missing to leave such rows out)`);
      }
      dropped++;
    }
    if (dropped > 0) warnings.push(`${response}: dropped ${dropped} row(s) with missing values; ${use.length} used`);
    const raw = predictors.map((p) => use.map((i) => checkNumeric(t, i, p) as number));
    const yAbs = use.map((i) => checkNumeric(t, i, response) as number);
    const design = buildDesign(predictors, raw, opts.spec);
    const block = opts.blocks ? blockEffect(t, use, opts.blocks) : null;
    const constant = predictors.filter((_, i) => raw[i].length > 0 && raw[i].every((v) => v === raw[i][0]));
    const notes = constant.map(
      (c) => `predictor ${c} takes a single value (${raw[predictors.indexOf(c)][0]}) in the ${use.length} rows used, so its terms are aliased with the intercept`,
    );
    for (const note of notes) warnings.push(`${response}: ${note}`);
    for (const frame of frames) {
      const base = frame === 'relative' ? (lookupBaseline(opts.baseline, response) as number) : undefined;
      const y = base === undefined ? yAbs : yAbs.map((v) => v - base);
      const core = fitOls({
        terms: block ? [...design.info.terms, ...block.terms] : design.info.terms,
        factors: block ? [...design.info.factors, ...block.terms.map(() => [`C(${block.column})`])] : design.info.factors,
        columns: block ? [...design.columns, ...block.columns] : design.columns,
        y,
        label: `${response}, ${frame} frame, degree ${opts.spec.degree}`,
      });
      const fit: OlsFit = {
        response,
        frame,
        spec: {
          degree: opts.spec.degree, log_lr: opts.spec.logLr, standardize: opts.spec.standardize,
          center: design.info.transform.center?.kind ?? 'none', center_point: design.info.transform.center?.point ?? null,
        },
        predictors: design.info.predictors,
        raw_predictors: design.info.rawPredictors,
        transform: design.info.transform,
        box: design.info.box,
        powers: design.info.powers,
        ...(base === undefined ? {} : { baseline: base }),
        dropped,
        ...core,
        ...(block ? { blocks: { column: block.column, levels: block.levels, terms: block.terms } } : {}),
      };
      for (const w of core.warnings) warnings.push(`${response} (${frame}): ${w}`);
      fit.warnings = [...notes, ...core.warnings];
      fits.push(fit);
    }
  }
  return { fits, filters, warnings };
}
