/** The paper's analysis end to end: ingest the 116 variant cards, read the baseline from its card, fit per task. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { analyze, readTable } from '../../src/analysis/index.js';
import { baselineForColumns, baselineFromCard, cardsCsv, ingestCards } from '../../src/cards/index.js';
import { runCli, sharedPath, tempDir } from '../helpers.js';

const BASE = 'distilbert/distilbert-base-uncased-finetuned-sst-2-english';
const RESPONSES = ['eval_accuracy', 'eval_f1', 'eval_loss'];

test('baseline metrics come from the baseline card model-index (validation split), mapped to eval_* columns', async () => {
  const b = await baselineFromCard(BASE, { cardsDir: sharedPath('fixtures', 'cards', 'raw'), hub: { offline: true } });
  const { values, missing, used } = baselineForColumns(b, RESPONSES);
  assert.deepEqual(values, { eval_accuracy: 0.9105504587155964, eval_f1: 0.9137168141592922, eval_loss: 0.39013850688934326 });
  assert.deepEqual(missing, []);
  assert.match(used[0], /eval_accuracy = 0\.9105504587155964 \(card metric accuracy, from front_matter\)/);
  // the old id without owner finds the same card
  const old = await baselineFromCard('distilbert-base-uncased-finetuned-sst-2-english', { cardsDir: sharedPath('fixtures', 'cards', 'raw'), hub: { offline: true } });
  assert.equal(old.metrics.accuracy, 0.9105504587155964);
});

test('116 variants: per-task degree-2 fits, absolute and relative; epochs-tied terms are aliased, not significant', async () => {
  const dir = tempDir();
  try {
    const csv = join(dir.path, 'cards.csv');
    writeFileSync(csv, cardsCsv(ingestCards(sharedPath('datasets', 'hub-cards', 'sst2-distilbert-variants'))));
    const table = readTable(csv);
    const b = await baselineFromCard(BASE, { cardsDir: sharedPath('fixtures', 'cards', 'raw'), hub: { offline: true } });
    const baseline = baselineForColumns(b, RESPONSES).values;
    for (const [task, n] of [['text-classification', 51], ['token-classification', 65]] as const) {
      const r = analyze(table, {
        predictors: ['learning_rate', 'train_batch_size', 'num_epochs'],
        responses: RESPONSES,
        frame: 'both',
        baseline,
        spec: { degree: 2, logLr: false, standardize: false },
        where: [`task=${task}`],
        dropMissing: true,
      });
      assert.equal(r.filters[0].kept, n, task);
      assert.equal(r.fits.length, 6);
      for (const fit of r.fits) {
        assert.ok(fit.aliased.length > 0, `${task} ${fit.response} ${fit.frame}: rank-deficient design must report aliased terms`);
        assert.ok(fit.aliased.includes('num_epochs^2'), `${task}: num_epochs^2 aliased (got ${fit.aliased.join(', ')})`);
        for (const term of fit.aliased) {
          const i = fit.terms.indexOf(term);
          assert.ok(i >= 0);
          assert.equal(fit.pvalues[i], null, `${term} has no p-value`);
          assert.equal(fit.params[i], null, `${term} has no coefficient`);
        }
      }
      const abs = r.fits.find((f) => f.response === 'eval_accuracy' && f.frame === 'absolute')!;
      const rel = r.fits.find((f) => f.response === 'eval_accuracy' && f.frame === 'relative')!;
      assert.equal(rel.baseline, 0.9105504587155964);
      // relative frame: same slopes, intercept shifted by the baseline
      assert.ok(Math.abs((abs.params[0] as number) - (rel.params[0] as number) - 0.9105504587155964) < 1e-9);
    }
  } finally {
    dir.cleanup();
  }
});

test('CLI: cards ingest then analyze --baseline-card --where task=… prints aliased terms and the baseline used', () => {
  const dir = tempDir();
  try {
    const csv = join(dir.path, 'cards.csv');
    const ing = runCli(['cards', 'ingest', sharedPath('datasets', 'hub-cards', 'sst2-distilbert-variants'), '--out', csv]);
    assert.equal(ing.status, 0, ing.stderr);
    assert.match(ing.stdout, /wrote 116 card\(s\) .*text-classification 51, token-classification 65/);
    const r = runCli([
      'analyze', csv, '--predictors', 'learning_rate,train_batch_size,num_epochs', '--response', 'eval_accuracy,eval_f1,eval_loss',
      '--frame', 'both', '--baseline-card', BASE, '--cards-dir', sharedPath('fixtures', 'cards', 'raw'),
      '--where', 'task=text-classification', '--drop-missing',
    ], { env: { HF_HUB_OFFLINE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /baseline from the card of distilbert\/distilbert-base-uncased-finetuned-sst-2-english .*eval_accuracy = 0\.9105504587155964/);
    assert.match(r.stdout, /filter task=text-classification: kept 51 of 116 rows/);
    assert.match(r.stdout, /Aliased \(not estimable, shown as NA\): num_epochs\^2/);
    assert.match(r.stdout, /num_epochs\^2 +NA +NA +NA +NA/);
    assert.match(r.stdout, /relative frame, baseline 0\.9105504587155964/);
  } finally {
    dir.cleanup();
  }
});
