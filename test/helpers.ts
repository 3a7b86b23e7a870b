/** Shared test helpers: where ../shared lives, temp dirs, running the CLI, a tiny study spec. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { staleSource } from '../scripts/dist-fresh.mjs';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** The read-only data beside the project root. */
export const SHARED = resolve(ROOT, '..', 'shared');
export const sharedPath = (...p: string[]): string => join(SHARED, ...p);

export function tempDir(prefix = 'tunescope-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The compiled CLI (`npm run build`; `npm test` rebuilds a stale dist/ first). Spawning it is about a second
 * faster than running src/ through tsx, and it is what users run. A dist/ older than src/ fails loudly rather
 * than testing old code.
 */
const CLI = join(ROOT, 'dist', 'cli', 'index.js');
let distChecked = false;
function cliArgs(args: string[]): string[] {
  if (!distChecked) {
    const stale = staleSource(ROOT);
    if (stale !== null) throw new Error(`dist/ is older than ${stale}: run \`npm run build\` (npm test does it)`);
    distChecked = true;
  }
  return [CLI, ...args];
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Runs the CLI and returns its output; never throws on a non-zero exit. */
export function runCli(args: string[], opts: CliOptions & { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, cliArgs(args), {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, TUNESCOPE_QUIET: '1', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
  });
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, in arrival order */
  output: string;
}

export interface CliChild {
  child: ChildProcess;
  /** What it has written so far (stdout and stderr together; stdout, stderr alone). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in its output (stdout and stderr); rejects if it exits first. */
  seen(re: RegExp): Promise<RegExpMatchArray>;
  /** Resolves when it has exited and its output is read. */
  exited: Promise<CliExit>;
}

/**
 * Starts the CLI in the background and hands back the child (to kill it, or to read its output while it runs);
 * `stdio: 'ignore'` discards its output.
 */
export function spawnCli(args: string[], opts: CliOptions & { stdio?: 'pipe' | 'ignore' } = {}): CliChild {
  const stdio: StdioOptions = opts.stdio === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'pipe'];
  const child = spawn(process.execPath, cliArgs(args), { cwd: opts.cwd ?? ROOT, env: { ...process.env, TUNESCOPE_QUIET: '1', ...opts.env }, stdio });
  let stdout = '';
  let stderr = '';
  let output = '';
  const watchers = new Set<() => void>();
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    output += c.toString();
    for (const w of watchers) w();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
    output += c.toString();
    for (const w of watchers) w();
  });
  const exited = new Promise<CliExit>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr, output })));
  const seen = (re: RegExp) =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const check = () => {
        const m = output.match(re);
        if (m) {
          watchers.delete(check);
          res(m);
        }
      };
      watchers.add(check);
      void exited.then(() => {
        if (watchers.delete(check)) rej(new Error(`the CLI exited before printing ${re}: ${output}`));
      });
      check();
    });
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, seen, exited };
}

/**
 * Runs the CLI in the background, so the test's own event loop keeps serving (a dashboard, event streams)
 * while it runs; resolves with its exit code and its stdout and stderr together.
 */
export async function runCliAsync(args: string[], opts: CliOptions = {}): Promise<{ code: number | null; output: string }> {
  const { code, output } = await spawnCli(args, opts).exited;
  return { code, output };
}

/** ../shared has what tinyStudySpec trains on (SST-2 and the DistilBERT tokenizer). */
export const HAVE_SST2 = existsSync(sharedPath('datasets', 'sst2', 'train.tsv')) && existsSync(sharedPath('models', 'distilbert-base-uncased', 'vocab.txt'));

/** The model every study test trains: one layer, 16 wide — seconds per trial, still a real DistilBERT. */
export const TINY_MODEL = { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 64 };

type SpecPart = Record<string, unknown>;
/** Sections merged one level deep with the defaults (others replace the default section whole). */
const MERGED = ['model', 'dataset', 'args'] as const;

/**
 * A small from-scratch study on ../shared's SST-2: the tiny model, 32/16 examples, 32 tokens, one epoch, two
 * learning rates, one seed, one worker. `overrides` replaces top-level sections (undefined removes one); model,
 * dataset and args are merged key by key (a key set to undefined is removed).
 */
export function tinyStudySpec(overrides: SpecPart = {}): SpecPart {
  const spec: SpecPart = {
    name: 'tiny',
    model: { from_config: TINY_MODEL, tokenizer: sharedPath('models', 'distilbert-base-uncased') },
    dataset: { name: 'sst2', data_dir: sharedPath('datasets', 'sst2'), max_train_samples: 32, max_eval_samples: 16 },
    design: { type: 'grid', factors: { learning_rate: [1e-4, 1e-3] } },
    seeds: [1],
    args: { num_train_epochs: 1, max_seq_length: 32, per_device_train_batch_size: 8 },
    execution: { workers: 1, threads_per_worker: 1 },
  };
  for (const [k, v] of Object.entries(overrides)) {
    spec[k] = (MERGED as readonly string[]).includes(k) && v !== null && typeof v === 'object' ? { ...(spec[k] as SpecPart), ...(v as SpecPart) } : v;
    if (v === undefined) delete spec[k];
  }
  for (const k of MERGED) {
    const section = spec[k] as SpecPart | undefined;
    if (section) for (const [sk, sv] of Object.entries(section)) if (sv === undefined) delete section[sk];
  }
  return spec;
}

/** Writes tinyStudySpec(overrides) as YAML to dir/file and returns its path. */
export function writeTinyStudySpec(dir: string, overrides: SpecPart = {}, file = 'spec.yaml'): string {
  const p = join(dir, file);
  writeFileSync(p, stringify(tinyStudySpec(overrides)));
  return p;
}
