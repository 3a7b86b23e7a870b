/**
 * HF checkpoint folders in and out: `loadPretrained` (local folder or Hub id), `savePretrained`, and
 * `createTinyModelDir` (a config-only folder for a small from-scratch DistilBERT, initialised from the config with a seed).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError, readRegularFile } from '../util/index.js';
import { fileExists, isHubId, snapshotFiles, type HubOptions } from '../hub/index.js';
import { MAX_LABELS, configToJson, createDistilBertConfig, parseDistilBertConfig, withLabels, type DistilBertConfig } from './config.js';
import { distilBertParameterSpecs, initDistilBertParameters } from './init.js';
import { readSafetensors, writeSafetensors, type ParameterMap } from './safetensors.js';

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

/**
 * Writes a model folder without ever leaving half-written files: everything is built in a temp folder beside `dir`;
 * a new `dir` is then one rename, an existing one receives the files one rename each (config.json last) and keeps
 * files that are not ours (trainer_state.json, checkpoint-N/ …), as HF `save_pretrained` does. Stale weight shards
 * and tokenizer files of an earlier save are removed so they cannot shadow the new ones.
 */
export function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    fill(tmp);
    if (!existsSync(target)) {
      renameSync(tmp, target);
      return;
    }
    if (!statSync(target).isDirectory()) throw new UserError(`${target} exists and is not a directory`);
    const fresh = new Set(readdirSync(tmp));
    const newTokenizer = TOKENIZER_FILES.some((f) => fresh.has(f));
    for (const f of readdirSync(target)) {
      // weights of an earlier save: shards, or model.safetensors when the new folder is config-only (createTinyModelDir)
      const staleWeights =
        f === 'model.safetensors.index.json' || /^model-\d+-of-\d+\.safetensors$/.test(f) || (f === 'model.safetensors' && !fresh.has(f));
      // an old tokenizer.json next to a new vocab.txt would shadow it
      const staleTokenizer = newTokenizer && (TOKENIZER_FILES as readonly string[]).includes(f) && !fresh.has(f);
      if (staleWeights || staleTokenizer) rmSync(join(target, f), { force: true });
    }
    const files = readdirSync(tmp).sort((a, b) => Number(a === 'config.json') - Number(b === 'config.json'));
    for (const f of files) renameSync(join(tmp, f), join(target, f));
    rmSync(tmp, { recursive: true, force: true });
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

// ---------------------------------------------------------------------------------------------
// loadPretrained / savePretrained

export interface PretrainedModel {
  config: DistilBertConfig;
  parameters: ParameterMap;
  /** Folder with the tokenizer files (tokenizer.json / vocab.txt), or null when the checkpoint has none. */
  tokenizerDir: string | null;
  /** Resolved local folder, or `hf://owner/name@revision` for a Hub id. */
  source: string;
  /** What was adapted on the way in (new head, ignored keys, init from config), for the user to see. */
  notes: string[];
}

export interface LoadPretrainedOptions {
  /** Class count of the head; a different count than the checkpoint's makes a new head (HF `num_labels=`). */
  numLabels?: number;
  /** Label names; implies numLabels. */
  id2label?: Record<string, string>;
  /** Seed for anything initialised here (new head, from-config weights); default 42 (HF TrainingArguments.seed). */
  seed?: number;
  hub?: HubOptions;
}

const HEAD_PREFIXES = ['pre_classifier.', 'classifier.'];
const isHead = (name: string): boolean => HEAD_PREFIXES.some((p) => name.startsWith(p));
/** Buffers HF stores in some checkpoints but never loads as parameters. */
const IGNORED_BUFFERS = new Set(['distilbert.embeddings.position_ids']);

const PICKLE_HINT =
  'pickle checkpoints (pytorch_model.bin) are not loaded: unpickling can run arbitrary code. Convert it once with Python: ' +
  '`python -c "from transformers import AutoModelForSequenceClassification as M; M.from_pretrained(\'SRC\').save_pretrained(\'OUT\', safe_serialization=True)"` ' +
  'and pass OUT (a folder with model.safetensors).';

function weightFiles(dir: string): string[] | null {
  if (existsSync(join(dir, 'model.safetensors'))) return [join(dir, 'model.safetensors')];
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const j = readJsonFile(index) as { weight_map?: Record<string, string> };
    if (!j.weight_map || typeof j.weight_map !== 'object') throw new UserError(`${index}: no "weight_map"`);
    const shards = [...new Set(Object.values(j.weight_map))];
    for (const f of shards) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f.startsWith('.')) throw new UserError(`${index}: bad shard name ${JSON.stringify(f)}`);
    }
    return shards.map((f) => join(dir, f));
  }
  return null;
}

/** config.json and the shard index are a few KiB; anything near this is not one. */
const MAX_JSON_BYTES = 64 * 2 ** 20;

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    // a regular file of sane size (a FIFO named config.json would block for ever)
    text = readRegularFile(path, { maxBytes: MAX_JSON_BYTES }).toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Maps checkpoint keys onto DistilBertForSequenceClassification names: bare DistilBertModel keys, old gamma/beta LayerNorm names. */
