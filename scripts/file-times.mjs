// A test reporter that prints, after the run, how long each test file took (slowest first), so the suite's
// ~10-minute budget can be kept: `npm test` shows the 15 slowest; TUNESCOPE_TEST_TIMES=all shows every file.
export default async function* fileTimes(source) {
  const rows = [];
  const t0 = Date.now();
  for await (const ev of source) {
    // the runner reports each file as a top-level test named by its path
    if (ev.type === 'test:complete' && ev.data.nesting === 0 && ev.data.file && ev.data.name === ev.data.file) rows.push([ev.data.file, ev.data.details.duration_ms]);
  }
  if (rows.length < 2) return;
  rows.sort((a, b) => b[1] - a[1]);
  const shown = process.env.TUNESCOPE_TEST_TIMES === 'all' ? rows : rows.slice(0, 15);
  yield `\nslowest test files (wall time, ${rows.length} files, ${((Date.now() - t0) / 1000).toFixed(0)} s in all):\n`;
  for (const [f, ms] of shown) yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${f.startsWith(process.cwd() + '/') ? f.slice(process.cwd().length + 1) : f}\n`;
}
