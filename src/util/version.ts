/** tunescope's own version (package.json beside src/ and dist/), for stores, reports, the dashboard and --version. */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** The version in package.json, or 'unknown' when the code runs outside its package. */
export function tunescopeVersion(): string {
  if (cached !== null) return cached;
  try {
    cached = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    cached = 'unknown';
  }
  return cached;
}
