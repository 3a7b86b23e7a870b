/**
 * Store-level error classification, shared by every StudyStore: a full disk, an I/O error, a read-only or
 * unreachable store are conditions of the machine, not bugs, so they become one `StoreError` (a UserError: the
 * CLI prints one `tunescope: error:` line) that says what happened and that the finished trials are kept.
 * SQLite (better-sqlite3 `SqliteError.code`), Node fs errno codes and PostgreSQL SQLSTATEs are all recognised here,
 * so a new store only needs `guardStore`.
 */
import { UserError } from '../util/index.js';
import type { StudyStore } from './types.js';

export type StoreErrorKind = 'disk-full' | 'io' | 'read-only' | 'permission' | 'not-a-folder' | 'cannot-open' | 'unavailable';

export class StoreError extends UserError {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ADVICE: Record<StoreErrorKind, string> = {
  'disk-full': 'no space left for the study store; free space and rerun to continue (finished trials are kept)',
  io: 'I/O error on the study store; check the disk and rerun to continue (finished trials are kept)',
  'read-only': 'the study store is read-only; make it writable (or copy it somewhere writable) and rerun',
  permission: 'no permission to write the study store',
  'not-a-folder': 'the study store cannot be created there (a file is in the way of its folder)',
  'cannot-open': 'cannot open the study store file; check that it and its folder exist and are writable',
  unavailable: 'the study store is not reachable; rerun when it is (finished trials are kept)',
};

/** The kind of a machine-level store error, or null for anything else (a bug, a constraint, a user error). */
export function storeErrorKind(e: unknown): StoreErrorKind | null {
  if (e instanceof StoreError) return e.kind;
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const msg = e instanceof Error ? e.message : '';
  // SQLite result codes (extended codes start with the primary one, e.g. SQLITE_IOERR_WRITE)
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || code === '53100') return 'disk-full';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO' || code === '58030') return /disk is full|no space/i.test(msg) ? 'disk-full' : 'io';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === '25006') return 'read-only';
  if (code === 'SQLITE_PERM' || code === 'EACCES' || code === 'EPERM' || code === '42501') return 'permission';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'not-a-folder';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'cannot-open';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === '57P01' || code === '08006') return 'unavailable';
  return null;
}

/** `e` as a StoreError naming the store, or `e` itself when it is not a machine-level store error. */
export function toStoreError(e: unknown, location: string): unknown {
  if (e instanceof StoreError) return e;
  const kind = storeErrorKind(e);
  if (!kind) return e;
  return new StoreError(kind, `study store ${location}: ${ADVICE[kind]} (${(e as Error).message})`, { cause: e });
}

/** Every method of `store` with machine-level failures translated by toStoreError (sync throws included). */
export function guardStore<S extends StudyStore>(store: S): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        try {
          const r: unknown = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r instanceof Promise ? r.catch((e: unknown) => Promise.reject(toStoreError(e, target.location))) : r;
        } catch (e) {
          throw toStoreError(e, target.location);
        }
      };
    },
  });
}
