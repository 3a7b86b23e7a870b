/** The store factory: a postgres:// URL is the PostgreSQL store, anything else a SQLite file path. */
import { isPostgresUrl, openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { StudyStore } from './types.js';

export function openStore(location: string, opts: { readonly?: boolean } = {}): StudyStore {
  return isPostgresUrl(location) ? openPostgresStore(location, opts) : openSqliteStore(location, opts);
}

/** A store location as it may be shown or stored: a URL's password masked. */
export { maskUrl as displayLocation } from '../util/index.js';
