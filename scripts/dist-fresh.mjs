// Is dist/ (what `npm run build` writes) up to date with src/? Tests run the compiled CLI (dist/cli/index.js:
// about a second faster per spawn than tsx), so a stale dist/ would test old code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

/** The first file under src/ whose build output (dist/…) is missing or older, or null when dist/ is fresh. */
export function staleSource(root) {
  const src = join(root, 'src');
  for (const f of files(src)) {
    const rel = relative(src, f);
    // .ts compiles to .js (declarations beside it); the dashboard's browser assets are copied as they are
    const out = rel.endsWith('.d.ts') ? null : rel.endsWith('.ts') ? rel.replace(/\.ts$/, '.js') : rel.startsWith(join('server', 'assets')) ? rel : null;
    if (out === null) continue;
    const built = join(root, 'dist', out);
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(f).mtimeMs) return relative(root, f);
  }
  return null;
}
