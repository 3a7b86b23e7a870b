/**
 * `tunescope import SOURCE… [--study NAME] [--out runs.csv] [--map a=b,…] [--json]`: sweeps run with Optuna, the HF
 * Trainer, MLflow or W&B → one row per run in the `study export` / `cards` format, for `analyze` and `report`.
 */
import { Command } from 'commander';
import {
  OptunaStudyChoice, formatMappings, formatWarning, importCsv, importJson, importSources, importTable, parseMapOption, parseSourceArgs,
  type OptunaStudyInfo,
} from '../../import/index.js';
import { checkOutputPath, createProgress, stringifyJson, writeFileAtomic } from '../../util/index.js';

interface ImportCliOptions {
  study?: string;
  out?: string;
  map?: string;
  json?: boolean;
}

export function formatStudyList(studies: OptunaStudyInfo[]): string {
  return studies
    .map((s) => {
      const total = Object.values(s.trials).reduce((a, b) => a + b, 0);
      const objectives = s.directions.map((d, i) => `${d.toLowerCase()} ${s.metricNames?.[i] ?? (s.directions.length === 1 ? 'value' : `values_${i}`)}`).join(', ');
      return `${s.name}\t${objectives}\t${total} trials: ${Object.entries(s.trials).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`;
    })
    .join('\n');
}

export function register(program: Command): void {
  program
    .command('import')
    .description('read sweeps run elsewhere (Optuna, HF Trainer output folders, MLflow, W&B) as one row per run: HF hyperparameter names, seed, metrics, provenance')
    .argument(
      '<source...>',
      'KIND LOCATION… or KIND:LOCATION or a recognised LOCATION; kinds: optuna (sqlite:///study.db, postgresql://…, a JournalStorage log), ' +
        'hf (Trainer output folders, searched recursively), mlflow (mlruns/ or sqlite:///mlflow.db), wandb (wandb/ offline runs or a runs-table CSV export)',
    )
    .option('--study <name>', 'the Optuna study to read (the studies are listed when a storage holds several and this is omitted)')
    .option('--out <file>', 'write the rows here (CSV, or JSON with --json) instead of stdout')
    .option('--map <list>', 'rename before analysis, overriding the defaults (lr→learning_rate, batch_size→per_device_train_batch_size, epochs→num_train_epochs, eval_accuracy→accuracy, …), e.g. value=accuracy,warm=warmup_ratio')
    .option('--json', 'JSON {columns, rows (history and attrs nested), mappings, warnings} instead of CSV')
    .action(async (sources: string[], o: ImportCliOptions) => {
      if (o.out) checkOutputPath(o.out, '--out');
      const map = parseMapOption(o.map);
      const specs = await parseSourceArgs(sources);
      const bar = specs.length > 1 ? createProgress({ total: specs.length, label: 'importing sources' }) : null;
      let done = 0;
      let result;
      try {
        result = await importSources(specs, { study: o.study, map, onSource: () => bar?.update(++done) });
      } catch (e) {
        if (e instanceof OptunaStudyChoice && o.study === undefined && e.studies.length > 1) process.stdout.write(`${formatStudyList(e.studies)}\n`);
        throw e;
      } finally {
        bar?.stop();
      }
      const table = importTable(result.runs);
      const text = o.json ? `${stringifyJson(importJson(result, table))}\n` : importCsv(table);
      const info = o.out ? process.stdout : process.stderr;
      for (const n of result.notes) info.write(`${n}\n`);
      if (result.mappings.length) info.write(`names mapped to HF's: ${formatMappings(result.mappings)}\n`);
      for (const w of result.warnings) process.stderr.write(`warning: ${formatWarning(w)}\n`);
      const states = new Map<string, number>();
      for (const r of result.runs) states.set(r.state, (states.get(r.state) ?? 0) + 1);
      const summary = `kept ${result.runs.length} run(s) from ${specs.length} source(s) (${[...states].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}); ${result.warnings.length} warning(s); analyses use the complete runs`;
      if (o.out) {
        writeFileAtomic(o.out, text, '--out');
        info.write(`${summary}\nwrote ${o.out}\n`);
      } else {
        process.stdout.write(text);
        info.write(`${summary}\n`);
      }
    });
}
