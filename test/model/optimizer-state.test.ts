/** AdamW state out and back in (optimizer.safetensors) on both optimizer backends: the next step is bit-identical. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  createDistilBertConfig, initDistilBertParameters, DistilBertForSequenceClassification, hfNoDecay,
  readOptimizerState, writeOptimizerState, type Batch,
} from '../../src/model/index.js';
import { tempDir } from '../helpers.js';

const t = tempDir();
after(() => t.cleanup());
const config = createDistilBertConfig({ vocab_size: 60, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 16 });
const batch = (k: number): Batch => ({
  inputIds: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(1 + ((i * 7 + k * 5) % 59))),
  attentionMask: BigInt64Array.from({ length: 12 }, (_, i) => (i % 6 < 5 - (k % 2) ? 1n : 0n)),
  labels: BigInt64Array.from([BigInt(k % 2), BigInt((k + 1) % 2)]),
  batchSize: 2,
  seqLength: 6,
});
const step = async (net: DistilBertForSequenceClassification, k: number): Promise<number> => {
  await net.accumulateGradients(batch(k), { lossScale: 1, dropoutSeed: 100 + k });
  const { gradNorm } = await net.optimizerStep({ lr: 1e-2, maxGradNorm: 1, optimizer: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, noDecay: hfNoDecay } });
  return gradNorm;
};

for (const backend of ['wasm', 'onnx'] as const) {
  test(`${backend} AdamW: optimizerState → optimizer.safetensors → loadOptimizerState continues bit for bit`, async () => {
    const prev = process.env.TUNESCOPE_ADAMW;
    if (backend === 'onnx') process.env.TUNESCOPE_ADAMW = 'onnx';
    try {
      const a = await DistilBertForSequenceClassification.create(config, initDistilBertParameters(config, 3), { intraOpNumThreads: 1 });
      assert.equal(a.optimizerBackend, backend);
      for (let k = 0; k < 3; k++) await step(a, k);
      const file = join(t.path, `${backend}.safetensors`);
      writeOptimizerState(file, a.optimizerState(), []);
      const { state } = readOptimizerState(file);
      assert.equal(state.step, 3);
      const b = await DistilBertForSequenceClassification.create(config, a.parameters(), { intraOpNumThreads: 1 });
      b.loadOptimizerState(state);
      const ga = await step(a, 3);
      const gb = await step(b, 3);
      assert.equal(gb, ga);
      for (const [n, p] of a.parameters()) assert.deepEqual(b.parameters().get(n)!.data, p.data, n);
      for (const [n, m] of a.optimizerState().expAvgSq) assert.deepEqual(b.optimizerState().expAvgSq.get(n)!.data, m.data, n);
      await Promise.all([a.dispose(), b.dispose()]);
    } finally {
      if (prev === undefined) delete process.env.TUNESCOPE_ADAMW;
      else process.env.TUNESCOPE_ADAMW = prev;
    }
  });
}
