/**
 * Engine-owned parameter / gradient / Adam-state storage with a native-speed AdamW: all tensors live in one
 * WebAssembly memory (views are fed to ORT without copies) and one SIMD loop per tensor does torch's AdamW
 * update in a single pass over p, g, m, v. Done as WASM because an ONNX graph needs ~13 elementwise passes
 * (plus fresh output buffers) for the same update, and JS loops over elements are too slow; the module is
 * assembled from bytes below (no toolchain dependency) — the kernels are small and tested against a
 * reference implementation in test/engine/adamw.test.ts.
 *
 * Update (torch.optim.AdamW single-tensor, with clip_grad_norm_'s coefficient c folded into the scalars):
 *   m ← β1·m + (1−β1)c·g;  v ← β2·v + (1−β2)c²·g²;  p ← p·(1−lr·wd) + (−lr/bc1·√bc2) · m / (√v + eps·√bc2)
 * which equals torch's p·(1−lr·wd) − lr/bc1 · m / (√v/√bc2 + eps).
 */

// ---- a tiny WASM assembler --------------------------------------------------------------------------------
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const str = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32const: (v: number) => [0x41, ...uleb(v)], // small non-negative constants only
  i32add: [0x6a],
  i32shl: [0x74],
  i32eqz: [0x45],
  i32ltu: [0x49],
  f64add: [0xa0],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v128load = op.simd(0x00, 2, 0);
const v128store = op.simd(0x0b, 2, 0);
const f32x4splat = op.simd(0x13);
const f32x4sqrt = op.simd(0xe3);
const f32x4add = op.simd(0xe4);
const f32x4mul = op.simd(0xe6);
const f32x4div = op.simd(0xe7);
const f64x2add = op.simd(0xf0);
const f64x2mul = op.simd(0xf2);
const f64x2promoteLow = op.simd(0x5f);
const f64x2extract = (lane: number) => op.simd(0x21, lane);
const highToLow = op.simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);

function buildModule(): Uint8Array {
  // adamw(p, g, m, v, n4, decay, b1, s1, b2, s2, eps, step): params 0..11; locals o=12 end=13, splats 14..20, gv 21, mv 22, vv 23
  const addr = (base: number) => [...op.get(base), ...op.get(12), ...op.i32add];
  const adamw = [
    ...[5, 6, 7, 8, 9, 10, 11].flatMap((p, k) => [...op.get(p), ...f32x4splat, ...op.set(14 + k)]),
    ...op.get(4), ...op.i32const(4), ...op.i32shl, ...op.set(13),
    ...op.block,
    ...op.get(13), ...op.i32eqz, ...op.brIf(0),
    ...op.loop,
    ...addr(1), ...v128load, ...op.set(21),
    // m = m·β1 + g·s1
    ...addr(2), ...addr(2), ...v128load, ...op.get(15), ...f32x4mul, ...op.get(21), ...op.get(16), ...f32x4mul, ...f32x4add, ...op.tee(22), ...v128store,
    // v = v·β2 + (g·g)·s2
    ...addr(3), ...addr(3), ...v128load, ...op.get(17), ...f32x4mul, ...op.get(21), ...op.get(21), ...f32x4mul, ...op.get(18), ...f32x4mul, ...f32x4add, ...op.tee(23), ...v128store,
    // p = p·decay + (m / (√v + eps)) · step
    ...addr(0), ...addr(0), ...v128load, ...op.get(14), ...f32x4mul, ...op.get(22), ...op.get(23), ...f32x4sqrt, ...op.get(19), ...f32x4add, ...f32x4div, ...op.get(20), ...f32x4mul, ...f32x4add, ...v128store,
    ...op.get(12), ...op.i32const(16), ...op.i32add, ...op.tee(12), ...op.get(13), ...op.i32ltu, ...op.brIf(0),
    ...op.end,
    ...op.end,
    ...op.end,
  ];
  const adamwBody = [...vec([[2, I32], [10, V128]]), ...adamw];
  // sumsq(g, n4) -> f64: params 0,1; locals o=2 end=3 acc0=4 acc1=5 x=6 t=7
  const sumsq = [
    ...op.get(1), ...op.i32const(4), ...op.i32shl, ...op.set(3),
    ...op.block,
    ...op.get(3), ...op.i32eqz, ...op.brIf(0),
    ...op.loop,
    ...op.get(0), ...op.get(2), ...op.i32add, ...v128load, ...op.set(6),
    ...op.get(6), ...f64x2promoteLow, ...op.tee(7), ...op.get(7), ...f64x2mul, ...op.get(4), ...f64x2add, ...op.set(4),
    ...op.get(6), ...op.get(6), ...highToLow, ...f64x2promoteLow, ...op.tee(7), ...op.get(7), ...f64x2mul, ...op.get(5), ...f64x2add, ...op.set(5),
    ...op.get(2), ...op.i32const(16), ...op.i32add, ...op.tee(2), ...op.get(3), ...op.i32ltu, ...op.brIf(0),
    ...op.end,
    ...op.end,
    ...op.get(4), ...op.get(5), ...f64x2add, ...op.tee(6), ...f64x2extract(0), ...op.get(6), ...f64x2extract(1), ...op.f64add,
    ...op.end,
  ];
  const sumsqBody = [...vec([[2, I32], [4, V128]]), ...sumsq];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32], [F32], [F32], [F32]]), ...vec([])],
      [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])],
    ])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x01, ...uleb(1), ...uleb(65536)]])),
    ...section(3, vec([uleb(0), uleb(1)])),
    ...section(7, vec([[...str('adamw'), 0x00, 0], [...str('sumsq'), 0x00, 1]])),
    ...section(10, vec([[...uleb(adamwBody.length), ...adamwBody], [...uleb(sumsqBody.length), ...sumsqBody]])),
  ];
  return Uint8Array.from(bytes);
}

