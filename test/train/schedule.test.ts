import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrLambda, planSteps, warmupSteps, learningRateAt } from '../../src/train/schedule.js';
import { resolveTrainingArguments } from '../../src/train/arguments.js';
import { hfNoDecay } from '../../src/train/loop.js';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers.js';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('HF step counting: ceil(len_dataloader / grad_accum) per epoch, last partial accumulation included', () => {
  // 6920 examples, batch 8 -> 865 batches; ga 4 -> 216 full + 1 partial = 217 per epoch
  const p = planSteps({ numExamples: 6920, perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 4, numTrainEpochs: 2, warmupRatio: 0.1, warmupSteps: 0 });
  assert.equal(p.len_dataloader, 865);
  assert.equal(p.num_update_steps_per_epoch, 217);
  assert.equal(p.max_steps, 434);
  assert.equal(p.num_warmup_steps, Math.ceil(434 * 0.1));
  const q = planSteps({ numExamples: 10, perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 8, numTrainEpochs: 1.5, warmupRatio: 0, warmupSteps: 0 });
  assert.equal(q.num_update_steps_per_epoch, 1);
  assert.equal(q.max_steps, 2);
  assert.equal(q.num_train_epochs, 2);
  const r = planSteps({ numExamples: 100, perDeviceTrainBatchSize: 10, gradientAccumulationSteps: 1, numTrainEpochs: 3, maxSteps: 25, warmupRatio: 0, warmupSteps: 0 });
  assert.equal(r.max_steps, 25);
  assert.equal(r.num_train_epochs, 3);
});

test('warmup steps: explicit steps win over ratio; ratio rounds up', () => {
  assert.equal(warmupSteps(100, 0.06, 0), 6);
  assert.equal(warmupSteps(101, 0.06, 0), 7);
  assert.equal(warmupSteps(100, 0.5, 3), 3);
});

test('schedule lambdas match transformers.get_scheduler', () => {
  // linear with warmup 2 of 10
  assert.deepEqual([0, 1, 2, 3, 9, 10].map((s) => lrLambda('linear', s, 2, 10)), [0, 0.5, 1, 7 / 8, 1 / 8, 0]);
  assert.equal(lrLambda('linear', 0, 0, 10), 1);
  assert.equal(lrLambda('constant', 5, 2, 10), 1);
  assert.deepEqual([0, 1, 2, 5].map((s) => lrLambda('constant_with_warmup', s, 4, 10)), [0, 0.25, 0.5, 1]);
  close(lrLambda('cosine', 2, 2, 10), 1);
  close(lrLambda('cosine', 6, 2, 10), 0.5);
  close(lrLambda('cosine', 10, 2, 10), 0);
  close(lrLambda('cosine', 4, 2, 10), 0.5 * (1 + Math.cos(Math.PI * 0.25)));
  close(learningRateAt('linear', 2e-5, 5, 0, 10), 1e-5);
});

test('TrainingArguments: HF defaults, validation naming the key', () => {
  const a = resolveTrainingArguments({});
  assert.equal(a.learning_rate, 5e-5);
  assert.equal(a.per_device_train_batch_size, 8);
  assert.equal(a.per_device_eval_batch_size, 8);
  assert.equal(a.num_train_epochs, 3);
  assert.equal(a.weight_decay, 0);
  assert.equal(a.adam_beta1, 0.9);
  assert.equal(a.adam_beta2, 0.999);
  assert.equal(a.adam_epsilon, 1e-8);
  assert.equal(a.max_grad_norm, 1);
  assert.equal(a.lr_scheduler_type, 'linear');
  assert.equal(a.max_seq_length, 128);
  assert.equal(a.gradient_accumulation_steps, 1);
  assert.equal(a.group_by_length, false);
  assert.equal(a.save_strategy, 'no');
  assert.equal(resolveTrainingArguments({ output_dir: '/tmp/x' }).save_strategy, 'end');
  assert.equal(resolveTrainingArguments({ learning_rate: '3e-5' } as Record<string, unknown>).learning_rate, 3e-5);
  assert.throws(() => resolveTrainingArguments({ learning_rate: -1 }), /learning_rate: must be > 0/);
  assert.throws(() => resolveTrainingArguments({ per_device_train_batch_size: 2.5 }), /per_device_train_batch_size: must be an integer/);
  assert.throws(() => resolveTrainingArguments({ lr_scheduler_type: 'poly' } as Record<string, unknown>), /lr_scheduler_type: must be one of/);
  assert.throws(() => resolveTrainingArguments({ learningrate: 1 } as Record<string, unknown>), /unknown training argument 'learningrate' \(did you mean 'learning_rate'\?\)/);
  assert.throws(() => resolveTrainingArguments({ save_strategy: 'epoch' }), /needs output_dir/);
});

test('HF parameter groups: no decay on biases and LayerNorm weights', () => {
  for (const n of ['distilbert.embeddings.LayerNorm.weight', 'distilbert.transformer.layer.0.sa_layer_norm.weight',
    'distilbert.transformer.layer.1.output_layer_norm.bias', 'classifier.bias', 'distilbert.transformer.layer.0.ffn.lin1.bias']) {
    assert.equal(hfNoDecay(n), true, n);
  }
  for (const n of ['distilbert.embeddings.word_embeddings.weight', 'distilbert.transformer.layer.0.attention.q_lin.weight',
    'pre_classifier.weight', 'classifier.weight', 'distilbert.embeddings.position_embeddings.weight']) {
    assert.equal(hfNoDecay(n), false, n);
  }
});

test('HF parameter groups agree with the torch fixture (tiny-a expected.json optimizer.hf_groups)', () => {
  const exp = JSON.parse(readFileSync(sharedPath('fixtures', 'distilbert', 'tiny-a', 'expected.json'), 'utf8')) as {
    optimizer: { hf_groups: { decay: string[]; no_decay: string[] } };
  };
  for (const n of exp.optimizer.hf_groups.no_decay) assert.equal(hfNoDecay(n), true, n);
  for (const n of exp.optimizer.hf_groups.decay) assert.equal(hfNoDecay(n), false, n);
});
