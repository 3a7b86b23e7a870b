/**
 * `precision: 'bf16'` on the shared golden fixtures (scripts/bf16-parity.ts, whose header states the tolerance
 * rule 2u·P): logits and loss vs fp32 and float64, every gradient vs fp32, one AdamW step. Without AMX the
 * addon's portable kernel computes the same bf16 numbers; without the addon the test skips (CI builds it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedPath } from '../helpers.js';
import { bf16Support } from '../../src/native/index.js';
import { DistilBertForSequenceClassification, distilBertParameterShapes, parseDistilBertConfig, readSafetensors } from '../../src/model/index.js';
import { runBf16Parity } from '../../scripts/bf16-parity.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const support = bf16Support();
const skip = !support.built && !process.env.CI ? `bf16 addon not built: ${support.reason}` : false;

for (const fixture of ['tiny-a', 'tiny-c']) {
  test(`bf16 parity on ${fixture}: logits, loss, every gradient, one AdamW step within 2u·P`, { skip }, async () => {
    const dir = sharedPath('fixtures', 'distilbert', fixture);
    const rs = await runBf16Parity(dir);
    const config = parseDistilBertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
    assert.deepEqual(rs.filter((r) => !r.ok).map((r) => `${r.check}: ${r.relErr} > ${r.tol}`), []);
    const grads = rs.filter((r) => r.check.startsWith('grad distilbert') || r.check.startsWith('grad classifier') || r.check.startsWith('grad pre_classifier'));
    assert.equal(grads.length, distilBertParameterShapes(config).size, 'every parameter gradient is checked');
    // bf16 really happened: errors are far above fp32 rounding (~1e-7) yet far below the rule
    const worst = Math.max(...grads.map((r) => r.relErr));
    assert.ok(worst > 1e-4, `worst gradient error ${worst}: the products look fp32`);
    for (const c of ['logits vs float64', 'loss vs float64', 'AdamW step on the bf16 gradients (fp32 master weights)', 'loss after the AdamW step vs fp32']) assert.ok(rs.some((r) => r.check === c), `missing ${c}`);
  });
}

test('bf16: every product of the training graph runs in bf16; unavailable bf16 is one clear error', { skip }, async () => {
  const dir = sharedPath('fixtures', 'distilbert', 'tiny-c');
  const config = parseDistilBertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
  const params = readSafetensors(join(dir, 'model.safetensors')).tensors;
  const net = await DistilBertForSequenceClassification.create(config, params, { intraOpNumThreads: 1, precision: 'bf16', allowBf16Emulation: true });
  try {
    assert.equal(net.precision, 'bf16');
    const S = 6;
    const batch = { inputIds: Int32Array.from({ length: 2 * S }, (_, i) => 5 + (i % 20)), attentionMask: new Int32Array(2 * S).fill(1), labels: Int32Array.of(0, 1), batchSize: 2, seqLength: S };
    await net.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 3 });
    const st = (await net.mixedStats()).trainFresh;
    assert.ok(st);
    assert.equal(st.fp32Products, 0);
    // per layer 6 linear + 2 attention products forward, 2 each backward (one for the input, one for the weight)
    assert.ok(st.bf16Products >= config.n_layers * 8 * 2, `${st.bf16Products} bf16 products`);
    // deterministic: the same seed gives the same gradients
    const g1 = new Map([...(net.gradients() as Map<string, { data: Float32Array }>)].map(([n, g]) => [n, g.data.slice()]));
    await net.optimizerStep({ lr: 0, optimizer: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 } });
    await net.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 3 });
    for (const [n, g] of net.gradients() as Map<string, { data: Float32Array }>) assert.deepEqual(g.data, g1.get(n), n);
  } finally {
    await net.dispose();
  }
  const prev = process.env.TUNESCOPE_BF16_DISABLE;
  process.env.TUNESCOPE_BF16_DISABLE = '1';
  try {
    await assert.rejects(DistilBertForSequenceClassification.create(config, params, { precision: 'bf16' }), /--bf16 is unavailable: disabled by TUNESCOPE_BF16_DISABLE=1/);
  } finally {
    if (prev === undefined) delete process.env.TUNESCOPE_BF16_DISABLE;
    else process.env.TUNESCOPE_BF16_DISABLE = prev;
  }
  await assert.rejects(DistilBertForSequenceClassification.create(config, params, { precision: 'bf16', executionProvider: 'webgpu', allowBf16Emulation: true }), /runs on the CPU|not available/);
});
