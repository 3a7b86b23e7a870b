/**
 * Seeded pseudo-random numbers shared by every module that needs reproducibility
 * (subsampling, shuffling, dropout masks, weight init, random designs).
 * MT19937 from @stdlib, the same generator family as numpy's legacy RandomState and torch's CPU generator.
 */
import type Mt19937 from '@stdlib/random-base-mt19937';
import { lazyRequire } from './lazy.js';

const generator = lazyRequire<typeof Mt19937>('@stdlib/random-base-mt19937');

export class Rng {
  private readonly gen: ReturnType<typeof Mt19937.factory>;
  private spare: number | null = null;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32-1], got ${seed}`);
    }
    this.gen = generator().factory({ seed: seed >>> 0 || 5489 });
  }

  /** Raw 32-bit unsigned integer. */
  uint32(): number {
    return this.gen();
  }

  /** Uniform in [0, 1) with 53 bits, composed as numpy's random_sample does. */
  uniform(): number {
    const a = this.gen() >>> 5;
    const b = this.gen() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method, caching the pair's second value). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = this.uniform() * 2 - 1;
      v = this.uniform() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  /** In-place Fisher–Yates shuffle; returns the same array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i] as T;
      a[i] = a[j] as T;
      a[j] = t;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** The generator's full state (MT19937 words, position and seed, as @stdlib stores it), for checkpoints. */
  getState(): number[] {
    return Array.from(this.gen.state);
  }

  /** A generator that continues exactly where the one whose `getState()` this is stopped. */
  static fromState(seed: number, state: readonly number[]): Rng {
    const r = new Rng(seed);
    try {
      r.gen.state = Uint32Array.from(state);
    } catch (e) {
      throw new RangeError(`not an MT19937 state: ${(e as Error).message}`);
    }
    return r;
  }

  /** A derived generator, independent for practical purposes, e.g. one per epoch or per worker. */
  fork(stream: number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(stream + 1, 0xc2b2ae35)) >>> 0);
  }
}
