/**
 * `variability` and `compare` read import sources straight (as `analyze` / `report` do): the Optuna study sst2-seeds
 * (fixtures/optuna/make.py: 3 learning rates × 2 batch sizes × 3 seeds, written by Debian's python3-optuna) in its RDB
 * SQLite file, checked against the study's own trials_dataframe() (rdb-sst2-seeds.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompare, runVariability } from '../../src/cli/commands/variability.js';
import { importCsv, importSources, importTable } from '../../src/import/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { writeFileSync } from 'node:fs';

const DIR = join(ROOT, 'test/import/fixtures/optuna');
const SEEDS = join(DIR, 'seeds.db');
interface RefTrial { params_learning_rate: number; params_per_device_train_batch_size: number; params_seed: number; value: number; state: string }
const ref = (JSON.parse(readFileSync(join(DIR, 'rdb-sst2-seeds.json'), 'utf8')) as { trials: RefTrial[] }).trials;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** stdout of an in-process run (a child process per case would take most of the time on a busy machine) */
async function captured(f: (out: (s: string) => void) => Promise<void>): Promise<string> {
  let text = '';
  await f((s) => (text += s));
  return text;
}
/** `tunescope import`'s CSV of seeds.db */
async function seedsCsv(dir: string): Promise<string> {
  const r = await importSources([{ kind: 'optuna', location: SEEDS }], {});
  const csv = join(dir, 'seeds.csv');
  writeFileSync(csv, importCsv(importTable(r.runs)));
  return csv;
}
const runsOf = (lr: number, bs: number) => ref.filter((t) => t.params_learning_rate === lr && t.params_per_device_train_batch_size === bs);

test('variability optuna sqlite:///seeds.db --study: the noise analysis over the imported runs (configurations = its hyperparameters)', async () => {
  const r = runCli(['variability', 'optuna', `sqlite:///${SEEDS}`, '--study', 'sst2-seeds', '--bootstrap', '100']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Optuna study sst2-seeds \(maximize accuracy\): 18 complete\n/);
  assert.match(r.stdout, /noise analysis of accuracy: 18 trials, 6 configuration\(s\) \(learning_rate, per_device_train_batch_size\), seed columns seed\n/);
  // each configuration's mean over its 3 seeds, as trials_dataframe() has them
  for (const lr of [2e-5, 5e-5, 1e-4]) {
    for (const bs of [16, 32]) {
      const runs = runsOf(lr, bs);
      assert.equal(runs.length, 3);
      const line = new RegExp(`learning_rate=${lr.toFixed(lr < 1e-4 ? 5 : 4)} per_device_train_batch_size=${bs}: n 3, mean ([0-9.]+)`).exec(r.stdout);
      assert.ok(line, `no line for lr ${lr} bs ${bs}:\n${r.stdout}`);
      assert.equal(line[1], mean(runs.map((t) => t.value)).toFixed(4));
    }
  }
  // the same analysis from `tunescope import`'s CSV of the source (--config named there)
  const d = tempDir();
  try {
    const csv = await seedsCsv(d.path);
    const c = await captured((out) => runVariability(csv, { metric: 'accuracy', config: 'learning_rate,per_device_train_batch_size', bootstrap: 100 }, out));
    const body = (s: string) => s.slice(s.indexOf('== noise analysis'));
    assert.equal(body(c), body(r.stdout));
  } finally {
    d.cleanup();
  }
});

test('variability on an import source: --map, --all-states and errors are those of analyze', async () => {
  const V = (data: string, o: Partial<Parameters<typeof runVariability>[1]> = {}) => captured((out) => runVariability(data, { metric: 'accuracy', bootstrap: 50, ...o }, out));
  await assert.rejects(V(join(DIR, 'study.db')), /study\.db holds 2 Optuna studies; choose one with --study NAME: sst2-single, sst2-multi$/);
  // sst2-single's objective is unnamed (`value`); --map names it; pruned/failed runs are left out with a count
  const single = await V(`optuna:${join(DIR, 'journal.log')}`, { study: 'sst2-single', map: 'value=accuracy' });
  assert.match(single, /left out 3 pruned, 2 failed run\(s\) of 24/);
  assert.match(single, /noise analysis of accuracy: 19 trials/);
  const all = await V(`optuna:${join(DIR, 'journal.log')}`, { study: 'sst2-single', map: 'value=accuracy', allStates: true });
  assert.match(all, /kept 24 run\(s\) of 24/);
  await assert.rejects(V(SEEDS, { predictions: join(DIR, 'nope.csv') }), /--predictions: .*seeds\.db is an imported source/);
  await assert.rejects(V(SEEDS, { metric: 'f1' }), /f1/);
  const kind = runCli(['variability', 'optuna']);
  assert.equal(kind.status, 2);
  assert.match(kind.stderr, /^tunescope: error: source kind "optuna" is not followed by a location\n$/);
});

