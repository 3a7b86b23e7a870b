/**
 * The `tunescope` command tree. Each command lives in ./commands/<name>.ts and exports
 * `register(program)`; this file only lists them, so modules can add commands independently.
 */
import { Command } from 'commander';
import { tunescopeVersion } from '../util/index.js';

// command modules (one import + one call each):
import { register as registerCards } from './commands/cards.js';
import { register as registerStudy } from './commands/study.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerAnalyze } from './commands/analyze.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerReport } from './commands/report.js';
import { register as registerPredict } from './commands/predict.js';
import { register as registerVariability } from './commands/variability.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerImport } from './commands/import.js';
import { register as registerWorker } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tunescope')
    .description(
      'Measure how fine-tuning hyperparameters (learning rate, batch size, epochs) and the seed move a text classifier\'s accuracy, F1 and loss.',
    )
    .version(tunescopeVersion())
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  // register calls go here, in the order they should appear in --help.
  registerDemo(program);
  registerTrain(program);
  registerEvaluate(program);
  registerPredict(program);
  registerStudy(program);
  registerWorker(program);
  registerAnalyze(program);
  registerVariability(program);
  registerCards(program);
  registerImport(program);
  registerReport(program);
  registerServe(program);
  return program;
}
