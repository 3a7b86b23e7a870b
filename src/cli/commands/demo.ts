/** `tunescope demo`: the README's main command — a small but real study, end to end, in a few minutes. */
import type { Command } from 'commander';
import { positiveInt } from '../options.js';
import { runDemo } from '../../demo/index.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run a small but real study end to end: SST-2, a small from-scratch DistilBERT, a face-centred central composite design over learning rate × batch size × epochs with 2 seeds (its plan first), then the analysis',
    )
    .option('--out <dir>', 'where the spec, the store, trials.csv, analysis.json and report.html go', 'runs/demo')
    .option('--workers <n>', 'trials at once (worker threads)', positiveInt('--workers'), 2)
    .option('--threads <n>', 'engine threads per worker', positiveInt('--threads'))
    .option('--train-samples <n>', 'SST-2 training sentences (subsampled with seed 42; default: 4096)', positiveInt('--train-samples'))
    .option('--eval-samples <n>', 'SST-2 validation sentences (subsampled; default: 400)', positiveInt('--eval-samples'))
    .option('--fresh', 'discard a previous demo run in --out and start over')
    .action(async (o: { out: string; workers: number; threads?: number; trainSamples?: number; evalSamples?: number; fresh?: boolean }) => {
      const ac = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        if (++interrupts > 1) process.exit(130);
        process.stderr.write('\ntunescope: stopping the demo (run it again to resume; Ctrl-C again to quit at once)\n');
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const r = await runDemo({
          out: o.out,
          workers: o.workers,
          signal: ac.signal,
          ...(o.threads !== undefined ? { threadsPerWorker: o.threads } : {}),
          ...(o.trainSamples !== undefined ? { trainSamples: o.trainSamples } : {}),
          ...(o.evalSamples !== undefined ? { evalSamples: o.evalSamples } : {}),
          ...(o.fresh ? { fresh: true } : {}),
        });
        if (r.summary.interrupted) process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
