/**
 * Optuna on PostgreSQL, against a database the real Optuna wrote (Debian python3-optuna 3.1 through RDBStorage
 * `postgresql+psycopg2://`, fixtures/optuna/make_pg.py: ENUM trialstate/studydirection, timestamp columns, a running
 * and a waiting trial), dumped with pg_dump to fixtures/optuna/optuna-pg.sql. The test loads the dump into a private
 * PostgreSQL (test/services.ts) with psql and compares the import with that script's study.trials_dataframe(), trial
 * by trial; then `?schema=`, a password-protected read-only role (the password never printed), the CLI (import,
 * analyze, report on the URL) and the errors: an unknown study, an unreachable server, a database without Optuna's
 * tables.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runAnalyze } from '../../src/cli/commands/analyze.js';
import { importSources, listOptunaStudies, loadImportedTable, parseSourceArgs } from '../../src/import/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { freePort, postgresBinDir, startPostgres, type PostgresService } from '../services.js';
import { expectEqualToDataframe, type Frame } from './dataframe.js';

const FIX = join(ROOT, 'test/import/fixtures/optuna');
const DUMP = join(FIX, 'optuna-pg.sql');
const PASSWORD = 'pw-Zq81-never-printed';
const STUDIES = [['sst2-single', ['value']], ['sst2-multi', ['accuracy', 'loss']], ['sst2-seeds', ['accuracy']]] as const;

let pg: PostgresService;
let url: string; // the dump, in schema public
let schemaUrl: string; // the dump moved to schema sweeps (public left empty)
let emptyUrl: string; // a database with one table that is not Optuna's
let readerUrl: string; // the dump read by a password-protected role that may only SELECT

function psql(dbUrl: string, args: string[]): void {
  const r = spawnSync(join(postgresBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', dbUrl, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const frameOf = (study: string): Frame => JSON.parse(readFileSync(join(FIX, `pg-${study}.json`), 'utf8')) as Frame;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('optuna');
  psql(url, ['-f', DUMP]);
  const moved = await pg.createDatabase('optuna_schema');
  psql(moved, ['-f', DUMP]);
  psql(moved, ['-c', 'ALTER SCHEMA public RENAME TO sweeps; CREATE SCHEMA public;']);
  schemaUrl = `${moved}?schema=sweeps`;
  emptyUrl = await pg.createDatabase('other');
  psql(emptyUrl, ['-c', 'CREATE TABLE experiments_log (id int primary key, note text)']);
  // a role that logs in with a password (scram-sha-256 for it, trust for the rest) and may only read
  psql(url, ['-c', `CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}'; GRANT USAGE ON SCHEMA public TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;`]);
  const hba = join(pg.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host all reader 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
  psql(url, ['-c', 'SELECT pg_reload_conf()']);
  readerUrl = `postgresql://reader:${PASSWORD}@127.0.0.1:${pg.port}/optuna`;
});
after(() => pg?.stop());

test('every trial of the three studies equals trials_dataframe() (ENUM states and directions, timestamps to the microsecond, running and waiting trials)', async () => {
  for (const [study, names] of STUDIES) {
    const frame = frameOf(study);
    assert.equal(frame.optuna, '3.1.0');
    const r = await importSources([{ kind: 'optuna', location: url }], { study });
    assert.deepEqual(r.warnings, []);
    expectEqualToDataframe(r.runs, frame, [...names]);
  }
  // what the real data holds that the SQLite fixture does not: PostgreSQL prints 00:25:40.46315 for .463150
  const single = await importSources([{ kind: 'optuna', location: url }], { study: 'sst2-single' });
  assert.ok(single.runs.every((x) => x.attrs.datetime_start === null || /\.\d{6}$/.test(String(x.attrs.datetime_start))));
  assert.deepEqual(single.runs.filter((x) => !['complete', 'pruned', 'failed'].includes(x.state)).map((x) => [x.state, x.attrs.number]), [['running', 24], ['waiting', 25]]);
  const running = single.runs.find((x) => x.state === 'running')!;
  assert.deepEqual(running.history, [{ step: 0, values: { value: 0.88 } }]);
  assert.equal(running.metrics.value, null);
});

test('the studies are listed with directions from the ENUM column; ?schema= (or the libpq options=-csearch_path=) reads another schema; the +psycopg2 dialect is accepted', async () => {
  const expected = [
    ['sst2-single', ['MAXIMIZE'], null, { complete: 19, failed: 2, pruned: 3, running: 1, waiting: 1 }],
    ['sst2-multi', ['MAXIMIZE', 'MINIMIZE'], ['accuracy', 'loss'], { complete: 7, failed: 1 }],
    ['sst2-seeds', ['MAXIMIZE'], ['accuracy'], { complete: 18 }],
  ];
  const sorted = (s: Awaited<ReturnType<typeof listOptunaStudies>>) =>
    s.map((x) => [x.name, x.directions, x.metricNames, Object.fromEntries(Object.entries(x.trials).sort())]);
  assert.deepEqual(sorted(await listOptunaStudies(url)), expected);
  assert.deepEqual(sorted(await listOptunaStudies(schemaUrl)), expected);
  // the libpq form Optuna users give SQLAlchemy/psycopg2 (options=-csearch_path=…) passes through to the server
  assert.deepEqual(sorted(await listOptunaStudies(schemaUrl.replace('schema=sweeps', 'options=-csearch_path%3Dsweeps'))), expected);
  assert.deepEqual(sorted(await listOptunaStudies(url.replace(/^postgres:/, 'postgresql+psycopg2:'))), expected);
  const r = await importSources([{ kind: 'optuna', location: schemaUrl }], { study: 'sst2-multi' });
  expectEqualToDataframe(r.runs, frameOf('sst2-multi'), ['accuracy', 'loss']);
  // public of that database is empty: without ?schema= it is not an Optuna storage
  await assert.rejects(listOptunaStudies(schemaUrl.replace('?schema=sweeps', '')), /optuna_schema: not an Optuna storage \(no studies\/trials tables\)/);
  await assert.rejects(listOptunaStudies(schemaUrl.replace('sweeps', 'nope')), /no schema "nope" in the database/);
});

test('a password in the URL is used (scram-sha-256, a SELECT-only role) and never shown: rows, notes, errors', async () => {
  const r = await importSources([{ kind: 'optuna', location: readerUrl }], { study: 'sst2-single' });
  expectEqualToDataframe(r.runs, frameOf('sst2-single'), ['value']);
  const shown = JSON.stringify([r.runs.map((x) => [x.source, x.provenance]), r.notes, r.sources]);
  assert.ok(!shown.includes(PASSWORD));
  assert.match(r.runs[0].source, /^postgresql:\/\/reader:\*\*\*@127\.0\.0\.1:\d+\/optuna#sst2-single\/0$/);
  const wrong = runCli(['import', 'optuna', readerUrl.replace(PASSWORD, `${PASSWORD}x`), '--study', 'sst2-single']);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /^tunescope: error: postgresql:\/\/reader:\*\*\*@127\.0\.0\.1:\d+\/optuna: cannot connect \(password authentication failed for user "reader"\)\n$/);
  assert.ok(!wrong.stderr.includes(PASSWORD));
});

test('CLI: import optuna URL lists the studies, --study imports one, analyze reads the URL (complete trials, with the count)', async () => {
  const list = runCli(['import', 'optuna', url]);
  assert.equal(list.status, 2);
  assert.match(list.stdout, /^sst2-single\tmaximize value\t26 trials: 19 complete, 2 failed, 3 pruned, 1 running, 1 waiting\nsst2-multi\tmaximize accuracy, minimize loss\t8 trials: 7 complete, 1 failed\nsst2-seeds\tmaximize accuracy\t18 trials: 18 complete\n$/);
  assert.match(list.stderr, /^tunescope: error: postgres:\/\/postgres@127\.0\.0\.1:\d+\/optuna holds 3 Optuna studies; choose one with --study NAME: sst2-single, sst2-multi, sst2-seeds\n$/);
  await assert.rejects(importSources([{ kind: 'optuna', location: readerUrl }], { study: 'sst2' }), {
    message: `postgresql://reader:***@127.0.0.1:${pg.port}/optuna: no Optuna study named "sst2" (studies: sst2-single, sst2-multi, sst2-seeds)`,
  });

  const d = tempDir();
  try {
    const csv = join(d.path, 'runs.csv');
    const imp = runCli(['import', 'optuna', url, '--study', 'sst2-single', '--map', 'value=accuracy', '--out', csv]);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, /kept 26 run\(s\) from 1 source\(s\) \(19 complete, 3 pruned, 2 failed, 1 running, 1 waiting\); 0 warning\(s\)/);
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    const frame = frameOf('sst2-single');
    assert.equal(rows.length, frame.trials.length);
    for (const t of frame.trials) {
      const row = rows.find((x) => x.run_id === `sst2-single/${String(t.number)}`)!;
      // CSV numbers round-trip exactly
      assert.equal(row.accuracy === '' ? null : Number(row.accuracy), t.value);
      assert.equal(row.learning_rate === '' ? null : Number(row.learning_rate), t.params_lr);
    }
    const args = ['--study', 'sst2-single', '--map', 'value=accuracy', '--predictors', 'learning_rate,num_train_epochs', '--response', 'accuracy', '--log-lr', '--degree', '1'];
    const a = runCli(['analyze', 'optuna', url, ...args]);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /left out 3 pruned, 2 failed, 1 running, 1 waiting run\(s\) of 26 \(not complete; --all-states keeps them\)/);
    assert.match(a.stdout, /No\. Observations:\s+19/);
    // the bare URL (recognised by its tables), the optuna: prefix and the exported CSV give the same fit
    const coefs = (s: string): string => s.slice(s.indexOf('coef'), s.indexOf('Type-II'));
    const opts = { study: 'sst2-single', map: 'value=accuracy', predictors: 'learning_rate,num_train_epochs', response: 'accuracy', logLr: true, degree: '1' };
    for (const input of [url, `optuna:${url}`, csv]) {
      let text = '';
      await runAnalyze(input, input === csv ? { ...opts, study: undefined, map: undefined } : opts, (s) => { text += s; });
      assert.equal(coefs(text), coefs(a.stdout), input);
    }
  } finally {
    d.cleanup();
  }
});

test('report reads optuna URL (both forms) with the password masked in what it prints and writes', async () => {
  const loaded = await loadImportedTable(`optuna:${readerUrl}`, { study: 'sst2-seeds' });
  assert.ok(loaded);
  assert.equal(loaded.rows.length, 18);
  const d = tempDir();
  try {
    const out = join(d.path, 'report.html');
    const r = runCli(['report', 'optuna', readerUrl, '--study', 'sst2-seeds', '--log-lr', '--importance-bootstrap', '0', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^optuna:postgresql:\/\/reader:\*\*\*@127\.0\.0\.1:\d+\/optuna: 18 runs, /);
    const html = readFileSync(out, 'utf8');
    assert.ok(!r.stdout.includes(PASSWORD) && !html.includes(PASSWORD) && !readFileSync(join(d.path, 'report.md'), 'utf8').includes(PASSWORD));
  } finally {
    d.cleanup();
  }
});

test('errors: an unreachable server and a database without Optuna tables are one clear line each, the password masked', async () => {
  const port = await freePort();
  const down = `postgresql://reader:${PASSWORD}@127.0.0.1:${port}/optuna`;
  const refused = `postgresql://reader:***@127.0.0.1:${port}/optuna: cannot connect (connect ECONNREFUSED 127.0.0.1:${port})`;
  const r = runCli(['import', 'optuna', down, '--study', 'x']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `tunescope: error: ${refused}\n`);
  // the bare URL, and analyze on it, stop with the same line
  await assert.rejects(parseSourceArgs([down]), { message: refused });
  await assert.rejects(runAnalyze(down, { predictors: 'learning_rate', response: 'accuracy', degree: '1' }, () => undefined), { message: refused });
  const none = runCli(['import', 'optuna', emptyUrl, '--study', 'x']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^tunescope: error: postgres:\/\/postgres@127\.0\.0\.1:\d+\/other: not an Optuna storage \(no studies\/trials tables\)\n$/);
  await assert.rejects(parseSourceArgs([emptyUrl]), /^UserError: postgres:\/\/postgres@127\.0\.0\.1:\d+\/other: not a source tunescope imports \(.*\); name the kind, e.g. `optuna postgres:\/\/postgres@127\.0\.0\.1:\d+\/other`$/);
  const gone = `postgresql://reader:${PASSWORD}@127.0.0.1:${pg.port}/gone`;
  await assert.rejects(importSources([{ kind: 'optuna', location: gone }], { study: 'x' }), (e: Error) => {
    assert.match(e.message, /^postgresql:\/\/reader:\*\*\*@127\.0\.0\.1:\d+\/gone: cannot connect \(.+\)$/);
    assert.ok(!e.message.includes(PASSWORD));
    return true;
  });
});
