import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runStudy, studyRows, planExecution, type StudyEvent } from '../../src/study/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { runCli, spawnCli, tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from './fake-runner.js';

const FAKE = fileURLToPath(new URL('./fake-runner.ts', import.meta.url));

function writeSpec(dir: string, extra: { lrs?: string; args?: string; baseline?: string; execution?: string } = {}): string {
  const p = join(dir, 'spec.yaml');
  writeFileSync(
    p,
    `name: fake
model: some/model
dataset: {name: sst2}
baseline: ${extra.baseline ?? '{config: {learning_rate: 3.0e-5, per_device_train_batch_size: 8}}'}
design:
  type: grid
  factors:
    learning_rate: ${extra.lrs ?? '[1.0e-5, 3.0e-5, 1.0e-4]'}
    per_device_train_batch_size: [8, 16]
seeds: [1, 2]
args: ${extra.args ?? '{num_train_epochs: 2}'}
execution: ${extra.execution ?? '{workers: 2, threads_per_worker: 1}'}
store: ./runs/fake.sqlite
analysis: {allow_aliased: true}  # an execution test: a two-level grid, the degree-2 squares aliased
`,
  );
  return p;
}

test('planExecution keeps workers × threads within the cores unless oversubscribe', () => {
  const e = (w: number | 'auto', t: number | 'auto', o = false) => ({ execution: { workers: w, threads_per_worker: t, oversubscribe: o } });
  assert.deepEqual(planExecution(e('auto', 'auto'), 10, { cores: 2 }), { workers: 2, threadsPerWorker: 1, warnings: [] });
  assert.deepEqual(planExecution(e('auto', 'auto'), 1, { cores: 2 }), { workers: 1, threadsPerWorker: 2, warnings: [] });
  assert.equal(planExecution(e(2, 2), 10, { cores: 2 }).threadsPerWorker, 1);
  assert.equal(planExecution(e(4, 1), 10, { cores: 2 }).workers, 2);
  assert.deepEqual(planExecution(e(4, 2, true), 10, { cores: 2 }), { workers: 4, threadsPerWorker: 2, warnings: [] });
});

test('in-process runner: every trial once, baseline first, relative metrics, failures recorded, --retry-failed', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { lrs: '[1.0e-5, 3.0e-5, 1.0]' });
    const events: StudyEvent[] = [];
    const s1 = await runStudy(spec, { runner: fakeRunner, quiet: true, onEvent: (e) => events.push(e) });
    assert.equal(s1.total, 12);
    assert.deepEqual(s1.counts, { pending: 0, running: 0, done: 8, failed: 4 });
    assert.equal(s1.ranNow, 8);
    assert.equal(s1.failedNow, 4);
    const starts = events.filter((e) => e.type === 'trial-start') as Extract<StudyEvent, { type: 'trial-start' }>[];
    assert.ok(starts[0]!.trial.isBaseline && starts[1]!.trial.isBaseline, 'baseline trials are claimed first');
    assert.ok(s1.baseline, 'the baseline is the mean of the reference configuration over seeds');
    const store = openSqliteStore(join(d.path, 'runs', 'fake.sqlite'));
    try {
      const failed = await store.listTrials({ status: 'failed' });
      assert.equal(failed.length, 4);
      assert.match(failed[0]!.error!, /learning_rate 1 diverged/);
      const rows = await studyRows(store);
      assert.equal(rows.rows.length, 8);
      assert.deepEqual(rows.factors, ['learning_rate', 'per_device_train_batch_size']);
      const r = rows.rows[0]!;
      assert.equal(r.relative_accuracy, (r.accuracy as number) - s1.baseline!.metrics.accuracy!);
      assert.equal((await store.epochMetrics()).length, 8 * 2);
    } finally {
      await store.close();
    }
    // a rerun without --retry-failed does nothing; with it, the failed trials run again
    const s2 = await runStudy(spec, { runner: fakeRunner, quiet: true });
    assert.equal(s2.ranNow, 0);
    assert.match(s2.warnings.join('\n'), /4 failed trial\(s\) are not rerun/);
    process.env.FAKE_FAIL = '0';
    try {
      const s3 = await runStudy(spec, { runner: fakeRunner, quiet: true, retryFailed: true });
      assert.equal(s3.ranNow, 4);
      assert.deepEqual(s3.counts, { pending: 0, running: 0, done: 12, failed: 0 });
    } finally {
      delete process.env.FAKE_FAIL;
    }
  } finally {
    d.cleanup();
  }
});

