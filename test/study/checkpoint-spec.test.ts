/** execution.checkpoint_every / keep_checkpoints: accepted spellings, the default, and clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStudySpecText, trialsRoot } from '../../src/study/index.js';
import { UserError } from '../../src/util/index.js';

const spec = (execution: string): string => `
name: tiny
model: {from_config: {dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32}, tokenizer: ./tok}
dataset: {name: sst2, data_dir: ./data}
design: {type: grid, factors: {learning_rate: [1.0e-4]}}
store: ./runs/tiny.sqlite
${execution}
`;
const parse = (execution: string) => parseStudySpecText(spec(execution), { file: 'spec.yaml', baseDir: '/base' }).execution;

test('checkpoint_every: steps, minutes, epoch, a mapping, false; default each epoch and every 10 minutes', () => {
  assert.deepEqual(parse('').checkpoint_every, { epoch: true, minutes: 10 });
  assert.equal(parse('').keep_checkpoints, false);
  assert.deepEqual(parse('execution: {checkpoint_every: 200}').checkpoint_every, { steps: 200, epoch: false });
  assert.deepEqual(parse('execution: {checkpoint_every: "50 steps"}').checkpoint_every, { steps: 50, epoch: false });
  assert.deepEqual(parse('execution: {checkpoint_every: 2.5 minutes}').checkpoint_every, { minutes: 2.5, epoch: false });
  assert.deepEqual(parse('execution: {checkpoint_every: 15m}').checkpoint_every, { minutes: 15, epoch: false });
  assert.deepEqual(parse('execution: {checkpoint_every: epoch, keep_checkpoints: true}'), { workers: 'auto', threads_per_worker: 'auto', oversubscribe: false, checkpoint_every: { epoch: true }, keep_checkpoints: true });
  assert.deepEqual(parse('execution: {checkpoint_every: {steps: 100, minutes: 5}}').checkpoint_every, { steps: 100, minutes: 5, epoch: false });
  assert.equal(parse('execution: {checkpoint_every: false}').checkpoint_every, null);
  assert.equal(trialsRoot(parseStudySpecText(spec(''), { file: '/base/spec.yaml', baseDir: '/base' })), '/base/runs/tiny.trials');
});

test('a bad checkpoint_every is one error naming the key', () => {
  for (const bad of ['"5 hours"', '0', '"0 minutes"', '"1.5 steps"', '{every: 3}']) {
    assert.throws(() => parse(`execution: {checkpoint_every: ${bad}}`), (e: Error) => e instanceof UserError && /execution\.checkpoint_every/.test(e.message), bad);
  }
});
