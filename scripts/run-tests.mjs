#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner through tsx.
// Node 20's --test takes no globs, so the files are listed here.
// Usage: npm test [-- <path-substring> ...]  (filters test files by substring)
// Tests spawn the compiled CLI (dist/), so dist/ is rebuilt first when any source is newer than its build.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { staleSource } from './dist-fresh.mjs';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test')
  .map((f) => relative('.', f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const stale = staleSource('.');
if (stale !== null) {
  console.error(`dist/ is older than ${stale}: npm run build`);
  const b = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/file-times.mjs', '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, TUNESCOPE_TEST: '1' } },
);
process.exit(r.status ?? 1);
