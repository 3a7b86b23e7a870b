/**
 * Issue 17 (high): NaN/Inf scores never hang. A NaN score used to stall rocAuc for ever (`scores[j] === s` is
 * false for NaN), so `train --learning_rate 1e10`, `evaluate` on NaN weights and a study with such a trial spun at
 * 100 % CPU. Each case runs as a real child process with a deadline far above its normal run time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { computeMetrics, rocAuc, logitsSummary } from '../../src/train/index.js';
import { createTinyModelDir, loadPretrained, savePretrained } from '../../src/model/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { runCli, sharedPath, tempDir } from '../helpers.js';

let t: { path: string; cleanup: () => void };
let modelDir: string;
let dataDir: string;

function toyTsv(n: number): string {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) rows.push(`${i % 2 ? 'a great film' : 'an awful film'} number ${i} .\t${i % 2}`);
  return rows.join('\n') + '\n';
}

before(() => {
  t = tempDir('tunescope-nonfinite-');
  modelDir = createTinyModelDir(join(t.path, 'tiny'), { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32 });
  dataDir = join(t.path, 'toy');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'train.tsv'), toyTsv(16));
  writeFileSync(join(dataDir, 'validation.tsv'), toyTsv(8));
});
after(() => t.cleanup());

test('rocAuc: NaN scores give NaN at once (sklearn raises), ±Inf scores rank as extremes, ties still grouped', () => {
  assert.ok(Number.isNaN(rocAuc([0, 1, 0, 1], [NaN, NaN, NaN, NaN])!));
  assert.ok(Number.isNaN(rocAuc([0, 1, 0, 1], [0.1, NaN, 0.3, 0.9])!));
  assert.equal(rocAuc([0, 1, 0, 1], [-Infinity, Infinity, 0.2, 0.5]), 1);
  assert.equal(rocAuc([0, 1, 0, 1], [Infinity, Infinity, -Infinity, -Infinity]), 0.5);
  assert.equal(rocAuc([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  assert.equal(rocAuc([1, 1], [NaN, 0]), null, 'one class: undefined, as before');
});

test('computeMetrics: NaN / Inf logits are counted and flagged; loss NaN; no metric hangs or throws', () => {
  const labels = [0, 1, 0, 1];
  for (const bad of [NaN, Infinity, -Infinity]) {
    const logits = new Float32Array([bad, bad, 0, 1, 1, 0, bad, 2]);
    const m = computeMetrics(logits, labels, 2);
    assert.equal(m.non_finite, true);
    assert.equal(m.non_finite_logits, 2);
    assert.ok(!Number.isFinite(m.loss), `loss ${m.loss}`);
    assert.ok(m.accuracy >= 0 && m.accuracy <= 1);
    assert.ok(m.warnings.some((w) => /non-finite evaluation: 2 of 4 examples/.test(w)));
    const three = computeMetrics(new Float32Array(12).fill(bad), labels, 3);
    assert.equal(three.non_finite_logits, 4);
    assert.equal(logitsSummary(new Float32Array(8).fill(bad), labels, 2).nonFiniteRows, 4);
  }
  const ok = computeMetrics(new Float32Array([2, 0, 0, 2]), [0, 1], 2);
  assert.equal(ok.non_finite, false);
  assert.equal(ok.non_finite_logits, 0);
});

test('train --learning_rate 1e10 (child process) finishes promptly: stops at the first NaN step, metrics flagged', () => {
  const out = join(t.path, 'diverge');
  const r = runCli(['train', '--model', modelDir, '--dataset', dataDir, '--learning_rate', '1e10', '--per_device_train_batch_size', '4',
    '--num_train_epochs', '20', '--max_seq_length', '16', '--no-token-cache', '--output-dir', out], { timeoutMs: 90_000 });
  assert.equal(r.error, undefined, 'the process hung (killed at the deadline)');
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { non_finite: boolean; non_finite_logits: number; loss: unknown; steps: number; non_finite_step: number; roc_auc: unknown };
  assert.equal(m.non_finite, true);
  assert.equal(m.non_finite_logits, 8);
  assert.equal(m.loss, 'NaN');
  assert.ok(m.steps < 80 && m.non_finite_step === m.steps, `stopped at ${m.non_finite_step} of 80 planned steps`);
  assert.match(r.stderr, /tunescope: warning: non-finite evaluation: 8 of 8 examples .*training stopped at step \d+ of 80/);
  assert.ok(existsSync(join(out, 'metrics.json')));
});

test('evaluate on a checkpoint with NaN weights (child process) finishes with non-finite metrics', async () => {
  const m = await loadPretrained(modelDir, { seed: 1 });
  for (const p of m.parameters.values()) p.data.fill(NaN);
  const nanDir = join(t.path, 'nan-weights');
  savePretrained(nanDir, { config: m.config, parameters: m.parameters, tokenizerDir: m.tokenizerDir });
  const r = runCli(['evaluate', '--model', nanDir, '--dataset', dataDir, '--max_seq_length', '16', '--no-token-cache'], { timeoutMs: 60_000 });
  assert.equal(r.error, undefined, 'the process hung (killed at the deadline)');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { non_finite: boolean; non_finite_logits: number; roc_auc: unknown };
  assert.equal(out.non_finite, true);
  assert.equal(out.non_finite_logits, 8);
  assert.equal(out.roc_auc, 'NaN');
  assert.match(r.stderr, /tunescope: warning: non-finite evaluation/);
});

const HAVE_VOCAB = existsSync(sharedPath('models', 'distilbert-base-uncased', 'vocab.txt'));

test('a study with a diverging trial finishes; the trial is stored done with its non-finite metrics and flagged', { skip: !HAVE_VOCAB && 'needs ../shared' }, async () => {
  const spec = join(t.path, 'nan-study.yaml');
  writeFileSync(spec, `name: nan-study
model:
  from_config: {dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32}
  tokenizer: ${sharedPath('models', 'distilbert-base-uncased')}
dataset: {name: ${dataDir}}
design:
  type: grid
  factors:
    learning_rate: [1.0e-3, 1.0e10]
seeds: [1]
args: {num_train_epochs: 3, max_seq_length: 16, per_device_train_batch_size: 4}
execution: {workers: 1, threads_per_worker: 1}
store: ./runs/nan.sqlite
analysis: {allow_aliased: true}
`);
  const r = runCli(['study', 'run', spec], { timeoutMs: 120_000 });
  assert.equal(r.error, undefined, 'the study hung (killed at the deadline)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /study nan-study: 2\/2 done, 0 failed/);
  assert.match(r.stdout, /non-finite: 1 trial\(s\) ended with NaN\/Inf loss or logits/);
  const s = openSqliteStore(join(t.path, 'runs', 'nan.sqlite'), { readonly: true });
  try {
    const trials = await s.listTrials();
    const bad = trials.find((x) => x.config.learning_rate === 1e10)!;
    const good = trials.find((x) => x.config.learning_rate === 1e-3)!;
    assert.equal(bad.status, 'done');
    assert.ok(Number.isNaN(bad.metrics!.loss!));
    assert.equal(bad.metrics!.non_finite_logits, 8);
    const step = bad.metrics!.non_finite_step!;
    assert.ok(step >= 1 && step < 12, `stopped at step ${step} of 12`);
    assert.equal(good.metrics!.non_finite_logits, 0);
    assert.equal(good.metrics!.non_finite_step, undefined);
  } finally {
    await s.close();
  }
  const st = runCli(['study', 'status', spec]);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /non-finite \w+ \{"learning_rate":10000000000\} seed 1: non-finite evaluation \(loss NaN, 8 of 8 examples/);
});
