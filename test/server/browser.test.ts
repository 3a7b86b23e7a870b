/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in Debian's chromium (playwright-core) while a study runs in this process (the fake runner):
 * the done count and the trials table grow without a reload, a training curve renders with marks, the report's
 * charts render, sorting and filtering work, every served store is listed, store values render as text, the
 * console stays clean and nothing is fetched from anywhere but the dashboard. Writes its screenshots to test-output/server/;
 * `npm run docs-screenshot` also copies the study page's to docs/dashboard.png (the README's picture).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../browser.js';
import { loadStudySpec, prepareStudy, runStudy, type StudySummary } from '../../src/study/index.js';
import { startServer, type DashboardServer } from '../../src/server/index.js';
import { makeStudyDb } from '../report/helpers.js';
import { ROOT, tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from '../study/fake-runner.js';
import { HOSTILE, makeHostileStore, writeFakeSpec } from './helpers.js';

const skip = chromiumSkip;
const OUT = join(ROOT, 'test-output', 'server');

let browser: Browser | undefined;
let server: DashboardServer | undefined;
let running: Promise<StudySummary> | undefined;
let start: () => void = () => {};
const dir = tempDir();
const errors: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  const spec = loadStudySpec(writeFakeSpec(dir.path, { fakeMs: 900 }));
  (await prepareStudy(spec)).store.close();
  const finished = join(dir.path, 'grid.sqlite');
  await makeStudyDb(finished, { limit: 24 });
  const hostile = join(dir.path, 'hostile.sqlite');
  await makeHostileStore(hostile);
  server = await startServer({ stores: [spec.store, finished, hostile], port: 0, pollMs: 100 });
  browser = await launchChromium();
  const s = server;
  start = () => {
    running = runStudy(spec, { runner: fakeRunner, quiet: true, onEvent: (e) => s.studyEvent(spec.store, e) });
  };
});
after(async () => {
  await running?.catch(() => {});
  await browser?.close();
  await server?.close();
  dir.cleanup();
});

async function open(path: string): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${path}: console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(server!.url)) errors.push(`${path}: request outside the dashboard: ${r.url()}`);
  });
  await page.goto(server!.url + path);
  return page;
}

/** Data marks of the charts inside `selector` (axes, legends and titles excluded). */
function marks(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(`${selector} figure.chart`, (figs) =>
    figs.map((f) => {
      const groups = [...f.querySelectorAll('svg g.role-mark')].filter((g) => !g.closest('.role-axis, .role-legend, .role-title'));
      return groups.reduce((n, g) => n + g.querySelectorAll(':scope > path, :scope > line, :scope > rect, :scope > text, :scope > circle').length, 0);
    }),
  );
}

const doneCount = async (page: Page): Promise<number> => Number(await page.locator('#count-done').textContent());

