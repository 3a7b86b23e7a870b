/**
 * `npm run bench`: every benchmark, each printing its own numbers.
 * `npm run bench -- <name>...` runs only the named ones.
 * Each benchmark module exports `name` and `run(): Promise<void>`; add yours to the list below.
 */
interface Bench {
  name: string;
  run: () => Promise<void>;
}

const benches: Array<() => Promise<Bench>> = [
  // benchmark modules, in the order they print:
  () => import('./engine.js'),
  () => import('./train.js'),
  () => import('./modelio.js'),
  () => import('./analysis.js'),
  () => import('./cards.js'),
  () => import('./report.js'),
  () => import('./study.js'),
  () => import('./variability.js'),
  () => import('./serve.js'),
  () => import('./faults.js'),
  () => import('./designs.js'),
  () => import('./distributed.js'),
];

const only = process.argv.slice(2);
for (const load of benches) {
  const b = await load();
  if (only.length > 0 && !only.includes(b.name)) continue;
  console.log(`\n=== ${b.name} ===`);
  await b.run();
}
