/**
 * Issue 17 (low): hostile sizes and files are one clear error, never a stack trace, an out-of-memory or a hang.
 * config.json sizes are checked against memory and the weights present before anything is allocated; thread counts
 * are bounded; safetensors headers must be valid UTF-8 and name each tensor once; NaN weights are refused by
 * `predict`; a FIFO or /dev/zero named model.safetensors is refused at open, and so is a FIFO as a tokenizer file or folder, a
 * dataset file or folder entry, a texts TSV or a runs CSV; an output folder under /proc is one line.
 * The file and process cases are real (mkfifo, a symlink, child processes with a deadline).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createTinyModelDir, loadPretrained, parseDistilBertConfig, readSafetensors, savePretrained } from '../../src/model/index.js';
import { resolveTrainingArguments } from '../../src/train/index.js';
import { planExecution } from '../../src/study/index.js';
import { ensureDir, findDuplicateKey } from '../../src/util/index.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { loadDataset } from '../../src/data/index.js';
import { readTable } from '../../src/analysis/index.js';
import { readTextsTsv } from '../../src/cli/commands/predict.js';
import { runCli, tempDir } from '../helpers.js';

let t: { path: string; cleanup: () => void };
let good: string;
let tiny: string;
let data: string;
let header: string;
let st: Buffer;

before(async () => {
  t = tempDir('tunescope-hostile-');
  tiny = createTinyModelDir(join(t.path, 'tiny'), { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32 });
  const pm = await loadPretrained(tiny, { seed: 1 });
  good = join(t.path, 'good');
  savePretrained(good, { config: pm.config, parameters: pm.parameters, tokenizerDir: pm.tokenizerDir });
  st = readFileSync(join(good, 'model.safetensors'));
  header = st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8');
  data = join(t.path, 'toy');
  mkdirSync(data);
  const tsv = ['sentence\tlabel', ...Array.from({ length: 8 }, (_, i) => `${i % 2 ? 'good' : 'bad'} film ${i} .\t${i % 2}`)].join('\n') + '\n';
  writeFileSync(join(data, 'train.tsv'), tsv);
  writeFileSync(join(data, 'validation.tsv'), tsv);
});
after(() => t.cleanup());

/** A copy of the good model folder with one change. */
function variant(name: string, change: (dir: string) => void): string {
  const d = join(t.path, name);
  cpSync(good, d, { recursive: true });
  change(d);
  return d;
}
function withHeader(dir: string, h: string | Buffer): void {
  const hb = Buffer.isBuffer(h) ? h : Buffer.from(h);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, hb, st.subarray(8 + Buffer.byteLength(header))]));
}
function oneError(r: ReturnType<typeof runCli>, re: RegExp): void {
  assert.equal(r.error, undefined, 'killed at the deadline (a hang)');
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |RangeError|internal error/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

test('config.json sizes: refused against memory, array limits and the weights present, before any allocation', async () => {
  const base = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ vocab_size: 1e12 }, /a weight matrix of 16000000000000 values .* larger than one array can hold/],
    [{ dim: 1e6, n_heads: 1 }, /a weight matrix of 1000000000000 values/],
    [{ max_position_embeddings: 1e9 }, /a weight matrix of 16000000000 values/],
    [{ n_layers: 1e6 }, /"n_layers" is 1000000; at most 1000 transformer layers/],
    [{ vocab_size: 2e8, dim: 16, hidden_dim: 32 }, null as unknown as RegExp],
    [{ num_labels: 1e9, id2label: undefined, label2id: undefined }, /"num_labels" is 1000000000; single-label classification here takes at most 100000 labels/],
    [{ initializer_range: 1e308 }, /"initializer_range" must be a number in \[0, 1\]/],
  ];
  for (const [patch, re] of cases) {
    const json = JSON.parse(JSON.stringify({ ...base, ...patch })) as Record<string, unknown>;
    if (re === null) {
      parseDistilBertConfig(json); // 3.2e9 parameters (12 GiB) still parse: memory, not a fixed cap, decides
      continue;
    }
    const t0 = Date.now();
    assert.throws(() => parseDistilBertConfig(json), re, JSON.stringify(patch));
    assert.ok(Date.now() - t0 < 1000, 'refused before allocating');
  }
  assert.throws(() => parseDistilBertConfig({ ...base, dim: 4096, n_heads: 1, hidden_dim: 4096, n_layers: 1000 }), /float32 weights need .* GiB .* more than this machine's/);
  // the weights present decide the layer count
  const three = variant('three-layers', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ ...base, n_layers: 3 })));
  await assert.rejects(loadPretrained(three), /config\.json says n_layers 3 but the weights hold 1 transformer layer/);
  // --num_labels 1e9 is refused at once (it used to build a billion-entry id2label and die after 44 s)
  await assert.rejects(loadPretrained(good, { numLabels: 1e9 }), /num_labels is 1000000000; .* at most 100000 labels/);
});

