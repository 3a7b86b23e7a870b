import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers.js';

test('tunescope --help lists the commands and exits 0', () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: tunescope/);
  // every command module is loaded for the top-level help (a command alone loads only its own), in this order
  const listed = [...r.stdout.slice(r.stdout.indexOf('Commands:')).matchAll(/^  (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(listed.filter((c) => c !== 'help'), ['demo', 'train', 'evaluate', 'predict', 'study', 'worker', 'analyze', 'variability', 'compare', 'cards', 'import', 'report', 'serve']);
});

test('an unknown command is one clear error with a non-zero exit', () => {
  const r = runCli(['no-such-command']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error: (unknown command|too many arguments)/);
});

test('a bad flag value of a subcommand is one line `tunescope: error: …` naming the flag, exit 2', () => {
  const csv = 'fixtures/ols/data/grid_full.csv';
  for (const [flag, value] of [['--degree', '5'], ['--frame', 'foo']] as const) {
    const r = runCli(['analyze', `../shared/${csv}`, '--predictors', 'lr,bs,ep', '--response', 'accuracy', flag, value]);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^tunescope: error: option '${flag} <\\w+>' argument '${value}' is invalid`));
  }
  const u = runCli(['study', 'export', 'x.sqlite', '--bogus']);
  assert.equal(u.status, 2, u.stderr);
  assert.match(u.stderr.trim(), /^tunescope: error: unknown option '--bogus'[^\n]*$/);
});

test('demo --out naming a file is one error before anything runs (was an internal EEXIST)', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-demo-out-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = runCli(['demo', '--out', file, '--workers', '1']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `tunescope: error: --out: cannot create the folder ${file} (a file is in the way)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
