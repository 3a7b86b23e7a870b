/** `tunescope study run … --serve`: the dashboard starts beside the study, prints its URL, serves it, stops on Ctrl-C. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, tempDir } from '../helpers.js';
import { writeFakeSpec } from './helpers.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));

test('study run --serve prints the dashboard URL, serves the running study, and stops on SIGINT', async () => {
  const d = tempDir();
  try {
    const spec = writeFakeSpec(d.path, { fakeMs: 200 });
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'study', 'run', spec, '--runner', FAKE, '--serve', '--port', '0'], {
      env: { ...process.env, TUNESCOPE_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const seen = (re: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) resolve(m);
        };
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          check();
        });
        void exited.then(() => reject(new Error(`exited before ${re}: ${out}${err}`)));
        check();
      });
    const [, url] = await seen(/tunescope dashboard: (http:\/\/127\.0\.0\.1:\d+)\//);
    assert.match(out, /live: http:\/\/127\.0\.0\.1:\d+\/studies\/live/);
    const studies = (await (await fetch(`${url}/api/studies`)).json()) as { name: string; total: number }[];
    assert.deepEqual(studies.map((s) => [s.name, s.total]), [['live', 12]]);
    await seen(/the study is finished; the dashboard stays at/);
    const done = (await (await fetch(`${url}/api/studies/live`)).json()) as { counts: { done: number } };
    assert.equal(done.counts.done, 12);
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.match(out, /study live: 12\/12 done/);
  } finally {
    d.cleanup();
  }
});
