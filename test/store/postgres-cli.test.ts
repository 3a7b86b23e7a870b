import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { runCli, tempDir } from '../helpers.js';
import { startPostgres, type PostgresService } from '../services.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));
let svc: PostgresService;
let url: string;
before(async () => {
  svc = await startPostgres();
  const base = await svc.createDatabase('cli');
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE ROLE bob LOGIN PASSWORD 'hunter2pw'; GRANT ALL ON DATABASE cli TO bob`);
  await c.end();
  const u = new URL(base);
  url = `postgres://bob:hunter2pw@${u.host}/cli`;
});
after(() => svc?.stop());

test('CLI on a PostgreSQL store: study run (store: URL), status/export by URL, password never printed or stored, study copy both ways', async () => {
  const d = tempDir();
  try {
    const spec = join(d.path, 'spec.yaml');
    writeFileSync(
      spec,
      `name: pgcli
model: some/model
dataset: {name: sst2}
design: {type: grid, factors: {learning_rate: [1.0e-5, 3.0e-5], per_device_train_batch_size: [8]}}
seeds: [1, 2]
args: {num_train_epochs: 2}
execution: {workers: 2, threads_per_worker: 1}
analysis: {allow_aliased: true}
store: ${url}?schema=study_a
`,
    );
    const r = runCli(['study', 'run', spec, '--runner', FAKE]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /4\/4 done/);
    assert.equal((r.stdout + r.stderr).includes('hunter2pw'), false);
    assert.match(r.stdout, /store: postgres:\/\/bob:\*\*\*@/);
    const st = runCli(['study', 'status', `${url}?schema=study_a`, '--trials']);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /trials: 4 — done 4/);
    assert.equal(st.stdout.includes('hunter2pw'), false);
    const store = openStore(`${url}?schema=study_a`, { readonly: true });
    try {
      const stored = JSON.stringify((await store.getStudy())!.spec);
      assert.equal(stored.includes('hunter2pw'), false);
      assert.match(stored, /bob:\*\*\*@/);
    } finally {
      await store.close();
    }
    // copy to SQLite and back into another schema; the spec with --store reads the copy
    const file = join(d.path, 'copy.sqlite');
    const c1 = runCli(['study', 'copy', spec, file]);
    assert.equal(c1.status, 0, c1.stderr);
    assert.match(c1.stdout, /4 trials \(4 done\), 8 epoch rows, 4 attempts, 0 with predictions, 1 runs, 0 baseline metrics — counts verified/);
    const c2 = runCli(['study', 'copy', file, `${url}?schema=study_b`]);
    assert.equal(c2.status, 0, c2.stderr);
    assert.equal((c1.stdout + c2.stdout).includes('hunter2pw'), false);
    const e1 = runCli(['study', 'export', spec]);
    const e2 = runCli(['study', 'export', spec, '--store', `${url}?schema=study_b`]);
    assert.equal(e1.status, 0, e1.stderr);
    assert.equal(e2.stdout, e1.stdout);
  } finally {
    d.cleanup();
  }
});
