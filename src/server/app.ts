/**
 * The dashboard's HTTP application (Fastify): HTML pages (shells that load /assets/app.js), a read-only JSON API
 * over the served studies, downloads, and one Server-Sent Events stream per page.
 *
 * Security model: every route is fixed; assets come from a name → file map built at start (the bundled vega
 * builds and this module's assets), so no request path is ever joined onto a directory. Pages carry a strict
 * Content-Security-Policy (scripts and styles from 'self' only, no inline script, no eval — vega runs with its
 * AST interpreter). With a token, every request needs `Authorization: Bearer T`, or the session cookie set by
 * the one-time login URL (or `?token=T`); without one (loopback only) the Host header must name the loopback,
 * so a page on another site cannot reach the dashboard through DNS rebinding.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { REPORT_CSS, escapeHtml as esc, vegaBuildFiles } from '../report/index.js';
import { studyRows } from '../study/index.js';
import { stringifyJson } from '../util/index.js';
import { curveCharts, type TrialCurves } from './curves.js';
import type { ServedStudy, StudyChange } from './study.js';

export interface AppOptions {
  studies: ServedStudy[];
  /** required for every request when set */
  token: string | null;
  /** host names the Host header may carry when there is no token */
  allowedHosts: string[];
  /** how often the stores are asked whether they changed while someone listens (ms) */
  pollMs: number;
  version: string;
}

export interface DashboardApp {
  app: FastifyInstance;
  /** a URL path that logs a browser in once (sets the session cookie); null without a token */
  newLoginPath(): string | null;
  /** open event streams */
  clients(): number;
}

const SESSION_COOKIE = 'tunescope_session';

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  type: string;
  body: Buffer;
}

const here = dirname(fileURLToPath(import.meta.url));

