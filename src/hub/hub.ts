/**
 * The only code that talks to the Hugging Face Hub. Listing and downloads go through HF's own JS client
 * (`@huggingface/hub`); what it does not do itself is added here around it:
 * - a `fetch` wrapper that retries 429 (honouring Retry-After) and 5xx / network errors with exponential backoff,
 *   applies a per-request timeout (to the response headers, then as an idle timeout on the body) and sends the
 *   token only to the endpoint's own origin;
 * - an on-disk cache keyed by repo type / id / revision / path with atomic writes, used alone in offline mode;
 * - validation of repo ids, file paths and revisions so that a resolved cache path can never leave the cache dir;
 * - verification of every download before it is renamed into the cache: the byte count against the size the Hub
 *   announced (Content-Range / X-Linked-Size of the probe), the sha256 of LFS files against their X-Linked-ETag
 *   (the git-blob sha1 of small files against their ETag), a size cap per file kind, and a total deadline per file
 *   besides the idle timeout; orphan `.tmp-*` files of killed downloads are removed;
 * - a guard on Link-header paging: only the endpoint's own origin, never a URL twice, stop at an empty page, and
 *   at most MAX_LIST_PAGES pages.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  downloadFile as hubDownloadFile,
  fileDownloadInfo as hubFileDownloadInfo,
  fileExists as hubFileExists,
  listModels as hubListModels,
  HubApiError,
} from '@huggingface/hub';
import { UserError } from '../util/index.js';

export interface HubOptions {
  /** Hub base URL; default `HF_ENDPOINT` or https://huggingface.co */
  endpoint?: string;
  /** Access token; default `HF_TOKEN` (or `HUGGING_FACE_HUB_TOKEN`). Sent only to the endpoint's origin. */
  token?: string;
  /** Cache root; default `TUNESCOPE_HUB_CACHE`, else `$HF_HOME/tunescope/hub`, else `~/.cache/tunescope/hub`. */
  cacheDir?: string;
  /** Use only the cache; default `HF_HUB_OFFLINE=1`. */
  offline?: boolean;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Replaces the global fetch (proxies, tests). */
  fetch?: typeof fetch;
  /** Retries after a 429 / 5xx / network error / timeout; default 5. */
  retries?: number;
  /** Per-request timeout: to the response headers, then between body chunks; default 30000. */
  timeoutMs?: number;
  /** First backoff delay (doubles each retry, capped at 30 s); default 500. */
  retryBaseMs?: number;
  /**
   * Total time one file may take to download, however steadily bytes arrive; default: 10 minutes, or longer for a
   * large file (at least 100 KiB/s on average).
   */
  deadlineMs?: number;
  /** Largest file accepted, in bytes; default by kind (see sizeCap: 64 MiB for JSON/text, 64 GiB for weights). */
  maxBytes?: number;
}

export type RepoType = 'model' | 'dataset';

interface Resolved {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  offline: boolean;
  revision: string;
  retries: number;
  timeoutMs: number;
  retryBaseMs: number;
  deadlineMs: number | undefined;
  maxBytes: number | undefined;
  fetch: typeof fetch;
}

