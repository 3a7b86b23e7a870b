import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadPretrained, savePretrained, readSafetensors, writeSafetensors, createTinyModelDir, type ParameterMap,
} from '../../src/model/index.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { UserError } from '../../src/util/index.js';
import { sharedPath, tempDir } from '../helpers.js';

const TINY_A = sharedPath('fixtures/distilbert/tiny-a');

function copyFixture(to: string, files = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']): void {
  for (const f of files) copyFileSync(join(TINY_A, f), join(to, f));
}

test('loads the fixture bit-identically; save → load round trip; save writes what transformers needs', async () => {
  const m = await loadPretrained(TINY_A);
  assert.deepEqual(m.notes, []);
  assert.equal(m.tokenizerDir, TINY_A);
  const raw = readSafetensors(join(TINY_A, 'model.safetensors')).tensors;
  for (const [k, t] of raw) assert.deepEqual(m.parameters.get(k)!.data, t.data, k);
  const t = tempDir();
  try {
    const out = join(t.path, 'saved');
    savePretrained(out, m);
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt']);
    assert.deepEqual(readFileSync(join(out, 'model.safetensors')), readFileSync(join(TINY_A, 'model.safetensors')));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual(cfg.architectures, ['DistilBertForSequenceClassification']);
    assert.equal(cfg.model_type, 'distilbert');
    assert.equal(cfg.torch_dtype, 'float32');
    assert.equal(cfg.tie_weights_, true);
    assert.deepEqual(cfg.id2label, { '0': 'NEGATIVE', '1': 'POSITIVE' });
    assert.deepEqual(readSafetensors(join(out, 'model.safetensors')).metadata, { format: 'pt' });
    const back = await loadPretrained(out);
    for (const [k, v] of m.parameters) assert.deepEqual(back.parameters.get(k)!.data, v.data, k);
    assert.deepEqual((await loadTokenizer(out)).encode('loved it!'), (await loadTokenizer(TINY_A)).encode('loved it!'));
    // overwrite in place, tokenizer taken from the folder being replaced
    writeFileSync(join(out, 'trainer_state.json'), '{}');
    writeFileSync(join(out, 'model.safetensors.index.json'), '{"weight_map": {}}');
    savePretrained(out, { ...back, tokenizerDir: out });
    assert.ok(existsSync(join(out, 'vocab.txt')));
    assert.ok(existsSync(join(out, 'trainer_state.json')), 'files that are not ours are kept');
    assert.ok(!existsSync(join(out, 'model.safetensors.index.json')), 'stale shard index removed');
    assert.deepEqual(readFileSync(join(out, 'model.safetensors')), readFileSync(join(TINY_A, 'model.safetensors')));
    assert.deepEqual(readdirSync(t.path), ['saved']);
  } finally {
    t.cleanup();
  }
});

test('config-only folder initialises from the config with the seed (HF from_config)', async () => {
  const t = tempDir();
  try {
    const dir = createTinyModelDir(join(t.path, 'tiny'), { dim: 16, n_layers: 1, n_heads: 2 });
    const a = await loadPretrained(dir, { seed: 3 });
    const b = await loadPretrained(dir, { seed: 3 });
    const c = await loadPretrained(dir, { seed: 4 });
    assert.match(a.notes.join(' '), /initialised from config\.json with seed 3/);
    assert.equal(a.parameters.get('distilbert.embeddings.word_embeddings.weight')!.shape[0], 30522);
    assert.deepEqual(a.parameters.get('classifier.weight')!.data, b.parameters.get('classifier.weight')!.data);
    assert.notDeepEqual(a.parameters.get('classifier.weight')!.data, c.parameters.get('classifier.weight')!.data);
    assert.equal(a.tokenizerDir, dir);
  } finally {
    t.cleanup();
  }
});

