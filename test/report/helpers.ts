/** Report test inputs built from the shared OLS fixtures (data CSVs and their reference fits). */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { sharedPath } from '../helpers.js';
import type { ReportFit, ReportInput, ReportRow } from '../../src/report/index.js';

export const HUB_BASELINE = { accuracy: 0.9105504587155964, f1: 0.9137168141592922, loss: 0.39013850688934326 };

export function readCsvRows(path: string): { columns: string[]; rows: ReportRow[] } {
  const recs = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const columns = recs.length ? Object.keys(recs[0]) : [];
  const rows = recs.map((r) => {
    const o: ReportRow = {};
    for (const [k, v] of Object.entries(r)) o[k] = v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v);
    return o;
  });
  return { columns, rows };
}

type Num = number | null | string;
const n = (v: Num): number | null => (v === null ? null : typeof v === 'number' ? v : Number(v));

/** The fixture's `reference` block (R convention when rank-deficient) as a ReportFit. */
export function fixtureFit(dataset: string, response: string, spec: string): ReportFit {
  const j = JSON.parse(readFileSync(sharedPath('fixtures/ols/expected', `${dataset}__${response}__${spec}.json`), 'utf8'));
  const r = j.reference_r_convention ?? j.reference;
  return {
    response,
    frame: 'absolute',
    spec: { degree: spec === 'deg1' ? 1 : 2, log_lr: spec === 'deg2_loglr', standardize: spec === 'deg2_standardized' },
    terms: j.terms,
    params: r.params.map(n),
    bse: r.bse.map(n),
    tvalues: r.tvalues.map(n),
    pvalues: r.pvalues.map(n),
    conf_int: r.conf_int.map((c: Num[]) => [n(c[0]), n(c[1])]),
    nobs: r.nobs,
    df_model: r.df_model,
    df_resid: r.df_resid,
    rsquared: n(r.rsquared),
    rsquared_adj: n(r.rsquared_adj),
    fvalue: n(r.fvalue),
    f_pvalue: n(r.f_pvalue),
    aic: n(r.aic),
    bic: n(r.bic),
    condition_number: r.condition_number ?? null,
    vif: r.vif?.map(n),
    pvalues_fdr_bh: r.pvalues_fdr_bh?.map(n),
    hc3: r.hc3 ? { bse: r.hc3.bse.map(n), pvalues: r.hc3.pvalues.map(n) } : undefined,
    aliased: j.r_aliased_terms ?? [],
    predictors: ['lr', 'bs', 'ep'],
  };
}

/** Relative frame of an absolute fit: only the intercept moves by −baseline (exact, see the fixture README). */
export function relativeOf(fit: ReportFit, baseline: number): ReportFit {
  const shift = (v: number | null, i: number): number | null => (v !== null && fit.terms[i] === 'Intercept' ? v - baseline : v);
  return {
    ...fit,
    frame: 'relative',
    params: fit.params.map(shift),
    conf_int: fit.conf_int.map((c, i) => (c ? [shift(c[0], i), shift(c[1], i)] : null)),
    baseline,
  };
}

/** grid_full (144 runs, 3 seeds per configuration) with its degree-2 log-lr fits in both frames. */
export function gridFullInput(): ReportInput {
  const { columns, rows } = readCsvRows(sharedPath('fixtures/ols/data/grid_full.csv'));
  const metrics = ['accuracy', 'f1', 'loss'];
  const fits = metrics.flatMap((m) => {
    const f = fixtureFit('grid_full', m, 'deg2_loglr');
    return [f, relativeOf(f, HUB_BASELINE[m as keyof typeof HUB_BASELINE])];
  });
  return {
    title: 'grid_full fixture',
    source: 'fixtures/ols/data/grid_full.csv',
    rows,
    columns,
    predictors: ['lr', 'bs', 'ep'],
    metrics,
    seedColumn: 'seed',
    lrColumn: 'lr',
    baseline: HUB_BASELINE,
    alpha: 0.05,
    spec: { degree: 2, log_lr: true, standardize: false },
    fits,
    standardizedFits: metrics.map((m) => fixtureFit('grid_full', m, 'deg2_standardized')),
  };
}

/** A finished study database holding grid_full's runs under HF names (through the store's public API). */
export async function makeStudyDb(path: string, opts: { done?: boolean; limit?: number } = {}): Promise<void> {
  const { openSqliteStore } = await import('../../src/store/index.js');
  const { rows } = readCsvRows(sharedPath('fixtures/ols/data/grid_full.csv'));
  const use = rows.slice(0, opts.limit ?? rows.length);
  const store = openSqliteStore(path);
  try {
    const factors = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs'];
    await store.createStudy({ name: 'grid', spec: { name: 'grid', design: { type: 'grid', factors: factors.map((name) => ({ name })) } }, specHash: 'test', tunescopeVersion: '0.0.0' });
    await store.addTrials(
      use.map((r, i) => ({
        id: `t${String(i).padStart(3, '0')}`,
        ordinal: i,
        kind: 'train' as const,
        config: { learning_rate: r.lr as number, per_device_train_batch_size: r.bs as number, num_train_epochs: r.ep as number },
        seed: r.seed as number,
        inDesign: true,
        isBaseline: false,
      })),
    );
    if (opts.done !== false) {
      await store.startRun({ id: 'r1', host: 'test', pid: 1, workers: 1, threadsPerWorker: 1 });
      for (let i = 0; i < use.length; i++) {
        const t = (await store.claimNext('r1', 'w1'))!;
        const r = use[Number(t.id.slice(1))];
        await store.completeTrial(t.id, 'r1', { metrics: { accuracy: r.accuracy as number, f1: r.f1 as number, loss: r.loss as number }, epochs: [] });
      }
      await store.finishRun('r1');
      await store.setBaseline({ metrics: HUB_BASELINE, source: 'distilbert-base-uncased-finetuned-sst-2-english (Hub card)' });
    }
  } finally {
    await store.close();
  }
}
