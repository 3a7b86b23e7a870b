/**
 * Writes a config-only folder for a small from-scratch DistilBERT with the real distilbert-base-uncased vocab.
 * Usage: node --import tsx scripts/make-tiny-model.ts OUT_DIR [--dim 64] [--n-layers 2] [--n-heads 2] [--hidden-dim 256]
 *        [--num-labels 2] [--vocab-dir ../shared/models/distilbert-base-uncased] [--max-positions 512]
 */
import { createTinyModelDir } from '../src/model/index.js';

const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string): number | undefined => (flag(name) === undefined ? undefined : Number(flag(name)));
if (!out) {
  console.error('usage: make-tiny-model.ts OUT_DIR [--dim N] [--n-layers N] [--n-heads N] [--hidden-dim N] [--num-labels N] [--vocab-dir DIR]');
  process.exit(2);
}
const dir = createTinyModelDir(out, {
  dim: num('dim'),
  n_layers: num('n-layers'),
  n_heads: num('n-heads'),
  hidden_dim: num('hidden-dim'),
  numLabels: num('num-labels'),
  vocabDir: flag('vocab-dir'),
  max_position_embeddings: num('max-positions'),
});
console.log(dir);
