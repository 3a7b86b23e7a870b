/**
 * The dashboard over a PostgreSQL store: `tunescope serve postgres://…` lists the study, streams its progress while
 * another process writes trials to the same database (the change counter, not polling of the data), serves the
 * trials, curves and analysis, and never shows the URL's password. Real PostgreSQL (test/services.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadStudySpec, prepareStudy } from '../../src/study/index.js';
import { startServer, type StudySummaryView } from '../../src/server/index.js';
import { runCliAsync, tempDir } from '../helpers.js';
import { startPostgres, type PostgresService } from '../services.js';
import { sseClient, writeFakeSpec } from './helpers.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));

let pg: PostgresService | null = null;
let skip: string | false = false;
try {
  pg = await startPostgres();
} catch (e) {
  skip = `PostgreSQL not available: ${(e as Error).message}`;
}
test.after(() => pg?.stop());

test('serve postgres://: the study list, live summaries while another process writes, trials and analysis; no password shown', { skip, timeout: 180_000 }, async () => {
  const d = tempDir();
  try {
    const db = await pg!.createDatabase('dash');
    // a password in the URL (trust auth ignores it): it must never reach a page or an API response
    const url = db.replace('postgres://postgres@', 'postgres://postgres:s3cretpw@') + '?schema=watched';
    const specPath = writeFakeSpec(d.path, { name: 'watched', fakeMs: 300, store: url });
    const spec = loadStudySpec(specPath);
    await (await prepareStudy(spec)).store.close();
    const server = await startServer({ stores: [url], port: 0, pollMs: 50 });
    try {
      const list = await (await fetch(`${server.url}/api/studies`)).text();
      assert.match(list, /watched/);
      assert.equal(list.includes('s3cretpw'), false, 'the password is not in the study list');
      const page = await (await fetch(`${server.url}/`)).text();
      assert.equal(page.includes('s3cretpw'), false);

      const client = sseClient(server.url, '/api/events?study=watched');
      assert.equal(await client.opened, 200);
      const { code, output: out } = await runCliAsync(['study', 'run', specPath, '--runner', FAKE]);
      assert.equal(code, 0, out);
      await new Promise((r) => setTimeout(r, 500));
      client.close();
      const summaries = client.events.filter((e) => e.event === 'summary').map((e) => e.data as StudySummaryView);
      assert.ok(summaries.length >= 3, `saw ${summaries.length} summaries while the study ran`);
      const dones = summaries.map((s) => s.counts.done);
      assert.ok(dones.some((n) => n > 0 && n < 12), `an intermediate count was streamed: ${dones.join(',')}`);
      assert.equal(dones.at(-1), 12);
      assert.equal(JSON.stringify(client.events).includes('s3cretpw'), false);

      const trials = (await (await fetch(`${server.url}/api/studies/watched/trials`)).json()) as { trials?: unknown[] } | unknown[];
      const rows = Array.isArray(trials) ? trials : (trials.trials ?? []);
      assert.ok(rows.length >= 12, `trials served: ${rows.length}`);
      const analysis = await fetch(`${server.url}/api/studies/watched/analysis`);
      assert.equal(analysis.status, 200);
      assert.match(await analysis.text(), /accuracy/);
    } finally {
      await server.close();
    }
  } finally {
    d.cleanup();
  }
});
