/**
 * Reverse-mode differentiation over a recorded `Graph`: walks the nodes between the wanted inputs and the
 * output backwards and emits, with the same builder, the ONNX nodes of each op's gradient rule. The result is
 * an ordinary graph, so forward, loss and every gradient run in ONE ORT session call.
 *
 * Broadcasting is undone with ReduceSum over the broadcast axes. An embedding Gather yields a sparse gradient
 * (row indices + updates) that is scattered with ScatterND(reduction='add') straight into its accumulator,
 * so repeated ids add up and the dense [vocab, dim] table is touched once; rows equal to the node's
 * `meta.paddingIdx` get nothing, as torch's Embedding(padding_idx).
 */
import { type Graph, type Node, Tensor, isFloat, type Shape } from './graph.js';

export interface SparseGrad {
  kind: 'sparse';
  /** [n, 1] int64 row ids. */
  indices: Tensor;
  /** [n, ...rest of the table's dims]. */
  updates: Tensor;
}
export type Grad = Tensor | SparseGrad;

type Rule = (g: Graph, node: Node, dOut: (Tensor | null)[], needs: boolean[]) => (Grad | null)[];

const isSparse = (x: Grad): x is SparseGrad => !(x instanceof Tensor);

/** Sums a gradient back down to `target`'s shape after broadcasting. */
export function reduceTo(g: Graph, grad: Tensor, target: Tensor): Tensor {
  const gs = grad.shape;
  const ts = target.shape;
  if (!gs || !ts) throw new Error(`reduceTo: unknown rank (${grad.name} -> ${target.name})`);
  const lead = gs.length - ts.length;
  if (lead < 0) throw new Error(`reduceTo: gradient rank ${gs.length} below target rank ${ts.length}`);
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  ts.forEach((d, i) => {
    if (d === 1 && gs[lead + i] !== 1) axes.push(lead + i);
  });
  if (axes.length === 0) return grad;
  let r = g.reduceSum(grad, axes, true);
  if (lead > 0) r = g.squeeze(r, axes.slice(0, lead));
  return r;
}

const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

function materialize(g: Graph, s: SparseGrad, like: Tensor, base?: Tensor): Tensor {
  return g.scatterNDAdd(base ?? g.zerosLike(like), s.indices, s.updates);
}

function sumGrads(g: Graph, list: Grad[], like: Tensor): Tensor {
  let acc: Tensor | null = null;
  for (const x of list) {
    const d = isSparse(x) ? materialize(g, x, like) : x;
    acc = acc ? g.add(acc, d) : d;
  }
  return acc as Tensor;
}

function countOf(g: Graph, x: Tensor, axes: number[]): Tensor {
  const s = x.shape;
  if (s && axes.every((a) => typeof s[a] === 'number')) return g.scalar(axes.reduce((p, a) => p * (s[a] as number), 1), x.dtype);
  const dims = g.gather(g.shapeOf(x), g.ints(axes), 0);
  const prod = g.node('ReduceProd', [dims], { keepdims: { int: 0 } }, [{ dtype: 'int64', shape: [] }])[0] as Tensor;
  return g.cast(prod, x.dtype);
}

function axesOf(node: Node, x: Tensor): number[] {
  const at = node.inputs[1];
  if (!at) return Array.from({ length: x.rank }, (_, i) => i);
  if (!at.constValue) throw new Error(`${node.opType}: gradient needs constant axes`);
  return at.constValue.map((a) => normAxis(a, x.rank));
}

