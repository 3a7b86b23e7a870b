/** fineTune / evaluateModel / CLI on the real engine with a tiny from-config DistilBERT and a few dozen examples. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTinyModelDir, loadPretrained } from '../../src/model/index.js';
import { fineTune, evaluateModel } from '../../src/train/index.js';
import { tempDir, runCli } from '../helpers.js';

const POS = ['great', 'wonderful', 'excellent', 'moving', 'beautiful', 'brilliant', 'funny', 'charming'];
const NEG = ['awful', 'terrible', 'boring', 'dull', 'stupid', 'bad', 'tedious', 'ugly'];

let t: { path: string; cleanup: () => void };
let modelDir: string;
let dataDir: string;

function sentences(n: number, offset: number): string {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const words = y ? POS : NEG;
    const w = (k: number): string => words[(i * 3 + k + offset) % words.length]!;
    rows.push(`a ${w(0)} film , really ${w(1)}${i % 3 === 0 ? ` and ${w(2)}` : ''} .\t${y}`);
  }
  return rows.join('\n') + '\n';
}

before(() => {
  t = tempDir();
  modelDir = createTinyModelDir(join(t.path, 'tiny'), { dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, max_position_embeddings: 64 });
  dataDir = join(t.path, 'toy');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'train.tsv'), sentences(48, 0));
  writeFileSync(join(dataDir, 'validation.tsv'), sentences(16, 1));
});
after(() => t.cleanup());

const base = { per_device_train_batch_size: 8, num_train_epochs: 4, learning_rate: 1e-2, max_seq_length: 32, warmup_ratio: 0.1 };

test('fine-tuning a tiny model on separable data lowers the loss; same seed same curve, other seed differs', async () => {
  const cache = join(t.path, 'tokens');
  const a = await fineTune({ model: modelDir, dataset: { name: dataDir }, args: { ...base, seed: 1 }, tokenCacheDir: cache, quiet: true });
  assert.equal(a.steps, 24);
  assert.equal(a.epochs.length, 4);
  assert.ok(a.epochs[3]!.train_loss < a.epochs[0]!.train_loss, `train loss ${a.epochs.map((e) => e.train_loss)}`);
  assert.ok(a.final.accuracy >= 0.75, `accuracy ${a.final.accuracy}`);
  assert.ok(a.notes.some((n) => /initialised from config/.test(n)));
  const b = await fineTune({ model: modelDir, dataset: { name: dataDir }, args: { ...base, seed: 1 }, tokenCacheDir: cache, quiet: true });
  assert.deepEqual(b.log_history.map((l) => l.loss), a.log_history.map((l) => l.loss));
  assert.equal(b.final.loss, a.final.loss);
  const c = await fineTune({ model: modelDir, dataset: { name: dataDir }, args: { ...base, seed: 2 }, tokenCacheDir: cache, quiet: true });
  assert.notDeepEqual(c.log_history.map((l) => l.loss), a.log_history.map((l) => l.loss));
});

test('save at the end (and per epoch) in HF format; reloading reproduces the final metrics', async () => {
  const out = join(t.path, 'run');
  const r = await fineTune({
    model: modelDir, dataset: { name: dataDir }, tokenCacheDir: null, quiet: true,
    args: { ...base, num_train_epochs: 2, seed: 3, output_dir: out, save_strategy: 'epoch' },
  });
  for (const f of ['config.json', 'model.safetensors', 'metrics.json', 'trainer_state.json', 'training_args.json']) assert.ok(existsSync(join(out, f)), f);
  assert.ok(existsSync(join(out, 'checkpoint-6', 'model.safetensors')));
  assert.ok(existsSync(join(out, 'checkpoint-12', 'model.safetensors')));
  const state = JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8')) as { global_step: number; log_history: { eval_accuracy?: number }[] };
  assert.equal(state.global_step, 12);
  assert.equal(state.log_history.filter((l) => l.eval_accuracy !== undefined).length, 2);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { eval_accuracy: number };
  assert.equal(metrics.eval_accuracy, r.final.accuracy);
  const reloaded = await loadPretrained(out);
  assert.ok(reloaded.notes.every((n) => !/initialised/.test(n)));
  const ev = await evaluateModel({ model: out, dataset: { name: dataDir }, args: { max_seq_length: 32 }, tokenCacheDir: null });
  assert.equal(ev.accuracy, r.final.accuracy);
  assert.ok(Math.abs(ev.loss - r.final.loss) < 1e-6, `${ev.loss} vs ${r.final.loss}`);
});

test('labels beyond the head are a clear error', async () => {
  const d = join(t.path, 'three');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'train.tsv'), 'sentence\tlabel\na\t0\nb\t2\n');
  writeFileSync(join(d, 'validation.tsv'), 'sentence\tlabel\nc\t1\n');
  await assert.rejects(fineTune({ model: modelDir, dataset: { name: d }, args: {}, quiet: true }), /label ids up to 2.*num_labels=2; pass --num_labels 3/);
});

test('bad run settings fail before training: output_dir blocked by a file, num_labels < 2, max_train_samples < 1', async () => {
  const file = join(t.path, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(fineTune({ model: modelDir, dataset: { name: dataDir }, args: { output_dir: join(file, 'run') }, quiet: true }),
    (e: Error) => e.name === 'UserError' && /^output_dir: cannot create the folder .*a-file\/run \(a file is in the way\)$/.test(e.message));
  await assert.rejects(fineTune({ model: modelDir, dataset: { name: dataDir }, args: {}, numLabels: 0, quiet: true }),
    (e: Error) => e.name === 'UserError' && /^num_labels must be an integer >= 2/.test(e.message));
  await assert.rejects(fineTune({ model: modelDir, dataset: { name: dataDir, maxTrainSamples: -5 }, args: {}, quiet: true }),
    (e: Error) => e.name === 'UserError' && e.message === 'max_train_samples must be a positive integer, got -5');
  // --json into a folder that cannot be created: one line, exit 2, before any training
  const r = runCli(['train', '--model', modelDir, '--dataset', dataDir, '--json', join(file, 'r.json')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^tunescope: error: --json .*a-file\/r\.json: cannot create the folder [^\n]*$/);
});

test('CLI: train prints metrics JSON and writes output-dir files; evaluate; bad flags exit 2', () => {
  const out = join(t.path, 'cli-run');
  const r = runCli(['train', '--model', modelDir, '--dataset', dataDir, '--learning-rate', '3e-3', '--per_device_train_batch_size', '8',
    '--num_train_epochs', '1', '--max_seq_length', '32', '--seed', '5', '--output-dir', out, '--no-token-cache']);
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { accuracy: number; steps: number; f1: number };
  assert.equal(m.steps, 6);
  assert.ok(m.accuracy >= 0 && m.accuracy <= 1);
  assert.ok(existsSync(join(out, 'metrics.json')) && existsSync(join(out, 'model.safetensors')));
  const e = runCli(['evaluate', '--model', out, '--dataset', dataDir, '--max_seq_length', '32', '--no-token-cache']);
  assert.equal(e.status, 0, e.stderr);
  assert.doesNotMatch(e.stderr, /initialised from config/);
  // a config-only folder is evaluated at random initialisation: evaluate says so on stderr
  const fresh = runCli(['evaluate', '--model', modelDir, '--dataset', dataDir, '--max_seq_length', '32', '--no-token-cache']);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.match(fresh.stderr, /^tunescope: note: no weights in .*: initialised from config\.json with seed 42/m);
  assert.equal((JSON.parse(e.stdout) as { accuracy: number }).accuracy, m.accuracy);
  const bad = runCli(['train', '--model', modelDir, '--dataset', dataDir, '--learning_rate', '-1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /tunescope: error: training argument learning_rate: must be > 0/);
  const badData = runCli(['train', '--model', modelDir, '--dataset', join(t.path, 'nope')]);
  assert.equal(badData.status, 2);
  assert.match(badData.stderr, /tunescope: error: dataset .* not found/);
});
