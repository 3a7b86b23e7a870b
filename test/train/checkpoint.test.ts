/**
 * Checkpoints and resume on the real engine with a tiny from-config DistilBERT (dropout on): trainer_state.json
 * as HF's TrainerState.load_from_json reads it, save_total_limit rotation, a resume that is bit-identical to the
 * uninterrupted run, an interrupted save, and a real SIGKILL of a `tunescope train` child between checkpoints.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTinyModelDir } from '../../src/model/index.js';
import { fineTune, latestCheckpoint, listCheckpoints, writeCheckpointDir, CHECKPOINT_FILES, type FineTuneResult } from '../../src/train/index.js';
import { runCli, spawnCli, tempDir } from '../helpers.js';

const POS = ['great', 'wonderful', 'excellent', 'moving', 'beautiful', 'brilliant', 'funny', 'charming'];
const NEG = ['awful', 'terrible', 'boring', 'dull', 'stupid', 'bad', 'tedious', 'ugly'];
function sentences(n: number, offset: number): string {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const w = (k: number): string => (y ? POS : NEG)[(i * 3 + k + offset) % 8]!;
    rows.push(`a ${w(0)} film , really ${w(1)}${i % 3 === 0 ? ` and ${w(2)} , ${w(3)}` : ''} .\t${y}`);
  }
  return rows.join('\n') + '\n';
}

/**
 * transformers 4.55 TrainerState: every dataclass field with the JSON types it takes. load_from_json is
 * `cls(**json.loads(text))`: a key that is not a field raises TypeError, a missing one takes its default.
 */
const HF_TRAINER_STATE_FIELDS: Record<string, (v: unknown) => boolean> = {
  epoch: (v) => v === null || typeof v === 'number',
  global_step: Number.isInteger,
  max_steps: Number.isInteger,
  logging_steps: (v) => typeof v === 'number',
  eval_steps: (v) => typeof v === 'number',
  save_steps: (v) => typeof v === 'number',
  train_batch_size: (v) => v === null || Number.isInteger(v),
  num_train_epochs: Number.isInteger,
  num_input_tokens_seen: Number.isInteger,
  total_flos: (v) => typeof v === 'number',
  log_history: (v) => Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null && Object.values(e).every((x) => typeof x === 'number')),
  best_metric: (v) => v === null || typeof v === 'number',
  best_global_step: (v) => v === null || Number.isInteger(v),
  best_model_checkpoint: (v) => v === null || typeof v === 'string',
  is_local_process_zero: (v) => typeof v === 'boolean',
  is_world_process_zero: (v) => typeof v === 'boolean',
  is_hyper_param_search: (v) => typeof v === 'boolean',
  trial_name: (v) => v === null || typeof v === 'string',
  trial_params: (v) => v === null || typeof v === 'object',
  // loaded as a dict: {callback class name: {"args": {...}, "attributes": {...}}}
  stateful_callbacks: (v) => typeof v === 'object' && v !== null && Object.values(v).every((c) => typeof c === 'object' && c !== null && 'args' in c && 'attributes' in c),
};
function hfLoadFromJson(text: string): Record<string, unknown> {
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const [k, v] of Object.entries(json)) {
    const check = HF_TRAINER_STATE_FIELDS[k];
    if (!check) throw new TypeError(`TrainerState.__init__() got an unexpected keyword argument '${k}'`);
    assert.ok(check(v), `${k}: ${JSON.stringify(v).slice(0, 80)}`);
  }
  return json;
}

let t: { path: string; cleanup: () => void };
let modelDir: string;
let dataDir: string;
before(() => {
  t = tempDir();
  modelDir = createTinyModelDir(join(t.path, 'tiny'), { dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, max_position_embeddings: 64 });
  dataDir = join(t.path, 'toy');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'train.tsv'), sentences(40, 0));
  writeFileSync(join(dataDir, 'validation.tsv'), sentences(12, 1));
});
after(() => t.cleanup());

// 10 batches per epoch, 3 per step: 4 optimizer steps per epoch, the last one a partial accumulation of 1 batch
const base = { per_device_train_batch_size: 4, gradient_accumulation_steps: 3, num_train_epochs: 3, learning_rate: 5e-3, max_seq_length: 32, warmup_ratio: 0.2, weight_decay: 0.01, seed: 7, group_by_length: true };
const run = (args: Record<string, unknown>): Promise<FineTuneResult> =>
  fineTune({ model: modelDir, dataset: { name: dataDir }, args: { ...base, ...args }, tokenCacheDir: null, quiet: true });
const withoutTimes = (log: Record<string, number>[]): Record<string, number>[] =>
  log.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !/runtime|per_second/.test(k))));
