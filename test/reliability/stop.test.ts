/**
 * Issue 17 (medium): Ctrl-C / SIGTERM stop cooperatively between training steps. The old code terminated a worker
 * thread 5 s after the signal, inside whatever native call it was in (an ONNX Runtime step: `terminate called
 * after throwing an instance of 'Napi::Error'`, exit 134). Here a step blocks its thread for 7 s: the step must be
 * allowed to finish, then the study stops (exit 130) with the trial back to pending.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/index.js';
import { spawnCli, tempDir } from '../helpers.js';

const RUNNER = fileURLToPath(new URL('./long-step-runner.ts', import.meta.url));

function spec(dir: string): string {
  const p = join(dir, 'spec.yaml');
  writeFileSync(p, `name: long-step
model: some/model
dataset: {name: sst2}
design:
  type: grid
  factors:
    learning_rate: [1.0e-5]
seeds: [1]
execution: {workers: 1, threads_per_worker: 1}
store: ./runs/s.sqlite
`);
  return p;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} during a 7 s step: the step finishes, the study stops cleanly (exit 130), the trial is pending`, async () => {
    const d = tempDir('tunescope-stop-');
    try {
      const p = spec(d.path);
      const cli = spawnCli(['study', 'run', p, '--runner', RUNNER], { env: { LONG_STEP_DIR: d.path, LONG_STEP_MS: '7000' } });
      for (let i = 0; i < 600 && !existsSync(join(d.path, 'step-1.start')); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(join(d.path, 'step-1.start')), 'the first step started');
      cli.child.kill(signal);
      const t0 = Date.now();
      const { code, signal: killedBy, stderr } = await cli.exited;
      assert.equal(killedBy, null, `killed by ${killedBy}: ${stderr}`);
      assert.equal(code, 130, stderr);
      assert.doesNotMatch(stderr, /terminate called|Napi::Error|core dumped/);
      assert.match(stderr, /stopping after the current training step/);
      const files = readdirSync(d.path).filter((f) => f.startsWith('step-')).sort();
      assert.deepEqual(files, ['step-1.done', 'step-1.start'], 'step 1 ran to its end; step 2 never started');
      assert.ok(Date.now() - t0 < 20_000);
      const s = openSqliteStore(join(d.path, 'runs', 's.sqlite'), { readonly: true });
      try {
        const c = await s.counts();
        assert.deepEqual([c.pending, c.running, c.done], [1, 0, 0]);
        assert.ok((await s.listRuns()).every((r) => r.finishedAt !== null));
      } finally {
        await s.close();
      }
    } finally {
      d.cleanup();
    }
  });
}
