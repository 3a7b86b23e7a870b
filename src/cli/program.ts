/**
 * The `tunescope` command tree. Each command lives in ./commands/<name>.ts and exports
 * `register(program)`; this file only lists them, so modules can add commands independently.
 */
import { Command } from 'commander';
import { tunescopeVersion } from '../util/index.js';

type CommandModule = { register(program: Command): void };

/**
 * The command modules, in the order of --help (one line each). Each pulls in its part of the toolkit (the engine,
 * the stores, the queue, the dashboard…), so only the command asked for is loaded: `tunescope analyze` does not
 * start by loading ONNX Runtime and BullMQ. `--help`, `help` or an unknown name loads them all.
 */
const COMMANDS: [names: string[], load: () => Promise<CommandModule>][] = [
  [['demo'], () => import('./commands/demo.js')],
  [['train'], () => import('./commands/train.js')],
  [['evaluate'], () => import('./commands/evaluate.js')],
  [['predict'], () => import('./commands/predict.js')],
  [['study'], () => import('./commands/study.js')],
  [['worker'], () => import('./commands/worker.js')],
  [['analyze'], () => import('./commands/analyze.js')],
  [['variability', 'compare'], () => import('./commands/variability.js')],
  [['cards'], () => import('./commands/cards.js')],
  [['import'], () => import('./commands/import.js')],
  [['report'], () => import('./commands/report.js')],
  [['serve'], () => import('./commands/serve.js')],
];

/** The command tree for `argv` (process.argv form): the command it names, or every command. */
export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command();
  program
    .name('tunescope')
    .description(
      'Measure how fine-tuning hyperparameters (learning rate, batch size, epochs) and the seed move a text classifier\'s accuracy, F1 and loss.',
    )
    .version(tunescopeVersion())
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  const asked = COMMANDS.filter(([names]) => names.includes(argv[2] ?? ''));
  for (const [, load] of asked.length > 0 ? asked : COMMANDS) (await load()).register(program);
  return program;
}
