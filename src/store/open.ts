/** The store factory: a postgres:// URL is the PostgreSQL store, anything else a SQLite file path. */
import { guardStore } from './errors.js';
import { isPostgresUrl, openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { StudyStore } from './types.js';

export function openStore(location: string, opts: { readonly?: boolean } = {}): StudyStore {
  // every store goes through guardStore: a full disk or a read-only store is one clear error, not a stack trace
  return guardStore(isPostgresUrl(location) ? openPostgresStore(location, opts) : openSqliteStore(location, opts));
}

/** A store location as it may be shown or stored: a URL's password masked. */
export { maskUrl as displayLocation } from '../util/index.js';
