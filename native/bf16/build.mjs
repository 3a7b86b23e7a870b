#!/usr/bin/env node
// Builds the bf16 GEMM addon (native/bf16/bf16.cc → native/bf16/build/tunescope_bf16.node) with the machine's
// g++ against Debian's oneDNN (libdnnl-dev). Run by the package's `install` script, so `npm ci` builds it.
//
// g++ is called directly instead of through node-gyp: node-gyp downloads Node's headers from nodejs.org, which
// an offline machine cannot reach; the Node-API headers come from the `node-api-headers` package and the C++
// wrapper from `node-addon-api` (a Node-API addon links against no Node library, so nothing else is needed).
//
// The addon is optional: without g++ or oneDNN this prints one note and exits 0 (install succeeds, `--bf16`
// then says why it is unavailable). TUNESCOPE_NATIVE_STRICT=1 (set by .ci/run) makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'tunescope_bf16.node');
const strict = process.env.TUNESCOPE_NATIVE_STRICT === '1';

function skip(reason) {
  const msg = `tunescope: bf16 addon not built: ${reason} (--bf16 is unavailable; fp32 is unaffected)`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (process.env.TUNESCOPE_SKIP_NATIVE === '1') skip('TUNESCOPE_SKIP_NATIVE=1');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`needs Linux x86-64 (this is ${process.platform}-${process.arch})`);
const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) skip(`no C++ compiler (${cxx}; apt-get install g++)`);
if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp') && !existsSync('/usr/include/dnnl.hpp')) skip('oneDNN headers not found (apt-get install libdnnl-dev)');

const require = createRequire(import.meta.url);
let napiInclude;
let addonInclude;
try {
  napiInclude = join(dirname(require.resolve('node-api-headers/package.json')), 'include');
  addonInclude = dirname(require.resolve('node-addon-api/package.json'));
} catch {
  skip('node-api-headers / node-addon-api are not installed');
}

mkdirSync(join(here, 'build'), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const args = [
  '-O3', '-std=c++17', '-fPIC', '-shared', '-fopenmp', '-fvisibility=hidden',
  '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${napiInclude}`, `-I${addonInclude}`,
  join(here, 'bf16.cc'), '-o', tmp, '-ldnnl', '-Wl,--as-needed',
];
const r = spawnSync(cxx, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  if (r.stderr) process.stderr.write(r.stderr);
  skip(`${cxx} failed (exit ${r.status})`);
}
renameSync(tmp, out); // atomic: a half-written addon is never loaded
console.log(`tunescope: built ${out}`);
