/**
 * Issue 17 (medium): unbounded designs and a store left behind. A grid of 1e9 points grew memory until V8 died,
 * `levels: 1e9` and Sobol `n: 1e9` spun, a 10,000-level grid became 20,000 trials silently; an expansion error
 * (a baseline.config value of the wrong type) came after the study row was written, so the corrected spec was
 * refused as "created from a different spec".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDesignSize, expandDesign, parseStudySpecText, runStudy, trialCount, DEFAULT_MAX_TRIALS } from '../../src/study/index.js';
import { runTrial as fakeRunner } from '../study/fake-runner.js';
import { runCli, tempDir } from '../helpers.js';

const spec = (design: string, extra = '') =>
  parseStudySpecText(`name: b\nmodel: some/model\ndataset: {name: sst2}\ndesign:\n${design}\nseeds: [1, 2]\n${extra}store: ./runs/b.sqlite\n`, { file: 'b.yaml', baseDir: '/tmp' });

test('design size is computed without expanding and bounded; execution.max_trials raises the bound', () => {
  const huge = spec('  type: grid\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-3, scale: log, levels: 1000000000}\n    weight_decay: {min: 0, max: 0.1, levels: 1000000000}');
  assert.equal(trialCount(huge), 2e18);
  const t0 = Date.now();
  assert.throws(() => expandDesign(huge), /^UserError: design: 2,000,000,000,000,000,000 trials \(learning_rate 1000000000 × weight_decay 1000000000 configurations × 2 seed\(s\)\) is above the limit of 10,000 \(the most any study may have is 1,000,000\)$/);
  assert.ok(Date.now() - t0 < 1000);
  for (const d of ['  type: sobol\n  n: 1000000000\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-3}', '  type: lhs\n  n: 1000000000\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-3}']) {
    assert.throws(() => expandDesign(spec(d)), /design: 2,000,000,000 trials \(n 1000000000 configurations × 2 seed\(s\)\) is above the limit/);
  }
  const wide = '  type: grid\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-3, scale: log, levels: 10000}';
  assert.throws(() => expandDesign(spec(wide)), /20,000 trials .* above the limit of 10,000; set execution\.max_trials: 20000 to run it anyway/);
  assert.equal(checkDesignSize(spec(wide, 'execution: {max_trials: 20000}\n')), 20000);
  assert.equal(expandDesign(spec(wide, 'execution: {max_trials: 20000}\n')).length, 20000);
  assert.equal(DEFAULT_MAX_TRIALS, 10_000);
});

test('design and baseline errors come before the store exists: the corrected spec then runs', async () => {
  const d = tempDir('tunescope-preflight-');
  try {
    const write = (baseline: string, levels: number) => {
      const p = join(d.path, 'spec.yaml');
      writeFileSync(p, `name: pf\nmodel: some/model\ndataset: {name: sst2}\nbaseline: ${baseline}\ndesign:\n  type: grid\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-4, scale: log, levels: ${levels}}\nseeds: [1]\nanalysis: {allow_aliased: true}\nstore: ./runs/pf.sqlite\n`);
      return p;
    };
    const db = join(d.path, 'runs', 'pf.sqlite');
    await assert.rejects(runStudy(write('{config: {learning_rate: fast}}', 2), { runner: fakeRunner, quiet: true }), /baseline\.config\.learning_rate: expected a number/);
    assert.equal(existsSync(db), false, 'no store left behind');
    // the CLI: one line, exit 2, and still no store
    const r = runCli(['study', 'run', write('{config: {learning_rate: 3.0e-5}}', 1e9), '--runner', join(import.meta.dirname, '..', 'study', 'fake-runner.ts')], { timeoutMs: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tunescope: error: design: 1,000,000,001 trials .*above the limit of 10,000[^\n]*\n$/);
    assert.equal(existsSync(db), false, 'no store left behind');
    const ok = await runStudy(write('{config: {learning_rate: 3.0e-5}}', 2), { runner: fakeRunner, quiet: true });
    assert.equal(ok.counts.done, 3);
  } finally {
    d.cleanup();
  }
});
