/**
 * Issue 17 (low): what the CLI says and returns. `study run` exits non-zero (3) with the count when trials failed;
 * numeric flags take decimal/exponent notation only (`0x10` is not 16); `study analyze` accepts the
 * `--drop-missing` it suggests; a report on a store whose metrics are partly NaN says how many runs each fit left out;
 * repeated seeds are named; baseline.config problems are named `baseline.config.<key>` before any store exists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runStudy } from '../../src/study/index.js';
import { resolveTrainingArguments } from '../../src/train/index.js';
import { parseDecimal } from '../../src/util/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from '../study/fake-runner.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));
let t: { path: string; cleanup: () => void };
before(() => (t = tempDir('tunescope-cli-contract-')));
after(() => t.cleanup());

function spec(name: string, body: { lrs?: string; seeds?: string; baseline?: string } = {}): string {
  const p = join(t.path, `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}
model: some/model
dataset: {name: sst2}
${body.baseline ? `baseline: ${body.baseline}\n` : ''}design:
  type: grid
  factors:
    learning_rate: ${body.lrs ?? '[1.0e-5, 3.0e-5, 1.0e-4]'}
    per_device_train_batch_size: [8, 16]
seeds: ${body.seeds ?? '[1, 2]'}
args: {num_train_epochs: 1}
execution: {workers: 1, threads_per_worker: 1}
store: ./${name}.sqlite
analysis: {allow_aliased: true}
`,
  );
  return p;
}

test('study run: failed trials → exit 3 with the count on stderr (documented in --help); all done → exit 0', () => {
  const p = spec('failing', { lrs: '[1.0e-5, 2.0]' });
  const r = runCli(['study', 'run', p, '--runner', FAKE]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^tunescope: 4 of 8 trial\(s\) failed: see `tunescope study status .*`; rerun with --retry-failed$/m);
  assert.match(r.stdout, /4\/8 done, 4 failed/);
  // a rerun with the failures still there is still a failure
  assert.equal(runCli(['study', 'run', p, '--runner', FAKE]).status, 3);
  const ok = runCli(['study', 'run', spec('passing'), '--runner', FAKE]);
  assert.equal(ok.status, 0, ok.stderr);
  const help = runCli(['study', 'run', '--help']);
  assert.match(help.stdout, /Exit status: 0 every trial done; 3 the study ran to its end but some trials failed/);
});

test('numbers on the command line: decimal and exponent notation only', () => {
  for (const [s, v] of [['16', 16], ['-0.5', -0.5], ['.5', 0.5], ['3e-5', 3e-5], ['1E+3', 1000], [' 2 ', 2]] as const) assert.equal(parseDecimal(s), v, s);
  for (const s of ['0x10', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', '', ' ', '1e', '1_000', '1,5', '5e-5x', '1e999']) assert.equal(parseDecimal(s), null, s);
  assert.throws(() => resolveTrainingArguments({ learning_rate: '0x10' }), /training argument learning_rate: must be a finite number, got "0x10"/);
  assert.throws(() => resolveTrainingArguments({ per_device_train_batch_size: '0b1000' }), /per_device_train_batch_size: must be a finite number/);
  assert.equal(resolveTrainingArguments({ learning_rate: '2e-5' }).learning_rate, 2e-5);
  // flags of every kind go through the same parser
  for (const args of [
    ['train', '--model', 'x', '--dataset', 'sst2', '--learning_rate', '0x10'],
    ['study', 'plan', spec('plan'), '--sigma', '0x10'],
    ['study', 'plan', spec('plan2'), '--workers', '0x2'],
    ['report', 'nothing.csv', '--alpha', '0x0'],
  ]) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^tunescope: error: .*0x/m, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a store with NaN metrics: study analyze suggests --drop-missing and accepts it; the report says what each fit left out', async () => {
  const p = spec('nan', { seeds: '[1, 2]' });
  // trials at learning_rate 1e-4 "diverge": their accuracy is NaN (stored as a missing value)
  await runStudy(p, {
    quiet: true,
    runner: async (task, ctx) => {
      const o = await fakeRunner(task, ctx);
      return task.config.learning_rate === 1e-4 ? { ...o, metrics: { ...o.metrics, accuracy: NaN } } : o;
    },
  });
  const store = join(t.path, 'nan.sqlite');
  const refused = runCli(['study', 'analyze', store, '--response', 'accuracy']);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /missing value \(use --drop-missing to leave such rows out\)/);
  const r = runCli(['study', 'analyze', store, '--response', 'accuracy', '--drop-missing']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /accuracy: dropped 4 row\(s\) with missing values; 8 used/);
  const html = join(t.path, 'nan-report', 'report.html');
  const rep = runCli(['report', store, '--out', html, '--metrics', 'accuracy,f1']);
  assert.equal(rep.status, 0, rep.stderr);
  const md = readFileSync(join(t.path, 'nan-report', 'report.md'), 'utf8');
  assert.match(md, /12 runs/);
  assert.match(md, /accuracy: R² = [^\n]*\(fitted on 8 of 12 runs: 4 left out with a missing or non-finite accuracy/);
  assert.doesNotMatch(md, /f1: R² = [^\n]*left out/, 'f1 is complete');
});

test('repeated seeds are named; baseline.config keys and values are checked (with their path) before any store exists', () => {
  const dup = runCli(['study', 'run', spec('dup', { seeds: '[1, 2, 1, 3, 3]' }), '--runner', FAKE]);
  assert.equal(dup.status, 2);
  assert.match(dup.stderr, /seeds: seeds repeat: 1, 3 \(a seed reproduces its trial exactly/);
  const key = runCli(['study', 'run', spec('bkey', { baseline: '{config: {learning_rate: 3.0e-5, per_device_train_batch_sze: 8}}' })]);
  assert.equal(key.status, 2);
  assert.match(key.stderr, /baseline\.config\.per_device_train_batch_sze: not an HF training argument/);
  assert.doesNotMatch(key.stderr, /design\.factors/);
  const val = runCli(['study', 'run', spec('bval', { baseline: '{config: {learning_rate: 3.0e-5, per_device_train_batch_size: "x"}}' })]);
  assert.equal(val.status, 2);
  assert.match(val.stderr, /baseline\.config(\.per_device_train_batch_size)?: .*per_device_train_batch_size/);
  for (const n of ['dup', 'bkey', 'bval']) assert.equal(existsSync(join(t.path, `${n}.sqlite`)), false, n);
});

test('store: a URL is never a file path — postgres:// is opened as a URL (a clear error where unreachable), other schemes are refused', () => {
  for (const [store, why] of [
    ['postgres://x/y', /study store|PostgreSQL|postgres/i],
    ['postgresql://nobody@127.0.0.1:1/db', /study store|PostgreSQL|postgres/i],
    ['sqlite:study.db', /store: sqlite: is not a study store scheme/],
    ['http://example.org/s.sqlite', /store: http: is not a study store scheme/],
    ['file:///tmp/s.sqlite', /store: file: is not a study store scheme/],
  ] as const) {
    const dir = join(t.path, `url-${store.replace(/\W+/g, '-')}`);
    mkdirSync(dir);
    const p = join(dir, 's.yaml');
    writeFileSync(p, `name: url\nmodel: some/model\ndataset: {name: sst2}\ndesign: {type: grid, factors: {learning_rate: [1.0e-5, 1.0e-4]}}\nseeds: [1]\nstore: "${store}"\nanalysis: {allow_aliased: true}\n`);
    for (const args of [['study', 'run', p, '--runner', FAKE], ...(store === 'postgres://x/y' ? [['study', 'status', p]] : [])]) {
      // an unreachable server is retried with backoff (15 s by default) before the error: 1 s here
      const r = runCli(args, { timeoutMs: 60_000, env: { TUNESCOPE_PG_RETRY_MS: '1000' } });
      assert.equal(r.status, 2, `${store} ${args[1]}: ${r.stdout}${r.stderr}`);
      // a refused connection (a server restarting) is waited for, and the wait announced; an unknown host is not retried
      if (store.includes('127.0.0.1:1')) assert.match(r.stderr, /^tunescope: warning: PostgreSQL store .*ECONNREFUSED.*; retrying for up to 1 s$/m, 'the wait is announced');
      if (store === 'postgres://x/y') assert.doesNotMatch(r.stderr, /retrying/);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('tunescope: warning:'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^tunescope: error: /);
      if (args[1] === 'run') assert.match(lines[0]!, why);
    }
    // nothing named after the URL appeared beside the spec or in the working directory
    assert.deepEqual(readdirSync(dir).sort(), ['s.yaml'], store);
    for (const scheme of ['postgres:', 'postgresql:', 'sqlite:study.db', 'http:', 'file:']) assert.equal(existsSync(join(ROOT, scheme)), false, scheme);
  }
});
