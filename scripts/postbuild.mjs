// Make the CLI entry executable after tsc (tsc does not keep the mode bit).
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/index.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
