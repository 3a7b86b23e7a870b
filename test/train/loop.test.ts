import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainLoop, evaluateSplit, type TrainableClassifier, type OptimizerConfig } from '../../src/train/loop.js';
import { collate, lengthGroupedIndices, epochOrder, chunk, type TokenizedSplit } from '../../src/train/dataloader.js';
import type { Batch } from '../../src/model/index.js';
import { resolveTrainingArguments } from '../../src/train/arguments.js';
import { lrLambda } from '../../src/train/schedule.js';
import { Rng } from '../../src/util/index.js';

/**
 * A stand-in for the engine: softmax regression on hashed bag-of-token features with plain SGD,
 * plus "dropout" driven by dropoutSeed, recording every call the loop makes.
 */
class FakeClassifier implements TrainableClassifier {
  readonly dim = 64;
  w: Float64Array;
  grad: Float64Array;
  calls: { micro: { lossScale: number; dropoutSeed: number; batchSize: number; seqLength: number }[]; steps: { lr: number; maxGradNorm?: number; optimizer: OptimizerConfig }[] } = { micro: [], steps: [] };
  constructor(readonly numLabels = 2) {
    this.w = new Float64Array(this.dim * numLabels);
    this.grad = new Float64Array(this.w.length);
  }
  private features(b: Batch, row: number): Float64Array {
    const f = new Float64Array(this.dim);
    for (let t = 0; t < b.seqLength; t++) if (b.attentionMask[row * b.seqLength + t]) f[Number(b.inputIds[row * b.seqLength + t]) % this.dim]! += 1;
    return f;
  }
  private logits(f: Float64Array): number[] {
    return Array.from({ length: this.numLabels }, (_, k) => f.reduce((s, x, j) => s + x * this.w[j * this.numLabels + k]!, 0));
  }
  async forward(b: Batch): Promise<{ logits: Float32Array }> {
    const out = new Float32Array(b.batchSize * this.numLabels);
    for (let r = 0; r < b.batchSize; r++) out.set(this.logits(this.features(b, r)), r * this.numLabels);
    return { logits: out };
  }
  async accumulateGradients(b: Batch, o: { lossScale: number; dropoutSeed: number }): Promise<{ loss: number }> {
    this.calls.micro.push({ ...o, batchSize: b.batchSize, seqLength: b.seqLength });
    const rng = new Rng(o.dropoutSeed);
    let loss = 0;
    for (let r = 0; r < b.batchSize; r++) {
      const f = this.features(b, r).map((x) => (rng.uniform() < 0.1 ? 0 : x / 0.9));
      const z = this.logits(f);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, c) => a + c, 0);
      const y = Number(b.labels![r]);
      loss += -Math.log(e[y]! / s);
      for (let k = 0; k < this.numLabels; k++) {
        const g = (e[k]! / s - (k === y ? 1 : 0)) / b.batchSize;
        for (let j = 0; j < this.dim; j++) this.grad[j * this.numLabels + k]! += g * f[j]! * o.lossScale;
      }
    }
    return { loss: loss / b.batchSize };
  }
  async optimizerStep(o: { lr: number; maxGradNorm?: number; optimizer: OptimizerConfig }): Promise<{ gradNorm: number }> {
    this.calls.steps.push(o);
    const norm = Math.sqrt(this.grad.reduce((s, g) => s + g * g, 0));
    for (let i = 0; i < this.w.length; i++) this.w[i]! -= o.lr * this.grad[i]!;
    this.grad.fill(0);
    return { gradNorm: norm };
  }
}

/** Separable toy data: label 1 sentences use tokens 10..19, label 0 tokens 20..29, lengths 3..12. */
function toy(n: number, seed: number): TokenizedSplit {
  const rng = new Rng(seed);
  const ids: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const len = 1 + rng.int(10);
    ids.push([101, ...Array.from({ length: len }, () => (y ? 10 : 20) + rng.int(10)), 102]);
    labels.push(y);
  }
  return { ids, labels };
}

test('collate pads to the longest sequence (or max length) with pad id and mask 0', () => {
  const split: TokenizedSplit = { ids: [[101, 5, 102], [101, 6, 7, 8, 102]], labels: [0, 1] };
  const b = collate(split, [0, 1], { padTokenId: 0 });
  assert.equal(b.seqLength, 5);
  assert.deepEqual([...b.inputIds].map(Number), [101, 5, 102, 0, 0, 101, 6, 7, 8, 102]);
  assert.deepEqual([...b.attentionMask].map(Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...b.labels!].map(Number), [0, 1]);
  assert.equal(collate(split, [0], { padTokenId: 0, padToLength: 8 }).seqLength, 8);
});

