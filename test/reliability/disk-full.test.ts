/**
 * Issue 17 (medium/low): a full disk, a read-only store and a store folder that cannot be created are one
 * `tunescope: error:` line (exit 2, no stack trace), the study stops cleanly with its finished trials intact, and
 * the rerun after space is freed continues. The full disk is a real one: a small tmpfs (needs root and the right
 * to mount; skipped with a note otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/index.js';
import { runCli, tempDir } from '../helpers.js';

const RUNNER = fileURLToPath(new URL('./long-step-runner.ts', import.meta.url));

function spec(dir: string, store: string, seeds = 5): string {
  const p = join(dir, 'spec.yaml');
  writeFileSync(p, `name: disk
model: some/model
dataset: {name: sst2}
design:
  type: grid
  factors:
    learning_rate: [2, 3, 4, 5, 6, 7, 8, 9]
seeds: [${Array.from({ length: seeds }, (_, i) => i + 1).join(', ')}]
args: {pad_bytes: 20000}
execution: {workers: 1, threads_per_worker: 1}
store: ${store}
`);
  return p;
}

function canMount(): string | null {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a small tmpfs';
  const d = tempDir('tunescope-mnt-probe-');
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d.path]);
    if (r.status !== 0) return `mount not permitted here: ${String(r.stderr).trim()}`;
    spawnSync('umount', [d.path]);
    return null;
  } finally {
    d.cleanup();
  }
}
const noMount = canMount();

const oneErrorLine = (stderr: string, re: RegExp): void => {
  const lines = stderr.trim().split('\n').filter((l) => !/^tunescope: warning:/.test(l) && l.trim() !== '');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(stderr, /\n\s+at |SqliteError|internal error/);
};

test('disk full during a study: one error line, exit 2, finished trials intact; the rerun after freeing space finishes', { skip: noMount ?? false }, async () => {
  const d = tempDir('tunescope-diskfull-');
  const mnt = join(d.path, 'mnt');
  mkdirSync(mnt);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=400k', 'tmpfs', mnt]).status, 0);
  try {
    const p = spec(d.path, join(mnt, 's.sqlite'));
    const r = runCli(['study', 'run', p, '--runner', RUNNER], { timeoutMs: 120_000 });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    oneErrorLine(r.stderr, /^tunescope: error: study store .*s\.sqlite: no space left for the study store; free space and rerun to continue \(finished trials are kept\) \(.*full.*\)$/);
    let doneBefore: string[];
    const s = openSqliteStore(join(mnt, 's.sqlite'), { readonly: true });
    try {
      const trials = await s.listTrials();
      doneBefore = trials.filter((t) => t.status === 'done').map((t) => t.id);
      assert.ok(doneBefore.length > 0 && doneBefore.length < 40, `${doneBefore.length} done before the disk filled`);
      for (const t of trials.filter((x) => x.status === 'done')) assert.equal(t.metrics!.accuracy, 0.5 + t.seed / 1000);
    } finally {
      await s.close();
    }
    // free space: the same study continues where it stopped
    assert.equal(spawnSync('mount', ['-o', 'remount,size=16m', mnt]).status, 0);
    const again = runCli(['study', 'run', p, '--runner', RUNNER], { timeoutMs: 120_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /study disk: 40\/40 done, 0 failed, 0 pending/);
    const s2 = openSqliteStore(join(mnt, 's.sqlite'), { readonly: true });
    try {
      const trials = await s2.listTrials();
      for (const id of doneBefore) assert.equal(trials.find((t) => t.id === id)!.attempts, 1, 'finished trials were not rerun');
    } finally {
      await s2.close();
    }
  } finally {
    spawnSync('umount', [mnt]);
    d.cleanup();
  }
});

test('a read-only store and a store folder blocked by a file: one error line each, exit 2', async () => {
  const d = tempDir('tunescope-rostore-');
  try {
    const file = join(d.path, 'a-file');
    writeFileSync(file, 'x');
    const blocked = runCli(['study', 'run', spec(d.path, join(file, 'runs', 's.sqlite')), '--runner', RUNNER]);
    assert.equal(blocked.status, 2, blocked.stderr);
    oneErrorLine(blocked.stderr, /^tunescope: error: study store .*a-file\/runs\/s\.sqlite: the study store cannot be created there/);
    // a finished small study, then its store made read-only (as root, a read-only mount is the only real one)
    const p = spec(d.path, join(d.path, 'runs', 's.sqlite'), 1);
    assert.equal(runCli(['study', 'run', p, '--runner', RUNNER]).status, 0);
    const ro = join(d.path, 'ro');
    mkdirSync(ro);
    if (noMount === null) {
      // bind-mount the runs folder read-only
      assert.equal(spawnSync('mount', ['--bind', '-o', 'ro', join(d.path, 'runs'), ro]).status, 0);
      // remount to make the bind read-only on older kernels
      spawnSync('mount', ['-o', 'remount,bind,ro', ro]);
    } else {
      chmodSync(join(d.path, 'runs'), 0o555);
    }
    try {
      const roSpec = spec(d.path, join(noMount === null ? ro : join(d.path, 'runs'), 's.sqlite'), 1);
      const r = runCli(['study', 'run', roSpec, '--runner', RUNNER]);
      assert.equal(r.status, 2, r.stderr);
      oneErrorLine(r.stderr, /^tunescope: error: study store .*s\.sqlite: (the study store is read-only|no permission|I\/O error|.*cannot open)/);
    } finally {
      if (noMount === null) spawnSync('umount', [ro]);
      chmodSync(join(d.path, 'runs'), 0o755);
    }
  } finally {
    d.cleanup();
  }
});
