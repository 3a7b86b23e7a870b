import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, jsonSafe, parseJsonNumber } from '../../src/util/index.js';

test('Rng is MT19937 with numpy random_sample semantics', () => {
  // numpy.random.RandomState(42).random_sample() == 0.3745401188473625
  assert.equal(new Rng(42).uniform(), 0.3745401188473625);
  const a = new Rng(7).permutation(10);
  const b = new Rng(7).permutation(10);
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(new Rng(7).fork(1).permutation(10), new Rng(7).fork(2).permutation(10));
});

test('Rng normals have mean 0 and variance 1', () => {
  const r = new Rng(1);
  let s = 0;
  let s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.04);
});

test('Rng rejects bad seeds', () => {
  assert.throws(() => new Rng(-1), /seed/);
  assert.throws(() => new Rng(1.5), /seed/);
});

test('jsonSafe writes non-finite numbers as strings and reads them back', () => {
  assert.deepEqual(jsonSafe({ a: NaN, b: [Infinity, -Infinity, 1], c: undefined }), {
    a: 'NaN',
    b: ['Infinity', '-Infinity', 1],
    c: null,
  });
  assert.ok(Number.isNaN(parseJsonNumber('NaN')));
  assert.equal(parseJsonNumber(null), null);
  assert.throws(() => parseJsonNumber('x'));
});

test('writeFileAtomic: writes whole files; a missing folder or a folder as target is a UserError naming the path', async () => {
  const { writeFileAtomic, checkOutputPath } = await import('../../src/util/index.js');
  const { mkdtempSync, readFileSync, readdirSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-util-'));
  try {
    writeFileAtomic(join(dir, 'a.json'), '{"x":1}\n');
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{"x":1}\n');
    assert.deepEqual(readdirSync(dir), ['a.json']); // no temp file left behind
    assert.throws(() => writeFileAtomic(join(dir, 'nope', 'b.json'), 'x', '--json'), (e: Error) => e.name === 'UserError' && /^--json .*b\.json: the folder .*nope does not exist$/.test(e.message));
    assert.throws(() => checkOutputPath(dir, '--out'), (e: Error) => e.name === 'UserError' && /is a folder, not a file/.test(e.message));
    const { ensureDir } = await import('../../src/util/index.js');
    ensureDir(join(dir, 'x', 'y'), '--out');
    rmSync(join(dir, 'x'), { recursive: true });
    assert.throws(() => ensureDir(join(dir, 'a.json', 'sub'), '--out'), (e: Error) => e.name === 'UserError' && /^--out: cannot create the folder .*a\.json\/sub \(a file is in the way\)$/.test(e.message));
    assert.deepEqual(readdirSync(dir), ['a.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decodeUtf8: valid UTF-8 (with a real U+FFFD) passes; an invalid byte is a UserError with line and column', async () => {
  const { decodeUtf8 } = await import('../../src/util/index.js');
  assert.equal(decodeUtf8(Buffer.from('a\uFFFDb\nxé', 'utf8'), 'f.tsv'), 'a\uFFFDb\nxé');
  assert.throws(
    () => decodeUtf8(Buffer.concat([Buffer.from('héllo\nwo', 'utf8'), Buffer.from([0xc3]), Buffer.from('rld')]), 'f.tsv'),
    (e: Error) => e.name === 'UserError' && e.message === 'f.tsv: line 2, column 3: not valid UTF-8 (byte 0xc3 at offset 9); save the file as UTF-8',
  );
});
