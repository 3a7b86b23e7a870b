// `tunescope analyze` end to end on the fixture CSVs: the JSON it writes reproduces the references,
// and each kind of bad input stops with one clear error naming the file, line and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, sharedPath, tempDir } from '../helpers.js';
import { runAnalyze } from '../../src/cli/commands/analyze.js';
import { compareFit, loadFixtures } from './ols-compare.js';

const OLS = sharedPath('fixtures', 'ols');
const fixtures = loadFixtures(OLS);
const BASE = 'accuracy=0.9105504587155964,f1=0.9137168141592922,loss=0.39013850688934326';

const SPECS: Record<string, string[]> = {
  deg1: ['--degree', '1'],
  deg2_full: ['--degree', '2'],
  deg2_loglr: ['--degree', '2', '--log-lr'],
  deg2_standardized: ['--degree', '2', '--standardize'],
};

function flagsToOpts(args: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = { degree: '2' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--degree') o.degree = args[++i];
    else if (a === '--log-lr') o.logLr = true;
    else if (a === '--standardize') o.standardize = true;
  }
  return o;
}

for (const dataset of ['grid_full', 'observational', 'collinear', 'rankdef']) {
  test(`analyze ${dataset}.csv reproduces every reference fixture (all specs, both frames)`, async () => {
    const tmp = tempDir();
    try {
      for (const [spec, flags] of Object.entries(SPECS)) {
        const out = join(tmp.path, `${spec}.json`);
        const rel = dataset === 'observational';
        await runAnalyze(
          join(OLS, 'data', `${dataset}.csv`),
          { predictors: 'lr,bs,ep', response: 'accuracy,f1,loss', ...flagsToOpts(flags), frame: rel ? 'both' : 'absolute', baseline: rel ? BASE : undefined, json: out } as never,
          () => {},
        );
        const fits = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[];
        const mine = fixtures.filter((f) => f.dataset === dataset && f.spec === spec);
        assert.equal(fits.length, mine.length);
        for (const fx of mine) {
          const metric = fx.response.replace(/_rel$/, '');
          const fit = fits.find((f) => f.response === metric && f.frame === fx.framework);
          assert.ok(fit, `no fit for ${fx.id}`);
          const r = compareFit(fx, fit);
          assert.deepEqual(r.mismatches.slice(0, 3), [], `${fx.id}: ${r.mismatches.length} mismatches`);
          if (fx.optimum) {
            const o = fit.optimum as { best_index: number[] };
            assert.deepEqual(o.best_index, (fx.optimum as { best_index: number[] }).best_index);
          }
        }
      }
    } finally {
      tmp.cleanup();
    }
  });
}

test('--frame both prints the two frames side by side', async () => {
  let text = '';
  await runAnalyze(join(OLS, 'data', 'observational.csv'), { predictors: 'lr,bs,ep', response: 'accuracy', degree: '1', baseline: BASE } as never, (s) => { text += s; });
  assert.match(text, /warning: baseline given for f1, loss, which are not among the responses/);
  assert.match(text, /accuracy: absolute vs relative frame \(baseline 0\.9105504587155964\)/);
  assert.match(text, /Intercept +0\.9098 +2\.84e-78 +-7\.601e-4 +0\.851/);
});

