/**
 * A from-scratch DistilBERT (`model: {from_config: {...}, tokenizer: DIR}`) becomes an HF model folder —
 * config.json plus the tokenizer files, no weights — written by src/model's `createTinyModelDir`; the trainer
 * initialises it from the config with each trial's seed, as HF `from_config` under `set_seed` does. The folder
 * lives beside the store (`models/from-config-<hash>`) and is reused while its config is the same.
 *
 * The folder is complete before it gets its name (built in a temp folder, then renamed), and a cached folder is
 * checked against the spec's config before use: a config.json truncated by a kill, or one from other settings
 * (dropout 0.1 where the spec says 0.0), is rebuilt instead of silently changing every trial's numbers.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTinyModelDir, parseDistilBertConfig, configToJson, TOKENIZER_FILES } from '../model/index.js';
import { UserError } from '../util/index.js';
import { canonicalJson, sha256, type ModelSource } from './spec.js';

/** from_config keys createTinyModelDir takes; the others (dropouts, activation, …) are written into config.json after. */
const TINY_KEYS = ['dim', 'n_layers', 'n_heads', 'hidden_dim', 'max_position_embeddings', 'id2label'] as const;

/** The folder's config.json as canonical JSON, or null when it is missing, unreadable, or the tokenizer is gone. */
function folderConfig(dir: string): string | null {
  try {
    if (!TOKENIZER_FILES.some((f) => existsSync(join(dir, f)))) return null;
    return canonicalJson(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  } catch {
    return null;
  }
}

/** The model a trial starts from: a Hub id / folder as given, or the materialised from-scratch folder. */
export function materializeModel(model: ModelSource, storePath: string): string {
  if (model.kind === 'pretrained') return model.id;
  if (!existsSync(model.tokenizer)) throw new UserError(`model.tokenizer: folder not found: ${model.tokenizer}`);
  const key = sha256(canonicalJson({ config: model.config, tokenizer: model.tokenizer })).slice(0, 12);
  const dir = join(dirname(storePath), 'models', `from-config-${key}`);
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(dirname(dir), `.${`from-config-${key}`}.tmp-${stamp}`);
  const c = model.config;
  const tiny: Record<string, unknown> = { vocabDir: model.tokenizer };
  for (const k of TINY_KEYS) if (c[k] !== undefined) tiny[k] = c[k];
  try {
    // A default hidden_dim of 4·dim, as DistilBERT-base (768 → 3072).
    createTinyModelDir(tmp, tiny);
    const rest = Object.entries(c).filter(([k]) => !(TINY_KEYS as readonly string[]).includes(k));
    if (rest.length > 0) {
      const path = join(tmp, 'config.json');
      const merged = { ...(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), ...Object.fromEntries(rest) };
      // validate through the model's own parser so a bad key fails here, not in every trial
      writeFileSync(path, JSON.stringify(configToJson(parseDistilBertConfig(merged, path)), null, 2) + '\n');
    }
    const want = folderConfig(tmp);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (existsSync(dir)) {
        if (folderConfig(dir) === want) return dir;
        // interrupted or from other settings: moved aside (not deleted under a reader), replaced below
        const old = join(dirname(dir), `.from-config-${key}.old-${stamp}-${attempt}`);
        try {
          renameSync(dir, old);
          rmSync(old, { recursive: true, force: true });
        } catch {
          /* another process replaced it meanwhile: look again */
          continue;
        }
      }
      try {
        renameSync(tmp, dir);
        return dir;
      } catch {
        /* another process put its folder there first: compare with it */
      }
    }
    throw new UserError(`cannot write the from_config model folder ${dir} (it keeps changing under concurrent runs)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
