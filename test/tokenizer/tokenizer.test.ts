import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, tokenizerFingerprint } from '../../src/tokenizer/index.js';
import { UserError } from '../../src/util/index.js';
import { sharedPath, tempDir } from '../helpers.js';

const BASE = sharedPath('models/distilbert-base-uncased');
const HELLO = [101, 7592, 1010, 2026, 3899, 2003, 10140, 102];

async function vocabOnly(dir: string): Promise<{ path: string; cleanup: () => void }> {
  const t = tempDir();
  copyFileSync(join(dir, 'vocab.txt'), join(t.path, 'vocab.txt'));
  return t;
}

test('"Hello, my dog is cute" from tokenizer.json and from vocab.txt alone', async () => {
  const fromJson = await loadTokenizer(BASE);
  assert.deepEqual(fromJson.encode('Hello, my dog is cute'), HELLO);
  assert.equal(fromJson.vocabSize, 30522);
  assert.deepEqual([fromJson.padTokenId, fromJson.clsTokenId, fromJson.sepTokenId, fromJson.unkTokenId], [0, 101, 102, 100]);
  const t = await vocabOnly(BASE);
  try {
    const fromVocab = await loadTokenizer(t.path);
    assert.deepEqual(fromVocab.encode('Hello, my dog is cute'), HELLO);
    // both constructions agree on harder text: accents, punctuation, CJK, subwords, unknown words
    const hard = ['Café ÜBER naïve résumé', 'unaffable!!! (really?) 12,345.67', '你好 中文 测试', "don't   stop\tme\nnow", 'x'.repeat(120)];
    for (const s of hard) assert.deepEqual(fromVocab.encode(s), fromJson.encode(s), s);
    assert.equal(tokenizerFingerprint(fromVocab), tokenizerFingerprint(fromJson));
    assert.deepEqual(fromJson.tokenize('unaffable'), ['[CLS]', 'una', '##ffa', '##ble', '[SEP]']);
    assert.deepEqual(fromJson.encode('Café'), fromJson.encode('cafe'));
  } finally {
    t.cleanup();
  }
});

for (const fx of ['tiny-a', 'tiny-c']) {
  test(`fixture ${fx}: tokens and ids of inputs.json (special ids read from its vocab)`, async () => {
    const dir = sharedPath('fixtures/distilbert', fx);
    const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as {
      sentences: string[]; tokens: string[][]; input_ids: number[][]; attention_mask: number[][]; padded_length: number;
    };
    const tok = await loadTokenizer(dir);
    assert.equal(tok.vocabSize, 189);
    assert.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId], [0, 1, 2, 3]);
    inputs.sentences.forEach((s, i) => assert.deepEqual(tok.tokenize(s), inputs.tokens[i], s));
    const b = tok.encodeBatch(inputs.sentences, { padding: 'max_length', maxLength: inputs.padded_length });
    assert.deepEqual(b.inputIds, inputs.input_ids);
    assert.deepEqual(b.attentionMask, inputs.attention_mask);
  });
}

test('truncation keeps [CLS]/[SEP]; padding longest / max_length; masks', async () => {
  const tok = await loadTokenizer(BASE);
  assert.deepEqual(tok.encode('Hello, my dog is cute', { maxLength: 5 }), [101, 7592, 1010, 2026, 102]);
  assert.deepEqual(tok.encode('Hello, my dog is cute', { maxLength: 2 }), [101, 102]);
  assert.throws(() => tok.encode('x', { maxLength: 1 }), UserError);
  const long = 'word '.repeat(1000);
  assert.equal(tok.encode(long).length, 512);
  const un = tok.encodeBatch(['Hello', 'Hello, my dog is cute']);
  assert.deepEqual(un.inputIds.map((r) => r.length), [3, 8]);
  const lo = tok.encodeBatch(['Hello', 'Hello, my dog is cute'], { padding: 'longest' });
  assert.deepEqual(lo.inputIds[0], [101, 7592, 102, 0, 0, 0, 0, 0]);
  assert.deepEqual(lo.attentionMask[0], [1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(tok.encodeBatch(['Hello'], { padding: true }).inputIds, [[101, 7592, 102]]);
  const ml = tok.encodeBatch(['Hello', 'Hello, my dog is cute'], { padding: 'max_length', maxLength: 6 });
  assert.deepEqual(ml.inputIds, [[101, 7592, 102, 0, 0, 0], [101, 7592, 1010, 2026, 3899, 102]]);
  assert.deepEqual(ml.attentionMask[1], [1, 1, 1, 1, 1, 1]);
  assert.equal(tok.decode(HELLO), 'hello, my dog is cute');
});

test('tokenizer_config.json do_lower_case=false keeps case; fingerprint changes', async () => {
  const t = await vocabOnly(BASE);
  try {
    const lower = await loadTokenizer(t.path);
    writeFileSync(join(t.path, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
    const cased = await loadTokenizer(t.path);
    assert.notDeepEqual(cased.encode('Hello'), lower.encode('Hello'));
    assert.notEqual(tokenizerFingerprint(cased), tokenizerFingerprint(lower));
  } finally {
    t.cleanup();
  }
});

test('missing files and bad vocab are UserErrors', async () => {
  const t = tempDir();
  try {
    await assert.rejects(loadTokenizer(t.path), (e: unknown) => e instanceof UserError && /tokenizer\.json or vocab\.txt/.test(e.message));
    writeFileSync(join(t.path, 'vocab.txt'), 'a\nb\n');
    await assert.rejects(loadTokenizer(t.path), (e: unknown) => e instanceof UserError && /\[UNK\]/.test(e.message));
    writeFileSync(join(t.path, 'tokenizer.json'), '{not json');
    await assert.rejects(loadTokenizer(t.path), (e: unknown) => e instanceof UserError && /tokenizer\.json/.test(e.message));
  } finally {
    t.cleanup();
  }
});
