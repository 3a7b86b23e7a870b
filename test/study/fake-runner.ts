/**
 * A stand-in trial runner for execution tests: metrics are a smooth function of the configuration plus a
 * seed-dependent wobble, so regressions have something to find. `fake_ms` (an arg) makes a trial take time,
 * in steps that honour the abort signal (FAKE_MS in the environment overrides it, for one process of a study); learning_rate ≥ 1 throws unless FAKE_FAIL=0; `crash_lr` kills the worker.
 */
import type { TrialContext, TrialTask } from '../../src/study/index.js';
import type { TrialOutcome } from '../../src/store/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTrial(task: TrialTask, ctx: TrialContext): Promise<TrialOutcome> {
  const a = task.args;
  const lr = Number(a.learning_rate ?? 5e-5);
  const bs = Number(a.per_device_train_batch_size ?? 8);
  const ep = Number(a.num_train_epochs ?? 3);
  const ms = Number(process.env.FAKE_MS ?? a.fake_ms ?? 0);
  if (lr >= 1 && process.env.FAKE_FAIL !== '0') throw new Error(`learning_rate ${lr} diverged: loss is NaN`);
  // in a worker thread, process.exit ends only that thread: a stand-in for a native crash
  if (a.crash_lr !== undefined && lr === Number(a.crash_lr)) process.exit(7);
  const steps = 4;
  for (let s = 1; s <= steps; s++) {
    if (ctx.signal.aborted) throw new Error('aborted');
    await sleep(ms / steps);
    ctx.onProgress({ epoch: (s / steps) * ep, step: s, totalSteps: steps, loss: 0.7 - s * 0.01, lr });
  }
  const wobble = (((task.seed * 2654435761) >>> 0) % 1000) / 1e5;
  const x = Math.log10(lr / 1e-5);
  const accuracy = task.kind === 'evaluate' ? 0.5 : 0.6 + 0.08 * x - 0.03 * x * x - 0.001 * bs + 0.01 * ep + wobble;
  const f1 = accuracy - 0.01 + wobble / 2;
  const loss = 1.2 - accuracy;
  return {
    metrics: { accuracy, f1, loss, precision: accuracy, recall: accuracy },
    epochs: Array.from({ length: Math.max(1, Math.round(ep)) }, (_, i) => ({
      epoch: i + 1,
      step: (i + 1) * 10,
      trainLoss: 0.7 - i * 0.05,
      learningRate: lr,
      seconds: ms / 1000,
      metrics: { accuracy: accuracy - (ep - i - 1) * 0.01, loss },
    })),
    trainSeconds: ms / 1000,
    examplesPerSecond: 100,
    tokensPerSecond: 1000,
    steps: 10 * ep,
    backend: `fake, ${ctx.threads} thread(s), worker ${ctx.worker}, pid ${process.pid}`,
    versions: { node: process.versions.node },
  };
}
