/** `tunescope demo` at toy size through the CLI: the plan first, a face-centred CCD, analysis, files, resume. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, sharedPath, tempDir } from '../helpers.js';

const HAVE_SHARED = existsSync(sharedPath('datasets', 'sst2', 'train.tsv')) && existsSync(sharedPath('models', 'distilbert-base-uncased', 'vocab.txt'));

test('tunescope demo at toy size: runs, analyses, writes its files, says the model is not pretrained', { skip: !HAVE_SHARED && 'needs ../shared' }, () => {
  const d = tempDir();
  try {
    const r = runCli(['demo', '--out', d.path, '--train-samples', '16', '--eval-samples', '16']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /NOT pretrained/);
    // the plan comes first: a face-centred CCD estimates every term of the degree-2 model
    assert.match(r.stdout, /the plan \(`tunescope study plan`\), before anything trains/);
    assert.match(r.stdout, /central composite, face_centered, α = 1\.0000 .*8 factorial \+ 6 axial \+ 3 centre/);
    assert.match(r.stdout, /10 terms, 10 estimable/);
    assert.ok(r.stdout.indexOf('10 estimable') < r.stdout.indexOf('ran '), 'plan before training');
    assert.match(r.stdout, /34\/34 done, 0 failed/);
    assert.match(r.stdout, /== accuracy \(absolute\)/);
    assert.match(r.stdout, /== seed noise vs hyperparameters/);
    assert.match(r.stdout, /Pareto set/);
    assert.match(r.stdout, /tunescope study run .*paper-sst2\.yaml/);
    const csv = readFileSync(join(d.path, 'trials.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 35);
    assert.ok(existsSync(join(d.path, 'analysis.json')));
    // a second run resumes: nothing left to do
    const again = runCli(['demo', '--out', d.path, '--train-samples', '16', '--eval-samples', '16']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /ran 0 fine-tune\(s\)/);
    const other = runCli(['demo', '--out', d.path, '--train-samples', '24', '--eval-samples', '16']);
    assert.equal(other.status, 2);
    assert.match(other.stderr, /add --fresh to start over/);
  } finally {
    d.cleanup();
  }
});