function normaliseKeys(raw: ParameterMap): ParameterMap {
  const bare = [...raw.keys()].some((k) => k.startsWith('embeddings.') || k.startsWith('transformer.'));
  const out: ParameterMap = new Map();
  for (const [k0, t] of raw) {
    let k = k0;
    if (bare && (k.startsWith('embeddings.') || k.startsWith('transformer.'))) k = `distilbert.${k}`;
    k = k.replace(/\.(LayerNorm|sa_layer_norm|output_layer_norm|vocab_layer_norm)\.gamma$/, '.$1.weight').replace(/\.(LayerNorm|sa_layer_norm|output_layer_norm|vocab_layer_norm)\.beta$/, '.$1.bias');
    out.set(k, t);
  }
  return out;
}

function summariseIgnored(keys: string[]): string {
  const groups = new Map<string, number>();
  for (const k of keys) {
    const g = k.split('.')[0]!;
    groups.set(g, (groups.get(g) ?? 0) + 1);
  }
  return [...groups].map(([g, n]) => `${g}.* (${n})`).join(', ');
}

async function resolveModelDir(idOrDir: string, hub: HubOptions | undefined): Promise<{ dir: string; source: string; hubRepo: string | null }> {
  if (existsSync(idOrDir)) {
    if (!statSync(idOrDir).isDirectory()) throw new UserError(`${idOrDir} is a file; pass the model folder (with config.json) or a Hub id`);
    return { dir: resolve(idOrDir), source: resolve(idOrDir), hubRepo: null };
  }
  if (!isHubId(idOrDir)) throw new UserError(`${idOrDir}: no such folder, and not a Hugging Face Hub id ("owner/name")`);
  const dir = await snapshotFiles(idOrDir, ['config.json', 'model.safetensors', ...TOKENIZER_FILES], hub);
  if (!existsSync(join(dir, 'config.json'))) throw new UserError(`Hub repo ${idOrDir} has no config.json`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    // sharded safetensors checkpoint
    const idx = await snapshotFiles(idOrDir, ['model.safetensors.index.json'], hub);
    const index = join(idx, 'model.safetensors.index.json');
    if (existsSync(index)) {
      const shards = weightFiles(idx) ?? [];
      await snapshotFiles(idOrDir, shards.map((s) => basename(s)), hub);
    }
  }
  return { dir, source: `hf://${idOrDir}@${hub?.revision ?? 'main'}`, hubRepo: idOrDir };
}

/** Shape-setting keys config.json lacks (HF then uses its defaults): the likely cause of a shape mismatch. */
function defaultedShapeKeys(json: unknown, config: DistilBertConfig): string {
  const j = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const aliases: Record<string, string | undefined> = { dim: 'hidden_size', n_heads: 'num_attention_heads', n_layers: 'num_hidden_layers' };
  const keys = (['vocab_size', 'max_position_embeddings', 'dim', 'hidden_dim', 'n_layers'] as const).filter(
    (k) => j[k] === undefined && (aliases[k] === undefined || j[aliases[k]!] === undefined),
  );
  if (keys.length === 0) return '';
  return ` (config.json has no ${keys.map((k) => `"${k}"`).join(', ')}, so HF's default${keys.length > 1 ? 's' : ''} ${keys.map((k) => `${k}=${config[k]}`).join(', ')} appl${keys.length > 1 ? 'y' : 'ies'})`;
}

/**
 * Loads a DistilBERT checkpoint for sequence classification from a local folder or a Hub id (HF `from_pretrained`):
 * config.json + model.safetensors (F32/F16/BF16; sharded too). A folder with only config.json is initialised from the
 * config with `seed` (HF `from_config`). Other heads' keys are ignored, a missing or differently-sized classification
 * head is initialised as HF does; each such step is recorded in `notes`.
 */
