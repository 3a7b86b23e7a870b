import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import {
  loadDataset, stratifiedHoldout, stratifiedKFold, stratifiedKFoldAssignment, subsample, tokenizeCached,
} from '../../src/data/index.js';
import { tempDir, sharedPath } from '../helpers.js';

test('sst2 by name resolves to ../shared/datasets/sst2 with GLUE TSV splits', async () => {
  const d = await loadDataset({ name: 'sst2', maxTrainSamples: 50, maxEvalSamples: 20, seed: 1 });
  assert.equal(d.train.length, 50);
  assert.equal(d.eval.length, 20);
  assert.equal(d.numLabels, 2);
  assert.match(d.source, /sst2.*train\.tsv.*validation\.tsv/);
  const again = await loadDataset({ name: 'sst2', maxTrainSamples: 50, maxEvalSamples: 20, seed: 1 });
  assert.deepEqual(again.train, d.train);
  const other = await loadDataset({ name: 'sst2', maxTrainSamples: 50, maxEvalSamples: 20, seed: 2 });
  assert.notDeepEqual(other.train, d.train);
  const full = await loadDataset({ name: 'sst2', dataDir: sharedPath('datasets', 'sst2') });
  assert.equal(full.train.length, 6920);
  assert.equal(full.eval.length, 872);
  assert.equal(full.eval.filter((e) => e.label === 1).length, 444);
});

test('one-file dataset (cr/all.tsv): stratified holdout and k-fold', async () => {
  // the distributed cr/all.tsv has 4 rows with an empty sentence
  await assert.rejects(loadDataset({ name: 'cr' }), /cr\/all\.tsv:770: missing text/);
  const d = await loadDataset({ name: 'cr', testSize: 0.2, seed: 3, skipBadRows: true });
  assert.equal(d.skipped, 4);
  const all = d.train.length + d.eval.length;
  assert.equal(all, 3771);
  assert.equal(d.eval.length, Math.ceil(0.2 * 3771));
  const frac = (xs: { label: number }[]): number => xs.filter((e) => e.label === 1).length / xs.length;
  assert.ok(Math.abs(frac(d.train) - frac(d.eval)) < 0.005, 'class balance kept');
  const f0 = await loadDataset({ name: 'cr', kFold: { k: 5, fold: 0 }, skipBadRows: true });
  const f1 = await loadDataset({ name: 'cr', kFold: { k: 5, fold: 1 }, skipBadRows: true });
  assert.ok(Math.abs(f0.eval.length - 3771 / 5) <= 1);
  const s0 = new Set(f0.eval.map((e) => e.text));
  assert.ok(f1.eval.filter((e) => s0.has(e.text)).length < 10, 'folds are (nearly) disjoint — duplicates in the corpus aside');
});

