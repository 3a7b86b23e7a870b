/**
 * `npm run cards-accuracy [-- MANIFEST RAW_DIR]`: parses the real cards in ../shared/fixtures/cards/raw and compares every
 * field with the values a careful reader took (manifest.csv); prints per-field and overall accuracy and every mismatch.
 * Exits 1 when any field differs.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cardsAccuracy, formatAccuracy } from '../src/cards/index.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const fixtures = join(root, '..', 'shared', 'fixtures', 'cards');
const manifest = process.argv[2] ?? join(fixtures, 'manifest.csv');
const raw = process.argv[3] ?? join(fixtures, 'raw');
const report = cardsAccuracy(manifest, raw);
console.log(formatAccuracy(report));
process.exitCode = report.mismatches.length === 0 ? 0 : 1;
