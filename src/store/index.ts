/** Persistent study storage (SQLite via better-sqlite3) behind a store interface. */
export { isSqliteFile, openSqliteStore, openStore, SqliteStudyStore } from './sqlite.js';
export { TRIAL_STATUSES } from './types.js';
export type {
  StudyStore,
  StudyRecord,
  NewTrial,
  TrialRecord,
  TrialStatus,
  TrialOutcome,
  EpochMetricsRow,
  RunRecord,
  BaselineRecord,
} from './types.js';
