/**
 * `tunescope study plan|extend|run|status|export|analyze|copy|stop`: designed sweeps of real fine-tunes, stored in SQLite or PostgreSQL.
 */
import { Command, Option } from 'commander';
import { nonNegativeInt, positiveInt, positiveNumber } from '../options.js';
import { BASELINE_CONFIG_HELP, CENTER_CHOICES, CENTER_HELP, resolveCenter, type CenterFlags } from '../center.js';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError, checkOutputPath, maskUrl, parseDecimal, stringifyJson, writeFileAtomic } from '../../util/index.js';
import { copyStudy, isPostgresUrl, isSqliteFile, openStore, type StudyStore } from '../../store/index.js';
import { loadDataset, type DatasetFingerprint } from '../../data/index.js';
import {
  EXTEND_STRATEGIES, analyzeStudy, specCenter, blockCounts, deadRunReason, exportPredictions, extendStudy, formatExtension, formatPlan, readBlocks, specHash, stepTimeModel, expandDesign, planExecution, type ExtendStrategy, formatStudyAnalysis, loadStudySpec, nonFiniteReason, pilotSigma, planStudy, predictionsFormatOf, runStudy, studyRows, toDatasetSpec, type PlanOptions, type StudyEvent, type StudySpec,
  type StudySummary,
} from '../../study/index.js';
import type { DashboardServer } from '../../server/index.js';
import { closeOnSignal, portFlag, serveBanner } from './serve.js';
import { diskUsage } from '../../train/index.js';
import { dirname } from 'node:path';

/** `study run`'s exit status when the study ran to its end with failed trials. */
export const EXIT_TRIALS_FAILED = 3;

/** Open the store named by a spec file (or `--store`), by the store path itself, or by a postgres:// URL. */
export function openStudyStore(specOrDb: string, storeOverride?: string): { store: StudyStore; spec: StudySpec | null } {
  if (isPostgresUrl(specOrDb)) return { store: openStore(specOrDb, { readonly: true }), spec: null };
  if (!existsSync(specOrDb)) throw new UserError(`no such file: ${specOrDb}`);
  if (statSync(specOrDb).isDirectory()) throw new UserError(`${specOrDb} is a folder, not a study spec or store`);
  if (isSqliteFile(specOrDb)) return { store: openStore(specOrDb, { readonly: true }), spec: null };
  // a store name that holds something else would otherwise be parsed as a YAML spec, with a misleading message
  if (/\.(sqlite3?|db)$/i.test(specOrDb)) throw new UserError(`${specOrDb}: not a SQLite database (expected a study store written by \`tunescope study run\`)`);
  const spec = loadSpecWithStore(specOrDb, storeOverride);
  if (!isPostgresUrl(spec.store) && !existsSync(spec.store)) throw new UserError(`the study ${spec.name} has not been run yet (no store at ${spec.store})`);
  return { store: openStore(spec.store, { readonly: true }), spec };
}

// The queue (BullMQ, Redis) and the dashboard (Fastify, the report) load only for the commands that use them, so a
// local `study run`, `status` or `plan` starts without them.
const loadDistributed = () => import('../../distributed/index.js');
const loadServer = () => import('../../server/index.js');

/**
 * The dashboard for `study run --serve`: started when the first trial starts (the store then holds the study, and
 * the spec has passed the checks that come before the store is created), fed the run's per-step progress.
 */
function dashboardBeside(storeOf: () => string, o: { host: string; port: number; token: string | null }): { event(e: StudyEvent): void; started(): Promise<DashboardServer | null> } {
  let server: Promise<DashboardServer | null> | null = null;
  let ready: DashboardServer | null = null;
  let location = '';
  return {
    event(e) {
      if (e.type === 'trial-start' && server === null) {
        location = storeOf();
        server = loadServer().then(({ startServer }) => startServer({ stores: [location], host: o.host, port: o.port, token: o.token })).then(
          (s) => {
            ready = s;
            process.stdout.write(serveBanner(s, o.token !== null) + '\n');
            return s;
          },
          (err: unknown) => {
            // the study goes on without its dashboard
            process.stderr.write(`tunescope: warning: the dashboard did not start: ${(err as Error).message}\n`);
            return null;
          },
        );
      }
      ready?.studyEvent(location, e);
    },
    started: () => server ?? Promise.resolve(null),
  };
}

