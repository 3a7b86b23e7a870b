import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { decodePredictions, encodePredictions, openSqliteStore, openStore, type NewTrial } from '../../src/store/index.js';
import { Rng, UserError } from '../../src/util/index.js';
import { tempDir } from '../helpers.js';

const trials: NewTrial[] = [
  { id: 'a', ordinal: 1, kind: 'train', config: { learning_rate: 1e-4 }, seed: 1, inDesign: true, isBaseline: false },
  { id: 'b', ordinal: 2, kind: 'train', config: { learning_rate: 3e-4 }, seed: 1, inDesign: true, isBaseline: false },
  { id: 'base', ordinal: 3, kind: 'evaluate', config: {}, seed: 1, inDesign: false, isBaseline: true },
];

test('study record, idempotent trial insert, claim order (baseline first), counts', async () => {
  const d = tempDir();
  const s = openSqliteStore(join(d.path, 'sub', 'x.sqlite'));
  try {
    assert.equal(await s.getStudy(), null);
    await s.createStudy({ name: 'x', spec: { a: 1 }, specHash: 'h', tunescopeVersion: '0' });
    await assert.rejects(s.createStudy({ name: 'x', spec: {}, specHash: 'h', tunescopeVersion: '0' }), UserError);
    assert.equal((await s.getStudy())!.specHash, 'h');
    assert.equal(await s.addTrials(trials), 3);
    assert.equal(await s.addTrials(trials), 0);
    await s.startRun({ id: 'r1', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const first = await s.claimNext('r1', 'w1');
    assert.equal(first!.id, 'base');
    assert.equal(first!.status, 'running');
    assert.equal(first!.attempts, 1);
    assert.equal((await s.claimNext('r1', 'w2'))!.id, 'a');
    assert.deepEqual(await s.counts(), { pending: 1, running: 2, done: 0, failed: 0 });
  } finally {
    await s.close();
    d.cleanup();
  }
});

test('complete writes metrics and epochs with the status in one transaction; only the holder may complete', async () => {
  const d = tempDir();
  const s = openSqliteStore(join(d.path, 'x.sqlite'));
  try {
    await s.addTrials(trials);
    await s.startRun({ id: 'r1', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const t = (await s.claimNext('r1', 'w1'))!;
    const outcome = {
      metrics: { accuracy: 0.8, f1: NaN, loss: 0.4 },
      epochs: [
        { epoch: 1, step: 4, trainLoss: 0.6, learningRate: 1e-4, seconds: 1, metrics: { accuracy: 0.7 } },
        { epoch: 2, step: 8, trainLoss: 0.5, learningRate: 0, seconds: 2, metrics: { accuracy: 0.8 } },
      ],
      trainSeconds: 3,
      backend: 'x',
      versions: { node: '20' },
    };
    assert.equal(await s.completeTrial(t.id, 'other-run', outcome), false);
    assert.equal((await s.getTrial(t.id))!.status, 'running');
    assert.equal(await s.completeTrial(t.id, 'r1', outcome), true);
    const done = (await s.getTrial(t.id))!;
    assert.equal(done.status, 'done');
    assert.equal(done.metrics!.accuracy, 0.8);
    assert.ok(Number.isNaN(done.metrics!.f1));
    assert.deepEqual(done.versions, { node: '20' });
    assert.ok(done.finishedAt);
    assert.deepEqual((await s.epochMetrics(t.id)).map((e) => [e.epoch, e.metrics.accuracy]), [[1, 0.7], [2, 0.8]]);
    // a second completion of a done trial is refused (never redone or duplicated)
    assert.equal(await s.completeTrial(t.id, 'r1', outcome), false);
    assert.equal((await s.epochMetrics(t.id)).length, 2);
  } finally {
    await s.close();
    d.cleanup();
  }
});

test('fail, reset failed, release, and recovery of trials held by dead runs', async () => {
  const d = tempDir();
  const s = openSqliteStore(join(d.path, 'x.sqlite'));
  try {
    await s.addTrials(trials);
    await s.startRun({ id: 'dead', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    await s.startRun({ id: 'alive', host: 'h', pid: 2, workers: 1, threadsPerWorker: 1 });
    const t1 = (await s.claimNext('dead', 'w1'))!;
    const t2 = (await s.claimNext('alive', 'w1'))!;
    const t3 = (await s.claimNext('alive', 'w2'))!;
    assert.equal(await s.failTrial(t3.id, 'alive', 'boom'), true);
    assert.equal((await s.getTrial(t3.id))!.error, 'boom');
    const recovered = await s.recoverStale((r) => r.id === 'alive');
    assert.deepEqual(recovered, [t1.id]);
    assert.equal((await s.getTrial(t1.id))!.status, 'pending');
    assert.equal((await s.getTrial(t2.id))!.status, 'running');
    assert.equal(await s.releaseTrial(t2.id, 'alive'), true);
    assert.equal(await s.resetFailed(), 1);
    assert.deepEqual(await s.counts(), { pending: 3, running: 0, done: 0, failed: 0 });
    // attempts are kept across retries
    const again = (await s.claimNext('alive', 'w1'))!;
    assert.equal(again.id, t1.id);
    assert.equal(again.attempts, 2);
  } finally {
    await s.close();
    d.cleanup();
  }
});

test('two connections claiming at once never get the same trial', async () => {
  const d = tempDir();
  const path = join(d.path, 'x.sqlite');
  const a = openSqliteStore(path);
  const b = openSqliteStore(path);
  try {
    const many: NewTrial[] = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, ordinal: i, kind: 'train', config: { x: i }, seed: 0, inDesign: true, isBaseline: false }));
    await a.addTrials(many);
    const got: string[] = [];
    for (;;) {
      const [x, y] = await Promise.all([a.claimNext('ra', 'w'), b.claimNext('rb', 'w')]);
      if (x) got.push(x.id);
      if (y) got.push(y.id);
      if (!x && !y) break;
    }
    assert.equal(got.length, 40);
    assert.equal(new Set(got).size, 40);
  } finally {
    await a.close();
    await b.close();
    d.cleanup();
  }
});

test('bad store files are one clear error', async () => {
  const d = tempDir();
  try {
    const junk = join(d.path, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, just text long enough to have a header............');
    assert.throws(() => openSqliteStore(junk), /not a SQLite database|cannot open study store/);
    assert.throws(() => openSqliteStore(join(d.path, 'missing.sqlite'), { readonly: true }), /study store not found/);
    assert.throws(() => openStore('postgres://u@h/db'), /PostgreSQL study stores are not implemented yet/);
  } finally {
    d.cleanup();
  }
});

test('data_seed, eval_seed and per-example predictions round-trip; bytes per trial stay small', async () => {
  const d = tempDir();
  const s = openSqliteStore(join(d.path, 'x.sqlite'));
  try {
    await s.addTrials([{ ...trials[0]!, dataSeed: 7, evalSeed: 43 }, trials[1]!]);
    assert.deepEqual((await s.listTrials()).map((t) => [t.dataSeed, t.evalSeed]), [[7, 43], [null, null]]);
    await s.startRun({ id: 'r1', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    const t = (await s.claimNext('r1', 'w1'))!;
    const n = 872;
    const rng = new Rng(1);
    const probabilities = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      probabilities[2 * i] = Math.fround(rng.uniform());
      probabilities[2 * i + 1] = Math.fround(1 - probabilities[2 * i]!);
    }
    const predictions = {
      numLabels: 2,
      index: Uint32Array.from({ length: n }, (_, i) => i),
      label: Int32Array.from({ length: n }, (_, i) => i % 2),
      predicted: Int32Array.from({ length: n }, (_, i) => (probabilities[2 * i + 1]! > probabilities[2 * i]! ? 1 : 0)),
      probabilities,
    };
    assert.equal(await s.completeTrial(t.id, 'r1', { metrics: { accuracy: 0.5 }, epochs: [], predictions }), true);
    const [got] = await s.predictions(t.id);
    assert.deepEqual(got!.predictions, predictions);
    assert.deepEqual((await s.predictions()).map((p) => p.trialId), [t.id]);
    const bytes = encodePredictions(predictions).length;
    assert.ok(bytes < 10 * n, `${bytes} bytes for ${n} examples × 2 labels`);
    // a non-contiguous index is kept
    const sparse = { ...predictions, index: Uint32Array.from({ length: n }, (_, i) => 2 * i) };
    assert.deepEqual(decodePredictions(encodePredictions(sparse)), sparse);
  } finally {
    await s.close();
    d.cleanup();
  }
});

test('a schema-1 store is readable read-only and upgraded by the next writer', async () => {
  const d = tempDir();
  const path = join(d.path, 'old.sqlite');
  const s = openSqliteStore(path);
  await s.addTrials(trials);
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
    await rw.addTrials([{ ...trials[0]!, id: 'c', ordinal: 9, dataSeed: 3 }]);
    assert.equal((await rw.getTrial('c'))!.dataSeed, 3);
    assert.deepEqual(await rw.predictions(), []);
    await rw.close();
  } finally {
    d.cleanup();
  }
});
