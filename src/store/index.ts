/** Persistent study storage (SQLite via better-sqlite3) behind a store interface. */
export {};