test('a changed design is refused with a clear message', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path);
    await runStudy(spec, { runner: fakeRunner, quiet: true });
    writeSpec(d.path, { lrs: '[1.0e-5, 2.0e-5]' });
    await assert.rejects(runStudy(spec, { runner: fakeRunner, quiet: true }), /created from a different spec \(changed: design\).*Use a new store/);
    // execution settings may change freely
    writeSpec(d.path, { execution: '{workers: 1}' });
    const s = await runStudy(spec, { runner: fakeRunner, quiet: true });
    assert.equal(s.ranNow, 0);
    assert.equal(s.counts.done, 12);
  } finally {
    d.cleanup();
  }
});

test('worker threads: a runner module in 2 workers, each trial once', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 2, fake_ms: 40}' });
    const s = await runStudy(spec, { runnerModule: FAKE, quiet: true, cores: 2 });
    assert.equal(s.workers, 2);
    assert.deepEqual(s.counts, { pending: 0, running: 0, done: 12, failed: 0 });
    const store = openSqliteStore(join(d.path, 'runs', 'fake.sqlite'));
    try {
      const trials = await store.listTrials();
      assert.ok(trials.every((t) => t.attempts === 1));
      assert.deepEqual(new Set(trials.map((t) => t.worker)), new Set(['w1', 'w2']));
      assert.ok(trials.every((t) => t.backend!.includes(`pid ${process.pid}`)), 'worker threads live in this process');
    } finally {
      await store.close();
    }
  } finally {
    d.cleanup();
  }
});

test('a worker that dies mid-trial: that trial fails, a fresh worker takes the rest', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 1, crash_lr: 1.0e-4}', baseline: '{metrics: {accuracy: 0.5}}' });
    const s = await runStudy(spec, { runnerModule: FAKE, quiet: true, cores: 2 });
    assert.deepEqual(s.counts, { pending: 0, running: 0, done: 8, failed: 4 });
    const store = openSqliteStore(join(d.path, 'runs', 'fake.sqlite'));
    try {
      const failed = await store.listTrials({ status: 'failed' });
      assert.ok(failed.every((t) => t.config.learning_rate === 1e-4 && /exited \(code 7\)/.test(t.error!)), JSON.stringify(failed.map((t) => t.error)));
    } finally {
      await store.close();
    }
  } finally {
    d.cleanup();
  }
});

test('an abort signal stops cleanly: running trials go back to pending, finished ones stay', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 2, fake_ms: 200}' });
    const ac = new AbortController();
    let done = 0;
    const s = await runStudy(spec, {
      runner: fakeRunner,
      quiet: true,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'trial-done' && ++done === 3) ac.abort();
      },
    });
    assert.equal(s.interrupted, true);
    assert.equal(s.counts.running, 0);
    assert.ok(s.counts.done >= 3 && s.counts.done < 12, String(s.counts.done));
    assert.equal(s.counts.pending + s.counts.done, 12);
  } finally {
    d.cleanup();
  }
});

