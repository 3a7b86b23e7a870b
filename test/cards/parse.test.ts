import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { sharedPath } from '../helpers.js';
import { cardsAccuracy, ingestCards, modelIdFromFileName, parseCard, parseCardNumber } from '../../src/cards/index.js';

const FIX = sharedPath('fixtures', 'cards');

test('every value in fixtures/cards/manifest.csv is extracted exactly', () => {
  const r = cardsAccuracy(`${FIX}/manifest.csv`, `${FIX}/raw`);
  assert.equal(r.cards, 59);
  assert.deepEqual(r.mismatches, []);
  assert.equal(r.correct, r.total);
  // the manifest really is compared: spot-check a few values against the raw manifest text
  const rows = parse(readFileSync(`${FIX}/manifest.csv`), { columns: true }) as Array<Record<string, string>>;
  const byFile = new Map(r.records.map((x, i) => [rows[i].file, x]));
  const alk = byFile.get('alk__distilbert-base-uncased-finetuned-header-classifier.md')!;
  assert.equal(alk.values.train_batch_size, 4);
  assert.equal(alk.values.total_train_batch_size, 64);
  assert.equal(alk.values.effective_train_batch_size, 64);
  assert.equal(alk.values.eval_accuracy, undefined, 'absent metric stays absent, never 0');
  const colter = byFile.get('colterwood__best_distilbert_model.md')!;
  assert.equal(colter.values.eval_accuracy, 0.7344);
  assert.ok(colter.notes.some((n) => n.includes('73.44%')), 'percentage conversion is noted');
  assert.equal(colter.values.lr_scheduler_type, 'linear');
});

