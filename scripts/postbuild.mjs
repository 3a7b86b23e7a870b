// Make the CLI entry executable after tsc (tsc does not keep the mode bit), and copy the dashboard's
// browser assets (plain JS/CSS, not compiled) beside the compiled server.
import { chmodSync, cpSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/index.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
cpSync(new URL('../src/server/assets', import.meta.url), new URL('../dist/server/assets', import.meta.url), { recursive: true });