test('a running study: counts and trials grow live, curves and report charts render, sorting and filtering work', { skip }, async () => {
  const page = await open('/studies/live');
  await page.waitForSelector('#count-done');
  await page.waitForSelector('#trials tbody tr');
  start();
  const rows0 = await page.locator('#trials tbody tr[data-status="done"]').count();
  const done0 = await doneCount(page);
  assert.ok(done0 < 12, `the study is still running when the page opens (done ${done0})`);
  // no reload from here on: the page only changes through its event stream
  await page.waitForFunction((n) => Number(document.getElementById('count-done')?.textContent) >= n + 2, done0, { timeout: 60_000 });
  await page.waitForFunction((n) => document.querySelectorAll('#trials tbody tr[data-status="done"]').length >= n + 2, rows0, { timeout: 60_000 });
  // a live training curve (per-step loss from the in-process runner) with marks
  await page.waitForSelector('#curve-charts[data-rendered] #curve-loss[data-rendered="1"]', { timeout: 60_000 });
  const curveMarks = await marks(page, '#curve-charts');
  assert.ok(curveMarks.length >= 2 && curveMarks.every((m) => m > 0), `curve marks ${curveMarks}`);

  const summary = await running!;
  assert.equal(summary.counts.done, 12);
  await page.waitForFunction(() => document.getElementById('count-done')?.textContent === '12', null, { timeout: 60_000 });
  assert.equal(await page.locator('#trials tbody tr').count(), 12);
  // the report of all 12 finished trials, every drawn chart with marks
  const key = (await (await fetch(`${server!.url}/api/studies/live`)).json()) as { analysisKey: string };
  await page.waitForSelector(`#analysis[data-rendered-key="${key.analysisKey}"]`, { timeout: 120_000 });
  const reportMarks = await marks(page, '#analysis');
  assert.ok(reportMarks.length >= 8, `report charts ${reportMarks.length}`);
  assert.ok(reportMarks.every((m) => m > 0), `report chart marks ${reportMarks}`);
  assert.ok((await page.locator('#analysis table[id^="table-coef-accuracy"] tbody tr').count()) > 0, 'regression table');
  const builds = server!.analysisBuilds().live!;
  // once per state of the finished trials at most: the empty study, each finished trial, the baseline being set
  assert.ok(builds.builds <= builds.states && builds.states <= 14, `report builds ${JSON.stringify(builds)}`);

  // sorting: by accuracy ascending, then descending
  const column = (key: string) => page.$$eval('#trials tbody tr', (trs, k) => {
    const i = [...document.querySelectorAll('#trials thead tr:first-child th')].findIndex((th) => th.getAttribute('data-key') === k);
    return trs.map((tr) => Number(tr.querySelectorAll('td')[i]!.getAttribute('data-value')));
  }, key);
  const acc = () => column('m:accuracy');
  const header = page.locator('#trials thead tr:first-child th[data-key="m:accuracy"]');
  await header.click();
  const up = await acc();
  assert.deepEqual(up, [...up].sort((a, b) => a - b));
  await header.click();
  const down = await acc();
  assert.deepEqual(down, [...up].sort((a, b) => b - a));
  // filtering by a hyperparameter, then by status
  await page.fill('input[data-filter="c:learning_rate"]', '<2e-5');
  assert.equal(await page.locator('#trials tbody tr').count(), 4);
  const lrs = await column('c:learning_rate');
  assert.deepEqual(lrs, [1e-5, 1e-5, 1e-5, 1e-5]);
  await page.fill('input[data-filter="c:per_device_train_batch_size"]', '16');
  assert.equal(await page.locator('#trials tbody tr').count(), 2);
  await page.selectOption('#status-filter', 'failed');
  assert.equal(await page.locator('#trials tbody tr').count(), 0);
  await page.selectOption('#status-filter', '');
  await page.fill('input[data-filter="c:per_device_train_batch_size"]', '');
  await page.fill('input[data-filter="c:learning_rate"]', '');
  // overlay: tick two trials, the curves show both
  await page.locator('#trials tbody tr:nth-child(1) input[type=checkbox]').check();
  await page.locator('#trials tbody tr:nth-child(2) input[type=checkbox]').check();
  await page.waitForFunction(() => /Selected: \S+, \S+$/.test(document.getElementById('curves-note')?.textContent ?? ''));
  await page.waitForSelector('#curve-charts[data-rendered] #curve-eval[data-rendered="1"]');
  await page.screenshot({ path: join(OUT, 'study.png'), fullPage: true });
  // the README's picture: the top of the study page, into test-output/; docs/dashboard.png (tracked) only when asked
  // (`npm run docs-screenshot`), so a test run leaves the checkout clean
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, 'dashboard.png') });
  if (process.env.TUNESCOPE_DOCS_SCREENSHOT === '1') copyFileSync(join(OUT, 'dashboard.png'), join(ROOT, 'docs', 'dashboard.png'));
  await page.close();
});

test('the studies list shows every store; hostile store values render as text; trial and compare pages render', { skip }, async () => {
  const page = await open('/');
  await page.waitForSelector('#studies tbody tr');
  assert.equal(await page.locator('#studies tbody tr').count(), 3);
  const names = await page.$$eval('#studies tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(names, ['live', 'grid', HOSTILE.name]);
  const text = (await page.locator('#studies').textContent()) ?? '';
  assert.ok(text.includes(HOSTILE.model), 'the model id is shown as text');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  assert.equal(await page.locator('#studies script, #studies img').count(), 0);
  await page.screenshot({ path: join(OUT, 'studies.png') });
  await page.close();

  const hostile = await open('/studies/x-img-src-x-onerror-window-__pwned-1');
  await hostile.waitForSelector('#trials tbody tr');
  assert.ok(((await hostile.locator('#trials').textContent()) ?? '').includes(HOSTILE.error));
  assert.equal(await hostile.locator('#title').textContent(), `Study ${HOSTILE.name}`);
  assert.equal(await hostile.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await hostile.close();

  const trial = await open('/studies/grid/trials/t003');
  await trial.waitForSelector('#trial-details');
  assert.match((await trial.locator('#trial-details').textContent()) ?? '', /learning_rate/);
  await trial.close();

  const cmp = await open('/compare?a=live&b=grid');
  await cmp.waitForSelector('#analysis-0[data-rendered-key]', { timeout: 120_000 });
  await cmp.waitForSelector('#analysis-1[data-rendered-key]', { timeout: 120_000 });
  assert.ok((await marks(cmp, '#analysis-0')).every((m) => m > 0));
  assert.ok((await marks(cmp, '#analysis-1')).length > 0);
  assert.ok((await cmp.locator('#compare-table tbody tr').count()) >= 3);
  await cmp.close();
  assert.deepEqual(errors, []);
});
