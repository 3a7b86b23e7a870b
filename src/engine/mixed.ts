/**
 * Mixed-precision execution of a recorded `Graph`: its matrix products (MatMul, Gemm) run as bf16 GEMMs with
 * fp32 accumulation in the native addon (src/native: oneDNN on AMX), everything else — softmax, LayerNorm,
 * GELU, the loss, reductions, the elementwise work of the backward pass — in ONNX Runtime in fp32. This is
 * what PyTorch's CPU autocast does; the caller's parameters stay fp32 (they are rounded per product).
 *
 * ONNX Runtime's CPU provider has no bf16 MatMul and onnxruntime-node cannot register custom ops, so the graph
 * is cut at its products: every other node gets a stage (one more than the latest product it depends on), each
 * stage's nodes become one ORT session, and a run alternates "ORT stage s, then the products that only need
 * stages ≤ s". A Transpose that only swaps the last two axes of a product's operand is folded into the GEMM's
 * transA/transB. Knows no model: any graph the builder records runs this way, with the same outputs as `Session`.
 * Deterministic for a given thread count: ORT's CPU kernels and the GEMMs (fixed split, k-ordered sums) are.
 */
import { loadBf16, type Bf16Kernels } from '../native/index.js';
import { UserError } from '../util/index.js';
import type { Graph, Node, Tensor } from './graph.js';
import { Session, defaultThreads, type HostTensor, type SessionOptions } from './session.js';

/** One matrix product done natively: out = op(a)·op(b) (+ bias row). */
interface Product {
  node: Node;
  a: Tensor;
  b: Tensor;
  bias: Tensor | null;
  transA: boolean;
  transB: boolean;
  out: Tensor;
  stage: number;
}

interface Part {
  stage: number;
  session: Session;
  inputs: Tensor[];
  outputs: Tensor[];
}

export interface MixedStats {
  /** Matrix products run as bf16 GEMMs. */
  bf16Products: number;
  /** Matrix products left to ONNX Runtime in fp32 (an unsupported form: non-fp32, alpha ≠ 1, a full C matrix …). */
  fp32Products: number;
  /** ORT sessions the graph was cut into. */
  ortParts: number;
  /**
   * Per output: the most bf16 products on one path from the inputs to it. Each rounds its operands with relative
   * error ≤ u = 2⁻⁸, so to first order an output's relative error is bounded by about 2u per product on its path.
   */
  productDepth: Record<string, number>;
}

export interface MixedSessionOptions extends SessionOptions {
  /** Accept the portable bf16 kernel on a CPU without AMX (tests, parity checks). */
  allowEmulation?: boolean;
}

const isLastTwoSwap = (perm: number[]): boolean => {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, r - 2).every((p, i) => p === i);
};

/** An operand with a last-two-axes Transpose folded away: (source, transposed?). */
function unwrapTranspose(t: Tensor, trans: boolean): [Tensor, boolean] {
  const p = t.producer;
  if (p && p.opType === 'Transpose' && isLastTwoSwap((p.attrs.perm as { ints: number[] }).ints)) return [p.inputs[0] as Tensor, !trans];
  return [t, trans];
}

