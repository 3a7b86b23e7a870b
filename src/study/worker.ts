/**
 * A study worker thread: imports the runner module once, then runs the trials the main thread sends, one at a
 * time, each with its own engine session inside the runner. It never touches the store: the main thread is
 * the single writer, so a result and its status change land in one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TrialRunnerModule, TrialTask } from './runner.js';

export type ToWorker = { type: 'run'; task: TrialTask } | { type: 'abort' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: string; epoch: number; step: number; totalSteps: number; loss: number; lr: number }
  | { type: 'checkpoint'; id: string; location: string; step: number }
  | { type: 'result'; id: string; outcome: unknown }
  | { type: 'error'; id: string; message: string; aborted: boolean }
  | { type: 'fatal'; message: string };

interface WorkerInit {
  runnerModule: string;
  threads: number;
  worker: string;
}

const port = parentPort!;
const init = workerData as WorkerInit;
let current: AbortController | null = null;

async function main(): Promise<void> {
  let mod: TrialRunnerModule;
  try {
    mod = (await import(init.runnerModule)) as TrialRunnerModule;
    if (typeof mod.runTrial !== 'function') throw new Error(`${init.runnerModule} does not export a runTrial function`);
  } catch (e) {
    port.postMessage({ type: 'fatal', message: `cannot load the trial runner: ${(e as Error).message}` } satisfies FromWorker);
    return;
  }
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'abort') {
      current?.abort();
      return;
    }
    const task = msg.task;
    const ac = new AbortController();
    current = ac;
    mod
      .runTrial(task, {
        signal: ac.signal,
        threads: init.threads,
        worker: init.worker,
        onProgress: (p) => port.postMessage({ type: 'progress', id: task.id, ...p } satisfies FromWorker),
        onCheckpoint: (c) => port.postMessage({ type: 'checkpoint', id: task.id, ...c } satisfies FromWorker),
      })
      .then(
        (outcome) => port.postMessage({ type: 'result', id: task.id, outcome } satisfies FromWorker),
        (e: unknown) =>
          port.postMessage({
            type: 'error',
            id: task.id,
            message: e instanceof Error ? `${e.name === 'Error' || e.name === 'UserError' ? '' : `${e.name}: `}${e.message}` : String(e),
            aborted: ac.signal.aborted,
          } satisfies FromWorker),
      )
      .finally(() => {
        if (current === ac) current = null;
      });
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

void main();
