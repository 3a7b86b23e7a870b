/**
 * DistilBertConfig as transformers reads and writes it (configuration_distilbert.py + PretrainedConfig):
 * same keys, same defaults, num_labels derived from id2label, unknown keys kept verbatim for save.
 */
import { totalmem } from 'node:os';
import { UserError } from '../util/index.js';

export interface DistilBertConfig {
  vocab_size: number;
  max_position_embeddings: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  dropout: number;
  attention_dropout: number;
  seq_classif_dropout: number;
  qa_dropout: number;
  activation: 'gelu' | 'relu';
  initializer_range: number;
  pad_token_id: number;
  sinusoidal_pos_embds: boolean;
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  /** Derived from id2label (HF: `len(config.id2label)`). */
  num_labels: number;
  /** Every other key of config.json (architectures, finetuning_task, tie_weights_, …), written back unchanged by save. */
  extra: Record<string, unknown>;
}

/** HF DistilBertConfig defaults (distilbert-base-uncased). */
export const DISTILBERT_DEFAULTS = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  sinusoidal_pos_embds: false,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  hidden_dim: 3072,
  dropout: 0.1,
  attention_dropout: 0.1,
  activation: 'gelu',
  initializer_range: 0.02,
  qa_dropout: 0.1,
  seq_classif_dropout: 0.2,
  pad_token_id: 0,
} as const;

const KNOWN = new Set([
  ...Object.keys(DISTILBERT_DEFAULTS),
  'id2label',
  'label2id',
  'num_labels',
  // HF attribute_map aliases
  'hidden_size',
  'num_attention_heads',
  'num_hidden_layers',
]);

/** Keys HF adds when saving and that we regenerate rather than copy. */
const REGENERATED = new Set(['torch_dtype', 'dtype', 'transformers_version', '_name_or_path']);

/** Labels of one classification head: beyond this is extreme classification, which a softmax head here is not for. */
export const MAX_LABELS = 100_000;
const MAX_INITIALIZER_RANGE = 1;
const MAX_LAYERS = 1000;
/** V8's largest Float32Array (elements): one tensor above it cannot exist in memory at all. */
const MAX_TENSOR_ELEMENTS = 2 ** 32 - 1;

type SizeKeys = Pick<DistilBertConfig, 'vocab_size' | 'max_position_embeddings' | 'dim' | 'n_layers' | 'hidden_dim' | 'num_labels'>;

/** Parameters of DistilBertForSequenceClassification with this config (as distilBertParameterSpecs lists them). */
export function parameterCount(c: SizeKeys): number {
  const layer = 4 * (c.dim * c.dim + c.dim) + 2 * (c.dim * c.hidden_dim) + c.hidden_dim + c.dim + 4 * c.dim;
  return (c.vocab_size + c.max_position_embeddings + 2) * c.dim + c.n_layers * layer + c.dim * c.dim + c.dim + c.num_labels * (c.dim + 1);
}

/**
 * Sizes are checked before anything is allocated: the float32 weights must fit in this machine's memory and every
 * tensor in one typed array. Otherwise `vocab_size: 1e12` is a RangeError deep inside initialisation and
 * `n_layers: 1e6` allocates for minutes until the process dies.
 */