test('cardsAccuracy: a manifest without a file column, or a card missing from the folder, is a UserError naming it', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tunescope-cards-acc-'));
  try {
    const noFile = join(dir, 'nofile.csv');
    writeFileSync(noFile, 'model_id,learning_rate\na/b,5e-5\n');
    assert.throws(() => cardsAccuracy(noFile, `${FIX}/raw`), (e: Error) => e.name === 'UserError' && /nofile\.csv: the manifest has no "file" column/.test(e.message));
    // the real manifest against an empty folder: every card is missing, not "0% accurate"
    assert.throws(() => cardsAccuracy(`${FIX}/manifest.csv`, dir), (e: Error) => e.name === 'UserError' && /manifest\.csv: line 2: no card .*\.md$/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('provenance: results line beats model-index; baseline metrics from model-index validation split', () => {
  const twoEn = parseCard(readFileSync(`${FIX}/raw/2en__distilbert-base-uncased-finetuned-emotion.md`, 'utf8'));
  assert.equal(twoEn.values.eval_f1, 0.9289);
  assert.equal(twoEn.provenance.eval_f1, 'results_line');
  assert.equal(twoEn.evalMetrics.f1, 0.9289);
  assert.ok(twoEn.trainingResults.length >= 2);
  assert.equal(twoEn.values.task, 'text-classification');
  const base = parseCard(readFileSync(`${FIX}/raw/distilbert__distilbert-base-uncased-finetuned-sst-2-english.md`, 'utf8'));
  assert.equal(base.values.eval_accuracy, 0.9105504587155964);
  assert.equal(base.values.eval_loss, 0.39013850688934326);
  assert.equal(base.provenance.eval_accuracy, 'front_matter');
  assert.equal(base.values.warmup_steps, 600);
  assert.equal(base.values.learning_rate, 1e-5);
  assert.equal(base.values.dataset, 'sst2');
});

test('rendered text with collapsed newlines (rebego card) still yields the Trainer fields', () => {
  const c = parseCard(readFileSync(`${FIX}/raw/rebego__imdb-distilbert.md`, 'utf8'));
  assert.equal(c.textKind, 'rendered_text');
  assert.equal(c.values.base_model, 'distilbert-base-uncased');
  assert.equal(c.values.eval_loss, 1.467);
  assert.equal(c.values.num_epochs, 10);
  assert.equal(c.values.optimizer?.startsWith('Use adamw_torch'), true);
  assert.equal(c.values.lr_scheduler_type, 'linear');
});

test('the 116 SST-2 DistilBERT variants split 51 sentence / 65 token classification', () => {
  const recs = ingestCards(sharedPath('datasets', 'hub-cards', 'sst2-distilbert-variants'));
  assert.equal(recs.length, 116);
  const n = (t: string): number => recs.filter((r) => r.values.task === t).length;
  assert.equal(n('text-classification'), 51);
  assert.equal(n('token-classification'), 65);
  for (const r of recs) {
    assert.equal(r.values.base_model, 'distilbert-base-uncased-finetuned-sst-2-english', r.source);
    assert.ok(r.values.model_id && r.values.model_id.includes('/'), r.source);
    assert.deepEqual(r.warnings, [], r.source);
  }
  const epochs = new Set(recs.map((r) => r.values.num_epochs));
  assert.deepEqual([...epochs].sort(), [2, 3, 5]);
});

test('numbers: 5e-05 = 5e-5 = 0.00005; percentages become fractions; non-numbers are null', () => {
  assert.equal(parseCardNumber('5e-05')!.value, parseCardNumber('0.00005')!.value);
  assert.equal(parseCardNumber('5e-5')!.value, 0.00005);
  assert.deepEqual(parseCardNumber('91.3%'), { value: 0.913, percent: true });
  assert.equal(parseCardNumber('`2`')!.value, 2);
  assert.equal(parseCardNumber('1,000')!.value, 1000);
  assert.equal(parseCardNumber('No log'), null);
  assert.equal(parseCardNumber('0.9.1'), null);
});

test('model ids from file names', () => {
  assert.equal(modelIdFromFileName('/x/owner__name-v2.md'), 'owner/name-v2');
  assert.equal(modelIdFromFileName('/x/Motahar_distilbert-sst2-mahtab_README.md'), 'Motahar/distilbert-sst2-mahtab');
  // owner containing "_" is recovered when the card states its own name
  assert.equal(modelIdFromFileName('/x/my_org_model_a_README.md', 'model_a'), 'my_org/model_a');
  assert.equal(modelIdFromFileName('/x/cards/owner/name/README.md'), 'owner/name');
  assert.equal(modelIdFromFileName('/x/plain.md'), null);
});

// ---- cards the parser has never seen: other bases, datasets, metric sets, odd formatting

const GLUE_COLA = `---
license: apache-2.0
base_model: FacebookAI/roberta-base
tags:
- generated_from_trainer
datasets:
- glue
metrics:
- matthews_correlation
model-index:
- name: roberta-base-cola
  results:
  - task:
      name: Text Classification
      type: text-classification
    dataset:
      name: glue
      type: glue
      config: cola
      split: validation
      args: cola
    metrics:
    - name: Matthews Correlation
      type: matthews_correlation
      value: 0.6123456789
---

# roberta-base-cola

This model is a fine-tuned version of [FacebookAI/roberta-base](https://huggingface.co/FacebookAI/roberta-base) on the glue dataset.
It achieves the following results on the evaluation set:
- Loss: 0.4511
- Matthews Correlation: 0.6123

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 1.5e-5
- train_batch_size: 8
- eval_batch_size: 16
- seed: 1234
- gradient_accumulation_steps: 4
- total_train_batch_size: 32
- optimizer: Use OptimizerNames.ADAMW_TORCH with betas=(0.9,0.999) and epsilon=1e-08 and optimizer_args=No additional optimizer arguments
- lr_scheduler_type: cosine
- lr_scheduler_warmup_ratio: 0.06
- num_epochs: 2.5

### Training results

| Training Loss | Epoch  | Step | Validation Loss | Matthews Correlation |
|:-------------:|:------:|:----:|:---------------:|:--------------------:|
| No log        | 1.0    | 268  | 0.4700          | 0.5801               |
| 0.3012        | 2.0    | 536  | 0.4511          | 0.6123               |
| 0.3012        | 2.5    | 670  | 0.4600          | 0.6100               |


### Framework versions

- Transformers 4.44.2
- Pytorch 2.4.0+cu121
`;

test('unseen card: RoBERTa on CoLA with Matthews correlation, accumulation, fractional epochs', () => {
  const c = parseCard(GLUE_COLA);
  assert.deepEqual(c.warnings, []);
  assert.equal(c.values.base_model, 'FacebookAI/roberta-base');
  assert.equal(c.provenance.base_model, 'front_matter');
  assert.equal(c.values.learning_rate, 1.5e-5);
  assert.equal(c.values.effective_train_batch_size, 32);
  assert.equal(c.values.gradient_accumulation_steps, 4);
  assert.equal(c.values.num_epochs, 2.5);
  assert.equal(c.values.warmup_ratio, 0.06);
  assert.equal(c.values.lr_scheduler_type, 'cosine');
  assert.equal(c.values.seed, 1234);
  assert.equal(c.values.eval_loss, 0.4511);
  assert.equal(c.evalMetrics.matthews_correlation, 0.6123);
  assert.equal(c.values.eval_accuracy, undefined);
  assert.equal(c.values.eval_f1, undefined);
  assert.equal(c.values.task, 'text-classification');
  assert.equal(c.taskBasis, 'model-index task.type');
  assert.equal(c.trainingResults.length, 3);
  assert.equal(c.trainingResults[0].training_loss, null);
  assert.equal(c.trainingResults[2].epoch, 2.5);
  assert.equal(c.trainingResults[1].matthews_correlation, 0.6123);
  assert.equal(c.frameworkVersions.Transformers, '4.44.2');
});

test('unseen card: summarization with ROUGE, no front matter, CRLF line endings', () => {
  const card = [
    '# t5-small-finetuned-xsum',
    '',
    'This model is a fine-tuned version of [t5-small](https://huggingface.co/t5-small) on the xsum dataset.',
    'It achieves the following results on the evaluation set:',
    '- Loss: 2.4782',
    '- Rouge1: 28.2891',
    '- Rouge2: 7.7213',
    '- Rougel: 22.2441',
    '- Gen Len: 18.8227',
    '',
    '### Training hyperparameters',
    '',
    '- learning_rate: 2e-05',
    '- train_batch_size: 16',
    '- seed: 42',
    '- num_epochs: 1',
    '- mixed_precision_training: Native AMP',
    '',
  ].join('\r\n');
  const c = parseCard(card);
  assert.equal(c.values.task, 'summarization');
  assert.equal(c.taskBasis, 'metric set');
  assert.equal(c.values.dataset, 'xsum');
  assert.equal(c.values.base_model, 't5-small');
  assert.equal(c.values.model_name, 't5-small-finetuned-xsum');
  assert.equal(c.evalMetrics.rouge1, 28.2891);
  assert.equal(c.evalMetrics.gen_len, 18.8227);
  assert.equal(c.values.eval_loss, 2.4782);
  assert.equal(c.values.eval_accuracy, undefined);
  assert.equal(c.hyperparameters.mixed_precision_training, 'Native AMP');
});

test('unseen card: NER with seqeval per-entity dicts and Overall metrics → token classification', () => {
  const card = `---
tags:
- generated_from_trainer
datasets:
- conll2003
---
# bert-base-cased-finetuned-conll03

This model is a fine-tuned version of [bert-base-cased](https://huggingface.co/bert-base-cased) on the conll2003 dataset.
It achieves the following results on the evaluation set:
- Loss: 0.0615
- Loc: {'precision': 0.95, 'recall': 0.96, 'f1': 0.955, 'number': 1837}
- Overall Precision: 0.9311
- Overall Recall: 0.9485
- Overall F1: 0.9397
- Overall Accuracy: 0.9860

### Training hyperparameters
- learning_rate: 3e-05
- train_batch_size: 32
- num_epochs: 3
`;
  const c = parseCard(card);
  assert.equal(c.values.eval_f1, 0.9397);
  assert.equal(c.values.eval_accuracy, 0.986);
  assert.equal(c.values.eval_precision, 0.9311);
  assert.equal(c.values.task, 'token-classification');
  assert.equal(c.values.dataset, 'conll2003');
});

test('odd formatting: bold keys, "=" separators, percent results, rendered plain-text card', () => {
  const bold = parseCard(`# my-model\n\n## Hyperparameters\n- **Learning Rate:** \`3e-5\`\n- **Batch Size** = 24\n- **Epochs:** 4\n- **Random seed:** 7\n\n## Results\n- **Validation accuracy:** 88.5%\n- **Validation F1:** 0.87\n`);
  assert.equal(bold.values.learning_rate, 3e-5);
  assert.equal(bold.values.train_batch_size, 24);
  assert.equal(bold.values.num_epochs, 4);
  assert.equal(bold.values.seed, 7);
  assert.equal(bold.values.eval_accuracy, 0.885);
  assert.equal(bold.values.eval_f1, 0.87);
  assert.equal(bold.provenance.eval_accuracy, 'text');

  const rendered = parseCard(
    [
      'sst2-rendered',
      'This model is a fine-tuned version of distilbert-base-uncased-finetuned-sst-2-english on the glue dataset.',
      'It achieves the following results on the evaluation set:',
      '',
      'Loss: 0.3010',
      'Accuracy: 0.9037',
      '',
      'Training hyperparameters',
      'The following hyperparameters were used during training:',
      '',
      'learning_rate: 2e-05',
      'train_batch_size: 16',
      'seed: 42',
      'optimizer: Adam with betas=(0.9,0.999) and epsilon=1e-08',
      'lr_scheduler_type: linear',
      'num_epochs: 1',
      '',
      'Training results',
      'Training Loss\tEpoch\tStep\tValidation Loss\tAccuracy',
      'No log\t1.0\t100\t0.3010\t0.9037',
      '',
      'Framework versions',
      '',
    ].join('\n'),
  );
  assert.equal(rendered.values.base_model, 'distilbert-base-uncased-finetuned-sst-2-english');
  assert.equal(rendered.values.dataset, 'glue');
  assert.equal(rendered.values.eval_accuracy, 0.9037);
  assert.equal(rendered.values.seed, 42);
  assert.equal(rendered.values.optimizer, 'Adam with betas=(0.9,0.999) and epsilon=1e-08');
  assert.equal(rendered.values.learning_rate, 2e-5);
  assert.equal(rendered.trainingResults.length, 1);
  assert.equal(rendered.trainingResults[0].validation_loss, 0.301);
});

test('a card with a table but no evaluation block takes metrics from the last row, marked table', () => {
  const c = parseCard(`# m\n\n### Training results\n\n| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n|:--:|:--:|:--:|:--:|:--:|\n| 0.5 | 1.0 | 10 | 0.40 | 0.80 |\n| 0.3 | 2.0 | 20 | 0.35 | 0.85 |\n`);
  assert.equal(c.values.eval_accuracy, 0.85);
  assert.equal(c.provenance.eval_accuracy, 'table');
  assert.equal(c.values.eval_f1, undefined);
});

test('unseen Keras card: lr inside the optimizer dict, Train/Validation metrics, owner/name in model-index', () => {
  const card = `---
license: apache-2.0
tags:
- generated_from_keras_callback
model-index:
- name: someone/bert-finetuned-imdb
  results: []
---

# someone/bert-finetuned-imdb

This model is a fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased) on an unknown dataset.
It achieves the following results on the evaluation set:
- Train Loss: 0.2100
- Train Accuracy: 0.9300
- Validation Loss: 0.2852
- Validation Accuracy: 0.8937
- Epoch: 2

### Training hyperparameters

The following hyperparameters were used during training:
- optimizer: {'name': 'AdamWeightDecay', 'learning_rate': {'class_name': 'PolynomialDecay', 'config': {'initial_learning_rate': 2e-05, 'decay_steps': 1695, 'end_learning_rate': 0.0, 'power': 1.0}}, 'decay': 0.0}
- training_precision: float32
`;
  const c = parseCard(card);
  assert.equal(c.values.learning_rate, 2e-5);
  assert.equal(c.values.eval_loss, 0.2852);
  assert.equal(c.values.eval_accuracy, 0.8937);
  assert.equal(c.evalMetrics.train_accuracy, 0.93);
  assert.equal(c.values.dataset, undefined);
  assert.equal(c.values.model_name, 'someone/bert-finetuned-imdb');
});

test('unseen LayoutLM/FUNSD card: "Loss: nan", per-entity dict cells in the results block and table', () => {
  const card = `# layoutlm-funsd

This model is a fine-tuned version of [microsoft/layoutlm-base-uncased](https://huggingface.co/microsoft/layoutlm-base-uncased) on the funsd dataset.
It achieves the following results on the evaluation set:
- Loss: nan
- Answer: {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'number': 809}
- Overall Precision: 0.0
- Overall Recall: 0.0
- Overall F1: 0.0
- Overall Accuracy: 0.2750

### Training results

| Training Loss | Epoch | Step | Validation Loss | Answer                                                      | Overall Precision | Overall Recall | Overall F1 | Overall Accuracy |
|:-------------:|:-----:|:----:|:---------------:|:-----------------------------------------------------------:|:-----------------:|:--------------:|:----------:|:----------------:|
| 1.0           | 1.0   | 10   | nan             | {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'number': 809} | 0.0               | 0.0            | 0.0        | 0.2750           |
`;
  const c = parseCard(card);
  assert.equal(c.values.eval_loss, undefined, 'nan is not a value');
  assert.equal(c.values.eval_f1, 0, 'a reported 0.0 is kept (absent ≠ 0)');
  assert.equal(c.values.eval_accuracy, 0.275);
  assert.equal(c.values.task, 'token-classification');
  assert.equal(c.trainingResults[0].accuracy, 0.275);
  assert.equal(c.trainingResults[0].answer, null);
  assert.equal(c.values.base_model, 'microsoft/layoutlm-base-uncased');
});

test('a model-index accuracy written as 91.3 (percent without %) is kept and flagged', () => {
  const c = parseCard(`---\nmodel-index:\n- name: m\n  results:\n  - task:\n      type: text-classification\n    metrics:\n    - type: accuracy\n      value: 91.3\n---\n# m\n`);
  assert.equal(c.values.eval_accuracy, 91.3);
  assert.ok(c.warnings.some((w) => /eval_accuracy = 91\.3 is above 1/.test(w)));
});
