/** DistilBertForSequenceClassification training behaviour beyond the golden fixtures: dropout, accumulation, clipping, padding row, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers.js';
import { parseDistilBertConfig, readSafetensors, type DistilBertConfig, type ParameterMap } from '../../src/model/index.js';
import { DistilBertForSequenceClassification, hfNoDecay, type Batch } from '../../src/model/distilbert.js';
import { isUserError } from '../../src/util/index.js';

const dir = sharedPath('fixtures', 'distilbert', 'tiny-c');
const config = (): DistilBertConfig => parseDistilBertConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
const params = (): ParameterMap => readSafetensors(`${dir}/model.safetensors`).tensors;
const inputs = JSON.parse(readFileSync(`${dir}/inputs.json`, 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[] };
const noDropout = (c: DistilBertConfig): DistilBertConfig => ({ ...c, dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 });

function batchOf(rows: number[]): Batch {
  const S = (inputs.input_ids[0] as number[]).length;
  return {
    inputIds: Int32Array.from(rows.flatMap((r) => inputs.input_ids[r] as number[])),
    attentionMask: Int32Array.from(rows.flatMap((r) => inputs.attention_mask[r] as number[])),
    labels: Int32Array.from(rows.map((r) => inputs.labels[r] as number)),
    batchSize: rows.length,
    seqLength: S,
  };
}
const opt = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01, noDecay: hfNoDecay };
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

test('dropout: same seed → same loss and gradients; another seed differs; eval forward has none', async () => {
  const net = await DistilBertForSequenceClassification.create(config(), params(), { intraOpNumThreads: 1 });
  const b = batchOf([0, 1, 2, 3]);
  const evalLoss = (await net.forward(b)).loss as number;
  const r1 = await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 7 });
  const g1 = new Map([...(net.gradients() as ParameterMap)].map(([k, v]) => [k, Float32Array.from(v.data)]));
  await net.optimizerStep({ lr: 0, optimizer: { ...opt, weightDecay: 0 } }); // lr 0: clears the gradients, weights unchanged
  const r2 = await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 7 });
  const g2 = net.gradients() as ParameterMap;
  assert.equal(r1.loss, r2.loss);
  for (const [k, v] of g2) assert.equal(maxDiff(v.data, g1.get(k) as Float32Array), 0, k);
  await net.optimizerStep({ lr: 0, optimizer: { ...opt, weightDecay: 0 } });
  const r3 = await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 8 });
  assert.notEqual(r3.loss, r1.loss);
  assert.notEqual(r1.loss, evalLoss);
  assert.ok(Math.abs((await net.forward(b)).loss as number - evalLoss) < 1e-6, 'lr 0 steps must leave the weights alone');
  await net.dispose();
});

test('gradient accumulation: two half batches with lossScale 0.5 equal one full batch (same AdamW result)', async () => {
  const full = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const acc = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const fr = await full.accumulateGradients(batchOf([0, 1, 2, 3]), { lossScale: 1, dropoutSeed: 0 });
  const a1 = await acc.accumulateGradients(batchOf([0, 1]), { lossScale: 0.5, dropoutSeed: 0 });
  const a2 = await acc.accumulateGradients(batchOf([2, 3]), { lossScale: 0.5, dropoutSeed: 1 });
  assert.ok(Math.abs((a1.loss + a2.loss) / 2 - fr.loss) < 1e-6);
  const gf = full.gradients() as ParameterMap;
  const ga = acc.gradients() as ParameterMap;
  for (const [k, v] of gf) {
    if (k.endsWith('k_lin.bias')) continue; // mathematically zero: float noise on both sides
    const scale = Math.max(1e-6, ...Array.from(v.data, Math.abs));
    assert.ok(maxDiff(v.data, (ga.get(k) as { data: Float32Array }).data) <= 1e-5 * scale, k);
  }
  const n1 = await full.optimizerStep({ lr: 1e-3, maxGradNorm: 1, optimizer: opt });
  const n2 = await acc.optimizerStep({ lr: 1e-3, maxGradNorm: 1, optimizer: opt });
  assert.ok(Math.abs(n1.gradNorm - n2.gradNorm) <= 1e-5 * n1.gradNorm);
  const lf = (await full.forward(batchOf([0, 1, 2, 3]))).logits;
  const la = (await acc.forward(batchOf([0, 1, 2, 3]))).logits;
  assert.ok(maxDiff(lf, la) < 1e-4);
  await full.dispose();
  await acc.dispose();
});

test('optimizerStep returns the pre-clip global L2 norm; clipping changes the second step', async () => {
  const net = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const b = batchOf([0, 1, 2, 3]);
  await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 0 });
  let ss = 0;
  for (const [, v] of net.gradients() as ParameterMap) for (const x of v.data) ss += x * x;
  const { gradNorm } = await net.optimizerStep({ lr: 1e-4, maxGradNorm: 1e-3, optimizer: opt });
  assert.ok(Math.abs(gradNorm - Math.sqrt(ss)) <= 1e-5 * Math.sqrt(ss), `${gradNorm} vs ${Math.sqrt(ss)}`);
  assert.ok(gradNorm > 1e-3, 'the fixture gradient is larger than the clip threshold');
  await assert.rejects(net.optimizerStep({ lr: 1e-4, optimizer: opt }), /no gradients accumulated/);
  // same two steps without clipping end somewhere else (Adam's second step sees the gradient scale)
  const other = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  await other.accumulateGradients(b, { lossScale: 1, dropoutSeed: 0 });
  await other.optimizerStep({ lr: 1e-4, optimizer: opt });
  await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 0 });
  await other.accumulateGradients(b, { lossScale: 1, dropoutSeed: 0 });
  await net.optimizerStep({ lr: 1e-4, maxGradNorm: 1e-3, optimizer: opt });
  await other.optimizerStep({ lr: 1e-4, optimizer: opt });
  const w1 = (net.parameters().get('classifier.weight') as { data: Float32Array }).data;
  const w2 = (other.parameters().get('classifier.weight') as { data: Float32Array }).data;
  assert.ok(maxDiff(w1, w2) > 1e-7);
  await net.dispose();
  await other.dispose();
});

test('word_embeddings gradient (scattered from sparse rows): a fresh step after other batches holds only this batch\'s rows', async () => {
  const W = 'distilbert.embeddings.word_embeddings.weight';
  const used = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const fresh = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const lr0 = { lr: 0, optimizer: { ...opt, weightDecay: 0 } };
  await used.accumulateGradients(batchOf([0, 1]), { lossScale: 0.5, dropoutSeed: 0 });
  await used.accumulateGradients(batchOf([3]), { lossScale: 0.5, dropoutSeed: 0 });
  await used.optimizerStep(lr0);
  await used.accumulateGradients(batchOf([2]), { lossScale: 1, dropoutSeed: 0 });
  await fresh.accumulateGradients(batchOf([2]), { lossScale: 1, dropoutSeed: 0 });
  const a = (used.gradients() as ParameterMap).get(W)?.data as Float32Array;
  const b = (fresh.gradients() as ParameterMap).get(W)?.data as Float32Array;
  assert.equal(maxDiff(a, b), 0);
  assert.ok(b.some((v) => v !== 0));
  await used.dispose();
  await fresh.dispose();
});

test('the padding row of word_embeddings never gets a gradient, even where [PAD] is attended', async () => {
  const net = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const b = batchOf([1, 2]);
  const ids = b.inputIds as Int32Array;
  ids[3] = 0; // a [PAD] id at an attended position
  await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: 0 });
  const g = (net.gradients() as ParameterMap).get('distilbert.embeddings.word_embeddings.weight') as { shape: number[]; data: Float32Array };
  const D = g.shape[1] as number;
  assert.ok(g.data.subarray(0, D).every((v) => v === 0));
  assert.ok(g.data.some((v) => v !== 0));
  await net.dispose();
});

test('bad input is one clear UserError', async () => {
  const net = await DistilBertForSequenceClassification.create(config(), params(), { intraOpNumThreads: 1 });
  const b = batchOf([0, 1]);
  await assert.rejects(net.forward({ ...b, labels: Int32Array.from([0, 5]) }), (e: unknown) => isUserError(e) && /label 5 of example 1/.test((e as Error).message));
  await assert.rejects(net.forward({ ...b, seqLength: 5 }), (e: unknown) => isUserError(e) && /batchSize×seqLength/.test((e as Error).message));
  const long = 20; // max_position_embeddings is 16 in tiny-c
  await assert.rejects(net.forward({ inputIds: new Int32Array(long), attentionMask: new Int32Array(long).fill(1), batchSize: 1, seqLength: long }), /exceeds max_position_embeddings 16/);
  await assert.rejects(net.forward({ ...b, inputIds: new Int32Array(b.inputIds.length).fill(999) }), /outside the vocabulary/);
  const p = params();
  p.delete('classifier.bias');
  await assert.rejects(DistilBertForSequenceClassification.create(config(), p), /missing 'classifier.bias'/);
  await assert.rejects(DistilBertForSequenceClassification.create(config(), params(), { executionProvider: 'no-such-ep' }), (e: unknown) => isUserError(e) && /execution provider 'no-such-ep' is not available/.test((e as Error).message));
  await net.dispose();
});

test('BigInt64 batches and three labels work; forward without labels returns logits only', async () => {
  const c = config();
  const three = { ...c, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 }, num_labels: 3 };
  const p = params();
  const D = c.dim;
  p.set('classifier.weight', { shape: [3, D], data: Float32Array.from({ length: 3 * D }, (_, i) => Math.sin(i) * 0.1) });
  p.set('classifier.bias', { shape: [3], data: Float32Array.from([0.1, -0.2, 0.05]) });
  const net = await DistilBertForSequenceClassification.create(three, p, { intraOpNumThreads: 1 });
  const b = batchOf([0, 3]);
  const big: Batch = { ...b, inputIds: BigInt64Array.from(b.inputIds as Int32Array, (v) => BigInt(v)), attentionMask: BigInt64Array.from(b.attentionMask as Int32Array, (v) => BigInt(v)), labels: BigInt64Array.from([2n, 0n]) };
  const r = await net.forward(big);
  assert.equal(r.logits.length, 6);
  // cross-entropy by hand from the logits
  let ce = 0;
  [2, 0].forEach((y, i) => {
    const row = Array.from(r.logits.subarray(i * 3, i * 3 + 3));
    const m = Math.max(...row);
    ce += -(row[y] as number) + m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  });
  assert.ok(Math.abs((r.loss as number) - ce / 2) < 1e-5);
  const nolabels = await net.forward({ ...b, labels: undefined });
  assert.equal(nolabels.loss, undefined);
  assert.ok(maxDiff(nolabels.logits, r.logits) < 1e-6);
  await net.accumulateGradients(big, { lossScale: 1, dropoutSeed: 3 });
  await net.optimizerStep({ lr: 1e-3, optimizer: opt });
  await net.dispose();
});

test('the ONNX-graph AdamW fallback (TUNESCOPE_ADAMW=onnx) matches the WASM AdamW over two clipped steps', async () => {
  const b = batchOf([0, 1, 2, 3]);
  const run = async (): Promise<{ backend: string; w: Float32Array; norms: number[] }> => {
    const net = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
    const norms: number[] = [];
    for (let s = 0; s < 2; s++) {
      await net.accumulateGradients(b, { lossScale: 1, dropoutSeed: s });
      norms.push((await net.optimizerStep({ lr: 1e-3, maxGradNorm: 0.5, optimizer: opt })).gradNorm);
    }
    const w = (net.parameters().get('distilbert.transformer.layer.1.ffn.lin1.weight') as { data: Float32Array }).data;
    const backend = net.optimizerBackend;
    await net.dispose();
    return { backend, w, norms };
  };
  const wasm = await run();
  const prev = process.env.TUNESCOPE_ADAMW;
  process.env.TUNESCOPE_ADAMW = 'onnx';
  let onnx: Awaited<ReturnType<typeof run>>;
  try {
    onnx = await run();
  } finally {
    if (prev === undefined) delete process.env.TUNESCOPE_ADAMW;
    else process.env.TUNESCOPE_ADAMW = prev;
  }
  assert.equal(wasm.backend, 'wasm');
  assert.equal(onnx.backend, 'onnx');
  wasm.norms.forEach((n, i) => assert.ok(Math.abs(n - (onnx.norms[i] as number)) <= 1e-5 * n));
  assert.ok(maxDiff(wasm.w, onnx.w) < 1e-6, `max diff ${maxDiff(wasm.w, onnx.w)}`);
});

test('one session serves every padded length, and extra padding does not change the logits', async () => {
  const net = await DistilBertForSequenceClassification.create(noDropout(config()), params(), { intraOpNumThreads: 1 });
  const full = batchOf([1, 2]); // true lengths 5 and 5, padded to 12
  const S = 5;
  const cut = (a: Int32Array | BigInt64Array): Int32Array => Int32Array.from([0, 1].flatMap((r) => Array.from(a.subarray(r * 12, r * 12 + S) as Int32Array)));
  const short: Batch = { inputIds: cut(full.inputIds), attentionMask: cut(full.attentionMask), labels: full.labels, batchSize: 2, seqLength: S };
  const a = await net.forward(full);
  const b = await net.forward(short);
  const c = await net.forward(full);
  assert.ok(maxDiff(a.logits, b.logits) < 1e-5, `padding changed the logits by ${maxDiff(a.logits, b.logits)}`);
  assert.equal(maxDiff(a.logits, c.logits), 0);
  // training graph too: the same gradients for the classifier either way
  await net.accumulateGradients(short, { lossScale: 1, dropoutSeed: 0 });
  const gs = Float32Array.from(((net.gradients() as ParameterMap).get('classifier.weight') as { data: Float32Array }).data);
  await net.optimizerStep({ lr: 0, optimizer: { ...opt, weightDecay: 0 } });
  await net.accumulateGradients(full, { lossScale: 1, dropoutSeed: 0 });
  const gf = ((net.gradients() as ParameterMap).get('classifier.weight') as { data: Float32Array }).data;
  assert.ok(maxDiff(gs, gf) < 1e-5 * Math.max(...Array.from(gf, Math.abs)));
  await net.dispose();
});

test('a disposed model says so instead of running', async () => {
  const net = await DistilBertForSequenceClassification.create(config(), params(), { intraOpNumThreads: 1 });
  await net.dispose();
  await assert.rejects(net.forward(batchOf([0])), /used after dispose/);
  assert.throws(() => net.parameters(), /used after dispose/);
});
