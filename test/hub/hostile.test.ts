/**
 * Issue 17 (medium): Hub downloads are verified, against a hostile Hub-shaped server started here. Before: a body
 * shorter than announced was cached as complete, a dripping body never timed out, a self-referencing Link header
 * was followed without end, a Link to another origin was followed, no size cap existed, no hash was checked, and
 * orphan .tmp-* files of a killed download stayed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { downloadFile, listModels } from '../../src/hub/index.js';
import { tempDir } from '../helpers.js';

const BODY = Buffer.from('{"dim": 8, "n_layers": 1, "padding": "' + 'x'.repeat(200) + '"}');
const sha256 = createHash('sha256').update(BODY).digest('hex');
const gitSha1 = createHash('sha1').update(`blob ${BODY.length}\0`).update(BODY).digest('hex');

let server: Server;
let other: Server;
let endpoint = '';
let otherOrigin = '';
let listHits = 0;
let otherHits = 0;

function send(req: IncomingMessage, res: ServerResponse, repo: string): void {
  const range = req.headers.range;
  const head: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
  if (repo === 'acme/lfs') head['x-linked-etag'] = `"${sha256}"`;
  else if (repo === 'acme/lfs-corrupt') head['x-linked-etag'] = `"${'0'.repeat(64)}"`;
  else if (repo === 'acme/git') head.etag = `"${gitSha1}"`;
  else head.etag = '"opaque"';
  const announced = repo === 'acme/huge' ? 2 ** 40 : BODY.length;
  if (range) {
    res.writeHead(206, { ...head, 'content-range': `bytes 0-0/${announced}` }).end(BODY.subarray(0, 1));
    return;
  }
  if (repo === 'acme/short') {
    // a Content-Length shorter than the file the probe announced: a well-formed but truncated response
    res.writeHead(200, { ...head, 'content-length': 100 }).end(BODY.subarray(0, 100));
  } else if (repo === 'acme/cut') {
    // the connection closes half way through a body announced in full
    res.writeHead(200, { ...head, 'content-length': BODY.length });
    res.write(BODY.subarray(0, 50), () => res.destroy());
  } else if (repo === 'acme/drip') {
    // one byte every 100 ms: never idle long enough for the idle timeout
    res.writeHead(200, { ...head, 'content-length': BODY.length });
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= BODY.length) return clearInterval(t);
      res.write(BODY.subarray(i, ++i));
    }, 100);
    res.on('close', () => clearInterval(t));
  } else {
    res.writeHead(200, { ...head, 'content-length': BODY.length }).end(BODY);
  }
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', endpoint);
  if (url.pathname === '/api/models') {
    listHits++;
    const mode = url.searchParams.get('search');
    const page = [{ _id: `m${listHits}`, id: `u/m${listHits}`, tags: [], private: false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z', gated: false }];
    // loop: the next page is this page; foreign: the next page is on another origin; empty: an empty page that links on
    const next = mode === 'foreign' ? `${otherOrigin}/api/models?search=foreign` : mode === 'empty' && url.searchParams.get('p') ? url.href + 'x' : mode === 'empty' ? url.href + '&p=1' : url.href;
    const body = mode === 'empty' && url.searchParams.get('p') ? [] : page;
    res.writeHead(200, { 'content-type': 'application/json', link: `<${next}>; rel="next"` }).end(JSON.stringify(body));
    return;
  }
  const m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m) return void res.writeHead(404).end();
  send(req, res, m[1]!);
}

before(async () => {
  server = createServer(handler);
  other = createServer((_req, res) => {
    otherHits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});
after(() => {
  for (const s of [server, other]) {
    s.closeAllConnections();
    s.close();
  }
});

const opts = (cacheDir: string) => ({ endpoint, cacheDir, retries: 0, retryBaseMs: 1, timeoutMs: 1000, offline: false });
const cached = (cacheDir: string, repo: string): string[] => {
  const d = join(cacheDir, `models--${repo.replace('/', '--')}`, 'snapshots', 'main');
  return existsSync(d) ? readdirSync(d) : [];
};

test('verified downloads: sha256 of LFS files and git sha1 of small files checked; a mismatch is never cached', async () => {
  const c = tempDir('tunescope-hostile-');
  try {
    for (const repo of ['acme/lfs', 'acme/git', 'acme/plain']) {
      const p = await downloadFile(repo, 'config.json', opts(c.path));
      assert.deepEqual(readFileSync(p), BODY);
    }
    await assert.rejects(downloadFile('acme/lfs-corrupt', 'config.json', opts(c.path)), /corrupt: its sha256 is [0-9a-f]{64}, the Hub says 0{64}/);
    assert.deepEqual(cached(c.path, 'acme/lfs-corrupt'), []);
  } finally {
    c.cleanup();
  }
});

test('a short body, a connection closed early, a dripping body and an oversized file: clear errors, nothing cached', async () => {
  const c = tempDir('tunescope-hostile-');
  try {
    await assert.rejects(downloadFile('acme/short', 'config.json', opts(c.path)), /incomplete: 100 of \d+ bytes/);
    await assert.rejects(downloadFile('acme/cut', 'config.json', opts(c.path)), (e: Error) => e.name === 'UserError');
    const t0 = Date.now();
    await assert.rejects(downloadFile('acme/drip', 'config.json', { ...opts(c.path), deadlineMs: 1500 }), /did not finish within 1500 ms/);
    assert.ok(Date.now() - t0 < 10_000);
    await assert.rejects(downloadFile('acme/huge', 'config.json', opts(c.path)), /is 1099511627776 bytes, above the size cap of 67108864 bytes/);
    for (const repo of ['acme/short', 'acme/cut', 'acme/drip', 'acme/huge']) assert.deepEqual(cached(c.path, repo), [], repo);
    // retried later against a healthy file: works, and no temp file is left anywhere
    await downloadFile('acme/plain', 'config.json', opts(c.path));
  } finally {
    c.cleanup();
  }
});

test('orphan .tmp-* files of a killed download are removed; a live process\'s are kept', async () => {
  const c = tempDir('tunescope-hostile-');
  try {
    const dir = join(c.path, 'models--acme--lfs', 'snapshots', 'main');
    mkdirSync(dir, { recursive: true });
    const dead = 'config.json.tmp-999999999-abc123';
    const live = `config.json.tmp-${process.ppid}-def456`;
    writeFileSync(join(dir, dead), 'half');
    writeFileSync(join(dir, live), 'half');
    await downloadFile('acme/lfs', 'config.json', opts(c.path));
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', live].sort());
  } finally {
    c.cleanup();
  }
});

test('Link-header paging: a self-reference, a foreign origin and an empty page end the listing', async () => {
  const c = tempDir('tunescope-hostile-');
  try {
    for (const [mode, pages] of [['loop', 1], ['foreign', 1], ['empty', 2]] as const) {
      listHits = 0;
      const got: string[] = [];
      for await (const m of listModels({ ...opts(c.path), search: mode })) got.push(m.id);
      assert.equal(listHits, pages, `${mode}: ${listHits} requests`);
      assert.equal(got.length, 1);
    }
    assert.equal(otherHits, 0, 'never followed to another origin');
  } finally {
    c.cleanup();
  }
});
