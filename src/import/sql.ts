/**
 * Read-only SQL access to the databases the importers read (Optuna's and MLflow's RDB backends):
 * `sqlite:///path` (or a plain path) through better-sqlite3 opened readonly, `postgresql://…` through `pg`
 * in a READ ONLY transaction. Queries are written with `?` placeholders; for PostgreSQL they become $1, $2, ….
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { UserError } from '../util/index.js';

export type SqlRow = Record<string, unknown>;

export interface SqlSource {
  /** what to name in messages: the file path or the URL without password */
  location: string;
  all(sql: string, params?: unknown[]): Promise<SqlRow[]>;
  tables(): Promise<Set<string>>;
  close(): Promise<void>;
}

export function isDatabaseUrl(s: string): boolean {
  return /^(sqlite|postgres|postgresql)(\+\w+)?:\/\//i.test(s);
}

/** `sqlite:///rel/path.db` → rel/path.db, `sqlite:////abs/path.db` → /abs/path.db (SQLAlchemy's convention). */
export function sqlitePathOfUrl(url: string): string | null {
  const m = /^sqlite(\+\w+)?:\/\/\/(.*)$/i.exec(url);
  return m ? m[2] : null;
}

export function openSqlite(path: string): SqlSource {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  if (!statSync(path).isFile()) throw new UserError(`${path}: not a file`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new UserError(`${path}: cannot open as SQLite (${(e as Error).message})`);
  }
  return {
    location: path,
    all: async (sql, params = []) => db.prepare(sql).all(...params) as SqlRow[],
    tables: async () => new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name)),
    close: async () => { db.close(); },
  };
}

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: SqlRow[] }>;
  end(): Promise<void>;
}
interface PgModule { Client: new (opts: { connectionString: string }) => PgClient }

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export async function openPostgres(url: string): Promise<SqlSource> {
  const location = redact(url);
  let pg: PgModule;
  try {
    // `pg` is loaded only for PostgreSQL sources (a name in a variable: SQLite users need not install it)
    const name = 'pg';
    const mod = (await import(name)) as { default?: PgModule } & PgModule;
    pg = mod.default ?? mod;
  } catch {
    throw new UserError(`${location}: reading PostgreSQL needs the \`pg\` package (npm install pg)`);
  }
  const client = new pg.Client({ connectionString: url.replace(/^postgres(ql)?\+\w+:/i, 'postgresql:') });
  try {
    await client.connect();
    await client.query('BEGIN TRANSACTION READ ONLY');
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new UserError(`${location}: cannot connect (${(e as Error).message})`);
  }
  const toPg = (sql: string): string => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  return {
    location,
    all: async (sql, params = []) => (await client.query(toPg(sql), params)).rows,
    tables: async () =>
      new Set((await client.query("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")).rows.map((r) => String(r.name))),
    close: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

/** Opens a database URL or a SQLite file path. */
export async function openSql(location: string): Promise<SqlSource> {
  if (/^postgres(ql)?(\+\w+)?:\/\//i.test(location)) return openPostgres(location);
  const p = sqlitePathOfUrl(location);
  if (p === null && /^\w+(\+\w+)?:\/\//.test(location)) throw new UserError(`${location}: unsupported database URL (sqlite:///PATH or postgresql://…)`);
  return openSqlite(p ?? location);
}
