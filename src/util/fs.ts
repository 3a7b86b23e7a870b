/** Writing output files the user named: atomic (temp file in the same folder + rename), errors as UserError. */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';

/**
 * Checks that `path` can be created: its folder exists and is a folder, and `path` is not a folder.
 * Called before long work so that a typo in an output path fails at once, not after the run.
 */
export function checkOutputPath(path: string, what = 'output'): void {
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UserError(`${what} ${path}: the folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UserError(`${what} ${path}: ${dir} is not a folder`);
  try {
    if (statSync(path).isDirectory()) throw new UserError(`${what} ${path}: is a folder, not a file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
  }
}

/** Writes `content` to `path` via a temp file in the same folder, so a reader never sees half a file. */
export function writeFileAtomic(path: string, content: string | Uint8Array, what = 'output'): void {
  checkOutputPath(path, what);
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(`${what} ${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `mkdir -p` for an output folder the user named; a file in the way (or no permission) is a UserError naming it. */
export function ensureDir(dir: string, what = 'output folder'): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UserError(`${what}: cannot create the folder ${dir} (${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code})`);
  }
}
