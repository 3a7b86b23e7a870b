#!/usr/bin/env node
/** CLI entry: runs the command tree; user errors print one line and exit 2, bugs print a stack and exit 1. */
import type { Command } from 'commander';
import { isUserError } from '../util/index.js';
import { buildProgram } from './program.js';

/**
 * Commander copies exitOverride/output settings into a subcommand only when it is created, so they are applied to
 * every command of the finished tree here: a flag error is one line `tunescope: error: …` (no help dump) and
 * reaches main()'s catch, which exits 2.
 */
function oneLineErrors(cmd: Command): void {
  let path = '';
  for (let c: Command | null = cmd; c; c = c.parent) path = path ? `${c.name()} ${path}` : c.name();
  cmd.exitOverride();
  cmd.showHelpAfterError(false);
  cmd.configureOutput({
    outputError: (str, write) => {
      const message = str.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      write(`tunescope: error: ${message} (see '${path} --help')\n`);
    },
  });
  for (const sub of cmd.commands) oneLineErrors(sub);
}

async function main(): Promise<void> {
  // `tunescope … | head`: a reader that closes the pipe early is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = await buildProgram(process.argv);
  oneLineErrors(program);
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // commander already printed its message (help, version, or a flag error).
      const exitCode = (e as { exitCode?: number }).exitCode ?? 2;
      process.exit(code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : exitCode === 1 ? 2 : exitCode);
    }
    if (isUserError(e)) {
      process.stderr.write(`tunescope: error: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`tunescope: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  }
}

void main();
