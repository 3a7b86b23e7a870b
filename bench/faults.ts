/**
 * `npm run bench -- faults`: a compact fault campaign (issue 17) with a fixed seed. Every case is a real child
 * process with a deadline, classified as
 *   clean        — exit 0 and the result checks out (or the expected clean stop, exit 130),
 *   clear error  — exit 2 with exactly one `tunescope: error:` line and no stack trace,
 *   crash        — any other exit, a signal, a stack trace or `internal error`,
 *   hang         — killed at the deadline,
 *   silent wrong — exit 0 but the result is wrong (store damaged, a NaN prediction without a warning, …).
 * Classes: N random SIGKILLs of a small study (store checked after each, then resumed to the end), SIGINT during a
 * long step, a full disk (a small tmpfs; skipped with a note when not root), fuzzed specs, safetensors files,
 * config.json values and flags. Goal: 0 crashes, 0 hangs, 0 silent wrong results.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/util/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { createTinyModelDir, loadPretrained, savePretrained } from '../src/model/index.js';

export const name = 'faults';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'src/cli/index.ts');
const FAKE = join(ROOT, 'test/study/fake-runner.ts');
const LONG = join(ROOT, 'test/reliability/long-step-runner.ts');
const SEED = 17;

type Verdict = 'clean' | 'clear error' | 'crash' | 'hang' | 'silent wrong';
interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function cli(
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string>; killAfterMs?: number; killSignal?: NodeJS.Signals; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<Outcome> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, TUNESCOPE_QUIET: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const deadline = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    const killer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill(opts.killSignal ?? 'SIGKILL'), opts.killAfterMs) : undefined;
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (killer) clearTimeout(killer);
      res({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** exit 0 → clean (or silent wrong when `wrong` says so); exit 2 + one error line → clear error; else crash. */
function classify(o: Outcome, wrong?: (o: Outcome) => boolean): Verdict {
  if (o.timedOut) return 'hang';
  const trace = /\n\s+at |internal error|terminate called|Napi::Error|core dumped/.test(o.stderr);
  if (o.code === 0 && !trace) return wrong?.(o) ? 'silent wrong' : 'clean';
  const errors = o.stderr.split('\n').filter((l) => l.startsWith('tunescope: error: '));
  if (o.code === 2 && errors.length === 1 && !trace) return 'clear error';
  return 'crash';
}

const table = new Map<string, Record<Verdict, number>>();
const notes: string[] = [];
function record(cls: string, v: Verdict, what: string): void {
  const row = table.get(cls) ?? { clean: 0, 'clear error': 0, crash: 0, hang: 0, 'silent wrong': 0 };
  row[v]++;
  table.set(cls, row);
  if (v === 'crash' || v === 'hang' || v === 'silent wrong') notes.push(`${cls}: ${what} → ${v}`);
}

