/**
 * Training curves come from the store: a study run without the dashboard (here: by another connection) has per-step
 * loss and learning rate for every trial afterwards, and a dashboard listening while it runs is told of new steps
 * as the runner writes them (in batches), with no in-process link to the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStudySpec, prepareStudy, runStudy } from '../../src/study/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { startServer } from '../../src/server/index.js';
import { tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from '../study/fake-runner.js';
import { sseClient, writeFakeSpec } from './helpers.js';

interface CurvesAnswer {
  trials: string[];
  charts: { loss: { data: { values: { trial: string; step: number; loss: number; source: string }[] } } | null; learningRate: { data: { values: { learning_rate: number; source: string }[] } } | null };
}

test('curves of a study run without --serve: per-step points from the store for every trial; steps pushed live from the store', async () => {
  const d = tempDir();
  try {
    // 4 logged steps per trial, 0.5 s apart: the runner's batched writes land while the trial runs
    const spec = loadStudySpec(writeFakeSpec(d.path, { name: 'curves', fakeMs: 2000 }));
    await (await prepareStudy(spec)).store.close();
    const server = await startServer({ stores: [spec.store], port: 0, pollMs: 50 });
    const live = sseClient(server.url, '/api/events?study=curves&steps=1');
    try {
      assert.equal(await live.opened, 200);
      const summary = await runStudy(spec, { runner: fakeRunner, quiet: true });
      assert.equal(summary.counts.done, 12);
      await new Promise((r) => setTimeout(r, 300));
      const stepEvents = live.events.filter((e) => e.event === 'step').map((e) => e.data as { trialId: string; log: { step: number } });
      const live4 = new Set(stepEvents.filter((e) => e.log.step < 4).map((e) => e.trialId));
      assert.ok(live4.size >= 2, `steps of running trials were pushed before the trials ended (${JSON.stringify(stepEvents)})`);

      const store = openSqliteStore(spec.store, { readonly: true });
      const trials = await store.listTrials();
      assert.equal((await store.stepLogs()).length, 4 * trials.length);
      await store.close();
      for (const t of trials.slice(0, 3)) {
        const r = (await (await fetch(`${server.url}/api/studies/curves/curves?trials=${t.id}`)).json()) as CurvesAnswer;
        assert.deepEqual(r.trials, [t.id]);
        const loss = r.charts.loss!.data.values;
        assert.deepEqual(loss.map((p) => [p.step, p.source]), [[1, 'step'], [2, 'step'], [3, 'step'], [4, 'step']]);
        assert.deepEqual(loss.map((p) => Math.round(p.loss * 100)), [69, 68, 67, 66]);
        assert.ok(r.charts.learningRate!.data.values.every((p) => p.source === 'step' && p.learning_rate === t.config.learning_rate));
        const one = (await (await fetch(`${server.url}/api/studies/curves/trials/${t.id}`)).json()) as { steps: { step: number }[] };
        assert.deepEqual(one.steps.map((x) => x.step), [1, 2, 3, 4]);
      }
    } finally {
      live.close();
      await server.close();
    }
  } finally {
    d.cleanup();
  }
});

test('the trials API carries data_seed (the trials table shows it as a column when the study has data seeds)', async () => {
  const d = tempDir();
  try {
    const path = `${d.path}/ds.sqlite`;
    const s = openSqliteStore(path);
    await s.createStudy({ name: 'ds', spec: { name: 'ds', design: { type: 'grid', factors: [{ name: 'learning_rate' }] }, seeds: [1], data_seeds: [7, 8] }, specHash: 'x', tunescopeVersion: '0' });
    await s.addTrials([7, 8].map((ds, i) => ({ id: `t${ds}`, ordinal: i, kind: 'train' as const, config: { learning_rate: 1e-5 }, seed: 1, dataSeed: ds, inDesign: true, isBaseline: false })));
    await s.close();
    const server = await startServer({ stores: [path], port: 0 });
    try {
      const r = (await (await fetch(`${server.url}/api/studies/ds/trials`)).json()) as { trials: { id: string; dataSeed: number | null }[] };
      assert.deepEqual(r.trials.map((t) => [t.id, t.dataSeed]), [['t7', 7], ['t8', 8]]);
      const js = await (await fetch(`${server.url}/assets/app.js`)).text();
      assert.match(js, /key: 'dataSeed', name: 'data_seed'/);
    } finally {
      await server.close();
    }
  } finally {
    d.cleanup();
  }
});
