/**
 * `bf16` (HF's TrainingArguments name) through fineTune and the CLI: one clear error where bf16 is unavailable,
 * a note and fp32 with 'auto', and a real bf16 fine-tune (the addon's portable kernel where the CPU has no AMX:
 * TUNESCOPE_BF16_EMULATE=1) that learns like the fp32 one and repeats exactly for a seed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTinyModelDir } from '../../src/model/index.js';
import { bf16Support } from '../../src/native/index.js';
import { fineTune, resolvePrecision, resolveTrainingArguments } from '../../src/train/index.js';
import { runCli, tempDir } from '../helpers.js';

const support = bf16Support();
const skip = !support.built && !process.env.CI ? `bf16 addon not built: ${support.reason}` : false;

let t: { path: string; cleanup: () => void };
let modelDir: string;
let dataDir: string;

before(() => {
  t = tempDir();
  modelDir = createTinyModelDir(join(t.path, 'tiny'), { dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, max_position_embeddings: 64 });
  dataDir = join(t.path, 'toy');
  mkdirSync(dataDir);
  const rows = (n: number, off: number): string =>
    ['sentence\tlabel', ...Array.from({ length: n }, (_, i) => `a ${(i % 2 ? ['great', 'wonderful', 'charming'] : ['awful', 'boring', 'dull'])[(i + off) % 3]} film .\t${i % 2}`)].join('\n') + '\n';
  writeFileSync(join(dataDir, 'train.tsv'), rows(48, 0));
  writeFileSync(join(dataDir, 'validation.tsv'), rows(16, 1));
});
after(() => t.cleanup());

function withEnv<T>(env: Record<string, string | undefined>, f: () => T): T {
  const prev = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return f();
  } finally {
    for (const [k, v] of Object.entries(prev)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test('bf16 argument: true/false/auto, anything else is one error', () => {
  assert.equal(resolveTrainingArguments({}).bf16, false);
  assert.equal(resolveTrainingArguments({ bf16: 'auto' }).bf16, 'auto');
  assert.equal(resolveTrainingArguments({ bf16: 'true' }).bf16, true);
  assert.throws(() => resolveTrainingArguments({ bf16: 'yes' }), /training argument bf16: must be true, false or auto, got "yes"/);
  withEnv({ TUNESCOPE_BF16_DISABLE: '1' }, () => {
    assert.deepEqual(resolvePrecision(false), { precision: 'fp32', emulate: false, note: null });
    assert.throws(() => resolvePrecision(true), /^UserError: --bf16 is unavailable: disabled by TUNESCOPE_BF16_DISABLE=1 \(--bf16 auto falls back to fp32\)$/);
    const auto = resolvePrecision('auto');
    assert.equal(auto.precision, 'fp32');
    assert.match(auto.note ?? '', /bf16 auto: disabled by TUNESCOPE_BF16_DISABLE=1 — running in fp32/);
  });
});

test('CLI: --bf16 where unavailable is one error line (exit 2); --bf16 auto notes it and trains in fp32', () => {
  const env = { TUNESCOPE_BF16_DISABLE: '1' };
  const common = ['train', '--model', modelDir, '--dataset', dataDir, '--max_steps', '2', '--max_seq_length', '16', '--no-token-cache'];
  const bad = runCli([...common, '--bf16'], { env });
  assert.equal(bad.status, 2, bad.stderr + bad.stdout);
  assert.equal(bad.stderr.trim(), 'tunescope: error: --bf16 is unavailable: disabled by TUNESCOPE_BF16_DISABLE=1 (--bf16 auto falls back to fp32)');
  const auto = runCli([...common, '--bf16', 'auto'], { env });
  assert.equal(auto.status, 0, auto.stderr + auto.stdout);
  assert.match(auto.stdout + auto.stderr, /bf16 auto: disabled by TUNESCOPE_BF16_DISABLE=1 — running in fp32/);
  assert.match(runCli(['train', '--help']).stdout, /--bf16 \[true\|false\|auto\]/);
});

test('fineTune with bf16 (portable kernel without AMX): learns as fp32 does, same seed same curve', { skip }, async () => {
  const args = { per_device_train_batch_size: 8, num_train_epochs: 3, learning_rate: 1e-2, max_seq_length: 16, seed: 4 };
  const run = (bf16: boolean): ReturnType<typeof fineTune> => fineTune({ model: modelDir, dataset: { name: dataDir }, args: { ...args, bf16 }, tokenCacheDir: null, quiet: true });
  const prev = process.env.TUNESCOPE_BF16_EMULATE;
  if (!support.available) process.env.TUNESCOPE_BF16_EMULATE = '1';
  let f: Awaited<ReturnType<typeof fineTune>>;
  let a: typeof f;
  let b: typeof f;
  try {
    f = await run(false);
    a = await run(true);
    b = await run(true);
  } finally {
    if (prev === undefined) delete process.env.TUNESCOPE_BF16_EMULATE;
    else process.env.TUNESCOPE_BF16_EMULATE = prev;
  }
  assert.deepEqual(b.log_history.map((l) => l.loss), a.log_history.map((l) => l.loss), 'deterministic for a seed');
  assert.notDeepEqual(a.log_history.map((l) => l.loss), f.log_history.map((l) => l.loss), 'bf16 products differ from fp32');
  assert.ok(a.epochs.at(-1)!.train_loss < a.epochs[0]!.train_loss, `bf16 train loss ${a.epochs.map((e) => e.train_loss)}`);
  // same data, init and dropout: the bf16 run's loss curve stays close to fp32's
  const worst = Math.max(...a.log_history.map((l, i) => Math.abs(l.loss - f.log_history[i]!.loss)));
  assert.ok(worst < 0.05, `bf16 loss differs from fp32 by up to ${worst}`);
  assert.ok(Math.abs(a.final.accuracy - f.final.accuracy) <= 0.125, `accuracy bf16 ${a.final.accuracy} fp32 ${f.final.accuracy}`);
  if (!support.available) assert.ok(a.notes.some((n) => /portable kernel/.test(n)));
});
