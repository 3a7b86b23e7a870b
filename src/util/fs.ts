/** Files the user named: output written atomically (temp file in the same folder + rename), input read only from
 * regular files (a FIFO or device path is refused, not read); errors as UserError. */
import { constants as bufferConstants } from 'node:buffer';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, join, parse, resolve } from 'node:path';
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

/**
 * `mkdir -p` for an output folder the user named; a file in the way (or no permission) is a UserError naming it.
 * One level at a time from the deepest folder that exists: Node's recursive mkdir retries for ever where a parent
 * exists but refuses new entries with ENOENT (under /proc), and one non-recursive call per level fails at once.
 */
export function ensureDir(dir: string, what = 'output folder'): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch {
      if (p === parse(p).root) break;
      missing.unshift(p);
      continue;
    }
    if (!st.isDirectory()) throw new UserError(`${what}: cannot create the folder ${dir} (a file is in the way)`);
    break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (code === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue; // made meanwhile
      throw new UserError(`${what}: cannot create the folder ${dir} (${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code})`);
    }
  }
}

/** What a path that is not a regular file is, in words ('a FIFO', 'a device', 'a folder', …). */
export function specialFileKind(st: Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isDirectory() ? 'a folder' : st.isSocket() ? 'a socket' : 'not a file';
}

/**
 * Refuses a path that exists but is neither a regular file nor a folder (a FIFO, a device, a socket), before
 * anything opens it: reading a FIFO blocks for ever, /dev/zero never ends. A missing path passes (the caller
 * says what is missing in its own words). Follows symlinks, as reading would.
 */
export function checkNotSpecialFile(path: string, what = path): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && !st.isFile() && !st.isDirectory()) throw new UserError(`${what}: not a regular file (${specialFileKind(st)}); expected a file on disk`);
}

/** The largest file readRegularFile reads by default: what one Buffer and the machine's memory allow. */
const MAX_READ_BYTES = Math.min(bufferConstants.MAX_LENGTH, totalmem());

/**
 * The bytes of a regular file, at most `maxBytes` (default: what one Buffer and memory hold). Opened without
 * blocking and checked with fstat after the open (no race with a rename): a FIFO would block the open or the read
 * for ever, a symlink to /dev/zero never ends, a directory or a device is no data file. Reads exactly the size
 * fstat reported.
 */
export function readRegularFile(path: string, opts: { maxBytes?: number; what?: string } = {}): Buffer {
  const what = opts.what ?? path;
  const maxBytes = opts.maxBytes ?? MAX_READ_BYTES;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UserError(`${what}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${what}: not a regular file (${specialFileKind(st)}); expected a file on disk`);
    if (st.size > maxBytes) throw new UserError(`${what}: ${st.size} bytes, more than the ${maxBytes} this file may have`);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) throw new UserError(`${what}: the file shrank while it was read (${off} of ${st.size} bytes)`);
      off += n;
    }
    return buf;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${what}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}
