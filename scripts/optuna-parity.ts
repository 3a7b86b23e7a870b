/**
 * `npm run optuna-parity`: the Optuna import against study.trials_dataframe() of the real Optuna (Debian
 * python3-optuna 3.1; test/import/fixtures/optuna/make.py and make_pg.py), for each storage — RDB SQLite, JournalStorage
 * log, and PostgreSQL (the committed pg_dump loaded into a private server, test/services.ts) — printing per study the
 * trials and cells compared and the cells that differ (exact comparison). The tests assert the same comparison.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { importSources } from '../src/import/index.js';
import { compareWithDataframe, type Frame } from '../test/import/dataframe.js';
import { postgresBinDir, startPostgres } from '../test/services.js';

const FIX = fileURLToPath(new URL('../test/import/fixtures/optuna/', import.meta.url));
const STUDIES: Record<string, string[]> = { 'sst2-single': ['value'], 'sst2-multi': ['accuracy', 'loss'], 'sst2-seeds': ['accuracy'] };
let failed = 0;

async function compare(storage: string, location: string, tag: string, studies: string[]): Promise<void> {
  for (const study of studies) {
    const frame = JSON.parse(readFileSync(join(FIX, `${tag}-${study}.json`), 'utf8')) as Frame;
    const r = await importSources([{ kind: 'optuna', location }], { study });
    const c = compareWithDataframe(r.runs, frame, STUDIES[study]!);
    failed += c.mismatches.length + r.warnings.length;
    console.log(`${storage.padEnd(10)} ${study.padEnd(12)} ${String(c.trials).padStart(3)} trials ${String(c.cells).padStart(5)} cells  ${c.mismatches.length} differ  ${r.warnings.length} warnings (Optuna ${frame.optuna})`);
    for (const m of c.mismatches.slice(0, 10)) console.log(`  ${m}`);
  }
}

console.log('storage    study        trials / cells compared with trials_dataframe(), exactly');
await compare('sqlite', join(FIX, 'study.db'), 'rdb', ['sst2-single', 'sst2-multi']);
await compare('sqlite', join(FIX, 'seeds.db'), 'rdb', ['sst2-seeds']);
await compare('journal', join(FIX, 'journal.log'), 'journal', ['sst2-single', 'sst2-multi']);
const pg = await startPostgres();
try {
  const url = await pg.createDatabase('optuna');
  const r = spawnSync(join(postgresBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', join(FIX, 'optuna-pg.sql')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  await compare('postgresql', url, 'pg', Object.keys(STUDIES));
} finally {
  pg.stop();
}
console.log(failed === 0 ? 'all equal' : `${failed} difference(s) or warning(s)`);
process.exitCode = failed === 0 ? 0 : 1;
