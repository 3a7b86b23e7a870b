/**
 * The default trial runner: a real fine-tune through src/train (HF Trainer semantics on ONNX Runtime), or, for a
 * baseline `evaluate` trial, an evaluation of the starting model on the eval split. Loaded by each worker
 * thread. The dataset spec (not a loaded copy) goes to the trainer, so string labels map through each model's
 * label2id; re-reading a TSV is cheap and token ids come from the trainer's on-disk token cache.
 */
import { createRequire } from 'node:module';
import type { TrialOutcome } from '../store/index.js';
import type { TrialContext, TrialTask } from './runner.js';
import { fineTune, evaluateModelWithPredictions, type TrainingArguments } from '../train/index.js';
import { toDatasetSpec } from './dataset-spec.js';
import { trace, tunescopeVersion } from '../util/index.js';

let versionsCache: Record<string, string> | null = null;
/** Versions that decide the numbers: tunescope, onnxruntime-node, Node. */
export function packageVersions(): Record<string, string> {
  if (versionsCache) return versionsCache;
  const require = createRequire(import.meta.url);
  const v: Record<string, string> = { node: process.versions.node };
  const own = tunescopeVersion();
  if (own !== 'unknown') v.tunescope = own;
  try {
    v['onnxruntime-node'] = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    /* not installed */
  }
  versionsCache = v;
  return v;
}

function metricsRecord(m: object): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' || v === null) out[k] = v;
  return out;
}

export async function runTrial(task: TrialTask, ctx: TrialContext): Promise<TrialOutcome> {
  trace('runner-start', task.id);
  const data = toDatasetSpec(task.dataset);
  const args = { ...task.args, intra_op_num_threads: ctx.threads } as Partial<TrainingArguments>;
  const backend = `onnxruntime-node cpu, ${ctx.threads} thread(s)`;
  if (task.kind === 'evaluate') {
    const t0 = performance.now();
    const { metrics: m, predictions } = await evaluateModelWithPredictions({ model: task.model, dataset: data, args, quiet: true, signal: ctx.signal, expectedFingerprint: task.dataFingerprint });
    return { metrics: metricsRecord(m), predictions, epochs: [], trainSeconds: (performance.now() - t0) / 1000, backend, versions: packageVersions() };
  }
  const cp = task.checkpoint;
  const r = await fineTune({
    model: task.model,
    dataset: data,
    args: cp?.resumeFrom ? { ...args, resume_from_checkpoint: cp.resumeFrom } : args,
    signal: ctx.signal,
    expectedFingerprint: task.dataFingerprint,
    quiet: true,
    onProgress: (p) => ctx.onProgress(p),
    ...(cp
      ? {
          checkpointing: {
            dir: cp.dir,
            ...(cp.every.steps !== undefined ? { steps: cp.every.steps } : {}),
            ...(cp.every.minutes !== undefined ? { minutes: cp.every.minutes } : {}),
            epoch: cp.every.epoch,
            // only the newest is needed to resume; a stop (Ctrl-C) saves one before the trial goes back to pending
            keep: 1,
            onStop: true,
            onSaved: (location: string, step: number) => ctx.onCheckpoint?.({ location, step }),
          },
        }
      : {}),
  });
  return {
    // a training run that stopped at a non-finite step says where (the eval metrics carry non_finite_logits)
    metrics: { ...metricsRecord(r.final), ...(r.non_finite_step !== null ? { non_finite_step: r.non_finite_step } : {}) },
    predictions: r.predictions,
    epochs: r.epochs.map((e) => ({
      epoch: e.epoch,
      step: e.step,
      trainLoss: e.train_loss,
      learningRate: e.learning_rate,
      seconds: e.seconds,
      metrics: e.eval ? metricsRecord(e.eval) : {},
    })),
    trainSeconds: r.train_seconds,
    examplesPerSecond: r.examples_per_second,
    tokensPerSecond: r.tokens_per_second,
    steps: r.steps,
    backend,
    versions: packageVersions(),
  };
}
