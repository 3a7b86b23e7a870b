/** Dashboard test helpers: a study spec for the fake runner, a store holding hostile strings, HTTP without fetch's URL normalisation. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { openSqliteStore } from '../../src/store/index.js';

/** 3 learning rates × 2 batch sizes × 2 seeds = 12 trials; `fakeMs` per trial (fake runner). */
export function writeFakeSpec(dir: string, opts: { name?: string; fakeMs?: number; workers?: number; store?: string } = {}): string {
  const p = join(dir, `${opts.name ?? 'live'}.yaml`);
  writeFileSync(
    p,
    `name: ${opts.name ?? 'live'}
model: distilbert-base-uncased
dataset: {name: sst2}
baseline: {config: {learning_rate: 3.0e-5, per_device_train_batch_size: 8}}
design:
  type: grid
  factors:
    learning_rate: [1.0e-5, 3.0e-5, 1.0e-4]
    per_device_train_batch_size: [8, 16]
seeds: [1, 2]
args: {num_train_epochs: 2, fake_ms: ${opts.fakeMs ?? 0}}
execution: {workers: ${opts.workers ?? 2}, threads_per_worker: 1}
analysis: {allow_aliased: true}
store: ${opts.store ?? `./runs/${opts.name ?? 'live'}.sqlite`}
`,
  );
  return p;
}

export const HOSTILE = {
  name: 'x<img src=x onerror="window.__pwned=1">',
  model: '<script>window.__pwned=1</script>/model',
  error: 'failed: <script>window.__pwned=1</script>',
};

/** A finished-and-failed study whose name, model id and error message are HTML. */
export async function makeHostileStore(path: string): Promise<void> {
  const store = openSqliteStore(path);
  try {
    await store.createStudy({
      name: HOSTILE.name,
      spec: { name: HOSTILE.name, model: { kind: 'pretrained', id: HOSTILE.model }, design: { type: 'grid', factors: [{ name: 'learning_rate' }] }, seeds: [1] },
      specHash: 'x',
      tunescopeVersion: '0.0.0',
    });
    await store.addTrials([{ id: 'bad', ordinal: 0, kind: 'train', config: { learning_rate: 1 }, seed: 1, inDesign: true, isBaseline: false }]);
    await store.startRun({ id: 'r', host: 'h', pid: 1, workers: 1, threadsPerWorker: 1 });
    await store.claimNext('r', 'w1');
    await store.failTrial('bad', 'r', HOSTILE.error);
    await store.finishRun('r');
  } finally {
    await store.close();
  }
}

/** GET a raw request path (fetch would resolve `..` before sending it). */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SseClient {
  events: { event: string; data: unknown }[];
  /** resolves once the stream is open (status 200 and headers received) */
  opened: Promise<number>;
  close(): void;
}

/** A minimal EventSource for Node: collects `event:`/`data:` pairs until closed. */
export function sseClient(base: string, path: string, onEvent?: (event: string, data: unknown) => void): SseClient {
  const u = new URL(base);
  const events: SseClient['events'] = [];
  let req: http.ClientRequest | null = null;
  const opened = new Promise<number>((resolve, reject) => {
    req = http.get({ host: u.hostname, port: u.port, path, headers: { accept: 'text/event-stream' } }, (res) => {
      resolve(res.statusCode ?? 0);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const parsed = JSON.parse(data.join('\n')) as unknown;
          events.push({ event, data: parsed });
          onEvent?.(event, parsed);
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => reject(e));
  });
  return {
    events,
    opened,
    close: () => {
      req?.destroy();
    },
  };
}
