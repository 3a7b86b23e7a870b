/**
 * The dashboard beside a running writer: a study runs in another process (`study run` with the fake runner)
 * on the same SQLite file while 20 event-stream clients listen and re-read the trials and the analysis after
 * every change. The writer must finish with no SQLITE_BUSY / "database is locked", and with the same results
 * as the same study run alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadStudySpec, prepareStudy, runStudy, studyRows } from '../../src/study/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { startServer, type StudySummaryView } from '../../src/server/index.js';
import { runCliAsync, tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from '../study/fake-runner.js';
import { sseClient, writeFakeSpec } from './helpers.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));

async function resultsOf(path: string): Promise<Record<string, unknown>[]> {
  const store = openSqliteStore(path, { readonly: true });
  try {
    // timings differ between runs; everything else must not
    return (await studyRows(store, { all: true })).rows.map(({ train_seconds: _t, examples_per_second: _e, ...r }) => r).sort((a, b) => String(a.trial_id).localeCompare(String(b.trial_id)));
  } finally {
    await store.close();
  }
}

test('20 event-stream clients beside a writing study: no SQLITE_BUSY in the writer, the same results', async () => {
  const d = tempDir();
  try {
    const ref = loadStudySpec(writeFakeSpec(d.path, { name: 'alone' }));
    await runStudy(ref, { runner: fakeRunner, quiet: true });
    const specPath = writeFakeSpec(d.path, { name: 'watched', fakeMs: 400 });
    const spec = loadStudySpec(specPath);
    (await prepareStudy(spec)).store.close();
    const server = await startServer({ stores: [spec.store], port: 0, pollMs: 50 });
    const reads: Promise<unknown>[] = [];
    let readErrors = 0;
    const read = (p: string) => {
      reads.push(fetch(server.url + p).then(async (r) => {
        if (r.status !== 200) readErrors++;
        await r.arrayBuffer();
      }));
    };
    const clients = Array.from({ length: 20 }, (_, i) =>
      sseClient(server.url, '/api/events?study=watched', (event) => {
        if (event === 'trials') read('/api/studies/watched/trials');
        if (event === 'analysis' && i < 5) read('/api/studies/watched/analysis');
      }),
    );
    try {
      assert.deepEqual(await Promise.all(clients.map((c) => c.opened)), Array(20).fill(200));
      assert.equal(server.clients(), 20);
      const { code, output: out } = await runCliAsync(['study', 'run', specPath, '--runner', FAKE]);
      assert.equal(code, 0, out);
      assert.doesNotMatch(out, /SQLITE_BUSY|database is locked/i);
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all(reads);
      assert.equal(readErrors, 0);
      for (const c of clients) {
        const summaries = c.events.filter((e) => e.event === 'summary').map((e) => e.data as StudySummaryView);
        assert.ok(summaries.length >= 3, `a client saw ${summaries.length} summaries`);
        assert.equal(summaries.at(-1)!.counts.done, 12, 'every client saw the study finish');
        assert.ok(c.events.some((e) => e.event === 'trials'));
      }
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
    assert.deepEqual(await resultsOf(spec.store), await resultsOf(ref.store));
  } finally {
    d.cleanup();
  }
});
