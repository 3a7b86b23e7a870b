/**
 * Opens the report from disk in Debian's chromium (playwright-core) and checks what a reader sees:
 * every chart rendered with marks, the tables hold the fit's numbers, sorting works, the console is clean.
 * Screenshots go to test-output/report/ (git-ignored).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../browser.js';
import { analyze, readTable } from '../../src/analysis/index.js';
import { buildReport, loadReportInput, writeReport, type ReportInput } from '../../src/report/index.js';
import { ROOT, sharedPath } from '../helpers.js';
import { gridFullInput } from './helpers.js';

const skip = chromiumSkip;
const OUT = join(ROOT, 'test-output', 'report');

let browser: Browser | undefined;
before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

interface Opened { page: Page; errors: string[] }

async function open(input: ReportInput, name: string): Promise<Opened> {
  const file = join(OUT, `${name}.html`);
  writeReport(file, buildReport(input));
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push(`network request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-charts-rendered]', { state: 'attached', timeout: 60_000 });
  return { page, errors };
}

/** Per chart: whether it has an SVG/canvas and how many data marks (axes, legends and titles excluded). */
async function chartMarks(page: Page): Promise<{ id: string; svg: boolean; marks: number; rendered: boolean }[]> {
  return page.$$eval('figure.chart', (figs) =>
    figs.map((f) => {
      const groups = [...f.querySelectorAll('svg g.role-mark')].filter((g) => !g.closest('.role-axis, .role-legend, .role-title'));
      const marks = groups.reduce((n, g) => n + g.querySelectorAll(':scope > path, :scope > line, :scope > rect, :scope > text').length, 0);
      return { id: f.id, svg: !!f.querySelector('svg, canvas'), marks, rendered: f.getAttribute('data-rendered') === '1' };
    }),
  );
}

test('the grid report renders every chart with marks, the numbers of the fit, and a clean console', { skip }, async () => {
  const input = gridFullInput();
  const { page, errors } = await open(input, 'grid_full');
  const charts = await chartMarks(page);
  assert.ok(charts.length >= 25, `charts: ${charts.length}`);
  for (const c of charts) {
    assert.ok(c.svg && c.rendered, `${c.id} has no SVG`);
    assert.ok(c.marks > 0, `${c.id} has no marks`);
  }
  assert.equal(await page.locator('figure.chart-missing').count(), 0);
  // Regression table: every number equals the fit (full precision in data-value, shown rounded).
  for (const fit of input.fits) {
    const rows = await page.$$eval(`#table-coef-${fit.response}-${fit.frame} tbody tr`, (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.getAttribute('data-value') ?? td.textContent)),
    );
    assert.equal(rows.length, fit.terms.length);
    rows.forEach((r, i) => {
      assert.equal(r[0], fit.terms[i]);
      assert.equal(Number(r[1]), fit.params[i], `${fit.response} ${fit.frame} ${fit.terms[i]} coef`);
      assert.equal(Number(r[2]), fit.bse[i]);
      assert.equal(Number(r[3]), fit.tvalues[i]);
      assert.equal(Number(r[4]), fit.pvalues[i]);
      assert.equal(Number(r[9]), fit.hc3!.bse[i]);
    });
  }
  const shown = await page.locator('#table-coef-f1-absolute tbody tr:nth-child(2) td:nth-child(2)').textContent();
  assert.equal(shown, '-1.433');
  const r2 = await page.$$eval('#table-fits tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[5].getAttribute('data-value')));
  assert.deepEqual(r2.map(Number), input.fits.map((f) => f.rsquared));
  // Data table: all runs, sortable by clicking a header.
  assert.equal(await page.locator('#table-data tbody tr').count(), input.rows.length);
  await page.locator('#table-data th', { hasText: /^f1$/ }).click();
  const first = Number(await page.locator('#table-data tbody tr:first-child td:nth-child(7)').getAttribute('data-value'));
  assert.equal(first, Math.min(...input.rows.map((r) => r.f1 as number)));
  await page.screenshot({ path: join(OUT, 'grid_full.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a card-harvest-like CSV through analyze(): the rendered tables equal analyze() and every chart has marks', { skip }, async () => {
  const csv = sharedPath('fixtures/ols/data/observational.csv');
  const input = await loadReportInput(csv, { logLr: true });
  const expected = analyze(readTable(csv), {
    predictors: ['lr', 'bs', 'ep'], responses: ['accuracy', 'f1', 'loss'], frame: 'both', baseline: input.baseline,
    spec: { degree: 2, logLr: true, standardize: false },
  }).fits;
  assert.equal(input.fits.length, 6, 'baseline_<metric> columns give the relative frame');
  const { page, errors } = await open(input, 'observational');
  for (const c of await chartMarks(page)) assert.ok(c.svg && c.marks > 0, `${c.id} has no marks`);
  for (const fit of expected) {
    const cells = await page.$$eval(`#table-coef-${fit.response}-${fit.frame} tbody tr`, (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 7).map((td) => Number(td.getAttribute('data-value')))),
    );
    assert.deepEqual(cells, fit.terms.map((_, i) => [fit.params[i], fit.bse[i], fit.tvalues[i], fit.pvalues[i], fit.conf_int[i]![0], fit.conf_int[i]![1]]));
  }
  const fits = await page.$$eval('#table-fits tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(5, 9).map((td) => Number(td.getAttribute('data-value')))));
  assert.deepEqual(fits, expected.map((f) => [f.rsquared, f.rsquared_adj, f.fvalue, f.f_pvalue]));
  await page.screenshot({ path: join(OUT, 'observational.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('malformed inputs render a report that says what is missing, without console errors', { skip }, async () => {
  const grid = gridFullInput();
  const base: ReportInput = { ...grid, fits: [], standardizedFits: [], fitErrors: [] };
  const cases: [string, ReportInput, RegExp][] = [
    ['empty', { ...base, rows: [] }, /no rows in the data/],
    ['one-trial', { ...base, rows: [grid.rows[0]], fitErrors: [{ response: 'f1', frame: 'absolute', message: 'too few rows for degree 2' }] }, /too few rows for degree 2/],
    [
      'all-nan-loss',
      { ...grid, rows: grid.rows.map((r) => ({ ...r, loss: null })), fits: grid.fits.filter((f) => f.response !== 'loss'), fitErrors: [{ response: 'loss', frame: 'absolute', message: 'loss has no finite values' }] },
      /loss has no finite values/,
    ],
  ];
  for (const [name, input, says] of cases) {
    const { page, errors } = await open(input, name);
    assert.match((await page.locator('main').textContent()) ?? '', says, name);
    for (const c of await chartMarks(page)) assert.ok(c.svg && c.marks > 0, `${name}: ${c.id} drawn without marks`);
    const missing = await page.$$eval('figure.chart-missing', (fs) => fs.map((f) => ({ svg: !!f.querySelector('svg'), text: f.textContent ?? '' })));
    assert.ok(missing.length > 0, `${name}: some chart must be reported missing`);
    for (const m of missing) assert.ok(!m.svg && m.text.length > 10, `${name}: missing chart explains itself`);
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
    assert.deepEqual(errors, [], name);
    await page.close();
  }
});
