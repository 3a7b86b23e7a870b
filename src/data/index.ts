/** Datasets: TSV/CSV/JSONL/parquet loaders, Hub dataset files, seeded subsampling and splits, token-id caching. */
export { loadDataset, evalSubsampleSeed } from './load.js';
export { readRawTable, formatOf } from './readers.js';
export type { RawTable, RawValue, FileFormat } from './readers.js';
export { subsample, stratifiedHoldout, stratifiedKFold, stratifiedKFoldAssignment } from './splits.js';
export { tokenizeCached, textsHash, defaultTokenCacheDir } from './token-cache.js';
export type { TextEncoder, TokenizeResult } from './token-cache.js';
export type { Example, DatasetSpec, LoadedDataset } from './types.js';
export { fingerprintMismatch, examplesFingerprint, fileFingerprint } from './fingerprint.js';
export type { DatasetFingerprint, DatasetFileFingerprint } from './fingerprint.js';