function loadAssets(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  for (const f of vegaBuildFiles()) m.set(f.name, { type: 'text/javascript; charset=utf-8', body: readFileSync(f.path) });
  m.set('report.css', { type: 'text/css; charset=utf-8', body: Buffer.from(REPORT_CSS) });
  // this module's own files: src/server/assets (tsx) or dist/server/assets (copied by scripts/postbuild.mjs)
  m.set('app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(here, 'assets', 'app.js')) });
  m.set('app.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(here, 'assets', 'app.css')) });
  return m;
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(sha(a), sha(b));

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

function page(kind: string, data: Record<string, string>, version: string): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join('');
  const scripts = [...vegaBuildFiles().map((f) => f.name), 'app.js'].map((n) => `<script src="/assets/${n}" defer></script>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tunescope dashboard</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/report.css"><link rel="stylesheet" href="/assets/app.css">${scripts}</head>
<body data-page="${esc(kind)}"${attrs} data-version="${esc(version)}">
<header><h1 id="title">tunescope</h1><div class="meta" id="meta"></div></header>
<main id="app"><p class="note">Loading…</p></main>
</body></html>
`;
}

/** A download name from a study name: letters, digits, dot, dash, underscore. */
const fileStem = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80) || 'study';

export function createApp(opts: AppOptions): DashboardApp {
  const assets = loadAssets();
  const byId = new Map(opts.studies.map((s) => [s.id, s]));
  const sessions = new Set<string>();
  const logins = new Set<string>();
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 200 }, return503OnClosing: true, forceCloseConnections: true });
  let streams = 0;

  const authorized = (req: FastifyRequest): boolean => {
    if (opts.token === null) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), opts.token)) return true;
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return sid !== null && sessions.has(sid);
  };

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    reply.header('cache-control', 'no-store');
    if (opts.token === null) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      if (!opts.allowedHosts.includes(host)) return reply.code(403).type('text/plain').send('403: unexpected Host header\n');
      return;
    }
    const url = new URL(req.url, 'http://dashboard');
    const login = url.searchParams.get('login');
    const token = url.searchParams.get('token');
    const viaLogin = login !== null && logins.delete(login);
    if (viaLogin || (token !== null && sameSecret(token, opts.token))) {
      const sid = randomBytes(24).toString('base64url');
      sessions.add(sid);
      url.searchParams.delete('login');
      url.searchParams.delete('token');
      reply.header('set-cookie', `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect(url.pathname + url.search, 303);
    }
    if (!authorized(req)) {
      reply.header('www-authenticate', 'Bearer realm="tunescope"');
      return reply.code(401).type('text/plain').send('401: this dashboard needs its token (Authorization: Bearer …, or the login URL it printed)\n');
    }
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).type('text/plain').send('404: not found\n');
  });
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    void reply.code(status >= 400 && status < 600 ? status : 500).type('text/plain').send(status < 500 ? `${status}: bad request\n` : '500: internal error\n');
  });

  const study = async (id: string, reply: FastifyReply): Promise<ServedStudy | null> => {
    const s = byId.get(id);
    if (!s) {
      await reply.code(404).type('text/plain').send('404: no such study\n');
      return null;
    }
    await s.refresh();
    return s;
  };
  const json = (reply: FastifyReply, v: unknown) => reply.type('application/json; charset=utf-8').send(JSON.stringify(v));

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(page('studies', {}, opts.version)));
  app.get<{ Params: { id: string } }>('/studies/:id', async (req, reply) => {
    if (!(await study(req.params.id, reply))) return reply;
    return reply.type('text/html; charset=utf-8').send(page('study', { study: req.params.id }, opts.version));
  });
  app.get<{ Params: { id: string; tid: string } }>('/studies/:id/trials/:tid', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    if (!s.trial(req.params.tid)) return reply.code(404).type('text/plain').send('404: no such trial\n');
    return reply.type('text/html; charset=utf-8').send(page('trial', { study: req.params.id, trial: req.params.tid }, opts.version));
  });
  app.get<{ Querystring: { a?: string; b?: string } }>('/compare', async (req, reply) => {
    const { a, b } = req.query;
    if (!a || !b || !byId.has(a) || !byId.has(b)) return reply.code(404).type('text/plain').send('404: compare needs two served studies (?a=ID&b=ID)\n');
    return reply.type('text/html; charset=utf-8').send(page('compare', { a, b }, opts.version));
  });
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return reply.code(404).type('text/plain').send('404: not found\n');
    return reply.header('cache-control', 'private, max-age=3600').type(a.type).send(a.body);
  });

  app.get('/api/studies', async (_req, reply) => {
    await Promise.all(opts.studies.map((s) => s.refresh()));
    return json(reply, opts.studies.map((s) => s.summary()));
  });
  app.get<{ Params: { id: string } }>('/api/studies/:id', async (req, reply) => {
    const s = await study(req.params.id, reply);
    return s ? json(reply, s.summary()) : reply;
  });
  app.get<{ Params: { id: string } }>('/api/studies/:id/trials', async (req, reply) => {
    const s = await study(req.params.id, reply);
    return s ? reply.type('application/json; charset=utf-8').send(s.trialsJson()) : reply;
  });
  app.get<{ Params: { id: string; tid: string } }>('/api/studies/:id/trials/:tid', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const t = s.trial(req.params.tid);
    if (!t) return reply.code(404).type('text/plain').send('404: no such trial\n');
    return json(reply, { trial: t, epochs: await s.epochs(t.id), steps: await s.stepLogs(t.id) });
  });
  app.get<{ Params: { id: string }; Querystring: { trials?: string } }>('/api/studies/:id/curves', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const ids = (req.query.trials ?? '').split(',').filter(Boolean).slice(0, 20);
    const known = ids.filter((id) => s.trial(id));
    const curves: TrialCurves[] = await Promise.all(
      known.map(async (id) => ({ trialId: id, label: id, epochs: await s.epochs(id), steps: await s.stepLogs(id) })),
    );
    return json(reply, { trials: known, charts: curveCharts(curves) });
  });
  app.get<{ Params: { id: string } }>('/api/studies/:id/analysis', async (req, reply) => {
    const s = await study(req.params.id, reply);
    return s ? reply.type('application/json; charset=utf-8').send((await s.report()).json) : reply;
  });

  // downloads
  const attachment = (reply: FastifyReply, name: string, type: string, body: string) =>
    reply.header('content-disposition', `attachment; filename="${name}"`).type(type).send(body);
  app.get<{ Params: { id: string }; Querystring: { all?: string } }>('/api/studies/:id/export.csv', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const all = req.query.all === '1';
    const table = await studyRows(s.store, { all });
    return attachment(reply, `${fileStem(s.name)}${all ? '-all' : ''}.csv`, 'text/csv; charset=utf-8', stringify(table.rows, { header: true, columns: table.columns }));
  });
  app.get<{ Params: { id: string } }>('/api/studies/:id/export.json', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const [rec, trials, epochs, baseline, runs] = await Promise.all([s.store.getStudy(), s.store.listTrials(), s.store.epochMetrics(), s.store.getBaseline(), s.store.listRuns()]);
    return attachment(reply, `${fileStem(s.name)}.json`, 'application/json; charset=utf-8', stringifyJson({ study: rec, baseline, runs, trials, epochs }) + '\n');
  });
  app.get<{ Params: { id: string } }>('/api/studies/:id/report.html', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const { doc, view } = await s.report();
    if (!doc) return reply.code(409).type('text/plain').send(`409: no report yet: ${view.message ?? ''}\n`);
    return attachment(reply, `${fileStem(s.name)}-report.html`, 'text/html; charset=utf-8', doc.html);
  });
  app.get<{ Params: { id: string; table: string } }>('/api/studies/:id/report-:table.csv', async (req, reply) => {
    const s = await study(req.params.id, reply);
    if (!s) return reply;
    const { doc } = await s.report();
    const csv = doc && Object.hasOwn(doc.csv, req.params.table) ? doc.csv[req.params.table] : undefined;
    if (csv === undefined) return reply.code(404).type('text/plain').send('404: no such table\n');
    return attachment(reply, `${fileStem(s.name)}-${req.params.table}.csv`, 'text/csv; charset=utf-8', csv);
  });

  // Server-Sent Events: what changed, pushed; the page then fetches only that part.
  const listening = new Map<ServedStudy, number>();
  let poller: NodeJS.Timeout | null = null;
  const poll = () => {
    for (const s of listening.keys()) void s.refresh().catch(() => {});
  };
  app.get<{ Querystring: { study?: string; steps?: string } }>('/api/events', async (req, reply) => {
    const wanted = req.query.study === undefined ? opts.studies : opts.studies.filter((s) => s.id === req.query.study);
    if (wanted.length === 0) return reply.code(404).type('text/plain').send('404: no such study\n');
    const withSteps = req.query.steps === '1';
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 2000\n\n');
    const subs: [ServedStudy, (c: StudyChange) => void][] = [];
    for (const s of wanted) {
      const l = (c: StudyChange) => {
        if (c.kind === 'summary') send('summary', c.summary);
        else if (c.kind === 'trials') send('trials', { study: s.id });
        else if (c.kind === 'analysis') send('analysis', { study: s.id, key: c.key });
        else if (withSteps) send('step', { study: s.id, trialId: c.trialId, log: c.log });
      };
      s.listeners.add(l);
      subs.push([s, l]);
      listening.set(s, (listening.get(s) ?? 0) + 1);
      await s.refresh();
      send('summary', s.summary());
    }
    streams++;
    poller ??= setInterval(poll, opts.pollMs);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      streams--;
      for (const [s, l] of subs) {
        s.listeners.delete(l);
        const n = (listening.get(s) ?? 1) - 1;
        if (n <= 0) listening.delete(s);
        else listening.set(s, n);
      }
      if (listening.size === 0 && poller) {
        clearInterval(poller);
        poller = null;
      }
    });
  });
  app.addHook('onClose', async () => {
    if (poller) clearInterval(poller);
    poller = null;
  });

  return {
    app,
    newLoginPath: () => {
      if (opts.token === null) return null;
      const code = randomBytes(18).toString('base64url');
      logins.add(code);
      return `/?login=${code}`;
    },
    clients: () => streams,
  };
}
