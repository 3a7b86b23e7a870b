/**
 * A thin wrapper over an onnxruntime-node InferenceSession: typed host tensors in and out, the execution
 * provider chosen by name ('cpu' default; 'webgpu' / 'cuda' / … where this onnxruntime build has them),
 * graph optimisation 'all' (ORT then fuses Transpose+MatMul, Gelu, …), intra-op threads = cores by default.
 */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { UserError } from '../util/index.js';
import type { DType } from './graph.js';

export type HostData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint32Array | Uint8Array;
export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: HostData;
}

export interface SessionOptions {
  /** Threads for one op (default: the number of CPU cores). */
  intraOpNumThreads?: number;
  /** ORT execution provider name: 'cpu' (default), 'webgpu', 'cuda', 'dml', 'coreml', … */
  executionProvider?: string;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Let idle intra-op threads spin (ORT's default); off where native kernels share the cores between runs. */
  allowSpinning?: boolean;
}

interface Backend {
  name: string;
  bundled: boolean;
}

function backends(): Backend[] {
  const list = (ort as unknown as { listSupportedBackends?: () => Backend[] }).listSupportedBackends;
  let backends: Backend[] = [{ name: 'cpu', bundled: true }];
  try {
    const fromBinding = list ? list() : null;
    if (fromBinding) backends = fromBinding;
  } catch {
    /* older builds: cpu only */
  }
  return backends;
}

/** Execution providers this onnxruntime-node build can use. */
export function availableExecutionProviders(): string[] {
  return backends().map((b) => b.name);
}

/** The provider by name; unset → TUNESCOPE_DEVICE, else 'cpu'. */
export function resolveExecutionProvider(name?: string): string {
  const ep = (name ?? process.env.TUNESCOPE_DEVICE ?? 'cpu').toLowerCase();
  const avail = availableExecutionProviders();
  if (!avail.includes(ep)) {
    throw new UserError(`execution provider '${ep}' is not available in this onnxruntime-node build (available: ${avail.join(', ')})`);
  }
  return ep;
}

export function defaultThreads(): number {
  return availableParallelism();
}

export class Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly executionProvider: string,
  ) {}

  static async create(model: { bytes: Uint8Array }, opts: SessionOptions = {}): Promise<Session> {
    const ep = resolveExecutionProvider(opts.executionProvider);
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(model.bytes, {
        executionProviders: [ep],
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
        intraOpNumThreads: opts.intraOpNumThreads ?? defaultThreads(),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        ...(opts.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
        // TUNESCOPE_ORT_PROFILE=<prefix> writes ORT's per-node timing JSON (chrome://tracing format)
        ...(process.env.TUNESCOPE_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.TUNESCOPE_ORT_PROFILE } : {}),
      });
    } catch (e) {
      if (ep !== 'cpu') {
        const bundled = backends().find((b) => b.name === ep)?.bundled ?? true;
        const hint = bundled ? '' : ` (its libraries are not bundled with onnxruntime-node: the package's postinstall, skipped here, downloads them)`;
        throw new UserError(`execution provider '${ep}' could not start${hint}: ${(e as Error).message.split('\n')[0]}`);
      }
      throw e;
    }
    return new Session(s, s.inputNames, s.outputNames, ep);
  }

  /**
   * Runs the model; feeds for inputs the model does not take are ignored. `into` gives preallocated buffers
   * for some outputs (ORT writes them there; e.g. gradients straight into engine-owned storage).
   */
  async run(feeds: Record<string, HostTensor>, outputs?: readonly string[], into?: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`missing feed for model input '${name}'`);
      f[name] = new ort.Tensor(t.dtype === 'float64' ? 'float64' : t.dtype, t.data as never, t.dims);
    }
    let r: ort.InferenceSession.ReturnType;
    if (into) {
      const fetches: Record<string, ort.Tensor | null> = {};
      for (const name of outputs ?? this.outputNames) {
        const t = into[name];
        fetches[name] = t ? new ort.Tensor(t.dtype, t.data as never, t.dims) : null;
      }
      r = await this.session.run(f, fetches as ort.InferenceSession.FetchesType);
    } else r = outputs ? await this.session.run(f, outputs as string[]) : await this.session.run(f);
    const out: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(r)) {
      out[k] = into?.[k] ?? { dtype: v.type as DType, dims: v.dims, data: v.data as HostData };
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (process.env.TUNESCOPE_ORT_PROFILE) this.session.endProfiling();
    await this.session.release();
  }
}
