/** Shared test helpers: where ../shared lives, temp dirs, running the CLI. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** The read-only data beside the project root. */
export const SHARED = resolve(ROOT, '..', 'shared');
export const sharedPath = (...p: string[]): string => join(SHARED, ...p);

export function tempDir(prefix = 'tunescope-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs the CLI from source (tsx) and returns its output; never throws on a non-zero exit. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, TUNESCOPE_QUIET: '1', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
  });
}

/**
 * Runs the CLI from source (tsx) in the background, so the test's own event loop keeps serving (a dashboard, event
 * streams) while it runs; resolves with its exit code and its stdout and stderr together.
 */
export function runCliAsync(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), ...args], {
    env: { ...process.env, TUNESCOPE_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}
