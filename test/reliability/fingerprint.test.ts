/**
 * Issue 17 (medium): dataset fingerprints. Before: replacing or truncating a split file while a study ran let
 * trials finish "done" on other data (99 training rows where 300 were asked) without a word. Now the study records
 * a content hash of each split file and of the examples used; a trial or a run on other data is refused naming
 * the file, and `study status` shows the fingerprints.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, fingerprintMismatch } from '../../src/data/index.js';
import { runTrial } from '../../src/study/trainer-runner.js';
import { createTinyModelDir } from '../../src/model/index.js';
import { runCli, sharedPath, tempDir } from '../helpers.js';

let t: { path: string; cleanup: () => void };
let dataDir: string;
const tsv = (n: number) => ['sentence\tlabel', ...Array.from({ length: n }, (_, i) => `${i % 2 ? 'good' : 'bad'} film ${i} .\t${i % 2}`)].join('\n') + '\n';

before(() => {
  t = tempDir('tunescope-fp-');
  dataDir = join(t.path, 'toy');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'train.tsv'), tsv(24));
  writeFileSync(join(dataDir, 'validation.tsv'), tsv(8));
});
after(() => t.cleanup());

test('fingerprints: file hashes and the subsample used; a truncated file or another subsample is named', async () => {
  const a = (await loadDataset({ name: dataDir, maxTrainSamples: 16 })).fingerprint!;
  assert.deepEqual(a.files.map((f) => [f.split, f.path.endsWith('train.tsv') || f.path.endsWith('validation.tsv')]), [['train', true], ['eval', true]]);
  assert.equal(a.train.examples, 16);
  assert.equal(fingerprintMismatch(a, (await loadDataset({ name: dataDir, maxTrainSamples: 16 })).fingerprint!), null);
  assert.match(fingerprintMismatch(a, (await loadDataset({ name: dataDir, maxTrainSamples: 12 })).fingerprint!)!, /training examples used differ .*16 → 12 examples/);
  const copy = join(t.path, 'copy');
  mkdirSync(copy);
  writeFileSync(join(copy, 'train.tsv'), tsv(24));
  writeFileSync(join(copy, 'validation.tsv'), tsv(8));
  const b = (await loadDataset({ name: copy })).fingerprint!;
  writeFileSync(join(copy, 'train.tsv'), tsv(10)); // truncated at a line end: still a valid file
  const c = (await loadDataset({ name: copy })).fingerprint!;
  assert.match(fingerprintMismatch(b, c)!, /copy\/train\.tsv changed since the study started \(\d+ → \d+ bytes, sha256/);
});

const TOK = sharedPath('models', 'distilbert-base-uncased');

test('a trial whose data changed is refused naming the file (runner level)', { skip: !existsSync(TOK) && 'needs ../shared' }, async () => {
  const d = join(t.path, 'trial-data');
  mkdirSync(d);
  writeFileSync(join(d, 'train.tsv'), tsv(24));
  writeFileSync(join(d, 'validation.tsv'), tsv(8));
  const fp = (await loadDataset({ name: d })).fingerprint!;
  writeFileSync(join(d, 'validation.tsv'), tsv(5)); // truncated while the study runs
  const model = createTinyModelDir(join(t.path, 'm'), { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32 });
  const ctx = { signal: new AbortController().signal, threads: 1, worker: 'w1', onProgress: () => {} };
  const task = { id: 't', kind: 'train' as const, config: {}, seed: 1, dataSeed: null, model, dataset: { name: d }, args: { max_seq_length: 16 }, dataFingerprint: fp };
  await assert.rejects(runTrial(task, ctx), /^UserError: dataset refused: .*trial-data\/validation\.tsv changed since the study started/);
  await assert.rejects(runTrial({ ...task, kind: 'evaluate' }, ctx), /dataset refused: .*validation\.tsv changed/);
});

test('study: the fingerprint is recorded and shown; a rerun on a changed file is one error naming it', { skip: !existsSync(TOK) && 'needs ../shared' }, () => {
  const spec = join(t.path, 'fp.yaml');
  writeFileSync(spec, `name: fp
model:
  from_config: {dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32}
  tokenizer: ${TOK}
dataset: {name: ${dataDir}, max_train_samples: 16}
design:
  type: grid
  factors:
    adam_beta1: [0.9, 1.5]
seeds: [1]
args: {num_train_epochs: 1, max_seq_length: 16, per_device_train_batch_size: 8}
execution: {workers: 1, threads_per_worker: 1}
analysis: {allow_aliased: true}
store: ./runs/fp.sqlite
`);
  const r = runCli(['study', 'run', spec]);
  assert.match(r.stdout, /1\/2 done, 1 failed/, r.stderr);
  const st = runCli(['study', 'status', spec]);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /dataset fingerprint \(checked before every trial\): train \S+toy\/train\.tsv \d+ bytes sha256 [0-9a-f]{16}; eval \S+validation\.tsv/);
  assert.match(st.stdout, /examples used: train 16 \(sha256 [0-9a-f]{16}\), eval 8/);
  const original = readFileSync(join(dataDir, 'train.tsv'), 'utf8');
  writeFileSync(join(dataDir, 'train.tsv'), tsv(20)); // truncated at a line end: a valid file with other data
  const again = runCli(['study', 'run', spec, '--retry-failed']);
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /^tunescope: error: .*fp\.yaml: dataset: \S+toy\/train\.tsv changed since the study started \(\d+ → \d+ bytes[^\n]*restore it, or start a new study[^\n]*\n$/);
  writeFileSync(join(dataDir, 'train.tsv'), original);
});
