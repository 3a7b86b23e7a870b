/**
 * Real services for tests and benchmarks: a private PostgreSQL cluster and a private Redis, each on loopback, on a
 * free port, in its own temporary data directory, stopped (and the directory removed) by `stop()`. No mocks.
 *
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (initdb/pg_ctl run through
 * runuser, the data directory is chowned to it); as another user it runs as that user. Debian keeps the server
 * binaries in /usr/lib/postgresql/<major>/bin (not on PATH), so the newest one there is used unless PG_BIN is set.
 * Durability settings are relaxed (fsync off): a clean restart keeps everything, which is what the fault tests need.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** A port nobody listens on right now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The directory holding initdb and pg_ctl. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length > 0) return join(base, majors[0]!, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  if (which.status === 0 && p) return join(p, '..');
  throw new Error('PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)');
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Run a PostgreSQL binary as the cluster's owner; throws with its output on failure. */
function pgExec(bin: string, args: string[]): void {
  const cmd = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] as const : [bin, args] as const;
  const r = spawnSync(cmd[0], [...cmd[1]], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
}

export interface PostgresService {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** a fresh database on this server; returns its URL */
  createDatabase(name: string): Promise<string>;
  /** pg_ctl stop -m fast (connections are cut) */
  stopServer(): void;
  startServer(): Promise<void>;
  restart(): Promise<void>;
  stop(): void;
}

/** `settings`: more server settings (`-c name=value`), e.g. shared_preload_libraries for a bench's statement counts. */
export async function startPostgres(options: { settings?: Record<string, string> } = {}): Promise<PostgresService> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-pg-'));
  const dataDir = join(dir, 'data');
  if (isRoot()) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gw = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0) throw new Error('running as root needs the `postgres` user (created by the postgresql package)');
    chownSync(dir, Number(pw.stdout.trim()), Number(gw.stdout.trim()));
  }
  const owner = isRoot() ? 'postgres' : userInfo().username;
  pgExec(join(bin, 'initdb'), ['-D', dataDir, '-U', owner, '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  const pgCtl = join(bin, 'pg_ctl');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${Object.entries(options.settings ?? {}).map(([k, v]) => ` -c ${k}=${v}`).join('')}`;
  let running = false;
  const startServer = async () => {
    pgExec(pgCtl, ['-D', dataDir, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
    running = true;
    await waitForPort(port, 30_000, 'PostgreSQL');
  };
  const stopServer = () => {
    if (!running) return;
    running = false;
    pgExec(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  };
  await startServer();
  // a test that dies before stop() must not leave a server behind
  const onExit = () => {
    try {
      stopServer();
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const url = `postgres://${owner}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    async createDatabase(name) {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return `postgres://${owner}@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer,
    async restart() {
      stopServer();
      await startServer();
    },
    stop() {
      process.off('exit', onExit);
      try {
        stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface RedisService {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** SIGTERM, then start again on the same port with the same append-only file */
  restart(): Promise<void>;
  /** stop without starting again (SIGTERM: the AOF is flushed) */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisService> {
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-redis-'));
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const startServer = async () => {
    const p = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    proc = p;
    await new Promise<void>((resolve, reject) => {
      p.once('error', (e) => reject(new Error(`redis-server did not start (apt-get install redis-server): ${e.message}`)));
      waitForPort(port, 30_000, 'redis-server').then(resolve, reject);
    });
  };
  const stopServer = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };
  await startServer();
  const onExit = () => {
    proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      await stopServer();
      await startServer();
    },
    stopServer,
    startServer,
    async stop() {
      process.off('exit', onExit);
      try {
        await stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
