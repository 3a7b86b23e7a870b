/**
 * `study extend` on a PostgreSQL store (started by the test on loopback): the block is recorded through the store's
 * meta, `study run` runs it, the analysis fits the block effect; an interrupted insert is completed by the next run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { analyzeStudy, extendStudy, loadStudySpec, readBlocks, runStudy } from '../../src/study/index.js';
import { openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { startPostgres, type PostgresService } from '../services.js';
import { runTrial as fakeRunner } from './fake-runner.js';

let svc: PostgresService;
let url: string;
before(async () => {
  svc = await startPostgres();
  url = await svc.createDatabase('ext');
});
after(() => svc?.stop());

test('extend on PostgreSQL: recorded block, resumed insert, block effect in the fit', async () => {
  const d = tempDir();
  try {
    const p = join(d.path, 'spec.yaml');
    writeFileSync(
      p,
      `name: pgext
model: some/model
dataset: {name: sst2}
design:
  type: ccd
  variant: face_centered
  center_points: 1
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3, scale: log}
    per_device_train_batch_size: {min: 8, max: 32, scale: log, levels: [8, 16, 32]}
seeds: [1, 2]
args: {num_train_epochs: 1}
execution: {workers: 1, threads_per_worker: 1}
store: ${url}
analysis: {degree: 2, responses: [accuracy]}
`,
    );
    const spec = loadStudySpec(p);
    await runStudy(spec, { runner: fakeRunner, quiet: true });
    const r = await extendStudy(spec, { strategy: 'around_optimum', step: 0.3 });
    assert.equal(r.block.block, 2);
    assert.equal(r.added, 9 * 2);
    // a process killed after the record, before the trials: remove them, the next run inserts the same ids
    const ids = r.block.trials.map((t) => t.id);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const schema = (await c.query(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'trials' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)).rows[0]!.table_schema as string;
    await c.query(`DELETE FROM "${schema}".trials WHERE id = ANY($1)`, [ids]);
    await c.end();
    const s1 = await runStudy(spec, { runner: fakeRunner, quiet: true });
    assert.equal(s1.ranNow, ids.length);
    const store = openStore(url, { readonly: true });
    try {
      const trials = await store.listTrials();
      assert.equal(trials.length, 9 * 2 + ids.length);
      assert.ok(trials.every((t) => t.status === 'done'));
      assert.deepEqual(trials.filter((t) => ids.includes(t.id)).length, ids.length);
      assert.equal((await readBlocks(store))[0]!.strategy, 'around_optimum');
      const a = await analyzeStudy(store, { frame: 'absolute' });
      assert.ok(a.fits[0]!.terms.includes('C(block)[T.2]'));
    } finally {
      await store.close();
    }
    const again = await extendStudy(spec, { strategy: 'around_optimum', step: 0.3 });
    assert.equal(again.existing, false, 'the trials changed (block 2 finished): a new block from the new fit');
    assert.equal(again.block.block, 3);
  } finally {
    d.cleanup();
  }
});
