/**
 * A from-scratch DistilBERT (`model: {from_config: {...}, tokenizer: DIR}`) becomes an HF model folder —
 * config.json plus the tokenizer files, no weights — written by src/model's `createTinyModelDir`; the trainer
 * initialises it from the config with each trial's seed, as HF `from_config` under `set_seed` does. The folder
 * lives beside the store (`models/from-config-<hash>`) and is reused while its config is the same.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTinyModelDir, parseDistilBertConfig, configToJson } from '../model/index.js';
import { UserError } from '../util/index.js';
import { canonicalJson, sha256, type ModelSource } from './spec.js';

/** from_config keys createTinyModelDir takes; the others (dropouts, activation, …) are written into config.json after. */
const TINY_KEYS = ['dim', 'n_layers', 'n_heads', 'hidden_dim', 'max_position_embeddings', 'id2label'] as const;

/** The model a trial starts from: a Hub id / folder as given, or the materialised from-scratch folder. */
export function materializeModel(model: ModelSource, storePath: string): string {
  if (model.kind === 'pretrained') return model.id;
  if (!existsSync(model.tokenizer)) throw new UserError(`model.tokenizer: folder not found: ${model.tokenizer}`);
  const key = sha256(canonicalJson({ config: model.config, tokenizer: model.tokenizer })).slice(0, 12);
  const dir = join(dirname(storePath), 'models', `from-config-${key}`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  const c = model.config;
  const tiny: Record<string, unknown> = { vocabDir: model.tokenizer };
  for (const k of TINY_KEYS) if (c[k] !== undefined) tiny[k] = c[k];
  // A default hidden_dim of 4·dim, as DistilBERT-base (768 → 3072).
  createTinyModelDir(dir, tiny);
  const rest = Object.entries(c).filter(([k]) => !(TINY_KEYS as readonly string[]).includes(k));
  if (rest.length > 0) {
    const path = join(dir, 'config.json');
    const merged = { ...(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), ...Object.fromEntries(rest) };
    // validate through the model's own parser so a bad key fails here, not in every trial
    writeFileSync(path, JSON.stringify(configToJson(parseDistilBertConfig(merged, path)), null, 2) + '\n');
  }
  return dir;
}
