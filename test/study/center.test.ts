// analysis.center in a study spec: validated with the spec, taken by `study analyze` and the report from
// baseline.config (a trained baseline over args and HF defaults, or a described one beside baseline.metrics).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { analyzeStudy, formatStudyAnalysis, parseStudySpecText, runStudy, specHash } from '../../src/study/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { reportInputFromStore, buildReport } from '../../src/report/index.js';
import { UserError } from '../../src/util/index.js';
import { runCli, tempDir } from '../helpers.js';
import { compile } from 'vega-lite';
import { runTrial as fakeRunner } from './fake-runner.js';

const SPEC = (baseline: string, analysis: string): string => `
name: centred
model: some/model
dataset: {name: sst2}
baseline: ${baseline}
design:
  type: grid
  factors:
    learning_rate: [1.0e-5, 3.0e-5, 1.0e-4]
    per_device_train_batch_size: [8, 16, 32]
seeds: [1, 2]
args: {num_train_epochs: 2}
execution: {workers: 1, threads_per_worker: 1}
store: ./runs/centred.sqlite
analysis: ${analysis}
`;

function specError(text: string): string {
  try {
    parseStudySpecText(text, { file: 'spec.yaml', baseDir: '/base' });
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the spec to be rejected');
}

test('analysis.center is validated with the spec; a described baseline config does not change the study hash', () => {
  const plain = parseStudySpecText(SPEC('{metrics: {accuracy: 0.9}}', '{degree: 2}'), { baseDir: '/b' });
  assert.equal(plain.analysis.center, 'none');
  const described = parseStudySpecText(SPEC('{metrics: {accuracy: 0.9}, config: {learning_rate: 1.0e-5, per_device_train_batch_size: 32}}', '{center: baseline}'), { baseDir: '/b' });
  assert.equal(described.analysis.center, 'baseline');
  assert.deepEqual(described.baseline, { kind: 'metrics', metrics: { accuracy: 0.9 }, config: { learning_rate: 1e-5, per_device_train_batch_size: 32 } });
  assert.equal(specHash(described), specHash(plain), 'the config beside baseline.metrics is analysis only');
  assert.match(specError(SPEC('{metrics: {accuracy: 0.9}}', '{center: baseline}')), /spec\.yaml:\d+:\d+: analysis\.center: center: baseline needs the baseline's hyperparameters: baseline\.config/);
  assert.match(specError(SPEC('{metrics: {accuracy: 0.9}, config: {learning_rate: 1.0e-5}}', '{center: baseline}')), /baseline\.config\.per_device_train_batch_size: center: baseline needs the baseline's per_device_train_batch_size/);
  assert.match(specError(SPEC('{evaluate: true, config: {learning_rate: fast, per_device_train_batch_size: 8}}', '{center: baseline}')), /baseline\.config\.learning_rate: expected a number/);
  assert.match(specError(SPEC('{metrics: {accuracy: 0.9}}', '{center: middle}')), /analysis\.center: expected 'none', 'mean' or 'baseline'/);
  // a trained baseline.config may leave a factor to HF's default (what it ran with)
  parseStudySpecText(SPEC('{config: {learning_rate: 3.0e-5}}', '{center: baseline}'), { baseDir: '/b' });
});

test('study analyze and the report centre at baseline.config (trained: over args and HF defaults); --center overrides', async () => {
  const d = tempDir();
  try {
    const p = join(d.path, 'spec.yaml');
    // per_device_train_batch_size is not in baseline.config: the baseline trained with HF's default 8
    writeFileSync(p, SPEC('{config: {learning_rate: 3.0e-5}}', '{degree: 2, center: baseline}'));
    await runStudy(p, { runner: fakeRunner, quiet: true });
    const db = join(d.path, 'runs', 'centred.sqlite');
    const store = openSqliteStore(db);
    try {
      const a = await analyzeStudy(store, { importanceBootstrap: 100, importanceSeed: 3 });
      assert.equal(a.center, 'baseline');
      // importance: one per response, in the text and the JSON, deterministic for its seed
      assert.deepEqual(a.importance.map((s) => s.response), ['accuracy', 'f1', 'loss']);
      assert.equal(a.importance[0]!.bootstrap!.B, 100);
      assert.match(formatStudyAnalysis(a), /== importance: Sobol indices of the fitted accuracy surface/);
      assert.deepEqual((a.json.importance as typeof a.importance)[0]!.ci, (await analyzeStudy(store, { importanceBootstrap: 100, importanceSeed: 3 })).importance[0]!.ci);
      assert.deepEqual(a.centerPoint, { learning_rate: 3e-5, per_device_train_batch_size: 8 });
      for (const f of a.fits) assert.deepEqual(f.spec.center_point, { learning_rate: 3e-5, per_device_train_batch_size: 8 });
      assert.deepEqual(a.json.center_point, { learning_rate: 3e-5, per_device_train_batch_size: 8 });
      assert.match(formatStudyAnalysis(a), /Predictors centred at the baseline configuration learning_rate=3e-5, per_device_train_batch_size=8; log10_learning_rate is log10\(learning_rate \/ 3e-5\): main-effect coefficients are the local slopes/);
      // the squares do not move with the origin; the main effects do
      const none = await analyzeStudy(store, { center: { kind: 'none' } });
      const acc = (x: typeof a) => x.fits.find((f) => f.response === 'accuracy' && f.frame === 'absolute')!;
      const i2 = acc(a).terms.indexOf('log10_learning_rate^2');
      assert.ok(Math.abs(acc(a).params[i2]! - acc(none).params[i2]!) < 1e-10);
      assert.ok(Math.abs(acc(a).params[1]! - acc(none).params[1]!) > 1e-3);
      assert.equal(acc(none).spec.center, 'none');
      assert.match(formatStudyAnalysis(none), /predictors not centred/);

      const input = await reportInputFromStore(store, { importanceBootstrap: 50 });
      assert.equal(input.spec.center, 'baseline');
      const doc = buildReport(input);
      const chart = doc.charts.find((c) => c.kind === 'importance' && c.id.includes('accuracy'));
      assert.ok(chart?.spec, 'an importance chart with a spec');
      compile(chart!.spec as never);
      assert.match(doc.html, /<section id="importance"><h2>Importance<\/h2>/);
      assert.match(doc.markdown, /## Importance \(Sobol indices\)/);
      assert.ok(doc.findings.some((f) => /relative frame of the hyperparameters: predictors centred at the baseline configuration \(learning_rate = 3e-5, per_device_train_batch_size = 8\)/.test(f)), doc.findings.join('\n'));
      assert.match(doc.html, /predictors centred at the baseline configuration/);
      assert.match(doc.markdown, /degree 2, predictors centred at the baseline configuration/);
      const mean = await reportInputFromStore(store, { center: { kind: 'mean' } });
      assert.equal(mean.spec.center, 'mean');
    } finally {
      await store.close();
    }
    const out = join(d.path, 'a.json');
    const r = runCli(['study', 'analyze', db, '--center', 'baseline', '--baseline-config', 'learning_rate=1e-5', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { center: string; center_point: Record<string, number> };
    assert.deepEqual([j.center, j.center_point], ['baseline', { learning_rate: 1e-5, per_device_train_batch_size: 8 }]);
    const bad = runCli(['study', 'analyze', db, '--center', 'mean', '--baseline-config', 'learning_rate=1e-5']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^tunescope: error: --baseline-config sets the origin of --center baseline/);
  } finally {
    d.cleanup();
  }
});

test("a custom runner's own arguments (unknown to the built-in trainer) do not break the study's centre or its report", async () => {
  const d = tempDir();
  try {
    const path = join(d.path, 'spec.yaml');
    writeFileSync(path, SPEC('{config: {learning_rate: 3.0e-5, per_device_train_batch_size: 16}}', '{center: baseline}').replace('args: {num_train_epochs: 2}', 'args: {num_train_epochs: 2, fake_ms: 0}'));
    const spec = parseStudySpecText(readFileSync(path, 'utf8'), { file: path });
    await runStudy(spec, { runner: fakeRunner, quiet: true });
    const store = openSqliteStore(spec.store, { readonly: true });
    try {
      const input = await reportInputFromStore(store, {});
      assert.equal(input.fitErrors?.length ?? 0, 0, JSON.stringify(input.fitErrors));
      assert.equal(input.spec.center, 'baseline');
      assert.deepEqual(input.spec.center_point, { learning_rate: 3e-5, per_device_train_batch_size: 16 });
    } finally {
      await store.close();
    }
  } finally {
    d.cleanup();
  }
});
