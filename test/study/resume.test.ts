/**
 * Trial checkpoints in a study, with the real trainer in a worker thread: a `study run` child killed with SIGKILL
 * mid-trial, then the same study run again resumes that trial from its last checkpoint, and the result equals an
 * uninterrupted trial's bit for bit; finished trials' checkpoints are deleted unless keep_checkpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore, type EpochMetricsRow } from '../../src/store/index.js';
import { loadStudySpec, recordCheckpointSteps, runStudy, trialsRoot } from '../../src/study/index.js';
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

test('a resume from a checkpoint newer than the recorded curve writes the checkpoint\'s missing steps under the new attempt (no gap)', async () => {
  const d = tempDir();
  const s = openSqliteStore(join(d.path, 's.sqlite'));
  try {
    await s.addTrials([{ id: 't', kind: 'train', config: { learning_rate: 1e-4 }, seed: 1, dataSeed: null, ordinal: 0, inDesign: true, isBaseline: false }]);
    await s.startRun({ id: 'r1', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const a1 = (await s.claimNext('r1', 'w'))!;
    const log = Array.from({ length: 6 }, (_, i) => ({ step: i + 1, epoch: (i + 1) / 8, loss: 0.7 - i / 97, learning_rate: 1e-4 * (1 - i / 8), grad_norm: 1 }));
    // attempt 1 flushed steps 1–4; killed after publishing checkpoint-6, before its steps 5–6 reached the store
    await s.addStepLogs('t', { runId: 'r1', attempt: a1.attempts }, log.slice(0, 4).map((l) => ({ step: l.step, epoch: l.epoch, loss: l.loss, learningRate: l.learning_rate })));
    const ckpt = join(d.path, 'checkpoint-6');
    mkdirSync(ckpt);
    writeFileSync(join(ckpt, 'tunescope_state.json'), JSON.stringify({ format: 'tunescope-loop-state', version: 1, loop: { global_step: 6, log_history: log } }));
    assert.equal(await s.failTrial('t', { runId: 'r1', attempt: a1.attempts }, 'killed', { retry: true }), true);
    await s.startRun({ id: 'r2', host: 'h', pid: 2, workers: 1, threadsPerWorker: 1 });
    const a2 = (await s.claimNext('r2', 'w'))!;
    await recordCheckpointSteps(s, 't', { runId: 'r2', attempt: a2.attempts }, ckpt);
    const curve = await s.stepLogs('t');
    assert.deepEqual(curve.map((x) => [x.step, x.attempt]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 2], [6, 2]]);
    assert.deepEqual(curve.map((x) => [x.loss, x.learningRate, x.epoch]), log.map((l) => [l.loss, l.learning_rate, l.epoch]), 'the checkpoint\'s exact numbers');
    // nothing missing: nothing written again
    await recordCheckpointSteps(s, 't', { runId: 'r2', attempt: a2.attempts }, ckpt);
    assert.equal((await s.stepLogs('t')).length, 6);
  } finally {
    await s.close();
    d.cleanup();
  }
});
