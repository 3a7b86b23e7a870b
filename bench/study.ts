/**
 * Study throughput: the same small design (a from-scratch DistilBERT as in the demo, 4096 SST-2 sentences,
 * 2 epochs, 8 equal-sized trials) run as 1 worker × 1 thread, 1 worker × 2 threads and 2 workers × 1 thread, in trials/hour,
 * with each split's speed-up over the single-thread figure and the split `execution: auto` picks.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planExecution, runStudy } from '../src/study/index.js';

export const name = 'study';

const SHARED = resolve(fileURLToPath(new URL('../../shared', import.meta.url)));

export async function run(): Promise<void> {
  const sst2 = join(SHARED, 'datasets', 'sst2');
  const vocab = join(SHARED, 'models', 'distilbert-base-uncased');
  if (!existsSync(join(sst2, 'train.tsv')) || !existsSync(join(vocab, 'vocab.txt'))) {
    console.log('skipped: ../shared/datasets/sst2 or ../shared/models/distilbert-base-uncased not found');
    return;
  }
  // [0, 0] is the warm-up (one trial: fills the token-id cache so that no measured split pays for tokenising)
  const splits: Array<[number, number]> = [
    [0, 0],
    [1, 1],
    [1, 2],
    [2, 1],
  ];
  const results: Array<{ workers: number; threads: number; seconds: number; perHour: number; steady: number; steadyPerHour: number }> = [];
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bench-study-'));
  try {
    for (const [w, t] of splits) {
      const warmup = w === 0;
      const [workers, threads] = warmup ? [1, 1] : [w, t];
      const spec = join(dir, `bench-${w}x${t}.yaml`);
      writeFileSync(
        spec,
        `name: bench-${w}x${t}
model:
  from_config: {dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 128, max_position_embeddings: 128}
  tokenizer: ${vocab}
dataset: {name: sst2, data_dir: ${sst2}, max_train_samples: 4096, max_eval_samples: 128}
design:
  type: grid
  factors:
    learning_rate: ${warmup ? '[1.0e-3]' : '[5.0e-4, 1.0e-3, 2.0e-3, 4.0e-3]'}
    per_device_train_batch_size: [32]
seeds: ${warmup ? '[1]' : '[1, 2]'}
args: {num_train_epochs: 2, max_seq_length: 64}
execution: {workers: ${workers}, threads_per_worker: ${threads}, oversubscribe: true}
store: ./bench-${w}x${t}.sqlite
`,
      );
      // steady state: first trial start → last trial end (leaves out process-level start-up: spec, store,
      // preflight, worker threads loading their modules — a fixed cost that real, longer studies amortise)
      let first = Infinity;
      let last = 0;
      const s = await runStudy(spec, {
        quiet: true,
        onEvent: (e) => {
          if (e.type === 'trial-start') first = Math.min(first, performance.now());
          if (e.type === 'trial-done') last = performance.now();
        },
      });
      if (warmup) continue;
      if (s.counts.done !== 8) throw new Error(`bench study ${workers}x${threads}: ${s.counts.failed} trial(s) failed`);
      const steady = (last - first) / 1000;
      results.push({ workers, threads, seconds: s.seconds, perHour: (8 / s.seconds) * 3600, steady, steadyPerHour: (8 / steady) * 3600 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = results[0]!;
  console.log(
    `8 equal trials (dim 32, 1 layer, 4096 sentences, batch 32, 2 epochs, 4 learning rates × 2 seeds; token cache warmed first); ${availableParallelism()} cores`,
  );
  for (const r of results) {
    console.log(
      `  ${r.workers} worker(s) × ${r.threads} thread(s): whole run ${r.seconds.toFixed(1)} s = ${r.perHour.toFixed(0)} trials/hour (${(r.perHour / base.perHour).toFixed(2)}×); ` +
        `trials alone ${r.steady.toFixed(1)} s = ${r.steadyPerHour.toFixed(0)} trials/hour (${(r.steadyPerHour / base.steadyPerHour).toFixed(2)}× the 1×1 figure)`,
    );
  }
  const best = results.reduce((a, b) => (b.steadyPerHour > a.steadyPerHour ? b : a));
  const auto = planExecution(loadStudySpecLike(), 8);
  console.log(`  best measured: ${best.workers} × ${best.threads}; execution: auto picks ${auto.workers} × ${auto.threadsPerWorker} on this machine (goal: ≥ 1.8× for 2 workers × 1 thread)`);
}

function loadStudySpecLike(): Parameters<typeof planExecution>[0] {
  return { execution: { workers: 'auto', threads_per_worker: 'auto', oversubscribe: false } };
}

