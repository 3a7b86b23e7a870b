import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStudySpec, parseStudySpecText, specHash } from '../../src/study/index.js';
import { UserError } from '../../src/util/index.js';
import { tempDir } from '../helpers.js';

const GOOD = `
name: tiny
model:
  from_config: {dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32}
  tokenizer: ./tok
dataset: {name: sst2, data_dir: ./data, max_train_samples: 32, max_eval_samples: 16}
baseline: {metrics: {accuracy: 0.91, f1: 0.91, loss: 0.39}}
design:
  type: grid
  factors:
    learning_rate: {values: [1.0e-4, 3.0e-4]}
    per_device_train_batch_size: [8, 16]
seeds: [1, 2]
args: {max_seq_length: 32}
store: ./runs/tiny.sqlite
`;

function specError(text: string): string {
  try {
    parseStudySpecText(text, { file: 'spec.yaml', baseDir: '/base' });
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the spec to be rejected');
}

test('a valid spec gets defaults and paths resolved against its folder', () => {
  const s = parseStudySpecText(GOOD, { file: 'spec.yaml', baseDir: '/base' });
  assert.equal(s.name, 'tiny');
  assert.deepEqual(s.model, { kind: 'from_config', config: { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32 }, tokenizer: '/base/tok' });
  assert.equal(s.dataset.data_dir, '/base/data');
  assert.equal(s.store, '/base/runs/tiny.sqlite');
  assert.deepEqual(s.design.factors, [
    { name: 'learning_rate', values: [1e-4, 3e-4] },
    { name: 'per_device_train_batch_size', values: [8, 16] },
  ]);
  assert.deepEqual(s.execution, { workers: 'auto', threads_per_worker: 'auto', oversubscribe: false, checkpoint_every: { epoch: true, minutes: 10 }, keep_checkpoints: false });
  assert.equal(s.analysis.degree, 2);
  assert.deepEqual(s.baseline, { kind: 'metrics', metrics: { accuracy: 0.91, f1: 0.91, loss: 0.39 } });
});

test('errors name the file, line and key path', () => {
  const bad = GOOD.replace('[1.0e-4, 3.0e-4]', '[1.0e-4, 3.0e-4, -2]');
  const m = specError(bad);
  assert.match(m, /spec\.yaml:\d+:\d+: design\.factors\.learning_rate\.values\[2\]: expected a positive number/);
});

test('an unknown key is named with its path', () => {
  const m = specError(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 2]\nworkers: 2'));
  assert.match(m, /workers: unknown key "workers"/);
  const m2 = specError(GOOD.replace('max_eval_samples: 16', 'max_eval_sample: 16'));
  assert.match(m2, /dataset\.max_eval_sample: unknown key "max_eval_sample"/);
});

test('missing required keys and wrong types', () => {
  assert.match(specError(GOOD.replace(/dataset:.*\n/, '')), /dataset: required key is missing/);
  assert.match(specError(GOOD.replace('type: grid', 'type: factorial')), /design\.type: expected one of 'grid', 'random', 'lhs', 'sobol'/);
  assert.match(specError(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 2.5]')), /seeds\[1\]: expected an integer seed/);
  assert.match(specError(GOOD.replace('max_train_samples: 32', 'max_train_samples: 0')), /dataset\.max_train_samples: expected a positive integer/);
});

test('design rules: grid levels, n for sampled designs, no seed factor, ranges', () => {
  assert.match(specError(GOOD.replace('[8, 16]', '{min: 8, max: 32}')), /design\.factors\.per_device_train_batch_size: a grid needs `values: \[...\]` or a range with `levels: K`/);
  assert.match(specError(GOOD.replace('type: grid', 'type: lhs')), /design\.n: a lhs design needs n/);
  assert.match(specError(GOOD.replace('per_device_train_batch_size: [8, 16]', 'seed: [1, 2]')), /design\.factors\.seed: the seed is not a factor/);
  assert.match(specError(GOOD.replace('{values: [1.0e-4, 3.0e-4]}', '{min: 1.0e-3, max: 1.0e-4, levels: 3}')), /design\.factors\.learning_rate\.max: expected max > min/);
  assert.match(specError(GOOD.replace('[8, 16]', '[8, 12.5]')), /per_device_train_batch_size\.\[?1\]?: expected a whole number|per_device_train_batch_size\[1\]: expected a whole number/);
  assert.match(specError(GOOD.replace('args: {max_seq_length: 32}', 'args: {learning_rate: 0.1}')), /args\.learning_rate: learning_rate is also a design factor/);
});

test('model and baseline shapes', () => {
  assert.match(specError(GOOD.replace('n_heads: 2', 'n_heads: 3')), /model\.from_config\.n_heads: dim \(16\) must be divisible by n_heads \(3\)/);
  assert.match(specError(GOOD.replace('baseline: {metrics: {accuracy: 0.91, f1: 0.91, loss: 0.39}}', 'baseline: {evaluate: false}')), /baseline: expected one of \{evaluate: true\}/);
  const s = parseStudySpecText(GOOD.replace(/model:\n.*\n.*\n/, 'model: distilbert/distilbert-base-uncased-finetuned-sst-2-english\n'), { baseDir: '/b' });
  assert.deepEqual(s.model, { kind: 'pretrained', id: 'distilbert/distilbert-base-uncased-finetuned-sst-2-english' });
});

test('YAML syntax errors carry line and column; JSON specs work too', () => {
  assert.match(specError('name: x\ndesign: [1, 2\n'), /spec\.yaml:\d+:\d+: /);
  const d = tempDir();
  try {
    const s = parseStudySpecText(GOOD, { baseDir: d.path });
    const json = JSON.stringify({
      name: 'j',
      model: 'distilbert/distilbert-base-uncased',
      dataset: { name: 'sst2' },
      design: { type: 'sobol', n: 8, factors: { learning_rate: { min: 1e-5, max: 1e-3 } } },
    });
    const p = join(d.path, 'spec.json');
    writeFileSync(p, json);
    const j = loadStudySpec(p);
    assert.equal(j.design.type, 'sobol');
    assert.deepEqual(j.design.factors[0], { name: 'learning_rate', min: 1e-5, max: 1e-3, scale: 'log', integer: false });
    assert.equal(j.store, join(d.path, 'runs', 'j.sqlite'));
    assert.ok(s);
    assert.throws(() => loadStudySpec(join(d.path, 'nope.yaml')), /study spec not found/);
  } finally {
    d.cleanup();
  }
});

test('the spec hash ignores execution and analysis settings but not the design', () => {
  const a = parseStudySpecText(GOOD, { baseDir: '/b' });
  const b = parseStudySpecText(GOOD + 'execution: {workers: 1}\nanalysis: {degree: 1}\n', { baseDir: '/b' });
  const c = parseStudySpecText(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 3]'), { baseDir: '/b' });
  assert.equal(specHash(a), specHash(b));
  assert.notEqual(specHash(a), specHash(c));
});

test('data_seeds: HF data_seed values crossed with seeds; in the hash only when set', () => {
  const a = parseStudySpecText(GOOD, { baseDir: '/b' });
  assert.equal(a.data_seeds, null);
  const d = parseStudySpecText(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 2]\ndata_seeds: [5, 6]'), { baseDir: '/b' });
  assert.deepEqual(d.data_seeds, [5, 6]);
  assert.notEqual(specHash(a), specHash(d));
  assert.match(specError(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 2]\ndata_seeds: [5, 5]')), /data_seeds: seeds repeat/);
  assert.match(specError(GOOD.replace('seeds: [1, 2]', 'seeds: [1, 2]\ndata_seeds: [-1]')), /data_seeds\[0\]: expected an integer seed/);
  assert.match(specError(GOOD.replace('args: {max_seq_length: 32}', 'args: {data_seed: 3}')), /args\.data_seed: the data seed comes from `data_seeds:`/);
});