test('compare: two configurations of an imported study, and two inputs (an imported source vs an import CSV), paired by seed', async () => {
  const A = 'learning_rate=5e-5,per_device_train_batch_size=16';
  const B = 'learning_rate=2e-5,per_device_train_batch_size=16';
  const diff = mean(runsOf(5e-5, 16).map((t) => t.value)) - mean(runsOf(2e-5, 16).map((t) => t.value));
  const one = runCli(['compare', 'optuna', `sqlite:///${SEEDS}`, '--a', A, '--b', B, '--bootstrap', '100']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /metric: accuracy {3}paired runs: 3\n/);
  const d = /difference ([+-][0-9.]+)/.exec(one.stdout);
  assert.equal(d?.[1], (diff >= 0 ? '+' : '') + diff.toFixed(4));
  const C = (inputs: string[], o: Partial<Parameters<typeof runCompare>[1]> = {}) => captured((out) => runCompare(inputs, { metric: 'accuracy', bootstrap: 100, ...o }, out));
  const t = tempDir();
  try {
    const csv = await seedsCsv(t.path);
    const json = join(t.path, 'c.json');
    const two = await C([`optuna:${SEEDS}`, csv], { a: A, b: B, json });
    assert.match(two, /^A: .*Optuna study sst2-seeds .*18 complete\n/);
    const j = JSON.parse(readFileSync(json, 'utf8')) as { pairs: number; mean_difference: number; a: string; b: string };
    assert.equal(j.pairs, 3);
    assert.ok(Math.abs(j.mean_difference - diff) < 1e-12, `${j.mean_difference} vs ${diff}`);
    assert.match(j.b, /seeds\.csv learning_rate=2e-5/);
    // the second input's study by --b-study; a side of several configurations has no pairing by seed
    const again = await C([SEEDS, SEEDS], { a: A, b: B, bStudy: 'sst2-seeds' });
    assert.match(again, /paired runs: 3\n/);
    await assert.rejects(C([SEEDS, csv]), /--a: .*seeds\.db has several runs with seed=\d \(several configurations\?\): choose one configuration with --a/);
    await assert.rejects(C([SEEDS, csv], { a: A, b: 'learning_rate=7' }), /--b: no trial matches learning_rate=7 in .*seeds\.csv/);
  } finally {
    t.cleanup();
  }
  await assert.rejects(C([SEEDS], { a: A }), /--a and --b are required with one input/);
  await assert.rejects(C([SEEDS, SEEDS], { metric: 'f1', a: A, b: B }), /no metric column f1 \(--metric\)/);
  const three = runCli(['compare', SEEDS, SEEDS, SEEDS]);
  assert.equal(three.status, 2);
  assert.match(three.stderr, /^tunescope: error: expected one or two inputs, got 3/);
});

test('compare: a tunescope study store (A) against an imported Optuna study (B), paired by seed', async () => {
  const t = tempDir();
  try {
    const path = join(t.path, 'study.sqlite');
    const store = openSqliteStore(path);
    await store.createStudy({ name: 'mine', spec: {}, specHash: 'h', tunescopeVersion: '0' });
    // three seeds of one configuration, each 0.002 above the Optuna run of the same seed at lr 2e-5, batch 16
    const optunaRuns = runsOf(2e-5, 16);
    await store.addTrials(optunaRuns.map((r, i) => ({ id: `t${i}`, ordinal: i + 1, kind: 'train' as const, config: { learning_rate: 2e-5, per_device_train_batch_size: 16 }, seed: r.params_seed, inDesign: true, isBaseline: false })));
    await store.startRun({ id: 'run', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    for (const [i, r] of optunaRuns.entries()) {
      assert.ok(await store.claimTrial(`t${i}`, 'run', 'w'));
      await store.completeTrial(`t${i}`, 'run', { metrics: { accuracy: r.value + 0.002, loss: 0.3 }, epochs: [], trainSeconds: 1, backend: 'x', versions: {} });
    }
    await store.close();
    const json = join(t.path, 'c.json');
    const out = await captured((o) => runCompare([path, `optuna:${SEEDS}`], { metric: 'accuracy', b: 'learning_rate=2e-5,per_device_train_batch_size=16', bootstrap: 100, json }, o));
    assert.match(out, /paired runs: 3\n/);
    const j = JSON.parse(readFileSync(json, 'utf8')) as { pairs: number; mean_difference: number; probability: { p: number } };
    assert.equal(j.pairs, 3);
    assert.ok(Math.abs(j.mean_difference - 0.002) < 1e-12, String(j.mean_difference));
    assert.equal(j.probability.p, 1);
  } finally {
    t.cleanup();
  }
});