const state = (dir: string): Record<string, unknown> => hfLoadFromJson(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));

let full: FineTuneResult;
let fullDir: string;
before(async () => {
  fullDir = join(t.path, 'full');
  full = await run({ output_dir: fullDir, save_strategy: 'steps', save_steps: 2, intra_op_num_threads: 1 });
});

test('trainer_state.json has only HF TrainerState fields and HF-named log entries; our extras are a separate file', () => {
  assert.throws(() => hfLoadFromJson(JSON.stringify({ global_step: 1, epochs: [] })), /unexpected keyword argument 'epochs'/);
  const s = state(fullDir);
  assert.equal(s.global_step, 12);
  assert.equal(s.max_steps, 12);
  assert.equal(s.num_train_epochs, 3);
  assert.equal(s.train_batch_size, 4);
  assert.equal(s.save_steps, 2);
  assert.ok((s.total_flos as number) > 0);
  const log = s.log_history as Record<string, number>[];
  const steps = log.filter((e) => 'loss' in e);
  assert.equal(steps.length, 12);
  for (const e of steps) assert.deepEqual(Object.keys(e).sort(), ['epoch', 'grad_norm', 'learning_rate', 'loss', 'step']);
  const evals = log.filter((e) => 'eval_loss' in e);
  assert.equal(evals.length, 3);
  for (const e of evals) for (const k of ['eval_accuracy', 'eval_f1', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second', 'epoch', 'step']) assert.ok(k in e, k);
  assert.deepEqual(Object.keys(log.at(-1)!).sort(), ['epoch', 'step', 'total_flos', 'train_loss', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second']);
  assert.equal(log.at(-1)!.train_loss, full.train_loss);
  // the epoch-end evaluation follows its step's training log, as HF logs them
  assert.equal(log.indexOf(evals[0]!), log.indexOf(steps.find((e) => e.step === 4)!) + 1);
  assert.ok(existsSync(join(fullDir, 'tunescope_run.json')));
  for (const c of listCheckpoints(fullDir)) hfLoadFromJson(readFileSync(join(c.path, 'trainer_state.json'), 'utf8'));
});

test('save_strategy steps: checkpoint-<step>/ every save_steps and at the end, each a complete resumable HF folder', () => {
  assert.deepEqual(listCheckpoints(fullDir).map((c) => c.step), [2, 4, 6, 8, 10, 12]);
  for (const c of listCheckpoints(fullDir)) for (const f of [...CHECKPOINT_FILES, 'vocab.txt']) assert.ok(existsSync(join(c.path, f)), `${c.path}/${f}`);
  const rng = JSON.parse(readFileSync(join(fullDir, 'checkpoint-6', 'rng_state.json'), 'utf8')) as { sampler: { epoch: number; batches_consumed: number }; dropout: { draws: number; state: number[] } };
  // step 6 = epoch 2 (index 1) after its 2nd step: 6 of its 10 micro-batches; 10 + 6 = 16 dropout seeds drawn
  assert.deepEqual(rng.sampler.epoch, 1);
  assert.equal(rng.sampler.batches_consumed, 6);
  assert.equal(rng.dropout.draws, 16);
  const sched = JSON.parse(readFileSync(join(fullDir, 'checkpoint-6', 'scheduler.json'), 'utf8')) as { last_epoch: number; _last_lr: number[] };
  assert.equal(sched.last_epoch, 6);
  assert.equal(sched._last_lr[0], full.log_history[6]!.learning_rate);
});

test('save_total_limit keeps the newest checkpoints (HF rotation)', async () => {
  const dir = join(t.path, 'rotated');
  const r = await run({ output_dir: dir, save_strategy: 'steps', save_steps: 3, save_total_limit: 2, intra_op_num_threads: 1, num_train_epochs: 2 });
  assert.equal(r.steps, 8);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [6, 8]);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp folders left');
});

test('resume from a mid-epoch or an epoch-end checkpoint is bit-identical to the uninterrupted run: every step, the weights, the metrics', async () => {
  for (const from of [6, 8]) {
    const dir = join(t.path, `resumed-${from}`);
    mkdirSync(dir);
    cpSync(join(fullDir, `checkpoint-${from}`), join(dir, `checkpoint-${from}`), { recursive: true });
    const r = await run({ output_dir: dir, save_strategy: 'steps', save_steps: 2, intra_op_num_threads: 1, resume_from_checkpoint: 'latest' });
    assert.equal(r.resumed_from, join(dir, `checkpoint-${from}`));
    assert.deepEqual(r.log_history, full.log_history);
    assert.deepEqual(r.final, full.final);
    assert.equal(r.train_loss, full.train_loss);
    assert.deepEqual(r.epochs.map((e) => ({ ...e, seconds: 0, eval_seconds: 0 })), full.epochs.map((e) => ({ ...e, seconds: 0, eval_seconds: 0 })));
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fullDir, 'model.safetensors'))), 'final weights bit for bit');
    assert.ok(readFileSync(join(dir, 'checkpoint-12', 'optimizer.safetensors')).equals(readFileSync(join(fullDir, 'checkpoint-12', 'optimizer.safetensors'))), 'optimizer state bit for bit');
    assert.deepEqual(withoutTimes(state(dir).log_history as Record<string, number>[]), withoutTimes(state(fullDir).log_history as Record<string, number>[]));
  }
});

