/**
 * End to end: an Optuna study written by the real Optuna → `import` rows → `analyze` → `report`, opened in Debian's
 * chromium (playwright-core, as test/report/browser.test.ts): every chart has marks, the tables hold analyze()'s
 * numbers for the 19 complete trials, the report says how many pruned/failed trials it left out, the console is clean.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../browser.js';
import { analyze, readTable } from '../../src/analysis/index.js';
import { analysedRows, importCsv, importSources, importTable } from '../../src/import/index.js';
import { buildReport, loadReportInput, writeReport } from '../../src/report/index.js';
import { ROOT } from '../helpers.js';

const skip = chromiumSkip;
const OUT = join(ROOT, 'test-output', 'import');
const JOURNAL = join(ROOT, 'test/import/fixtures/optuna/journal.log');

let browser: Browser | undefined;
before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('imported Optuna study → analyze → report renders in chromium with analyze()\'s numbers', { skip }, async () => {
  const map = { value: 'accuracy' };
  const result = await importSources([{ kind: 'optuna', location: JOURNAL }], { study: 'sst2-single', map });
  mkdirSync(OUT, { recursive: true });
  const csv = join(OUT, 'optuna-runs.csv');
  writeFileSync(csv, importCsv(importTable(result.runs)));
  // analyze on the import's CSV: the complete trials
  const table = readTable(csv);
  const { rows, note } = analysedRows(table.columns, table.rows);
  assert.equal(note, 'left out 3 pruned, 2 failed run(s) of 24 (not complete; --all-states keeps them)');
  const predictors = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs'];
  const expected = analyze({ ...table, rows, lines: undefined }, { predictors, responses: ['accuracy'], frame: 'absolute', spec: { degree: 2, logLr: true, standardize: false } }).fits;
  // the report straight from the Optuna journal: the same fit
  const input = await loadReportInput(`optuna:${JOURNAL}`, { study: 'sst2-single', map, logLr: true });
  assert.deepEqual(input.predictors, predictors);
  assert.deepEqual(input.metrics, ['accuracy']);
  assert.equal(input.rows.length, 19);
  assert.ok(input.notes?.includes(note!), 'the report says what it left out');
  const fit = input.fits.find((f) => f.response === 'accuracy' && f.frame === 'absolute')!;
  assert.deepEqual(fit.params, expected[0].params);
  assert.deepEqual(fit.pvalues, expected[0].pvalues);

  const file = join(OUT, 'optuna-report.html');
  writeReport(file, buildReport(input));
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-charts-rendered]', { state: 'attached', timeout: 60_000 });
  const charts = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => {
      const groups = [...f.querySelectorAll('svg g.role-mark')].filter((g) => !g.closest('.role-axis, .role-legend, .role-title'));
      return { id: f.id, marks: groups.reduce((n, g) => n + g.querySelectorAll(':scope > path, :scope > line, :scope > rect, :scope > text').length, 0) };
    }),
  );
  assert.ok(charts.length >= 5, `charts: ${charts.length}`);
  for (const c of charts) assert.ok(c.marks > 0, `${c.id} has no marks`);
  const cells = await page.$$eval('#table-coef-accuracy-absolute tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 5).map((td) => Number(td.getAttribute('data-value')))));
  assert.deepEqual(cells, expected[0].terms.map((_, i) => [expected[0].params[i], expected[0].bse[i], expected[0].tvalues[i], expected[0].pvalues[i]]));
  assert.equal(await page.locator('#table-data tbody tr').count(), 19);
  assert.match((await page.locator('main').textContent()) ?? '', /left out 3 pruned, 2 failed run\(s\) of 24/);
  await page.screenshot({ path: join(OUT, 'optuna-report.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
