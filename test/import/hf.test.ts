/** HF Trainer output folders (fixtures/hf/make.py: HF's file layouts): card, results files, trainer_state, checkpoints, hp-search trials. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importSources } from '../../src/import/index.js';
import { ROOT } from '../helpers.js';

const HF = join(ROOT, 'test/import/fixtures/hf');
const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(HF, p), 'utf8')) as Record<string, unknown>;

test('a full Trainer output folder: hyperparameters from the card, metrics from eval/all/train_results.json, history and checkpoints from trainer_state.json', async () => {
  const r = await importSources([{ kind: 'hf', location: join(HF, 'finetuned') }]);
  assert.equal(r.runs.length, 1);
  const run = r.runs[0];
  const ev = json('finetuned/eval_results.json');
  assert.equal(run.state, 'complete');
  assert.deepEqual(run.params, { learning_rate: 2e-5, per_device_train_batch_size: 32, per_device_eval_batch_size: 32, num_train_epochs: 2, lr_scheduler_type: 'linear' });
  assert.equal(run.seed, 42);
  assert.equal(run.provenance.learning_rate, 'README.md text');
  // full precision from eval_results.json, not the card's rounded "Accuracy: 0.9037"
  assert.equal(run.metrics.accuracy, ev.eval_accuracy);
  assert.equal(run.metrics.f1, ev.eval_f1);
  assert.equal(run.metrics.loss, ev.eval_loss);
  assert.equal(run.provenance.accuracy, 'eval_results.json');
  const all = json('finetuned/all_results.json');
  assert.equal(run.metrics.train_loss, all.train_loss);
  assert.equal(run.metrics.train_seconds, all.train_runtime);
  assert.equal(run.metrics.examples_per_second, all.train_samples_per_second);
  assert.equal(run.metrics.eval_runtime, undefined);
  // per-epoch evaluations of log_history, names mapped as the final metrics
  const state = json('finetuned/trainer_state.json') as { log_history: Record<string, number>[] };
  const evals = state.log_history.filter((e) => 'eval_loss' in e);
  assert.deepEqual(run.history, evals.map((e) => ({ step: e.step, epoch: e.epoch, values: { accuracy: e.eval_accuracy, f1: e.eval_f1, loss: e.eval_loss } })));
  assert.deepEqual(run.attrs.checkpoints, [{ checkpoint: 'checkpoint-250', global_step: 250, epoch: 1, metrics: { eval_accuracy: evals[0].eval_accuracy, eval_f1: evals[0].eval_f1, eval_loss: evals[0].eval_loss } }]);
  assert.deepEqual((run.attrs.model as Record<string, unknown>).labels, ['NEGATIVE', 'POSITIVE']);
  assert.equal((run.attrs.model as Record<string, unknown>).model_type, 'distilbert');
  assert.equal((run.attrs.card as Record<string, unknown>).base_model, 'distilbert-base-uncased');
  assert.ok(r.notes.some((n) => /training_args\.bin is a pickle .* never loaded/.test(n)));
});

test('hyperparameter_search trials (run-N/checkpoint-*/ only): trial_params and the last checkpoint; a broken file is a warning with its line; the bin note once', async () => {
  const r = await importSources([{ kind: 'hf', location: HF }]);
  assert.deepEqual(r.runs.map((x) => x.runId), ['finetuned', 'sweep/run-0', 'sweep/run-1']);
  const t0 = r.runs[1];
  const st = json('sweep/run-0/checkpoint-250/trainer_state.json') as { trial_params: Record<string, number>; log_history: Record<string, number>[] };
  assert.deepEqual({ ...t0.params, seed: t0.seed }, st.trial_params);
  assert.equal(t0.provenance.learning_rate, 'checkpoint-250/trainer_state.json trial_params');
  const last = st.log_history.filter((e) => 'eval_accuracy' in e).at(-1)!;
  assert.equal(t0.metrics.accuracy, last.eval_accuracy);
  assert.equal(t0.provenance.accuracy, `checkpoint-250/trainer_state.json log_history step ${last.step}`);
  assert.equal(t0.state, 'complete');
  assert.equal((t0.attrs.checkpoints as unknown[]).length, 2);
  assert.equal(r.warnings.length, 2);
  assert.equal(r.warnings[0].file, join(HF, 'broken/trainer_state.json'));
  assert.equal(r.warnings[0].line, readFileSync(join(HF, 'broken/trainer_state.json'), 'utf8').split('\n').length);
  assert.match(r.warnings[0].message, /unreadable JSON/);
  assert.match(r.warnings[1].message, /run left out/);
  assert.equal(r.notes.filter((n) => /training_args\.bin/.test(n)).length, 1);
});