test('different num_labels → new head; other heads ignored with a note; bare DistilBertModel keys; gamma/beta names', async () => {
  const t = tempDir();
  try {
    const m3 = await loadPretrained(TINY_A, { numLabels: 3, seed: 1 });
    assert.equal(m3.config.num_labels, 3);
    assert.deepEqual(m3.parameters.get('classifier.weight')!.shape, [3, 32]);
    assert.match(m3.notes.join('\n'), /classifier\.weight, classifier\.bias/);
    const raw = readSafetensors(join(TINY_A, 'model.safetensors')).tensors;
    assert.deepEqual(m3.parameters.get('pre_classifier.weight')!.data, raw.get('pre_classifier.weight')!.data, 'pre_classifier keeps its weights');
    // a masked-LM style checkpoint without the distilbert. prefix and with an old gamma/beta name
    const bare: ParameterMap = new Map();
    for (const [k, v] of raw) {
      if (k.startsWith('pre_classifier') || k.startsWith('classifier')) continue;
      bare.set(k.replace(/^distilbert\./, '').replace('embeddings.LayerNorm.weight', 'embeddings.LayerNorm.gamma'), v);
    }
    bare.set('vocab_projector.weight', { shape: [189, 32], data: new Float32Array(189 * 32) });
    bare.set('vocab_projector.bias', { shape: [189], data: new Float32Array(189) });
    bare.set('vocab_layer_norm.weight', { shape: [32], data: new Float32Array(32) });
    bare.set('embeddings.position_ids', { shape: [1, 64], data: new Float32Array(64) });
    const dir = join(t.path, 'mlm');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    copyFixture(dir, ['config.json', 'vocab.txt']);
    writeSafetensors(join(dir, 'model.safetensors'), bare, { format: 'pt' });
    const m = await loadPretrained(dir, { seed: 5 });
    const notes = m.notes.join('\n');
    assert.match(notes, /ignored checkpoint keys.*vocab_layer_norm\.\* \(1\), vocab_projector\.\* \(2\)/);
    assert.doesNotMatch(notes, /position_ids/);
    assert.match(notes, /pre_classifier\.weight, pre_classifier\.bias, classifier\.weight, classifier\.bias/);
    assert.deepEqual(m.parameters.get('distilbert.embeddings.LayerNorm.weight')!.data, raw.get('distilbert.embeddings.LayerNorm.weight')!.data);
    assert.ok(m.parameters.get('pre_classifier.bias')!.data.every((v) => v === 0));
    assert.equal(m.parameters.size, raw.size);
  } finally {
    t.cleanup();
  }
});

