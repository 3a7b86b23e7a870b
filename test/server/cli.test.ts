/** `tunescope study run … --serve`: the dashboard starts beside the study, prints its URL, serves it, stops on Ctrl-C. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawnCli, tempDir } from '../helpers.js';
import { writeFakeSpec } from './helpers.js';

const FAKE = fileURLToPath(new URL('../study/fake-runner.ts', import.meta.url));

test('study run --serve prints the dashboard URL, serves the running study, and stops on SIGINT', async () => {
  const d = tempDir();
  try {
    const spec = writeFakeSpec(d.path, { fakeMs: 200 });
    const cli = spawnCli(['study', 'run', spec, '--runner', FAKE, '--serve', '--port', '0']);
    const [, url] = await cli.seen(/tunescope dashboard: (http:\/\/127\.0\.0\.1:\d+)\//);
    assert.match(cli.stdout(), /live: http:\/\/127\.0\.0\.1:\d+\/studies\/live/);
    const studies = (await (await fetch(`${url}/api/studies`)).json()) as { name: string; total: number }[];
    assert.deepEqual(studies.map((s) => [s.name, s.total]), [['live', 12]]);
    await cli.seen(/the study is finished; the dashboard stays at/);
    const done = (await (await fetch(`${url}/api/studies/live`)).json()) as { counts: { done: number } };
    assert.equal(done.counts.done, 12);
    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await cli.exited;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /study live: 12\/12 done/);
  } finally {
    d.cleanup();
  }
});
