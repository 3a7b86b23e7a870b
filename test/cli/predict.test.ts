import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { predictTexts, readTextsTsv } from '../../src/cli/commands/predict.js';
import { UserError } from '../../src/util/index.js';
import { runCli, sharedPath, tempDir } from '../helpers.js';

const TINY_C = sharedPath('fixtures/distilbert/tiny-c');

test('predict probabilities are the softmax of the fixture logits', async () => {
  const inputs = JSON.parse(readFileSync(join(TINY_C, 'inputs.json'), 'utf8')) as { sentences: string[] };
  const expected = JSON.parse(readFileSync(join(TINY_C, 'expected.json'), 'utf8')) as { logits: number[][]; predicted_label_ids: number[] };
  const { predictions, notes } = await predictTexts(inputs.sentences, { model: TINY_C, batchSize: 3 });
  assert.deepEqual(notes, []);
  predictions.forEach((p, b) => {
    const [l0, l1] = expected.logits[b]!;
    const p1 = 1 / (1 + Math.exp(l0! - l1!));
    assert.ok(Math.abs(p.probabilities.POSITIVE! - p1) < 1e-5, `${p.text}: ${p.probabilities.POSITIVE} vs ${p1}`);
    assert.equal(p.label, ['NEGATIVE', 'POSITIVE'][expected.predicted_label_ids[b]!]);
  });
});

test('TSV reading: header with sentence/label, headerless one-per-line, errors name file and line', () => {
  const t = tempDir();
  try {
    const a = join(t.path, 'a.tsv');
    writeFileSync(a, 'sentence\tlabel\nloved it !\t1\nworst film ever\t0\n');
    assert.deepEqual(readTextsTsv(a), { texts: ['loved it !', 'worst film ever'], gold: ['1', '0'] });
    const b = join(t.path, 'b.tsv');
    writeFileSync(b, 'one\ntwo\n');
    assert.deepEqual(readTextsTsv(b).texts, ['one', 'two']);
    const c = join(t.path, 'c.tsv');
    writeFileSync(c, 'sentence\tlabel\nok\t1\nbroken\n');
    assert.throws(() => readTextsTsv(c), (e: unknown) => e instanceof UserError && e.message.includes(`${c}: line 3`));
    const d = join(t.path, 'd.tsv');
    writeFileSync(d, 'x\ty\n1\t2\n');
    assert.throws(() => readTextsTsv(d), (e: unknown) => e instanceof UserError && /--text-column/.test(e.message));
    const latin1 = join(t.path, 'latin1.tsv');
    writeFileSync(latin1, Buffer.from('sentence\tlabel\nok\t1\ncaf\xe9\t0\n', 'latin1'));
    assert.throws(() => readTextsTsv(latin1), (e: unknown) => e instanceof UserError && e.message === `${latin1}: line 3, column 4: not valid UTF-8 (byte 0xe9 at offset 23); save the file as UTF-8`);
  } finally {
    t.cleanup();
  }
});

test('CLI: tunescope predict prints a table with accuracy for a labelled TSV, --json, and clear errors', () => {
  const t = tempDir();
  try {
    const f = join(t.path, 'x.tsv');
    writeFileSync(f, 'sentence\tlabel\nloved it!\t1\nworst film ever\t0\n');
    const r = runCli(['predict', '--model', TINY_C, '--file', f, 'not good , not bad']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'label\tp(NEGATIVE)\tp(POSITIVE)\ttext');
    assert.equal(lines.length, 5);
    assert.match(lines[4]!, /^# accuracy \d\.\d{4} on 2 labelled rows$/);
    const j = runCli(['predict', '--model', TINY_C, '--json', 'loved it!']);
    assert.equal(j.status, 0, j.stderr);
    const parsed = JSON.parse(j.stdout) as { label: string; probabilities: Record<string, number> }[];
    assert.equal(parsed.length, 1);
    assert.ok(Math.abs(parsed[0]!.probabilities.NEGATIVE! + parsed[0]!.probabilities.POSITIVE! - 1) < 1e-12);
    const bad = runCli(['predict', '--model', join(t.path, 'nope'), 'x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /tunescope: error: .*no such folder/);
    // a gold label the model does not have is an error naming line and column, not a silent miss
    const g = join(t.path, 'gold.tsv');
    writeFileSync(g, 'sentence\tlabel\nloved it!\t1\nworst film ever\tneg\n');
    const gr = runCli(['predict', '--model', TINY_C, '--file', g]);
    assert.equal(gr.status, 2, gr.stdout);
    assert.match(gr.stderr.trim(), /^tunescope: error: .*gold\.tsv: line 3, column "label": gold label "neg" is neither a label of the model \(NEGATIVE, POSITIVE\) nor a class id 0–1$/);
  } finally {
    t.cleanup();
  }
});
