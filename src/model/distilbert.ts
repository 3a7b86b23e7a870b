/**
 * DistilBertForSequenceClassification on the engine (ONNX graphs run by ONNX Runtime), numerically the
 * Hugging Face model: same parameter names, post-LN blocks, q scaled by 1/√d_head, masked keys set to the
 * float32 minimum, exact-erf GELU, LayerNorm eps 1e-12, [CLS] pooling → pre_classifier → ReLU → classifier,
 * mean cross-entropy.
 *
 * Usage:
 *   const net = await DistilBertForSequenceClassification.create(config, parameters, { intraOpNumThreads: 4 });
 *   const { logits, loss } = await net.forward(batch);                       // eval mode (no dropout)
 *   for (const micro of microBatches)                                        // gradient accumulation
 *     await net.accumulateGradients(micro, { lossScale: 1 / microBatches.length, dropoutSeed: seed + step });
 *   const { gradNorm } = await net.optimizerStep({ lr: 5e-5, maxGradNorm: 1,
 *     optimizer: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, noDecay: hfNoDecay } });
 *   savePretrained(dir, { config, parameters: net.parameters() });
 *   await net.dispose();
 *
 * Graphs: an eval graph (logits, optional loss and hidden states), a training graph (forward with dropout
 * masks as inputs + loss + every gradient, optionally added to the previous micro-batches' sums) and an
 * AdamW graph (global-norm clipping + torch AdamW for all parameters at once) — each one ORT session,
 * reused across steps and padded lengths (batch and sequence dims are symbolic).
 *
 * `precision: 'bf16'` runs the eval and training graphs' matrix products as bf16 GEMMs with fp32 accumulation
 * (the engine's MixedSession; autocast semantics), everything else and the fp32 master weights, gradients and
 * AdamW state unchanged.
 */
import { AdamWStore, Graph, MixedSession, Session, compileGraph, gradientsMixed, RandomStream, type GraphRunner, type MixedStats, type Precision, type Tensor, type HostTensor, type SparseGrad } from '../engine/index.js';
import { UserError } from '../util/index.js';
import type { DistilBertConfig } from './config.js';
import type { NamedTensor } from './safetensors.js';

/** The config keys the network reads (a parsed HF DistilBertConfig has them all). */
export type DistilBertNetworkConfig = Pick<
  DistilBertConfig,
  'vocab_size' | 'max_position_embeddings' | 'dim' | 'n_layers' | 'n_heads' | 'hidden_dim' | 'dropout' | 'attention_dropout' | 'seq_classif_dropout'
> &
  Partial<Pick<DistilBertConfig, 'pad_token_id' | 'num_labels' | 'id2label' | 'sinusoidal_pos_embds'>> & {
    /** Checked at build time: 'gelu' or 'relu'. */
    activation: string;
  };

type ParamTensor = NamedTensor;

/** torch AdamW's per-parameter state (exp_avg, exp_avg_sq) and its step count. */
export interface AdamWState {
  step: number;
  expAvg: Map<string, NamedTensor>;
  expAvgSq: Map<string, NamedTensor>;
}

/** Row-major [batchSize, seqLength] ids and mask, already padded (pad_token_id / mask 0). */
export interface Batch {
  inputIds: Int32Array | BigInt64Array;
  attentionMask: Int32Array | BigInt64Array;
  labels?: Int32Array | BigInt64Array;
  batchSize: number;
  seqLength: number;
}

export interface OptimizerConfig {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Parameters in the no-decay group (HF Trainer: biases and LayerNorm weights); default: everything decays. */
  noDecay?: (paramName: string) => boolean;
}

/** HF Trainer's grouping: no weight decay for biases and LayerNorm weights. */
export const hfNoDecay = (name: string): boolean => name.endsWith('.bias') || /(^|\.)(LayerNorm|[a-z_]*layer_norm)\./.test(name);

const LN_EPS = 1e-12;
const FLOAT32_MIN = -3.4028234663852886e38;