export async function loadPretrained(idOrDir: string, opts: LoadPretrainedOptions = {}): Promise<PretrainedModel> {
  const seed = opts.seed ?? 42;
  const { dir, source, hubRepo } = await resolveModelDir(idOrDir, opts.hub);
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new UserError(`${dir}: no config.json (not a Hugging Face model folder)`);
  if (opts.numLabels !== undefined && (!Number.isInteger(opts.numLabels) || opts.numLabels < 2)) {
    throw new UserError(`num_labels must be an integer >= 2 (single-label classification), got ${opts.numLabels}`);
  }
  if (opts.numLabels !== undefined && opts.numLabels > MAX_LABELS) {
    // before id2label is built: a billion labels would otherwise exhaust memory after a long wait
    throw new UserError(`num_labels is ${opts.numLabels}; single-label classification here takes at most ${MAX_LABELS} labels`);
  }
  const cfgJson = readJsonFile(cfgPath);
  let config = parseDistilBertConfig(cfgJson, cfgPath);
  const notes: string[] = [];
  if (opts.id2label || (opts.numLabels !== undefined && opts.numLabels !== config.num_labels)) {
    const id2label =
      opts.id2label ??
      Object.fromEntries(Array.from({ length: opts.numLabels! }, (_, i) => [String(i), config.num_labels === opts.numLabels ? config.id2label[String(i)]! : `LABEL_${i}`]));
    if (opts.numLabels !== undefined && Object.keys(id2label).length !== opts.numLabels) {
      throw new UserError(`numLabels (${opts.numLabels}) does not match id2label (${Object.keys(id2label).length} labels)`);
    }
    if (Object.keys(id2label).length !== config.num_labels) {
      notes.push(`num_labels changed from ${config.num_labels} to ${Object.keys(id2label).length}: the classification head is new`);
    }
    config = withLabels(config, id2label);
  }
  const tokenizerDir = existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt')) ? dir : null;
  const files = weightFiles(dir);
  if (!files) {
    const hasBin = existsSync(join(dir, 'pytorch_model.bin')) || (hubRepo !== null && (await fileExists(hubRepo, 'pytorch_model.bin', opts.hub)));
    if (hasBin) throw new UserError(`${hubRepo ?? dir}: only pytorch_model.bin was found; ${PICKLE_HINT}`);
    notes.push(`no weights in ${hubRepo ?? dir}: initialised from config.json with seed ${seed} (as HF from_config)`);
    return { config, parameters: initDistilBertParameters(config, seed), tokenizerDir, source, notes };
  }
  let raw: ParameterMap = new Map();
  for (const f of files) {
    if (!existsSync(f)) throw new UserError(`${f}: weight shard listed in model.safetensors.index.json is missing`);
    for (const [k, t] of readSafetensors(f).tensors) raw.set(k, t);
  }
  raw = normaliseKeys(raw);
  // against the weights present, before anything is sized from config.json: its layer count must be the file's
  const layers = new Set([...raw.keys()].map((k) => /^distilbert\.transformer\.layer\.(\d+)\./.exec(k)?.[1]).filter((x) => x !== undefined)).size;
  if (layers > 0 && config.n_layers !== layers) {
    throw new UserError(`${files.join(', ')}: config.json says n_layers ${config.n_layers} but the weights hold ${layers} transformer layer(s)${defaultedShapeKeys(cfgJson, config)}`);
  }
  const specs = distilBertParameterSpecs(config);
  const parameters: ParameterMap = new Map();
  const missing: string[] = [];
  const newHead: string[] = [];
  for (const spec of specs) {
    const t = raw.get(spec.name);
    const sameShape = t !== undefined && t.shape.length === spec.shape.length && t.shape.every((d, i) => d === spec.shape[i]);
    if (sameShape) {
      parameters.set(spec.name, t);
      continue;
    }
    if (isHead(spec.name)) {
      newHead.push(spec.name);
      continue;
    }
    if (t === undefined) missing.push(spec.name);
    else {
      throw new UserError(
        `${files.join(', ')}: tensor ${spec.name} has shape [${t.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}]${defaultedShapeKeys(cfgJson, config)}`,
      );
    }
  }
  if (missing.length) {
    throw new UserError(
      `${files.join(', ')}: missing ${missing.length} DistilBERT encoder weight(s), e.g. ${missing.slice(0, 3).join(', ')} — not a DistilBERT checkpoint matching config.json?${defaultedShapeKeys(cfgJson, config)}`,
    );
  }
  if (newHead.length) {
    const fresh = initDistilBertParameters(config, seed, { only: (n) => newHead.includes(n) });
    for (const [k, t] of fresh) parameters.set(k, t);
    notes.push(`newly initialised (seed ${seed}, HF init): ${newHead.join(', ')} — train before use`);
  }
  const known = new Set(specs.map((s) => s.name));
  const ignored = [...raw.keys()].filter((k) => !known.has(k) && !IGNORED_BUFFERS.has(k));
  if (ignored.length) notes.push(`ignored checkpoint keys not used by DistilBertForSequenceClassification: ${summariseIgnored(ignored)}`);
  // keep HF named_parameters() order
  const ordered: ParameterMap = new Map(specs.map((s) => [s.name, parameters.get(s.name)!]));
  return { config, parameters: ordered, tokenizerDir, source, notes };
}

/**
 * Writes an HF model folder that transformers' `from_pretrained` accepts: config.json (architectures, id2label/label2id,
 * torch_dtype float32, model_type distilbert), model.safetensors (F32, metadata {"format": "pt"}) and the tokenizer
 * files. Built under a temp name and renamed in (see writeDirAtomic); other files already in `dir` are kept.
 */
export function savePretrained(dir: string, model: { config: DistilBertConfig; parameters: ParameterMap; tokenizerDir?: string | null }): void {
  const { config, parameters } = model;
  for (const spec of distilBertParameterSpecs(config)) {
    const t = parameters.get(spec.name);
    if (!t) throw new Error(`savePretrained: parameter ${spec.name} is missing`);
    if (t.shape.join(',') !== spec.shape.join(',')) throw new Error(`savePretrained: ${spec.name} has shape [${t.shape}] but the config implies [${spec.shape}]`);
  }
  writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(configToJson(config), null, 2) + '\n');
    writeSafetensors(join(tmp, 'model.safetensors'), parameters, { format: 'pt' });
    if (model.tokenizerDir) copyTokenizerFiles(model.tokenizerDir, tmp, config.max_position_embeddings);
  });
}