function studySpec(dir: string, body: string): string {
  const p = join(dir, `spec-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(p, body);
  return p;
}
const fakeSpec = (store: string, extra = '') => `name: faults
model: some/model
dataset: {name: sst2}
design:
  type: grid
  factors:
    learning_rate: [1.0e-5, 3.0e-5, 1.0e-4]
    per_device_train_batch_size: [8, 16]
seeds: [1, 2]
args: {num_train_epochs: 1, fake_ms: 400}
execution: {workers: 2, threads_per_worker: 1}
store: ${store}
${extra}`;

async function storeHealthy(db: string, total: number): Promise<boolean> {
  const s = openSqliteStore(db, { readonly: true });
  try {
    const trials = await s.listTrials();
    const ids = new Set(trials.map((t) => t.id));
    return ids.size === trials.length && trials.length === total && trials.every((t) => t.status !== 'done' || (t.metrics !== null && Number.isFinite(t.metrics.accuracy)));
  } finally {
    await s.close();
  }
}

export async function run(): Promise<void> {
  const rng = new Rng(SEED);
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-faults-'));
  try {
    // 1. random SIGKILLs of a small study, store checked after each, then resumed to the end
    const db = join(dir, 'kill', 's.sqlite');
    const killSpec = studySpec(dir, fakeSpec(db));
    for (let i = 0; i < 4; i++) {
      const o = await cli(['study', 'run', killSpec, '--runner', FAKE], { killAfterMs: 2500 + Math.floor(rng.uniform() * 3000) });
      const killed = o.signal === 'SIGKILL';
      const ok = !existsSync(db) || (await storeHealthy(db, 12));
      record('SIGKILL study', o.timedOut ? 'hang' : !ok ? 'silent wrong' : killed || o.code === 0 ? 'clean' : classify(o), `kill ${i}`);
    }
    const fin = await cli(['study', 'run', killSpec, '--runner', FAKE], { timeoutMs: 120_000 });
    const s = openSqliteStore(db, { readonly: true });
    let allDone = false;
    try {
      allDone = (await s.listTrials()).every((t) => t.status === 'done');
    } finally {
      await s.close();
    }
    record('SIGKILL study', classify(fin, () => !allDone), 'resume after kills');

    // 2. SIGINT / SIGTERM during a long (blocking) step
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const d = join(dir, `long-${sig}`);
      mkdirSync(d);
      const spec = studySpec(d, `name: long\nmodel: some/model\ndataset: {name: sst2}\ndesign: {type: grid, factors: {learning_rate: [1.0e-5]}}\nseeds: [1]\nexecution: {workers: 1}\nstore: ${join(d, 's.sqlite')}\n`);
      let proc: ChildProcess | null = null;
      const child = cli(['study', 'run', spec, '--runner', LONG], { env: { LONG_STEP_DIR: d, LONG_STEP_MS: '6000' }, timeoutMs: 90_000, onSpawn: (c) => (proc = c) });
      for (let i = 0; i < 600 && !existsSync(join(d, 'step-1.start')); i++) await new Promise((r) => setTimeout(r, 100));
      (proc as ChildProcess | null)?.kill(sig);
      const o = await child;
      const stepFinished = existsSync(join(d, 'step-1.done'));
      const v: Verdict = o.timedOut ? 'hang' : o.code === 130 && stepFinished && !/terminate called|core dumped/.test(o.stderr) ? 'clean' : 'crash';
      record('signal during a long step', v, sig);
    }

    // 3. disk full: a small tmpfs (root only)
    if (process.getuid?.() === 0) {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=400k', 'tmpfs', mnt]).status === 0) {
        try {
          const spec = studySpec(dir, `name: disk\nmodel: some/model\ndataset: {name: sst2}\ndesign: {type: grid, factors: {learning_rate: [2, 3, 4, 5, 6, 7, 8, 9]}}\nseeds: [1, 2, 3, 4, 5]\nargs: {pad_bytes: 20000}\nexecution: {workers: 1}\nstore: ${join(mnt, 's.sqlite')}\n`);
          record('disk full', classify(await cli(['study', 'run', spec, '--runner', LONG])), 'full');
          spawnSync('mount', ['-o', 'remount,size=16m', mnt]);
          const again = await cli(['study', 'run', spec, '--runner', LONG]);
          record('disk full', classify(again, (o) => !/40\/40 done/.test(o.stdout)), 'rerun after freeing space');
        } finally {
          spawnSync('umount', [mnt]);
        }
      } else notes.push('disk full: skipped (mount not permitted)');
    } else notes.push('disk full: skipped (not root)');

    // 4. fuzzed specs (fake runner: only the spec is under test)
    const mutations = [
      'design: {type: grid, factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3, levels: 1000000000}}}',
      'design: {type: sobol, n: 1000000000, factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3}}}',
      'design: {type: lhs, n: 0, factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3}}}',
      'design: {type: grid, factors: {learning_rate: {min: 1.0e-3, max: 1.0e-5, levels: 3}}}',
      'design: {type: grid, factors: {learning_rate: [.nan]}}',
      'design: {type: grid, factors: {seed: [1, 2]}}',
      'design: {type: grid, factors: {learning_rate: "fast"}}',
      'design: {type: grid, factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3, levels: 10000}}}',
      'design: [1, 2, 3]',
      'design: {type: ccd2, factors: {learning_rate: [1]}}',
    ];
    for (const [i, m] of mutations.entries()) {
      const d = join(dir, `spec-${i}`);
      mkdirSync(d);
      const body = `name: fuzz\nmodel: some/model\ndataset: {name: sst2}\n${m}\nseeds: [${rng.uniform() < 0.5 ? '1' : '1, 1'}]\nstore: ${join(d, 's.sqlite')}\n`;
      record('fuzzed specs', classify(await cli(['study', 'run', studySpec(d, body), '--runner', FAKE])), m);
    }

    // 5. safetensors files and 6. config.json values, through `predict` on a tiny model
    const tiny = createTinyModelDir(join(dir, 'tiny'), { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32 });
    const pm = await loadPretrained(tiny, { seed: 1 });
    const good = join(dir, 'good');
    savePretrained(good, { config: pm.config, parameters: pm.parameters, tokenizerDir: pm.tokenizerDir });
    const st = readFileSync(join(good, 'model.safetensors'));
    const hlen = Number(st.readBigUInt64LE(0));
    const header = st.subarray(8, 8 + hlen).toString('utf8');
    const variant = (name: string, f: (dir: string) => void): string => {
      const d = join(dir, name);
      mkdirSync(d);
      for (const file of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
        if (existsSync(join(good, file))) copyFileSync(join(good, file), join(d, file));
      }
      f(d);
      return d;
    };
    const withHeader = (h: string) => (d: string) => {
      const hb = Buffer.from(h);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(hb.length));
      writeFileSync(join(d, 'model.safetensors'), Buffer.concat([len, hb, st.subarray(8 + hlen)]));
    };
    const firstKey = /"([^"]+)":\{"dtype"/.exec(header)![1]!;
    const stCases: Array<[string, (d: string) => void]> = [
      ['truncated', (d) => writeFileSync(join(d, 'model.safetensors'), st.subarray(0, st.length >> 1))],
      ['header length 2^60', (d) => { const b = Buffer.from(st); b.writeBigUInt64LE(2n ** 60n, 0); writeFileSync(join(d, 'model.safetensors'), b); }],
      ['header not JSON', withHeader('{' + header.slice(5))],
      ['duplicate key', withHeader(header.replace(/^\{/, `{"${firstKey}":${/"[^"]+":(\{"dtype"[^}]*\})/.exec(header)![1]},`))],
      ['NaN weights', (d) => { const b = Buffer.from(st); b.fill(0xff, 8 + hlen); writeFileSync(join(d, 'model.safetensors'), b); }],
      ['empty file', (d) => writeFileSync(join(d, 'model.safetensors'), '')],
    ];
    for (const [what, f] of stCases) {
      const d = variant(`st-${what.replace(/\W+/g, '-')}`, f);
      // exit 0 with a NaN probability and no warning is a silent wrong result
      record('safetensors', classify(await cli(['predict', '--model', d, 'a great film']), (o) => /NaN/.test(o.stdout) && !/warning/.test(o.stderr)), what);
    }
    const cfg = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
    const cfgCases: Array<[string, Record<string, unknown>]> = [
      ['vocab_size 1e12', { vocab_size: 1e12 }],
      ['dim 1e6', { dim: 1e6 }],
      ['n_layers 1e6', { n_layers: 1e6 }],
      ['max_position_embeddings 1e9', { max_position_embeddings: 1e9 }],
      ['dropout "x"', { dropout: 'x' }],
    ];
    for (const [what, patch] of cfgCases) {
      const d = variant(`cfg-${what.replace(/\W+/g, '-')}`, (dd) => writeFileSync(join(dd, 'config.json'), JSON.stringify({ ...cfg, ...patch })));
      record('config.json', classify(await cli(['predict', '--model', d, 'a great film'], { timeoutMs: 60_000 })), what);
    }

    // 7. flags of `train` on the tiny model and a toy dataset
    const data = join(dir, 'toy');
    mkdirSync(data);
    const tsv = ['sentence\tlabel', ...Array.from({ length: 16 }, (_, i) => `${i % 2 ? 'good' : 'bad'} film ${i} .\t${i % 2}`)].join('\n') + '\n';
    writeFileSync(join(data, 'train.tsv'), tsv);
    writeFileSync(join(data, 'validation.tsv'), tsv);
    const base = ['train', '--model', tiny, '--dataset', data, '--max_seq_length', '16', '--num_train_epochs', '1', '--no-token-cache'];
    const flagCases: Array<[string, string[], ((o: Outcome) => boolean)?]> = [
      ['--learning_rate 1e10', ['--learning_rate', '1e10'], (o) => !/"non_finite": true/.test(o.stdout)],
      ['--learning_rate 0x10', ['--learning_rate', '0x10'], () => true],
      ['--learning_rate NaN', ['--learning_rate', 'NaN'], () => true],
      ['--per_device_train_batch_size 0', ['--per_device_train_batch_size', '0'], () => true],
      ['--num_train_epochs -1', ['--num_train_epochs', '-1'], () => true],
      ['--output-dir under /proc', ['--output-dir', '/proc/tunescope-x'], () => true],
    ];
    for (const [what, extra, wrong] of flagCases) record('flags', classify(await cli([...base, ...extra], { timeoutMs: 90_000 }), wrong), what);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const cols: Verdict[] = ['clean', 'clear error', 'crash', 'hang', 'silent wrong'];
  const rows = [...table.entries()].map(([k, r]) => [k, String(cols.reduce((a, c) => a + r[c], 0)), ...cols.map((c) => String(r[c]))]);
  const total = cols.map((c) => [...table.values()].reduce((a, r) => a + r[c], 0));
  rows.push(['total', String(total.reduce((a, b) => a + b, 0)), ...total.map(String)]);
  const head = ['class', 'cases', ...cols];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(`fault campaign, seed ${SEED}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(`  ${n}`);
}