test('kill -9 mid-study, rerun: all done, none duplicated, finished trials not redone', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 2, fake_ms: 600}' });
    const db = join(d.path, 'runs', 'fake.sqlite');
    const { child, exited } = spawnCli(['study', 'run', spec, '--runner', FAKE], { stdio: 'ignore' });
    // wait until at least one trial is done and one is running
    let before: { id: string; finishedAt: string | null; attempts: number }[] = [];
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const s = openSqliteStore(db, { readonly: true });
        try {
          const c = await s.counts();
          if (c.done >= 1 && c.running >= 1) {
            child.kill('SIGKILL');
            before = (await s.listTrials({ status: 'done' })).map((t) => ({ id: t.id, finishedAt: t.finishedAt, attempts: t.attempts }));
            break;
          }
        } finally {
          await s.close();
        }
      } catch {
        /* not created yet */
      }
    }
    assert.equal((await exited).signal, 'SIGKILL', 'the child was killed');
    assert.ok(before.length >= 1);
    const s0 = openSqliteStore(db, { readonly: true });
    const afterKill = await s0.counts();
    await s0.close();
    assert.ok(afterKill.running >= 1, 'the killed process left trials running');
    const r = runCli(['study', 'run', spec, '--runner', FAKE]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /left running by a stopped process start again/);
    const s = openSqliteStore(db, { readonly: true });
    try {
      const trials = await s.listTrials();
      assert.equal(trials.length, 12);
      assert.ok(trials.every((t) => t.status === 'done'));
      const byId = new Map(trials.map((t) => [t.id, t]));
      for (const b of before) {
        const t = byId.get(b.id)!;
        assert.equal(t.finishedAt, b.finishedAt, 'finished trials are not redone');
        assert.equal(t.attempts, b.attempts);
      }
      // epochs exactly once per trial and epoch
      const epochs = await s.epochMetrics();
      assert.equal(epochs.length, 12 * 2);
      assert.equal(new Set(epochs.map((e) => `${e.trialId}:${e.epoch}`)).size, 24);
    } finally {
      await s.close();
    }
  } finally {
    d.cleanup();
  }
});

test('Ctrl-C (SIGINT) on study run: exit 130, running trials back to pending, store closed cleanly', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 2, fake_ms: 800}' });
    const db = join(d.path, 'runs', 'fake.sqlite');
    const { child, exited } = spawnCli(['study', 'run', spec, '--runner', FAKE], { stdio: 'ignore' });
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const s = openSqliteStore(db, { readonly: true });
        try {
          const c = await s.counts();
          if (c.done >= 1 && c.running >= 1) {
            child.kill('SIGINT');
            break;
          }
        } finally {
          await s.close();
        }
      } catch {
        /* not created yet */
      }
    }
    assert.equal((await exited).code, 130);
    const s = openSqliteStore(db, { readonly: true });
    try {
      const c = await s.counts();
      assert.equal(c.running, 0);
      assert.ok(c.pending >= 1 && c.done >= 1);
      assert.ok((await s.listRuns()).every((r) => r.finishedAt !== null));
    } finally {
      await s.close();
    }
  } finally {
    d.cleanup();
  }
});

test('two processes on one study share the trials: each runs once', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { args: '{num_train_epochs: 1, fake_ms: 150}', execution: '{workers: 1}' });
    const start = async () => (await spawnCli(['study', 'run', spec, '--runner', FAKE], { stdio: 'ignore' }).exited).code;
    assert.deepEqual(await Promise.all([start(), start()]), [0, 0]);
    const s = openSqliteStore(join(d.path, 'runs', 'fake.sqlite'), { readonly: true });
    try {
      const trials = await s.listTrials();
      assert.equal(trials.length, 12);
      assert.ok(trials.every((t) => t.status === 'done' && t.attempts === 1));
      assert.equal(new Set(trials.map((t) => t.runId)).size, 2, 'both processes took trials');
    } finally {
      await s.close();
    }
  } finally {
    d.cleanup();
  }
});

