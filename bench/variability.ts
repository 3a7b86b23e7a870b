/**
 * `npm run bench -- variability`: the full noise analysis (variance components by REML and ANOVA per configuration and
 * pooled, bootstrap CIs over the 872 evaluation examples of every trial with B = 2000, diverged rule + logistic
 * regression, expected-max curves, the mixed model) on a synthetic sweep of 200 trials — 10 configurations ×
 * 5 seeds × 4 data seeds — each with 872 × 2 per-example predictions; and the stored size of one trial's predictions.
 */
import { analyzeNoise, type ExamplePredictions, type Row } from '../src/analysis/index.js';
import { encodePredictions } from '../src/store/index.js';
import { Rng } from '../src/util/index.js';

export const name = 'variability';

export async function run(): Promise<void> {
  const rng = new Rng(7);
  const nEval = 872;
  const label = Int32Array.from({ length: nEval }, () => (rng.uniform() < 0.509 ? 1 : 0));
  const rows: Row[] = [];
  const predictions: ExamplePredictions[] = [];
  const lrs = [1e-5, 2e-5, 3e-5, 5e-5, 1e-4];
  const bss = [16, 32];
  const seedEff = Array.from({ length: 5 }, () => 0.01 * rng.normal());
  const dataEff = Array.from({ length: 4 }, () => 0.006 * rng.normal());
  for (const lr of lrs) {
    for (const bs of bss) {
      for (let s = 0; s < 5; s++) {
        for (let d = 0; d < 4; d++) {
          const x = Math.log10(lr / 3e-5);
          const target = 0.9 - 0.03 * x * x - 0.0002 * bs + seedEff[s]! + dataEff[d]! + 0.004 * rng.normal();
          const diverged = lr === 1e-4 && rng.uniform() < 0.3;
          const probabilities = new Float32Array(2 * nEval);
          const predicted = new Int32Array(nEval);
          let correct = 0;
          let loss = 0;
          for (let i = 0; i < nEval; i++) {
            const right = diverged ? label[i] === 1 : rng.uniform() < target;
            const conf = 0.55 + 0.44 * rng.uniform();
            const p1 = diverged ? 0.6 : (right ? label[i] === 1 : label[i] === 0) ? conf : 1 - conf;
            probabilities[2 * i] = Math.fround(1 - p1);
            probabilities[2 * i + 1] = Math.fround(p1);
            predicted[i] = p1 > 0.5 ? 1 : 0;
            if (predicted[i] === label[i]) correct++;
            loss -= Math.log(label[i] === 1 ? p1 : 1 - p1);
          }
          rows.push({ learning_rate: lr, per_device_train_batch_size: bs, seed: s, data_seed: 100 + d, accuracy: correct / nEval, loss: loss / nEval });
          predictions.push({ numLabels: 2, label, predicted, probabilities });
        }
      }
    }
  }
  const bytes = encodePredictions({ ...predictions[0]!, index: Uint32Array.from({ length: nEval }, (_, i) => i), label, predicted: Int32Array.from(predictions[0]!.predicted), probabilities: Float32Array.from(predictions[0]!.probabilities!) }).length;
  console.log(`stored predictions: ${bytes} bytes per trial for ${nEval} examples × 2 labels (${(bytes / nEval).toFixed(2)} bytes/example; raw float32 probabilities alone: ${nEval * 8})`);
  const t0 = performance.now();
  const a = analyzeNoise(rows, { configColumns: ['learning_rate', 'per_device_train_batch_size'], seedColumns: ['seed', 'data_seed'], metric: 'accuracy', predictions });
  const ms = performance.now() - t0;
  console.log(`full noise analysis, ${rows.length} trials × ${nEval} predictions (B = 2000 per trial): ${(ms / 1000).toFixed(2)} s`);
  console.log(`  pooled REML sd: seed ${Math.sqrt(a.variance_components.reml!.seed!).toFixed(4)}, data_seed ${Math.sqrt(a.variance_components.reml!.data_seed!).toFixed(4)}, residual ${Math.sqrt(a.variance_components.reml!.residual!).toFixed(4)}; diverged ${a.diverged.count}/${a.diverged.total}; evaluation share ${(100 * a.evaluation_noise!.share_of_seed_variance).toFixed(0)} %`);
}