const RULES: Record<string, Rule> = {
  Add: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    return [need[0] ? reduceTo(g, d as Tensor, a as Tensor) : null, need[1] ? reduceTo(g, d as Tensor, b as Tensor) : null];
  },
  Sub: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    return [need[0] ? reduceTo(g, d as Tensor, a as Tensor) : null, need[1] ? reduceTo(g, g.neg(d as Tensor), b as Tensor) : null];
  },
  Mul: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    return [need[0] ? reduceTo(g, g.mul(d as Tensor, b as Tensor), a as Tensor) : null, need[1] ? reduceTo(g, g.mul(d as Tensor, a as Tensor), b as Tensor) : null];
  },
  Div: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    const y = n.outputs[0] as Tensor;
    return [
      need[0] ? reduceTo(g, g.div(d as Tensor, b as Tensor), a as Tensor) : null,
      need[1] ? reduceTo(g, g.neg(g.div(g.mul(d as Tensor, y), b as Tensor)), b as Tensor) : null,
    ];
  },
  Neg: (g, _n, [d]) => [g.neg(d as Tensor)],
  Identity: (_g, _n, [d]) => [d],
  Exp: (g, n, [d]) => [g.mul(d as Tensor, n.outputs[0] as Tensor)],
  Log: (g, n, [d]) => [g.div(d as Tensor, n.inputs[0] as Tensor)],
  Sqrt: (g, n, [d]) => [g.div(d as Tensor, g.mul(n.outputs[0] as Tensor, 2))],
  Pow: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    const y = n.outputs[0] as Tensor;
    return [
      need[0] ? reduceTo(g, g.mul(d as Tensor, g.mul(b as Tensor, g.pow(a as Tensor, g.sub(b as Tensor, 1)))), a as Tensor) : null,
      need[1] ? reduceTo(g, g.mul(d as Tensor, g.mul(y, g.log(a as Tensor))), b as Tensor) : null,
    ];
  },
  Erf: (g, n, [d]) => {
    const x = n.inputs[0] as Tensor;
    return [g.mul(d as Tensor, g.mul(g.exp(g.neg(g.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  // com.microsoft Gelu (exact): d/dx x·Φ(x) = Φ(x) + x·φ(x) = ½(1 + erf(t)) + t·e^(−t²)/√π with t = x/√2
  Gelu: (g, n, [d]) => {
    const x = n.inputs[0] as Tensor;
    const t = g.mul(x, Math.SQRT1_2);
    // −t² as t·(−x/√2): exactly −(t·t), without ORT's Neg (a slow unvectorised pass)
    const pdf = g.mul(g.mul(t, g.exp(g.mul(t, g.mul(x, -Math.SQRT1_2)))), 1 / Math.sqrt(Math.PI));
    const cdf = g.add(g.mul(g.erf(t), 0.5), 0.5);
    return [g.mul(d as Tensor, g.add(cdf, pdf))];
  },
  Relu: (g, n, [d]) => [g.where(g.greater(n.inputs[0] as Tensor, 0), d as Tensor, 0)],
  Tanh: (g, n, [d]) => {
    const y = n.outputs[0] as Tensor;
    return [g.mul(d as Tensor, g.sub(1, g.mul(y, y)))];
  },
  Sigmoid: (g, n, [d]) => {
    const y = n.outputs[0] as Tensor;
    return [g.mul(d as Tensor, g.mul(y, g.sub(1, y)))];
  },
  Cast: (g, n, [d]) => {
    const x = n.inputs[0] as Tensor;
    return [isFloat(x.dtype) ? g.cast(d as Tensor, x.dtype) : null];
  },
  Reshape: (g, n, [d]) => [g.reshapeLike(d as Tensor, n.inputs[0] as Tensor)],
  Unsqueeze: (g, n, [d]) => [g.reshapeLike(d as Tensor, n.inputs[0] as Tensor)],
  Squeeze: (g, n, [d]) => [g.reshapeLike(d as Tensor, n.inputs[0] as Tensor)],
  Flatten: (g, n, [d]) => [g.reshapeLike(d as Tensor, n.inputs[0] as Tensor)],
  Transpose: (g, n, [d]) => {
    const perm = (n.attrs.perm as { ints: number[] }).ints;
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [g.transpose(d as Tensor, inv, { rewriteMatMul: true })];
  },
  Expand: (g, n, [d]) => [reduceTo(g, d as Tensor, n.inputs[0] as Tensor)],
  ReduceSum: (g, n, [d]) => {
    const x = n.inputs[0] as Tensor;
    const axes = axesOf(n, x);
    let dd = d as Tensor;
    if ((n.attrs.keepdims as { int: number } | undefined)?.int === 0) dd = g.unsqueeze(dd, axes);
    return [g.expand(dd, g.shapeOf(x), x.shape)];
  },
  ReduceMean: (g, n, [d]) => {
    const x = n.inputs[0] as Tensor;
    const axes = axesOf(n, x);
    let dd = d as Tensor;
    if ((n.attrs.keepdims as { int: number } | undefined)?.int === 0) dd = g.unsqueeze(dd, axes);
    return [g.expand(g.div(dd, countOf(g, x, axes)), g.shapeOf(x), x.shape)];
  },
  Softmax: (g, n, [d]) => {
    const y = n.outputs[0] as Tensor;
    const axis = (n.attrs.axis as number | undefined) ?? -1;
    const s = g.reduceSum(g.mul(d as Tensor, y), [axis], true);
    return [g.mul(y, g.sub(d as Tensor, s))];
  },
  LogSoftmax: (g, n, [d]) => {
    const y = n.outputs[0] as Tensor;
    const axis = (n.attrs.axis as number | undefined) ?? -1;
    return [g.sub(d as Tensor, g.mul(g.exp(y), g.reduceSum(d as Tensor, [axis], true)))];
  },
  Where: (g, n, [d], need) => {
    const [c, a, b] = n.inputs as Tensor[];
    return [
      null,
      need[1] ? reduceTo(g, g.where(c as Tensor, d as Tensor, 0), a as Tensor) : null,
      need[2] ? reduceTo(g, g.where(c as Tensor, 0, d as Tensor), b as Tensor) : null,
    ];
  },
  MatMul: (g, n, [d], need) => {
    const [a, b] = n.inputs as Tensor[];
    const dy = d as Tensor;
    const A = a as Tensor;
    const B = b as Tensor;
    let dA: Tensor | null = null;
    let dB: Tensor | null = null;
    if (need[0]) dA = reduceTo(g, g.matmul(dy, g.transposeLast2(B)), A);
    if (need[1]) {
      const bs = B.shape as Shape;
      if (A.rank > 2 && B.rank === 2 && typeof bs[0] === 'number' && typeof bs[1] === 'number') {
        // weight of a batched linear map: fold the batch dims into rows instead of materialising [batch, K, N]
        const a2 = g.reshape(A, [-1, bs[0]]);
        const d2 = g.reshape(dy, [-1, bs[1]]);
        dB = g.matmul(g.transposeLast2(a2), d2);
      } else dB = reduceTo(g, g.matmul(g.transposeLast2(A), dy), B);
    }
    return [dA, dB];
  },
  Gemm: (g, n, [d], need) => {
    const [a, b, c] = n.inputs as (Tensor | null)[];
    const tA = (n.attrs.transA as { int: number }).int === 1;
    const tB = (n.attrs.transB as { int: number }).int === 1;
    const alpha = (n.attrs.alpha as { float: number }).float;
    const beta = (n.attrs.beta as { float: number }).float;
    const dy = d as Tensor;
    const A = a as Tensor;
    const B = b as Tensor;
    let dA: Tensor | null = null;
    let dB: Tensor | null = null;
    // op(X)·op(Y)·alpha. A transposed first operand goes through MatMul(Transpose(X), …), which ORT fuses into
    // FusedMatMul: measured ~2× faster than Gemm(transA=1) for the [M,K]ᵀ·[M,N] weight gradients of a linear layer
    const prod = (x: Tensor, tx: boolean, y: Tensor, ty: boolean): Tensor => {
      if (!tx || alpha !== 1) return g.gemm(x, y, null, { transA: tx, transB: ty, alpha });
      return g.matmul(g.transpose(x), ty ? g.transpose(y) : y);
    };
    if (need[0]) dA = tA ? prod(B, tB, dy, true) : prod(dy, false, B, !tB);
    if (need[1]) dB = tB ? prod(dy, true, A, tA) : prod(A, !tA, dy, false);
    const dC = c && need[2] ? reduceTo(g, beta === 1 ? dy : g.mul(dy, beta), c) : null;
    return [dA, dB, dC];
  },
  Gather: (g, n, [d], need) => {
    const [data, idx] = n.inputs as Tensor[];
    const table = data as Tensor;
    const axis = normAxis((n.attrs.axis as number | undefined) ?? 0, table.rank);
    if (!need[0]) return [null, null];
    if (axis !== 0) throw new Error('Gather gradient: only axis 0 is supported (use Slice for other axes)');
    const rest = (table.shape as Shape).slice(1);
    if (!rest.every((x) => typeof x === 'number')) throw new Error('Gather gradient: table dims after the first must be static');
    const ids = g.reshape(g.cast(idx as Tensor, 'int64'), [-1, 1]);
    let upd = g.reshape(d as Tensor, [-1, ...(rest as number[])]);
    const pad = n.meta.paddingIdx;
    if (typeof pad === 'number') {
      const cond = rest.length === 1 ? g.equal(ids, pad) : g.reshape(g.equal(ids, pad), [-1, ...rest.map(() => 1)]);
      upd = g.where(cond, 0, upd);
    }
    return [{ kind: 'sparse', indices: ids, updates: upd }, null];
  },
  Slice: (g, n, [d], need) => {
    const [x, starts, ends, axesT, steps] = n.inputs as (Tensor | null)[];
    if (!need[0]) return [null];
    if (steps && !(steps.constValue && steps.constValue.every((s) => s === 1))) throw new Error('Slice gradient: only step 1 is supported');
    const X = x as Tensor;
    const r = X.rank;
    const axes = axesT ? (axesT.constValue ?? (() => { throw new Error('Slice gradient: axes must be constant'); })()) : Array.from({ length: r }, (_, i) => i);
    const ax = axes.map((a) => normAxis(a, r));
    const dims = g.gather(g.shapeOf(X), g.ints(ax), 0);
    const clamp = (v: Tensor): Tensor => {
      const pos = g.where(g.less(v, 0), g.add(v, dims), v);
      return g.min(g.max(pos, g.constant([0], 'int64', [1])), dims);
    };
    const s = clamp(g.cast(starts as Tensor, 'int64'));
    const e = g.max(clamp(g.cast(ends as Tensor, 'int64')), s);
    const zeros = g.constant(new Array<number>(r).fill(0), 'int64', [r]);
    const axIdx = g.ints(ax);
    const padsBegin = g.scatterElements(zeros, axIdx, s, 0);
    const padsEnd = g.scatterElements(zeros, axIdx, g.sub(dims, e), 0);
    return [g.pad(d as Tensor, g.concat([padsBegin, padsEnd], 0))];
  },
  Concat: (g, n, [d], need) => {
    const xs = n.inputs as Tensor[];
    const axis = normAxis(n.attrs.axis as number, (xs[0] as Tensor).rank);
    let off: Tensor = g.constant([0], 'int64', [1]);
    const out: (Tensor | null)[] = [];
    xs.forEach((x, i) => {
      const size = g.gather(g.shapeOf(x), g.ints([axis]), 0);
      const end = g.add(off, size);
      out.push(need[i] ? g.slice(d as Tensor, off, end, [axis]) : null);
      off = end;
    });
    return out;
  },
  LayerNormalization: (g, n, [d], need) => {
    const [x, scale] = n.inputs as Tensor[];
    const X = x as Tensor;
    const [, mean0, istd0] = n.outputs as Tensor[];
    const mean = g.cast(mean0 as Tensor, X.dtype);
    const istd = g.cast(istd0 as Tensor, X.dtype);
    const r = X.rank;
    const a = normAxis(((n.attrs.axis as { int: number } | undefined)?.int ?? -1), r);
    const lead = Array.from({ length: a }, (_, i) => i);
    const normAxes = Array.from({ length: r - a }, (_, i) => a + i);
    const dy = d as Tensor;
    const xhat = g.mul(g.sub(X, mean as Tensor), istd as Tensor);
    const dScale = need[1] ? g.reduceSum(g.mul(dy, xhat), lead, false) : null;
    const dBias = need[2] ? g.reduceSum(dy, lead, false) : null;
    let dX: Tensor | null = null;
    if (need[0]) {
      const dxhat = g.mul(dy, scale as Tensor);
      const m1 = g.reduceMean(dxhat, normAxes, true);
      const m2 = g.reduceMean(g.mul(dxhat, xhat), normAxes, true);
      dX = g.mul(istd as Tensor, g.sub(g.sub(dxhat, m1), g.mul(xhat, m2)));
    }
    return [dX, dScale, dBias];
  },
};

/** Ops whose outputs never carry a gradient (integer/boolean results, shape computations). */
const NON_DIFFERENTIABLE = new Set(['Shape', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'ConstantOfShape', 'Range', 'ArgMax', 'ScatterElements']);

export function supportedGradientOps(): string[] {
  return Object.keys(RULES).sort();
}

/**
 * Gradients of the scalar-or-tensor `y` with respect to each tensor in `wrt`, as new graph tensors.
 * `seed` is dL/dy (default ones: e.g. a loss scale input); `accumulate[i]`, when given, is added to the
 * i-th gradient inside the graph (gradient accumulation without a host-side pass).
 */
export function gradients(y: Tensor, wrt: Tensor[], opts: { seed?: Tensor; accumulate?: (Tensor | null)[] } = {}): Tensor[] {
  return gradientsMixed(y, wrt, opts) as Tensor[];
}

/**
 * As `gradients`, but where `sparse[i]` is set and every contribution to wrt[i] is sparse (an embedding
 * Gather), the gradient stays a SparseGrad (row ids + rows, several lookups concatenated) instead of a dense
 * table: for a large vocabulary the caller can scatter it itself and the session does not have to output
 * (and the binding copy) the mostly-zero [vocab, dim] tensor. `accumulate[i]` must be null for those.
 */
export function gradientsMixed(y: Tensor, wrt: Tensor[], opts: { seed?: Tensor; accumulate?: (Tensor | null)[]; sparse?: boolean[] } = {}): Grad[] {
  const g = y.graph;
  const endIdx = y.producer ? g.nodes.indexOf(y.producer) : -1;
  const nodes = g.nodes.slice(0, endIdx + 1);
  // tensors that depend on some wrt tensor
  const requires = new Set<Tensor>(wrt);
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (n.inputs.some((i) => i && requires.has(i))) for (const o of n.outputs) if (isFloat(o.dtype)) requires.add(o);
  }
  const grads = new Map<Tensor, Grad[]>();
  const seed = opts.seed ?? (y.shape && y.shape.length === 0 ? g.scalar(1, y.dtype) : g.expand(g.scalar(1, y.dtype), g.shapeOf(y), y.shape));
  grads.set(y, [seed]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k] as Node;
    const outGrads = n.outputs.map((o) => grads.get(o));
    if (outGrads.every((x) => !x)) continue;
    const needs = n.inputs.map((i) => !!i && requires.has(i) && isFloat(i.dtype));
    if (!needs.some(Boolean)) continue;
    const rule = RULES[n.opType];
    if (!rule) throw new Error(`no gradient rule for ONNX op ${n.opType}`);
    const dOut = n.outputs.map((o, i) => {
      const list = outGrads[i];
      return list ? sumGrads(g, list, o) : null;
    });
    const dIn = rule(g, n, dOut, needs);
    n.inputs.forEach((inp, i) => {
      const gi = dIn[i];
      if (!inp || !gi || !needs[i]) return;
      const list = grads.get(inp);
      if (list) list.push(gi);
      else grads.set(inp, [gi]);
    });
  }
  return wrt.map((w, i) => {
    const list = grads.get(w) ?? [];
    const acc = opts.accumulate?.[i] ?? null;
    if (opts.sparse?.[i] && list.length > 0 && list.every(isSparse)) {
      if (acc) throw new Error('gradientsMixed: a gradient kept sparse cannot also be accumulated in the graph');
      const parts = list as SparseGrad[];
      if (parts.length === 1) return parts[0] as SparseGrad;
      return { kind: 'sparse', indices: g.concat(parts.map((p) => p.indices), 0), updates: g.concat(parts.map((p) => p.updates), 0) };
    }
    if (list.length === 0) return acc ?? g.zerosLike(w);
    if (list.length === 1 && isSparse(list[0] as Grad)) return materialize(g, list[0] as SparseGrad, w, acc ?? undefined);
    const sum = sumGrads(g, list, w);
    return acc ? g.add(acc, sum) : sum;
  });
}
