/** Persistent study storage (SQLite via better-sqlite3) behind a store interface. */
export { isSqliteFile, openSqliteStore, openStore, SqliteStudyStore } from './sqlite.js';
export { TRIAL_STATUSES } from './types.js';
export { encodePredictions, decodePredictions } from './predictions.js';
export { StoreError, guardStore, storeErrorKind, toStoreError } from './errors.js';
export type { StoreErrorKind } from './errors.js';
export type {
  StudyStore,
  StudyRecord,
  NewTrial,
  TrialRecord,
  TrialStatus,
  TrialOutcome,
  TrialPredictions,
  EpochMetricsRow,
  RunRecord,
  BaselineRecord,
  TrialCheckpoint,
} from './types.js';
