/**
 * Issue 17 (low): runs that died are recognised on the same host too. A `study run` killed with SIGKILL leaves its
 * trials `running`; when its pid has since been given to another process, only the run's stale heartbeat tells it
 * is dead. And of two concurrent runs, the survivor takes over the trials of the one that died before it exits.
 * Real child processes, real SIGKILL, the real SQLite store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.js';
import { runCli, spawnCli, tempDir } from '../helpers.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeSpec(dir: string, fakeMs: number): string {
  const p = join(dir, 'spec.yaml');
  writeFileSync(
    p,
    `name: dead
model: some/model
dataset: {name: sst2}
design: {type: grid, factors: {learning_rate: [1.0e-5, 3.0e-5, 1.0e-4]}}
seeds: [1, 2]
args: {num_train_epochs: 1, fake_ms: ${fakeMs}}
execution: {workers: 1, threads_per_worker: 1}
store: ./s.sqlite
analysis: {allow_aliased: true}
`,
  );
  return p;
}

const startRun = (spec: string) => spawnCli(['study', 'run', spec, '--runner', FAKE]);

/** Poll the store until `pred` holds for its running trials (or give up after 120 s). */
async function waitFor(db: string, pred: (running: Array<{ runId: string | null }>) => boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    await sleep(100);
    try {
      const s = openSqliteStore(db, { readonly: true });
      try {
        if (pred(await s.listTrials({ status: 'running' }))) return;
      } finally {
        await s.close();
      }
    } catch {
      /* the store is not there yet */
    }
  }
  throw new Error('timed out waiting for the store');
}

test('a killed run whose pid now belongs to another process: status says dead, the next run recovers its trials', async () => {
  const d = tempDir();
  const other = spawn('sleep', ['300'], { stdio: 'ignore' });
  try {
    const spec = writeSpec(d.path, 2000);
    const db = join(d.path, 's.sqlite');
    const a = startRun(spec);
    await waitFor(db, (running) => running.length === 1);
    a.child.kill('SIGKILL');
    assert.equal((await a.exited).signal, 'SIGKILL');
    // the dead pid: status says so at once
    const st = runCli(['study', 'status', spec]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /runs: 1 \(0 running; 1 dead: pid \d+ on .*pid \d+ is gone \(killed or crashed\)\)/);
    // the pid is reused by a live process (`sleep`) and the run's last heartbeat is 10 minutes old
    const raw = new Database(db);
    raw.prepare('UPDATE runs SET pid = ?, heartbeat_at = ?').run(other.pid, new Date(Date.now() - 600_000).toISOString());
    raw.close();
    const st2 = runCli(['study', 'status', spec]);
    assert.match(st2.stdout, new RegExp(`1 dead: pid ${other.pid} on .*no heartbeat for 6\\d\\d s`), st2.stdout);
    assert.match(st2.stdout, /still marked running by a dead run go back to pending/);
    // the rerun finishes everything, the stuck trial included (its trials need not be slow: FAKE_MS)
    const r = runCli(['study', 'run', spec, '--runner', FAKE], { env: { FAKE_MS: '20' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /1 trial\(s\) left running by a stopped process start again/);
    const s = openSqliteStore(db, { readonly: true });
    try {
      const trials = await s.listTrials();
      assert.equal(trials.length, 6);
      assert.ok(trials.every((t) => t.status === 'done'), JSON.stringify(await s.counts()));
    } finally {
      await s.close();
    }
    assert.equal(other.exitCode, null, 'the process that got the pid was left alone');
  } finally {
    other.kill('SIGKILL');
    d.cleanup();
  }
});

test('two concurrent runs, one killed: the survivor takes over its running trial and ends with every trial done', async () => {
  const d = tempDir();
  try {
    // long enough trials that B (started once A runs its first) gets one before A has done them all, even on a busy machine
    const spec = writeSpec(d.path, 4000);
    const db = join(d.path, 's.sqlite');
    const a = startRun(spec);
    await waitFor(db, (running) => running.length === 1);
    const b = startRun(spec);
    const bPid = b.child.pid!;
    // kill B while it holds a trial (its run id names its pid)
    await waitFor(db, (running) => running.some((t) => t.runId?.split(':')[1] === String(bPid)));
    b.child.kill('SIGKILL');
    assert.equal((await b.exited).signal, 'SIGKILL');
    const ra = await a.exited;
    assert.equal(ra.code, 0, ra.stderr);
    assert.match(ra.stderr, /1 trial\(s\) left running by a process that died during this run start again here/);
    assert.match(ra.stdout, /study dead: 6\/6 done, 0 failed, 0 pending/);
    const s = openSqliteStore(db, { readonly: true });
    try {
      const c = await s.counts();
      assert.deepEqual(c, { pending: 0, running: 0, done: 6, failed: 0 });
      assert.ok((await s.listTrials()).some((t) => t.attempts === 2), 'the dead run\'s trial ran again');
    } finally {
      await s.close();
    }
  } finally {
    d.cleanup();
  }
});
