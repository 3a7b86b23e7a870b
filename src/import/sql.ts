/**
 * Read-only SQL access to the databases the importers read (Optuna's and MLflow's RDB backends):
 * `sqlite:///path` (or a plain path) through better-sqlite3 opened readonly, `postgresql://…` through `pg`
 * in a READ ONLY transaction. Queries are written with `?` placeholders; for PostgreSQL they become $1, $2, ….
 * On PostgreSQL, `timestamp` columns are read as the server's text, not as JS Dates: a Date keeps milliseconds in
 * local time, while Optuna stores microseconds (a pandas Timestamp in `trials_dataframe()`). ENUM columns (Optuna's
 * trialstate, studydirection, …) arrive as their labels. A URL's password is never shown: `location` masks it.
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
  setTypeParser(oid: number, format: 'text', parse: (text: string) => unknown): void;
  query(sql: string, params?: unknown[]): Promise<{ rows: SqlRow[] }>;
  end(): Promise<void>;
}
interface PgModule { Client: new (opts: { connectionString: string }) => PgClient }

/** A database URL as messages show it: the password (in the authority or a `password=` parameter) as ***. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/([?&]password=)[^&]*/i, '$1***');
}

/** PostgreSQL's timestamp text `2026-12-02 00:25:40.46315` → ISO 8601 as Python's isoformat writes it (microseconds). */
export function isoTimestamp(text: string): string {
  return text.replace(/^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?/, (_m, d: string, t: string, f?: string) =>
    `${d}T${t}${f && Number(f) !== 0 ? `.${f.padEnd(6, '0')}` : ''}`);
}

const TIMESTAMP_OIDS = [1114, 1184]; // timestamp, timestamptz

/** `?schema=NAME` (tunescope's, not libpq's): the tables are read from that schema (search_path), not public. */
function splitSchema(url: string): { url: string; schema: string | null } {
  const m = /([?&])schema=([^&]*)(&?)/.exec(url);
  if (!m) return { url, schema: null };
  const rest = url.slice(0, m.index) + (m[3] ? m[1] : '') + url.slice(m.index + m[0].length);
  return { url: rest.replace(/\?$/, ''), schema: decodeURIComponent(m[2]) };
}

export async function openPostgres(url: string): Promise<SqlSource> {
  const location = redactUrl(url);
  const { url: connect, schema } = splitSchema(url);
  if (schema === '') throw new UserError(`${location}: empty schema= parameter`);
  let pg: PgModule;
  try {
    // `pg` is loaded only for PostgreSQL sources (a name in a variable: SQLite users need not install it)
    const name = 'pg';
    const mod = (await import(name)) as { default?: PgModule } & PgModule;
    pg = mod.default ?? mod;
  } catch {
    throw new UserError(`${location}: reading PostgreSQL needs the \`pg\` package (npm install pg)`);
  }
  const client = new pg.Client({ connectionString: connect.replace(/^postgres(ql)?\+\w+:/i, 'postgresql:') });
  for (const oid of TIMESTAMP_OIDS) client.setTypeParser(oid, 'text', (text) => text);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new UserError(`${location}: cannot connect (${oneLine(e)})`);
  }
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    if (schema !== null) {
      const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rows.length === 0) throw new UserError(`${location}: no schema ${JSON.stringify(schema)} in the database`);
      await client.query(`SET LOCAL search_path TO "${schema.replace(/"/g, '""')}"`);
    }
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e instanceof UserError ? e : new UserError(`${location}: ${oneLine(e)}`);
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

/** A driver error as one line (AggregateError from a refused dual-stack connect has an empty message). */
function oneLine(e: unknown): string {
  const err = e as Error & { code?: string; errors?: Error[] };
  const msg = err.message || err.errors?.map((x) => x.message).join('; ') || err.code || String(e);
  return msg.replace(/\s*\n\s*/g, ' ');
}

/** Opens a database URL or a SQLite file path. */
export async function openSql(location: string): Promise<SqlSource> {
  if (/^postgres(ql)?(\+\w+)?:\/\//i.test(location)) return openPostgres(location);
  const p = sqlitePathOfUrl(location);
  if (p === null && /^\w+(\+\w+)?:\/\//.test(location)) throw new UserError(`${location}: unsupported database URL (sqlite:///PATH or postgresql://…)`);
  return openSqlite(p ?? location);
}
