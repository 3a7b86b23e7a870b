/**
 * Dashboard security over real HTTP: a non-loopback bind needs a token; with one, requests without it get 401
 * (bearer header, one-time login URL and ?token= give a session cookie); no request path reaches a file outside
 * the bundled assets; pages carry a strict CSP and no inline script; the Host header must be the loopback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startServer, type DashboardServer } from '../../src/server/index.js';
import { makeStudyDb } from '../report/helpers.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { HOSTILE, makeHostileStore, rawGet } from './helpers.js';

const TOKEN = 'correct-horse-battery-staple';
const dir = tempDir();
const db = join(dir.path, 'grid.sqlite');
const hostileDb = join(dir.path, 'hostile.sqlite');
let open: DashboardServer;
let locked: DashboardServer;

before(async () => {
  await makeStudyDb(db, { limit: 12 });
  await makeHostileStore(hostileDb);
  open = await startServer({ stores: [db, hostileDb], port: 0 });
  // every address, so the token is what protects it (the test connects through the loopback)
  locked = await startServer({ stores: [db], host: '0.0.0.0', port: 0, token: TOKEN });
});
after(async () => {
  await open?.close();
  await locked?.close();
  dir.cleanup();
});

const lockedBase = () => `http://127.0.0.1:${locked.port}`;

test('binding beyond the loopback without a token is refused with one clear line', async () => {
  await assert.rejects(startServer({ stores: [db], host: '0.0.0.0', port: 0 }), /binding 0\.0\.0\.0 exposes the dashboard beyond this machine: pass --token/);
  await assert.rejects(startServer({ stores: [db], host: '0.0.0.0', port: 0, token: 'short' }), /--token must be at least 16 characters/);
  const r = runCli(['serve', db, '--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tunescope: error: binding 0\.0\.0\.0 exposes the dashboard beyond this machine: pass --token/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const bad = runCli(['serve', db, '--port', 'http']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--port must be an integer/);
  await assert.rejects(startServer({ stores: [join(dir.path, 'missing.sqlite')], port: 0 }), /study store not found/);
});

test('with a token: 401 without it; bearer header, one-time login URL and ?token= work', async () => {
  for (const path of ['/', '/api/studies', '/studies/grid', '/assets/app.js', '/api/events', '/api/studies/grid/export.csv', '/nope']) {
    const r = await rawGet(lockedBase(), path);
    assert.equal(r.status, 401, path);
    assert.ok(!r.body.includes('learning_rate'), `${path} leaks nothing`);
  }
  assert.equal((await rawGet(lockedBase(), '/api/studies', { authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
  const ok = await rawGet(lockedBase(), '/api/studies', { authorization: `Bearer ${TOKEN}` });
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as { name: string }[])[0]!.name, 'grid');

  // one-time login URL: sets an HttpOnly session cookie and redirects to the URL without the code; the code then is spent
  const login = new URL(locked.loginUrl()!);
  const first = await rawGet(lockedBase(), login.pathname + login.search);
  assert.equal(first.status, 303);
  assert.equal(first.headers.location, '/');
  const cookie = String(first.headers['set-cookie']).split(';')[0]!;
  assert.match(String(first.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  assert.equal((await rawGet(lockedBase(), '/api/studies', { cookie })).status, 200);
  assert.equal((await rawGet(lockedBase(), login.pathname + login.search)).status, 401, 'a login code works once');
  assert.equal((await rawGet(lockedBase(), '/api/studies', { cookie: 'tunescope_session=forged' })).status, 401);
  const viaQuery = await rawGet(lockedBase(), `/studies/grid?token=${TOKEN}`);
  assert.equal(viaQuery.status, 303);
  assert.equal(viaQuery.headers.location, '/studies/grid');
});

test('no request path reaches the filesystem: traversal, encoded traversal and absolute paths are 404', async () => {
  const secret = readFileSync(join(ROOT, 'package.json'), 'utf8');
  const paths = [
    '/assets/../package.json',
    '/assets/..%2fpackage.json',
    '/assets/%2e%2e%2fpackage.json',
    '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/assets/..%5cpackage.json',
    '/assets/%252e%252e%252fpackage.json',
    '/assets//etc/passwd',
    '/assets/%2fetc%2fpasswd',
    '/../../../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '//etc/passwd',
    '/etc/passwd',
    '/package.json',
    '/src/server/app.ts',
    '/studies/..%2f..%2fpackage.json',
    '/api/studies/..%2fgrid/trials',
    '/api/studies/grid/trials/..%2f..%2f..%2fetc%2fpasswd',
    '/api/studies/grid/report-..%2f..%2fpackage.csv',
    `/api/studies/${encodeURIComponent(db)}/trials`,
    '/assets/node_modules/vega/package.json',
  ];
  for (const p of paths) {
    const r = await rawGet(open.url, p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.includes('root:') && !r.body.includes(secret.slice(0, 60)), `${p} leaks a file`);
  }
  // what is served: the bundled builds and the app's own files
  for (const a of ['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js', 'app.js', 'app.css', 'report.css']) assert.equal((await rawGet(open.url, `/assets/${a}`)).status, 200, a);
});

test('pages carry a strict CSP and no inline script; a foreign Host header is refused; store values are escaped', async () => {
  const page = await rawGet(open.url, '/studies/grid');
  assert.equal(page.status, 200);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), csp);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  for (const tag of page.body.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /src="\/assets\/[a-z.-]+\.js"/);
  assert.ok(!/<script\b[^>]*>[^<]+<\/script>/.test(page.body), 'no inline script body');
  // DNS rebinding: a page on another name must not reach a token-less dashboard
  assert.equal((await rawGet(open.url, '/api/studies', { host: 'attacker.example' })).status, 403);
  assert.equal((await rawGet(open.url, '/api/studies', { host: `localhost:${open.port}` })).status, 200);
  // the hostile store: JSON carries the strings as data; HTML pages never contain them unescaped
  const hostileId = open.studies.find((s) => s.name === HOSTILE.name)!.id;
  const shell = await rawGet(open.url, `/studies/${hostileId}`);
  assert.equal(shell.status, 200);
  assert.ok(!shell.body.includes('<img') && !shell.body.includes('window.__pwned'));
  const trials = JSON.parse((await rawGet(open.url, `/api/studies/${hostileId}/trials`)).body) as { trials: { error: string }[] };
  assert.equal(trials.trials[0]!.error, HOSTILE.error);
  const sse = await rawGet(open.url, `/api/studies/${hostileId}/export.csv?all=1`);
  assert.match(String(sse.headers['content-disposition']), /^attachment; filename="x_img_src_x_onerror_window.__pwned_1_.*\.csv"$/);
});
