import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openSqliteStore, openStore, SQLITE_SCHEMA_VERSION, PostgresStudyStore } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { storeContract, trials as contractTrials } from './contract.js';

storeContract('sqlite', async () => {
  const d = tempDir();
  const path = join(d.path, 'sub', 'x.sqlite');
  return { open: () => openSqliteStore(path), cleanup: () => d.cleanup() };
});

test('bad store files are one clear error; openStore picks the store by location', async () => {
  const d = tempDir();
  try {
    const junk = join(d.path, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, just text long enough to have a header............');
    assert.throws(() => openSqliteStore(junk), /not a SQLite database|cannot open study store/);
    assert.throws(() => openSqliteStore(join(d.path, 'missing.sqlite'), { readonly: true }), /study store not found/);
    const pgStore = openStore('postgres://u@127.0.0.1:1/db');
    assert.ok(pgStore instanceof PostgresStudyStore);
    await pgStore.close();
    const newer = join(d.path, 'newer.sqlite');
    const db = new Database(newer);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => openSqliteStore(newer), /newer than this tunescope understands/);
  } finally {
    d.cleanup();
  }
});

test('a version-1 store (before attempt histories) reads read-only: local runs, no attempts', async () => {
  const d = tempDir();
  try {
    const path = join(d.path, 'v1.sqlite');
    const db = new Database(path);
    db.exec(`CREATE TABLE study (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, spec_json TEXT NOT NULL, spec_hash TEXT NOT NULL, created_at TEXT NOT NULL, tunescope_version TEXT NOT NULL);
      CREATE TABLE runs (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, finished_at TEXT, workers INTEGER NOT NULL, threads_per_worker INTEGER NOT NULL);
      CREATE TABLE trials (id TEXT PRIMARY KEY, ordinal INTEGER NOT NULL, kind TEXT NOT NULL, config_json TEXT NOT NULL, seed INTEGER NOT NULL, in_design INTEGER NOT NULL, is_baseline INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, run_id TEXT, worker TEXT, started_at TEXT, finished_at TEXT, error TEXT, metrics_json TEXT, train_seconds REAL, examples_per_second REAL, tokens_per_second REAL, steps INTEGER, backend TEXT, versions_json TEXT);
      CREATE TABLE epoch_metrics (trial_id TEXT NOT NULL, epoch REAL NOT NULL, step INTEGER NOT NULL, train_loss REAL, learning_rate REAL, seconds REAL, metrics_json TEXT NOT NULL, PRIMARY KEY (trial_id, epoch));
      CREATE TABLE baseline (metric TEXT PRIMARY KEY, value REAL NOT NULL, source TEXT NOT NULL);
      INSERT INTO study VALUES (1, 'old', '{}', 'h', '2026-01-01', '0.1.0');
      INSERT INTO runs VALUES ('r', 'h', 1, 't', 't', 't', 1, 1);
      INSERT INTO trials (id, ordinal, kind, config_json, seed, in_design, is_baseline, status, attempts, metrics_json) VALUES ('t1', 1, 'train', '{}', 1, 1, 0, 'done', 1, '{"accuracy":0.5}');`);
    db.pragma('user_version = 1');
    db.close();
    const s = openSqliteStore(path, { readonly: true });
    try {
      assert.equal((await s.getStudy())!.name, 'old');
      assert.equal((await s.getTrial('t1'))!.metrics!.accuracy, 0.5);
      assert.deepEqual((await s.listRuns()).map((r) => r.role), ['local']);
      assert.deepEqual(await s.attemptHistory(), []);
    } finally {
      await s.close();
    }
  } finally {
    d.cleanup();
  }
});

test('a schema-1 store is readable read-only and upgraded by the next writer', async () => {
  const d = tempDir();
  const path = join(d.path, 'old.sqlite');
  const s = openSqliteStore(path);
  await s.addTrials(contractTrials);
  await s.close();
  const raw = new Database(path);
  raw.exec('DROP TABLE predictions; ALTER TABLE trials DROP COLUMN data_seed; ALTER TABLE trials DROP COLUMN eval_seed;');
  raw.pragma('user_version = 1');
  raw.close();
  try {
    const ro = openSqliteStore(path, { readonly: true });
    assert.deepEqual((await ro.listTrials()).map((t) => t.dataSeed), [null, null, null]);
    assert.deepEqual(await ro.predictions(), []);
    await ro.close();
    const rw = openSqliteStore(path);
    await rw.addTrials([{ ...contractTrials[0]!, id: 'c', ordinal: 9, dataSeed: 3 }]);
    assert.equal((await rw.getTrial('c'))!.dataSeed, 3);
    assert.deepEqual(await rw.predictions(), []);
    await rw.close();
  } finally {
    d.cleanup();
  }
});