/** A spec with `--store` (a SQLite path or a postgres:// URL) in place of its own `store:`. */
function loadSpecWithStore(path: string, store?: string): StudySpec {
  const spec = loadStudySpec(path);
  return store === undefined ? spec : { ...spec, store: isPostgresUrl(store) ? store : resolve(store) };
}

/** `study copy` operands: a postgres:// URL, a SQLite file (existing or, as destination, new), or a spec (its store). */
function storeLocation(arg: string, role: 'source' | 'destination'): string {
  if (isPostgresUrl(arg)) return arg;
  if (existsSync(arg) && statSync(arg).isFile() && !isSqliteFile(arg) && !/\.(sqlite3?|db)$/i.test(arg)) return loadStudySpec(arg).store;
  if (role === 'source' && !existsSync(arg)) throw new UserError(`no such study store: ${arg}`);
  if (existsSync(arg) && statSync(arg).isDirectory()) throw new UserError(`${arg} is a folder, not a study store`);
  return resolve(arg);
}

const storeOption = () => new Option('--store <url-or-path>', "the study's store instead of the spec's `store:` (postgres://user@host/db[?schema=NAME], or a SQLite file)");

export function formatSummary(s: StudySummary): string {
  const c = s.counts;
  const lines = [
    `study ${s.name}: ${c.done}/${s.total} done, ${c.failed} failed, ${c.pending} pending${s.interrupted ? ' (interrupted)' : ''}`,
    `  this run: ${s.ranNow} trial(s) finished, ${s.failedNow} failed in ${s.seconds.toFixed(1)} s with ${s.workers} worker(s) × ${s.threadsPerWorker} thread(s)`,
  ];
  if (s.nonFinite.length > 0) lines.push(`  non-finite: ${s.nonFinite.length} trial(s) ended with NaN/Inf loss or logits (recorded as done, flagged): ${s.nonFinite.join(', ')}`);
  if (s.recovered.length > 0) lines.push(`  restarted ${s.recovered.length} trial(s) a stopped process had left running`);
  if (s.baseline) {
    lines.push(`  baseline (${s.baseline.source}): ${Object.entries(s.baseline.metrics).filter(([k]) => ['accuracy', 'f1', 'loss'].includes(k)).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
  }
  lines.push(`  store: ${s.store}`);
  return lines.join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export async function statusText(store: StudyStore, opts: { trials?: boolean } = {}): Promise<string> {
  const study = await store.getStudy();
  if (!study) throw new UserError(`${store.location} holds no study`);
  const counts = await store.counts();
  const total = counts.pending + counts.running + counts.done + counts.failed;
  const lines = [`study ${study.name} (created ${study.createdAt}, store ${store.location})`];
  lines.push(`  trials: ${total} — done ${counts.done}, running ${counts.running}, pending ${counts.pending}, failed ${counts.failed}`);
  const trials = await store.listTrials();
  const blocks = await readBlocks(store);
  if (blocks.length > 0) {
    lines.push(`  blocks: ${blocks.length + 1}`);
    for (const c of blockCounts(trials, blocks)) {
      lines.push(`    block ${c.block} (${c.label}): ${c.total} trials — done ${c.done}, running ${c.running}, pending ${c.pending}, failed ${c.failed}`);
    }
  }
  const done = trials.filter((t) => t.status === 'done' && t.trainSeconds !== null);
  if (done.length > 0) {
    const mean = done.reduce((a, t) => a + (t.trainSeconds ?? 0), 0) / done.length;
    lines.push(`  mean trial time ${mean.toFixed(1)} s; backend ${done[0]!.backend ?? 'unknown'}`);
  }
  const b = await store.getBaseline();
  if (b) {
    const main = Object.entries(b.metrics).filter(([k]) => ['accuracy', 'f1', 'loss'].includes(k));
    lines.push(`  baseline (${b.source}): ${(main.length > 0 ? main : Object.entries(b.metrics)).map(([k, v]) => `${k}=${Number(v.toPrecision(6))}`).join(', ')}`);
  }
  const fp = (await store.getMeta('dataset_fingerprint')) as DatasetFingerprint | null;
  if (fp) {
    lines.push(`  dataset fingerprint (checked before every trial): ${fp.files.map((f) => `${f.split} ${f.path} ${f.bytes} bytes sha256 ${f.sha256.slice(0, 16)}`).join('; ')}`);
    lines.push(`    examples used: train ${fp.train.examples} (sha256 ${fp.train.sha256.slice(0, 16)}), eval ${fp.eval.examples} (sha256 ${fp.eval.sha256.slice(0, 16)})`);
  }
  const allRuns = await store.listRuns();
  const runs = allRuns.filter((r) => r.role !== 'worker');
  const unfinished = runs.filter((r) => r.finishedAt === null);
  // a run that never finished is either still going or was killed: its heartbeat (and its pid on this host) tell
  const dead = unfinished.map((r) => [r, deadRunReason(r)] as const).filter(([, why]) => why !== null);
  const alive = unfinished.filter((r) => !dead.some(([d]) => d === r));
  const who = (r: (typeof runs)[number]) => `${r.role === 'coordinator' ? 'coordinator ' : ''}pid ${r.pid} on ${r.host}`;
  if (runs.length > 0) {
    const parts = [`${alive.length} running${alive.length ? `: ${alive.map((r) => `${who(r)}, heartbeat ${r.heartbeatAt}`).join('; ')}` : ''}`];
    if (dead.length > 0) parts.push(`${dead.length} dead: ${dead.map(([r, why]) => `${who(r)}, last heartbeat ${r.heartbeatAt}, ${why}`).join('; ')}`);
    lines.push(`  runs: ${runs.length} (${parts.join('; ')})`);
    if (dead.length > 0 && counts.running > 0) lines.push(`  trials still marked running by a dead run go back to pending on the next \`study run\``);
  }
  const workers = allRuns.filter((r) => r.role === 'worker');
  if (workers.length > 0) {
    // a distributed study: every queue worker seen, with what it runs now
    const byRun = new Map<string, string[]>();
    for (const t of trials.filter((t) => t.status === 'running' && t.runId)) byRun.set(t.runId!, [...(byRun.get(t.runId!) ?? []), t.id]);
    lines.push(`  workers seen: ${workers.length}`);
    for (const w of workers) {
      const cur = byRun.get(w.id);
      const state = w.finishedAt !== null ? `stopped ${w.finishedAt}` : `last heartbeat ${w.heartbeatAt}`;
      lines.push(`    ${w.name ?? w.id} on ${w.host} (pid ${w.pid}): ${state}; ${cur ? `running ${cur.join(', ')}` : 'idle'}`);
    }
  }
  for (const t of trials.filter((t) => t.status === 'done')) {
    const why = nonFiniteReason(t.metrics);
    if (why) lines.push(`  non-finite ${t.id} ${JSON.stringify(t.config)} seed ${t.seed}: ${why}`);
  }
  const checkpoints = new Map((await store.listCheckpoints()).map((c) => [c.trialId, c]));
  for (const t of trials.filter((t) => t.status === 'running' || (t.status === 'pending' && checkpoints.has(t.id)))) {
    const c = checkpoints.get(t.id);
    // the trial's folder holds its checkpoint(s) and any save in progress
    const disk = c ? `checkpoint step ${c.step} (${c.savedAt}), ${formatBytes(diskUsage(dirname(c.location)))} on disk in ${dirname(c.location)}` : 'no checkpoint yet';
    lines.push(`  ${t.status} ${t.id} ${JSON.stringify(t.config)} seed ${t.seed}${t.worker ? ` on ${t.worker}` : ''}: ${disk}`);
  }
  for (const t of trials.filter((t) => t.status === 'failed')) {
    lines.push(`  failed ${t.id} ${JSON.stringify(t.config)} seed ${t.seed} (attempts ${t.attempts}): ${t.error}`);
  }
  if (opts.trials) {
    lines.push('', 'id                status   attempts seed   config / metrics');
    for (const t of trials) {
      const m = t.metrics ? ` acc ${t.metrics.accuracy?.toFixed(4) ?? '-'} f1 ${t.metrics.f1?.toFixed(4) ?? '-'} loss ${t.metrics.loss?.toFixed(4) ?? '-'}` : '';
      lines.push(`${t.id}  ${t.status.padEnd(8)} ${String(t.attempts).padEnd(8)} ${String(t.seed).padEnd(6)} ${t.kind === 'evaluate' ? 'baseline evaluation' : JSON.stringify(t.config)}${t.isBaseline && t.kind === 'train' ? ' (baseline)' : ''}${m}`);
    }
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const study = program.command('study').description('designed sweeps of real fine-tunes: plan, run, resume, extend, inspect, export, analyse');

  study
    .command('plan')
    .description('before any compute: the trials (coded and natural units), estimable and aliased terms, condition number, VIF, D-efficiency, predicted SEs, power and cost — never trains')
    .argument('<spec>', 'study spec (YAML or JSON)')
    .option('--sigma <s>', 'seed-noise SD of the primary response (metric units) for predicted SEs and power', positiveNumber('--sigma'))
    .option('--pilot <store>', 'a finished pilot study (.sqlite or its spec): σ from its seed replicates, cost from its measured step times')
    .option('--effect <d>', "effect for the power: change in the metric across a factor's range (default 0.01)", positiveNumber('--effect'))
    .option('--workers <n>', 'workers the cost is divided over (default: the spec\'s execution settings)', positiveInt('--workers'))
    .option('--calibrate', "measure the step time now: a few real training steps of the spec's model on batches of its training data (not the study; cached for later plans)")
    .option('--no-calibrate', 'never train: the step time comes from the cache (`npm run bench -- engine`, an earlier --calibrate) or --pilot (default)')
    .option('--json <out>', 'also write the plan as JSON')
    .action(async (specPath: string, o: { sigma?: number; pilot?: string; effect?: number; workers?: number; calibrate?: boolean; json?: string }) => {
      if (o.json) checkOutputPath(o.json, '--json');
      if (o.sigma !== undefined && o.pilot) throw new UserError('give --sigma or --pilot, not both');
      const spec = loadStudySpec(specPath);
      const metric = spec.analysis.responses[0] ?? 'accuracy';
      const opts: PlanOptions = {
        ...(o.sigma !== undefined ? { sigma: o.sigma, sigmaSource: '--sigma' } : {}),
        ...(o.effect !== undefined ? { effect: o.effect } : {}),
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
      };
      // step time: the pilot's, else this study's own finished trials (a resumed study)
      const timing = o.pilot ?? (existsSync(spec.store) ? spec.store : null);
      if (timing) {
        const { store } = openStudyStore(timing);
        try {
          const p = await pilotSigma(store, metric).catch((e: unknown) => {
            if (o.pilot) throw e;
            return null; // the study's own store need not have replicates yet
          });
          if (p && o.pilot) Object.assign(opts, { sigma: p.sigma, sigmaSource: p.source });
          if (p?.secondsPerExample) opts.secondsPerExample = { value: p.secondsPerExample, source: `measured in ${store.location}` };
        } finally {
          await store.close();
        }
      }
      // blocks `study extend` appended to this study (its store, if it holds this very spec)
      if (isPostgresUrl(spec.store) || (existsSync(spec.store) && isSqliteFile(spec.store))) {
        const store = openStore(spec.store, { readonly: true });
        try {
          const study = await store.getStudy();
          if (study && study.specHash === specHash(spec)) {
            const blocks = await readBlocks(store);
            if (blocks.length > 0) opts.blocks = blocks;
          }
        } catch (e) {
          // a plan needs no database: a store that cannot be reached only leaves the extension blocks out
          if (!isPostgresUrl(spec.store)) throw e;
          process.stderr.write(`tunescope: warning: ${maskUrl(spec.store)} not reachable, blocks added by \`study extend\` are not listed: ${(e as Error).message}\n`);
        } finally {
          await store.close().catch(() => {});
        }
      }
      // the execution the cost is for: workers × engine threads as `study run` would plan them
      const trials = expandDesign(spec);
      const exec = planExecution(spec, trials.length, { ...(o.workers !== undefined ? { workers: o.workers } : {}) });
      opts.workers = exec.workers;
      opts.threadsPerWorker = exec.threadsPerWorker;
      // step time: calibrated now when asked; else a pilot's (or this study's) measured trials; else the step-time cache
      if (o.calibrate || !opts.secondsPerExample) {
        const configs = [...trials.filter((t) => t.kind === 'train').map((t) => t.config), ...(opts.blocks ?? []).flatMap((b) => b.trials.map((t) => t.config))];
        const st = await stepTimeModel(spec, configs, { calibrate: o.calibrate === true, threads: exec.threadsPerWorker, log: (line) => process.stderr.write(`tunescope: ${line}\n`) });
        if (st.model) opts.stepTime = st.model;
        else if (o.calibrate) throw new UserError(`--calibrate: ${st.reason}`);
        else if (st.reason) opts.costReason = `${st.reason}${opts.secondsPerExample ? '' : '; or pass --pilot STORE (a finished study with the same model)'}`;
      }
      if (opts.secondsPerExample || opts.stepTime) {
        const loaded = spec.dataset.max_train_samples === undefined ? (await loadDataset(toDatasetSpec(spec.dataset))).train.length : null;
        opts.trainExamples = loaded ?? (spec.dataset.max_train_samples as number);
      }
      const plan = planStudy(spec, opts);
      process.stdout.write(formatPlan(plan) + '\n');
      if (o.json) writeFileAtomic(o.json, stringifyJson(plan) + '\n', '--json');
    });

  study
    .command('extend')
    .description("sequential follow-up: from the finished trials' fit, propose the next block of design points and append it to the study (then `study run`)")
    .argument('<spec>', 'study spec (YAML or JSON) of a study that has finished trials')
    .addOption(new Option('--strategy <strategy>', 'augment (D-optimal augmentation), steepest_ascent (along the fitted gradient) or around_optimum (a CCD around the fitted optimum)').choices([...EXTEND_STRATEGIES]).makeOptionMandatory())
    .option('--trials <n>', 'new design points, each run with the spec\'s seeds (default: augment the model\'s term count, steepest_ascent 5, around_optimum the CCD + 1 centre point)', positiveInt('--trials'))
    .option('--metric <name>', "the metric the fit is of (default: the spec's first response); loss-like metrics are minimised", )
    .option('--step <s>', 'coded units: steepest_ascent the distance between points on the path, around_optimum the CCD\'s half-width (default 0.5)', positiveNumber('--step'))
    .option('--seed <k>', "augment: the exchange algorithm's seed (default: design.seed)", (v: string): number => {
      const x = Number(v);
      if (!(Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new UserError(`--seed must be an integer in [0, 2^32-1] (got ${JSON.stringify(v)})`);
      return x;
    })
    .addOption(new Option('--degree <d>', "augment: the polynomial degree to augment for (default: the spec's analysis degree; 3 augments a degree-2 design for the next degree)").choices(['1', '2', '3']))
    .option('--json <out>', 'also write the block (fit, points, trials) as JSON')
    .action(async (specPath: string, o: { strategy: ExtendStrategy; trials?: number; metric?: string; step?: number; seed?: number; degree?: string; json?: string }) => {
      if (o.json) checkOutputPath(o.json, '--json');
      if (o.step !== undefined && o.strategy === 'augment') throw new UserError('--step is for steepest_ascent and around_optimum');
      if ((o.seed !== undefined || o.degree !== undefined) && o.strategy !== 'augment') throw new UserError('--seed and --degree are for --strategy augment');
      const spec = loadStudySpec(specPath);
      const r = await extendStudy(spec, {
        strategy: o.strategy,
        ...(o.trials !== undefined ? { trials: o.trials } : {}),
        ...(o.metric !== undefined ? { metric: o.metric } : {}),
        ...(o.step !== undefined ? { step: o.step } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.degree !== undefined ? { degree: Number(o.degree) as 1 | 2 | 3 } : {}),
      });
      process.stdout.write(formatExtension(r) + '\n');
      if (o.json) writeFileAtomic(o.json, stringifyJson(r.block) + '\n', '--json');
    });

  study
    .command('run')
    .description('run (or resume) every trial of a study spec; Ctrl-C stops cleanly, rerun to continue')
    .argument('<spec>', 'study spec (YAML or JSON)')
    .option('--retry-failed', 'rerun trials that failed before')
    .option('--workers <n>', 'trials at once (worker threads); default from the spec, else one per core', positiveInt('--workers'))
    .option('--threads <n>', 'engine threads per worker (intra_op_num_threads)', positiveInt('--threads'))
    .option('--runner <module>', 'a module exporting runTrial(task, ctx) to use instead of the built-in fine-tuner')
    .addOption(storeOption())
    .option('--queue <url>', 'distribute the trials through BullMQ on this Redis (redis://host:6379/0) to `tunescope worker`s; needs a postgres:// store (default: the spec\'s execution.queue)')
    .option('--json <out>', 'also write the run summary as JSON')
    .option('--serve', 'start the live dashboard (`tunescope serve`) beside the study and print its URL; it keeps serving after the study ends, until Ctrl-C')
    .option('--host <address>', 'with --serve: address to bind (anything but the loopback needs --token)', '127.0.0.1')
    .option('--port <n>', 'with --serve: port (0: any free one)', portFlag, 8765)
    .option('--token <secret>', 'with --serve: require this secret (TUNESCOPE_TOKEN also sets it)')
    .addHelpText(
      'after',
      '\nExit status: 0 every trial done; 3 the study ran to its end but some trials failed (the count is printed);\n' +
        '130 stopped by Ctrl-C/SIGTERM (rerun to continue); 2 bad input or a store error (one `tunescope: error:` line).',
    )
    .action(async (specPath: string, o: { retryFailed?: boolean; workers?: number; threads?: number; runner?: string; store?: string; queue?: string; json?: string; serve?: boolean; host: string; port: number; token?: string }) => {
      if (o.json) checkOutputPath(o.json, '--json'); // before hours of trials, not after
      const token = o.token ?? process.env.TUNESCOPE_TOKEN ?? null;
      if (o.serve) (await loadServer()).checkServeOptions({ host: o.host, port: o.port, token });
      const dashboard = o.serve ? dashboardBeside(() => loadSpecWithStore(specPath, o.store).store, { host: o.host, port: o.port, token }) : null;
      const ac = new AbortController();
      let interrupts = 0;
      const onSigint = (signal: NodeJS.Signals) => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write('\ntunescope: stopping after the current training step (running trials go back to pending; Ctrl-C again to quit at once)\n');
          ac.abort();
        } else {
          // quit at once without running exit handlers: process.exit would terminate worker threads that may be
          // inside a native ONNX Runtime call (an abort with a core dump). The default action of the signal ends
          // the process as kill -9 would, which the store survives (running trials are recovered on the next run).
          process.off('SIGINT', onSigint);
          process.off('SIGTERM', onSigint);
          process.kill(process.pid, signal);
        }
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const spec = loadSpecWithStore(specPath, o.store);
        if (o.queue !== undefined || spec.execution.queue !== undefined) {
          if (o.runner || o.workers !== undefined || o.threads !== undefined) {
            throw new UserError('--runner, --workers and --threads belong to `tunescope worker` for a study on a queue');
          }
          if (o.serve) throw new UserError('--serve is for a local run; for a study on a queue run `tunescope serve STORE` beside the coordinator');
          const { runDistributedStudy } = await loadDistributed();
          const summary = await runDistributedStudy(spec, {
            signal: ac.signal,
            ...(o.queue !== undefined ? { queue: o.queue } : {}),
            ...(o.retryFailed ? { retryFailed: true } : {}),
            onEvent: (e) => {
              if (e.type === 'warning') process.stderr.write(`tunescope: warning: ${e.message}\n`);
            },
          });
          process.stdout.write(formatSummary(summary).replace(/\n {2}this run: .*/, `\n  this run: ${summary.ranNow} trial(s) finished, ${summary.failedNow} failed in ${summary.seconds.toFixed(1)} s on the queue ${summary.queue} (${summary.enqueued} job(s) queued)`) + '\n');
          if (o.json) writeFileAtomic(o.json, stringifyJson(summary) + '\n', '--json');
          if (summary.interrupted) {
            process.stdout.write(summary.stopped ? 'stopped: run the same command again to continue\n' : 'the workers keep running the queued trials; run the same command again to watch, `tunescope study stop` to stop them\n');
            process.exitCode = 130;
            return;
          }
          if (summary.counts.failed > 0) {
            process.stderr.write(`tunescope: ${summary.counts.failed} of ${summary.total} trial(s) failed: see \`tunescope study status ${specPath}\`; rerun with --retry-failed\n`);
            process.exitCode = EXIT_TRIALS_FAILED;
          }
          if (summary.counts.done > 0) {
            const store = openStore(spec.store, { readonly: true });
            try {
              process.stdout.write('\n' + formatStudyAnalysis(await analyzeStudy(store)) + '\n');
            } catch (e) {
              process.stderr.write(`tunescope: warning: analysis: ${(e as Error).message}\n`);
            } finally {
              await store.close();
            }
          }
          return;
        }
        const summary = await runStudy(spec, {
          signal: ac.signal,
          ...(o.retryFailed ? { retryFailed: true } : {}),
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
          ...(o.threads !== undefined ? { threadsPerWorker: o.threads } : {}),
          ...(o.runner ? { runnerModule: o.runner } : {}),
          onEvent: (e) => {
            if (e.type === 'warning') process.stderr.write(`tunescope: warning: ${e.message}\n`);
            dashboard?.event(e);
          },
        });
        process.stdout.write(formatSummary(summary) + '\n');
        if (o.json) writeFileAtomic(o.json, stringifyJson(summary) + '\n', '--json');
        if (summary.interrupted) process.exitCode = 130;
        else if (summary.counts.failed > 0) {
          // like a test runner: a study with failed trials is not a success (exit 3; 2 stays "bad input")
          process.stderr.write(`tunescope: ${summary.counts.failed} of ${summary.total} trial(s) failed: see \`tunescope study status ${specPath}\`; rerun with --retry-failed\n`);
          process.exitCode = EXIT_TRIALS_FAILED;
        }
        const server = dashboard ? await dashboard.started() : null;
        if (server && !summary.interrupted) {
          process.off('SIGINT', onSigint);
          process.off('SIGTERM', onSigint);
          process.stdout.write(`the study is finished; the dashboard stays at ${server.url}/ until Ctrl-C\n`);
          await closeOnSignal(server);
        } else if (server) await server.close();
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });

  study
    .command('status')
    .description("a study's progress: trial counts, failures with their errors, baseline, runs")
    .argument('<spec-or-db>', 'the study spec, its store (.sqlite) or a postgres:// URL')
    .option('--trials', 'list every trial')
    .addOption(storeOption())
    .action(async (path: string, o: { trials?: boolean; store?: string }) => {
      const { store } = openStudyStore(path, o.store);
      try {
        process.stdout.write((await statusText(store, o)) + '\n');
      } finally {
        await store.close();
      }
    });

  study
    .command('export')
    .description('one row per trial: hyperparameters, seed, metrics, relative metrics (metric − baseline)')
    .argument('<spec-or-db>', 'the study store (.sqlite or postgres:// URL) or its spec')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('--out <file>', 'write here instead of stdout')
    .option('--all', 'every trial (pending, failed, baseline-only) with status, role and error columns')
    .option('--predictions <file>', "instead: every trial's per-example predictions (trial_id, example, label, predicted, prob_0…) as .csv, .jsonl or .parquet")
    .addOption(storeOption())
    .action(async (path: string, o: { format: 'csv' | 'json'; out?: string; all?: boolean; predictions?: string; store?: string }) => {
      if (o.out) checkOutputPath(o.out, '--out');
      if (o.predictions) {
        if (o.out) throw new UserError('--predictions writes its own file: give either --predictions FILE or --out FILE');
        predictionsFormatOf(o.predictions);
        checkOutputPath(o.predictions, '--predictions');
      }
      const { store } = openStudyStore(path, o.store);
      try {
        if (o.predictions) {
          const r = await exportPredictions(store, o.predictions);
          process.stdout.write(`wrote ${r.rows} predictions of ${r.trials} trial(s) to ${o.predictions}\n`);
          return;
        }
        const table = await studyRows(store, { all: o.all ?? false });
        const text =
          o.format === 'json'
            ? stringifyJson({ columns: table.columns, rows: table.rows, baseline: table.baseline }) + '\n'
            : stringify(table.rows, { header: true, columns: table.columns, cast: { number: (v) => (Number.isFinite(v) ? String(v) : String(v)) } });
        if (o.out) writeFileAtomic(o.out, text, '--out');
        else process.stdout.write(text);
      } finally {
        await store.close();
      }
    });

  study
    .command('analyze')
    .description("the analysis engine on a study's trials: polynomial OLS in the absolute and relative frames, seed noise vs effects, trade-offs")
    .argument('<spec-or-db>', 'the study store (.sqlite or postgres:// URL) or its spec')
    .addOption(storeOption())
    .addOption(new Option('--degree <d>', 'polynomial degree, or cv to choose it by cross-validation (default: the spec\'s)').choices(['1', '2', '3', 'cv']))
    .addOption(new Option('--frame <frame>', 'absolute, relative or both (default: the spec\'s)').choices(['absolute', 'relative', 'both']))
    .option('--response <metrics>', 'comma-separated metrics (default: the spec\'s, e.g. accuracy,f1,loss)')
    .option('--log-lr', 'use log10(learning_rate)')
    .option('--no-log-lr', 'use learning_rate as is')
    .option('--standardize', 'z-score each predictor before forming powers')
    .option('--effect-size <x>', 'effect size (metric units) for the seeds-needed power calculation', (v: string): number => {
      const x = parseDecimal(v) ?? NaN;
      if (!(Number.isFinite(x) && x > 0)) throw new UserError(`--effect-size must be a positive number (got ${JSON.stringify(v)})`);
      return x;
    })
    .option('--exclude-diverged', 'leave diverged trials out of the noise analysis (it always says how many)')
    .option('--drop-missing', 'leave out trials with a missing metric (NaN from a diverged trial) instead of stopping; the output says how many')
    .option('--importance-bootstrap <B>', 'bootstrap resamples (configurations, seeds kept together) for the Sobol importance CIs (0: none)', nonNegativeInt('--importance-bootstrap'), 1000)
    .option('--importance-seed <n>', 'seed of the importance bootstrap', nonNegativeInt('--importance-seed'), 0)
    .addOption(new Option('--center <origin>', `${CENTER_HELP} (default: the spec's analysis.center, else none)`).choices(CENTER_CHOICES))
    .option('--baseline-config <list>', `${BASELINE_CONFIG_HELP} [default: the spec's baseline.config]`)
    .option('--baseline-card <card>', "for --center baseline: read the baseline's learning_rate / batch size / epochs from this model card (a file, or a model id)")
    .option('--cards-dir <dir>', 'look for the --baseline-card card in this folder of *.md cards first (offline)')
    .option('--json <out>', 'write the full analysis as JSON')
    .action(async (path: string, o: { store?: string; degree?: string; frame?: 'absolute' | 'relative' | 'both'; response?: string; logLr?: boolean; standardize?: boolean; effectSize?: number; excludeDiverged?: boolean; dropMissing?: boolean; json?: string; importanceBootstrap?: number; importanceSeed?: number } & CenterFlags) => {
      if (o.json) checkOutputPath(o.json, '--json');
      const { store } = openStudyStore(path, o.store);
      try {
        const flagged = o.center !== undefined || o.baselineConfig !== undefined || o.baselineCard !== undefined;
        const stored = flagged ? ((await store.getStudy())?.spec as StudySpec | undefined) : undefined;
        const center = flagged
          ? await resolveCenter(o, stored?.design?.factors?.map((f) => f.name) ?? [], [], stored ? specCenter(stored) : {})
          : undefined;
        const result = await analyzeStudy(store, {
          ...(center ? { center } : {}),
          importanceBootstrap: o.importanceBootstrap ?? 1000,
          importanceSeed: o.importanceSeed ?? 0,
          ...(o.degree ? { degree: o.degree === 'cv' ? 'cv' : (Number(o.degree) as 1 | 2 | 3) } : {}),
          ...(o.frame ? { frame: o.frame } : {}),
          ...(o.response ? { responses: o.response.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          ...(o.logLr !== undefined ? { logLr: o.logLr } : {}),
          ...(o.standardize ? { standardize: true } : {}),
          ...(o.effectSize !== undefined ? { effectSize: o.effectSize } : {}),
          ...(o.excludeDiverged ? { excludeDiverged: true } : {}),
          ...(o.dropMissing ? { dropMissing: true } : {}),
        });
        process.stdout.write(formatStudyAnalysis(result) + '\n');
        if (o.json) writeFileAtomic(o.json, stringifyJson(result.json) + '\n', '--json');
      } finally {
        await store.close();
      }
    });

  study
    .command('copy')
    .description('copy a whole study (trials, attempts, epochs, step logs, predictions, checkpoints, runs, baseline, dataset fingerprint and blocks) between stores, e.g. SQLite ↔ PostgreSQL; row counts are compared after')
    .argument('<src>', 'the source store: a .sqlite file, a postgres:// URL, or a spec (its store)')
    .argument('<dst>', 'the destination: a new .sqlite file or an empty postgres:// store (?schema=NAME for another schema)')
    .action(async (src: string, dst: string) => {
      const r = await copyStudy(storeLocation(src, 'source'), storeLocation(dst, 'destination'));
      const c = r.counts;
      process.stdout.write(
        `copied study ${r.name} from ${r.from} to ${r.to}: ${c.trials} trials (${c.done} done), ${c.epochs} epoch rows, ${c.attempts} attempts, ${c.predictions} with predictions, ${c.runs} runs, ${c.baseline} baseline metrics — counts verified\n`,
      );
    });

  study
    .command('stop')
    .description('a study on a queue: running trials finish, no new ones are handed out (run `study run` again to continue)')
    .argument('<spec>', 'the study spec')
    .option('--queue <url>', "the queue's Redis (default: the spec's execution.queue)")
    .addOption(storeOption())
    .action(async (specPath: string, o: { queue?: string; store?: string }) => {
      const spec = loadSpecWithStore(specPath, o.store);
      if (o.queue === undefined && spec.execution.queue === undefined) {
        throw new UserError(`${specPath} runs on one machine (no execution.queue): stop it with Ctrl-C in its terminal, or pass --queue`);
      }
      const { stopDistributedStudy } = await loadDistributed();
      const r = await stopDistributedStudy(spec, o.queue);
      process.stdout.write(`study ${spec.name}: ${r.withdrawn} waiting trial(s) withdrawn from the queue; ${r.running} running trial(s) finish\n`);
    });
}