test('group_by_length: megabatches sorted longest first, overall longest at the front, a permutation', () => {
  const lengths = Array.from({ length: 200 }, (_, i) => (i * 37) % 101);
  const idx = lengthGroupedIndices(lengths, 4, new Rng(3));
  assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  assert.equal(lengths[idx[0]!], Math.max(...lengths));
  // mega_batch_mult = min(200 // 16, 50) = 12 -> megabatches of 48, each non-increasing after the first element
  for (let m = 0; m < 200; m += 48) {
    const mb = idx.slice(m, m + 48).map((i) => lengths[i]!);
    for (let j = 2; j < mb.length; j++) assert.ok(mb[j - 1]! >= mb[j]!, `megabatch ${m / 48} not sorted`);
  }
  const a = epochOrder(lengths, { dataSeed: 1, epoch: 0, groupByLength: false, batchSize: 4 });
  assert.deepEqual(a, epochOrder(lengths, { dataSeed: 1, epoch: 0, groupByLength: false, batchSize: 4 }));
  assert.notDeepEqual(a, epochOrder(lengths, { dataSeed: 1, epoch: 1, groupByLength: false, batchSize: 4 }));
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

test('loop: gradient accumulation chunks, loss scale, per-step lr from the schedule, clipping and optimizer config', async () => {
  const train = toy(37, 1); // batch 4 -> 10 batches; GA 3 -> chunks 3,3,3,1 -> 4 steps per epoch
  const model = new FakeClassifier();
  const args = resolveTrainingArguments({ per_device_train_batch_size: 4, gradient_accumulation_steps: 3, num_train_epochs: 2, warmup_steps: 2, learning_rate: 0.1, weight_decay: 0.01 });
  const res = await trainLoop({ model, train, eval: toy(10, 2), numLabels: 2, padTokenId: 0, args, quiet: true });
  assert.equal(res.plan.num_update_steps_per_epoch, 4);
  assert.equal(res.steps, 8);
  assert.equal(model.calls.steps.length, 8);
  assert.equal(model.calls.micro.length, 20);
  assert.deepEqual(model.calls.micro.slice(0, 10).map((m) => m.lossScale), [1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1]);
  assert.deepEqual(model.calls.micro.slice(0, 10).map((m) => m.batchSize), [4, 4, 4, 4, 4, 4, 4, 4, 4, 1]);
  assert.deepEqual(model.calls.steps.map((s) => s.lr), Array.from({ length: 8 }, (_, k) => 0.1 * lrLambda('linear', k, 2, 8)));
  assert.equal(model.calls.steps[0]!.maxGradNorm, 1);
  assert.deepEqual(model.calls.steps[0]!.optimizer.betas, [0.9, 0.999]);
  assert.equal(model.calls.steps[0]!.optimizer.weightDecay, 0.01);
  assert.equal(model.calls.steps[0]!.optimizer.noDecay!('classifier.bias'), true);
  assert.equal(res.epochs.length, 2);
  assert.equal(res.epochs[1]!.step, 8);
  assert.ok(res.epochs[0]!.eval !== null);
  assert.equal(res.final, res.epochs[1]!.eval);
  assert.equal(res.log_history.length, 8);
  // dynamic padding: each micro-batch is as long as its longest example, never longer than 12
  assert.ok(model.calls.micro.every((m) => m.seqLength <= 12));
});

test('loop: same seed reproduces the loss curve exactly, another seed differs; training lowers the loss', async () => {
  const run = async (seed: number) => {
    const model = new FakeClassifier();
    const args = resolveTrainingArguments({ per_device_train_batch_size: 8, num_train_epochs: 3, learning_rate: 0.5, seed });
    return trainLoop({ model, train: toy(64, 5), eval: toy(32, 6), numLabels: 2, padTokenId: 0, args, quiet: true });
  };
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  assert.deepEqual(a.log_history.map((l) => l.loss), b.log_history.map((l) => l.loss));
  assert.notDeepEqual(a.log_history.map((l) => l.loss), c.log_history.map((l) => l.loss));
  assert.ok(a.epochs[2]!.train_loss < a.epochs[0]!.train_loss);
  assert.ok(a.final.accuracy > 0.9, `accuracy ${a.final.accuracy}`);
  assert.ok(a.final.loss < Math.log(2));
});

test('loop: max_steps stops early; AbortSignal aborts; pad_to_max_length pads every batch', async () => {
  const model = new FakeClassifier();
  const args = resolveTrainingArguments({ per_device_train_batch_size: 4, num_train_epochs: 5, max_steps: 3, pad_to_max_length: true, max_seq_length: 16 });
  const res = await trainLoop({ model, train: toy(40, 1), eval: toy(8, 2), numLabels: 2, padTokenId: 0, args, quiet: true });
  assert.equal(res.steps, 3);
  assert.ok(model.calls.micro.every((m) => m.seqLength === 16));
  const ctl = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    trainLoop({ model: new FakeClassifier(), train: toy(40, 1), eval: toy(8, 2), numLabels: 2, padTokenId: 0, args: resolveTrainingArguments({ per_device_train_batch_size: 4 }), quiet: true, signal: ctl.signal,
      onProgress: (p) => { seen.push(p.step); if (p.step === 2) ctl.abort(); } }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.deepEqual(seen, [1, 2]);
  const ev = await evaluateSplit(new FakeClassifier(3), { ids: [[1, 2], [3]], labels: [0, 2] }, { numLabels: 3, padTokenId: 0, batchSize: 1 });
  assert.equal(ev.num_samples, 2);
  assert.equal(ev.roc_auc, undefined);
});

test('loop: HF data_seed orders the data, seed drives dropout; no data_seed means the data order follows seed', async () => {
  const run = async (a: { seed: number; data_seed?: number }) => {
    const model = new FakeClassifier();
    const args = resolveTrainingArguments({ per_device_train_batch_size: 4, num_train_epochs: 1, learning_rate: 0.5, ...a });
    const orders: number[][] = [];
    const orig = model.accumulateGradients.bind(model);
    model.accumulateGradients = async (b, o) => {
      orders.push([...b.labels!].map(Number).concat(b.seqLength));
      return orig(b, o);
    };
    await trainLoop({ model, train: toy(24, 5), eval: toy(8, 6), numLabels: 2, padTokenId: 0, args, quiet: true });
    return { dropout: model.calls.micro.map((m) => m.dropoutSeed), order: orders };
  };
  const base = await run({ seed: 1 });
  const sameData = await run({ seed: 2, data_seed: 1 });
  const otherData = await run({ seed: 1, data_seed: 7 });
  assert.deepEqual(sameData.order, base.order, 'data_seed 1 gives seed 1\'s data order');
  assert.notDeepEqual(sameData.dropout, base.dropout, 'dropout follows seed');
  assert.deepEqual(otherData.dropout, base.dropout, 'data_seed leaves dropout alone');
  assert.notDeepEqual(otherData.order, base.order);
});

test('group_by_length with gradient accumulation: megabatches of per_device_train_batch_size × gradient_accumulation_steps (HF _get_train_sampler)', async () => {
  const train = toy(37, 4);
  const lengths = train.ids.map((a) => a.length);
  const model = new FakeClassifier();
  const args = resolveTrainingArguments({ per_device_train_batch_size: 4, gradient_accumulation_steps: 3, num_train_epochs: 1, group_by_length: true, seed: 9 });
  await trainLoop({ model, train, eval: toy(8, 2), numLabels: 2, padTokenId: 0, args, quiet: true });
  const padded = (order: number[]): number[] => chunk(order, 4).map((b) => Math.max(...b.map((i) => lengths[i]!)));
  const seen = model.calls.micro.map((m) => m.seqLength);
  // 37 // (12·4) = 0 → one 12-example megabatch at a time; with the per-device size it would be 8 (37 // 16 = 2)
  assert.deepEqual(seen, padded(lengthGroupedIndices(lengths, 12, new Rng(9).fork(0))));
  assert.notDeepEqual(seen, padded(lengthGroupedIndices(lengths, 4, new Rng(9).fork(0))));
});

test('loop: resuming from a mid-epoch loop state replays the remaining steps exactly (sampler position, dropout stream, sums)', async () => {
  const args = resolveTrainingArguments({ per_device_train_batch_size: 4, gradient_accumulation_steps: 3, num_train_epochs: 2, learning_rate: 0.2, warmup_steps: 1 });
  const train = toy(37, 1);
  const ev = toy(10, 2);
  const a = new FakeClassifier();
  const states: import('../../src/train/loop.js').LoopState[] = [];
  let weightsAt5: Float64Array | null = null;
  const full = await trainLoop({
    model: a, train, eval: ev, numLabels: 2, padTokenId: 0, args, quiet: true,
    checkpoint: { due: (s) => s === 5 || s === 4, save: (st) => { states.push(structuredClone(st)); if (st.global_step === 5) weightsAt5 = a.w.slice(); } },
  });
  assert.deepEqual(states.map((s) => [s.global_step, s.epoch_index, s.updates_done_in_epoch]), [[4, 1, 0], [5, 1, 1]]);
  const b = new FakeClassifier();
  b.w = weightsAt5!;
  const resumed = await trainLoop({ model: b, train, eval: ev, numLabels: 2, padTokenId: 0, args, quiet: true, resume: states[1]! });
  assert.deepEqual(resumed.log_history, full.log_history);
  assert.deepEqual(b.calls.micro, a.calls.micro.slice(-b.calls.micro.length));
  assert.equal(resumed.train_loss, full.train_loss);
  assert.deepEqual(b.w, a.w);
});
