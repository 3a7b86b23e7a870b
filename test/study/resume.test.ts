/**
 * Trial checkpoints in a study, with the real trainer in a worker thread: a `study run` child killed with SIGKILL
 * mid-trial, then the same study run again resumes that trial from its last checkpoint, and the result equals an
 * uninterrupted trial's bit for bit; finished trials' checkpoints are deleted unless keep_checkpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore, type EpochMetricsRow } from '../../src/store/index.js';
import { loadStudySpec, runStudy, trialsRoot } from '../../src/study/index.js';
import { HAVE_SST2, runCli, spawnCli, tempDir, writeTinyStudySpec } from '../helpers.js';


/** One trial of 2 epochs × 8 optimizer steps (64 examples, batch 4, accumulation 2); `execution` adds checkpointing. */
const spec = (dir: string, store: string, execution: Record<string, unknown>): string =>
  writeTinyStudySpec(dir, {
    name: 'resumable',
    dataset: { max_train_samples: 64 },
    design: { type: 'grid', factors: { learning_rate: [2e-3] } },
    seeds: [3],
    args: { num_train_epochs: 2, per_device_train_batch_size: 4, gradient_accumulation_steps: 2, warmup_ratio: 0.1 },
    execution: { workers: 1, threads_per_worker: 1, ...execution },
    store: `./runs/${store}.sqlite`,
  }, `${store}.yaml`);

const epochsWithoutTime = (rows: EpochMetricsRow[]) => rows.map((e) => ({ ...e, seconds: null }));

test('kill -9 mid-trial, rerun: the trial resumes from its last checkpoint and equals an uninterrupted trial', { skip: !HAVE_SST2 && 'needs ../shared' }, async () => {
  const d = tempDir();
  try {
    const killedSpec = spec(d.path, 'killed', { checkpoint_every: '2 steps' });
    const db = join(d.path, 'runs', 'killed.sqlite');
    const { child, exited } = spawnCli(['study', 'run', killedSpec], { stdio: 'ignore' });
    let killedAt = 0;
    for (let i = 0; i < 3000 && killedAt === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(db)) continue;
      let s: ReturnType<typeof openSqliteStore>;
      try {
        s = openSqliteStore(db, { readonly: true });
      } catch {
        continue; // the file exists but its schema is not written yet
      }
      try {
        const c = (await s.listCheckpoints())[0];
        if (c && c.step >= 4) {
          child.kill('SIGKILL');
          killedAt = c.step;
        }
      } catch {
        /* tables not created yet */
      } finally {
        await s.close();
      }
    }
    assert.equal((await exited).signal, 'SIGKILL');
    const s0 = openSqliteStore(db, { readonly: true });
    const [trial] = await s0.listTrials();
    assert.equal(trial!.status, 'running', 'killed mid-trial');
    const cp = (await s0.getCheckpoint(trial!.id))!;
    await s0.close();
    assert.ok(cp.step >= killedAt && cp.step < 16, `checkpoint at step ${cp.step}`);
    const trialDir = join(trialsRoot(loadStudySpec(killedSpec)), trial!.id);
    assert.equal(cp.location, join(trialDir, `checkpoint-${cp.step}`));
    const status = runCli(['study', 'status', db]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`running ${trial!.id} .*checkpoint step ${cp.step} .*\\d+\\.\\d (KiB|MiB) on disk in ${trialDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    const starts: (string | null)[] = [];
    const firstSteps: number[] = [];
    const resumed = await runStudy(killedSpec, {
      quiet: true,
      onEvent: (e) => {
        if (e.type === 'trial-start') starts.push(e.resumeFrom);
        if (e.type === 'trial-progress' && firstSteps.length === 0) firstSteps.push(e.progress.step);
      },
    });
    assert.equal(resumed.counts.done, 1);
    assert.match(starts[0] ?? '', /checkpoint-\d+$/, 'resumed from a checkpoint');
    assert.ok(firstSteps[0]! > cp.step - 0 && firstSteps[0]! >= 3, `first step after the resume: ${firstSteps[0]}`);
    assert.ok(!existsSync(trialDir), 'a finished trial\'s checkpoints are deleted');

    const refSpec = spec(d.path, 'whole', { checkpoint_every: 'epoch', keep_checkpoints: true });
    const whole = await runStudy(refSpec, { quiet: true });
    assert.equal(whole.counts.done, 1);
    const a = openSqliteStore(db, { readonly: true });
    const b = openSqliteStore(join(d.path, 'runs', 'whole.sqlite'), { readonly: true });
    try {
      const [ta] = await a.listTrials();
      const [tb] = await b.listTrials();
      assert.equal(ta!.id, tb!.id);
      assert.deepEqual(ta!.metrics, tb!.metrics, 'final metrics bit for bit');
      assert.equal(ta!.steps, 16);
      assert.deepEqual(epochsWithoutTime(await a.epochMetrics()), epochsWithoutTime(await b.epochMetrics()));
      // one curve per trial: every step once, the killed attempt's up to its checkpoint, then the resumed attempt's,
      // and (the resume being exact) the same loss and learning rate at every step as the uninterrupted trial
      const curve = await a.stepLogs(ta!.id);
      assert.deepEqual(curve.map((x) => x.step), Array.from({ length: 16 }, (_, i) => i + 1));
      assert.ok(curve.every((x) => x.attempt === (x.step <= cp.step ? 1 : 2)), JSON.stringify(curve.map((x) => [x.step, x.attempt])));
      const strip = (rows: typeof curve) => rows.map(({ step, epoch, loss, learningRate }) => ({ step, epoch, loss, learningRate }));
      assert.deepEqual(strip(curve), strip(await b.stepLogs(tb!.id)));
      assert.equal(await a.getCheckpoint(ta!.id), null);
      // keep_checkpoints: the uninterrupted trial's epoch checkpoints stay
      const kept = join(trialsRoot(loadStudySpec(refSpec)), tb!.id);
      assert.deepEqual(readdirSync(kept).sort(), ['checkpoint-16']);
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    d.cleanup();
  }
});
