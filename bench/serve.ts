/**
 * Dashboard benchmark: a finished 144-trial study (grid_full) served on the loopback while a writer heartbeats
 * every 200 ms (each commit is pushed to every listener), 50 Server-Sent-Events clients connected, and autocannon
 * driving the trials API for 10 s — first at a fixed 200 requests/s (the goal: p99 < 100 ms), then flat out.
 * Prints requests/s, p50/p90/p99 latency, errors, and the events each stream received.
 */
import autocannon from 'autocannon';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openSqliteStore } from '../src/store/index.js';
import { startServer } from '../src/server/index.js';
import { makeStudyDb } from '../test/report/helpers.js';
import { sseClient } from '../test/server/helpers.js';

export const name = 'serve';

const CLIENTS = 50;
const SECONDS = 10;

function load(url: string, rate: number | null): Promise<autocannon.Result> {
  return autocannon({ url, connections: 10, duration: SECONDS, ...(rate ? { overallRate: rate } : {}) });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bench-serve-'));
  const db = join(dir, 'grid.sqlite');
  try {
    await makeStudyDb(db);
    const server = await startServer({ stores: [db], port: 0 });
    const writer = openSqliteStore(db);
    await writer.startRun({ id: 'bench', host: 'bench', pid: process.pid, workers: 1, threadsPerWorker: 1 });
    const beat = setInterval(() => void writer.heartbeat('bench'), 200);
    const clients = Array.from({ length: CLIENTS }, () => sseClient(server.url, '/api/events?study=grid'));
    try {
      const statuses = await Promise.all(clients.map((c) => c.opened));
      const url = `${server.url}/api/studies/grid/trials`;
      const size = (await (await fetch(url)).text()).length;
      console.log(`${CLIENTS} event streams open (${statuses.filter((s) => s === 200).length} × 200), a writer committing every 200 ms; GET /api/studies/grid/trials = 144 trials, ${(size / 1024).toFixed(0)} KiB JSON`);
      for (const rate of [200, null]) {
        const before = clients.reduce((n, c) => n + c.events.length, 0);
        const r = await load(url, rate);
        const events = clients.reduce((n, c) => n + c.events.length, 0) - before;
        console.log(
          `  ${rate ? `fixed ${rate} req/s` : 'flat out      '}, 10 connections, ${SECONDS} s: ${r.requests.average.toFixed(0)} req/s, latency p50 ${r.latency.p50} ms, p90 ${r.latency.p90} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; ${r.errors} errors, ${r.non2xx} non-2xx; ${(events / CLIENTS).toFixed(0)} events per stream`,
        );
      }
    } finally {
      clearInterval(beat);
      for (const c of clients) c.close();
      await writer.close();
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
