import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startPostgres, startRedis } from './services.js';

test('private PostgreSQL: initdb, connect, restart keeps the data, stop removes it', async () => {
  const svc = await startPostgres();
  try {
    const url = await svc.createDatabase('t1');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('CREATE TABLE x (v int)');
    await c.query('INSERT INTO x VALUES (7)');
    await c.end();
    await svc.restart();
    const c2 = new pg.Client({ connectionString: url });
    await c2.connect();
    assert.deepEqual((await c2.query('SELECT v FROM x')).rows, [{ v: 7 }]);
    await c2.end();
  } finally {
    svc.stop();
  }
});

test('private Redis: append-only file survives a restart', async () => {
  const svc = await startRedis();
  try {
    const r = new Redis(svc.url, { maxRetriesPerRequest: null });
    await r.set('k', 'v');
    await svc.restart();
    assert.equal(await r.get('k'), 'v'); // ioredis reconnects by itself
    r.disconnect();
  } finally {
    await svc.stop();
  }
});
