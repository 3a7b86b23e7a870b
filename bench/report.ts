/**
 * Report benchmark: grid_full (144 runs, 3 metrics × 2 frames, degree 2, log lr) → input (analyze, optima,
 * standardized fits), build (30 Vega-Lite charts, tables, findings), atomic write, and chromium rendering every chart;
 * prints ms per stage and sizes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport, loadReportInput, writeReport } from '../src/report/index.js';

export const name = 'report';

const GRID = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'shared', 'fixtures', 'ols', 'data', 'grid_full.csv');
const BASELINE = { accuracy: 0.9105504587155964, f1: 0.9137168141592922, loss: 0.39013850688934326 };

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-bench-report-'));
  try {
    buildReport(await loadReportInput(GRID, { logLr: true, baseline: BASELINE })); // warm-up (reads the vega builds once)
    const reps = 5;
    let tIn = 0n, tBuild = 0n, tWrite = 0n;
    let size = 0, charts = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      const input = await loadReportInput(GRID, { logLr: true, baseline: BASELINE });
      const t1 = process.hrtime.bigint();
      const doc = buildReport(input);
      const t2 = process.hrtime.bigint();
      writeReport(join(dir, 'report.html'), doc);
      const t3 = process.hrtime.bigint();
      tIn += t1 - t0; tBuild += t2 - t1; tWrite += t3 - t2;
      size = doc.html.length;
      charts = doc.charts.length;
    }
    const avg = (t: bigint): string => (Number(t) / 1e6 / reps).toFixed(1);
    console.log(`grid_full (144 runs, 3 metrics × 2 frames, degree 2): ${charts} charts, HTML ${(size / 1e6).toFixed(2)} MB`);
    console.log(`  load + analyze (fits, optima, standardized): ${avg(tIn)} ms`);
    console.log(`  build (charts, tables, findings, HTML/MD/CSV): ${avg(tBuild)} ms`);
    console.log(`  write (atomic, 6 files): ${avg(tWrite)} ms`);
    if (!existsSync('/usr/bin/chromium')) {
      console.log('  browser render: skipped (no /usr/bin/chromium)');
      return;
    }
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const page = await browser.newPage();
        const t0 = process.hrtime.bigint();
        await page.goto(pathToFileURL(join(dir, 'report.html')).href);
        await page.waitForSelector('body[data-charts-rendered]', { state: 'attached', timeout: 120_000 });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await page.close();
      }
      console.log(`  chromium: open + render all ${charts} charts: ${Math.min(...times).toFixed(0)} ms (best of 3)`);
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
