/**
 * Phase timestamps for `npm run bench -- distributed`: with TUNESCOPE_TRACE=FILE set, each process and worker thread
 * appends one JSON line per phase (`{"t": epoch ms, "pid", "tid", "ev", "trial"?}`) to FILE, so the bench can show where a
 * study's time goes outside training (claim, hand-off, result write, start-up, end of run) on one clock. Unset (the
 * default), `trace` is one environment lookup and nothing is written.
 */
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

export function trace(ev: string, trial?: string): void {
  const file = process.env.TUNESCOPE_TRACE;
  if (!file) return;
  const line = JSON.stringify({ t: performance.timeOrigin + performance.now(), pid: process.pid, tid: threadId, ev, ...(trial !== undefined ? { trial } : {}) });
  try {
    // one short O_APPEND write per line: lines of concurrent processes do not interleave
    appendFileSync(file, line + '\n');
  } catch {
    /* tracing never fails a study */
  }
}

export interface TraceEvent {
  t: number;
  pid: number;
  /** worker_threads threadId (0: the main thread) */
  tid: number;
  ev: string;
  trial?: string;
}
