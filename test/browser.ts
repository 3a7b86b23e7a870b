/** Debian's chromium through playwright-core, as every browser test launches it (one place for the path and flags). */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** A skip reason for node:test where chromium is missing, else false. */
export const chromiumSkip: string | false = existsSync(CHROMIUM) ? false : `chromium not installed at ${CHROMIUM} (.ci/run installs it with apt)`;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
