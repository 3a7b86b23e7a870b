/**
 * Progress bars for long work, on stderr so stdout stays machine-readable.
 * cli-progress draws in a TTY; elsewhere (CI, pipes) it prints a line at most every few seconds.
 * TUNESCOPE_QUIET=1 or `quiet: true` silences it (tests).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Set the absolute count and optional payload fields shown in the format. */
  update(value: number, payload?: Record<string, string | number>): void;
  increment(delta?: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  /** cli-progress format string; `{bar} {percentage}% {value}/{total} ETA {eta_formatted}` by default. */
  format?: string;
  label?: string;
  quiet?: boolean;
  /** Initial payload values for tokens used in `format`. */
  payload?: Record<string, string | number>;
}

const silent: Progress = { update() {}, increment() {}, setTotal() {}, stop() {} };

export function isQuiet(): boolean {
  return process.env.TUNESCOPE_QUIET === '1';
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet ?? isQuiet()) return silent;
  const label = opts.label ? `${opts.label} ` : '';
  const bar = new cliProgress.SingleBar(
    {
      format: label + (opts.format ?? '{bar} {percentage}% | {value}/{total} | ETA {eta_formatted}'),
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(opts.total, 0, opts.payload ?? {});
  return {
    update: (v, p) => bar.update(v, p ?? {}),
    increment: (d = 1, p) => bar.increment(d, p ?? {}),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}
