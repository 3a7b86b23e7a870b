/** Persistent study storage behind one interface: SQLite (better-sqlite3, one machine) or PostgreSQL (pg, several). */
export { isSqliteFile, openSqliteStore, SqliteStudyStore, SQLITE_SCHEMA_VERSION } from './sqlite.js';
export { isPostgresUrl, openPostgresStore, PostgresStudyStore, POSTGRES_SCHEMA_VERSION } from './postgres.js';
export type { PostgresStoreOptions } from './postgres.js';
export { openStore, displayLocation } from './open.js';
export { copyStudy } from './copy.js';
export type { CopyResult } from './copy.js';
export { TRIAL_STATUSES, dumpCounts } from './types.js';
export { encodePredictions, decodePredictions } from './predictions.js';
export { StoreError, guardStore, storeErrorKind, toStoreError } from './errors.js';
export type { StoreErrorKind } from './errors.js';
export type {
  StudyStore,
  StudyRecord,
  NewTrial,
  NewRun,
  TrialRecord,
  TrialStatus,
  TrialOutcome,
  TrialPredictions,
  TrialHolder,
  EpochMetricsRow,
  StepLogRow,
  RunRecord,
  RunRole,
  AttemptRecord,
  AttemptOutcome,
  StudyDump,
  BaselineRecord,
  TrialCheckpoint,
} from './types.js';
