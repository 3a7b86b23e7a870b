/**
 * `tunescope serve`: a live, read-only web dashboard over one or more study stores — progress, trials, training
 * curves and the report's analysis, pushed to the browser as the stores change. Fastify serves it; the charts are
 * the report's Vega-Lite specs, with the vega builds served from node_modules.
 */
import { isIP } from 'node:net';
import { openStore, type StudyStore } from '../store/index.js';
import type { StudyEvent } from '../study/index.js';
import { UserError, tunescopeVersion } from '../util/index.js';
import { createApp } from './app.js';
import { ServedStudy } from './study.js';

export type { StudySummaryView, TrialView, AnalysisView, WorkerActivity, StepLog } from './study.js';
export { curveCharts } from './curves.js';
export type { CurveCharts, TrialCurves } from './curves.js';

export interface ServeOptions {
  /** store locations (SQLite paths or postgres:// URLs), or stores opened by the caller (closed by them) */
  stores: (string | { store: StudyStore; label?: string })[];
  host?: string;
  port?: number;
  token?: string | null;
  /** ms between change checks while a page listens (default 250) */
  pollMs?: number;
}

export interface DashboardServer {
  url: string;
  /** the URL to open in a browser: with a token, a one-time login URL */
  openUrl: string;
  host: string;
  port: number;
  studies: { id: string; name: string; location: string }[];
  /** hand the in-process events of a running study to the dashboard (per-step loss and learning rate) */
  studyEvent(location: string, e: StudyEvent): void;
  /** a fresh one-time login URL (null without a token) */
  loginUrl(): string | null;
  /** open event-stream connections */
  clients(): number;
  /** per study: how many times its report was built, and how many states of its finished trials the server saw */
  analysisBuilds(): Record<string, { builds: number; states: number }>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

/** A URL-safe id from a study name, unique among the served ones. */
function slug(name: string, taken: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'study';
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  taken.add(id);
  return id;
}

/** Check the serve flags before opening anything (one clear error each). */
export function checkServeOptions(o: { host: string; port: number; token: string | null }): void {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UserError(`--port must be an integer from 0 to 65535 (got ${o.port})`);
  if (o.host !== 'localhost' && isIP(o.host.replace(/^\[|\]$/g, '')) === 0) throw new UserError(`--host must be an IP address or localhost (got ${JSON.stringify(o.host)})`);
  if (o.token !== null && o.token.length < 16) throw new UserError('--token must be at least 16 characters (e.g. `openssl rand -hex 16`)');
  if (!isLoopback(o.host) && o.token === null)
    throw new UserError(`binding ${o.host} exposes the dashboard beyond this machine: pass --token (at least 16 characters), or keep the default --host 127.0.0.1`);
}

export async function startServer(opts: ServeOptions): Promise<DashboardServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8765;
  const token = opts.token ?? null;
  checkServeOptions({ host, port, token });
  if (opts.stores.length === 0) throw new UserError('serve needs at least one study store (a .sqlite file or a postgres:// URL)');
  const version = tunescopeVersion();
  const opened: { store: StudyStore; label: string; owned: boolean }[] = [];
  const studies: ServedStudy[] = [];
  try {
    for (const s of opts.stores) {
      if (typeof s === 'string') opened.push({ store: openStore(s, { readonly: true }), label: s, owned: true });
      else opened.push({ store: s.store, label: s.label ?? s.store.location, owned: false });
    }
    const taken = new Set<string>();
    for (const o of opened) {
      const rec = await o.store.getStudy();
      if (!rec) throw new UserError(`${o.label} holds no study (run \`tunescope study run SPEC\` first)`);
      // a connection string's password is not shown
      studies.push(new ServedStudy(slug(rec.name, taken), o.store, o.label.replace(/^(postgres(?:ql)?:\/\/)[^@/]*@/, '$1'), version));
    }
  } catch (e) {
    for (const o of opened) if (o.owned) await o.store.close();
    throw e;
  }
  await Promise.all(studies.map((s) => s.refresh()));

  const allowedHosts = ['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host];
  const dash = createApp({ studies, token, allowedHosts, pollMs: opts.pollMs ?? 250, version });
  try {
    await dash.app.listen({ host, port });
  } catch (e) {
    for (const o of opened) if (o.owned) await o.store.close();
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${port} on ${host} is in use: pick another with --port`);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot bind ${host}: no such address on this machine`);
    throw e;
  }
  const addr = dash.app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const byLocation = new Map(opened.map((o, i) => [o.store.location, studies[i]!]));
  const loginUrl = () => {
    const p = dash.newLoginPath();
    return p ? url + p : null;
  };
  return {
    url,
    openUrl: loginUrl() ?? `${url}/`,
    host,
    port: boundPort,
    studies: studies.map((s) => ({ id: s.id, name: s.name, location: s.label })),
    studyEvent(location, e) {
      const s = byLocation.get(location);
      if (s && e.type === 'trial-progress') s.onProgress(e.trialId, e.progress);
    },
    loginUrl,
    clients: () => dash.clients(),
    analysisBuilds: () => Object.fromEntries(studies.map((s) => [s.id, { builds: s.analysisBuilds, states: s.analysisStates }])),
    async close() {
      await dash.app.close();
      for (const s of studies) s.listeners.clear();
      for (const o of opened) if (o.owned) await o.store.close();
    },
  };
}
