/** Model-card parsing throughput on the real cards in ../shared (116 SST-2 variants + 59 manifest cards), and CSV output. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cardsCsv, ingestCards, parseCard } from '../src/cards/index.js';

export const name = 'cards';

export async function run(): Promise<void> {
  const shared = resolve(fileURLToPath(new URL('..', import.meta.url)), '..', 'shared');
  const dirs = [join(shared, 'datasets', 'hub-cards', 'sst2-distilbert-variants'), join(shared, 'fixtures', 'cards', 'raw')];
  const texts = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(d, f))));
  const bytes = texts.reduce((s, t) => s + t.length, 0);
  for (const t of texts) parseCard(t); // warm-up
  const reps = 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) for (const t of texts) parseCard(t);
  const ms = performance.now() - t0;
  const n = reps * texts.length;
  console.log(`parseCard: ${texts.length} real cards (${(bytes / 1024).toFixed(0)} KiB) × ${reps}: ${(ms / n).toFixed(2)} ms/card, ${((n / ms) * 1000).toFixed(0)} cards/s, ${((reps * bytes) / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s`);
  const t1 = performance.now();
  const recs = ingestCards(dirs[0]);
  const csv = cardsCsv(recs);
  console.log(`ingest + CSV of ${recs.length} variant cards: ${(performance.now() - t1).toFixed(0)} ms (${(csv.length / 1024).toFixed(0)} KiB CSV)`);
}