export function distilBertParameterShapes(cfg: DistilBertNetworkConfig): Map<string, number[]> {
  const numLabels = numLabelsOf(cfg);
  const { dim, hidden_dim: hid } = cfg;
  const m = new Map<string, number[]>();
  m.set('distilbert.embeddings.word_embeddings.weight', [cfg.vocab_size, dim]);
  m.set('distilbert.embeddings.position_embeddings.weight', [cfg.max_position_embeddings, dim]);
  m.set('distilbert.embeddings.LayerNorm.weight', [dim]);
  m.set('distilbert.embeddings.LayerNorm.bias', [dim]);
  for (let i = 0; i < cfg.n_layers; i++) {
    const p = `distilbert.transformer.layer.${i}.`;
    for (const l of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) {
      m.set(`${p}attention.${l}.weight`, [dim, dim]);
      m.set(`${p}attention.${l}.bias`, [dim]);
    }
    m.set(`${p}sa_layer_norm.weight`, [dim]);
    m.set(`${p}sa_layer_norm.bias`, [dim]);
    m.set(`${p}ffn.lin1.weight`, [hid, dim]);
    m.set(`${p}ffn.lin1.bias`, [hid]);
    m.set(`${p}ffn.lin2.weight`, [dim, hid]);
    m.set(`${p}ffn.lin2.bias`, [dim]);
    m.set(`${p}output_layer_norm.weight`, [dim]);
    m.set(`${p}output_layer_norm.bias`, [dim]);
  }
  m.set('pre_classifier.weight', [dim, dim]);
  m.set('pre_classifier.bias', [dim]);
  m.set('classifier.weight', [numLabels, dim]);
  m.set('classifier.bias', [numLabels]);
  return m;
}

function numLabelsOf(cfg: DistilBertNetworkConfig): number {
  return cfg.num_labels ?? (cfg.id2label ? Object.keys(cfg.id2label).length : 2);
}

interface DropoutSite {
  name: string;
  p: number;
  dims: (b: number, s: number) => number[];
}

interface BuiltNetwork {
  logits: Tensor;
  loss: Tensor | null;
  hidden: Tensor[];
  params: Map<string, Tensor>;
  sites: DropoutSite[];
}

/** Records the network into `g`. With `train`, dropout masks come from int32 random inputs `dropout.{k}` (RandomStream.int32). */
function buildNetwork(g: Graph, cfg: DistilBertNetworkConfig, shapes: Map<string, number[]>, opts: { train: boolean; withLoss: boolean }): BuiltNetwork {
  const P = new Map<string, Tensor>();
  for (const [name, shape] of shapes) P.set(name, g.input(name, 'float32', shape));
  const p = (n: string): Tensor => P.get(n) as Tensor;
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
  const sites: DropoutSite[] = [];
  const dropout = (x: Tensor, prob: number, dims: DropoutSite['dims']): Tensor => {
    if (!opts.train || prob <= 0) return x;
    const name = `dropout.${sites.length}`;
    sites.push({ name, p: prob, dims });
    return g.dropout(x, g.input(name, 'int32', x.shape ?? []), prob);
  };
  const { dim, n_heads: H } = cfg;
  if (dim % H !== 0) throw new UserError(`config: dim ${dim} is not a multiple of n_heads ${H}`);
  const dh = dim / H;
  const D = cfg.dim;
  // nn.Linear as one Gemm (y = x·Wᵀ + b, bias fused into the product) on 2-D activations: the encoder keeps
  // its hidden states as [batch·seq, dim] rows, so no bias pass and no batched-MatMul broadcasting
  const linear = (x: Tensor, name: string): Tensor => g.gemm(x, p(`${name}.weight`), p(`${name}.bias`), { transB: true });

  // embeddings: word + learned positions 0..S-1 (a slice of the table), LayerNorm, dropout
  const word = g.gather(p('distilbert.embeddings.word_embeddings.weight'), ids, 0, { paddingIdx: cfg.pad_token_id ?? 0 });
  const seqLen = g.gather(g.shapeOf(ids), g.ints([1]), 0);
  const pos = g.slice(p('distilbert.embeddings.position_embeddings.weight'), g.constant([0], 'int64', [1]), seqLen, [0]);
  const emb = g.layerNorm(g.add(word, pos), p('distilbert.embeddings.LayerNorm.weight'), p('distilbert.embeddings.LayerNorm.bias'), LN_EPS);
  let x = g.reshape(emb, [-1, D]); // [B·S, D]
  x = dropout(x, cfg.dropout, (b, s) => [b * s, D]);
  const hidden: Tensor[] = [x];

  // masked keys: + float32 min instead of masked_fill — the same scores (|score| ≪ ulp(min) = 2¹⁰⁴, so
  // score + min rounds to min), and Add's gradient passes straight through where Where's needs a pass
  const maskBias = g.where(g.equal(g.unsqueeze(mask, [1, 2]), 0), FLOAT32_MIN, 0, 'float32'); // [B,1,1,S]
  // [B·S, D] → [B, S, H, dh] needs the runtime sequence length
  const headsShape = g.concat([g.constant([-1], 'int64', [1]), seqLen, g.constant([H, dh], 'int64', [2])], 0);
  const split = (t: Tensor): Tensor => g.reshape(t, headsShape, ['batch', 'seq', H, dh]);
  for (let i = 0; i < cfg.n_layers; i++) {
    const pre = `distilbert.transformer.layer.${i}.`;
    const q = g.div(g.transpose(split(linear(x, `${pre}attention.q_lin`)), [0, 2, 1, 3]), Math.sqrt(dh)); // [B,H,S,dh]
    const k = g.transpose(split(linear(x, `${pre}attention.k_lin`)), [0, 2, 3, 1]); // [B,H,dh,S]
    const v = g.transpose(split(linear(x, `${pre}attention.v_lin`)), [0, 2, 1, 3]);
    const scores = g.add(g.matmul(q, k), maskBias);
    let w = g.softmax(scores, -1);
    w = dropout(w, cfg.attention_dropout, (b, s) => [b, H, s, s]);
    const ctx = g.reshape(g.transpose(g.matmul(w, v), [0, 2, 1, 3]), [-1, D]);
    const sa = linear(ctx, `${pre}attention.out_lin`);
    x = g.layerNorm(g.add(sa, x), p(`${pre}sa_layer_norm.weight`), p(`${pre}sa_layer_norm.bias`), LN_EPS);
    let h = linear(x, `${pre}ffn.lin1`);
    if (cfg.activation === 'gelu') h = g.gelu(h); // exact erf GELU (HF "gelu")
    else if (cfg.activation === 'relu') h = g.relu(h);
    else throw new UserError(`config: activation '${cfg.activation}' is not supported (gelu, relu)`);
    h = dropout(linear(h, `${pre}ffn.lin2`), cfg.dropout, (b, s) => [b * s, D]);
    x = g.layerNorm(g.add(h, x), p(`${pre}output_layer_norm.weight`), p(`${pre}output_layer_norm.bias`), LN_EPS);
    hidden.push(x);
  }
  // [CLS] pooling → pre_classifier → ReLU → dropout → classifier
  const seqShape = g.concat([g.constant([-1], 'int64', [1]), seqLen, g.constant([D], 'int64', [1])], 0);
  const pooled = g.reshape(g.slice(g.reshape(x, seqShape, ['batch', 'seq', D]), [0], [1], [1]), [-1, D]);
  let c = g.relu(linear(pooled, 'pre_classifier'));
  c = dropout(c, cfg.seq_classif_dropout, (b) => [b, D]);
  const logits = linear(c, 'classifier');
  let loss: Tensor | null = null;
  if (opts.withLoss) {
    const C = numLabelsOf(cfg);
    const labels = g.input('labels', 'int64', ['batch']);
    const onehot = g.cast(g.equal(g.unsqueeze(labels, [1]), g.constant(Array.from({ length: C }, (_, j) => j), 'int64', [C])), 'float32');
    const nll = g.neg(g.reduceSum(g.mul(g.logSoftmax(logits, -1), onehot), [1], false));
    loss = g.reduceMean(nll, [0], false);
  }
  return { logits, loss, hidden, params: P, sites };
}

