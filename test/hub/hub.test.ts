/** src/hub against a local node:http server that answers like the Hub (listing with Link paging, resolve URLs, errors). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isHubId, downloadFile, snapshotFiles, listModels } from '../../src/hub/index.js';
import { UserError } from '../../src/util/index.js';
import { tempDir } from '../helpers.js';

const files: Record<string, string> = {
  'models/acme/tiny/main/config.json': '{"dim": 8}',
  'models/acme/tiny/main/README.md': '---\nbase_model: x\n---\n# card',
  'models/acme/flaky429/main/README.md': 'after 429',
  'models/acme/flaky500/main/README.md': 'after 500',
  'models/acme/slow/main/README.md': 'slow',
  'datasets/stanfordnlp/sst2/main/data/train.parquet': 'PAR1-fake',
};
const models = Array.from({ length: 5 }, (_, i) => ({
  _id: `mongo${i}`,
  id: `user${i}/sst2-ft-${i}`,
  pipeline_tag: 'text-classification',
  tags: ['transformers', 'base_model:distilbert/distilbert-base-uncased-finetuned-sst-2-english'],
  private: false,
  downloads: i,
  likes: 0,
  lastModified: '2024-01-01T00:00:00.000Z',
  gated: false,
}));

let server: Server;
let endpoint = '';
const hits: Record<string, number> = {};
const authSeen: string[] = [];

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', endpoint);
  const key = url.pathname;
  hits[key] = (hits[key] ?? 0) + 1;
  if (req.headers.authorization) authSeen.push(req.headers.authorization);
  if (url.pathname === '/api/models') {
    // The Hub pages with a Link header carrying a cursor; page size 2 here.
    const filter = url.searchParams.getAll('filter');
    const matching = models.filter((m) => filter.every((f) => m.tags.includes(f)));
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    const page = matching.slice(cursor, cursor + 2);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cursor + 2 < matching.length) {
      const next = new URL(url.href);
      next.searchParams.set('cursor', String(cursor + 2));
      headers.link = `<${next.href}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify(page));
    return;
  }
  const m = /^\/(datasets\/)?(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  const [, ds, repo, rev, path] = m;
  if (repo === 'acme/flaky429' && hits[key] === 1) {
    res.writeHead(429, { 'retry-after': '0' }).end('slow down');
    return;
  }
  if (repo === 'acme/flaky500' && hits[key] === 1) {
    res.writeHead(500).end('oops');
    return;
  }
  if (repo === 'acme/slow' && hits[key] === 1) return; // never answers: the client must time out and retry
  if (repo === 'acme/hang') return;
  if (repo === 'acme/down') {
    res.writeHead(503).end('maintenance');
    return;
  }
  const k = `${ds ? 'datasets' : 'models'}/${repo}/${decodeURIComponent(rev!)}/${path}`;
  const body = files[k];
  if (body === undefined) {
    const repoKnown = Object.keys(files).some((f) => f.startsWith(`${ds ? 'datasets' : 'models'}/${repo}/`));
    res.writeHead(404, { 'x-error-code': repoKnown ? 'EntryNotFound' : 'RepoNotFound', 'content-type': 'application/json' })
      .end(JSON.stringify({ error: repoKnown ? 'Entry not found' : 'Repository not found' }));
    return;
  }
  const buf = Buffer.from(body);
  const range = req.headers.range;
  const etag = '"e' + buf.length + '"';
  if (range) {
    const r = /bytes=(\d+)-(\d+)/.exec(range)!;
    const s = Number(r[1]);
    const e = Math.min(Number(r[2]), buf.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${buf.length}`, etag, 'content-type': 'text/plain' }).end(buf.subarray(s, e + 1));
  } else {
    res.writeHead(200, { 'content-length': buf.length, etag, 'content-type': 'text/plain' }).end(buf);
  }
}

before(async () => {
  server = createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const fast = { retryBaseMs: 5, timeoutMs: 300, retries: 3, offline: false } as const;

test('isHubId accepts ids and rejects paths', () => {
  for (const ok of ['distilbert-base-uncased', 'distilbert/distilbert-base-uncased-finetuned-sst-2-english', 'a.b_c/x-1']) {
    assert.equal(isHubId(ok), true, ok);
  }
  for (const bad of ['', '../x', 'a/../b', '/abs', './x', 'a/b/c', 'a\\b', 'C:\\x', 'a\nb', 'a--b', 'x/', '.hidden', 'a b', 'x'.repeat(97)]) {
    assert.equal(isHubId(bad), false, JSON.stringify(bad));
  }
});

test('downloadFile fetches into the cache, then reuses it offline', async () => {
  const cache = tempDir();
  try {
    const p = await downloadFile('acme/tiny', 'config.json', { endpoint, cacheDir: cache.path, ...fast });
    assert.ok(p.startsWith(cache.path));
    assert.equal(readFileSync(p, 'utf8'), '{"dim": 8}');
    const before = hits['/acme/tiny/resolve/main/config.json'];
    const again = await downloadFile('acme/tiny', 'config.json', { endpoint, cacheDir: cache.path, offline: true });
    assert.equal(again, p);
    assert.equal(hits['/acme/tiny/resolve/main/config.json'], before, 'offline must not touch the network');
    await assert.rejects(
      downloadFile('acme/tiny', 'README.md', { endpoint, cacheDir: cache.path, offline: true }),
      (e: unknown) => e instanceof UserError && /offline/.test(e.message) && /acme\/tiny\/README\.md/.test(e.message),
    );
    // no temp files left behind
    const snap = readdirSync(p.replace(/config\.json$/, ''));
    assert.deepEqual(snap, ['config.json']);
  } finally {
    cache.cleanup();
  }
});

test('dataset repos resolve under /datasets/ and HF_ENDPOINT / HF_TOKEN / HF_HUB_OFFLINE are honoured', async () => {
  const cache = tempDir();
  const saved = { ...process.env };
  try {
    process.env.HF_ENDPOINT = endpoint;
    process.env.HF_TOKEN = 'secret-token';
    process.env.TUNESCOPE_HUB_CACHE = cache.path;
    delete process.env.HF_HUB_OFFLINE;
    const p = await downloadFile('stanfordnlp/sst2', 'data/train.parquet', { repoType: 'dataset', retryBaseMs: 5 });
    assert.equal(readFileSync(p, 'utf8'), 'PAR1-fake');
    assert.ok(p.startsWith(cache.path));
    assert.ok(authSeen.includes('Bearer secret-token'));
    process.env.HF_HUB_OFFLINE = '1';
    assert.equal(await downloadFile('stanfordnlp/sst2', 'data/train.parquet', { repoType: 'dataset' }), p);
  } finally {
    process.env = saved;
    cache.cleanup();
  }
});

test('429 (Retry-After) and 500 are retried; a stalled request times out and is retried', async () => {
  const cache = tempDir();
  try {
    const a = await downloadFile('acme/flaky429', 'README.md', { endpoint, cacheDir: cache.path, ...fast });
    assert.equal(readFileSync(a, 'utf8'), 'after 429');
    const b = await downloadFile('acme/flaky500', 'README.md', { endpoint, cacheDir: cache.path, ...fast });
    assert.equal(readFileSync(b, 'utf8'), 'after 500');
    const c = await downloadFile('acme/slow', 'README.md', { endpoint, cacheDir: cache.path, ...fast });
    assert.equal(readFileSync(c, 'utf8'), 'slow');
    assert.ok(hits['/acme/slow/resolve/main/README.md']! >= 2);
  } finally {
    cache.cleanup();
  }
});

test('a request that never answers ends in a clear timeout error', async () => {
  const cache = tempDir();
  try {
    await assert.rejects(
      downloadFile('acme/hang', 'README.md', { endpoint, cacheDir: cache.path, retryBaseMs: 1, timeoutMs: 100, retries: 1, offline: false }),
      (e: unknown) => e instanceof UserError && /timed out/.test(e.message) && /2 attempts/.test(e.message),
    );
  } finally {
    cache.cleanup();
  }
});

test('a server that keeps failing ends in one error naming the status and the attempts', async () => {
  const cache = tempDir();
  try {
    await assert.rejects(
      downloadFile('acme/down', 'README.md', { endpoint, cacheDir: cache.path, retryBaseMs: 1, retries: 2, offline: false }),
      (e: unknown) => e instanceof UserError && /after 3 attempts/.test(e.message) && /HTTP 503/.test(e.message),
    );
    assert.equal(hits['/acme/down/resolve/main/README.md'], 3);
  } finally {
    cache.cleanup();
  }
});

test('404 for a missing file or repo is a UserError naming it', async () => {
  const cache = tempDir();
  try {
    await assert.rejects(
      downloadFile('acme/tiny', 'model.safetensors', { endpoint, cacheDir: cache.path, ...fast }),
      (e: unknown) => e instanceof UserError && /not found/.test(e.message) && /acme\/tiny\/model\.safetensors/.test(e.message),
    );
    await assert.rejects(
      downloadFile('acme/nope', 'config.json', { endpoint, cacheDir: cache.path, ...fast }),
      (e: unknown) => e instanceof UserError && /not found/.test(e.message) && /acme\/nope/.test(e.message),
    );
  } finally {
    cache.cleanup();
  }
});

test('snapshotFiles returns one folder holding only the files that exist', async () => {
  const cache = tempDir();
  try {
    const dir = await snapshotFiles('acme/tiny', ['config.json', 'model.safetensors', 'README.md'], { endpoint, cacheDir: cache.path, ...fast });
    assert.deepEqual(readdirSync(dir).sort(), ['README.md', 'config.json']);
    // offline: the known-missing file is remembered, so the snapshot still resolves
    const again = await snapshotFiles('acme/tiny', ['config.json', 'model.safetensors', 'README.md'], { endpoint, cacheDir: cache.path, offline: true });
    assert.equal(again, dir);
  } finally {
    cache.cleanup();
  }
});

test('path-escape attempts are rejected before any request', async () => {
  const cache = tempDir();
  try {
    const n = Object.values(hits).reduce((a, b) => a + b, 0);
    for (const [repo, path] of [
      ['../evil', 'README.md'],
      ['/etc', 'passwd'],
      ['acme/tiny', '../../../etc/passwd'],
      ['acme/tiny', '/etc/passwd'],
      ['acme/tiny', 'a\\..\\b'],
      ['acme/tiny', 'a/./b'],
      ['acme/tiny', 'x\u0000y'],
    ] as const) {
      await assert.rejects(downloadFile(repo, path, { endpoint, cacheDir: cache.path, ...fast }), UserError, `${repo} ${path}`);
    }
    await assert.rejects(downloadFile('acme/tiny', 'README.md', { endpoint, cacheDir: cache.path, ...fast, revision: '../..' }), UserError);
    assert.equal(Object.values(hits).reduce((a, b) => a + b, 0), n);
    assert.equal(existsSync(cache.path) && readdirSync(cache.path).length, 0);
  } finally {
    cache.cleanup();
  }
});

test('listModels follows Link-header pages, maps filters to tags, caches the listing for offline use', async () => {
  const cache = tempDir();
  try {
    const filter = { base_model: 'distilbert/distilbert-base-uncased-finetuned-sst-2-english' };
    const got = [];
    for await (const m of listModels({ endpoint, cacheDir: cache.path, filter, ...fast })) got.push(m);
    assert.deepEqual(got.map((m) => m.id), models.map((m) => m.id));
    assert.equal(got[0]!.pipelineTag, 'text-classification');
    assert.ok(got[0]!.tags!.includes('transformers'));
    const limited = [];
    for await (const m of listModels({ endpoint, cacheDir: cache.path, filter, limit: 3, ...fast })) limited.push(m.id);
    assert.equal(limited.length, 3);
    const none = [];
    for await (const m of listModels({ endpoint, cacheDir: cache.path, filter: { base_model: 'other/model' }, ...fast })) none.push(m);
    assert.equal(none.length, 0);
    const offline = [];
    for await (const m of listModels({ endpoint, cacheDir: cache.path, filter, offline: true })) offline.push(m.id);
    assert.deepEqual(offline, got.map((m) => m.id));
  } finally {
    cache.cleanup();
  }
});
