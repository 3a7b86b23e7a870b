import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDistilBertConfig, initDistilBertParameters, distilBertParameterSpecs, readSafetensors, parseDistilBertConfig } from '../../src/model/index.js';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers.js';

const config = createDistilBertConfig({ vocab_size: 500, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 40, pad_token_id: 3, initializer_range: 0.05, num_labels: 3 });

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of a) s += v;
  const mean = s / a.length;
  let q = 0;
  for (const v of a) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length) };
}

test('parameter names and shapes match the HF state dict of the fixture', () => {
  const fx = parseDistilBertConfig(JSON.parse(readFileSync(sharedPath('fixtures/distilbert/tiny-a/config.json'), 'utf8')));
  const { tensors } = readSafetensors(sharedPath('fixtures/distilbert/tiny-a/model.safetensors'));
  const specs = distilBertParameterSpecs(fx);
  assert.deepEqual(specs.map((s) => s.name).sort(), [...tensors.keys()].sort());
  for (const s of specs) assert.deepEqual(s.shape, tensors.get(s.name)!.shape, s.name);
});

test('HF _init_weights: N(0, initializer_range) weights, zero biases, LayerNorm 1/0, padding row 0', () => {
  const p = initDistilBertParameters(config, 7);
  const we = p.get('distilbert.embeddings.word_embeddings.weight')!;
  assert.deepEqual(we.shape, [500, 32]);
  assert.ok(we.data.subarray(3 * 32, 4 * 32).every((v) => v === 0), 'padding row');
  assert.ok(we.data.subarray(2 * 32, 3 * 32).some((v) => v !== 0));
  const s = stats(we.data);
  assert.ok(Math.abs(s.mean) < 0.003 && Math.abs(s.std - 0.05) < 0.002, JSON.stringify(s));
  const lin = stats(p.get('distilbert.transformer.layer.1.ffn.lin1.weight')!.data);
  assert.ok(Math.abs(lin.std - 0.05) < 0.004, JSON.stringify(lin));
  assert.ok(p.get('distilbert.transformer.layer.0.attention.q_lin.bias')!.data.every((v) => v === 0));
  assert.ok(p.get('distilbert.transformer.layer.0.sa_layer_norm.weight')!.data.every((v) => v === 1));
  assert.ok(p.get('distilbert.embeddings.LayerNorm.bias')!.data.every((v) => v === 0));
  assert.deepEqual(p.get('classifier.weight')!.shape, [3, 32]);
  // seeded: same seed same values, other seed other values; head-only init equals the full init's head
  assert.deepEqual(initDistilBertParameters(config, 7).get('classifier.weight')!.data, p.get('classifier.weight')!.data);
  assert.notDeepEqual(initDistilBertParameters(config, 8).get('classifier.weight')!.data, p.get('classifier.weight')!.data);
  const head = initDistilBertParameters(config, 7, { only: (n) => n.startsWith('classifier.') });
  assert.deepEqual([...head.keys()], ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(head.get('classifier.weight')!.data, p.get('classifier.weight')!.data);
});

test('sinusoidal position embeddings as HF create_sinusoidal_embeddings', () => {
  const c = createDistilBertConfig({ vocab_size: 10, dim: 4, n_layers: 1, n_heads: 2, hidden_dim: 8, max_position_embeddings: 3, sinusoidal_pos_embds: true });
  const pe = initDistilBertParameters(c, 0).get('distilbert.embeddings.position_embeddings.weight')!.data;
  // pos 1: [sin(1), cos(1), sin(1/100), cos(1/100)]
  const want = [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)].map(Math.fround);
  assert.deepEqual([...pe.subarray(4, 8)], want);
  assert.deepEqual([...pe.subarray(0, 4)], [0, 1, 0, 1]);
});
