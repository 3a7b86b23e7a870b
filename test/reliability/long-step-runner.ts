/**
 * A trial runner whose "training step" blocks its thread for LONG_STEP_MS (default 7 s, longer than the old 5 s
 * grace) — a stand-in for one long ONNX Runtime call that JavaScript cannot interrupt. Files in LONG_STEP_DIR mark
 * each step's start and end, so a test sees whether a step was allowed to finish. Trials with learning_rate ≥ 1
 * finish at once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrialContext, TrialTask } from '../../src/study/index.js';
import type { TrialOutcome } from '../../src/store/index.js';

export async function runTrial(task: TrialTask, ctx: TrialContext): Promise<TrialOutcome> {
  const dir = process.env.LONG_STEP_DIR;
  const ms = Number(process.env.LONG_STEP_MS ?? 7000);
  const quick = Number(task.args.learning_rate) >= 1;
  for (let step = 1; step <= (quick ? 0 : 3); step++) {
    // between steps: let the abort message in, then honour it (the training loop's check)
    await new Promise((r) => setImmediate(r));
    ctx.signal.throwIfAborted();
    if (dir) writeFileSync(join(dir, `step-${step}.start`), '');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    if (dir) writeFileSync(join(dir, `step-${step}.done`), '');
  }
  // pad_bytes: a bulky result, so a small disk fills after a few trials
  return { metrics: { accuracy: 0.5 + task.seed / 1000, loss: 0.7 }, epochs: [], versions: { pad: 'y'.repeat(Number(task.args.pad_bytes ?? 0)) } };
}
