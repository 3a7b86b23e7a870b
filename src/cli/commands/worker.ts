/** `tunescope worker --queue URL`: run the trials of distributed studies (src/distributed) on this machine. */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { positiveInt } from '../options.js';
import { runQueueWorker } from '../../distributed/index.js';
import { UserError, isQuiet } from '../../util/index.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('take trials of distributed studies from the queue and run them here (the same trainer as a local study), writing results to each study\'s store; Ctrl-C lets running trials finish')
    .requiredOption('--queue <url>', 'the Redis of the queue (redis://host:6379/0, rediss:// for TLS)')
    .option('--concurrency <n>', 'trials at once', positiveInt('--concurrency'), 1)
    .option('--threads <n>', "engine threads per trial (intra_op_num_threads); default the spec's threads_per_worker, else 1", positiveInt('--threads'))
    .option('--name <name>', 'this worker in `study status` (default host:pid)')
    .option('--store <url...>', 'store URL(s) with password for the studies this worker serves (else PGPASSWORD or ~/.pgpass)')
    .option('--runner <module>', 'a module exporting runTrial(task, ctx) to use instead of the built-in fine-tuner')
    .action(async (o: { queue: string; concurrency: number; threads?: number; name?: string; store?: string[]; runner?: string }) => {
      if (!/^rediss?:\/\//.test(o.queue)) throw new UserError('--queue: expected a redis:// or rediss:// URL');
      const threads = o.threads ?? 1;
      if (o.concurrency * threads > availableParallelism()) {
        process.stderr.write(`tunescope: warning: ${o.concurrency} trial(s) × ${threads} thread(s) exceeds this machine's ${availableParallelism()} cores\n`);
      }
      const ac = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        if (++interrupts === 1) ac.abort();
        else process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const quiet = isQuiet();
      const s = await runQueueWorker({
        queue: o.queue,
        concurrency: o.concurrency,
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.store ? { stores: o.store } : {}),
        ...(o.runner ? { runnerModule: o.runner } : {}),
        signal: ac.signal,
        log: (line) => {
          if (!quiet) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
        },
      });
      process.stdout.write(`worker ${s.name}: ${s.done} trial(s) done, ${s.failed} failed, ${s.duplicates} duplicate deliveries skipped\n`);
      process.exit(0);
    });
}