test('splits: subsample keeps order, holdout and k-fold partition the data', () => {
  const ex = Array.from({ length: 103 }, (_, i) => ({ text: `t${i}`, label: i % 3 === 0 ? 1 : 0 }));
  const s = subsample(ex, 10, 7);
  assert.equal(s.length, 10);
  assert.deepEqual(s, [...s].sort((a, b) => Number(a.text.slice(1)) - Number(b.text.slice(1))));
  const h = stratifiedHoldout(ex, 0.25, 1);
  assert.equal(h.eval.length, 26);
  assert.equal(h.train.length + h.eval.length, 103);
  assert.equal(h.eval.filter((e) => e.label === 1).length, Math.round((35 * 26) / 103));
  const folds = stratifiedKFoldAssignment(ex, 4, 0);
  const sizes = [0, 1, 2, 3].map((f) => folds.filter((x) => x === f).length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  const k = stratifiedKFold(ex, 4, 2, 0);
  assert.equal(k.train.length + k.eval.length, 103);
  assert.throws(() => stratifiedKFold(ex, 4, 4, 0), /fold must be/);
});

test('bad rows: error names file and line; skipBadRows counts them', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.path, 'train.tsv'), 'sentence\tlabel\ngood one\t1\nbad\t1\textra\n\t0\nfine\t0\nweird\tmaybe\n');
    writeFileSync(join(t.path, 'validation.tsv'), 'sentence\tlabel\nok\t1\nno\t0\n');
    await assert.rejects(loadDataset({ name: t.path }), (e: Error) => /train\.tsv:3: expected 2 tab-separated columns, found 3/.test(e.message));
    const d = await loadDataset({ name: t.path, skipBadRows: true, }, { label2id: { NEGATIVE: 0, POSITIVE: 1 } });
    assert.equal(d.skipped, 3);
    assert.equal(d.train.length, 2);
    const dmiss = loadDataset({ name: t.path, skipBadRows: false, textColumn: 'sentence' });
    await assert.rejects(dmiss, /train\.tsv:3/);
    writeFileSync(join(t.path, 'train.tsv'), 'sentence\tlabel\ngood one\t1\nnope\tmaybe\n');
    await assert.rejects(loadDataset({ name: t.path }, { label2id: { NEGATIVE: 0, POSITIVE: 1 } }), /train\.tsv:3: unknown label 'maybe'/);
    writeFileSync(join(t.path, 'validation.tsv'), 'sentence\tlabel\n');
    writeFileSync(join(t.path, 'train.tsv'), 'sentence\tlabel\na\t1\n');
    await assert.rejects(loadDataset({ name: t.path }), /validation split .* is empty/);
    // invalid UTF-8 (TREC's train file has a stray 0xf0) is replaced as HF's loaders do, and not silently: a note names it
    writeFileSync(join(t.path, 'validation.tsv'), 'sentence\tlabel\nok\t1\n');
    writeFileSync(join(t.path, 'train.tsv'), Buffer.from('sentence\tlabel\ngood\t1\ncaf\xe9 noir\t0\n', 'latin1'));
    const l1 = await loadDataset({ name: t.path });
    assert.equal(l1.train[1]!.text, 'caf\uFFFD noir');
    assert.ok(l1.notes.some((n) => /train\.tsv: line 3, column 4: not valid UTF-8 \(byte 0xe9 at offset 25\): invalid bytes were replaced by U\+FFFD/.test(n)), String(l1.notes));
  } finally {
    t.cleanup();
  }
});

test('CSV, JSONL and parquet splits; string labels through label2id', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.path, 'train.csv'), 'text,label\n"a, quoted ""one""",positive\n"multi\nline",negative\nplain,POSITIVE\n');
    writeFileSync(join(t.path, 'validation.jsonl'), '{"text":"x","label":"negative"}\n{"text":"y","label":"positive"}\n');
    const d = await loadDataset({ name: t.path }, { label2id: { NEGATIVE: 0, POSITIVE: 1 } });
    assert.deepEqual(d.train, [{ text: 'a, quoted "one"', label: 1 }, { text: 'multi\nline', label: 0 }, { text: 'plain', label: 1 }]);
    assert.deepEqual(d.eval.map((e) => e.label), [0, 1]);
    // without label2id, names are sorted and numbered
    const n = await loadDataset({ name: t.path });
    assert.deepEqual(n.labelNames, ['POSITIVE', 'negative', 'positive']);
    writeFileSync(join(t.path, 'validation.jsonl'), '{"text":"x","label":0}\n{"text":"y" "label":1}\n');
    await assert.rejects(loadDataset({ name: t.path }), /validation\.jsonl:2: invalid JSON/);
    rmSync(join(t.path, 'validation.jsonl'));
    writeFileSync(join(t.path, 'validation.json'), '[{"text":"x","label":0},\n {"text":"y","label":7}, 3]');
    await assert.rejects(loadDataset({ name: t.path, evalSplit: 'validation' }), /validation\.json row 3: expected a JSON object/);
    writeFileSync(join(t.path, 'train.csv'), 'text,label\nfine,1\n"oops",1,2\n');
    await assert.rejects(loadDataset({ name: t.path }), /train\.csv:3: expected 2 comma-separated columns, found 3/);

    const p = join(t.path, 'pq');
    mkdirSync(join(p, 'data'), { recursive: true });
    const write = (file: string, s: string[], l: number[]): void => {
      const buf = parquetWriteBuffer({ columnData: [
        { name: 'idx', data: s.map((_, i) => i), type: 'INT32' },
        { name: 'sentence', data: s, type: 'STRING' },
        { name: 'label', data: l.map((x) => BigInt(x)), type: 'INT64' },
      ] });
      writeFileSync(join(p, 'data', file), Buffer.from(buf));
    };
    write('train-00000-of-00001.parquet', ['good film', 'bad film', 'meh'], [1, 0, 0]);
    write('validation-00000-of-00001.parquet', ['great', 'awful'], [1, 0]);
    const q = await loadDataset({ name: p });
    assert.deepEqual(q.train, [{ text: 'good film', label: 1 }, { text: 'bad film', label: 0 }, { text: 'meh', label: 0 }]);
    assert.equal(q.eval.length, 2);
  } finally {
    t.cleanup();
  }
});

