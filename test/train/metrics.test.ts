import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics, classificationMetrics, rocAuc } from '../../src/train/metrics.js';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

/** logits that predict `pred` with margin 2 for a 2- or k-label task */
function logitsFor(preds: number[], k: number): Float32Array {
  const out = new Float32Array(preds.length * k);
  preds.forEach((p, i) => (out[i * k + p] = 2));
  return out;
}

test('binary: accuracy, precision/recall/F1 for positive label 1, hand-computed', () => {
  // y_true 1 1 1 0 0 0 0 1 ; y_pred 1 0 1 1 0 0 1 1 -> TP=3 FN=1 FP=2 TN=2
  const y = [1, 1, 1, 0, 0, 0, 0, 1];
  const p = [1, 0, 1, 1, 0, 0, 1, 1];
  const m = computeMetrics(logitsFor(p, 2), y, 2);
  close(m.accuracy, 5 / 8);
  close(m.precision, 3 / 5);
  close(m.recall, 3 / 4);
  close(m.f1, (2 * 3) / (2 * 3 + 2 + 1));
  // label 0: TP=2 FP=1 FN=2 -> P=2/3 R=1/2 F1=4/7 ; label 1 F1=6/9
  close(m.f1_macro, (4 / 7 + 6 / 9) / 2);
  close(m.precision_macro, (2 / 3 + 3 / 5) / 2);
  close(m.f1_micro, 5 / 8);
  close(m.f1_weighted, (4 / 7) * 0.5 + (6 / 9) * 0.5);
  assert.equal(m.zero_division, false);
  assert.equal(m.num_samples, 8);
});

test('loss is the mean cross-entropy from logits', () => {
  const logits = new Float32Array([0, 0, 1, 3]);
  const m = computeMetrics(logits, [0, 0], 2);
  const l1 = Math.log(2);
  const l2 = Math.log(Math.exp(1) + Math.exp(3)) - 1;
  close(m.loss, (l1 + l2) / 2, 1e-7);
});

test('zero_division=0 convention: no predicted positives', () => {
  const m = computeMetrics(logitsFor([0, 0, 0, 0], 2), [1, 0, 1, 0], 2);
  assert.equal(m.precision, 0);
  assert.equal(m.recall, 0);
  assert.equal(m.f1, 0);
  assert.equal(m.zero_division, true);
  assert.ok(m.warnings.some((w) => /precision is ill-defined/.test(w)));
  close(m.accuracy, 0.5);
});

test('multiclass macro/micro/weighted (sklearn docs example)', () => {
  // sklearn f1_score docs: y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1]: macro 0.26666, micro 0.33333, weighted 0.26666
  const m = classificationMetrics([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], { binary: false });
  close(m.f1_macro, 0.26666666666666666, 1e-12);
  close(m.f1_micro, 1 / 3, 1e-12);
  close(m.precision_micro, 1 / 3, 1e-12);
  close(m.recall_micro, 1 / 3, 1e-12);
  close(m.f1_weighted, 0.26666666666666666, 1e-12);
  // precision_score docs: macro 0.2222, weighted 0.2222
  close(m.precision_macro, 0.2222222222222222, 1e-12);
  close(m.f1, m.f1_macro);
});

test('ROC-AUC: sklearn example and ties', () => {
  // sklearn roc_auc_score docs example: y [0,0,1,1], scores [0.1,0.4,0.35,0.8] -> 0.75
  close(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])!, 0.75);
  // all scores tied -> 0.5 (one threshold)
  close(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])!, 0.5);
  // a tie between one positive and one negative counts half: pairs (p,n): 4 pairs, 3 wins + 1 tie -> 0.875
  close(rocAuc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])!, 0.875);
  assert.equal(rocAuc([1, 1], [0.2, 0.3]), null);
});

test('computeMetrics binary includes roc_auc from softmax probabilities; single class → null + warning', () => {
  const logits = new Float32Array([0, 0.1, 0, -1, 0, 2, 0, 0.5]);
  const m = computeMetrics(logits, [0, 0, 1, 1], 2);
  // positive probs increase with logit[1]: 0.1,-1,2,0.5 → positives 2 and 0.5 beat both negatives except 0.5>0.1 ok → 1.0
  close(m.roc_auc!, 1);
  const s = computeMetrics(logits, [1, 1, 1, 1], 2);
  assert.equal(s.roc_auc, null);
  assert.ok(s.warnings.some((w) => /ROC-AUC/.test(w)));
});

test('rejects mismatched shapes and out-of-range labels', () => {
  assert.throws(() => computeMetrics(new Float32Array(3), [0, 1], 2), /logits has 3 values/);
  assert.throws(() => computeMetrics(new Float32Array(4), [0, 2], 2), /outside/);
});
