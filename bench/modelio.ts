/**
 * Checkpoint and tokenizer I/O: WordPiece tokenization of SST-2 train (sentences/s, tokens/s), safetensors
 * write/read of a DistilBERT-base-shaped state dict (MB/s), and HF init of that model (s).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { createDistilBertConfig, initDistilBertParameters, readSafetensors, writeSafetensors } from '../src/model/index.js';

export const name = 'modelio';

const SHARED = new URL('../../shared/', import.meta.url).pathname;

export async function run(): Promise<void> {
  const tok = await loadTokenizer(join(SHARED, 'models/distilbert-base-uncased'));
  const texts = readFileSync(join(SHARED, 'datasets/sst2/train.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]!);
  let t0 = performance.now();
  const enc = tok.encodeBatch(texts, { maxLength: 128 });
  let s = (performance.now() - t0) / 1000;
  const ntok = enc.inputIds.reduce((a, r) => a + r.length, 0);
  console.log(`tokenize SST-2 train: ${texts.length} sentences in ${s.toFixed(2)} s = ${(texts.length / s).toFixed(0)} sentences/s, ${(ntok / s).toFixed(0)} tokens/s`);

  const config = createDistilBertConfig({});
  t0 = performance.now();
  const params = initDistilBertParameters(config, 0);
  console.log(`HF init of DistilBERT-base (66.9M params): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  const path = join(tmpdir(), `tunescope-bench-${process.pid}.safetensors`);
  try {
    t0 = performance.now();
    writeSafetensors(path, params, { format: 'pt' });
    s = (performance.now() - t0) / 1000;
    const mb = statSync(path).size / 1e6;
    console.log(`writeSafetensors: ${mb.toFixed(1)} MB in ${s.toFixed(2)} s = ${(mb / s).toFixed(0)} MB/s`);
    t0 = performance.now();
    const back = readSafetensors(path);
    s = (performance.now() - t0) / 1000;
    console.log(`readSafetensors (validated, F32): ${back.tensors.size} tensors, ${mb.toFixed(1)} MB in ${s.toFixed(2)} s = ${(mb / s).toFixed(0)} MB/s`);
  } finally {
    rmSync(path, { force: true });
  }
}