export interface NetworkOptions {
  intraOpNumThreads?: number;
  executionProvider?: string;
  /** 'bf16': mixed precision on the CPU's AMX units (a UserError where unavailable); default 'fp32'. */
  precision?: Precision;
  /** bf16 without AMX through the portable kernel (same numbers, slow): tests and parity checks only. */
  allowBf16Emulation?: boolean;
}

interface BuiltSession {
  session: GraphRunner;
  sites: DropoutSite[];
  /** parameters whose gradient the session outputs sparse: grad_indices.{name} [n,1] int64, grad_updates.{name} [n,…] */
  sparse: string[];
}

/** The word-embedding table's gradient leaves the session as its looked-up rows (see gradientsMixed). */
const WORD_EMBEDDINGS = 'distilbert.embeddings.word_embeddings.weight';

/** target[row] += updates[k] for the k-th row id, in order (as ScatterND reduction='add'). */
function scatterAddRows(target: Float32Array, indices: BigInt64Array, updates: Float32Array, width: number): void {
  for (let k = 0; k < indices.length; k++) {
    const base = Number(indices[k]) * width;
    const src = k * width;
    for (let j = 0; j < width; j++) target[base + j] = (target[base + j] as number) + (updates[src + j] as number);
  }
}

function toInt64(a: Int32Array | BigInt64Array): BigInt64Array {
  return a instanceof BigInt64Array ? a : BigInt64Array.from(a, (v) => BigInt(v));
}