interface Kernels {
  adamw: (p: number, g: number, m: number, v: number, n4: number, decay: number, b1: number, s1: number, b2: number, s2: number, eps: number, step: number) => void;
  sumsq: (g: number, n4: number) => number;
}

// tsconfig has no DOM lib and @types/node 20 lacks the WebAssembly namespace: the few members used here
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: unknown };
  };
}).WebAssembly;

const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE; // wasm32 limit

export interface AdamWHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  /** weight decay of each tensor (0 for the no-decay group) */
  weightDecay: (name: string) => number;
  /** clip the global L2 norm to this (torch clip_grad_norm_), when > 0 */
  maxGradNorm?: number;
}

/**
 * Parameters, gradients and AdamW state of a set of named float32 tensors, in one WebAssembly memory.
 * `create` returns null when the tensors do not fit in 4 GiB (callers then use an ONNX optimizer graph).
 */
export class AdamWStore {
  private readonly offsets = new Map<string, { n: number; n4: number; p: number; g: number; m: number; v: number }>();
  private step = 0;

  private constructor(
    private readonly memory: WasmMemory,
    private readonly k: Kernels,
    sizes: Map<string, number>,
  ) {
    let off = 0;
    const take = (n4: number): number => {
      const o = off;
      off += n4 * 16;
      return o;
    };
    for (const [name, n] of sizes) {
      const n4 = Math.ceil(n / 4);
      this.offsets.set(name, { n, n4, p: take(n4), g: take(n4), m: take(n4), v: take(n4) });
    }
  }

  static create(sizes: Map<string, number>): AdamWStore | null {
    let bytes = 0;
    for (const n of sizes.values()) bytes += Math.ceil(n / 4) * 16 * 4;
    if (bytes > MAX_BYTES - PAGE) return null;
    let memory: WasmMemory;
    let k: Kernels;
    try {
      const pages = Math.max(1, Math.ceil(bytes / PAGE));
      memory = new WA.Memory({ initial: pages, maximum: pages });
      const mod = new WA.Module(buildModule());
      k = new WA.Instance(mod, { env: { memory } }).exports as unknown as Kernels;
    } catch {
      return null; // no SIMD or not enough memory: the caller falls back to the ONNX optimizer graph
    }
    return new AdamWStore(memory, k, sizes);
  }

  private slot(name: string): { n: number; n4: number; p: number; g: number; m: number; v: number } {
    const s = this.offsets.get(name);
    if (!s) throw new Error(`AdamWStore: unknown tensor ${name}`);
    return s;
  }
  param(name: string): Float32Array {
    const s = this.slot(name);
    return new Float32Array(this.memory.buffer, s.p, s.n);
  }
  grad(name: string): Float32Array {
    const s = this.slot(name);
    return new Float32Array(this.memory.buffer, s.g, s.n);
  }
  expAvg(name: string): Float32Array {
    const s = this.slot(name);
    return new Float32Array(this.memory.buffer, s.m, s.n);
  }
  expAvgSq(name: string): Float32Array {
    const s = this.slot(name);
    return new Float32Array(this.memory.buffer, s.v, s.n);
  }
  get stepCount(): number {
    return this.step;
  }
  /** Sets the step count (bias corrections) when AdamW state is restored from a checkpoint. */
  set stepCount(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`AdamW step must be an integer >= 0, got ${n}`);
    this.step = n;
  }

  /** Global L2 norm of the gradients (float64 accumulation). */
  gradNorm(): number {
    let ss = 0;
    for (const s of this.offsets.values()) ss += this.k.sumsq(s.g, s.n4);
    return Math.sqrt(ss);
  }

  /** Zeroes every gradient (one native fill per tensor). */
  zeroGrads(): void {
    for (const name of this.offsets.keys()) this.grad(name).fill(0);
  }

  /** Clip (optional) + one AdamW step on every tensor; returns the pre-clip global gradient norm. */
  update(h: AdamWHyper): number {
    const norm = this.gradNorm();
    // torch clip_grad_norm_: coef = max_norm / (total_norm + 1e-6), clamped to 1
    const coef = h.maxGradNorm !== undefined && h.maxGradNorm > 0 ? Math.min(h.maxGradNorm / (norm + 1e-6), 1) : 1;
    this.step++;
    const [b1, b2] = h.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2s = Math.sqrt(1 - b2 ** this.step);
    const s1 = coef * (1 - b1);
    const s2 = coef * coef * (1 - b2);
    const stepScaled = (-h.lr / bc1) * bc2s;
    const eps = h.eps * bc2s;
    for (const [name, s] of this.offsets) {
      const decay = 1 - h.lr * h.weightDecay(name);
      this.k.adamw(s.p, s.g, s.m, s.v, s.n4, decay, b1, s1, b2, s2, eps, stepScaled);
    }
    return norm;
  }
}
