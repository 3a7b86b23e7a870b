import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDistilBertConfig, configToJson, withLabels, createTinyModelDir } from '../../src/model/index.js';
import { UserError } from '../../src/util/index.js';
import { sharedPath, tempDir } from '../helpers.js';

const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

test('parses the fixture and the SST-2 config; num_labels from id2label; unknown keys kept', () => {
  const a = parseDistilBertConfig(readJson(sharedPath('fixtures/distilbert/tiny-a/config.json')));
  assert.equal(a.dim, 32);
  assert.equal(a.n_heads, 4);
  assert.equal(a.vocab_size, 189);
  assert.equal(a.num_labels, 2);
  assert.deepEqual(a.label2id, { NEGATIVE: 0, POSITIVE: 1 });
  assert.equal(a.extra.tie_weights_, true);
  const sst = parseDistilBertConfig(
    readJson(sharedPath('models/distilbert-base-uncased/distilbert-base-uncased-finetuned-sst-2-english.config.reconstructed.json')),
  );
  assert.equal(sst.dim, 768);
  assert.equal(sst.extra.finetuning_task, 'sst-2');
  const j = configToJson(sst);
  assert.equal(j.finetuning_task, 'sst-2');
  assert.equal(j.torch_dtype, 'float32');
  assert.deepEqual(j.architectures, ['DistilBertForSequenceClassification']);
  assert.deepEqual(Object.keys(j), [...Object.keys(j)].sort());
});

test('defaults as HF: empty config is distilbert-base-uncased with LABEL_0/LABEL_1', () => {
  const c = parseDistilBertConfig({});
  assert.equal(c.dim, 768);
  assert.equal(c.n_layers, 6);
  assert.equal(c.hidden_dim, 3072);
  assert.deepEqual(c.id2label, { '0': 'LABEL_0', '1': 'LABEL_1' });
  assert.equal(parseDistilBertConfig({ num_labels: 5 }).num_labels, 5);
  const relabeled = withLabels(c, { '0': 'a', '1': 'b', '2': 'c' });
  assert.equal(relabeled.num_labels, 3);
  assert.deepEqual(relabeled.label2id, { a: 0, b: 1, c: 2 });
});

test('bad configs are UserErrors naming the key and file', () => {
  const cases: [unknown, RegExp][] = [
    [[], /expected a JSON object/],
    [{ model_type: 'bert' }, /model_type/],
    [{ dim: 10, n_heads: 3 }, /divisible by "n_heads" \(3\)$/],
    // a missing key takes HF's default, and the message says that is where 12 came from
    [{ dim: 32 }, /"dim" \(32\) must be divisible by "n_heads" \(12\) \(config\.json has no "n_heads": HF's default n_heads=12 applies\)$/],
    [{ dim: -1 }, /"dim"/],
    [{ activation: 'tanh' }, /"activation"/],
    [{ dropout: 1.5 }, /"dropout"/],
    [{ id2label: { '0': 'a', '2': 'b' } }, /id2label/],
    [{ id2label: { '0': 'a', '1': 'b' }, num_labels: 3 }, /num_labels/],
    [{ id2label: { '0': 'a' }, label2id: { a: 4 } }, /label2id/],
    [{ vocab_size: 10, pad_token_id: 10 }, /pad_token_id/],
  ];
  for (const [json, re] of cases) {
    assert.throws(() => parseDistilBertConfig(json, 'x/config.json'), (e: unknown) => e instanceof UserError && re.test(e.message) && e.message.startsWith('x/config.json'), JSON.stringify(json));
  }
});

test('createTinyModelDir writes a config with the real vocab size and tokenizer files', () => {
  const t = tempDir();
  try {
    const dir = createTinyModelDir(join(t.path, 'tiny'), { dim: 16, n_layers: 1, n_heads: 2, numLabels: 3 });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    const c = parseDistilBertConfig(readJson(join(dir, 'config.json')));
    assert.equal(c.vocab_size, 30522);
    assert.equal(c.dim, 16);
    assert.equal(c.hidden_dim, 64);
    assert.equal(c.num_labels, 3);
    // rewriting the same folder: a config-only folder again (stale weights would shadow the from-config init)
    writeFileSync(join(dir, 'model.safetensors'), 'stale');
    createTinyModelDir(dir, { vocabDir: sharedPath('fixtures/distilbert/tiny-a') });
    assert.equal(parseDistilBertConfig(readJson(join(dir, 'config.json'))).vocab_size, 189);
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'], 'no stale tokenizer.json');
    assert.deepEqual(readdirSync(t.path), ['tiny']);
  } finally {
    t.cleanup();
  }
});
