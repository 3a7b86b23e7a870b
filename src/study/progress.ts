/**
 * The study's progress on stderr: one overall bar (done / running / failed, ETA) and one line per worker
 * (its trial and current epoch). cli-progress MultiBar; silent when TUNESCOPE_QUIET=1 or quiet.
 */
import cliProgress from 'cli-progress';
import { isQuiet } from '../util/index.js';
import type { TrialProgress } from './runner.js';

export interface StudyProgress {
  setCounts(c: { done: number; running: number; failed: number; total: number }): void;
  workerStart(worker: string, label: string): void;
  workerProgress(worker: string, p: TrialProgress): void;
  workerIdle(worker: string): void;
  log(line: string): void;
  stop(): void;
}

const silent: StudyProgress = { setCounts() {}, workerStart() {}, workerProgress() {}, workerIdle() {}, log() {}, stop() {} };

export function createStudyProgress(opts: { total: number; done: number; workers: string[]; quiet?: boolean }): StudyProgress {
  if (opts.quiet ?? isQuiet()) return silent;
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 8,
      fps: 4,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      format: '{label} {bar} {value}/{total} | {info}',
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const overall = multi.create(opts.total, opts.done, { label: 'trials  ', info: '' }, { format: '{label} {bar} {value}/{total} | {info} | ETA {eta_formatted}' });
  const bars = new Map(opts.workers.map((w) => [w, multi.create(1, 0, { label: `${w.padEnd(8)}`, info: 'idle' })]));
  return {
    setCounts(c) {
      overall.setTotal(c.total);
      overall.update(c.done + c.failed, { info: `done ${c.done} running ${c.running} failed ${c.failed}` });
    },
    workerStart(w, label) {
      // a queue worker seen for the first time gets its own line
      if (!bars.has(w)) bars.set(w, multi.create(1, 0, { label: `${w.padEnd(8)}`, info: 'idle' }));
      const b = bars.get(w);
      b?.setTotal(1);
      b?.update(0, { info: label });
    },
    workerProgress(w, p) {
      const b = bars.get(w);
      if (!b) return;
      b.setTotal(Math.max(1, p.totalSteps));
      const info = (b as unknown as { payload?: { info?: string } }).payload?.info ?? '';
      const head = info.split(' | ')[0];
      b.update(p.step, { info: `${head} | epoch ${Math.ceil(p.epoch) || 1} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)}` });
    },
    workerIdle(w) {
      bars.get(w)?.update(0, { info: 'idle' });
    },
    log(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
