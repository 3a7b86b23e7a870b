/**
 * CommonJS packages loaded on first use. @stdlib's math packages are hundreds of small files each (about a second
 * of start-up for the CLI together), and most commands never compute a p-value or draw a random number.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `name`'s exports, required the first time the returned function is called. */
export function lazyRequire<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(name) as T);
}
