/**
 * `node --import tsx scripts/bf16-accuracy.ts [seeds…]`: the README's from-scratch recipe (scripts/make-tiny-model.ts:
 * dim 64, 2 layers, real vocab; SST-2, lr 1e-3, batch 32, 2 epochs, warmup 0.1, weight decay 0.01) trained in fp32
 * and with bf16 for each seed (default 42 43 44), printing SST-2 validation accuracy / F1 / loss per run and the
 * mean ± sd per precision — does bf16 land within seed noise of fp32? Without AMX the bf16 runs use the addon's
 * portable kernel (TUNESCOPE_BF16_EMULATE=1: the same bf16 numbers, not its speed).
 * TUNESCOPE_BF16_ACC_TRAIN_SAMPLES subsamples the training split (default: all of it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTinyModelDir } from '../src/model/index.js';
import { bf16Support } from '../src/native/index.js';
import { fineTune } from '../src/train/index.js';

const SHARED = resolve(fileURLToPath(new URL('../../shared', import.meta.url)));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

async function main(): Promise<void> {
  const seeds = process.argv.slice(2).filter((a) => a !== '--').map(Number);
  if (seeds.length === 0) seeds.push(42, 43, 44);
  const s = bf16Support();
  if (!s.built) {
    console.error(`bf16-accuracy: ${s.reason}`);
    process.exit(2);
  }
  if (!s.available) {
    process.env.TUNESCOPE_BF16_EMULATE = '1';
    console.log(`bf16 runs use the portable kernel (${s.reason})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bf16-acc-'));
  try {
    const model = createTinyModelDir(join(dir, 'tiny'), { dim: 64, n_layers: 2, n_heads: 2, hidden_dim: 256, max_position_embeddings: 128 });
    const samples = process.env.TUNESCOPE_BF16_ACC_TRAIN_SAMPLES;
    const dataset = { name: 'sst2', dataDir: join(SHARED, 'datasets', 'sst2'), ...(samples ? { maxTrainSamples: Number(samples) } : {}) };
    const acc: Record<'fp32' | 'bf16', number[]> = { fp32: [], bf16: [] };
    for (const seed of seeds) {
      for (const bf16 of [false, true]) {
        const r = await fineTune({
          model,
          dataset,
          quiet: true,
          args: { learning_rate: 1e-3, per_device_train_batch_size: 32, num_train_epochs: 2, warmup_ratio: 0.1, weight_decay: 0.01, seed, bf16 },
        });
        const p = bf16 ? 'bf16' : 'fp32';
        acc[p].push(r.final.accuracy);
        console.log(`seed ${seed} ${p}: accuracy ${r.final.accuracy.toFixed(4)}  f1 ${r.final.f1.toFixed(4)}  loss ${r.final.loss.toFixed(4)}  (${r.steps} steps, ${r.train_seconds.toFixed(0)} s)`);
      }
    }
    for (const p of ['fp32', 'bf16'] as const) console.log(`${p}: accuracy mean ${mean(acc[p]).toFixed(4)} ± ${sd(acc[p]).toFixed(4)} (sd over ${seeds.length} seeds)`);
    const diffs = acc.bf16.map((v, i) => v - (acc.fp32[i] as number));
    console.log(`bf16 − fp32 per seed: ${diffs.map((d) => d.toFixed(4)).join(', ')} (mean ${mean(diffs).toFixed(4)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bf16-accuracy: error: ${(e as Error).message}`);
  process.exit(2);
});
