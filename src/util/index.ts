/** Small shared pieces: user-facing errors, seeded randomness, NaN-safe JSON, progress bars. */
export { UserError, isUserError } from './errors.js';
export { Rng } from './random.js';
export { jsonSafe, stringifyJson, parseJsonNumber, findDuplicateKey } from './json.js';
export { createProgress, isQuiet } from './progress.js';
export type { Progress, ProgressOptions } from './progress.js';
export { checkNotSpecialFile, checkOutputPath, specialFileKind, ensureDir, readRegularFile, writeFileAtomic } from './fs.js';
export { decodeUtf8, decodeUtf8Lenient } from './text.js';
export { maskUrl, maskUrlsIn, stripPassword } from './url.js';
export { parseDecimal } from './number.js';
export { trace } from './trace.js';
export type { TraceEvent } from './trace.js';
export { tunescopeVersion } from './version.js';
export { lazyRequire } from './lazy.js';