export class DistilBertForSequenceClassification {
  readonly numLabels: number;
  private readonly names: string[];
  private readonly trainable: string[];
  private params: Map<string, ParamTensor>;
  private grads: Map<string, Float32Array> | null = null;
  /** Row ids scattered into each sparse gradient's engine storage since it was last zeroed (absent: unknown). */
  private readonly sparseDirty = new Map<string, BigInt64Array[]>();
  private expAvg = new Map<string, Float32Array>();
  private expAvgSq = new Map<string, Float32Array>();
  private stepCount = 0;
  /** WASM storage + native AdamW (null: the ONNX optimizer graph path, e.g. TUNESCOPE_ADAMW=onnx or too large for wasm32). */
  private store: AdamWStore | null;
  private disposed = false;
  private live(): void {
    if (this.disposed) throw new Error('DistilBertForSequenceClassification: used after dispose()');
  }
  private readonly sessions = new Map<string, Promise<BuiltSession>>();

  private constructor(
    readonly config: DistilBertNetworkConfig,
    private readonly shapes: Map<string, number[]>,
    params: Map<string, ParamTensor>,
    private readonly sessionOpts: NetworkOptions,
  ) {
    this.numLabels = numLabelsOf(config);
    this.names = [...shapes.keys()];
    // HF keeps sinusoidal position embeddings frozen (requires_grad False)
    this.trainable = this.names.filter((n) => !(config.sinusoidal_pos_embds && n === 'distilbert.embeddings.position_embeddings.weight'));
    this.params = params;
    this.store = process.env.TUNESCOPE_ADAMW === 'onnx' ? null : AdamWStore.create(new Map(this.trainable.map((n) => [n, (params.get(n) as ParamTensor).data.length])));
    if (this.store) {
      // parameters move into engine-owned storage: ORT reads them in place, AdamW updates them in place
      for (const n of this.trainable) {
        const view = this.store.param(n);
        view.set((params.get(n) as ParamTensor).data);
        this.params.set(n, { shape: (params.get(n) as ParamTensor).shape, data: view });
      }
    }
  }

  /** 'bf16' when the matrix products run as bf16 GEMMs (fp32 accumulation), else 'fp32'. */
  get precision(): Precision {
    return this.sessionOpts.precision ?? 'fp32';
  }

  /** How the bf16 sessions built so far were split (products, ORT parts, product depth per output), by graph kind. */
  async mixedStats(): Promise<Record<string, MixedStats>> {
    const out: Record<string, MixedStats> = {};
    for (const [kind, s] of this.sessions) {
      const r = (await s).session;
      if (r instanceof MixedSession) out[kind] = r.stats;
    }
    return out;
  }

  /** 'wasm' when AdamW runs as the native WASM loop over engine-owned storage, 'onnx' when it is an ORT graph. */
  get optimizerBackend(): 'wasm' | 'onnx' {
    return this.store ? 'wasm' : 'onnx';
  }