/** The native form of a MatMul/Gemm node, or null when it stays in ORT. */
function asProduct(n: Node): Omit<Product, 'stage'> | null {
  const out = n.outputs[0] as Tensor;
  if (out.dtype !== 'float32') return null;
  const [a0, b0, c] = n.inputs;
  if (!a0 || !b0 || a0.dtype !== 'float32' || b0.dtype !== 'float32' || !a0.shape || !b0.shape) return null;
  if (n.opType === 'MatMul') {
    const ra = a0.shape.length;
    const rb = b0.shape.length;
    if (ra < 2 || rb < 2) return null;
    if (rb > 2) {
      // batched operands: same rank and batch dims that are equal without broadcasting (checked again at run time)
      if (ra !== rb) return null;
      for (let i = 0; i < ra - 2; i++) {
        const da = a0.shape[i];
        const db = b0.shape[i];
        if (da === null || db === null || da !== db) return null;
      }
    }
    const [a, transA] = unwrapTranspose(a0, false);
    const [b, transB] = unwrapTranspose(b0, false);
    return { node: n, a, b, bias: null, transA, transB, out };
  }
  if (n.opType === 'Gemm') {
    const alpha = (n.attrs.alpha as { float: number } | undefined)?.float ?? 1;
    const beta = (n.attrs.beta as { float: number } | undefined)?.float ?? 1;
    if (alpha !== 1 || a0.shape.length !== 2 || b0.shape.length !== 2) return null;
    let bias: Tensor | null = null;
    if (c && beta !== 0) {
      // a bias row: C of shape [N] (or [1, N]) with beta 1
      if (beta !== 1 || c.dtype !== 'float32' || !c.shape || !(c.shape.length === 1 || (c.shape.length === 2 && c.shape[0] === 1))) return null;
      bias = c;
    }
    const [a, transA] = unwrapTranspose(a0, (n.attrs.transA as { int: number } | undefined)?.int === 1);
    const [b, transB] = unwrapTranspose(b0, (n.attrs.transB as { int: number } | undefined)?.int === 1);
    return { node: n, a, b, bias, transA, transB, out };
  }
  return null;
}