function envFlag(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

export function defaultCacheDir(): string {
  const env = process.env;
  if (env.TUNESCOPE_HUB_CACHE) return resolve(env.TUNESCOPE_HUB_CACHE);
  if (env.HF_HOME) return resolve(env.HF_HOME, 'tunescope', 'hub');
  return join(homedir(), '.cache', 'tunescope', 'hub');
}

function resolveOptions(opts: HubOptions = {}): Resolved {
  const env = process.env;
  const endpoint = (opts.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new UserError(`Hub endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (check HF_ENDPOINT)`);
  }
  const revision = opts.revision ?? 'main';
  validateRevision(revision);
  const r: Resolved = {
    endpoint,
    token: opts.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN ?? undefined,
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    offline: opts.offline ?? envFlag(env.HF_HUB_OFFLINE),
    revision,
    retries: opts.retries ?? 5,
    timeoutMs: opts.timeoutMs ?? 30_000,
    retryBaseMs: opts.retryBaseMs ?? 500,
    deadlineMs: opts.deadlineMs,
    maxBytes: opts.maxBytes,
    fetch: globalThis.fetch,
  };
  r.fetch = robustFetch(opts.fetch ?? globalThis.fetch, r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// ids, paths, revisions

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;

/**
 * True for a Hub repo id, `owner/name` or `name` (huggingface_hub's rules: letters, digits, `-`, `_`, `.`;
 * no `--` or `..`; at most 96 characters). Never true for a path: `./x`, `../x`, `/x`, `C:\x`, `a/b/c` are rejected.
 */
export function isHubId(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0 || s.length > 96) return false;
  if (s.includes('..') || s.includes('--')) return false;
  const parts = s.split('/');
  if (parts.length > 2) return false;
  return parts.every((p) => NAME_RE.test(p));
}

function validateRepo(repo: string): void {
  if (!isHubId(repo)) {
    throw new UserError(
      `${JSON.stringify(repo)} is not a valid Hugging Face Hub repo id (expected "owner/name" or "name": letters, digits, '-', '_', '.', no '..' or '--')`,
    );
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function validateRepoPath(path: string): void {
  const bad =
    typeof path !== 'string' ||
    path.length === 0 ||
    path.length > 1024 ||
    CONTROL_RE.test(path) ||
    path.includes('\\') ||
    path.includes(':') ||
    isAbsolute(path) ||
    path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad) throw new UserError(`${JSON.stringify(path)} is not a valid file path inside a Hub repo (relative, '/'-separated, no '..')`);
}

function validateRevision(rev: string): void {
  const bad =
    typeof rev !== 'string' ||
    rev.length === 0 ||
    rev.length > 256 ||
    CONTROL_RE.test(rev) ||
    rev.includes('\\') ||
    rev.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad) throw new UserError(`${JSON.stringify(rev)} is not a valid Hub revision (branch, tag or commit)`);
}

/** `<cache>/<type>s--<owner>--<name>`; `/` cannot appear in either part, `--` is forbidden in ids, so the mapping is one-to-one. */
function repoCacheDir(cacheDir: string, repoType: RepoType, repo: string): string {
  return join(cacheDir, `${repoType}s--${repo.replace('/', '--')}`);
}

function insideCache(cacheDir: string, p: string): string {
  const root = resolve(cacheDir);
  const full = resolve(p);
  if (full !== root && !full.startsWith(root + sep)) {
    throw new UserError(`refusing cache path ${full}: it resolves outside the cache directory ${root}`);
  }
  return full;
}

function snapshotDir(r: Resolved, repoType: RepoType, repo: string): string {
  return insideCache(r.cacheDir, join(repoCacheDir(r.cacheDir, repoType, repo), 'snapshots', encodeURIComponent(r.revision)));
}

function noExistMarker(r: Resolved, repoType: RepoType, repo: string, path: string): string {
  return insideCache(r.cacheDir, join(repoCacheDir(r.cacheDir, repoType, repo), 'no_exist', encodeURIComponent(r.revision), path));
}

// ---------------------------------------------------------------------------------------------
// fetch with retries and timeouts

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function retryAfterMs(h: string | null): number | null {
  if (!h) return null;
  const s = Number(h);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : null;
}

class TimeoutError extends Error {}

function robustFetch(base: typeof fetch, r: Resolved): typeof fetch {
  const origin = new URL(r.endpoint).origin;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    // The client library insists on hf_-prefixed tokens; adding the header here accepts any token and keeps it off other origins (CDN redirects).
    if (r.token && !headers.has('authorization') && sameOrigin(url, origin)) headers.set('authorization', `Bearer ${r.token}`);
    let lastError = '';
    for (let attempt = 0; attempt <= r.retries; attempt++) {
      const ctrl = new AbortController();
      init?.signal?.addEventListener('abort', () => ctrl.abort(init.signal?.reason), { once: true });
      let timer: NodeJS.Timeout | undefined = setTimeout(() => ctrl.abort(new TimeoutError('timeout')), r.timeoutMs).unref();
      let delay = Math.min(30_000, r.retryBaseMs * 2 ** attempt);
      try {
        const resp = await base(url, { ...init, headers, signal: ctrl.signal });
        clearTimeout(timer);
        timer = undefined;
        if (resp.status === 429 || resp.status >= 500) {
          lastError = `HTTP ${resp.status} from ${url}`;
          const ra = retryAfterMs(resp.headers.get('retry-after'));
          if (ra !== null) delay = Math.min(ra, 60_000);
          await resp.body?.cancel().catch(() => undefined);
          if (attempt < r.retries) {
            await sleep(delay);
            continue;
          }
          throw new UserError(`Hub request failed after ${r.retries + 1} attempts: ${lastError}`);
        }
        return withIdleTimeout(resp, ctrl, r.timeoutMs);
      } catch (e) {
        if (timer) clearTimeout(timer);
        if (e instanceof UserError) throw e;
        const timedOut = ctrl.signal.aborted && ctrl.signal.reason instanceof TimeoutError;
        if (init?.signal?.aborted) throw e;
        // undici says only "fetch failed"; the cause has the useful part (ECONNREFUSED, ENOTFOUND, …)
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        const why = [(e as Error).message ?? String(e), cause?.code ?? cause?.message].filter(Boolean).join(': ');
        lastError = timedOut ? `timed out after ${r.timeoutMs} ms waiting for ${url}` : `${why} (${url})`;
        if (attempt < r.retries) {
          await sleep(delay);
          continue;
        }
        throw new UserError(`Hub request failed after ${r.retries + 1} attempts: ${lastError}`, { cause: e });
      }
    }
    throw new UserError(`Hub request failed: ${lastError}`);
  };
  return wrapped as typeof fetch;
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Aborts the body read when no chunk arrives for `ms` (a stalled transfer), without limiting a long healthy download. */
function withIdleTimeout(resp: Response, ctrl: AbortController, ms: number): Response {
  if (!resp.body) return resp;
  const reader = resp.body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    // unref: a body nobody reads (the client's size probes) must not keep the process alive
    timer = setTimeout(() => ctrl.abort(new TimeoutError(`no data for ${ms} ms from ${resp.url}`)), ms).unref();
  };
  const body = new ReadableStream<Uint8Array>({
    start: arm,
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          clearTimeout(timer);
          c.close();
        } else {
          arm();
          c.enqueue(value);
        }
      } catch (e) {
        clearTimeout(timer);
        c.error(ctrl.signal.reason instanceof TimeoutError ? new UserError(`Hub download stalled: ${ctrl.signal.reason.message}`) : e);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
  const out = new Response(body, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
  Object.defineProperty(out, 'url', { value: resp.url });
  return out;
}

function describe(repoType: RepoType, repo: string, path: string, rev: string): string {
  return `${repoType === 'dataset' ? 'datasets/' : ''}${repo}/${path} (revision ${rev})`;
}

function hubError(e: unknown, what: string, r: Resolved): never {
  if (e instanceof UserError) throw e;
  if (e instanceof HubApiError) {
    if (e.statusCode === 404) throw new UserError(`not found on the Hub (${r.endpoint}): ${what}`);
    if (e.statusCode === 401 || e.statusCode === 403) {
      throw new UserError(`access denied (HTTP ${e.statusCode}) to ${what} at ${r.endpoint}; gated or private repos need HF_TOKEN`);
    }
    throw new UserError(`Hub error (HTTP ${e.statusCode}) for ${what}: ${e.message}`);
  }
  throw new UserError(`could not reach the Hub (${r.endpoint}) for ${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// downloads

const MiB = 2 ** 20;
/** Weights and data may be large; metadata (config, tokenizer, cards) is small, so a huge one is an attack or a mistake. */
export function sizeCap(path: string): number {
  const name = basename(path).toLowerCase();
  if (/\.(safetensors|bin|pt|pth|ckpt|h5|msgpack|onnx|gguf)$/.test(name)) return 64 * 1024 * MiB;
  if (/\.(parquet|arrow|tsv|csv|jsonl|txt\.gz|gz|zip|tar)$/.test(name)) return 16 * 1024 * MiB;
  return 64 * MiB;
}

const ORPHAN_RE = /\.tmp-(\d+)-[a-z0-9]+$/;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `.tmp-<pid>-*` files beside `dest` left by a download whose process is gone (killed mid-transfer). */
function removeOrphans(dest: string): void {
  let names: string[];
  try {
    names = readdirSync(dirname(dest));
  } catch {
    return;
  }
  for (const n of names) {
    const m = ORPHAN_RE.exec(n);
    if (m && n.startsWith(basename(dest)) && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join(dirname(dest), n), { force: true });
  }
}

export interface Expected {
  /** bytes announced by the Hub (probe Content-Range total or X-Linked-Size); verified exactly */
  size?: number;
  /** ETag / X-Linked-ETag: a sha256 (LFS) or a git-blob sha1 (small files); verified when it has either form */
  etag?: string;
  maxBytes: number;
  deadlineMs: number;
  what: string;
}

/** Streams `body` to a temp file next to `dest`, verifies size and hash, then renames it into place. */
async function writeVerified(dest: string, body: ReadableStream<Uint8Array>, exp: Expected): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  removeOrphans(dest);
  const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tag = exp.etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  const sha256 = tag && /^[0-9a-f]{64}$/.test(tag) ? createHash('sha256') : null;
  const sha1 = tag && /^[0-9a-f]{40}$/.test(tag) && exp.size !== undefined ? createHash('sha1').update(`blob ${exp.size}\0`) : null;
  let bytes = 0;
  const limit = Math.min(exp.maxBytes, exp.size ?? Infinity);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), exp.deadlineMs).unref();
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) {
        done(new UserError(exp.size !== undefined && bytes > exp.size
          ? `Hub download of ${exp.what} is longer than the ${exp.size} bytes announced`
          : `Hub download of ${exp.what} exceeds the size cap of ${exp.maxBytes} bytes`));
        return;
      }
      sha256?.update(chunk);
      sha1?.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), meter, createWriteStream(tmp), { signal: deadline.signal });
    if (exp.size !== undefined && bytes !== exp.size) {
      throw new UserError(`Hub download of ${exp.what} is incomplete: ${bytes} of ${exp.size} bytes (connection closed early or a short body)`);
    }
    const got = sha256?.digest('hex') ?? sha1?.digest('hex');
    if (got !== undefined && got !== tag) throw new UserError(`Hub download of ${exp.what} is corrupt: its ${sha256 ? 'sha256' : 'git sha1'} is ${got}, the Hub says ${tag}`);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (deadline.signal.aborted) throw new UserError(`Hub download of ${exp.what} did not finish within ${exp.deadlineMs} ms (${bytes} bytes received)`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** 10 minutes, or the time of a 100 KiB/s transfer of `size` bytes when that is longer. */
function defaultDeadline(size: number | undefined): number {
  return Math.max(600_000, ((size ?? 0) / (100 * 1024)) * 1000);
}

type FetchResult = { kind: 'ok'; path: string } | { kind: 'missing' };

async function fetchOne(r: Resolved, repoType: RepoType, repo: string, path: string): Promise<FetchResult> {
  validateRepo(repo);
  validateRepoPath(path);
  const dest = insideCache(r.cacheDir, join(snapshotDir(r, repoType, repo), path));
  if (existsSync(dest)) return { kind: 'ok', path: dest };
  const marker = noExistMarker(r, repoType, repo, path);
  if (r.offline) {
    if (existsSync(marker)) return { kind: 'missing' };
    throw new UserError(
      `offline mode (HF_HUB_OFFLINE=1 or --offline): ${describe(repoType, repo, path, r.revision)} is not in the cache ${r.cacheDir}`,
    );
  }
  const what = describe(repoType, repo, path, r.revision);
  try {
    const repoRef = { type: repoType, name: repo } as const;
    const info = await hubFileDownloadInfo({ repo: repoRef, path, revision: r.revision, hubUrl: r.endpoint, fetch: r.fetch });
    if (info === null) {
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, '');
      return { kind: 'missing' };
    }
    const maxBytes = r.maxBytes ?? sizeCap(path);
    if (!(info.size <= maxBytes)) throw new UserError(`Hub file ${what} is ${info.size} bytes, above the size cap of ${maxBytes} bytes for this kind of file`);
    const blob = await hubDownloadFile({ repo: repoRef, path, revision: r.revision, hubUrl: r.endpoint, fetch: r.fetch, downloadInfo: info });
    if (blob === null) throw new UserError(`not found on the Hub (${r.endpoint}): ${what}`);
    await writeVerified(dest, blob.stream(), { size: info.size, etag: info.etag, maxBytes, deadlineMs: r.deadlineMs ?? defaultDeadline(info.size), what });
  } catch (e) {
    hubError(e, what, r);
  }
  rmSync(marker, { force: true });
  return { kind: 'ok', path: dest };
}

/**
 * Downloads one file of a Hub repo (or finds it in the cache) and returns its local path.
 * A missing file or repo is a UserError naming it; offline mode never touches the network.
 */
export async function downloadFile(repo: string, path: string, opts: HubOptions & { repoType?: RepoType } = {}): Promise<string> {
  const r = resolveOptions(opts);
  const repoType = opts.repoType ?? 'model';
  const res = await fetchOne(r, repoType, repo, path);
  if (res.kind === 'missing') throw new UserError(`not found on the Hub (${r.endpoint}): ${describe(repoType, repo, path, r.revision)}`);
  return res.path;
}

/**
 * Fetches the listed files that exist in the repo into one cache folder and returns that folder
 * (files the repo lacks are simply absent from it). A missing repo is an error; so is, offline, a file
 * that was never fetched.
 */
export async function snapshotFiles(repo: string, files: string[], opts: HubOptions & { repoType?: RepoType } = {}): Promise<string> {
  const r = resolveOptions(opts);
  const repoType = opts.repoType ?? 'model';
  validateRepo(repo);
  for (const f of files) await fetchOne(r, repoType, repo, f);
  const dir = snapshotDir(r, repoType, repo);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Whether a file exists in a Hub repo, without downloading it (a HEAD request). Offline: whether it is cached.
 * Used to explain, e.g., that a repo only has a pickle `pytorch_model.bin`.
 */
export async function fileExists(repo: string, path: string, opts: HubOptions & { repoType?: RepoType } = {}): Promise<boolean> {
  const r = resolveOptions(opts);
  const repoType = opts.repoType ?? 'model';
  validateRepo(repo);
  validateRepoPath(path);
  const cached = insideCache(r.cacheDir, join(snapshotDir(r, repoType, repo), path));
  if (existsSync(cached)) return true;
  if (r.offline) return false;
  try {
    return await hubFileExists({ repo: { type: repoType, name: repo }, path, revision: r.revision, hubUrl: r.endpoint, fetch: r.fetch });
  } catch (e) {
    hubError(e, describe(repoType, repo, path, r.revision), r);
  }
}

// ---------------------------------------------------------------------------------------------
// listing

/** Pages of one listing at most (the Hub pages 1000 models at a time: a million models). */
export const MAX_LIST_PAGES = 1000;

/**
 * Wraps the fetch the client library pages with: its Link `rel="next"` is kept only when it points to the
 * endpoint's own origin, to a URL not fetched before in this listing, after a non-empty page, and within
 * MAX_LIST_PAGES. Otherwise the header is dropped, which ends the library's paging loop.
 */
function pagingGuard(base: typeof fetch, endpoint: string, maxPages = MAX_LIST_PAGES): typeof fetch {
  const origin = new URL(endpoint).origin;
  const fetched = new Set<string>();
  let pages = 0;
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    fetched.add(new URL(url).href);
    pages++;
    const resp = await base(input, init);
    const link = resp.headers.get('link');
    if (!link || !resp.ok) return resp;
    const text = await resp.text();
    let empty = false;
    try {
      const body = JSON.parse(text) as unknown;
      empty = Array.isArray(body) && body.length === 0;
    } catch {
      /* not JSON: the library reports it */
    }
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
    let follow = false;
    try {
      const u = next ? new URL(next, url) : null;
      follow = u !== null && u.origin === origin && !fetched.has(u.href) && !empty && pages < maxPages;
    } catch {
      follow = false;
    }
    const headers = new Headers(resp.headers);
    if (!follow) headers.delete('link');
    const out = new Response(text, { status: resp.status, statusText: resp.statusText, headers });
    Object.defineProperty(out, 'url', { value: resp.url });
    return out;
  };
  return guarded as typeof fetch;
}

export interface ListedModel {
  id: string;
  tags?: string[];
  pipelineTag?: string;
}

/**
 * Lists models, following the Hub's Link-header pages. `filter` entries become Hub tag filters `key:value`
 * (e.g. `{ base_model: 'distilbert/distilbert-base-uncased-finetuned-sst-2-english' }`). A completed listing is
 * cached, and offline mode replays it.
 */
export async function* listModels(
  opts: HubOptions & { filter?: Record<string, string>; search?: string; limit?: number } = {},
): AsyncGenerator<ListedModel> {
  const r = resolveOptions(opts);
  const tags = Object.entries(opts.filter ?? {}).map(([k, v]) => `${k}:${v}`);
  const key = createHash('sha256')
    .update(JSON.stringify({ e: r.endpoint, tags, s: opts.search ?? null, l: opts.limit ?? null }))
    .digest('hex')
    .slice(0, 32);
  const cacheFile = insideCache(r.cacheDir, join(r.cacheDir, 'api', 'models', `${key}.json`));
  if (r.offline) {
    if (!existsSync(cacheFile)) {
      throw new UserError(`offline mode: no cached model listing for filter ${JSON.stringify(opts.filter ?? {})} in ${r.cacheDir}`);
    }
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as ListedModel[];
    for (const m of cached) yield m;
    return;
  }
  const seen: ListedModel[] = [];
  try {
    for await (const m of hubListModels({
      hubUrl: r.endpoint,
      fetch: pagingGuard(r.fetch, r.endpoint),
      limit: opts.limit,
      search: { query: opts.search, tags: tags.length ? tags : undefined },
      additionalFields: ['tags'],
    })) {
      const item: ListedModel = { id: m.name };
      if (Array.isArray(m.tags)) item.tags = m.tags;
      if (m.task) item.pipelineTag = m.task;
      seen.push(item);
      yield item;
    }
  } catch (e) {
    hubError(e, `model listing ${JSON.stringify(opts.filter ?? {})}`, r);
  }
  mkdirSync(dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(seen));
  renameSync(tmp, cacheFile);
}