export function checkModelSize(c: SizeKeys, source: string): void {
  const gib = (b: number) => `${(b / 2 ** 30).toPrecision(3)} GiB`;
  const what = `vocab_size ${c.vocab_size}, max_position_embeddings ${c.max_position_embeddings}, dim ${c.dim}, n_layers ${c.n_layers}, hidden_dim ${c.hidden_dim}, num_labels ${c.num_labels}`;
  const biggest = Math.max(c.vocab_size * c.dim, c.max_position_embeddings * c.dim, c.dim * c.dim, c.dim * c.hidden_dim, c.num_labels * c.dim);
  if (biggest > MAX_TENSOR_ELEMENTS) throw new UserError(`${source}: a weight matrix of ${biggest} values (${what}) is larger than one array can hold (${MAX_TENSOR_ELEMENTS})`);
  const bytes = parameterCount(c) * 4;
  if (bytes > totalmem()) throw new UserError(`${source}: the model's float32 weights need ${gib(bytes)} (${what}), more than this machine's ${gib(totalmem())} of memory`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** id2label / num_labels / label2id resolved as PretrainedConfig does. */
function resolveLabels(
  j: Record<string, unknown>,
  where: string,
): { id2label: Record<string, string>; label2id: Record<string, number>; num_labels: number } {
  let id2label: Record<string, string>;
  if (j.id2label !== undefined) {
    if (!isObject(j.id2label)) throw new UserError(`${where}: "id2label" must be an object {"0": "NEGATIVE", ...}`);
    const entries = Object.entries(j.id2label);
    if (entries.length === 0) throw new UserError(`${where}: "id2label" is empty`);
    id2label = {};
    for (const [k, v] of entries) {
      if (!/^(0|[1-9]\d*)$/.test(k)) throw new UserError(`${where}: "id2label" key ${JSON.stringify(k)} is not a class index`);
      if (typeof v !== 'string') throw new UserError(`${where}: "id2label"[${JSON.stringify(k)}] must be a string`);
      id2label[k] = v;
    }
    const n = entries.length;
    for (let i = 0; i < n; i++) {
      if (!(String(i) in id2label)) throw new UserError(`${where}: "id2label" must have keys 0..${n - 1}; ${i} is missing`);
    }
    if (j.num_labels !== undefined && j.num_labels !== n) {
      throw new UserError(`${where}: "num_labels" is ${String(j.num_labels)} but "id2label" has ${n} entries`);
    }
  } else {
    const n = j.num_labels ?? 2;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new UserError(`${where}: "num_labels" must be a positive integer`);
    if (n > MAX_LABELS) throw new UserError(`${where}: "num_labels" is ${n}; single-label classification here takes at most ${MAX_LABELS} labels`);
    id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  const num_labels = Object.keys(id2label).length;
  let label2id: Record<string, number>;
  if (j.label2id !== undefined && j.id2label !== undefined) {
    if (!isObject(j.label2id)) throw new UserError(`${where}: "label2id" must be an object {"NEGATIVE": 0, ...}`);
    label2id = {};
    for (const [k, v] of Object.entries(j.label2id)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= num_labels) {
        throw new UserError(`${where}: "label2id"[${JSON.stringify(k)}] must be a class index in 0..${num_labels - 1}`);
      }
      label2id[k] = v;
    }
  } else {
    label2id = Object.fromEntries(Object.entries(id2label).map(([i, l]) => [l, Number(i)]));
  }
  return { id2label, label2id, num_labels };
}

/** Validates a parsed config.json; every problem is a UserError naming the key and `source`. */
export function parseDistilBertConfig(json: unknown, source = 'config.json'): DistilBertConfig {
  if (!isObject(json)) throw new UserError(`${source}: expected a JSON object`);
  const j = json;
  if (j.model_type !== undefined && j.model_type !== 'distilbert') {
    throw new UserError(`${source}: "model_type" is ${JSON.stringify(j.model_type)}; only DistilBERT ("distilbert") checkpoints are supported`);
  }
  const pick = (key: keyof typeof DISTILBERT_DEFAULTS, alias?: string): unknown =>
    j[key] !== undefined ? j[key] : alias !== undefined && j[alias] !== undefined ? j[alias] : DISTILBERT_DEFAULTS[key];
  const int = (key: keyof typeof DISTILBERT_DEFAULTS, min: number, alias?: string): number => {
    const v = pick(key, alias);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UserError(`${source}: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const prob = (key: keyof typeof DISTILBERT_DEFAULTS): number => {
    const v = pick(key);
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new UserError(`${source}: "${key}" must be a probability in [0, 1), got ${JSON.stringify(v)}`);
    return v;
  };
  const dim = int('dim', 1, 'hidden_size');
  const n_heads = int('n_heads', 1, 'num_attention_heads');
  if (dim % n_heads !== 0) {
    // a key config.json lacks takes HF's default: say so, it is the likely cause
    const absent = (['dim', 'n_heads'] as const).filter((k) => j[k] === undefined && j[k === 'dim' ? 'hidden_size' : 'num_attention_heads'] === undefined);
    const why = absent.length ? ` (config.json has no ${absent.map((k) => `"${k}"`).join(' or ')}: HF's default ${absent.map((k) => `${k}=${DISTILBERT_DEFAULTS[k]}`).join(', ')} applies)` : '';
    throw new UserError(`${source}: "dim" (${dim}) must be divisible by "n_heads" (${n_heads})${why}`);
  }
  const activation = pick('activation');
  if (activation !== 'gelu' && activation !== 'relu') {
    throw new UserError(`${source}: "activation" must be "gelu" or "relu", got ${JSON.stringify(activation)}`);
  }
  const initializer_range = pick('initializer_range');
  // a standard deviation far above HF's 0.02 overflows float32 activations in the first layer (NaN outputs)
  if (typeof initializer_range !== 'number' || !(initializer_range >= 0 && initializer_range <= MAX_INITIALIZER_RANGE)) {
    throw new UserError(`${source}: "initializer_range" must be a number in [0, ${MAX_INITIALIZER_RANGE}] (HF's default is 0.02), got ${JSON.stringify(initializer_range)}`);
  }
  const sinusoidal = pick('sinusoidal_pos_embds');
  if (typeof sinusoidal !== 'boolean') throw new UserError(`${source}: "sinusoidal_pos_embds" must be true or false`);
  const vocab_size = int('vocab_size', 1);
  const pad = j.pad_token_id === null ? 0 : int('pad_token_id', 0);
  if (pad >= vocab_size) throw new UserError(`${source}: "pad_token_id" (${pad}) must be < "vocab_size" (${vocab_size})`);
  const labels = resolveLabels(j, source);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) if (!KNOWN.has(k) && !REGENERATED.has(k)) extra[k] = v;
  const max_position_embeddings = int('max_position_embeddings', 1);
  const n_layers = int('n_layers', 1, 'num_hidden_layers');
  // the graph is built layer by layer: a million layers would take hours before the first step (DistilBERT has 6)
  if (n_layers > MAX_LAYERS) throw new UserError(`${source}: "n_layers" is ${n_layers}; at most ${MAX_LAYERS} transformer layers are supported (DistilBERT has 6)`);
  const hidden_dim = int('hidden_dim', 1);
  checkModelSize({ vocab_size, max_position_embeddings, dim, n_layers, hidden_dim, num_labels: labels.num_labels }, source);
  return {
    vocab_size,
    max_position_embeddings,
    dim,
    n_layers,
    n_heads,
    hidden_dim,
    dropout: prob('dropout'),
    attention_dropout: prob('attention_dropout'),
    seq_classif_dropout: prob('seq_classif_dropout'),
    qa_dropout: prob('qa_dropout'),
    activation,
    initializer_range,
    pad_token_id: pad,
    sinusoidal_pos_embds: sinusoidal,
    ...labels,
    extra,
  };
}

/** A config from defaults plus overrides (no file), e.g. for a from-scratch model. */
export function createDistilBertConfig(overrides: Partial<Omit<DistilBertConfig, 'extra' | 'label2id' | 'num_labels'>> & { num_labels?: number } = {}): DistilBertConfig {
  const { id2label, num_labels, ...rest } = overrides;
  return parseDistilBertConfig({ ...rest, ...(id2label ? { id2label } : { num_labels: num_labels ?? 2 }) }, 'config');
}

/** Replaces the label set (a new classification head), keeping everything else. */
export function withLabels(config: DistilBertConfig, id2label: Record<string, string>): DistilBertConfig {
  return parseDistilBertConfig({ ...configToJson(config), id2label, label2id: undefined }, 'config');
}

/** The config.json object transformers writes for DistilBertForSequenceClassification (keys sorted, as `to_json_string`). */
export function configToJson(config: DistilBertConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...config.extra,
    architectures: ['DistilBertForSequenceClassification'],
    model_type: 'distilbert',
    torch_dtype: 'float32',
    vocab_size: config.vocab_size,
    max_position_embeddings: config.max_position_embeddings,
    sinusoidal_pos_embds: config.sinusoidal_pos_embds,
    n_layers: config.n_layers,
    n_heads: config.n_heads,
    dim: config.dim,
    hidden_dim: config.hidden_dim,
    dropout: config.dropout,
    attention_dropout: config.attention_dropout,
    activation: config.activation,
    initializer_range: config.initializer_range,
    qa_dropout: config.qa_dropout,
    seq_classif_dropout: config.seq_classif_dropout,
    pad_token_id: config.pad_token_id,
    id2label: { ...config.id2label },
    label2id: { ...config.label2id },
  };
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}
