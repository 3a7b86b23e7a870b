/**
 * HF checkpoint folders in and out: `loadPretrained` (local folder or Hub id), `savePretrained`, and
 * `createTinyModelDir` (a config-only folder for a small from-scratch DistilBERT, initialised from the config with a seed).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/index.js';
import { configToJson, createDistilBertConfig } from './config.js';

/** Tokenizer files an HF model folder may carry; copied by save, downloaded from the Hub by load. */
export const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

/** The real distilbert-base-uncased vocab beside the project (`../shared/models/distilbert-base-uncased`), if present. */
export function defaultVocabDir(): string | null {
  const p = resolve(fileURLToPath(new URL('../../../shared/models/distilbert-base-uncased', import.meta.url)));
  return existsSync(join(p, 'vocab.txt')) ? p : null;
}

function countVocab(vocabDir: string): number {
  const vocab = join(vocabDir, 'vocab.txt');
  if (existsSync(vocab)) {
    const lines = readFileSync(vocab, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.length;
  }
  const tj = join(vocabDir, 'tokenizer.json');
  if (existsSync(tj)) {
    const j = JSON.parse(readFileSync(tj, 'utf8')) as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] };
    const ids = [...Object.values(j.model?.vocab ?? {}), ...(j.added_tokens ?? []).map((t) => t.id)];
    return ids.length ? Math.max(...ids) + 1 : 0;
  }
  throw new UserError(`${vocabDir}: no vocab.txt or tokenizer.json to take the vocabulary from`);
}

/** Copies the tokenizer files that exist in `from` into `to`; writes a tokenizer_config.json when `from` has none. */
export function copyTokenizerFiles(from: string, to: string, modelMaxLength?: number): void {
  for (const f of TOKENIZER_FILES) {
    const src = join(from, f);
    if (existsSync(src)) copyFileSync(src, join(to, f));
  }
  if (!existsSync(join(to, 'tokenizer_config.json'))) {
    const cfg: Record<string, unknown> = { do_lower_case: true, tokenizer_class: 'DistilBertTokenizer' };
    if (modelMaxLength) cfg.model_max_length = modelMaxLength;
    writeFileSync(join(to, 'tokenizer_config.json'), JSON.stringify(cfg, null, 2) + '\n');
  }
}

/** Writes a folder atomically: build it beside `dir` under a temp name, then swap it in. */
export function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    fill(tmp);
    if (existsSync(target)) {
      if (!statSync(target).isDirectory()) throw new UserError(`${target} exists and is not a directory`);
      const old = `${tmp}.old`;
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface TinyModelOptions {
  dim?: number;
  n_layers?: number;
  n_heads?: number;
  hidden_dim?: number;
  /** Folder with vocab.txt and/or tokenizer.json; default ../shared/models/distilbert-base-uncased (vocab_size 30522). */
  vocabDir?: string;
  numLabels?: number;
  id2label?: Record<string, string>;
  max_position_embeddings?: number;
}

/**
 * Writes config.json + tokenizer files for a small from-scratch DistilBERT (no weights: `loadPretrained`
 * initialises it from the config with the seed, as HF `from_config`). Returns the folder.
 * Defaults: dim 64, 2 layers, 2 heads, hidden_dim 4·dim, 2 labels, 512 positions.
 */
export function createTinyModelDir(dir: string, opts: TinyModelOptions = {}): string {
  const vocabDir = opts.vocabDir ?? defaultVocabDir();
  if (!vocabDir) throw new UserError('createTinyModelDir: no vocabDir given and ../shared/models/distilbert-base-uncased was not found');
  const dim = opts.dim ?? 64;
  const numLabels = opts.id2label ? Object.keys(opts.id2label).length : (opts.numLabels ?? 2);
  const id2label =
    opts.id2label ??
    (numLabels === 2 ? { '0': 'NEGATIVE', '1': 'POSITIVE' } : Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`])));
  const config = createDistilBertConfig({
    vocab_size: countVocab(vocabDir),
    dim,
    n_layers: opts.n_layers ?? 2,
    n_heads: opts.n_heads ?? 2,
    hidden_dim: opts.hidden_dim ?? 4 * dim,
    max_position_embeddings: opts.max_position_embeddings ?? 512,
    id2label,
  });
  writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(configToJson(config), null, 2) + '\n');
    copyTokenizerFiles(vocabDir, tmp, config.max_position_embeddings);
  });
  return resolve(dir);
}
