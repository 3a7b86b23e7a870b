/**
 * Training throughput on SST-2 train (examples/s, real tokens/s, padded tokens/s) for the small shape
 * (dim 64, 2 layers, 2 heads, hidden 256) and the DistilBERT-base shape (dim 768, 6 layers, 12 heads,
 * hidden 3072), random init with the real 30522-token vocab, batch 8 (HF default), max_seq_length 128:
 * dynamic padding, padding to max_seq_length, and group_by_length. A fixed number of optimizer steps
 * (TUNESCOPE_BENCH_TRAIN_STEPS / _BASE_STEPS, default 250 / 50) after one warm-up step, evaluation excluded.
 * Step counts are multiples of 50 because a length-grouped megabatch is 50 batches (its first batch holds the
 * longest examples): shorter runs would overstate group_by_length's padding and cost.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, tokenizeCached } from '../src/data/index.js';
import { createDistilBertConfig, DistilBertForSequenceClassification, initDistilBertParameters } from '../src/model/index.js';
import { loadTokenizer, tokenizerFingerprint } from '../src/tokenizer/index.js';
import { resolveTrainingArguments, trainLoop, type TokenizedSplit } from '../src/train/index.js';

export const name = 'train';

const SHARED = resolve(fileURLToPath(new URL('../../shared', import.meta.url)));

interface Shape {
  label: string;
  dim: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  steps: number;
}

export async function run(): Promise<void> {
  const shapes: Shape[] = [
    { label: 'small (dim 64, 2 layers)', dim: 64, n_layers: 2, n_heads: 2, hidden_dim: 256, steps: Number(process.env.TUNESCOPE_BENCH_TRAIN_STEPS ?? 250) },
    { label: 'distilbert-base shape (dim 768, 6 layers)', dim: 768, n_layers: 6, n_heads: 12, hidden_dim: 3072, steps: Number(process.env.TUNESCOPE_BENCH_TRAIN_BASE_STEPS ?? 50) },
  ];
  const data = await loadDataset({ name: 'sst2', dataDir: join(SHARED, 'datasets', 'sst2'), maxEvalSamples: 8 });
  const tokenizer = await loadTokenizer(join(SHARED, 'models', 'distilbert-base-uncased'));
  const tok = (xs: { text: string; label: number }[]): TokenizedSplit => ({
    ids: tokenizeCached(xs.map((x) => x.text), tokenizer, { fingerprint: tokenizerFingerprint(tokenizer), maxLength: 128, cacheDir: null }).ids,
    labels: xs.map((x) => x.label),
  });
  const train = tok(data.train);
  const ev = tok(data.eval);
  const meanLen = train.ids.reduce((s, a) => s + a.length, 0) / train.ids.length;
  console.log(`SST-2 train: ${train.ids.length} examples, mean ${meanLen.toFixed(1)} tokens (max_seq_length 128), batch 8`);
  const variants = [
    { label: 'dynamic padding', args: {} },
    { label: 'pad to max_seq_length', args: { pad_to_max_length: true } },
    { label: 'group_by_length', args: { group_by_length: true } },
  ];
  for (const shape of shapes) {
    const config = createDistilBertConfig({ vocab_size: tokenizer.vocabSize, dim: shape.dim, n_layers: shape.n_layers, n_heads: shape.n_heads, hidden_dim: shape.hidden_dim });
    for (const v of variants) {
      const model = await DistilBertForSequenceClassification.create(config, initDistilBertParameters(config, 42));
      try {
        // one warm-up step (session creation, first allocations) outside the measurement
        await trainLoop({ model, train, eval: ev, numLabels: 2, padTokenId: tokenizer.padTokenId, quiet: true, args: resolveTrainingArguments({ ...v.args, max_steps: 1, eval_strategy: 'no' }) });
        const r = await trainLoop({
          model, train, eval: ev, numLabels: 2, padTokenId: tokenizer.padTokenId, quiet: true,
          args: resolveTrainingArguments({ ...v.args, max_steps: shape.steps, eval_strategy: 'no', seed: 7 }),
        });
        console.log(
          `${shape.label.padEnd(42)} ${v.label.padEnd(22)} ${r.examples_per_second.toFixed(1).padStart(8)} examples/s ` +
            `${r.tokens_per_second.toFixed(0).padStart(8)} tokens/s ${r.padded_tokens_per_second.toFixed(0).padStart(8)} padded tokens/s  (${r.steps} steps, ${r.train_seconds.toFixed(1)} s)`,
        );
      } finally {
        await model.dispose();
      }
    }
  }
}
