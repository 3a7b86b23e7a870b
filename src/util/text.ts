/**
 * Strict UTF-8 decoding for the text files users hand us (datasets, CSVs, specs, TSVs): Node's
 * `toString('utf8')` silently turns invalid bytes into U+FFFD, which would train on or fit garbage.
 */
import { UserError } from './errors.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes `bytes` as UTF-8, or throws a UserError naming `source`, the line and column of the first invalid byte. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    // locate it: the first U+FFFD of the lenient decoding that is not a real EF BF BD in the input
    const loose = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    let offset = 0;
    let line = 1;
    let column = 1;
    for (const ch of loose) {
      const isReal = ch === '\uFFFD' && bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd;
      if (ch === '\uFFFD' && !isReal) {
        throw new UserError(`${source}: line ${line}, column ${column}: not valid UTF-8 (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at offset ${offset}); save the file as UTF-8`);
      }
      offset += Buffer.byteLength(ch, 'utf8');
      if (ch === '\n') {
        line++;
        column = 1;
      } else column++;
    }
    throw new UserError(`${source}: not valid UTF-8; save the file as UTF-8`);
  }
}

/**
 * Lenient decoding for data files that are UTF-8 but for a stray byte (TREC's train file has one 0xf0, which HF's
 * loader replaces too): invalid bytes become U+FFFD and `problem` says where the first one was, for a note.
 */
export function decodeUtf8Lenient(bytes: Uint8Array, source: string): { text: string; problem: string | null } {
  try {
    return { text: decodeUtf8(bytes, source), problem: null };
  } catch (e) {
    const text = new TextDecoder('utf-8').decode(bytes);
    return { text, problem: (e as Error).message.replace(/; save the file as UTF-8$/, '') };
  }
}