test('a resume with other run-defining arguments or data is one clear error', async () => {
  const ck = join(fullDir, 'checkpoint-2');
  await assert.rejects(run({ learning_rate: 1e-3, resume_from_checkpoint: ck }), (e: Error) => e.name === 'UserError' && /arguments differ from the checkpoint's \(learning_rate: 0\.005 → 0\.001\)/.test(e.message));
  await assert.rejects(run({ resume_from_checkpoint: join(t.path, 'nope') }), /no such folder/);
  await assert.rejects(run({ resume_from_checkpoint: 'latest' }), /'latest' needs output_dir/);
});

test('an interrupted checkpoint write leaves the previous checkpoint usable', async () => {
  const dir = join(t.path, 'interrupted');
  mkdirSync(dir);
  cpSync(join(fullDir, 'checkpoint-2'), join(dir, 'checkpoint-2'), { recursive: true });
  // a save that fails half-way (disk full, …): nothing published, the temp folder removed
  assert.throws(() => writeCheckpointDir(dir, 6, (tmp) => {
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'model.safetensors'), 'half');
    throw new Error('ENOSPC');
  }), /cannot write/);
  // a save killed by SIGKILL leaves its temp folder (the rename never happened): ignored by latest
  mkdirSync(join(dir, '.checkpoint-6.tmp-99999-x'));
  writeFileSync(join(dir, '.checkpoint-6.tmp-99999-x', 'model.safetensors'), 'half');
  assert.equal(latestCheckpoint(dir), join(dir, 'checkpoint-2'));
  const r = await run({ output_dir: dir, save_strategy: 'steps', save_steps: 2, intra_op_num_threads: 1, resume_from_checkpoint: 'latest' });
  assert.deepEqual(r.log_history, full.log_history);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'the next save removed the leftover');
});

test('SIGKILL of a `tunescope train` child between checkpoints, then --resume_from_checkpoint latest: bit-identical', async () => {
  const out = join(t.path, 'killed');
  const args = { ...base, num_train_epochs: 4, save_strategy: 'steps', save_steps: 1, intra_op_num_threads: 1 };
  const flags = ['train', '--model', modelDir, '--dataset', dataDir, '--no-token-cache', '--output_dir', out, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const { child, exited } = spawnCli(flags, { stdio: 'ignore' });
  // kill as soon as a few checkpoints exist (possibly in the middle of writing the next one)
  while (!existsSync(join(out, 'checkpoint-3'))) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  assert.equal((await exited).signal, 'SIGKILL');
  assert.ok(!existsSync(join(out, 'trainer_state.json')), 'killed before the end of training');
  const killedAt = listCheckpoints(out).at(-1)!.step;
  assert.ok(killedAt >= 3 && killedAt < 16, `killed at step ${killedAt}`);
  for (const c of listCheckpoints(out)) for (const f of CHECKPOINT_FILES) assert.ok(existsSync(join(c.path, f)), `${c.path}/${f} complete`);

  const resumed = runCli([...flags, '--resume_from_checkpoint', 'latest', '--json', join(t.path, 'resumed.json')]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const ref = join(t.path, 'uninterrupted');
  const whole = await run({ ...args, output_dir: ref });
  const a = JSON.parse(readFileSync(join(t.path, 'resumed.json'), 'utf8')) as FineTuneResult;
  assert.equal(a.resumed_from, join(out, `checkpoint-${killedAt}`));
  assert.equal(a.log_history.length, 16);
  assert.deepEqual(a.log_history, whole.log_history);
  assert.deepEqual(a.final, whole.final);
  assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(ref, 'model.safetensors'))), 'final weights bit for bit');
  assert.deepEqual(withoutTimes(state(out).log_history as Record<string, number>[]), withoutTimes(state(ref).log_history as Record<string, number>[]));
});
