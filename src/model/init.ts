/**
 * DistilBertForSequenceClassification parameter layout (HF names and shapes, `named_parameters()` order) and
 * HF's `_init_weights`: Linear/Embedding weights ~ N(0, initializer_range), biases 0, LayerNorm weight 1 / bias 0,
 * the word-embedding padding row 0, sinusoidal position embeddings when `sinusoidal_pos_embds`.
 * Each parameter draws from its own generator seeded by (seed, name), so re-initialising only a new head gives the
 * same values as a full init with that seed.
 */
import { createHash } from 'node:crypto';
import { Rng } from '../util/index.js';
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
      const rng = new Rng(paramSeed(seed, spec.name));
      const std = config.initializer_range;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
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
