/**
 * End to end with the real trainer: a tiny from-scratch DistilBERT study crossing seeds × data_seeds, per-example
 * predictions in the store, `study export --predictions` round trips in every format, `tunescope variability` on the
 * store and on the exported CSV + predictions, and `tunescope compare`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.js';
import { readPredictionsFile } from '../../src/study/index.js';
import { HAVE_SST2, runCli, tempDir, writeTinyStudySpec } from '../helpers.js';


test('seeds × data_seeds study with a tiny model: predictions stored, exported, analysed, compared', { skip: !HAVE_SST2 && 'needs ../shared' }, async () => {
  const d = tempDir();
  try {
    const spec = writeTinyStudySpec(d.path, {
      name: 'noise',
      dataset: { max_eval_samples: 24 },
      baseline: { evaluate: true },
      seeds: [1, 2],
      data_seeds: [5, 6],
      execution: { workers: 2, threads_per_worker: 1 },
      store: './runs/noise.sqlite',
      analysis: { allow_aliased: true }, // two learning rates: a noise test, not a response surface
    }, 'noise.yaml');
    const r = runCli(['study', 'run', spec]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /study noise: 9\/9 done, 0 failed/);
    const db = join(d.path, 'runs', 'noise.sqlite');
    const s = openSqliteStore(db, { readonly: true });
    let stored;
    try {
      const trials = await s.listTrials();
      const train = trials.filter((t) => t.kind === 'train');
      assert.deepEqual(new Set(train.map((t) => `${t.config.learning_rate}/${t.seed}/${t.dataSeed}`)).size, 8);
      assert.ok(trials.every((t) => t.evalSeed === 43), 'the evaluation subsample seed (dataset seed 42 + 1) is stored');
      stored = await s.predictions();
      assert.equal(stored.length, 9, 'every trial, the baseline evaluation too');
      for (const { trialId, predictions: p } of stored) {
        const t = trials.find((x) => x.id === trialId)!;
        assert.equal(p.label.length, 24);
        let correct = 0;
        for (let i = 0; i < 24; i++) {
          correct += p.label[i] === p.predicted[i] ? 1 : 0;
          assert.ok(Math.abs(p.probabilities[2 * i]! + p.probabilities[2 * i + 1]! - 1) < 1e-6);
        }
        assert.equal(correct / 24, t.metrics!.accuracy, 'the stored predictions reproduce the stored accuracy');
      }
      // the seed decides the initialisation: same seed, different data_seed → different runs, but data order alone moves them
      const a = train.filter((t) => t.config.learning_rate === 1e-3 && t.seed === 1);
      assert.notEqual(a[0]!.metrics!.loss, a[1]!.metrics!.loss);
    } finally {
      await s.close();
    }
    for (const ext of ['csv', 'jsonl', 'parquet']) {
      const out = join(d.path, `preds.${ext}`);
      const e = runCli(['study', 'export', db, '--predictions', out]);
      assert.equal(e.status, 0, e.stderr);
      const back = await readPredictionsFile(out);
      assert.equal(back.size, 9);
      for (const { trialId, predictions } of stored) assert.deepEqual(back.get(trialId), predictions, `${ext} round trip of ${trialId}`);
    }
    const json = join(d.path, 'noise.json');
    const v = runCli(['variability', db, '--metric', 'accuracy', '--json', json, '--bootstrap', '200']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /variance components/);
    assert.match(v.stdout, /diverged runs: \d+ of 8/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(Object.keys(j.variance_components.reml).sort(), ['data_seed', 'residual', 'seed']);
    assert.ok('anova' in j.variance_components && 'by_config' in j.variance_components);
    assert.deepEqual(Object.keys(j.variance_components.ci.reml).sort(), ['data_seed', 'residual', 'seed']);
    assert.deepEqual(Object.keys(j.expected_max[0]).sort(), ['mean', 'n', 'se']);
    assert.equal(j.expected_max.length, 8);
    assert.ok(typeof j.diverged.rule === 'string' && typeof j.diverged.count === 'number' && Array.isArray(j.diverged.by_config));
    assert.ok(j.evaluation_noise.variance > 0);
    assert.equal(j.trial_intervals.length, 8);
    // the same analysis from the exported CSV + predictions
    const csv = join(d.path, 'trials.csv');
    assert.equal(runCli(['study', 'export', db, '--out', csv]).status, 0);
    const v2 = runCli(['variability', csv, '--config', 'learning_rate', '--predictions', join(d.path, 'preds.parquet'), '--json', join(d.path, 'noise2.json'), '--bootstrap', '200']);
    assert.equal(v2.status, 0, v2.stderr);
    const j2 = JSON.parse(readFileSync(join(d.path, 'noise2.json'), 'utf8'));
    assert.deepEqual(j2.variance_components.reml, j.variance_components.reml);
    assert.equal(j2.evaluation_noise.variance, j.evaluation_noise.variance);
    const c = runCli(['compare', db, '--a', 'learning_rate=1e-3', '--b', 'learning_rate=1e-4', '--bootstrap', '200']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /paired runs: 4/);
    assert.match(c.stdout, /P\(A > B\) = /);
    assert.match(c.stdout, /McNemar seed=1,data_seed=5/);
    assert.match(c.stdout, /verdict: /);
    const cb = runCli(['compare', db, '--a', 'learning_rate=1e-3', '--b', 'baseline', '--bootstrap', '200']);
    assert.equal(cb.status, 0, cb.stderr);
    assert.match(cb.stdout, /paired runs: 4/);
    const bad = runCli(['compare', db, '--a', 'learning_rate=7', '--b', 'baseline']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /tunescope: error: --a: no trial matches learning_rate=7/);
  } finally {
    d.cleanup();
  }
});
