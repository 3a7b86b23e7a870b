/**
 * The comparison every Optuna import test makes (and `npm run optuna-parity` prints): the imported runs against
 * `study.trials_dataframe()` as the fixture scripts (fixtures/optuna/make.py, make_pg.py) dump it, trial by trial,
 * cell by cell, exactly (no tolerance). A null cell (NaN / NaT / None in pandas) is a field the trial does not have: a
 * parameter a running trial has not suggested yet, a waiting trial's seed, a failed trial's value.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { NameMapper, type ImportedRun } from '../../src/import/index.js';

export interface Frame { optuna: string; study: string; directions: string[]; trials: Record<string, unknown>[] }

const STATES: Record<string, string> = { COMPLETE: 'complete', PRUNED: 'pruned', FAIL: 'failed', RUNNING: 'running', WAITING: 'waiting' };

export interface DataframeComparison {
  trials: number;
  /** dataframe cells compared (state, datetimes, params, values, user and system attrs) */
  cells: number;
  /** one line per differing cell or trial */
  mismatches: string[];
}

export function compareWithDataframe(runs: ImportedRun[], frame: Frame, metricNames: string[]): DataframeComparison {
  const out: DataframeComparison = { trials: frame.trials.length, cells: 0, mismatches: [] };
  const check = (at: string, got: unknown, want: unknown): void => {
    out.cells++;
    if (!isDeepStrictEqual(got, want)) out.mismatches.push(`${at}: imported ${JSON.stringify(got)}, trials_dataframe() ${JSON.stringify(want)}`);
  };
  if (runs.length !== frame.trials.length) out.mismatches.push(`${frame.study}: ${runs.length} runs imported, ${frame.trials.length} trials in trials_dataframe()`);
  const mapper = new NameMapper();
  for (const row of frame.trials) {
    const at = `${frame.study} trial ${String(row.number)}`;
    const run = runs.find((r) => r.attrs.number === row.number);
    if (!run) {
      out.mismatches.push(`${at}: not imported`);
      continue;
    }
    check(`${at} state`, run.state, STATES[String(row.state)]);
    check(`${at} run_id`, run.runId, `${frame.study}/${String(row.number)}`);
    check(`${at} datetime_start`, run.attrs.datetime_start, row.datetime_start);
    check(`${at} datetime_complete`, run.attrs.datetime_complete, row.datetime_complete);
    let params = 0;
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('params_') && mapper.param(k.slice(7)) === 'seed') {
        // a seed suggested as a parameter (sst2-seeds) is the run's seed, not a hyperparameter
        check(`${at} ${k}`, run.seed, v);
      } else if (k.startsWith('params_')) {
        if (v !== null) params++;
        check(`${at} ${k}`, run.params[mapper.param(k.slice(7))] ?? null, v);
      } else if (k === 'value') {
        check(`${at} value`, run.metrics[metricNames[0]], v);
      } else if (/^values_\d+$/.test(k)) {
        check(`${at} ${k}`, run.metrics[metricNames[Number(k.slice(7))]], v);
      } else if (k === 'user_attrs_seed') {
        check(`${at} seed`, run.seed, v);
      } else if (k.startsWith('user_attrs_')) {
        check(`${at} ${k}`, run.metrics[mapper.metric(k.slice(11))] ?? null, v);
      } else if (k.startsWith('system_attrs_')) {
        check(`${at} ${k}`, (run.attrs.system_attrs as Record<string, unknown> | undefined)?.[k.slice(13)] ?? null, v);
      }
    }
    if (Object.keys(run.params).length !== params) out.mismatches.push(`${at}: ${Object.keys(run.params).length} parameters imported, ${params} in trials_dataframe()`);
  }
  return out;
}

export function expectEqualToDataframe(runs: ImportedRun[], frame: Frame, metricNames: string[]): void {
  const c = compareWithDataframe(runs, frame, metricNames);
  assert.deepEqual(c.mismatches, [], `${frame.study}: ${c.mismatches.length} of ${c.cells} cells differ`);
  assert.ok(c.cells >= c.trials * 5, `${frame.study}: only ${c.cells} cells compared`);
}