export class MixedSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  private constructor(
    private readonly kernels: Bf16Kernels,
    private readonly threads: number,
    private readonly parts: Part[],
    /** products by stage: run after parts[stage] */
    private readonly products: Map<number, Product[]>,
    private readonly maxStage: number,
    private readonly graphInputs: Tensor[],
    private readonly outputs: [string, Tensor][],
    /** values freed after each stage (their last reader ran) */
    private readonly freeAt: Map<number, Tensor[]>,
    readonly stats: MixedStats,
  ) {
    this.inputNames = graphInputs.map((t) => t.name);
    this.outputNames = outputs.map(([n]) => n);
  }

  static async create(g: Graph, outputs: Record<string, Tensor>, opts: MixedSessionOptions = {}): Promise<MixedSession> {
    const kernels = loadBf16({ allowEmulation: opts.allowEmulation });
    const threads = opts.intraOpNumThreads ?? defaultThreads();
    const graphInputs = new Set(g.inputs);
    // products first (their folded operands decide which Transposes are still needed), then the live nodes
    const productOf = new Map<Node, Omit<Product, 'stage'>>();
    const needed = new Set<Node>();
    const stack: Tensor[] = Object.values(outputs);
    const seen = new Set<Tensor>();
    while (stack.length) {
      const t = stack.pop() as Tensor;
      if (seen.has(t)) continue;
      seen.add(t);
      const n = t.producer;
      if (!n || needed.has(n)) continue;
      needed.add(n);
      const p = n.opType === 'MatMul' || n.opType === 'Gemm' ? asProduct(n) : null;
      if (p) {
        productOf.set(n, p);
        stack.push(p.a, p.b);
        if (p.bias) stack.push(p.bias);
      } else for (const i of n.inputs) if (i) stack.push(i);
    }
    const order = g.nodes.filter((n) => needed.has(n));
    // stages: an ORT node runs in the stage after the latest product it reads; a product right after the stage
    // of the latest ORT node it reads (and after the products of that stage it reads, which come earlier in order)
    const stageOf = new Map<Tensor, { stage: number; native: boolean }>();
    const partNodes = new Map<number, Node[]>();
    const products = new Map<number, Product[]>();
    let maxStage = 0;
    let fp32Products = 0;
    for (const n of order) {
      const p = productOf.get(n);
      const ins = p ? [p.a, p.b, ...(p.bias ? [p.bias] : [])] : (n.inputs.filter(Boolean) as Tensor[]);
      let stage = 0;
      for (const i of ins) {
        const s = stageOf.get(i);
        if (s) stage = Math.max(stage, p ? s.stage : s.native ? s.stage + 1 : s.stage);
      }
      maxStage = Math.max(maxStage, stage);
      for (const o of n.outputs) stageOf.set(o, { stage, native: !!p });
      if (p) {
        const list = products.get(stage) ?? [];
        list.push({ ...p, stage });
        products.set(stage, list);
      } else {
        if (n.opType === 'MatMul' || n.opType === 'Gemm') fp32Products++;
        const list = partNodes.get(stage) ?? [];
        list.push(n);
        partNodes.set(stage, list);
      }
    }
    // what each part reads from outside and must hand on; when each value is last read
    const finalTensors = new Set(Object.values(outputs));
    const readers = new Map<Tensor, number>(); // tensor → last stage reading it
    const read = (t: Tensor, stage: number): void => {
      readers.set(t, Math.max(readers.get(t) ?? -1, stage));
    };
    for (const [stage, nodes] of partNodes) for (const n of nodes) for (const i of n.inputs) if (i) read(i, stage);
    for (const [stage, list] of products) for (const p of list) for (const t of [p.a, p.b, p.bias]) if (t) read(t, stage);
    const sessionOpts: SessionOptions = { ...opts, intraOpNumThreads: threads, allowSpinning: false };
    const parts: Part[] = [];
    for (const stage of [...partNodes.keys()].sort((x, y) => x - y)) {
      const nodes = partNodes.get(stage) as Node[];
      const produced = new Set(nodes.flatMap((n) => n.outputs));
      const inputs = [...new Set(nodes.flatMap((n) => n.inputs.filter((i): i is Tensor => !!i && !produced.has(i) && !g.isConstant(i))))];
      const outs = [...produced].filter((t) => finalTensors.has(t) || (readers.get(t) ?? -1) > stage || products.get(stage)?.some((p) => p.a === t || p.b === t || p.bias === t));
      if (outs.length === 0) continue;
      const session = await Session.create(g.toModelPart(nodes, inputs, outs), sessionOpts);
      parts.push({ stage, session, inputs, outputs: outs });
    }
    const outList = Object.entries(outputs);
    for (const [name, t] of outList) if (!t.producer && !graphInputs.has(t)) throw new Error(`MixedSession: output ${name} is a constant`);
    const usedInputs = g.inputs.filter((t) => readers.has(t) || finalTensors.has(t));
    const depth = new Map<Tensor, number>();
    for (const n of order) {
      const p = productOf.get(n);
      const ins = p ? [p.a, p.b, ...(p.bias ? [p.bias] : [])] : (n.inputs.filter(Boolean) as Tensor[]);
      const d = Math.max(0, ...ins.map((i) => depth.get(i) ?? 0)) + (p ? 1 : 0);
      for (const o of n.outputs) depth.set(o, d);
    }
    const stats: MixedStats = {
      bf16Products: [...products.values()].reduce((s, l) => s + l.length, 0),
      fp32Products,
      ortParts: parts.length,
      productDepth: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, depth.get(t) ?? 0])),
    };
    const freeAt = new Map<number, Tensor[]>();
    for (const [t, last] of readers) {
      const l = freeAt.get(last) ?? [];
      l.push(t);
      freeAt.set(last, l);
    }
    return new MixedSession(kernels, threads, parts, products, maxStage, usedInputs, outList, freeAt, stats);
  }

  /** As Session.run: feeds by input name (extra feeds ignored); `into` gives output buffers to write in place. */
  async run(feeds: Record<string, HostTensor>, outputs?: readonly string[], into?: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const values = new Map<Tensor, HostTensor>();
    for (const t of this.graphInputs) {
      const f = feeds[t.name];
      if (!f) throw new Error(`missing feed for model input '${t.name}'`);
      values.set(t, f);
    }
    const wanted = outputs ? this.outputs.filter(([n]) => outputs.includes(n)) : this.outputs;
    // output buffers the caller supplied, by tensor
    const target = new Map<Tensor, HostTensor>();
    if (into) for (const [name, t] of wanted) if (into[name] && !target.has(t)) target.set(t, into[name] as HostTensor);
    const keep = new Set(wanted.map(([, t]) => t));
    this.kernels.setThreads(this.threads);
    let part = 0;
    for (let stage = 0; stage <= this.maxStage; stage++) {
      const p = this.parts[part];
      if (p && p.stage === stage) {
        part++;
        const f: Record<string, HostTensor> = {};
        for (const t of p.inputs) f[t.name] = values.get(t) as HostTensor;
        const fetchInto: Record<string, HostTensor> = {};
        for (const t of p.outputs) {
          const buf = target.get(t);
          if (buf) fetchInto[t.name] = buf;
        }
        const r = await p.session.run(f, undefined, Object.keys(fetchInto).length ? fetchInto : undefined);
        for (const t of p.outputs) values.set(t, r[t.name] as HostTensor);
      }
      for (const prod of this.products.get(stage) ?? []) values.set(prod.out, this.product(prod, values, target.get(prod.out)));
      for (const t of this.freeAt.get(stage) ?? []) if (!keep.has(t)) values.delete(t);
    }
    const res: Record<string, HostTensor> = {};
    for (const [name, t] of wanted) res[name] = values.get(t) as HostTensor;
    return res;
  }

  private product(p: Product, values: Map<Tensor, HostTensor>, into: HostTensor | undefined): HostTensor {
    const A = values.get(p.a) as HostTensor;
    const B = values.get(p.b) as HostTensor;
    const ad = A.dims;
    const bd = B.dims;
    const ra = ad.length;
    const rb = bd.length;
    const [am, ak] = p.transA ? [ad[ra - 1] as number, ad[ra - 2] as number] : [ad[ra - 2] as number, ad[ra - 1] as number];
    const [bk, bn] = p.transB ? [bd[rb - 1] as number, bd[rb - 2] as number] : [bd[rb - 2] as number, bd[rb - 1] as number];
    if (ak !== bk) throw new Error(`${p.node.opType} ${p.out.name}: inner dimensions ${ak} and ${bk} differ`);
    const lead = ad.slice(0, ra - 2);
    let batch = lead.reduce((x, y) => x * y, 1);
    let m = am;
    const bBatched = rb > 2;
    if (bBatched && bd.slice(0, rb - 2).some((d, i) => d !== lead[i])) throw new Error(`${p.node.opType} ${p.out.name}: batch dims [${lead}] and [${bd.slice(0, rb - 2)}] differ`);
    if (!bBatched && !p.transA) {
      // a shared weight: fold the batch into rows (one larger GEMM)
      m = batch * am;
      batch = 1;
    }
    const dims = [...lead, am, bn];
    const size = dims.reduce((x, y) => x * y, 1);
    const out = into ?? { dtype: 'float32' as const, dims, data: new Float32Array(size) };
    if (out.data.length !== size) throw new Error(`${p.out.name}: output buffer holds ${out.data.length} values, needs ${size}`);
    let bias: Float32Array | null = null;
    if (p.bias) {
      const c = values.get(p.bias) as HostTensor;
      if (c.data.length !== bn) throw new Error(`Gemm ${p.out.name}: bias holds ${c.data.length} values, needs ${bn}`);
      bias = c.data as Float32Array;
    }
    this.kernels.gemm({ a: A.data as Float32Array, b: B.data as Float32Array, bias, out: out.data as Float32Array, batch, m, n: bn, k: ak, transA: p.transA, transB: p.transB, bBatched });
    return into ? { dtype: 'float32', dims, data: out.data } : out;
  }

  async dispose(): Promise<void> {
    for (const p of this.parts) await p.session.dispose();
  }
}

/** What runs a recorded graph: an ORT `Session` (fp32) or a `MixedSession` (bf16 products). */
export interface GraphRunner {
  readonly inputNames: readonly string[];
  run(feeds: Record<string, HostTensor>, outputs?: readonly string[], into?: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

export type Precision = 'fp32' | 'bf16';

/**
 * The runner for `outputs` of `g` at the given precision: 'fp32' (default) is one ORT session on any execution
 * provider; 'bf16' is a MixedSession on the CPU (a UserError when the CPU or the build cannot do it).
 */
export async function compileGraph(g: Graph, outputs: Record<string, Tensor>, opts: MixedSessionOptions & { precision?: Precision } = {}): Promise<GraphRunner> {
  if ((opts.precision ?? 'fp32') === 'fp32') return Session.create(g.toModel(outputs), opts);
  const ep = (opts.executionProvider ?? process.env.TUNESCOPE_DEVICE ?? 'cpu').toLowerCase();
  if (ep !== 'cpu') throw new UserError(`--bf16 runs on the CPU (AMX); execution provider '${ep}' takes fp32 graphs only`);
  return MixedSession.create(g, outputs, { ...opts, executionProvider: 'cpu' });
}
