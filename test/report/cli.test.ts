/** `tunescope report` end to end: CSV and study-database input, numbers equal analysis.analyze, clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { analyze, readTable, seedVariability } from '../../src/analysis/index.js';
import { buildReport, loadReportInput, reportInputFromTable } from '../../src/report/index.js';
import { runReport } from '../../src/cli/commands/report.js';
import { ROOT, runCli, sharedPath, tempDir } from '../helpers.js';
import { HUB_BASELINE, makeStudyDb } from './helpers.js';
import { makePredictor } from '../../src/report/stats.js';

const GRID = sharedPath('fixtures/ols/data/grid_full.csv');
const BASELINE_ARG = Object.entries(HUB_BASELINE).map(([k, v]) => `${k}=${v}`).join(',');

test('CSV input: the report files exist and the coefficient CSV equals analyze() to full precision', () => {
  const d = tempDir();
  try {
    const out = join(d.path, 'report.html');
    const r = runCli(['report', GRID, '--log-lr', '--baseline', BASELINE_ARG, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /144 runs, 6 fits, 35 of 35 charts drawn/);
    for (const f of ['report.html', 'report.md', 'report-data.csv', 'report-fits.csv', 'report-coefficients.csv', 'report-seeds.csv']) assert.ok(existsSync(join(d.path, f)), f);
    const expected = analyze(readTable(GRID), {
      predictors: ['lr', 'bs', 'ep'], responses: ['accuracy', 'f1', 'loss'], frame: 'both', baseline: HUB_BASELINE,
      spec: { degree: 2, logLr: true, standardize: false },
    }).fits;
    const recs = parse(readFileSync(join(d.path, 'report-coefficients.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(recs.length, expected.reduce((n, f) => n + f.terms.length, 0));
    for (const f of expected) {
      const mine = recs.filter((x) => x.metric === f.response && x.frame === f.frame);
      f.terms.forEach((t, i) => {
        assert.equal(mine[i].term, t);
        assert.equal(Number(mine[i].coef), f.params[i], `${f.response} ${f.frame} ${t}`);
        assert.equal(Number(mine[i]['std err']), f.bse[i]);
        assert.equal(Number(mine[i]['P>|t|']), f.pvalues[i]);
        assert.equal(Number(mine[i]['HC3 std err']), f.hc3.bse[i]);
      });
    }
    const md = readFileSync(join(d.path, 'report.md'), 'utf8');
    assert.match(md, /## Findings/);
    assert.match(md, /## Importance \(Sobol indices\)/);
    assert.match(md, /#### f1 \(relative frame\)/);
    // seed noise, correlations and the best configuration come from analysis' variability tools
    const sv = seedVariability(readTable(GRID).rows, { configColumns: ['lr', 'bs', 'ep'], seedColumn: 'seed', metric: 'f1' });
    assert.ok(md.includes(`f1: run-to-run SD within a configuration (seeds) is ${Number(sv.sigma_seed.toPrecision(3))}`), 'sigma_seed');
    assert.match(md, /configurations explain η² = 0\.904/);
    assert.match(md, /accuracy and f1 improve together across runs: Spearman ρ = 0\.976/);
    assert.match(md, /f1: best run 0\.9232 .* best configuration by its mean over 3 runs: 0\.9191/);
  } finally {
    d.cleanup();
  }
});

test('study database input: HF hyperparameter names, seeds as replicates, the study baseline', async () => {
  const d = tempDir();
  try {
    const db = join(d.path, 'study.sqlite');
    await makeStudyDb(db);
    const input = await loadReportInput(db, { logLr: true });
    assert.equal(input.title, 'Study grid');
    assert.deepEqual(input.predictors, ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs']);
    assert.deepEqual(input.metrics, ['accuracy', 'f1', 'loss']);
    assert.equal(input.rows.length, 144);
    assert.equal(input.seedColumn, 'seed');
    assert.deepEqual(input.baseline, HUB_BASELINE);
    assert.deepEqual(input.fits.map((f) => `${f.response}/${f.frame}`), ['accuracy/absolute', 'accuracy/relative', 'f1/absolute', 'f1/relative', 'loss/absolute', 'loss/relative']);
    assert.ok(input.fits[0].terms.includes('log10_learning_rate:num_train_epochs'));
    const doc = buildReport(input);
    assert.ok(doc.charts.some((c) => c.kind === 'seed-variability' && c.spec));
    // the Noise section: variance components and the expected-max curve (no per-example predictions in this store)
    assert.deepEqual(doc.charts.filter((c) => c.kind === 'noise').map((c) => c.id), ['chart-noise-components', 'chart-noise-expected-max']);
    assert.match(doc.html, /<section id="noise"><h2>Noise<\/h2>/);
    assert.ok(doc.charts.every((c) => c.spec), doc.charts.filter((c) => !c.spec).map((c) => c.missing).join('; '));
    assert.ok(JSON.stringify(doc.charts.find((c) => c.id === 'chart-main-f1')!.spec).includes('learning_rate (AdamW peak LR, log scale)'));
  } finally {
    d.cleanup();
  }
});

test('empty study, one trial, too few runs for degree 2, an all-NaN metric: the report says what is missing', async () => {
  const d = tempDir();
  try {
    const empty = join(d.path, 'empty.sqlite');
    await makeStudyDb(empty, { done: false, limit: 4 });
    const r = runCli(['report', empty, '--out', join(d.path, 'empty.html')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(join(d.path, 'empty.html'), 'utf8'), /no rows in the data: nothing to plot/);

    const head = readFileSync(GRID, 'utf8').split('\n');
    const one = join(d.path, 'one.csv');
    writeFileSync(one, head.slice(0, 2).join('\n') + '\n');
    const i1 = await loadReportInput(one, {});
    assert.equal(i1.fits.length, 0);
    assert.match(i1.fitErrors![0].message, /needs at least 11 runs with finite accuracy \(has 1\)/);
    assert.ok(buildReport(i1).charts.every((c) => !c.spec && /one run only/.test(c.missing!)));

    const few = join(d.path, 'few.csv');
    writeFileSync(few, head.slice(0, 9).join('\n') + '\n');
    // the first 8 grid rows all have lr 1e-5 and bs 8: found automatically, those two are left out (one value only)
    const auto = await loadReportInput(few, {});
    assert.deepEqual(auto.predictors, ['ep']);
    const i2 = await loadReportInput(few, { predictors: ['lr', 'bs', 'ep'] });
    assert.match(i2.fitErrors![0].message, /degree 2 in 3 hyperparameters has 10 terms and needs at least 11 runs .* \(has 8\); try --degree 1/);
    const i2b = await loadReportInput(few, { degree: 1, predictors: ['lr', 'bs', 'ep'] });
    assert.equal(i2b.fitErrors!.length, 0);
    assert.equal(i2b.fits.length, 3);

    const nan = join(d.path, 'nan.csv');
    writeFileSync(nan, [head[0], ...head.slice(1, 60).filter((l) => l).map((l) => l.replace(/,[^,]*$/, ',NaN'))].join('\n') + '\n');
    const i3 = await loadReportInput(nan, {});
    assert.deepEqual(i3.fits.map((f) => f.response), ['accuracy', 'f1']);
    assert.match(i3.fitErrors!.find((e) => e.response === 'loss')!.message, /loss has no finite values/);
    const doc = buildReport(i3);
    assert.ok(doc.charts.filter((c) => c.id.includes('loss')).every((c) => !c.spec));
  } finally {
    d.cleanup();
  }
});

test('bad input gives one clear error and writes nothing', async () => {
  const d = tempDir();
  try {
    const out = join(d.path, 'r.html');
    const FAKE_DB = join(d.path, 'fake.sqlite');
    writeFileSync(FAKE_DB, 'lr,accuracy\n1,2\n');
    const cases: [string[], RegExp][] = [
      [[join(d.path, 'missing.csv')], /missing\.csv: no such file/],
      [[GRID, '--baseline', 'f1=high'], /--baseline: expected METRIC=NUMBER/],
      [[GRID, '--out', join(d.path, 'r.pdf')], /--out must name an \.html file/],
      [[GRID, '--log-lr', '--lr-column', 'nope'], /--lr-column "nope" is not one of the hyperparameters \(lr, bs, ep\)/],
      [[FAKE_DB], /fake\.sqlite: not a SQLite database/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(['report', ...args, ...(args.includes('--out') ? [] : ['--out', out])]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tunescope: error: /);
      assert.match(r.stderr, msg);
      assert.ok(!existsSync(out));
    }
    await assert.rejects(loadReportInput(GRID, { alpha: 2 }), /--alpha must be between 0 and 1/);
    await assert.rejects(loadReportInput(GRID, { metrics: ['accuracy', 'bleu'] }), /grid_full\.csv: no column "bleu"/);
    await assert.rejects(loadReportInput(GRID, { predictors: ['lr', 'accuracy'] }), /accuracy is both a hyperparameter and a metric/);
    await assert.rejects(loadReportInput(GRID, { predictors: ['lr', 'run_id'] }), /hyperparameter column "run_id" has no numeric value \(e\.g\. "grid-001"\)/);
  } finally {
    d.cleanup();
  }
});

test('card-harvest columns: eval_* metrics take an accuracy=/f1=/loss= baseline; the data table keeps the readable columns', async () => {
  const d = tempDir();
  try {
    const src = readFileSync(sharedPath('fixtures/ols/data/observational.csv'), 'utf8').split('\n');
    const header = src[0].replace('lr,bs,ep,accuracy,f1,loss', 'learning_rate,train_batch_size,num_epochs,eval_accuracy,eval_f1,eval_loss');
    const csv = join(d.path, 'cards.csv');
    writeFileSync(csv, [header, ...src.slice(1)].join('\n'));
    const input = await loadReportInput(csv, { baseline: HUB_BASELINE });
    assert.deepEqual(input.predictors, ['learning_rate', 'train_batch_size', 'num_epochs']);
    assert.deepEqual(input.metrics, ['eval_accuracy', 'eval_f1', 'eval_loss']);
    assert.deepEqual(input.baseline, { eval_accuracy: HUB_BASELINE.accuracy, eval_f1: HUB_BASELINE.f1, eval_loss: HUB_BASELINE.loss });
    assert.equal(input.fits.filter((f) => f.frame === 'relative').length, 3);
    const doc = buildReport(input);
    const head = /<table id="table-data"[^>]*><thead><tr>(.*?)<\/tr>/.exec(doc.html)![1];
    assert.deepEqual([...head.matchAll(/>([^<]+)<\/th>/g)].map((m) => m[1]), ['model_id', 'learning_rate', 'train_batch_size', 'num_epochs', 'eval_accuracy', 'eval_f1', 'eval_loss']);
    assert.ok(doc.html.includes('6 more columns (provenance, notes, …) are in the CSV'), 'hidden-column note');
    assert.ok(doc.csv.data.startsWith('model_id,learning_rate,train_batch_size,num_epochs,eval_accuracy,eval_f1,eval_loss,baseline_accuracy'));
  } finally {
    d.cleanup();
  }
});

test('fitted curves use analysis’ design: predictions equal analyze() fitted values for log10 + z-scored degree-3 fits', async () => {
  const input = await loadReportInput(GRID, { logLr: true, standardize: true, degree: 3, metrics: ['f1'] });
  const fit = input.fits[0] as ReturnType<typeof analyze>['fits'][number];
  assert.ok(fit.terms.includes('z_log10_lr^2:z_bs'), fit.terms.join(','));
  const pred = makePredictor(fit, input)!;
  input.rows.forEach((r, i) => {
    const y = pred.predict({ lr: r.lr as number, bs: r.bs as number, ep: r.ep as number });
    assert.ok(Math.abs(y - fit.fittedvalues[i]) < 1e-12, `row ${i}: ${y} vs ${fit.fittedvalues[i]}`);
  });
  assert.ok(buildReport(input).charts.every((c) => c.spec), 'every chart drawn');
});

test('report --baseline-card: the card’s metrics make the relative frame and, with --center baseline, its configuration is the origin (as analyze)', async () => {
  const DIR = join(ROOT, 'test', 'analysis', 'fixtures', 'center');
  const data = join(DIR, 'data.csv');
  const ref = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { baseline_config: Record<string, number>; fits: Record<string, { params: number[] }> };
  const card = sharedPath('fixtures', 'cards', 'raw', 'distilbert__distilbert-base-uncased-finetuned-sst-2-english.md');
  const P = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs'];
  const d = tempDir();
  try {
    const base = { out: join(d.path, 'r.html'), predictors: P.join(','), metrics: 'accuracy', degree: '2', logLr: true, importanceBootstrap: 0, importanceSeed: 0, alpha: '0.05' };
    // the card states learning_rate = 1e-5, batch_size = 32, num_train_epochs = 3.0 and eval accuracy 0.9105504587155964
    const { input, lines } = await runReport(data, { ...base, center: 'baseline', baselineCard: card });
    assert.match(lines.at(-1)!, /wrote /);
    assert.deepEqual(input.baseline, { accuracy: HUB_BASELINE.accuracy });
    assert.ok(input.notes?.some((n) => /^baseline from the card of distilbert\/distilbert-base-uncased-finetuned-sst-2-english .*accuracy = 0\.9105504587155964/.test(n)), JSON.stringify(input.notes));
    assert.deepEqual(input.fits.map((f) => f.frame), ['absolute', 'relative']);
    for (const f of input.fits) {
      assert.equal(f.spec.center, 'baseline');
      assert.deepEqual(f.spec.center_point, ref.baseline_config);
    }
    // statsmodels on explicitly centred predictors; the relative frame differs by the baseline in the intercept only
    const abs = input.fits[0]!;
    const rel = input.fits[1]!;
    ref.fits.baseline!.params.forEach((v, j) => {
      assert.ok(Math.abs(abs.params[j]! - v) <= 1e-8 * Math.max(1, Math.abs(v)), `absolute ${abs.terms[j]}: ${abs.params[j]} vs ${v}`);
      const want = j === 0 ? v - HUB_BASELINE.accuracy : v;
      assert.ok(Math.abs(rel.params[j]! - want) <= 1e-8 * Math.max(1, Math.abs(want)), `relative ${rel.terms[j]}: ${rel.params[j]} vs ${want}`);
    });
    // the same numbers as analyze --baseline-card --center baseline
    const same = analyze(readTable(data), {
      predictors: P, responses: ['accuracy'], frame: 'both', baseline: { accuracy: HUB_BASELINE.accuracy },
      spec: { degree: 2, logLr: true, standardize: false, lrColumn: 'learning_rate', center: { kind: 'baseline', config: ref.baseline_config } },
    }).fits;
    assert.deepEqual(input.fits.map((f) => f.params), same.map((f) => f.params));
    // --baseline goes over the card's value; --baseline-config over the card's configuration
    const over = await runReport(data, { ...base, baseline: 'accuracy=0.5', center: 'baseline', baselineCard: card, baselineConfig: 'learning_rate=3e-5' });
    assert.deepEqual(over.input.baseline, { accuracy: 0.5 });
    assert.deepEqual(over.input.fits[0]!.spec.center_point, { ...ref.baseline_config, learning_rate: 3e-5 });
    // without --center the card gives the metrics only (the centre stays none) …
    const plain = await runReport(data, { ...base, baselineCard: card });
    assert.deepEqual(plain.input.fits.map((f) => [f.frame, f.spec.center]), [['absolute', 'none'], ['relative', 'none']]);
    // … unless the source's own centre is baseline (a study's analysis.center): then the card's configuration is its origin
    const own = reportInputFromTable(readTable(data), {
      predictors: P, metrics: ['accuracy'], logLr: true, importanceBootstrap: 0, baselineConfig: ref.baseline_config,
      defaults: { center: 'baseline', baselineConfig: { learning_rate: 1e-4, per_device_train_batch_size: 8, num_train_epochs: 1 } },
    });
    assert.deepEqual(own.fits[0]!.spec.center_point, ref.baseline_config);
    await assert.rejects(runReport(data, { ...base, baselineCard: join(d.path, 'nope.md') }), (e: Error) => e.name === 'UserError' && /nope\.md/.test(e.message) && !e.message.includes('\n'));
  } finally {
    d.cleanup();
  }
});