test('thread counts are bounded (flags, spec execution with oversubscribe)', () => {
  const cap = 4 * availableParallelism();
  assert.throws(() => resolveTrainingArguments({ intra_op_num_threads: 1e6 }), new RegExp(`intra_op_num_threads: must be at most ${cap}`));
  assert.equal(resolveTrainingArguments({ intra_op_num_threads: cap }).intra_op_num_threads, cap);
  const e = (w: number, th: number) => ({ execution: { workers: w, threads_per_worker: th, oversubscribe: true } });
  assert.throws(() => planExecution(e(1, 1e6), 4, { cores: 2 }), /1 worker\(s\) × 1000000 thread\(s\) is more than 8 threads \(4 per core on 2 cores\), even with execution\.oversubscribe/);
  assert.throws(() => planExecution(e(1e6, 1), 4, { cores: 2 }), /1000000 worker\(s\)/);
  assert.equal(planExecution(e(4, 2), 4, { cores: 2 }).threadsPerWorker, 2);
});

test('safetensors: duplicate keys and invalid UTF-8 headers are refused', () => {
  assert.equal(findDuplicateKey('{"a":{"b":1,"c":[{"b":2},{"b":3}]},"d":"a"}'), null);
  assert.equal(findDuplicateKey('{"a":{"b":1,"b\\u0022":2,"b":3}}'), 'a.b');
  const key = /"([^"]+)":\{"dtype"/.exec(header)![1]!;
  const entry = /"[^"]+":(\{"dtype"[^}]*\})/.exec(header)![1]!;
  const dup = variant('dup', (d) => withHeader(d, header.replace(/^\{/, `{"${key}":${entry},`)));
  assert.throws(() => readSafetensors(join(dup, 'model.safetensors')), new RegExp(`corrupt safetensors file: header names "${key.replace(/\./g, '\\.')}" twice`));
  const utf = variant('utf', (d) => {
    const hb = Buffer.from(header);
    hb[hb.length - 1] = 0xff; // the last padding byte: not UTF-8 (the JSON would still parse after a lenient decode)
    withHeader(d, hb);
  });
  assert.throws(() => readSafetensors(join(utf, 'model.safetensors')), /header is not valid UTF-8/);
});

test('predict: NaN weights, a FIFO and /dev/zero named model.safetensors, a FIFO config.json: one error each, no hang', () => {
  const nan = variant('nan', (d) => {
    const b = Buffer.from(st);
    b.fill(0xff, 8 + Buffer.byteLength(header), 8 + Buffer.byteLength(header) + 16);
    writeFileSync(join(d, 'model.safetensors'), b);
  });
  oneError(runCli(['predict', '--model', nan, 'a great film'], { timeoutMs: 60_000 }), /tensor \S+ holds \d+ NaN\/Inf value\(s\) of \d+: its predictions would be NaN/);
  const fifo = variant('fifo', (d) => {
    rmSync(join(d, 'model.safetensors'));
    assert.equal(spawnSync('mkfifo', [join(d, 'model.safetensors')]).status, 0);
  });
  oneError(runCli(['predict', '--model', fifo, 'a great film'], { timeoutMs: 60_000 }), /model\.safetensors: not a regular file \(a FIFO\)/);
  const zero = variant('zero', (d) => {
    rmSync(join(d, 'model.safetensors'));
    symlinkSync('/dev/zero', join(d, 'model.safetensors'));
  });
  oneError(runCli(['predict', '--model', zero, 'a great film'], { timeoutMs: 60_000 }), /model\.safetensors: not a regular file \(a device\)/);
  const cfg = variant('cfg-fifo', (d) => {
    rmSync(join(d, 'config.json'));
    assert.equal(spawnSync('mkfifo', [join(d, 'config.json')]).status, 0);
  });
  oneError(runCli(['predict', '--model', cfg, 'a great film'], { timeoutMs: 60_000 }), /config\.json: not a regular file \(a FIFO\)/);
});

