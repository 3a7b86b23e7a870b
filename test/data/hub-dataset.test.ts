/** Hub datasets by id (stanfordnlp/sst2 parquet layout) through src/hub against a local Hub-shaped server; offline from cache. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadDataset } from '../../src/data/index.js';
import { tempDir } from '../helpers.js';

let server: Server;
let endpoint = '';
const requested: string[] = [];

function parquet(sentences: string[], labels: number[]): Buffer {
  return Buffer.from(parquetWriteBuffer({ columnData: [
    { name: 'idx', data: sentences.map((_, i) => i), type: 'INT32' },
    { name: 'sentence', data: sentences, type: 'STRING' },
    { name: 'label', data: labels.map((l) => BigInt(l)), type: 'INT64' },
  ] }));
}

const files: Record<string, Buffer> = {
  'data/train-00000-of-00001.parquet': parquet(['hide new secretions from the parental units ', 'contains no wit , only labored gags ', 'that loves its characters '], [0, 0, 1]),
  'data/validation-00000-of-00001.parquet': parquet(["it 's a charming and often affecting journey . ", 'unflinchingly bleak and desperate '], [1, 0]),
};

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requested.push(url.pathname);
    const m = /^\/datasets\/stanfordnlp\/sst2\/resolve\/[^/]+\/(.+)$/.exec(url.pathname);
    const body = m ? files[decodeURIComponent(m[1]!)] : undefined;
    if (!body) {
      res.writeHead(404, { 'x-error-code': m ? 'EntryNotFound' : 'RepoNotFound', 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const range = req.headers.range ? /bytes=(\d+)-(\d+)/.exec(req.headers.range) : null;
    if (range) {
      const s = Number(range[1]);
      const e = Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${body.length}`, etag: '"e"' }).end(body.subarray(s, e + 1));
    } else {
      res.writeHead(200, { 'content-length': body.length, etag: '"e"' }).end(req.method === 'HEAD' ? undefined : body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

test('stanfordnlp/sst2 parquet splits download once, then load offline from the cache', async () => {
  const t = tempDir();
  try {
    const hub = { endpoint, cacheDir: t.path, offline: false, retries: 1, retryBaseMs: 5, timeoutMs: 2000 };
    const d = await loadDataset({ name: 'stanfordnlp/sst2', hub });
    assert.deepEqual(d.train.map((e) => e.label), [0, 0, 1]);
    assert.equal(d.eval.length, 2);
    assert.equal(d.eval[0]!.text, "it 's a charming and often affecting journey . ");
    assert.match(d.source, /hf:\/\/datasets\/stanfordnlp\/sst2/);
    assert.ok(requested.some((p) => p.endsWith('data/train-00000-of-00001.parquet')));
    const before = requested.length;
    const off = await loadDataset({ name: 'stanfordnlp/sst2', hub: { ...hub, offline: true } });
    assert.deepEqual(off.train, d.train);
    assert.equal(requested.length, before, 'offline mode makes no requests');
    await assert.rejects(loadDataset({ name: 'acme/absent', hub }), /not found|no 'train' split/i);
  } finally {
    t.cleanup();
  }
});