test('bad subsampling settings are named errors before any file is read', async () => {
  await assert.rejects(loadDataset({ name: 'sst2', seed: -3 }), (e: Error) => e.name === 'UserError' && /split seed .* must be an integer in \[0, 2\^32-1\], got -3$/.test(e.message));
  await assert.rejects(loadDataset({ name: 'sst2', maxEvalSamples: 0 }), (e: Error) => e.name === 'UserError' && e.message === 'max_eval_samples must be a positive integer, got 0');
});

test('unknown dataset names give one clear error', async () => {
  await assert.rejects(loadDataset({ name: 'no_such_dataset_xyz' }), (e: Error) => {
    assert.match(e.message, /dataset 'no_such_dataset_xyz' not found/);
    // run from the project root, ../shared/datasets is named once, not twice
    const dirs = /not in (.*), and not a Hub/.exec(e.message)![1]!.split(' or ');
    assert.equal(new Set(dirs).size, dirs.length, e.message);
    return true;
  });
  await assert.rejects(loadDataset({ name: 'sst2', textColumn: 'review' }), /no text column 'review'/);
});

test('token cache: hit on second call, corrupt file ignored and rebuilt, key depends on max_length', () => {
  const t = tempDir();
  try {
    let calls = 0;
    const tok = { encode: (s: string, o?: { maxLength?: number }) => { calls++; return [101, ...[...s].map((c) => c.charCodeAt(0)), 102].slice(0, o?.maxLength ?? 512); } };
    const texts = ['hello', 'a longer sentence here'];
    const a = tokenizeCached(texts, tok, { fingerprint: 'f1', maxLength: 8, cacheDir: t.path });
    assert.equal(a.cache, 'miss');
    assert.equal(calls, 2);
    const b = tokenizeCached(texts, tok, { fingerprint: 'f1', maxLength: 8, cacheDir: t.path });
    assert.equal(b.cache, 'hit');
    assert.equal(calls, 2);
    assert.deepEqual(b.ids, a.ids);
    assert.equal(b.ids[1]!.length, 8);
    const file = join(t.path, readdirSync(t.path)[0]!);
    writeFileSync(file, Buffer.from('garbage'));
    const c = tokenizeCached(texts, tok, { fingerprint: 'f1', maxLength: 8, cacheDir: t.path });
    assert.equal(c.cache, 'miss');
    assert.deepEqual(c.ids, a.ids);
    assert.equal(tokenizeCached(texts, tok, { fingerprint: 'f1', maxLength: 16, cacheDir: t.path }).cache, 'miss');
    assert.equal(tokenizeCached(texts, tok, { fingerprint: 'f2', maxLength: 8, cacheDir: t.path }).cache, 'miss');
    assert.equal(tokenizeCached(texts, tok, { fingerprint: 'f1', maxLength: 8, cacheDir: t.path }).cache, 'hit');
  } finally {
    t.cleanup();
  }
});