test('sharded safetensors (model.safetensors.index.json) load like one file', async () => {
  const t = tempDir();
  try {
    copyFixture(t.path, ['config.json', 'vocab.txt']);
    const raw = readSafetensors(join(TINY_A, 'model.safetensors')).tensors;
    const names = [...raw.keys()];
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weight_map: Record<string, string> = {};
    shards.forEach((ns, i) => {
      const f = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(t.path, f), new Map(ns.map((n) => [n, raw.get(n)!])), { format: 'pt' });
      for (const n of ns) weight_map[n] = f;
    });
    writeFileSync(join(t.path, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
    const m = await loadPretrained(t.path);
    assert.deepEqual(m.notes, []);
    for (const [k, v] of raw) assert.deepEqual(m.parameters.get(k)!.data, v.data, k);
  } finally {
    t.cleanup();
  }
});

test('bad checkpoints: pickle only, missing encoder weights, wrong shapes, no config, not a folder', async () => {
  const t = tempDir();
  const { mkdirSync } = await import('node:fs');
  try {
    const bin = join(t.path, 'bin');
    mkdirSync(bin);
    copyFixture(bin, ['config.json']);
    writeFileSync(join(bin, 'pytorch_model.bin'), 'PK');
    await assert.rejects(loadPretrained(bin), (e: unknown) => e instanceof UserError && /pytorch_model\.bin/.test(e.message) && /safe_serialization/.test(e.message));
    const partial = join(t.path, 'partial');
    mkdirSync(partial);
    copyFixture(partial, ['config.json']);
    const raw = readSafetensors(join(TINY_A, 'model.safetensors')).tensors;
    raw.delete('distilbert.transformer.layer.1.ffn.lin2.weight');
    writeSafetensors(join(partial, 'model.safetensors'), raw);
    await assert.rejects(loadPretrained(partial), (e: unknown) => e instanceof UserError && /layer\.1\.ffn\.lin2\.weight/.test(e.message));
    const shapes = join(t.path, 'shapes');
    mkdirSync(shapes);
    writeFileSync(join(shapes, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(TINY_A, 'config.json'), 'utf8')), hidden_dim: 128 }));
    copyFileSync(join(TINY_A, 'model.safetensors'), join(shapes, 'model.safetensors'));
    await assert.rejects(loadPretrained(shapes), (e: unknown) => e instanceof UserError && /lin1\.weight has shape \[64, 32\] but config\.json implies \[128, 32\]/.test(e.message));
    // a config.json without "dim": HF's default 768 applies, and the error says so (the real cause, not just a shape)
    const nodim = join(t.path, 'nodim');
    mkdirSync(nodim);
    const { dim: _dim, ...cfgNoDim } = JSON.parse(readFileSync(join(TINY_A, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(nodim, 'config.json'), JSON.stringify(cfgNoDim));
    copyFileSync(join(TINY_A, 'model.safetensors'), join(nodim, 'model.safetensors'));
    await assert.rejects(loadPretrained(nodim), (e: unknown) => e instanceof UserError && /implies \[\d+, 768\] \(config\.json has no "dim", so HF's default dim=768 applies\)$/.test(e.message));
    await assert.rejects(loadPretrained(t.path), (e: unknown) => e instanceof UserError && /no config\.json/.test(e.message));
    await assert.rejects(loadPretrained(join(TINY_A, 'config.json')), (e: unknown) => e instanceof UserError && /is a file/.test(e.message));
    await assert.rejects(loadPretrained('./no/such/dir'), (e: unknown) => e instanceof UserError && /no such folder/.test(e.message));
  } finally {
    t.cleanup();
  }
});

// Hub ids through a local Hub-shaped server
let server: Server;
let endpoint = '';
const repoFiles: Record<string, Record<string, Buffer>> = {};
before(async () => {
  repoFiles['acme/tiny-a'] = Object.fromEntries(['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json'].map((f) => [f, readFileSync(join(TINY_A, f))]));
  repoFiles['acme/pickle'] = { 'config.json': readFileSync(join(TINY_A, 'config.json')), 'pytorch_model.bin': Buffer.from('PK') };
  server = createServer((req, res) => {
    const m = /^\/([^/]+\/[^/]+)\/(resolve|raw)\/main\/(.+)$/.exec(new URL(req.url!, 'http://x').pathname);
    const body = m ? repoFiles[m[1]!]?.[m[3]!] : undefined;
    if (!body) {
      res.writeHead(404, { 'x-error-code': m && repoFiles[m[1]!] ? 'EntryNotFound' : 'RepoNotFound' }).end();
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': body.length }).end();
      return;
    }
    const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (range) {
      const s = Number(range[1]);
      const e = Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${body.length}`, etag: '"x"' }).end(body.subarray(s, e + 1));
    } else res.writeHead(200, { 'content-length': body.length, etag: '"x"' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('Hub ids: downloads config, weights and tokenizer into the cache; offline reuse; pickle-only repo explained', async () => {
  const cache = tempDir();
  try {
    const hub = { endpoint, cacheDir: cache.path, offline: false, retryBaseMs: 1 };
    const m = await loadPretrained('acme/tiny-a', { hub });
    assert.equal(m.source, 'hf://acme/tiny-a@main');
    assert.ok(m.tokenizerDir && m.tokenizerDir.startsWith(cache.path));
    const raw = readSafetensors(join(TINY_A, 'model.safetensors')).tensors;
    assert.deepEqual(m.parameters.get('classifier.weight')!.data, raw.get('classifier.weight')!.data);
    const off = await loadPretrained('acme/tiny-a', { hub: { ...hub, offline: true } });
    assert.deepEqual(off.parameters.get('classifier.bias')!.data, raw.get('classifier.bias')!.data);
    await assert.rejects(loadPretrained('acme/pickle', { hub }), (e: unknown) => e instanceof UserError && /only pytorch_model\.bin/.test(e.message));
    await assert.rejects(loadPretrained('acme/missing', { hub }), (e: unknown) => e instanceof UserError && /acme\/missing/.test(e.message));
  } finally {
    cache.cleanup();
  }
});
