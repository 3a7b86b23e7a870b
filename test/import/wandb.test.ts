/** W&B run folders and a sweep's runs-table CSV (fixtures/wandb/make.py: W&B's file formats, HF's WandbCallback names). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importSources, parseSourceArgs } from '../../src/import/index.js';
import { ROOT } from '../helpers.js';

const FIX = join(ROOT, 'test/import/fixtures/wandb');

test('run folders: config.yaml {value: …} (with and without desc), wandb-summary.json; latest-run symlink not doubled; a cut summary is a warning', async () => {
  const specs = await parseSourceArgs([join(FIX, 'wandb')]);
  assert.deepEqual(specs.map((s) => s.kind), ['wandb']);
  const r = await importSources(specs);
  assert.deepEqual(r.runs.map((x) => [x.runId, x.state]), [['e5f6g7h8', 'complete'], ['a1b2c3d4', 'complete'], ['broken1', 'running']]);
  const a = r.runs[1];
  assert.deepEqual(
    { lr: a.params.learning_rate, bs: a.params.per_device_train_batch_size, ep: a.params.num_train_epochs, wd: a.params.weight_decay, seed: a.seed, data_seed: a.dataSeed },
    { lr: 2e-5, bs: 16, ep: 2, wd: 0.01, seed: 42, data_seed: 3 },
  );
  assert.deepEqual({ ...a.metrics }, { accuracy: 0.9071, f1: 0.9088, loss: 0.2712, train_loss: 0.4183, train_seconds: 812.5, examples_per_second: 19.69 });
  assert.equal(a.provenance.accuracy, 'wandb-summary.json');
  assert.equal(a.provenance.learning_rate, 'config.yaml');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0].file, /broken1\/files\/wandb-summary\.json$/);
  assert.ok(r.warnings[0].line! > 1);
  assert.deepEqual(r.mappings.map((m) => `${m.from}→${m.to}`), ['eval/accuracy→accuracy', 'eval/f1→f1', 'eval/loss→loss', 'train/train_loss→train_loss']);
});

test('runs-table CSV export: meta columns as attrs, config as hyperparameters, summary as metrics, crashed = failed', async () => {
  const specs = await parseSourceArgs([join(FIX, 'sweep-runs.csv')]);
  assert.deepEqual(specs.map((s) => s.kind), ['wandb']);
  const r = await importSources(specs);
  assert.deepEqual(r.runs.map((x) => [x.runId, x.state, x.group]), [
    ['sweet-sweep-1', 'complete', 'sweep abc123'], ['lively-sweep-2', 'complete', 'sweep abc123'], ['brisk-sweep-3', 'failed', 'sweep abc123'], ['calm-sweep-4', 'complete', 'sweep abc123'],
  ]);
  const d = r.runs[3];
  assert.deepEqual(d.params, { learning_rate: 3e-5, per_device_train_batch_size: 16, num_train_epochs: 3 });
  assert.equal(d.seed, 43);
  assert.deepEqual(d.metrics, { accuracy: 0.9083, f1: 0.9097, loss: 0.2699, train_loss: 0.4011 });
  assert.equal(d.provenance.accuracy, 'column "eval/accuracy"');
  assert.equal(d.attrs.user, 'researcher');
  assert.equal(r.runs[2].metrics.accuracy, null);
});
