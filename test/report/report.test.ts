/** The report builder on plain inputs: tables hold the fit's numbers, charts compile, malformed input says what is missing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from 'vega-lite';
import { buildReport, writeReport, metricDirection, type ReportInput } from '../../src/report/index.js';
import { paretoChart } from '../../src/report/charts.js';
import { makePredictor } from '../../src/report/stats.js';
import { tempDir, sharedPath } from '../helpers.js';
import { fixtureFit, gridFullInput, HUB_BASELINE } from './helpers.js';

const grid = gridFullInput();
const doc = buildReport(grid);

test('every chart spec compiles with Vega-Lite and every chart is present in the HTML', () => {
  assert.ok(doc.charts.length >= 25, `expected many charts, got ${doc.charts.length}`);
  for (const c of doc.charts) {
    assert.ok(c.spec, `${c.id} is missing: ${c.missing}`);
    const { spec } = compile(c.spec as never);
    assert.ok(spec, c.id);
    assert.ok(doc.html.includes(`id="${c.id}-view"`), c.id);
  }
  const kinds = new Set(doc.charts.map((c) => c.kind));
  for (const k of ['coefficients', 'main-effects', 'interaction', 'surface', 'seed-variability', 'pareto']) assert.ok(kinds.has(k as never), k);
});

test('the learning rate is on a log axis and the baseline is a rule on metric axes', () => {
  const main = doc.charts.find((c) => c.id === 'chart-main-f1')!;
  const json = JSON.stringify(main.spec);
  assert.match(json, /"scale":\{"type":"log"/);
  assert.ok(json.includes(String(HUB_BASELINE.f1)), 'baseline value in the main-effects chart');
  const pareto = JSON.stringify(doc.charts.find((c) => c.id === 'chart-pareto-accuracy-loss')!.spec);
  assert.ok(pareto.includes(String(HUB_BASELINE.accuracy)) && pareto.includes(String(HUB_BASELINE.loss)));
});

test('regression tables carry the fit numbers at full precision (HTML data-value, CSV) and formatted (Markdown)', () => {
  const fit = grid.fits.find((f) => f.response === 'f1' && f.frame === 'absolute')!;
  const i = fit.terms.indexOf('log10_lr:ep');
  const table = /<table id="table-coef-f1-absolute"[\s\S]*?<\/table>/.exec(doc.html)![0];
  const row = new RegExp(`<tr><td>log10_lr:ep</td>(.*?)</tr>`).exec(table)![1];
  const values = [...row.matchAll(/data-value="([^"]*)"/g)].map((m) => m[1]);
  assert.equal(Number(values[0]), fit.params[i]);
  assert.equal(Number(values[1]), fit.bse[i]);
  assert.equal(Number(values[3]), fit.pvalues[i]);
  assert.equal(Number(values[4]), fit.conf_int[i]![0]);
  assert.equal(Number(values[6]), fit.pvalues_fdr_bh![i - 1]); // BH covers the non-intercept terms
  assert.equal(Number(values[7]), fit.hc3!.bse[i]);
  assert.ok(row.includes('>***<'), 'significance stars');
  const csvLine = doc.csv.coefficients.split('\n').find((l) => l.startsWith('f1,absolute,log10_lr:ep,'))!;
  assert.equal(Number(csvLine.split(',')[3]), fit.params[i]);
  assert.match(doc.markdown, /\| log10_lr:ep \| -0\.007631 \|/);
  assert.match(doc.csv.fits, /^metric,frame,No\. Observations/);
  assert.equal(doc.csv.data.trim().split('\n').length, grid.rows.length + 1);
});

test('findings are generated from the numbers: significant terms, interior optimum, trade-off, baseline', () => {
  const text = doc.findings.join('\n');
  assert.match(text, /f1: R² = 0\.869/);
  assert.match(text, /log10_lr:ep \(−, p = 3\.0e-8/);
  assert.match(text, /lr is best near 2\.\d+e-5, inside its range/);
  assert.match(text, /Trade-off: raising ep improves accuracy .* but worsens loss/);
  assert.match(text, /f1: run-to-run SD within a configuration \(seeds\) is 0\.0045/);
  assert.match(text, /25 of 144 runs beat the baseline/);
  // Changing the numbers changes the findings (no canned text): flip every f1 coefficient.
  const flipped: ReportInput = { ...grid, fits: grid.fits.map((f) => (f.response === 'f1' ? { ...f, params: f.params.map((b) => (b === null ? b : -b)) } : f)) };
  const text2 = buildReport(flipped).findings.join('\n');
  assert.match(text2, /log10_lr:ep \(\+, p = 3\.0e-8/);
});

test('the polynomial evaluator reproduces the fixture fitted values (raw, log10 and z-scored terms)', () => {
  const y = grid.rows.map((r) => r.f1 as number);
  for (const spec of ['deg2_full', 'deg2_loglr', 'deg2_standardized']) {
    const fit = fixtureFit('grid_full', 'f1', spec);
    const resid = JSON.parse(readFileSync(sharedPath('fixtures/ols/expected', `grid_full__f1__${spec}.json`), 'utf8')).reference.resid as number[];
    const pred = makePredictor(fit, grid)!;
    grid.rows.forEach((r, k) => {
      const fitted = pred.predict({ lr: r.lr as number, bs: r.bs as number, ep: r.ep as number });
      assert.ok(Math.abs(fitted - (y[k] - resid[k])) < 1e-9, `${spec} row ${k}: ${fitted} vs ${y[k] - resid[k]}`);
    });
  }
});

test('Pareto set (analysis.paretoFront per metric pair) and metric directions', () => {
  assert.equal(metricDirection('loss'), 'minimize');
  assert.equal(metricDirection('f1'), 'maximize');
  // (accuracy, loss): run 2 is dominated by run 0; 0 and 1 trade off; 3 duplicates 1 (neither dominates the other)
  const rows = [[0.9, 0.3], [0.92, 0.35], [0.89, 0.31], [0.92, 0.35]].map(([accuracy, loss], i) => ({ run_id: `r${i}`, lr: 1e-5 * (i + 1), bs: 8, ep: 1, accuracy, loss }));
  const c = paretoChart({ ...grid, rows, metrics: ['accuracy', 'loss'], fits: [] }, 'accuracy', 'loss');
  assert.match(c.caption!, /^3 of 4 runs are Pareto-optimal \(higher accuracy, lower loss\)/);
  const values = (c.spec!.layer as { data: { values: { set: string }[] } }[])[0].data.values.map((v) => v.set);
  assert.deepEqual(values, ['Pareto set', 'Pareto set', 'dominated', 'Pareto set']);
});

function minimal(over: Partial<ReportInput>): ReportInput {
  return { ...grid, fits: [], standardizedFits: [], fitErrors: [], ...over };
}

test('empty study: a report that says there are no rows, no broken charts', () => {
  const d = buildReport(minimal({ rows: [], fitErrors: grid.metrics.map((m) => ({ response: m, frame: 'absolute' as const, message: 'no rows' })) }));
  assert.ok(d.charts.every((c) => !c.spec), 'no chart drawn');
  assert.match(d.html, /no rows in the data: nothing to plot/);
  assert.match(d.html, /The data has no rows\./);
  assert.deepEqual(d.findings, ['The data has no rows: there is nothing to analyse.']);
  assert.match(d.markdown, /Charts not drawn/);
});

test('one trial: data table and a reason per chart', () => {
  const d = buildReport(minimal({ rows: [grid.rows[0]], fitErrors: [{ response: 'f1', frame: 'absolute', message: 'degree 2 needs at least 11 rows (has 1)' }] }));
  assert.match(d.html, /degree 2 needs at least 11 rows \(has 1\)/);
  const main = d.charts.find((c) => c.id === 'chart-main-f1');
  assert.equal(main, undefined);
  assert.ok(d.charts.every((c) => !c.spec && /one run only/.test(c.missing!)));
  assert.equal(d.csv.data.trim().split('\n').length, 2);
});

test('a metric that is all NaN: its charts say so, the other metrics still render', () => {
  const rows = grid.rows.map((r) => ({ ...r, loss: null }));
  const d = buildReport(minimal({ rows, fits: grid.fits.filter((f) => f.response !== 'loss'), fitErrors: [{ response: 'loss', frame: 'absolute', message: 'loss has no finite values' }] }));
  for (const c of d.charts.filter((x) => x.id.includes('loss'))) assert.equal(c.spec, undefined, c.id);
  assert.ok(d.charts.filter((x) => x.id.includes('-f1') && !x.id.includes('loss')).every((c) => c.spec), 'f1 charts drawn');
  assert.match(d.html, /loss has no finite values/);
  assert.ok(d.findings.some((f) => /^loss: no run has a finite value/.test(f)));
});

test('writeReport writes HTML, Markdown and CSVs beside each other and leaves no temporary files', () => {
  const t = tempDir();
  try {
    const out = join(t.path, 'sub', 'report.html');
    const paths = writeReport(out, doc);
    assert.equal(paths.markdown, join(t.path, 'sub', 'report.md'));
    assert.deepEqual(readdirSync(join(t.path, 'sub')).sort(), ['report-coefficients.csv', 'report-data.csv', 'report-fits.csv', 'report-seeds.csv', 'report.html', 'report.md']);
    const html = readFileSync(out, 'utf8');
    assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts');
    assert.ok(!/https?:\/\/(?!vega\.github\.io\/schema)[^"'\s]*\.(js|css)/.test(html.replace(/<script>[\s\S]*?<\/script>/g, '')), 'no CDN links');
    assert.ok(existsSync(paths.csv.coefficients));
  } finally {
    t.cleanup();
  }
});

test('text from the data cannot break out of the page (tables escaped, chart JSON with < escaped)', () => {
  const evil = '</script><script>alert(1)</script><b>x</b>';
  const rows = grid.rows.map((r, i) => (i === 0 ? { ...r, run_id: evil } : r));
  const d = buildReport({ ...grid, rows, title: evil });
  assert.ok(!d.html.includes('<script>alert(1)'), 'no injected script tag');
  assert.ok(!d.html.includes('<b>x</b>'), 'no injected markup');
  assert.ok(d.html.includes('&lt;/script&gt;&lt;script&gt;alert(1)'), 'shown as text in the table');
  assert.ok(d.markdown.includes(evil.replace(/\|/g, '\\|')), 'Markdown keeps the text');
});

test('found hyperparameters with one value (every run 1 epoch) are left out with a note, not fitted into a rank-deficient design', async () => {
  const { reportInputFromTable } = await import('../../src/report/index.js');
  const { tableFromRows } = await import('../../src/analysis/index.js');
  const rows = [1e-3, 2e-3, 3e-3].flatMap((learning_rate) => [16, 32].flatMap((bs) => [1, 2].map((seed) => ({
    learning_rate, per_device_train_batch_size: bs, num_train_epochs: 1, seed,
    accuracy: 0.8 - 1e4 * (learning_rate - 2e-3) ** 2 + bs * 1e-4 + seed * 1e-3,
  }))));
  const input = reportInputFromTable(tableFromRows(rows, 'runs.csv'), { logLr: true, metrics: ['accuracy'] });
  assert.deepEqual(input.predictors, ['learning_rate', 'per_device_train_batch_size']);
  assert.ok(input.notes?.includes('left out of the regression (one value only): num_train_epochs'), String(input.notes));
  assert.ok(input.fits.length > 0 && input.fits.every((f) => f.terms.every((t) => !t.includes('num_train_epochs'))));
  // named explicitly, it stays (the analysis then reports what it can)
  const explicit = reportInputFromTable(tableFromRows(rows, 'runs.csv'), { predictors: ['learning_rate', 'num_train_epochs'], metrics: ['accuracy'] });
  assert.deepEqual(explicit.predictors, ['learning_rate', 'num_train_epochs']);
});
