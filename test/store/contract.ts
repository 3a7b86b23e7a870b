/**
 * The StudyStore contract, run against every store (SQLite and PostgreSQL): the same calls give the same answers.
 * `fixture()` gives a fresh, empty store location and a way to open more connections to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePredictions, encodePredictions, type NewTrial, type StudyStore } from '../../src/store/index.js';
import { Rng, UserError } from '../../src/util/index.js';

export interface StoreFixture {
  open(): StudyStore;
  cleanup(): Promise<void> | void;
}

export const trials: NewTrial[] = [
  { id: 'a', ordinal: 1, kind: 'train', config: { learning_rate: 1e-4 }, seed: 1, inDesign: true, isBaseline: false },
  { id: 'b', ordinal: 2, kind: 'train', config: { learning_rate: 3e-4 }, seed: 4294967295, inDesign: true, isBaseline: false },
  { id: 'base', ordinal: 3, kind: 'evaluate', config: {}, seed: 1, inDesign: false, isBaseline: true },
];

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

const run = (id: string, extra: { role?: 'local' | 'worker'; name?: string } = {}) => ({ id, host: 'h', pid: 1, workers: 1, threadsPerWorker: 1, ...extra });

export function storeContract(kind: string, fixture: () => Promise<StoreFixture>): void {
  const withStore = async (fn: (s: StudyStore, f: StoreFixture) => Promise<void>) => {
    const f = await fixture();
    const s = f.open();
    try {
      await fn(s, f);
    } finally {
      await s.close();
      await f.cleanup();
    }
  };

  test(`${kind}: study record, idempotent trial insert, claim order (baseline first), counts`, () =>
    withStore(async (s) => {
      assert.equal(await s.getStudy(), null);
      await s.createStudy({ name: 'x', spec: { a: 1 }, specHash: 'h', tunescopeVersion: '0' });
      await assert.rejects(s.createStudy({ name: 'x', spec: {}, specHash: 'h', tunescopeVersion: '0' }), UserError);
      assert.equal((await s.getStudy())!.specHash, 'h');
      assert.deepEqual((await s.getStudy())!.spec, { a: 1 });
      assert.equal(await s.addTrials(trials), 3);
      assert.equal(await s.addTrials(trials), 0);
      await s.startRun(run('r1'));
      const first = await s.claimNext('r1', 'w1');
      assert.equal(first!.id, 'base');
      assert.equal(first!.status, 'running');
      assert.equal(first!.attempts, 1);
      assert.equal(first!.isBaseline, true);
      const second = (await s.claimNext('r1', 'w2'))!;
      assert.equal(second.id, 'a');
      assert.deepEqual(second.config, { learning_rate: 1e-4 });
      assert.equal((await s.getTrial('b'))!.seed, 4294967295);
      assert.deepEqual(await s.counts(), { pending: 1, running: 2, done: 0, failed: 0 });
      assert.deepEqual((await s.listTrials({ status: ['pending', 'done'] })).map((t) => t.id), ['b']);
      assert.deepEqual((await s.listTrials({ inDesign: false })).map((t) => t.id), ['base']);
      assert.deepEqual((await s.listTrials({ isBaseline: false, status: 'running' })).map((t) => t.id), ['a']);
    }));

  test(`${kind}: complete writes metrics and epochs with the status in one transaction; only the holder may complete`, () =>
    withStore(async (s) => {
      await s.addTrials(trials);
      await s.startRun(run('r1'));
      const t = (await s.claimNext('r1', 'w1'))!;
      assert.equal(await s.completeTrial(t.id, 'other-run', outcome), false);
      assert.equal((await s.getTrial(t.id))!.status, 'running');
      assert.equal(await s.completeTrial(t.id, 'r1', outcome), true);
      const done = (await s.getTrial(t.id))!;
      assert.equal(done.status, 'done');
      assert.equal(done.metrics!.accuracy, 0.8);
      assert.ok(Number.isNaN(done.metrics!.f1));
      assert.deepEqual(done.versions, { node: '20' });
      assert.equal(done.trainSeconds, 3);
      assert.ok(done.finishedAt);
      assert.deepEqual((await s.epochMetrics(t.id)).map((e) => [e.epoch, e.metrics.accuracy, e.trainLoss]), [[1, 0.7, 0.6], [2, 0.8, 0.5]]);
      // a second completion of a done trial is refused (never redone or duplicated) and kept in the history
      assert.equal(await s.completeTrial(t.id, 'r1', { ...outcome, metrics: { accuracy: 0.1 } }), false);
      assert.equal((await s.getTrial(t.id))!.metrics!.accuracy, 0.8);
      assert.equal((await s.epochMetrics(t.id)).length, 2);
      assert.deepEqual((await s.attemptHistory(t.id)).map((a) => [a.attempt, a.runId, a.outcome]), [[1, 'r1', 'done'], [1, 'r1', 'duplicate']]);
    }));

  test(`${kind}: fail, reset failed, release, and recovery of trials held by dead runs`, () =>
    withStore(async (s) => {
      await s.addTrials(trials);
      await s.startRun(run('dead'));
      await s.startRun(run('alive'));
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
      assert.deepEqual((await s.attemptHistory(t1.id)).map((a) => [a.attempt, a.runId, a.outcome]), [[1, 'dead', 'lost'], [2, 'alive', 'running']]);
      assert.deepEqual((await s.attemptHistory(t3.id)).map((a) => [a.outcome, a.error]), [['failed', 'boom']]);
      assert.deepEqual((await s.attemptHistory(t2.id)).map((a) => a.outcome), ['released']);
    }));

  test(`${kind}: claims of a named trial carry the attempt; a stale attempt cannot overwrite the newer one`, () =>
    withStore(async (s) => {
      await s.addTrials(trials);
      await s.startRun(run('wa', { role: 'worker', name: 'A' }));
      await s.startRun(run('wb', { role: 'worker', name: 'B' }));
      const a1 = (await s.claimTrial('b', 'wa', 'A'))!;
      assert.equal(a1.attempts, 1);
      // without takeOver a trial running elsewhere is not taken
      assert.equal(await s.claimTrial('b', 'wb', 'B'), null);
      // the queue handed the stalled job to B: a new attempt
      const b2 = (await s.claimTrial('b', 'wb', 'B', { takeOver: true }))!;
      assert.equal(b2.attempts, 2);
      assert.equal(b2.worker, 'B');
      // A's late result is refused and recorded as stale; B's stands
      assert.equal(await s.completeTrial('b', { runId: 'wa', attempt: 1 }, { ...outcome, metrics: { accuracy: 0.1 } }), false);
      assert.equal(await s.failTrial('b', { runId: 'wa', attempt: 1 }, 'late'), false);
      assert.equal((await s.getTrial('b'))!.status, 'running');
      assert.equal(await s.completeTrial('b', { runId: 'wb', attempt: 1 }, outcome), false, 'wrong attempt number');
      assert.equal(await s.completeTrial('b', { runId: 'wb', attempt: 2 }, outcome), true);
      assert.equal((await s.getTrial('b'))!.metrics!.accuracy, 0.8);
      // a second delivery of the done trial's job: nothing to run, recorded as a duplicate
      assert.equal(await s.claimTrial('b', 'wa', 'A', { takeOver: true }), null);
      assert.deepEqual(
        (await s.attemptHistory('b')).map((h) => [h.attempt, h.runId, h.outcome]),
        [[1, 'wa', 'stale'], [2, 'wb', 'done'], [2, 'wa', 'duplicate']],
      );
      assert.equal((await s.epochMetrics('b')).length, 2);
      // a failure with attempts left goes back to pending with its error; the last one is final
      const r1 = (await s.claimTrial('a', 'wa', 'A'))!;
      assert.equal(await s.failTrial('a', { runId: 'wa', attempt: r1.attempts }, 'oom', { retry: true }), true);
      assert.equal((await s.getTrial('a'))!.status, 'pending');
      assert.equal((await s.getTrial('a'))!.error, 'oom');
      const r2 = (await s.claimTrial('a', 'wb', 'B'))!;
      assert.equal(await s.failTrial('a', { runId: 'wb', attempt: r2.attempts }, 'oom again'), true);
      assert.equal((await s.getTrial('a'))!.status, 'failed');
      assert.equal(await s.claimTrial('a', 'wa', 'A', { takeOver: true }), null, 'a failed trial is not run again without --retry-failed');
      const runs = await s.listRuns();
      assert.deepEqual(runs.map((r) => [r.role, r.name]), [['worker', 'A'], ['worker', 'B']]);
    }));

  test(`${kind}: data_seed, eval_seed and per-example predictions round-trip; bytes per trial stay small`, () =>
    withStore(async (s) => {
      await s.addTrials([{ ...trials[0]!, dataSeed: 7, evalSeed: 43 }, trials[1]!]);
      assert.deepEqual((await s.listTrials()).map((t) => [t.dataSeed, t.evalSeed]), [[7, 43], [null, null]]);
      await s.startRun(run('r1'));
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
    }));

  test(`${kind}: checkpoints only for the holder, study meta, and a change token that moves with another connection's writes`, async () => {
    const f = await fixture();
    const a = f.open();
    const b = f.open();
    try {
      await a.createStudy({ name: 'x', spec: {}, specHash: 'h', tunescopeVersion: '0' });
      await a.addTrials(trials);
      await a.startRun(run('r1'));
      const t = (await a.claimNext('r1', 'w1'))!;
      assert.equal(await a.setCheckpoint(t.id, 'r1', { location: '/c/checkpoint-2', step: 2 }), true);
      assert.equal(await a.setCheckpoint(t.id, 'other', { location: '/c/checkpoint-9', step: 9 }), false, 'a run that does not hold the trial');
      assert.equal(await a.setCheckpoint('b', 'r1', { location: '/c/x', step: 1 }), false, 'a pending trial');
      assert.equal(await a.setCheckpoint(t.id, 'r1', { location: '/c/checkpoint-4', step: 4 }), true);
      const ck = (await b.getCheckpoint(t.id))!;
      assert.deepEqual([ck.trialId, ck.location, ck.step], [t.id, '/c/checkpoint-4', 4]);
      assert.deepEqual((await b.listCheckpoints()).map((c) => c.trialId), [t.id]);
      await a.clearCheckpoint(t.id);
      assert.equal(await b.getCheckpoint(t.id), null);

      assert.equal(await b.getMeta('dataset_fingerprint'), null);
      await a.setMeta('dataset_fingerprint', { files: [{ split: 'train', bytes: 10 }] });
      await a.setMeta('dataset_fingerprint', { files: [{ split: 'train', bytes: 11 }] });
      assert.deepEqual(await b.getMeta('dataset_fingerprint'), { files: [{ split: 'train', bytes: 11 }] });

      assert.ok(b.changeToken, `${kind} has a change token`);
      const before = await b.changeToken!();
      assert.equal(await b.changeToken!(), before, 'no writes: same token');
      await a.completeTrial(t.id, 'r1', outcome);
      assert.notEqual(await b.changeToken!(), before, "another connection's commit moves the token");
    } finally {
      await a.close();
      await b.close();
      await f.cleanup();
    }
  });

  test(`${kind}: step logs: only the holder writes; a new attempt replaces the old one's steps from its first step (one curve per trial)`, async () => {
    const f = await fixture();
    const a = f.open();
    const b = f.open();
    try {
      await a.createStudy({ name: 'x', spec: {}, specHash: 'h', tunescopeVersion: '0' });
      await a.addTrials(trials);
      await a.startRun(run('r1'));
      await a.startRun(run('r2'));
      const t = (await a.claimTrial('a', 'r1', 'w1'))!;
      const steps = (from: number, to: number, scale = 1) =>
        Array.from({ length: to - from + 1 }, (_, i) => ({ step: from + i, epoch: (from + i) / 10, loss: scale / (from + i), learningRate: 1e-4 * (1 - (from + i) / 10) }));
      const before = await b.changeToken!();
      assert.equal(await a.addStepLogs('a', { runId: 'r1', attempt: t.attempts }, steps(1, 4)), true);
      assert.notEqual(await b.changeToken!(), before, 'a step write moves the change token (live curves)');
      assert.equal(await a.addStepLogs('a', 'r1', steps(5, 8)), true);
      assert.equal(await a.addStepLogs('a', 'r2', steps(9, 9)), false, 'a run that does not hold the trial');
      assert.equal(await a.addStepLogs('b', 'r1', steps(1, 1)), false, 'a pending trial');
      assert.equal(await a.addStepLogs('a', 'r1', [{ step: 9, epoch: 0.9, loss: NaN, learningRate: 0 }]), true);
      const got = await b.stepLogs('a');
      assert.deepEqual(got.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(got[1], { trialId: 'a', step: 2, epoch: 0.2, loss: 0.5, learningRate: 1e-4 * (1 - 2 / 10), attempt: 1 });
      assert.equal(got[8]!.loss, null, 'a non-finite loss is stored as null');
      assert.deepEqual((await b.stepLogs('a', { afterStep: 6 })).map((r) => r.step), [7, 8, 9]);

      // the worker dies; the trial is taken over by r2 and resumed from a checkpoint at step 4: steps 1-4 stay, 5-9 are replaced
      const t2 = (await a.claimTrial('a', 'r2', 'w1', { takeOver: true }))!;
      assert.equal(t2.attempts, 2);
      assert.equal(await a.addStepLogs('a', { runId: 'r1', attempt: 1 }, steps(5, 9, 1)), false, 'the superseded attempt writes nothing');
      assert.equal(await a.addStepLogs('a', { runId: 'r2', attempt: 2 }, steps(5, 6, 2)), true);
      const resumed = await b.stepLogs('a');
      assert.deepEqual(resumed.map((r) => [r.step, r.attempt]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 2], [6, 2]]);
      assert.equal(resumed[4]!.loss, 2 / 5);
      // then it is retried from scratch (attempt 3 starts at step 1): nothing of the earlier attempts is left
      await a.failTrial('a', { runId: 'r2', attempt: 2 }, 'boom', { retry: true });
      const t3 = (await a.claimTrial('a', 'r1', 'w1'))!;
      assert.equal(await a.addStepLogs('a', { runId: 'r1', attempt: t3.attempts }, steps(1, 2, 3)), true);
      assert.deepEqual((await b.stepLogs('a')).map((r) => [r.step, r.attempt, r.loss]), [[1, 3, 3], [2, 3, 1.5]]);
      assert.equal(await a.addStepLogs('a', 'r1', []), true, 'an empty batch is a no-op');
      await a.completeTrial('a', 'r1', outcome);
      assert.equal(await a.addStepLogs('a', 'r1', steps(3, 3)), false, 'a done trial takes no more steps');
      assert.deepEqual((await b.stepLogs()).map((r) => r.trialId + r.step), ['a1', 'a2']);
    } finally {
      await a.close();
      await b.close();
      await f.cleanup();
    }
  });

  test(`${kind}: two connections claiming at once never get the same trial`, async () => {
    const f = await fixture();
    const a = f.open();
    const b = f.open();
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
      // and named claims racing for one trial: exactly one wins
      await a.addTrials([{ id: 'race', ordinal: 99, kind: 'train', config: {}, seed: 0, inDesign: true, isBaseline: false }]);
      const [x, y] = await Promise.all([a.claimTrial('race', 'ra', 'w'), b.claimTrial('race', 'rb', 'w')]);
      assert.equal([x, y].filter(Boolean).length, 1);
    } finally {
      await a.close();
      await b.close();
      await f.cleanup();
    }
  });

  test(`${kind}: dump and restore into an empty store give the same study`, async () => {
    const f = await fixture();
    const g = await fixture();
    const s = f.open();
    const t = g.open();
    try {
      await s.createStudy({ name: 'x', spec: { a: [1, 2] }, specHash: 'h', tunescopeVersion: '0' });
      await s.addTrials(trials);
      await s.startRun(run('r1'));
      const c = (await s.claimNext('r1', 'w1'))!;
      await s.addStepLogs(c.id, 'r1', [{ step: 1, epoch: 0.5, loss: 0.7, learningRate: 1e-4 }, { step: 2, epoch: 1, loss: null, learningRate: 5e-5 }]);
      const predictions = { numLabels: 2, index: Uint32Array.of(0, 1), label: Int32Array.of(0, 1), predicted: Int32Array.of(1, 1), probabilities: Float32Array.of(0.25, 0.75, 0.5, 0.5) };
      await s.completeTrial(c.id, 'r1', { ...outcome, predictions });
      await s.claimNext('r1', 'w1');
      await s.setBaseline({ metrics: { accuracy: 0.9, loss: 0.3 }, source: 'spec' });
      const running = (await s.claimNext('r1', 'w1'))!;
      await s.setCheckpoint(running.id, 'r1', { location: '/c/checkpoint-3', step: 3 });
      await s.setMeta('dataset_fingerprint', { files: [] });
      const d = await s.dump();
      assert.equal(d.checkpoints.length, 1);
      assert.equal(d.steps.length, 2);
      assert.deepEqual(d.meta, { dataset_fingerprint: { files: [] } });
      await t.restore(d);
      const d2 = await t.dump();
      assert.deepEqual(JSON.parse(JSON.stringify(d2, (_k, v: unknown) => (Number.isNaN(v) ? 'NaN' : v))), JSON.parse(JSON.stringify(d, (_k, v: unknown) => (Number.isNaN(v) ? 'NaN' : v))));
      assert.deepEqual((await t.predictions(c.id))[0]!.predictions, predictions);
      await assert.rejects(t.restore(d), /already holds a study/);
    } finally {
      await s.close();
      await t.close();
      await f.cleanup();
      await g.cleanup();
    }
  });
}
