/**
 * End to end with the real trainer: tiny from-scratch DistilBERT (dim 16, 1 layer), 32 SST-2 sentences,
 * two worker threads, through the CLI. (The demo at toy size: test/demo.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.js';
import { HAVE_SST2, runCli, tempDir, writeTinyStudySpec } from '../helpers.js';


/** Two seeds, two epochs, two workers; two-level factors: this test is about execution. */
const tinySpec = (dir: string, factors: Record<string, unknown[]>, more: Record<string, unknown> = {}): string =>
  writeTinyStudySpec(dir, {
    baseline: { evaluate: true },
    design: { type: 'grid', factors },
    seeds: [1, 2],
    args: { num_train_epochs: 2 },
    execution: { workers: 2, threads_per_worker: 1 },
    store: './runs/tiny.sqlite',
    analysis: { allow_aliased: true },
    ...more,
  }, 'tiny.yaml');

test('real fine-tunes in two worker threads: metrics, epochs, baseline, versions; a bad value fails its trials only; --retry-failed', { skip: !HAVE_SST2 && 'needs ../shared' }, async () => {
  const d = tempDir();
  try {
    const spec = tinySpec(d.path, { learning_rate: [1e-4, 1e-3], adam_beta1: [0.9, 1.5] });
    const r = runCli(['study', 'run', spec]);
    // failed trials make the run a failure (exit 3, with the count), as a test runner's failed tests do
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /study tiny: 5\/9 done, 4 failed, 0 pending/);
    assert.match(r.stderr, /tunescope: 4 of 9 trial\(s\) failed/);
    const s = openSqliteStore(join(d.path, 'runs', 'tiny.sqlite'), { readonly: true });
    try {
      const trials = await s.listTrials();
      const failed = trials.filter((t) => t.status === 'failed');
      assert.equal(failed.length, 4);
      assert.ok(failed.every((t) => t.config.adam_beta1 === 1.5));
      assert.match(failed[0]!.error!, /adam_beta1: must be in \[0, 1\), got 1\.5/);
      const done = trials.filter((t) => t.status === 'done');
      for (const t of done) {
        assert.ok(t.metrics!.accuracy! >= 0 && t.metrics!.accuracy! <= 1);
        assert.ok(t.metrics!.loss! > 0);
        assert.match(t.backend!, /onnxruntime-node cpu, 1 thread/);
        assert.ok(t.versions!['onnxruntime-node']);
      }
      const evalTrial = done.find((t) => t.kind === 'evaluate')!;
      assert.ok(evalTrial.isBaseline);
      assert.equal((await s.epochMetrics()).length, 4 * 2, 'two epochs per training trial');
      // same seed, same config → same numbers (workers do not leak state between trials)
      const b = await s.getBaseline();
      assert.equal(b!.metrics.accuracy, evalTrial.metrics!.accuracy);
    } finally {
      await s.close();
    }
    // the bad value stays bad: --retry-failed reruns and records the failures again; attempts go up
    const again = runCli(['study', 'run', spec, '--retry-failed', '--workers', '1']);
    assert.equal(again.status, 3, again.stderr);
    assert.match(again.stdout, /this run: 0 trial\(s\) finished, 4 failed/);
    const s2 = openSqliteStore(join(d.path, 'runs', 'tiny.sqlite'), { readonly: true });
    try {
      assert.ok((await s2.listTrials({ status: 'failed' })).every((t) => t.attempts === 2));
    } finally {
      await s2.close();
    }
  } finally {
    d.cleanup();
  }
});

test('an unknown training argument as a factor stops before anything runs', { skip: !HAVE_SST2 && 'needs ../shared' }, () => {
  const d = tempDir();
  try {
    const spec = tinySpec(d.path, { learning_rate: [1e-4], learning_rat: [1, 2] });
    const r = runCli(['study', 'run', spec]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /design\.factors\.learning_rat: not an HF training argument/);
    assert.equal(existsSync(join(d.path, 'runs', 'tiny.sqlite')), false);
  } finally {
    d.cleanup();
  }
});

test('a dataset that cannot load is one error before any trial runs', { skip: !HAVE_SST2 && 'needs ../shared' }, async () => {
  const d = tempDir();
  try {
    const spec = tinySpec(d.path, { learning_rate: [1e-4, 1e-3] }, { dataset: { data_dir: join(d.path, 'no-such-dir') } });
    const r = runCli(['study', 'run', spec]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /tiny\.yaml: dataset: /);
    // no store is left behind: it would refuse the corrected spec as "created from a different spec"
    assert.equal(existsSync(join(d.path, 'runs', 'tiny.sqlite')), false);
    // a model that is neither a folder nor a Hub id: the same, and not even an empty runs/ folder
    const m = join(d.path, 'm.yaml');
    writeFileSync(m, 'name: m\nmodel: ./no/such/model\ndataset: {name: sst2}\ndesign: {type: grid, factors: {learning_rate: [1.0e-3]}}\nseeds: [1]\nstore: ./runs-m/m.sqlite\n');
    const rm = runCli(['study', 'run', m]);
    assert.equal(rm.status, 2, rm.stderr);
    assert.match(rm.stderr, /m\.yaml: model: .*no\/such\/model is neither a local folder nor a Hub id/);
    assert.equal(existsSync(join(d.path, 'runs-m')), false);
  } finally {
    d.cleanup();
  }
});

test('a store path under a file is one error before anything runs', { skip: !HAVE_SST2 && 'needs ../shared' }, () => {
  const d = tempDir();
  try {
    const spec = tinySpec(d.path, { learning_rate: [1e-4, 1e-3] });
    writeFileSync(join(d.path, 'runs'), 'a file where the store folder should be');
    const r = runCli(['study', 'run', spec]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `tunescope: error: store: cannot create the folder ${join(d.path, 'runs')} (a file is in the way)\n`);
  } finally {
    d.cleanup();
  }
});
