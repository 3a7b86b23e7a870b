/**
 * Optuna import against studies written by the real Optuna (Debian python3-optuna 3.1, fixtures/optuna/make.py):
 * every trial equals study.trials_dataframe(), for the RDB SQLite storage and the JournalStorage log; schema checks,
 * damaged files, analyze/report reading the storage directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { importSources, importTable, importCsv, listOptunaStudies, loadImportedTable } from '../../src/import/index.js';
import { readTable } from '../../src/analysis/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { expectEqualToDataframe, type Frame } from './dataframe.js';

const FIX = join(ROOT, 'test/import/fixtures/optuna');
const DB = join(FIX, 'study.db');
const JOURNAL = join(FIX, 'journal.log');

for (const [store, location] of [['rdb', DB], ['journal', JOURNAL]] as const) {
  test(`${store}: every trial of both studies equals trials_dataframe() (params decoded, values, states, seeds)`, async () => {
    for (const [study, names] of [['sst2-single', ['value']], ['sst2-multi', ['accuracy', 'loss']]] as const) {
      const frame = JSON.parse(readFileSync(join(FIX, `${store}-${study}.json`), 'utf8')) as Frame;
      assert.equal(frame.optuna, '3.1.0');
      const r = await importSources([{ kind: 'optuna', location }], { study });
      assert.deepEqual(r.warnings, []);
      expectEqualToDataframe(r.runs, frame, [...names]);
    }
  });
}

test('decoding: log-float, int and categorical parameters; pruned/failed kept with state; intermediate values as history', async () => {
  const r = await importSources([{ kind: 'optuna', location: DB }], { study: 'sst2-single', map: { value: 'accuracy' } });
  const t0 = r.runs[0];
  assert.equal(typeof t0.params.learning_rate, 'number');
  assert.ok(Number.isInteger(t0.params.num_train_epochs));
  assert.ok([16, 32, 64].includes(t0.params.per_device_train_batch_size as number));
  assert.ok(['linear', 'cosine'].includes(t0.params.lr_scheduler_type as string));
  assert.equal((t0.attrs.distributions as Record<string, string>).lr, 'log float [0.00001, 0.0002]');
  assert.equal(t0.provenance.learning_rate, 'trial_params');
  assert.equal(t0.provenance.accuracy, 'trial_values[0]');
  assert.equal(t0.provenance.seed, 'trial_user_attributes');
  const states = r.runs.map((x) => x.state);
  assert.equal(states.filter((s) => s === 'pruned').length, 3);
  assert.equal(states.filter((s) => s === 'failed').length, 2);
  const pruned = r.runs.find((x) => x.state === 'pruned')!;
  // Optuna 3.1 gives a pruned trial its last reported intermediate value
  assert.equal(pruned.history.at(-1)!.values.accuracy, pruned.metrics.accuracy);
  assert.equal(pruned.history.length, pruned.params.num_train_epochs);
  const failed = r.runs.find((x) => x.state === 'failed')!;
  assert.equal(failed.metrics.accuracy, null);
  assert.deepEqual(r.mappings.map((m) => `${m.from}>${m.to}:${m.origin}`), [
    'lr>learning_rate:default', 'batch_size>per_device_train_batch_size:default', 'epochs>num_train_epochs:default', 'value>accuracy:--map',
  ]);
  // the rows: study-export columns plus provenance; CSV numbers round-trip exactly
  const table = importTable(r.runs);
  assert.deepEqual(table.factors, ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs', 'warmup_ratio', 'lr_scheduler_type']);
  assert.deepEqual(table.metrics, ['accuracy']);
  const d = tempDir();
  try {
    writeFileSync(join(d.path, 'runs.csv'), importCsv(table));
    const back = readTable(join(d.path, 'runs.csv'));
    back.rows.forEach((row, i) => {
      assert.equal(row.learning_rate, r.runs[i].params.learning_rate);
      assert.equal(row.accuracy, r.runs[i].metrics.accuracy);
      assert.equal(row.state, r.runs[i].state);
    });
  } finally {
    d.cleanup();
  }
});

test('studies are listed; several studies without --study is one error naming them', async () => {
  const studies = await listOptunaStudies(DB);
  assert.deepEqual(studies.map((s) => [s.name, s.directions, s.metricNames, s.trials]), [
    ['sst2-single', ['MAXIMIZE'], null, { complete: 19, failed: 2, pruned: 3 }],
    ['sst2-multi', ['MAXIMIZE', 'MINIMIZE'], ['accuracy', 'loss'], { complete: 7, failed: 1 }],
  ]);
  const r = runCli(['import', 'optuna', DB]);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /^sst2-single\tmaximize value\t24 trials: 19 complete, 2 failed, 3 pruned\nsst2-multi\tmaximize accuracy, minimize loss\t8 trials/);
  assert.match(r.stderr, /^tunescope: error: .*study\.db holds 2 Optuna studies; choose one with --study NAME: sst2-single, sst2-multi\n$/);
  const bad = runCli(['import', `sqlite:///${DB}`, '--study', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no Optuna study named "nope" \(studies: sst2-single, sst2-multi\)/);
});

test('an unknown schema version is one clear error naming it; the storage is opened read-only', async () => {
  const d = tempDir();
  try {
    const copy = join(d.path, 'future.db');
    copyFileSync(DB, copy);
    const db = new Database(copy);
    db.prepare("UPDATE alembic_version SET version_num = 'v9.1.0.a'").run();
    db.close();
    const before = statSync(copy).mtimeMs;
    await assert.rejects(importSources([{ kind: 'optuna', location: copy }], { study: 'sst2-single' }), /Optuna RDB schema version v9\.1\.0\.a is not one tunescope reads \(v3\.0\.0\.d, v3\.2\.0\.a/);
    const r = runCli(['import', 'optuna', copy, '--study', 'sst2-single']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tunescope: error: .*v9\.1\.0\.a/);
    assert.equal(statSync(copy).mtimeMs, before);
  } finally {
    d.cleanup();
  }
});

test('a damaged journal line and a truncated SQLite file are warnings naming the file; the import goes on', async () => {
  const d = tempDir();
  try {
    const log = join(d.path, 'journal.log');
    copyFileSync(JOURNAL, log);
    const lines = readFileSync(log, 'utf8').split('\n').length;
    appendFileSync(log, '{"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_sta\n');
    const r = await importSources([{ kind: 'optuna', location: log }], { study: 'sst2-single' });
    assert.equal(r.runs.length, 24);
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0].line, lines);
    assert.match(r.warnings[0].message, /not a journal operation/);

    const cut = join(d.path, 'cut.db');
    copyFileSync(DB, cut);
    truncateSync(cut, Math.floor(statSync(DB).size * 0.6));
    // beside a good source: a warning naming the damaged file, the good source's runs kept
    const both = await importSources([{ kind: 'optuna', location: cut }, { kind: 'optuna', location: JOURNAL }], { study: 'sst2-single' });
    assert.equal(both.runs.length, 24);
    assert.equal(both.warnings.length, 1);
    assert.match(both.warnings[0].message, /cannot read the Optuna storage \(database disk image is malformed\); source skipped/);
    assert.equal(both.warnings[0].file, cut);
    // alone: one clear error naming it, nothing written
    const out = join(d.path, 'runs.csv');
    const cli = runCli(['import', 'optuna', cut, '--study', 'sst2-single', '--out', out]);
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /^tunescope: error: .*cut\.db: cannot read the Optuna storage \(database disk image is malformed\)\n$/);
    assert.equal(existsSync(out), false);
  } finally {
    d.cleanup();
  }
});

test('analyze and report read an Optuna storage directly: complete trials only, with the count', async () => {
  const loaded = await loadImportedTable(`optuna:${JOURNAL}`, { study: 'sst2-single', map: { value: 'accuracy' } });
  assert.ok(loaded);
  assert.equal(loaded.rows.length, 19);
  assert.ok(loaded.notes.includes('left out 3 pruned, 2 failed run(s) of 24 (not complete; --all-states keeps them)'));
  const a = runCli(['analyze', DB, '--study', 'sst2-single', '--map', 'value=accuracy', '--predictors', 'learning_rate,num_train_epochs', '--response', 'accuracy', '--log-lr', '--degree', '1']);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /study\.db: 19 rows\n.*Optuna study sst2-single \(maximize value\): 19 complete, 2 failed, 3 pruned\nnames mapped to HF's: lr → learning_rate, .* value → accuracy \(--map\)\nleft out 3 pruned, 2 failed run\(s\) of 24/);
  assert.match(a.stdout, /No\. Observations:\s+19/);
  // the same numbers from the exported CSV (its state column: the same 19 rows)
  const d = tempDir();
  try {
    const csv = join(d.path, 'runs.csv');
    const imp = runCli(['import', 'optuna', DB, '--study', 'sst2-single', '--map', 'value=accuracy', '--out', csv]);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, /kept 24 run\(s\) from 1 source\(s\) \(19 complete, 3 pruned, 2 failed\); 0 warning\(s\)/);
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 24);
    const b = runCli(['analyze', csv, '--predictors', 'learning_rate,num_train_epochs', '--response', 'accuracy', '--log-lr', '--degree', '1']);
    assert.equal(b.status, 0, b.stderr);
    const coefs = (s: string): string => s.slice(s.indexOf('coef'), s.indexOf('Type-II'));
    assert.equal(coefs(b.stdout), coefs(a.stdout));
    const all = runCli(['analyze', csv, '--all-states', '--drop-missing', '--predictors', 'learning_rate', '--response', 'accuracy', '--degree', '1']);
    assert.match(all.stdout, /No\. Observations:\s+22/);
  } finally {
    d.cleanup();
  }
});