  /**
   * Validates the parameters against the config (HF names and shapes; extra names are an error here — drop
   * other heads' keys before) and prepares the sessions lazily. The caller's arrays are never modified: they
   * are copied into engine storage (WASM path) or only read (ONNX fallback). Methods are not reentrant: await
   * each call before the next.
   */
  static async create(config: DistilBertNetworkConfig, parameters: Map<string, ParamTensor>, opts: NetworkOptions = {}): Promise<DistilBertForSequenceClassification> {
    const shapes = distilBertParameterShapes(config);
    if (numLabelsOf(config) < 2) throw new UserError(`config: num_labels ${numLabelsOf(config)} — a one-output (regression) head is not supported; single-label classification needs num_labels ≥ 2`);
    const params = new Map<string, ParamTensor>();
    for (const [name, shape] of shapes) {
      const t = parameters.get(name);
      if (!t) throw new UserError(`parameters: missing '${name}' (expected shape [${shape.join(', ')}])`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.data.length !== n) {
        throw new UserError(`parameters: '${name}' has shape [${t.shape.join(', ')}] (${t.data.length} values), expected [${shape.join(', ')}]`);
      }
      params.set(name, { shape: [...shape], data: t.data });
    }
    const extra = [...parameters.keys()].filter((k) => !shapes.has(k));
    if (extra.length) throw new UserError(`parameters: unexpected names for DistilBertForSequenceClassification: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
    const net = new DistilBertForSequenceClassification(config, shapes, params, opts);
    await net.session('eval'); // fail early on a bad execution provider
    return net;
  }

  private session(kind: 'eval' | 'evalLoss' | 'evalHidden' | 'trainFresh' | 'trainAcc'): Promise<BuiltSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      s = this.buildSession(kind);
      this.sessions.set(kind, s);
    }
    return s;
  }

  private async buildSession(kind: 'eval' | 'evalLoss' | 'evalHidden' | 'trainFresh' | 'trainAcc'): Promise<BuiltSession> {
    const g = new Graph(`distilbert_${kind}`);
    const train = kind === 'trainFresh' || kind === 'trainAcc';
    const net = buildNetwork(g, this.config, this.shapes, { train, withLoss: kind !== 'eval' && kind !== 'evalHidden' });
    const outputs: Record<string, Tensor> = {};
    const sparseNames: string[] = [];
    if (!train) {
      outputs.logits = net.logits;
      if (net.loss) outputs.loss = net.loss;
      if (kind === 'evalHidden') net.hidden.forEach((h, i) => (outputs[`hidden_states.${i}`] = h));
    } else {
      const loss = net.loss as Tensor;
      const lossScale = g.input('loss_scale', 'float32', []);
      const wrt = this.trainable.map((n) => net.params.get(n) as Tensor);
      const sparse = this.trainable.map((n) => n === WORD_EMBEDDINGS);
      const acc = kind === 'trainAcc' ? this.trainable.map((n, i) => (sparse[i] ? null : g.input(`grad_acc.${n}`, 'float32', this.shapes.get(n) as number[]))) : undefined;
      const grads = gradientsMixed(loss, wrt, { seed: lossScale, accumulate: acc, sparse });
      outputs.loss = loss;
      this.trainable.forEach((n, i) => {
        const gr = grads[i] as Tensor | SparseGrad;
        if ('kind' in gr) {
          outputs[`grad_indices.${n}`] = gr.indices;
          outputs[`grad_updates.${n}`] = gr.updates;
          sparseNames.push(n);
        } else outputs[`grad.${n}`] = gr;
      });
    }
    const { precision, allowBf16Emulation, ...ort } = this.sessionOpts;
    const session = await compileGraph(g, outputs, { ...ort, precision, allowEmulation: allowBf16Emulation });
    return { session, sites: net.sites, sparse: sparseNames };
  }

  private feeds(batch: Batch, withLabels: boolean): Record<string, HostTensor> {
    const { batchSize: B, seqLength: S } = batch;
    if (!Number.isInteger(B) || !Number.isInteger(S) || B < 1 || S < 1) throw new UserError(`batch: batchSize ${B} and seqLength ${S} must be positive integers`);
    if (batch.inputIds.length !== B * S || batch.attentionMask.length !== B * S) {
      throw new UserError(`batch: inputIds/attentionMask must hold batchSize×seqLength = ${B * S} values (got ${batch.inputIds.length}, ${batch.attentionMask.length})`);
    }
    if (S > this.config.max_position_embeddings) throw new UserError(`batch: seqLength ${S} exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    const ids = toInt64(batch.inputIds);
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i] as bigint;
      if (v < 0n || v >= BigInt(this.config.vocab_size)) throw new UserError(`batch: input id ${v} at position ${i} is outside the vocabulary (size ${this.config.vocab_size})`);
    }
    const f: Record<string, HostTensor> = {
      input_ids: { dtype: 'int64', dims: [B, S], data: ids },
      attention_mask: { dtype: 'int64', dims: [B, S], data: toInt64(batch.attentionMask) },
    };
    if (withLabels) {
      if (!batch.labels) throw new UserError('batch: labels are required for the loss');
      if (batch.labels.length !== B) throw new UserError(`batch: ${batch.labels.length} labels for batchSize ${B}`);
      const labels = toInt64(batch.labels);
      for (let i = 0; i < B; i++) {
        const v = Number(labels[i]);
        if (v < 0 || v >= this.numLabels) throw new UserError(`batch: label ${v} of example ${i} is outside [0, ${this.numLabels})`);
      }
      f.labels = { dtype: 'int64', dims: [B], data: labels };
    }
    for (const [name, t] of this.params) f[name] = { dtype: 'float32', dims: t.shape, data: t.data };
    return f;
  }

  /** Eval-mode forward (no dropout): logits [B, num_labels] row-major, and the mean cross-entropy when labels are given. */
  async forward(batch: Batch, opts: { outputHiddenStates?: boolean } = {}): Promise<{ logits: Float32Array; loss?: number; hiddenStates?: Float32Array[] }> {
    this.live();
    const withLabels = !!batch.labels && !opts.outputHiddenStates;
    const kind = opts.outputHiddenStates ? 'evalHidden' : withLabels ? 'evalLoss' : 'eval';
    const { session } = await this.session(kind);
    const r = await session.run(this.feeds(batch, withLabels));
    const out: { logits: Float32Array; loss?: number; hiddenStates?: Float32Array[] } = { logits: r.logits?.data as Float32Array };
    if (r.loss) out.loss = (r.loss.data as Float32Array)[0] as number;
    if (opts.outputHiddenStates) out.hiddenStates = Array.from({ length: this.config.n_layers + 1 }, (_, i) => r[`hidden_states.${i}`]?.data as Float32Array);
    return out;
  }

  /**
   * Training forward + backward on one micro-batch (dropout masks from `dropoutSeed`); gradients of
   * lossScale·loss are added to the engine's buffers. Returns the micro-batch's mean loss (unscaled).
   */
  async accumulateGradients(batch: Batch, opts: { lossScale: number; dropoutSeed: number }): Promise<{ loss: number }> {
    this.live();
    const acc = this.grads;
    const { session, sites, sparse } = await this.session(acc ? 'trainAcc' : 'trainFresh');
    const f = this.feeds(batch, true);
    f.loss_scale = { dtype: 'float32', dims: [], data: Float32Array.of(opts.lossScale) };
    const rng = new RandomStream(opts.dropoutSeed);
    for (const s of sites) {
      const dims = s.dims(batch.batchSize, batch.seqLength);
      f[s.name] = { dtype: 'int32', dims, data: rng.int32(dims.reduce((a, b) => a * b, 1)) };
    }
    const dense = this.trainable.filter((n) => !sparse.includes(n));
    if (acc) for (const n of dense) f[`grad_acc.${n}`] = { dtype: 'float32', dims: this.shapes.get(n) as number[], data: acc.get(n) as Float32Array };
    // sparse gradients (embedding rows) are scattered here, onto zeros or onto the running sum
    const scatter = (r: Record<string, HostTensor>, target: (n: string) => Float32Array, tracked: boolean): void => {
      for (const n of sparse) {
        const t = target(n);
        const width = (this.shapes.get(n) as number[]).slice(1).reduce((a, b) => a * b, 1);
        const idx = r[`grad_indices.${n}`]?.data as BigInt64Array;
        if (!acc) {
          // only the rows the last scatters touched can be non-zero in engine storage (nothing else writes them)
          const dirty = tracked ? this.sparseDirty.get(n) : undefined;
          if (dirty) for (const d of dirty) for (const row of d) t.fill(0, Number(row) * width, (Number(row) + 1) * width);
          else t.fill(0);
          if (tracked) this.sparseDirty.set(n, [idx]);
        } else if (tracked) this.sparseDirty.get(n)?.push(idx);
        scatterAddRows(t, idx, r[`grad_updates.${n}`]?.data as Float32Array, width);
      }
    };
    const store = this.store;
    if (store) {
      // ORT writes the gradients straight into the engine's gradient storage. With accumulation the same
      // buffers are also the inputs: each is read only by the one node (Add) that writes it.
      const into: Record<string, HostTensor> = {};
      for (const n of dense) into[`grad.${n}`] = { dtype: 'float32', dims: this.shapes.get(n) as number[], data: store.grad(n) };
      const r = await session.run(f, undefined, into);
      scatter(r, (n) => store.grad(n), true);
      this.grads = new Map(this.trainable.map((n) => [n, store.grad(n)]));
      return { loss: (r.loss?.data as Float32Array)[0] as number };
    }
    const r = await session.run(f);
    const grads = new Map<string, Float32Array>();
    for (const n of dense) grads.set(n, r[`grad.${n}`]?.data as Float32Array);
    scatter(
      r,
      (n) => {
        const t = acc?.get(n) ?? new Float32Array((this.params.get(n) as ParamTensor).data.length);
        grads.set(n, t);
        return t;
      },
      false,
    );
    this.grads = grads;
    return { loss: (r.loss?.data as Float32Array)[0] as number };
  }

  /** The accumulated gradients (null right after an optimizer step; live storage views): for checks and debugging. */
  gradients(): Map<string, ParamTensor> | null {
    if (!this.grads) return null;
    const m = new Map<string, ParamTensor>();
    for (const [n, d] of this.grads) m.set(n, { shape: [...(this.shapes.get(n) as number[])], data: d });
    return m;
  }

  /**
   * Clips the accumulated gradients by global L2 norm (when maxGradNorm > 0, as torch clip_grad_norm_),
   * applies one torch AdamW step at `lr`, and clears the gradients. Returns the pre-clip global norm.
   */
  async optimizerStep(opts: { lr: number; maxGradNorm?: number; optimizer: OptimizerConfig }): Promise<{ gradNorm: number }> {
    this.live();
    if (!this.grads) throw new UserError('optimizerStep: no gradients accumulated since the last step');
    const o = opts.optimizer;
    if (this.store) {
      const gradNorm = this.store.update({
        lr: opts.lr,
        betas: o.betas,
        eps: o.eps,
        weightDecay: (n) => (o.noDecay?.(n) ? 0 : o.weightDecay),
        maxGradNorm: opts.maxGradNorm,
      });
      this.stepCount = this.store.stepCount;
      this.grads = null;
      return { gradNorm };
    }
    const decays = this.trainable.map((n) => !(o.noDecay?.(n) ?? false));
    const key = `adamw:${decays.map((d) => (d ? 1 : 0)).join('')}`;
    let sp = this.optSessions.get(key);
    if (!sp) {
      sp = this.buildOptimizer(decays);
      this.optSessions.set(key, sp);
    }
    const session = await sp;
    this.stepCount++;
    const t = this.stepCount;
    const [b1, b2] = o.betas;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const sc = (v: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(v) });
    const f: Record<string, HostTensor> = {
      max_grad_norm: sc(opts.maxGradNorm !== undefined && opts.maxGradNorm > 0 ? opts.maxGradNorm : Infinity),
      decay_factor: sc(1 - opts.lr * o.weightDecay),
      beta1: sc(b1),
      one_minus_beta1: sc(1 - b1),
      beta2: sc(b2),
      one_minus_beta2: sc(1 - b2),
      bias_correction2_sqrt: sc(Math.sqrt(bc2)),
      eps: sc(o.eps),
      neg_step_size: sc(-opts.lr / bc1),
    };
    for (const n of this.trainable) {
      const p = this.params.get(n) as ParamTensor;
      const size = p.data.length;
      if (!this.expAvg.has(n)) {
        this.expAvg.set(n, new Float32Array(size));
        this.expAvgSq.set(n, new Float32Array(size));
      }
      f[`param.${n}`] = { dtype: 'float32', dims: p.shape, data: p.data };
      f[`grad.${n}`] = { dtype: 'float32', dims: p.shape, data: this.grads.get(n) as Float32Array };
      f[`exp_avg.${n}`] = { dtype: 'float32', dims: p.shape, data: this.expAvg.get(n) as Float32Array };
      f[`exp_avg_sq.${n}`] = { dtype: 'float32', dims: p.shape, data: this.expAvgSq.get(n) as Float32Array };
    }
    const r = await session.run(f);
    for (const n of this.trainable) {
      const p = this.params.get(n) as ParamTensor;
      this.params.set(n, { shape: p.shape, data: r[`new_param.${n}`]?.data as Float32Array });
      this.expAvg.set(n, r[`new_exp_avg.${n}`]?.data as Float32Array);
      this.expAvgSq.set(n, r[`new_exp_avg_sq.${n}`]?.data as Float32Array);
    }
    this.grads = null;
    return { gradNorm: (r.grad_norm?.data as Float32Array)[0] as number };
  }

  private readonly optSessions = new Map<string, Promise<Session>>();

  /** torch.optim.AdamW (single-tensor, step from the fed bias corrections) after clip_grad_norm_, all parameters in one graph. */
  private async buildOptimizer(decays: boolean[]): Promise<Session> {
    const g = new Graph('adamw');
    const s = (n: string): Tensor => g.input(n, 'float32', []);
    const maxNorm = s('max_grad_norm');
    const decay = s('decay_factor');
    const b1 = s('beta1');
    const omb1 = s('one_minus_beta1');
    const b2 = s('beta2');
    const omb2 = s('one_minus_beta2');
    const bc2s = s('bias_correction2_sqrt');
    const eps = s('eps');
    const negStep = s('neg_step_size');
    const ins = this.trainable.map((n) => {
      const shape = this.shapes.get(n) as number[];
      return { n, p: g.input(`param.${n}`, 'float32', shape), gr: g.input(`grad.${n}`, 'float32', shape), m: g.input(`exp_avg.${n}`, 'float32', shape), v: g.input(`exp_avg_sq.${n}`, 'float32', shape) };
    });
    let sq: Tensor | null = null;
    for (const i of ins) {
      const t = g.reduceSumSquare(i.gr, Array.from({ length: i.gr.rank }, (_, k) => k), false);
      sq = sq ? g.add(sq, t) : t;
    }
    const norm = g.sqrt(sq as Tensor);
    // torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1; grads *= clip_coef
    const coef = g.min(g.div(maxNorm, g.add(norm, 1e-6)), 1);
    // torch's sequence with the clip coefficient folded into the scalars (fewer passes over 67M values):
    //   m = β1·m + (1−β1)·(c·g);  v = β2·v + (1−β2)·(c·g)²;  p = p·(1−lr·wd) − (lr/bc1)·m / (√v/√bc2 + eps)
    // with √v/√bc2 + eps = (√v + eps·√bc2)/√bc2.
    const s1 = g.mul(coef, omb1);
    const s2 = g.mul(g.mul(coef, coef), omb2);
    const epsScaled = g.mul(eps, bc2s);
    const stepScaled = g.mul(negStep, bc2s);
    const outputs: Record<string, Tensor> = { grad_norm: norm };
    ins.forEach((i, k) => {
      const m = g.add(g.mul(i.m, b1), g.mul(i.gr, s1));
      const v = g.add(g.mul(i.v, b2), g.mul(g.mul(i.gr, i.gr), s2));
      const upd = g.mul(g.div(m, g.add(g.sqrt(v), epsScaled)), stepScaled);
      outputs[`new_param.${i.n}`] = g.add(decays[k] ? g.mul(i.p, decay) : i.p, upd);
      outputs[`new_exp_avg.${i.n}`] = m;
      outputs[`new_exp_avg_sq.${i.n}`] = v;
    });
    const { precision: _p, allowBf16Emulation: _e, ...ort } = this.sessionOpts;
    return Session.create(g.toModel(outputs), ort);
  }

  /**
   * AdamW state as torch keeps it: exp_avg and exp_avg_sq per trainable parameter (HF names) and the step count.
   * A copy: later steps do not change it. Before the first step both moments are zero.
   */
  optimizerState(): AdamWState {
    this.live();
    const expAvg = new Map<string, ParamTensor>();
    const expAvgSq = new Map<string, ParamTensor>();
    for (const n of this.trainable) {
      const shape = [...(this.shapes.get(n) as number[])];
      const size = (this.params.get(n) as ParamTensor).data.length;
      const m = this.store ? this.store.expAvg(n) : this.expAvg.get(n);
      const v = this.store ? this.store.expAvgSq(n) : this.expAvgSq.get(n);
      expAvg.set(n, { shape, data: m ? m.slice() : new Float32Array(size) });
      expAvgSq.set(n, { shape: [...shape], data: v ? v.slice() : new Float32Array(size) });
    }
    return { step: this.store ? this.store.stepCount : this.stepCount, expAvg, expAvgSq };
  }

  /** Restores what optimizerState() returned (a resumed run): every trainable parameter's moments and the step. */
  loadOptimizerState(state: AdamWState): void {
    this.live();
    if (this.grads) throw new Error('loadOptimizerState: gradients are pending; restore before the first micro-batch');
    for (const n of this.trainable) {
      const shape = this.shapes.get(n) as number[];
      for (const [what, t] of [['exp_avg', state.expAvg.get(n)], ['exp_avg_sq', state.expAvgSq.get(n)]] as const) {
        if (!t) throw new UserError(`optimizer state: no ${what} for parameter ${n}`);
        if (t.shape.join(',') !== shape.join(',')) throw new UserError(`optimizer state: ${what} of ${n} has shape [${t.shape.join(', ')}], the parameter [${shape.join(', ')}]`);
      }
    }
    const extra = [...state.expAvg.keys()].filter((k) => !this.trainable.includes(k));
    if (extra.length) throw new UserError(`optimizer state: parameters the model does not train: ${extra.slice(0, 3).join(', ')}`);
    if (!Number.isInteger(state.step) || state.step < 0) throw new UserError(`optimizer state: step must be an integer >= 0, got ${state.step}`);
    for (const n of this.trainable) {
      const m = (state.expAvg.get(n) as ParamTensor).data;
      const v = (state.expAvgSq.get(n) as ParamTensor).data;
      if (this.store) {
        this.store.expAvg(n).set(m);
        this.store.expAvgSq(n).set(v);
      } else {
        this.expAvg.set(n, m.slice());
        this.expAvgSq.set(n, v.slice());
      }
    }
    if (this.store) this.store.stepCount = state.step;
    this.stepCount = state.step;
  }

  /** Current weights under their HF names: a snapshot (later steps do not change it). */
  parameters(): Map<string, ParamTensor> {
    this.live();
    const m = new Map<string, ParamTensor>();
    for (const n of this.names) {
      const p = this.params.get(n) as ParamTensor;
      // WASM storage is updated in place, so hand out copies; the ONNX path swaps arrays and never mutates them
      m.set(n, { shape: [...p.shape], data: this.store ? p.data.slice() : p.data });
    }
    return m;
  }

  async dispose(): Promise<void> {
    // drop every view into the WASM memory (≈16 bytes per parameter) so it can be collected even while
    // the caller still holds this object
    this.disposed = true;
    this.store = null;
    this.grads = null;
    this.params = new Map();
    this.expAvg.clear();
    this.expAvgSq.clear();
    this.sparseDirty.clear();
    const all = [...this.sessions.values(), ...[...this.optSessions.values()].map((p) => p.then((session) => ({ session })))];
    this.sessions.clear();
    this.optSessions.clear();
    for (const s of all) {
      try {
        await (await s).session.dispose();
      } catch {
        /* a session that failed to build has nothing to release */
      }
    }
  }
}
