/** cards harvest against a local node:http server shaped like the Hub: listing by base_model tag, README files, 429/500/404/timeout. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { baseModelFilters, baselineFromCard, harvestCards } from '../../src/cards/index.js';
import { sharedPath, spawnCli, tempDir } from '../helpers.js';

const BASE = 'distilbert/distilbert-base-uncased-finetuned-sst-2-english';
const card = (name: string, lr: string, acc: string): string =>
  `---\nlicense: apache-2.0\ntags:\n- generated_from_trainer\nmodel-index:\n- name: ${name}\n  results: []\n---\n# ${name}\n\nThis model is a fine-tuned version of [distilbert-base-uncased-finetuned-sst-2-english](https://huggingface.co/distilbert-base-uncased-finetuned-sst-2-english) on the glue dataset.\nIt achieves the following results on the evaluation set:\n- Loss: 0.3\n- Accuracy: ${acc}\n\n### Training hyperparameters\n- learning_rate: ${lr}\n- train_batch_size: 16\n- seed: 42\n- num_epochs: 3\n`;

const readmes: Record<string, string> = {
  [BASE]: `---\nmodel-index:\n- name: base\n  results:\n  - task:\n      type: text-classification\n    dataset:\n      name: glue\n      type: glue\n      split: validation\n    metrics:\n    - type: accuracy\n      value: 0.9105504587155964\n---\n# base\n`,
  'u1/good': card('good', '2e-05', '0.91'),
  'u2/flaky429': card('flaky429', '3e-05', '0.92'),
  'u3/flaky500': card('flaky500', '5e-05', '0.90'),
  'u4/slow': card('slow', '1e-05', '0.89'),
  'u6/legacy': card('legacy', '4e-05', '0.88'),
  'u7/bomb': `---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n---\n${card('bomb', '2e-05', '0.5')}`,
  // u5/missing has no README (404); u8/hang never answers
};
const listed: Array<{ id: string; tag: string }> = [
  { id: 'u1/good', tag: `base_model:finetune:${BASE}` },
  { id: 'u2/flaky429', tag: `base_model:finetune:${BASE}` },
  { id: 'u3/flaky500', tag: `base_model:${BASE}` },
  { id: 'u4/slow', tag: `base_model:${BASE}` },
  { id: 'u5/missing', tag: `base_model:${BASE}` },
  { id: 'u1/good', tag: `base_model:${BASE}` }, // listed under two filters: one row
  { id: 'u6/legacy', tag: 'base_model:distilbert-base-uncased-finetuned-sst-2-english' },
  { id: 'u7/bomb', tag: `base_model:finetune:${BASE}` },
  { id: 'u8/hang', tag: `base_model:finetune:${BASE}` },
  { id: 'x/unrelated', tag: 'base_model:bert-base-uncased' },
];

let server: Server;
let endpoint = '';
const hits: Record<string, number> = {};
let listing429 = true;

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', endpoint);
  hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
  if (url.pathname === '/api/models') {
    if (listing429) {
      listing429 = false;
      res.writeHead(429, { 'retry-after': '0' }).end('rate limited');
      return;
    }
    const filters = url.searchParams.getAll('filter');
    const page = listed
      .filter((m) => filters.every((f) => m.tag === f))
      .map((m) => ({ _id: m.id, id: m.id, pipeline_tag: 'text-classification', tags: [m.tag], private: false, downloads: 1, likes: 0, lastModified: '2024-01-01T00:00:00.000Z', gated: false }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    return;
  }
  const m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  const repo = m[1];
  const n = hits[url.pathname];
  if (repo === 'u2/flaky429' && n === 1) return void res.writeHead(429, { 'retry-after': '0' }).end();
  if (repo === 'u3/flaky500' && n === 1) return void res.writeHead(500).end('boom');
  if (repo === 'u4/slow' && n === 1) return; // times out once, then answers
  if (repo === 'u8/hang') return;
  const body = readmes[repo];
  if (body === undefined || m[3] !== 'README.md') {
    res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Entry not found' }));
    return;
  }
  const buf = Buffer.from(body);
  const etag = `"e${buf.length}"`;
  // @huggingface/hub probes with "Range: bytes=0-0" and reads the size from Content-Range, as the Hub answers.
  const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (range) {
    const s = Number(range[1]);
    const e = Math.min(Number(range[2]), buf.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${buf.length}`, etag, 'content-type': 'text/plain' }).end(buf.subarray(s, e + 1));
    return;
  }
  res.writeHead(200, { 'content-length': buf.length, etag, 'content-type': 'text/plain' }).end(buf);
}

before(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const fast = { retryBaseMs: 5, timeoutMs: 300, retries: 2 };

test('filters cover base_model:finetune:<id>, base_model:<id> and the old id without owner', () => {
  assert.deepEqual(baseModelFilters(BASE), [
    `base_model:finetune:${BASE}`,
    'base_model:finetune:distilbert-base-uncased-finetuned-sst-2-english',
    `base_model:${BASE}`,
    'base_model:distilbert-base-uncased-finetuned-sst-2-english',
  ]);
  assert.ok(baseModelFilters('distilbert-base-uncased-finetuned-sst-2-english').includes(`base_model:${BASE}`));
  assert.throws(() => baseModelFilters('../etc/passwd'), /not a Hugging Face Hub model id/);
});

test('harvest: 429/500/timeout retried, 404 and a hanging repo become warnings, YAML bomb contained, then offline from the cache', async () => {
  const cache = tempDir();
  try {
    const hub = { endpoint, cacheDir: cache.path, offline: false, ...fast };
    const r = await harvestCards({ base: BASE, hub });
    const ids = r.records.map((x) => x.values.model_id);
    assert.deepEqual([...ids].sort(), ['u1/good', 'u2/flaky429', 'u3/flaky500', 'u4/slow', 'u5/missing', 'u6/legacy', 'u7/bomb', 'u8/hang']);
    const by = new Map(r.records.map((x) => [x.values.model_id, x]));
    assert.equal(by.get('u1/good')!.values.learning_rate, 2e-5);
    assert.equal(by.get('u1/good')!.source, `${endpoint}/u1/good`);
    // the card names no task: the Hub listing's pipeline_tag decides it
    assert.equal(by.get('u1/good')!.values.task, 'text-classification');
    assert.equal(by.get('u1/good')!.taskBasis, 'Hub pipeline_tag');
    assert.equal(by.get('u1/good')!.provenance.task, 'hub');
    assert.equal(by.get('u2/flaky429')!.values.eval_accuracy, 0.92);
    assert.equal(by.get('u3/flaky500')!.values.learning_rate, 5e-5);
    assert.equal(by.get('u4/slow')!.values.eval_accuracy, 0.89);
    assert.equal(by.get('u6/legacy')!.values.learning_rate, 4e-5);
    assert.match(by.get('u5/missing')!.warnings.join(' '), /README\.md not fetched: not found/);
    assert.match(by.get('u8/hang')!.warnings.join(' '), /README\.md not fetched: .*timed out/);
    assert.match(by.get('u7/bomb')!.warnings.join(' '), /front matter/);
    assert.equal(by.get('u7/bomb')!.values.eval_accuracy, 0.5);
    for (const id of ['u1/good', 'u2/flaky429', 'u3/flaky500', 'u4/slow', 'u6/legacy']) assert.deepEqual(by.get(id)!.warnings, [], id);
    // cache holds the cards under the cache dir only
    assert.ok(readdirSync(cache.path).some((d) => d.startsWith('models--u1--good')));

    const hitsBefore = { ...hits };
    const off = await harvestCards({ base: BASE, hub: { ...hub, offline: true } });
    assert.deepEqual(hits, hitsBefore, 'offline harvest makes no request');
    const offBy = new Map(off.records.map((x) => [x.values.model_id, x]));
    assert.equal(offBy.get('u2/flaky429')!.values.eval_accuracy, 0.92);
    assert.equal(off.records.length, r.records.length);
    // the base card was cached during the harvest: the baseline resolves offline
    const b = await baselineFromCard(BASE, { hub: { ...hub, offline: true } });
    assert.equal(b.metrics.accuracy, 0.9105504587155964);
  } finally {
    cache.cleanup();
  }
});

test('a listed id that would escape the cache is skipped with a warning', async () => {
  listed.push({ id: '../evil', tag: 'base_model:finetune:acme/evilbase' });
  const cache = tempDir();
  try {
    const r = await harvestCards({ base: 'acme/evilbase', hub: { endpoint, cacheDir: cache.path, offline: false, ...fast } });
    assert.equal(r.records.length, 1);
    assert.match(r.records[0].warnings[0], /not a valid Hub repo id/);
  } finally {
    listed.pop();
    cache.cleanup();
  }
});

test('CLI: cards harvest --limit --out with HF_ENDPOINT, then --offline from --cache', async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'cards.csv');
    const env = { HF_ENDPOINT: endpoint, HF_HUB_OFFLINE: '0' };
    const args = ['cards', 'harvest', '--base', BASE, '--limit', '2', '--out', out, '--cache', join(dir.path, 'cache'), '--timeout', '300', '--retries', '2'];
    const r = await spawnCli(args, { env }).exited;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote 2 card\(s\)/);
    const rows = parse(readFileSync(out), { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(rows.map((x) => x.model_id), ['u1/good', 'u2/flaky429']);
    assert.equal(rows[0].learning_rate, '0.00002');
    assert.equal(rows[0].model_id_source, 'hub');
    const hitsBefore = { ...hits };
    const off = await spawnCli([...args, '--offline'], { env }).exited;
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(hits, hitsBefore, '--offline makes no request');
    assert.deepEqual((parse(readFileSync(out), { columns: true }) as Array<Record<string, string>>).map((x) => x.eval_accuracy), ['0.91', '0.92']);
    const bad = await spawnCli(['cards', 'harvest', '--base', '../x'], { env }).exited;
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tunescope: error: --base "..\/x" is not a Hugging Face Hub model id/);
  } finally {
    dir.cleanup();
  }
});

test('CLI: cards ingest writes one row per card with provenance and a per-epoch CSV', async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'cards.csv');
    const epochs = join(dir.path, 'epochs.csv');
    const r = await spawnCli(['cards', 'ingest', sharedPath('fixtures', 'cards', 'raw'), '--out', out, '--epochs-out', epochs]).exited;
    assert.equal(r.code, 0, r.stderr);
    const rows = parse(readFileSync(out), { columns: true }) as Array<Record<string, string>>;
    assert.equal(rows.length, 59);
    const alk = rows.find((x) => x.model_id === 'alk/distilbert-base-uncased-finetuned-header-classifier')!;
    assert.equal(alk.eval_accuracy, '', 'absent stays empty, not 0');
    assert.equal(alk.effective_train_batch_size, '64');
    assert.equal(alk.learning_rate_source, 'text');
    const base = rows.find((x) => x.model_id === BASE)!;
    assert.equal(base.eval_accuracy_source, 'front_matter');
    assert.ok(base.source.endsWith('distilbert__distilbert-base-uncased-finetuned-sst-2-english.md'));
    const ep = parse(readFileSync(epochs), { columns: true }) as Array<Record<string, string>>;
    assert.ok(ep.length > 100);
    assert.ok(ep.every((e) => e.model_id !== '' && e.epoch !== ''));
    const missing = await spawnCli(['cards', 'ingest', join(dir.path, 'nope')]).exited;
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read folder/);
    // a bad --out fails before anything is written, so --epochs-out is not left behind alone
    const epochs2 = join(dir.path, 'epochs2.csv');
    const badOut = await spawnCli(['cards', 'ingest', sharedPath('fixtures', 'cards', 'raw'), '--out', join(dir.path, 'nope', 'c.csv'), '--epochs-out', epochs2]).exited;
    assert.equal(badOut.code, 2);
    assert.match(badOut.stderr.trim(), /^tunescope: error: --out .*c\.csv: the folder .*nope does not exist$/);
    assert.equal(existsSync(epochs2), false);
  } finally {
    dir.cleanup();
  }
});
