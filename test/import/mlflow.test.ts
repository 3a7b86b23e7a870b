/** MLflow file store and SQLite backend (fixtures/mlflow/make.py: MLflow's layouts): params, latest metrics, history, states, a bad metric line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importSources, parseSourceArgs, type ImportedRun } from '../../src/import/index.js';
import { ROOT } from '../helpers.js';

const FIX = join(ROOT, 'test/import/fixtures/mlflow');

function check(runs: ImportedRun[]): void {
  assert.deepEqual(runs.map((r) => [r.runId.slice(0, 4), r.state, r.group]), [['0a1b', 'complete', 'sst2-distilbert'], ['1b2c', 'complete', 'sst2-distilbert'], ['2c3d', 'failed', 'sst2-distilbert']]);
  const [a, b, c] = runs;
  assert.deepEqual(a.params, { learning_rate: 2e-5, per_device_train_batch_size: 16, num_train_epochs: 2, lr_scheduler_type: 'linear', fp16: 'False' });
  assert.equal(a.seed, 42);
  assert.equal(a.dataSeed, 7);
  // latest by step: the second epoch's evaluation; HF's training `loss` beside eval_loss is the training loss
  assert.deepEqual(a.metrics, { accuracy: 0.9037, f1: 0.905, loss: 0.27, train_loss: 0.39999999999999997 });
  assert.deepEqual(a.history.map((h) => [h.step, h.values.accuracy, h.values.loss]), [[125, 0.89, 0.29], [250, 0.9037, 0.27]]);
  assert.equal(b.metrics.f1, 0.9002);
  assert.equal(c.metrics.accuracy, 0.5);
  assert.equal(a.attrs.run_name, 'lr2e-5-bs16');
}

test('file store: experiments, runs, params/metrics/tags files; deleted run left out with a count; a bad metric line is a warning with its line', async () => {
  const specs = await parseSourceArgs([join(FIX, 'mlruns')]);
  assert.deepEqual(specs.map((s) => s.kind), ['mlflow']);
  const r = await importSources(specs);
  check(r.runs);
  assert.match(r.runs[0].provenance.accuracy, /^metrics\/eval_accuracy \(latest of 2, step 250\)$/);
  assert.equal(r.runs[0].provenance.learning_rate, 'params/learning_rate');
  assert.ok(r.notes.some((n) => /left out 1 deleted run/.test(n)));
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0].file, /1b2c3d4e5f60718293a4b5c6d7e8f9a0\/metrics\/eval_f1$/);
  assert.equal(r.warnings[0].line, 2);
  assert.match(r.warnings[0].message, /bad metric line "1733050090000 0\.9x 190"/);
  await assert.rejects(importSources(specs, { study: 'nope' }), /no MLflow experiment named "nope" \(experiments: Default, sst2-distilbert\)/);
});

test('SQLite backend: the same runs from experiments/runs/params/metrics tables', async () => {
  const specs = await parseSourceArgs([`sqlite:///${join(FIX, 'mlflow.db')}`]);
  assert.deepEqual(specs.map((s) => s.kind), ['mlflow']);
  const r = await importSources(specs, { study: 'sst2-distilbert' });
  check(r.runs);
  assert.equal(r.runs[0].provenance.learning_rate, 'params.learning_rate');
  assert.deepEqual(r.warnings, []);
});
