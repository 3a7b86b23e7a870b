/**
 * `tunescope cards ingest|harvest|accuracy`: Hugging Face model cards → one row per model (CSV/JSON) for `tunescope analyze`.
 */
import { Command } from 'commander';
import { positiveInt } from '../options.js';
import { resolve } from 'node:path';
import { UserError, checkOutputPath, parseDecimal, createProgress, stringifyJson, writeFileAtomic } from '../../util/index.js';
import {
  cardsAccuracy,
  cardsCsv,
  cardsJson,
  epochsCsv,
  formatAccuracy,
  harvestCards,
  ingestCards,
  type CardRecord,
} from '../../cards/index.js';

interface OutputOpts {
  out?: string;
  json?: boolean;
  epochsOut?: string;
}

/** Both output paths are checked before any work, so one bad path leaves neither file half-done. */
function checkOutputs(o: OutputOpts): void {
  if (o.out) checkOutputPath(o.out, '--out');
  if (o.epochsOut) checkOutputPath(o.epochsOut, '--epochs-out');
}

function writeOutputs(records: CardRecord[], o: OutputOpts): void {
  const text = o.json ? `${stringifyJson(cardsJson(records))}\n` : cardsCsv(records);
  if (o.epochsOut) writeFileAtomic(o.epochsOut, epochsCsv(records), '--epochs-out');
  if (o.out) {
    writeFileAtomic(o.out, text, '--out');
    const warned = records.filter((r) => r.warnings.length > 0).length;
    const tasks = new Map<string, number>();
    for (const r of records) tasks.set(r.values.task ?? '(unknown)', (tasks.get(r.values.task ?? '(unknown)') ?? 0) + 1);
    const byTask = [...tasks].map(([t, n]) => `${t} ${n}`).join(', ');
    process.stdout.write(`wrote ${records.length} card(s) to ${o.out} (${byTask}); ${warned} with warnings\n`);
    if (o.epochsOut) process.stdout.write(`wrote the per-epoch Training results rows to ${o.epochsOut}\n`);
    for (const r of records) for (const w of r.warnings) process.stderr.write(`warning: ${r.source}: ${w}\n`);
  } else {
    process.stdout.write(text);
    for (const r of records) for (const w of r.warnings) process.stderr.write(`warning: ${r.source}: ${w}\n`);
  }
}

export function register(program: Command): void {
  const cards = program
    .command('cards')
    .description('Hugging Face model cards → one row per model: hyperparameters and eval metrics with per-field provenance');

  cards
    .command('ingest')
    .description('parse every *.md model card in a folder')
    .argument('<dir>', 'folder of README.md cards (owner__name.md or owner_name_README.md file names give the model id)')
    .option('--out <file>', 'write the table here (CSV, or JSON with --json) instead of stdout')
    .option('--json', 'JSON array (provenance, metrics, per-epoch rows nested) instead of CSV')
    .option('--epochs-out <file>', 'also write the per-epoch Training results rows as CSV (model_id, source, epoch, step, …)')
    .action((dir: string, o: OutputOpts) => {
      checkOutputs(o);
      const records = ingestCards(resolve(dir));
      writeOutputs(records, o);
    });

  cards
    .command('harvest')
    .description('list Hub models fine-tuned from --base, download and parse their README.md cards (HF_TOKEN, HF_ENDPOINT honoured)')
    .requiredOption('--base <model_id>', 'base model id, e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english (the old id without owner also matches)')
    .option('--limit <n>', 'at most this many models', positiveInt('--limit'))
    .option('--out <file>', 'write the table here (CSV, or JSON with --json) instead of stdout')
    .option('--json', 'JSON array instead of CSV')
    .option('--epochs-out <file>', 'also write the per-epoch Training results rows as CSV')
    .option('--cache <dir>', 'card cache folder (default $HF_HOME/tunescope/hub or ~/.cache/tunescope/hub)')
    .option('--offline', 'use only the cache (also HF_HUB_OFFLINE=1)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default 30000)', positiveInt('--timeout'))
    .option('--retries <n>', 'retries after 429/5xx/timeouts (default 5)', (v: string) => {
      const n = parseDecimal(v) ?? NaN;
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--retries must be a non-negative integer (got ${JSON.stringify(v)})`);
      return n;
    })
    .action(async (o: OutputOpts & { base: string; limit?: number; cache?: string; offline?: boolean; timeout?: number; retries?: number }) => {
      checkOutputs(o);
      let bar: ReturnType<typeof createProgress> | null = null;
      const result = await harvestCards({
        base: o.base,
        limit: o.limit,
        hub: {
          cacheDir: o.cache ? resolve(o.cache) : undefined,
          offline: o.offline ? true : undefined,
          timeoutMs: o.timeout,
          retries: o.retries,
        },
        onCard: (done, total) => {
          bar ??= createProgress({ total, label: 'harvesting cards' });
          bar.update(done);
        },
      });
      (bar as ReturnType<typeof createProgress> | null)?.stop();
      process.stderr.write(`listed ${result.listed} model(s): ${result.filters.map((f) => `${f.filter} → ${f.listed}`).join(', ')}\n`);
      writeOutputs(result.records, o);
    });

  cards
    .command('accuracy')
    .description('compare the parser with a manifest of hand-read values (fixtures/cards/manifest.csv format); exit 1 on any mismatch')
    .argument('<manifest>', 'CSV with a file column and one column per field')
    .argument('<dir>', 'folder holding the cards named in the manifest')
    .action((manifest: string, dir: string) => {
      const r = cardsAccuracy(resolve(manifest), resolve(dir));
      process.stdout.write(`${formatAccuracy(r)}\n`);
      if (r.mismatches.length > 0) process.exitCode = 1;
    });
}
