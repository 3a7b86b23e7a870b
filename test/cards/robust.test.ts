import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { ingestCards, parseCard } from '../../src/cards/index.js';

const TRAINER_BODY = `# ok-model

This model is a fine-tuned version of [distilbert-base-uncased](https://huggingface.co/distilbert-base-uncased) on the imdb dataset.
It achieves the following results on the evaluation set:
- Loss: 0.25
- Accuracy: 0.93

### Training hyperparameters
- learning_rate: 5e-05
- train_batch_size: 16
- num_epochs: 3
`;

test('YAML bomb, 50 MB card, binary junk, truncated front matter: per-card warnings, the rest still parses', () => {
  const dir = tempDir();
  try {
    const bomb = ['---', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    bomb.push('---', TRAINER_BODY);
    writeFileSync(join(dir.path, 'o__bomb.md'), bomb.join('\n'));
    // 50 MB: front matter + body, then padding
    const fd = openSync(join(dir.path, 'o__huge.md'), 'w');
    writeSync(fd, `---\nlicense: mit\n---\n${TRAINER_BODY}\n`);
    const chunk = Buffer.alloc(1024 * 1024, 'lorem ipsum dolor sit amet\n');
    for (let i = 0; i < 50; i++) writeSync(fd, chunk);
    closeSync(fd);
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 256;
    writeFileSync(join(dir.path, 'o__junk.md'), junk);
    writeFileSync(join(dir.path, 'o__truncated.md'), `---\nlicense: apache-2.0\nmodel-index:\n- name: trunc\n  results:\n  - task:\n${TRAINER_BODY}`);
    writeFileSync(join(dir.path, 'o__badyaml.md'), `---\nkey: [unclosed\n  other: {\n---\n${TRAINER_BODY}`);
    writeFileSync(join(dir.path, 'o__good.md'), `---\nbase_model: distilbert-base-uncased\n---\n${TRAINER_BODY}`);
    writeFileSync(join(dir.path, 'o__empty.md'), '');

    const recs = ingestCards(dir.path);
    const by = new Map(recs.map((r) => [r.values.model_id, r]));
    assert.equal(recs.length, 7);

    const bombCard = by.get('o/bomb')!;
    assert.ok(bombCard.warnings.some((w) => /front matter/i.test(w) && /alias/i.test(w)), bombCard.warnings.join('|'));
    assert.equal(bombCard.values.eval_accuracy, 0.93, 'markdown still parsed after a rejected YAML bomb');

    const huge = by.get('o/huge')!;
    assert.ok(huge.warnings.some((w) => /over the \d+-byte limit/.test(w)), huge.warnings.join('|'));
    assert.equal(huge.values.learning_rate, 5e-5);

    const j = by.get('o/junk')!;
    assert.ok(j.warnings.some((w) => /not a text file/.test(w)));
    assert.equal(j.textKind, 'binary');
    assert.equal(j.values.eval_accuracy, undefined);

    const t = by.get('o/truncated')!;
    assert.ok(t.warnings.some((w) => /not closed/.test(w)), t.warnings.join('|'));
    assert.equal(t.values.eval_loss, 0.25);

    const bad = by.get('o/badyaml')!;
    assert.ok(bad.warnings.some((w) => /YAML error at line \d+/.test(w)), bad.warnings.join('|'));
    assert.equal(bad.values.num_epochs, 3);

    assert.deepEqual(by.get('o/good')!.warnings, []);
    assert.equal(by.get('o/good')!.values.base_model, 'distilbert-base-uncased');
    assert.ok(by.get('o/empty')!.warnings.includes('empty card'));
  } finally {
    dir.cleanup();
  }
});

test('front matter that is not a mapping, or a non-numeric hyperparameter, gives a warning not a crash', () => {
  const c = parseCard(`---\n- just\n- a list\n---\n# x\n- learning_rate: fast\n`);
  assert.ok(c.warnings.some((w) => /not a YAML mapping/.test(w)));
  assert.ok(c.warnings.some((w) => /learning_rate/.test(w) && /not a number/.test(w)));
  assert.equal(c.values.learning_rate, undefined);
});