test('CLI: status, export csv/json, analyze on a finished study; bad input errors', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { lrs: '[1.0e-5, 3.0e-5, 1.0e-4, 3.0e-4]' });
    const run = runCli(['study', 'run', spec, '--runner', FAKE]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /study fake: 16\/16 done, 0 failed, 0 pending/);
    const db = join(d.path, 'runs', 'fake.sqlite');
    const st = runCli(['study', 'status', spec]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /trials: 16 — done 16, running 0, pending 0, failed 0/);
    assert.match(st.stdout, /baseline \(config/);
    const out = join(d.path, 'rows.csv');
    const ex = runCli(['study', 'export', db, '--format', 'csv', '--out', out]);
    assert.equal(ex.status, 0, ex.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1 + 16);
    assert.match(lines[0]!, /^trial_id,learning_rate,per_device_train_batch_size,seed,accuracy,f1,loss,precision,recall,relative_accuracy,relative_f1,relative_loss/);
    const js = runCli(['study', 'export', db, '--format', 'json']);
    const parsed = JSON.parse(js.stdout) as { rows: Record<string, number>[] };
    assert.equal(parsed.rows.length, 16);
    const an = runCli(['study', 'analyze', db, '--degree', '2', '--json', join(d.path, 'a.json')]);
    assert.equal(an.status, 0, an.stderr);
    assert.match(an.stdout, /== accuracy \(absolute\)/);
    assert.match(an.stdout, /== loss \(relative/);
    assert.match(an.stdout, /log10_learning_rate\^2/);
    const aj = JSON.parse(readFileSync(join(d.path, 'a.json'), 'utf8')) as { fits: { response: string; frame: string; rsquared: number }[] };
    assert.equal(aj.fits.length, 6);
    // the fake metrics are an exact quadratic in log10(lr) plus seed wobble: the fit must find it
    assert.ok(aj.fits.find((f) => f.response === 'accuracy' && f.frame === 'absolute')!.rsquared > 0.95);
    const bad = runCli(['study', 'export', join(d.path, 'nope.sqlite')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no such file/);
    // a .sqlite that is not SQLite is named as such (it used to be parsed as a YAML spec)
    const fake = join(d.path, 'fake.sqlite');
    writeFileSync(fake, 'not a database\n');
    const nf = runCli(['study', 'status', fake]);
    assert.equal(nf.status, 2);
    assert.equal(nf.stderr, `tunescope: error: ${fake}: not a SQLite database (expected a study store written by \`tunescope study run\`)\n`);
    const es = runCli(['study', 'analyze', db, '--effect-size', 'abc']);
    assert.equal(es.status, 2);
    assert.equal(es.stderr, 'tunescope: error: --effect-size must be a positive number (got "abc")\n');
    // spec errors are one line
    const typo = join(d.path, 'typo.yaml');
    writeFileSync(typo, readFileSync(spec, 'utf8').replace(/^seeds:/m, 'seed:'));
    const ty = runCli(['study', 'run', typo]);
    assert.equal(ty.status, 2);
    assert.match(ty.stderr, /^tunescope: error: invalid study spec: .*typo\.yaml:\d+:\d+: seed: unknown key "seed"[^\n]*\n$/);
  } finally {
    d.cleanup();
  }
});

test('seeds × data_seeds: each trial gets HF seed and data_seed, both stored and exported with the eval subsample seed', async () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path, { lrs: '[1.0e-5]', baseline: '{evaluate: true}' });
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('seeds: [1, 2]', 'seeds: [1, 2]\ndata_seeds: [10, 11, 12]').replace('dataset: {name: sst2}', 'dataset: {name: sst2, max_eval_samples: 8, seed: 5}'));
    const seen: Array<[number, unknown, number | null]> = [];
    const s = await runStudy(spec, { runner: async (task, ctx) => { seen.push([task.seed, task.args.data_seed, task.dataSeed]); return fakeRunner(task, ctx); }, quiet: true });
    assert.equal(s.total, 1 + 2 * 2 * 3);
    const train = seen.filter((x) => x[2] !== null);
    assert.equal(train.length, 12);
    assert.ok(train.every(([, a, ds]) => a === ds));
    assert.ok(seen.some(([, a, ds]) => ds === null && a === undefined), 'the baseline evaluation has no data_seed');
    const store = openSqliteStore(join(d.path, 'runs', 'fake.sqlite'));
    try {
      const t = await studyRows(store);
      assert.ok(t.columns.includes('data_seed') && t.columns.includes('eval_seed'));
      assert.deepEqual(new Set(t.rows.map((r) => `${r.seed}/${r.data_seed}`)).size, 6);
      assert.ok(t.rows.every((r) => r.eval_seed === 6));
    } finally {
      await store.close();
    }
  } finally {
    d.cleanup();
  }
});
