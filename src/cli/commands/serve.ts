/**
 * `tunescope serve [STORE…]`: the live dashboard over study stores (read-only). Runs until Ctrl-C.
 */
import { Command } from 'commander';
import type { DashboardServer } from '../../server/index.js';
import { UserError } from '../../util/index.js';

export interface ServeFlags {
  host: string;
  port: number;
  token?: string;
}

/** The lines `serve` and `study run --serve` print: where the dashboard is, and how to get in. */
export function serveBanner(s: DashboardServer, token: boolean): string {
  const lines = [`tunescope dashboard: ${s.openUrl}`];
  if (token) lines.push(`  requests need the token: open the URL above once (it sets a cookie), or send "Authorization: Bearer <token>"`);
  for (const st of s.studies) lines.push(`  ${st.name}: ${s.url}/studies/${st.id}  (${st.location})`);
  return lines.join('\n');
}

export function portFlag(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new UserError(`--port must be an integer from 0 to 65535 (got ${JSON.stringify(v)})`);
  return n;
}

/** Wait for Ctrl-C / SIGTERM, then close the server. */
export function closeOnSignal(s: DashboardServer): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void s.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('a live, read-only web dashboard over study stores: progress, trials, training curves, the report recomputed as trials finish')
    .argument('<stores...>', 'study stores: SQLite files (from `tunescope study run`) or postgres:// URLs')
    .option('--host <address>', 'address to bind; anything but the loopback needs --token', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', portFlag, 8765)
    .option('--token <secret>', 'require this secret (bearer header, or the printed one-time URL that sets a cookie); TUNESCOPE_TOKEN also sets it')
    .action(async (stores: string[], o: ServeFlags) => {
      const token = o.token ?? process.env.TUNESCOPE_TOKEN ?? null;
      // loaded here, not at the top: `study` imports this file's helpers without needing the server
      const { startServer } = await import('../../server/index.js');
      const server = await startServer({ stores, host: o.host, port: o.port, token });
      process.stdout.write(serveBanner(server, token !== null) + '\n');
      await closeOnSignal(server);
    });
}
