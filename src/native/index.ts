/**
 * The bf16 GEMM addon (native/bf16: oneDNN matmul, AMX tiles where the CPU has them) behind a typed wrapper,
 * and what this machine can do with it. The addon is optional — built at `npm install` when g++ and oneDNN are
 * there — so loading never throws here: `bf16Support()` says whether `--bf16` can run and, if not, why.
 *
 * `--bf16` needs AMX (amx_bf16 + amx_tile, the OS's tile state and Linux's per-process permission) with
 * oneDNN's AMX matmul. Without AMX the addon still computes the same numbers with a portable kernel
 * ('emulated': bf16-rounded operands, fp32 accumulation) — slower than fp32, so only tests and parity checks
 * opt into it (`allowEmulation`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/index.js';

interface Addon {
  gemm(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, bBatched: boolean, emulate?: boolean): void;
  implementation(m: number, n: number, k: number, transB: boolean): string;
  setThreads(n: number): void;
  info(): { amxCpu: boolean; amxOs: boolean; amxGranted: boolean; isa: string; onednn: string; threads: number; backend: 'onednn' | 'emulated' };
}

export interface Bf16Support {
  /** `--bf16` can run at AMX speed here. */
  available: boolean;
  /** Why not (null when available). */
  reason: string | null;
  /** The addon is loaded (the emulated kernel at least works). */
  built: boolean;
  /** 'onednn' (AVX-512 / AMX kernels) or 'emulated' (portable); null without the addon. */
  backend: 'onednn' | 'emulated' | null;
  /** oneDNN's effective ISA, e.g. 'avx512_core_amx', 'avx2'. */
  isa: string | null;
  onednn: string | null;
  amx: boolean;
}

/** One bf16 matrix product: out = op(a)·op(b) (+ bias), fp32 in and out (see native/bf16/bf16.cc). */
export interface Bf16GemmArgs {
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array | null;
  out: Float32Array;
  /** Products in the batch; b is shared by all of them unless bBatched. */
  batch: number;
  m: number;
  n: number;
  k: number;
  /** a is stored [k, m] (per batch element). */
  transA: boolean;
  /** b is stored [n, k]. */
  transB: boolean;
  bBatched: boolean;
}

export interface Bf16Kernels {
  readonly backend: 'onednn' | 'emulated';
  gemm(x: Bf16GemmArgs): void;
  setThreads(n: number): void;
  /** The oneDNN implementation chosen for an [m,k]·[k,n] product (e.g. 'brg:avx512_core_amx'). */
  implementation(m: number, n: number, k: number, transB: boolean): string;
}

const ADDON = fileURLToPath(new URL('../../native/bf16/build/tunescope_bf16.node', import.meta.url));

let loaded: { addon: Addon | null; error: string | null } | null = null;

function load(): { addon: Addon | null; error: string | null } {
  if (loaded) return loaded;
  if (!existsSync(ADDON)) {
    loaded = { addon: null, error: 'the bf16 addon is not built (it builds at npm install with g++ and libdnnl-dev; run `node native/bf16/build.mjs` to see why it did not)' };
    return loaded;
  }
  // OpenMP workers must sleep between products, not spin: ONNX Runtime's threads need the same cores
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    loaded = { addon: createRequire(import.meta.url)(ADDON) as Addon, error: null };
  } catch (e) {
    loaded = { addon: null, error: `the bf16 addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

export function bf16Support(): Bf16Support {
  if (process.env.TUNESCOPE_BF16_DISABLE === '1') {
    return { available: false, reason: 'disabled by TUNESCOPE_BF16_DISABLE=1', built: false, backend: null, isa: null, onednn: null, amx: false };
  }
  const { addon, error } = load();
  if (!addon) return { available: false, reason: error, built: false, backend: null, isa: null, onednn: null, amx: false };
  const i = addon.info();
  const amx = i.amxCpu && i.amxOs && i.amxGranted && i.isa === 'avx512_core_amx' && i.backend === 'onednn';
  let reason: string | null = null;
  if (!i.amxCpu) reason = `this CPU has no AMX-BF16 (amx_bf16/amx_tile absent from /proc/cpuinfo; oneDNN ISA ${i.isa})`;
  else if (!i.amxOs) reason = 'the OS does not enable AMX tile state (XCR0)';
  else if (!i.amxGranted) reason = 'Linux refused AMX tile permission (arch_prctl ARCH_REQ_XCOMP_PERM)';
  else if (!amx) reason = `oneDNN ${i.onednn} does not use AMX here (effective ISA ${i.isa})`;
  return { available: amx, reason, built: true, backend: i.backend, isa: i.isa, onednn: i.onednn, amx };
}

/**
 * The bf16 kernels, or a UserError naming what is missing. `allowEmulation` accepts a CPU without AMX (the
 * portable kernel: same numbers, fp32 speed or worse) — for tests and parity checks, not for training.
 */
export function loadBf16(opts: { allowEmulation?: boolean } = {}): Bf16Kernels {
  const s = bf16Support();
  if (!s.available && !(opts.allowEmulation && s.built)) throw new UserError(`--bf16 is unavailable: ${s.reason}`);
  const addon = (load().addon) as Addon;
  return {
    backend: s.backend as 'onednn' | 'emulated',
    gemm: (x) => addon.gemm(x.a, x.b, x.bias, x.out, x.batch, x.m, x.n, x.k, x.transA, x.transB, x.bBatched),
    setThreads: (n) => addon.setThreads(n),
    implementation: (m, n, k, transB) => addon.implementation(m, n, k, transB),
  };
}