test('tokenizer and dataset paths: a FIFO is one error naming the path, at once (no read that blocks for ever)', async () => {
  const fifo = (path: string): string => {
    rmSync(path, { force: true });
    assert.equal(spawnSync('mkfifo', [path]).status, 0);
    return path;
  };
  // the commands, with a deadline: a model's tokenizer.json, a dataset file, a split file in a dataset folder
  const tok = variant('tok-fifo', (d) => fifo(join(d, 'tokenizer.json')));
  oneError(runCli(['predict', '--model', tok, 'a great film'], { timeoutMs: 60_000 }), /tok-fifo\/tokenizer\.json: not a regular file \(a FIFO\)/);
  const train = ['train', '--model', tiny, '--max_seq_length', '16', '--num_train_epochs', '1', '--no-token-cache'];
  const one = fifo(join(t.path, 'all.tsv'));
  oneError(runCli([...train, '--dataset', one], { timeoutMs: 60_000 }), /dataset \S*all\.tsv: not a regular file \(a FIFO\)/);
  const split = join(t.path, 'split-fifo');
  cpSync(data, split, { recursive: true });
  fifo(join(split, 'validation.tsv'));
  oneError(runCli([...train, '--dataset', split], { timeoutMs: 60_000 }), /dataset file \S*split-fifo\/validation\.tsv: not a regular file \(a FIFO\)/);

  // the other ways in, through the same functions the commands call (no process start each)
  const vocab = variant('vocab-fifo', (d) => {
    rmSync(join(d, 'tokenizer.json'));
    fifo(join(d, 'vocab.txt'));
  });
  await assert.rejects(loadTokenizer(vocab), /vocab-fifo\/vocab\.txt: not a regular file \(a FIFO\)/);
  await assert.rejects(loadTokenizer(fifo(join(t.path, 'tok-dir'))), /tokenizer folder \S*tok-dir: a FIFO, not a folder/);
  await assert.rejects(loadDataset({ name: 'sst2', dataDir: one }), /dataset \S*all\.tsv: not a regular file \(a FIFO\)/);
  assert.throws(() => readTextsTsv(fifo(join(t.path, 'texts.tsv'))), /texts\.tsv: not a regular file \(a FIFO\)/);
  assert.throws(() => readTable(fifo(join(t.path, 'runs.csv'))), /runs\.csv: not a regular file \(a FIFO\)/);
});

test('train flags: --num_labels 1e9, --intra_op_num_threads 1e6 and --output-dir under /proc are one error line at once', () => {
  assert.throws(() => ensureDir('/proc/tunescope-x/y', 'output_dir'), /output_dir: cannot create the folder \/proc\/tunescope-x\/y \(ENOENT\)/);
  const base = ['train', '--model', tiny, '--dataset', data, '--max_seq_length', '16', '--num_train_epochs', '1', '--no-token-cache'];
  oneError(runCli([...base, '--num_labels', '1000000000'], { timeoutMs: 60_000 }), /num_labels is 1000000000/);
  oneError(runCli([...base, '--intra_op_num_threads', '1000000'], { timeoutMs: 60_000 }), /intra_op_num_threads: must be at most/);
  oneError(runCli([...base, '--output-dir', '/proc/tunescope-x'], { timeoutMs: 60_000 }), /cannot create the folder \/proc\/tunescope-x/);
});
