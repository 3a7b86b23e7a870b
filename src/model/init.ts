/**
 * DistilBertForSequenceClassification parameter layout (HF names and shapes, `named_parameters()` order) and
 * HF's `_init_weights`: Linear/Embedding weights ~ N(0, initializer_range), biases 0, LayerNorm weight 1 / bias 0,
 * the word-embedding padding row 0, sinusoidal position embeddings when `sinusoidal_pos_embds`.
 * Each parameter draws from its own generator seeded by (seed, name), so re-initialising only a new head gives the
 * same values as a full init with that seed. The generator is an inline xoshiro128** with Box–Muller rather than the
 * shared MT19937 `Rng`: DistilBERT-base has 67M weights and the function-call-per-draw generator took ~12 s for them.
 */
import { createHash } from 'node:crypto';
import type { DistilBertConfig } from './config.js';
import type { NamedTensor, ParameterMap } from './safetensors.js';

export type ParameterKind = 'linear_weight' | 'bias' | 'embedding' | 'layer_norm_weight' | 'layer_norm_bias';

export interface ParameterSpec {
  name: string;
  shape: number[];
  kind: ParameterKind;
}

/** Every parameter of DistilBertForSequenceClassification, in HF `named_parameters()` order. */
export function distilBertParameterSpecs(config: DistilBertConfig): ParameterSpec[] {
  const { dim, hidden_dim: hid, vocab_size, max_position_embeddings, num_labels } = config;
  const specs: ParameterSpec[] = [
    { name: 'distilbert.embeddings.word_embeddings.weight', shape: [vocab_size, dim], kind: 'embedding' },
    { name: 'distilbert.embeddings.position_embeddings.weight', shape: [max_position_embeddings, dim], kind: 'embedding' },
    { name: 'distilbert.embeddings.LayerNorm.weight', shape: [dim], kind: 'layer_norm_weight' },
    { name: 'distilbert.embeddings.LayerNorm.bias', shape: [dim], kind: 'layer_norm_bias' },
  ];
  const linear = (name: string, out: number, inp: number): void => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], kind: 'linear_weight' }, { name: `${name}.bias`, shape: [out], kind: 'bias' });
  };
  const ln = (name: string): void => {
    specs.push({ name: `${name}.weight`, shape: [dim], kind: 'layer_norm_weight' }, { name: `${name}.bias`, shape: [dim], kind: 'layer_norm_bias' });
  };
  for (let i = 0; i < config.n_layers; i++) {
    const p = `distilbert.transformer.layer.${i}`;
    for (const l of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) linear(`${p}.attention.${l}`, dim, dim);
    ln(`${p}.sa_layer_norm`);
    linear(`${p}.ffn.lin1`, hid, dim);
    linear(`${p}.ffn.lin2`, dim, hid);
    ln(`${p}.output_layer_norm`);
  }
  linear('pre_classifier', dim, dim);
  linear('classifier', num_labels, dim);
  return specs;
}

/** HF `create_sinusoidal_embeddings`: even columns sin, odd columns cos of pos / 10000^(2·(j//2)/dim). */
export function sinusoidalPositionEmbeddings(nPos: number, dim: number): Float32Array {
  const out = new Float32Array(nPos * dim);
  for (let pos = 0; pos < nPos; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      out[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}

function paramSeed(seed: number, name: string): number {
  return createHash('sha256').update(`${seed}:${name}`).digest().readUInt32LE(0);
}

/** N(0, std) via Box–Muller on xoshiro128** (seeded through splitmix32); 32-bit uniforms in (0, 1). */
function fillNormal(out: Float32Array, seed: number, std: number): void {
  let z = seed >>> 0;
  const splitmix = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const next = (): number => {
    const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return r;
  };
  const TWO32 = 4294967296;
  for (let i = 0; i < out.length; i += 2) {
    const u1 = (next() + 0.5) / TWO32;
    const u2 = (next() + 0.5) / TWO32;
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    const th = 2 * Math.PI * u2;
    out[i] = r * Math.cos(th);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(th);
  }
}

function initOne(config: DistilBertConfig, spec: ParameterSpec, seed: number): NamedTensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  switch (spec.kind) {
    case 'layer_norm_weight':
      data.fill(1);
      break;
    case 'bias':
    case 'layer_norm_bias':
      break;
    case 'linear_weight':
    case 'embedding': {
      if (spec.name === 'distilbert.embeddings.position_embeddings.weight' && config.sinusoidal_pos_embds) {
        data.set(sinusoidalPositionEmbeddings(spec.shape[0]!, spec.shape[1]!));
        break;
      }
      fillNormal(data, paramSeed(seed, spec.name), config.initializer_range);
      if (spec.name === 'distilbert.embeddings.word_embeddings.weight') {
        // nn.Embedding(padding_idx=pad_token_id): HF zeroes that row
        const d = spec.shape[1]!;
        data.fill(0, config.pad_token_id * d, (config.pad_token_id + 1) * d);
      }
      break;
    }
  }
  return { shape: [...spec.shape], data };
}

/**
 * A freshly initialised DistilBertForSequenceClassification (HF `from_config`). `only` restricts which parameters are
 * created (e.g. a new classification head); the values do not depend on which others are created.
 */
export function initDistilBertParameters(config: DistilBertConfig, seed: number, opts: { only?: (name: string) => boolean } = {}): ParameterMap {
  const out: ParameterMap = new Map();
  for (const spec of distilBertParameterSpecs(config)) {
    if (opts.only && !opts.only(spec.name)) continue;
    out.set(spec.name, initOne(config, spec, seed));
  }
  return out;
}
