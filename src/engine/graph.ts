/**
 * A small ONNX graph builder: `Tensor` handles record nodes into a `Graph`, which serialises to an ONNX
 * ModelProto (via `onnx-proto`) that ONNX Runtime runs. Shapes are tracked with symbolic dims (strings such as
 * 'batch', 'seq') so one graph serves every padded length; the autodiff in ./autodiff.ts needs the static
 * ranks and the broadcast pattern, which is what the light shape inference here provides.
 *
 * Hand-written rather than a dependency because no maintained JS package builds ONNX graphs with
 * gradients; the protobuf encoding itself comes from `onnx-proto`.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint32' | 'uint8';
/** A dimension: a number, a symbolic name, or null (unknown, assumed != 1). */
export type Dim = number | string | null;
export type Shape = Dim[];

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { int: number } | { ints: number[] };

export interface Node {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: (Tensor | null)[];
  readonly outputs: Tensor[];
  readonly attrs: Record<string, AttrValue>;
  /** Engine-side facts for gradient rules (never serialised), e.g. { paddingIdx } on an embedding Gather. */
  readonly meta: Record<string, unknown>;
  readonly id: number;
}

const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
  uint32: 12,
};

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

export class Tensor {
  /** Known integer values of a small constant (shapes, axes), used for shape inference. */
  constValue: number[] | null = null;
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape | null,
    readonly producer: Node | null,
  ) {}
  get rank(): number {
    if (this.shape === null) throw new Error(`rank of ${this.name} is unknown`);
    return this.shape.length;
  }
}

interface Initializer {
  tensor: Tensor;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

function broadcastShapes(a: Shape | null, b: Shape | null): Shape | null {
  if (a === null || b === null) return null;
  const r = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
    if (da === 1) out.push(db as Dim);
    else if (db === 1) out.push(da as Dim);
    else if (typeof da === 'number' && typeof db === 'number' && da !== db) throw new Error(`cannot broadcast ${fmt(a)} with ${fmt(b)}`);
    else out.push(typeof da === 'number' ? da : typeof db === 'number' ? db : (da as Dim));
  }
  return out;
}

export const fmt = (s: Shape | null): string => (s === null ? '?' : `[${s.map((d) => (d === null ? '?' : String(d))).join(',')}]`);

