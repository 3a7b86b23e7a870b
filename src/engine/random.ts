/**
 * Seeded random bytes at native speed for dropout masks: the AES-256-CTR keystream of a key derived from the
 * seed (node:crypto). Same seed → same bytes on every machine; a JS PRNG loop would cost ~100 ms per
 * DistilBERT-base step for the ~10 M values the masks need.
 */
import { createCipheriv, createHash } from 'node:crypto';

export class RandomStream {
  private readonly cipher;
  constructor(seed: number | string, stream = 'dropout') {
    const key = createHash('sha256').update(`tunescope:${stream}:${String(seed)}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0));
  }

  /** The next n uniformly random uint32 values. */
  uint32(n: number): Uint32Array {
    const bytes = this.cipher.update(Buffer.alloc(n * 4));
    // Buffer.alloc results may share a pool with an unaligned offset: copy into an aligned array
    if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    return new Uint32Array(Uint8Array.from(bytes).buffer);
  }

  /**
   * The next n draws of the same stream as `uint32(n)`, each with its sign bit flipped and read as int32
   * (u − 2³¹: the unsigned order becomes the signed order, so a threshold test is one int32 compare in ORT —
   * see Graph.dropout). The flip comes free: it is the plaintext that the keystream is XORed onto.
   */
  int32(n: number): Int32Array {
    if (this.signBits.length < n * 4) {
      this.signBits = Buffer.alloc(n * 4);
      new Uint32Array(this.signBits.buffer, this.signBits.byteOffset, n).fill(0x80000000);
    }
    const bytes = this.cipher.update(this.signBits.subarray(0, n * 4));
    if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, n);
    return new Int32Array(Uint8Array.from(bytes).buffer);
  }
  private signBits = Buffer.alloc(0);
}
