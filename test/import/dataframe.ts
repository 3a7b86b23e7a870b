/**
 * The comparison every Optuna import test makes: the imported runs against `study.trials_dataframe()` as the
 * fixture scripts (fixtures/optuna/make.py, make_pg.py) dump it, trial by trial. A null cell (NaN / NaT / None in
 * pandas) is a field the trial does not have: a parameter a running trial has not suggested yet, a waiting trial's
 * seed, a failed trial's value.
 */
import assert from 'node:assert/strict';
import { NameMapper, type ImportedRun } from '../../src/import/index.js';

export interface Frame { optuna: string; study: string; directions: string[]; trials: Record<string, unknown>[] }

const STATES: Record<string, string> = { COMPLETE: 'complete', PRUNED: 'pruned', FAIL: 'failed', RUNNING: 'running', WAITING: 'waiting' };

export function expectEqualToDataframe(runs: ImportedRun[], frame: Frame, metricNames: string[]): void {
  assert.equal(runs.length, frame.trials.length);
  const mapper = new NameMapper();
  for (const row of frame.trials) {
    const run = runs.find((r) => r.attrs.number === row.number);
    assert.ok(run, `trial ${String(row.number)}`);
    const at = `${frame.study} trial ${String(row.number)}`;
    assert.equal(run.state, STATES[String(row.state)], `${at} state`);
    assert.equal(run.runId, `${frame.study}/${String(row.number)}`);
    assert.equal(run.attrs.datetime_start, row.datetime_start, `${at} datetime_start`);
    assert.equal(run.attrs.datetime_complete, row.datetime_complete, `${at} datetime_complete`);
    let params = 0;
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('params_') && mapper.param(k.slice(7)) === 'seed') {
        // a seed suggested as a parameter (sst2-seeds) is the run's seed, not a hyperparameter
        assert.strictEqual(run.seed, v, `${at} ${k}`);
      } else if (k.startsWith('params_')) {
        if (v !== null) params++;
        assert.strictEqual(run.params[mapper.param(k.slice(7))] ?? null, v, `${at} ${k}`);
      } else if (k === 'value') {
        assert.strictEqual(run.metrics[metricNames[0]], v, `${at} value`);
      } else if (/^values_\d+$/.test(k)) {
        assert.strictEqual(run.metrics[metricNames[Number(k.slice(7))]], v, `${at} ${k}`);
      } else if (k === 'user_attrs_seed') {
        assert.strictEqual(run.seed, v, `${at} seed`);
      } else if (k.startsWith('user_attrs_')) {
        assert.strictEqual(run.metrics[mapper.metric(k.slice(11))] ?? null, v, `${at} ${k}`);
      } else if (k.startsWith('system_attrs_')) {
        assert.deepEqual((run.attrs.system_attrs as Record<string, unknown> | undefined)?.[k.slice(13)] ?? null, v, `${at} ${k}`);
      }
    }
    assert.equal(Object.keys(run.params).length, params, `${at}: no parameter beyond the dataframe's`);
  }
}