const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly scalarCache = new Map<string, Tensor>();
  private counter = 0;
  private nodeCounter = 0;

  constructor(readonly name = 'graph') {}

  uniqueName(hint = 't'): string {
    return `${hint}__${this.counter++}`;
  }

  /** A graph input (fed at run time). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.inputs.some((t) => t.name === name)) throw new Error(`duplicate graph input ${name}`);
    const t = new Tensor(this, name, dtype, shape, null);
    this.inputs.push(t);
    return t;
  }

  /** A constant tensor baked into the model. */
  constant(values: ArrayLike<number> | number, dtype: DType, dims?: number[]): Tensor {
    const arr = typeof values === 'number' ? [values] : Array.from(values);
    const shape = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    let data: Initializer['data'];
    switch (dtype) {
      case 'float32': data = Float32Array.from(arr); break;
      case 'float64': data = Float64Array.from(arr); break;
      case 'int64': data = BigInt64Array.from(arr.map((v) => BigInt(Math.trunc(v)))); break;
      case 'int32': data = Int32Array.from(arr); break;
      case 'bool': data = Uint8Array.from(arr.map((v) => (v ? 1 : 0))); break;
      default: throw new Error(`constant of dtype ${dtype} not supported`);
    }
    const t = new Tensor(this, this.uniqueName('const'), dtype, shape, null);
    if (dtype === 'int64' || dtype === 'int32') t.constValue = arr;
    this.initializers.push({ tensor: t, dims: shape, data });
    return t;
  }

  /** Cached scalar constant of the given float dtype. */
  scalar(v: number, dtype: DType): Tensor {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : String(v)}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(v, dtype, []);
      this.scalarCache.set(key, t);
    }
    return t;
  }

  ints(values: number[]): Tensor {
    const key = `ints:${values.join(',')}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(values, 'int64', [values.length]);
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** Records a node; `outs` gives dtype and shape of each output. */
  node(opType: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue>, outs: { dtype: DType; shape: Shape | null; hint?: string }[], opts: { domain?: string; meta?: Record<string, unknown> } = {}): Tensor[] {
    const node: Node = { opType, domain: opts.domain ?? '', inputs, outputs: [], attrs, meta: opts.meta ?? {}, id: this.nodeCounter++ };
    for (const o of outs) {
      (node.outputs as Tensor[]).push(new Tensor(this, this.uniqueName(o.hint ?? opType), o.dtype, o.shape, node));
    }
    for (const i of inputs) if (i && i.graph !== this) throw new Error(`tensor ${i.name} belongs to another graph`);
    this.nodes.push(node);
    return node.outputs;
  }

  private one(opType: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue>, dtype: DType, shape: Shape | null, meta?: Record<string, unknown>): Tensor {
    return this.node(opType, inputs, attrs, [{ dtype, shape }], { meta })[0] as Tensor;
  }

  private asTensor(x: Tensor | number, like: Tensor): Tensor {
    return typeof x === 'number' ? this.scalar(x, like.dtype) : x;
  }

  // ---- elementwise -------------------------------------------------------------------------------------
  private binary(op: string, a: Tensor | number, b: Tensor | number, outDtype?: DType): Tensor {
    const ta = typeof a === 'number' ? this.asTensor(a, b as Tensor) : a;
    const tb = typeof b === 'number' ? this.asTensor(b, ta) : b;
    return this.one(op, [ta, tb], {}, outDtype ?? ta.dtype, broadcastShapes(ta.shape, tb.shape));
  }
  add(a: Tensor | number, b: Tensor | number): Tensor { return this.binary('Add', a, b); }
  sub(a: Tensor | number, b: Tensor | number): Tensor { return this.binary('Sub', a, b); }
  mul(a: Tensor | number, b: Tensor | number): Tensor { return this.binary('Mul', a, b); }
  div(a: Tensor | number, b: Tensor | number): Tensor { return this.binary('Div', a, b); }
  pow(a: Tensor, b: Tensor | number): Tensor { return this.binary('Pow', a, b); }
  min(a: Tensor, b: Tensor | number): Tensor { return this.binary('Min', a, b); }
  max(a: Tensor, b: Tensor | number): Tensor { return this.binary('Max', a, b); }
  equal(a: Tensor, b: Tensor | number): Tensor { return this.binary('Equal', a, b, 'bool'); }
  greater(a: Tensor, b: Tensor | number): Tensor { return this.binary('Greater', a, b, 'bool'); }
  greaterOrEqual(a: Tensor, b: Tensor | number): Tensor { return this.binary('GreaterOrEqual', a, b, 'bool'); }
  less(a: Tensor, b: Tensor | number): Tensor { return this.binary('Less', a, b, 'bool'); }

  private unary(op: string, x: Tensor, attrs: Record<string, AttrValue> = {}): Tensor { return this.one(op, [x], attrs, x.dtype, x.shape); }
  neg(x: Tensor): Tensor { return this.unary('Neg', x); }
  exp(x: Tensor): Tensor { return this.unary('Exp', x); }
  log(x: Tensor): Tensor { return this.unary('Log', x); }
  sqrt(x: Tensor): Tensor { return this.unary('Sqrt', x); }
  erf(x: Tensor): Tensor { return this.unary('Erf', x); }
  relu(x: Tensor): Tensor { return this.unary('Relu', x); }
  tanh(x: Tensor): Tensor { return this.unary('Tanh', x); }
  sigmoid(x: Tensor): Tensor { return this.unary('Sigmoid', x); }
  identity(x: Tensor): Tensor { return this.unary('Identity', x); }
  not(x: Tensor): Tensor { return this.unary('Not', x); }
  softmax(x: Tensor, axis = -1): Tensor { return this.unary('Softmax', x, { axis }); }
  /**
   * Exact (erf) GELU, x·Φ(x), as ORT's com.microsoft Gelu (one fused pass; CPU, CUDA and WebGPU have it);
   * its gradient rule is the closed form, leaner than differentiating the erf decomposition.
   */
  gelu(x: Tensor): Tensor {
    return this.node('Gelu', [x], {}, [{ dtype: x.dtype, shape: x.shape }], { domain: 'com.microsoft' })[0] as Tensor;
  }
  logSoftmax(x: Tensor, axis = -1): Tensor { return this.unary('LogSoftmax', x, { axis }); }
  cast(x: Tensor, to: DType): Tensor {
    if (x.dtype === to) return x;
    return this.one('Cast', [x], { to: { int: ONNX_DTYPE[to] } }, to, x.shape);
  }
  /** Where(cond, a, b); when both branches are numbers, `dtype` says their type (default float32). */
  where(cond: Tensor, a: Tensor | number, b: Tensor | number, dtype: DType = 'float32'): Tensor {
    const ta = typeof a === 'number' ? this.scalar(a, typeof b === 'number' ? dtype : b.dtype) : a;
    const tb = typeof b === 'number' ? this.scalar(b, ta.dtype) : b;
    return this.one('Where', [cond, ta, tb], {}, ta.dtype, broadcastShapes(cond.shape, broadcastShapes(ta.shape, tb.shape)));
  }

  /**
   * Inverted dropout with the mask taken from `bits` (uint32, same shape as x, e.g. from RandomStream): an
   * element survives when bits ≥ p·2³² (probability 1−p, as torch's bernoulli(1−p)) and is scaled by 1/(1−p).
   * `bits` may instead be int32 draws in RandomStream.int32's form (u − 2³¹): the same survivors, tested with
   * one int32 compare instead of a uint32→float Cast and a float compare (ORT's Cast is the slow part).
   * The mask is a pure function of an input, so the backward pass reuses it (Mul's rule).
   */
  dropout(x: Tensor, bits: Tensor, p: number): Tensor {
    if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
    if (p === 0) return x;
    let keep: Tensor;
    if (bits.dtype === 'int32') {
      // the uint32 rule float32(u) ≥ float32(p·2³²) is monotone in u: it is u ≥ u0 for one integer u0
      const c = Math.fround(p * 4294967296);
      let lo = 0;
      let hi = 4294967296;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (Math.fround(mid) >= c) hi = mid;
        else lo = mid + 1;
      }
      if (lo >= 4294967296) return this.mul(x, 0);
      keep = this.greaterOrEqual(bits, this.constant(lo - 2147483648, 'int32', []));
    } else keep = this.greaterOrEqual(this.cast(bits, x.dtype), p * 4294967296);
    return this.mul(x, this.where(keep, 1 / (1 - p), 0, x.dtype));
  }

  // ---- linear algebra ------------------------------------------------------------------------------------
  matmul(a: Tensor, b: Tensor): Tensor {
    let shape: Shape | null = null;
    if (a.shape && b.shape) {
      if (a.shape.length < 2 || b.shape.length < 2) throw new Error('matmul: rank-1 operands are not supported');
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)) as Shape;
      shape = [...batch, a.shape[a.shape.length - 2] as Dim, b.shape[b.shape.length - 1] as Dim];
    }
    return this.one('MatMul', [a, b], {}, a.dtype, shape);
  }

  /** ONNX Gemm: alpha·op(A)·op(B) + beta·C, 2-D only. */
  gemm(a: Tensor, b: Tensor, c: Tensor | null, o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Tensor {
    const m = a.shape ? (o.transA ? a.shape[1] : a.shape[0]) : null;
    const n = b.shape ? (o.transB ? b.shape[0] : b.shape[1]) : null;
    const attrs: Record<string, AttrValue> = { transA: { int: o.transA ? 1 : 0 }, transB: { int: o.transB ? 1 : 0 }, alpha: { float: o.alpha ?? 1 }, beta: { float: o.beta ?? 1 } };
    return this.one('Gemm', c ? [a, b, c] : [a, b], attrs, a.dtype, [m ?? null, n ?? null]);
  }

  /**
   * Transpose with two peepholes that keep gradient graphs lean: a transpose of a transpose composes (and
   * vanishes when it is the identity), and (with rewriteMatMul, used by the autodiff where the MatMul has no
   * other consumer) the transpose of a 2-D MatMul becomes MatMul(Bᵀ, Aᵀ) — ORT fuses those transposes into its
   * MatMul kernel.
   */
  transpose(x: Tensor, perm?: number[], opts: { rewriteMatMul?: boolean } = {}): Tensor {
    const r = x.rank;
    const p = perm ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    if (p.every((v, i) => v === i)) return x;
    const prod = x.producer;
    if (prod && prod.opType === 'Transpose') {
      const inner = (prod.attrs.perm as { ints: number[] }).ints;
      return this.transpose(prod.inputs[0] as Tensor, p.map((i) => inner[i] as number));
    }
    if (opts.rewriteMatMul && prod && prod.opType === 'MatMul' && r === 2) {
      const [a, b] = prod.inputs as Tensor[];
      if ((a as Tensor).shape?.length === 2 && (b as Tensor).shape?.length === 2) return this.matmul(this.transpose(b as Tensor), this.transpose(a as Tensor));
    }
    const shape = x.shape ? p.map((i) => (x.shape as Shape)[i] as Dim) : null;
    return this.one('Transpose', [x], { perm: { ints: p } }, x.dtype, shape);
  }

  /** Swap the last two axes. */
  transposeLast2(x: Tensor): Tensor {
    const r = x.rank;
    const p = Array.from({ length: r }, (_, i) => i);
    p[r - 1] = r - 2;
    p[r - 2] = r - 1;
    return this.transpose(x, p);
  }

  // ---- shapes -------------------------------------------------------------------------------------------
  shapeOf(x: Tensor): Tensor {
    const t = this.one('Shape', [x], {}, 'int64', [x.shape ? x.shape.length : null]);
    if (x.shape && x.shape.every((d) => typeof d === 'number')) t.constValue = x.shape as number[];
    return t;
  }

  /** Reshape to a static spec (ONNX semantics: 0 copies the input dim, -1 is inferred) or a runtime shape tensor. */
  reshape(x: Tensor, spec: number[] | Tensor, outShape?: Shape): Tensor {
    let shape: Shape | null = outShape ?? null;
    let st: Tensor;
    if (Array.isArray(spec)) {
      st = this.ints(spec);
      if (!outShape) {
        shape = spec.map((d, i) => (d === 0 ? (x.shape ? (x.shape[i] ?? null) : null) : d === -1 ? null : d));
        const neg = spec.indexOf(-1);
        if (neg >= 0 && x.shape && x.shape.every((d) => typeof d === 'number')) {
          const total = (x.shape as number[]).reduce((p, q) => p * q, 1);
          const rest = (shape.filter((d, i) => i !== neg) as number[]).reduce((p, q) => p * q, 1);
          if (shape.every((d, i) => i === neg || typeof d === 'number')) shape[neg] = total / rest;
        }
      }
    } else {
      st = spec;
      if (!shape) shape = spec.constValue ? [...spec.constValue] : spec.shape && typeof spec.shape[0] === 'number' ? new Array<Dim>(spec.shape[0]).fill(null) : null;
    }
    return this.one('Reshape', [x, st], {}, x.dtype, shape);
  }

  /** Reshape x to the runtime shape of `like` (keeps like's static shape). */
  reshapeLike(x: Tensor, like: Tensor): Tensor {
    if (like.shape && like.shape.every((d) => typeof d === 'number')) return this.reshape(x, like.shape as number[], like.shape);
    return this.reshape(x, this.shapeOf(like), like.shape ?? undefined);
  }

  unsqueeze(x: Tensor, axes: number[]): Tensor {
    let shape: Shape | null = null;
    if (x.shape) {
      const r = x.shape.length + axes.length;
      const ax = axes.map((a) => normAxis(a, r));
      shape = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : (x.shape[j++] as Dim));
    }
    return this.one('Unsqueeze', [x, this.ints(axes)], {}, x.dtype, shape);
  }

  squeeze(x: Tensor, axes: number[]): Tensor {
    const ax = axes.map((a) => normAxis(a, x.rank));
    const shape = x.shape ? x.shape.filter((_, i) => !ax.includes(i)) : null;
    return this.one('Squeeze', [x, this.ints(axes)], {}, x.dtype, shape);
  }

  expand(x: Tensor, shapeT: Tensor, outShape: Shape | null): Tensor {
    return this.one('Expand', [x, shapeT], {}, x.dtype, outShape ?? broadcastShapes(x.shape, shapeT.constValue ?? null));
  }

  /** Zeros with the runtime shape of `like`. */
  zerosLike(like: Tensor): Tensor {
    return this.expand(this.scalar(0, like.dtype), this.shapeOf(like), like.shape);
  }

  concat(xs: Tensor[], axis: number): Tensor {
    let shape: Shape | null = null;
    const first = xs[0] as Tensor;
    if (xs.every((x) => x.shape)) {
      const a = normAxis(axis, first.rank);
      shape = [...(first.shape as Shape)];
      const dims = xs.map((x) => (x.shape as Shape)[a]);
      shape[a] = dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((p, q) => p + q, 0) : null;
    }
    const t = this.one('Concat', xs, { axis }, first.dtype, shape);
    if (xs.every((x) => x.constValue)) t.constValue = xs.flatMap((x) => x.constValue as number[]);
    return t;
  }

  /** ONNX Slice (steps 1); starts/ends may be constants or runtime int64 tensors. */
  slice(x: Tensor, starts: number[] | Tensor, ends: number[] | Tensor, axes: number[]): Tensor {
    const st = Array.isArray(starts) ? this.ints(starts) : starts;
    const en = Array.isArray(ends) ? this.ints(ends) : ends;
    let shape: Shape | null = null;
    if (x.shape) {
      shape = [...x.shape];
      axes.forEach((ax, k) => {
        const a = normAxis(ax, x.rank);
        const d = (x.shape as Shape)[a];
        const s = st.constValue?.[k];
        const e = en.constValue?.[k];
        if (typeof d === 'number' && s !== undefined && e !== undefined) {
          const cl = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
          (shape as Shape)[a] = Math.max(0, cl(e) - cl(s));
        } else if (s !== undefined && e !== undefined && s >= 0 && e > s && e - s === 1) {
          (shape as Shape)[a] = 1;
        } else (shape as Shape)[a] = null;
      });
    }
    return this.one('Slice', [x, st, en, this.ints(axes)], {}, x.dtype, shape);
  }

  pad(x: Tensor, pads: Tensor): Tensor {
    return this.one('Pad', [x, pads], { mode: 'constant' }, x.dtype, x.shape ? x.shape.map(() => null) : null);
  }

  /** Gather along `axis`; meta.paddingIdx makes the gradient skip that row (torch Embedding padding_idx). */
  gather(data: Tensor, indices: Tensor, axis = 0, meta: { paddingIdx?: number } = {}): Tensor {
    let shape: Shape | null = null;
    if (data.shape && indices.shape) {
      const a = normAxis(axis, data.rank);
      shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    }
    return this.one('Gather', [data, indices], { axis }, data.dtype, shape, meta);
  }

  scatterNDAdd(data: Tensor, indices: Tensor, updates: Tensor): Tensor {
    return this.one('ScatterND', [data, indices, updates], { reduction: 'add' }, data.dtype, data.shape);
  }

  scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axis = 0): Tensor {
    return this.one('ScatterElements', [data, indices, updates], { axis }, data.dtype, data.shape);
  }

  // ---- reductions ---------------------------------------------------------------------------------------
  private reduce(op: string, x: Tensor, axes: number[], keepdims: boolean): Tensor {
    let shape: Shape | null = null;
    if (x.shape) {
      const ax = axes.map((a) => normAxis(a, x.rank));
      shape = keepdims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
    }
    return this.one(op, [x, this.ints(axes)], { keepdims: { int: keepdims ? 1 : 0 } }, x.dtype, shape);
  }
  reduceSum(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceSum', x, axes, keepdims); }
  reduceMean(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceMean', x, axes, keepdims); }
  reduceSumSquare(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceSumSquare', x, axes, keepdims); }
  reduceMax(x: Tensor, axes: number[], keepdims = true): Tensor { return this.reduce('ReduceMax', x, axes, keepdims); }

  // ---- normalisation ------------------------------------------------------------------------------------
  /** ONNX LayerNormalization over the axes from `axis` on; also returns the saved mean and 1/std (used by its gradient). */
  layerNorm(x: Tensor, scale: Tensor, bias: Tensor, epsilon: number, axis = -1): Tensor {
    const a = normAxis(axis, x.rank);
    const statShape = x.shape ? x.shape.map((d, i) => (i < a ? d : 1)) : null;
    const [y] = this.node('LayerNormalization', [x, scale, bias], { axis: { int: axis }, epsilon: { float: epsilon } }, [
      { dtype: x.dtype, shape: x.shape, hint: 'ln' },
      // saved statistics are float32 (stash_type default) whatever X's type
      { dtype: 'float32', shape: statShape, hint: 'ln_mean' },
      { dtype: 'float32', shape: statShape, hint: 'ln_istd' },
    ]);
    return y as Tensor;
  }

  // ---- serialisation --------------------------------------------------------------------------------------
  /**
   * Serialises the part of the graph that the outputs need (dead nodes and unused inputs dropped).
   * Returns the model bytes and the names of the inputs the model actually takes.
   */
  toModel(outputs: Record<string, Tensor>, opts: { opset?: number } = {}): { bytes: Uint8Array; inputNames: string[]; outputNames: string[] } {
    const needed = new Set<Node>();
    const neededTensors = new Set<Tensor>();
    const stack: Tensor[] = Object.values(outputs);
    while (stack.length) {
      const t = stack.pop() as Tensor;
      if (neededTensors.has(t)) continue;
      neededTensors.add(t);
      if (t.producer && !needed.has(t.producer)) {
        needed.add(t.producer);
        for (const i of t.producer.inputs) if (i) stack.push(i);
      }
    }
    // An output produced by a node is exported under the output's name (no Identity copy — that would
    // duplicate e.g. every gradient); inputs, constants and tensors wanted under two names go through Identity.
    const exportName = new Map<Tensor, string>();
    const outNodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
    const outInfos: ReturnType<typeof onnx.ValueInfoProto.create>[] = [];
    const taken = new Set<string>();
    for (const [name, t] of Object.entries(outputs)) {
      if (t.producer && !exportName.has(t)) exportName.set(t, name);
      taken.add(name);
    }
    const nameOf = (t: Tensor): string => exportName.get(t) ?? t.name;
    for (const [name, t] of Object.entries(outputs)) {
      if (nameOf(t) !== name) outNodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [nameOf(t)], output: [name] }));
      outInfos.push(valueInfo(name, t));
    }
    for (const t of neededTensors) if (!exportName.has(t) && taken.has(t.name)) throw new Error(`tensor name ${t.name} collides with an output name`);
    const nodeProtos = this.nodes.filter((n) => needed.has(n)).map((n) =>
      onnx.NodeProto.create({
        opType: n.opType,
        domain: n.domain || undefined,
        input: n.inputs.map((i) => (i ? nameOf(i) : '')),
        output: n.outputs.map((o) => nameOf(o)),
        attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
      }),
    );
    const inputs = this.inputs.filter((t) => neededTensors.has(t));
    const bytes = this.encode([...nodeProtos, ...outNodes], inputs.map((t) => valueInfo(t.name, t)), outInfos, neededTensors, [...needed].some((n) => n.domain === 'com.microsoft'), opts.opset);
    return { bytes, inputNames: inputs.map((t) => t.name), outputNames: Object.keys(outputs) };
  }

  /**
   * Serialises `nodes` (a topologically ordered subset of this graph) as a model of its own: `inputs` are the
   * tensors it is fed (graph inputs or tensors other parts produce), `outputs` the tensors it returns, each under
   * its tensor name; constants the nodes read come along. Used to split a graph between ONNX Runtime and native
   * kernels. Part inputs and outputs carry their rank only (dims unknown): what other parts produce is checked there.
   */
  toModelPart(nodes: readonly Node[], inputs: readonly Tensor[], outputs: readonly Tensor[], opts: { opset?: number } = {}): { bytes: Uint8Array; inputNames: string[]; outputNames: string[] } {
    const used = new Set<Tensor>();
    for (const n of nodes) for (const i of n.inputs) if (i) used.add(i);
    const rankOnly = (t: Tensor): ReturnType<typeof onnx.ValueInfoProto.create> =>
      onnx.ValueInfoProto.create({ name: t.name, type: { tensorType: { elemType: ONNX_DTYPE[t.dtype], shape: t.shape ? { dim: t.shape.map(() => ({})) } : undefined } } });
    const nodeProtos = nodes.map((n) =>
      onnx.NodeProto.create({
        opType: n.opType,
        domain: n.domain || undefined,
        input: n.inputs.map((i) => (i ? i.name : '')),
        output: n.outputs.map((o) => o.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
      }),
    );
    const bytes = this.encode(nodeProtos, inputs.map(rankOnly), outputs.map(rankOnly), used, nodes.some((n) => n.domain === 'com.microsoft'), opts.opset);
    return { bytes, inputNames: inputs.map((t) => t.name), outputNames: outputs.map((t) => t.name) };
  }

  /** True for a constant baked into the graph (not fed, not computed). */
  isConstant(t: Tensor): boolean {
    return t.producer === null && !this.inputs.includes(t);
  }

  private encode(
    nodeProtos: ReturnType<typeof onnx.NodeProto.create>[],
    inputInfos: ReturnType<typeof onnx.ValueInfoProto.create>[],
    outInfos: ReturnType<typeof onnx.ValueInfoProto.create>[],
    neededTensors: Set<Tensor>,
    microsoft: boolean,
    opset: number | undefined,
  ): Uint8Array {
    const inits = this.initializers.filter((i) => neededTensors.has(i.tensor));
    const graph = onnx.GraphProto.create({
      name: this.name,
      node: nodeProtos,
      input: inputInfos,
      output: outInfos,
      initializer: inits.map((i) =>
        onnx.TensorProto.create({
          name: i.tensor.name,
          dataType: ONNX_DTYPE[i.tensor.dtype],
          dims: i.dims,
          rawData: new Uint8Array(i.data.buffer, i.data.byteOffset, i.data.byteLength),
        }),
      ),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'tunescope',
      opsetImport: [{ domain: '', version: opset ?? 18 }, ...(microsoft ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, t: Tensor): ReturnType<typeof onnx.ValueInfoProto.create> {
  const shape = t.shape ? { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) } : undefined;
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: ONNX_DTYPE[t.dtype], shape } } });
}

function attrProto(name: string, v: AttrValue): ReturnType<typeof onnx.AttributeProto.create> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if ('float' in v) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  if ('floats' in v) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.floats });
  if ('int' in v) return onnx.AttributeProto.create({ name, type: T.INT, i: v.int });
  return onnx.AttributeProto.create({ name, type: T.INTS, ints: v.ints });
}