test('CLI (spawned): summary on stdout, JSON file, aliased terms named', () => {
  const tmp = tempDir();
  try {
    const out = join(tmp.path, 'fits.json');
    const r = runCli(['analyze', join(OLS, 'data', 'rankdef.csv'), '--predictors', 'lr,bs,ep', '--response', 'accuracy', '--degree', '2', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OLS Regression Results/);
    assert.match(r.stdout, /Aliased \(not estimable, shown as NA\): ep, ep\^2, lr:ep, bs:ep/);
    const fits = JSON.parse(readFileSync(out, 'utf8')) as { params: (number | null)[]; aliased: string[] }[];
    assert.deepEqual(fits[0].aliased, ['ep', 'ep^2', 'lr:ep', 'bs:ep']);
    assert.equal(fits[0].params[3], null);
  } finally {
    tmp.cleanup();
  }
});

test('bad input: one clear error naming the file, line and column', async () => {
  const tmp = tempDir();
  try {
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['nonnumeric.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,16,2,abc\n3e-5,8,3,0.91\n', {}, /nonnumeric\.csv: line 3, column "accuracy": non-numeric value "abc"/],
      ['missing.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,,2,0.9\n3e-5,8,3,0.91\n', {}, /missing\.csv: line 3, column "bs": missing value \(use --drop-missing/],
      ['nan.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,8,2,NaN\n', {}, /nan\.csv: line 3, column "accuracy": missing value/],
      ['ragged.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,16,2\n', {}, /ragged\.csv: wrong number of fields: expect 4, got 3 on line 3/],
      ['dup.csv', 'lr,bs,lr,accuracy\n1,2,3,4\n', {}, /dup\.csv: line 1: duplicate column name "lr"/],
      ['noname.csv', 'lr,,ep,accuracy\n1,2,3,4\n', {}, /noname\.csv: line 1: column 2 of the header has no name/],
      ['empty.csv', '', {}, /empty\.csv: empty file/],
      ['nocol.csv', 'lr,bs,epochs,accuracy\n1,2,3,4\n', {}, /nocol\.csv: no column "ep"/],
      ['quote.csv', 'lr,bs,ep,accuracy\n1,2,"3,4\n', {}, /quote\.csv: Quote Not Closed.*line 2/],
      ['inf.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,inf\n', {}, /inf\.csv: line 2, column "accuracy": non-finite value/],
      ['binary.csv', 'lr,bs\u0000\u0001', {}, /binary\.csv: not a text CSV file/],
      ['latin1.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,16,2,\u00e9\n', {}, /latin1\.csv: line 3, column 11: not valid UTF-8 \(byte 0xe9/],
      ['loglr.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n0,8,2,0.9\n1e-5,16,1,0.9\n2e-5,8,3,0.8\n3e-5,16,2,0.85\n', { logLr: true }, /--log-lr: lr must be > 0, found 0/],
      ['const.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,8,2,0.9\n1e-5,8,1,0.9\n2e-5,8,3,0.8\n3e-5,8,2,0.85\n', { standardize: true }, /--standardize: predictor bs is constant/],
      ['few.csv', 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,16,2,0.91\n3e-5,32,4,0.93\n4e-5,8,3,0.92\n', {}, /too few rows .*4 observation\(s\) for 4 terms/],
    ];
    for (const [name, text, extra, re] of cases) {
      const p = join(tmp.path, name);
      writeFileSync(p, text, name === 'latin1.csv' ? 'latin1' : 'utf8');
      await assert.rejects(
        runAnalyze(p, { predictors: 'lr,bs,ep', response: 'accuracy', degree: '1', ...extra } as never, () => {}),
        (e: Error) => e.name === 'UserError' && re.test(e.message) && !e.message.includes('\n'),
        name,
      );
    }
    await assert.rejects(
      runAnalyze(join(tmp.path, 'nope.csv'), { predictors: 'lr', response: 'accuracy', degree: '1' } as never, () => {}),
      /nope\.csv: cannot read \(ENOENT\)/,
    );
    await assert.rejects(
      runAnalyze(join(OLS, 'data', 'grid_full.csv'), { predictors: 'lr,bs,ep', response: 'accuracy', degree: '2', frame: 'relative' } as never, () => {}),
      /relative frame needs a baseline for accuracy/,
    );
    await assert.rejects(
      runAnalyze(join(OLS, 'data', 'grid_full.csv'), { predictors: 'lr,bs,ep', response: 'accuracy', degree: '2', baseline: 'accuracy=abc' } as never, () => {}),
      /--baseline: expected METRIC=NUMBER/,
    );
    // an output path in a folder that does not exist: a UserError before any fitting, nothing written
    const out = join(tmp.path, 'no-such-folder', 'fits.json');
    let printed = '';
    await assert.rejects(
      runAnalyze(join(OLS, 'data', 'grid_full.csv'), { predictors: 'lr,bs,ep', response: 'accuracy', degree: '1', json: out } as never, (s) => (printed += s)),
      (e: Error) => e.name === 'UserError' && /--json .*fits\.json: the folder .*no-such-folder does not exist/.test(e.message),
    );
    assert.equal(printed, '');
  } finally {
    tmp.cleanup();
  }
});

test('CLI (spawned): a bad CSV exits 2 with one line on stderr', () => {
  const tmp = tempDir();
  try {
    const p = join(tmp.path, 'bad.csv');
    writeFileSync(p, 'lr,bs,ep,accuracy\n1e-5,8,1,0.9\n2e-5,16,2,abc\n');
    const r = runCli(['analyze', p, '--predictors', 'lr,bs,ep', '--response', 'accuracy', '--degree', '1']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tunescope: error: .*bad\.csv: line 3, column "accuracy": non-numeric value "abc"$/m);
  } finally {
    tmp.cleanup();
  }
});
