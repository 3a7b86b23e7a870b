/**
 * Evaluation metrics computed the way scikit-learn computes them (what HF `evaluate` calls):
 * precision/recall/F1 per label over the labels present in y_true ∪ y_pred, averaged 'binary'
 * (pos_label=1), 'macro', 'micro' and 'weighted'; zero_division=0 with a recorded warning
 * (sklearn's default 'warn'); F1 as 2TP / (2TP + FP + FN) (sklearn ≥ 1.3); ROC-AUC for binary tasks
 * by the trapezoid rule over distinct score thresholds (ties grouped as sklearn's roc_curve does).
 * Non-finite logits (a diverged or NaN-weight model) never reach a comparison that could stall: they are counted
 * (`non_finite_logits`), the loss is NaN/Inf as computed, ROC-AUC is NaN (sklearn raises on NaN scores) and the
 * metrics are flagged `non_finite`.
 * Written here (no JS port of sklearn.metrics is maintained); each formula is a few lines.
 */

export interface EvalMetrics {
  /** Mean cross-entropy over the examples (HF eval_loss). */
  loss: number;
  accuracy: number;
  /** Binary task: for positive label 1. More than two labels: macro averages. */
  precision: number;
  recall: number;
  f1: number;
  precision_macro: number;
  recall_macro: number;
  f1_macro: number;
  precision_micro: number;
  recall_micro: number;
  f1_micro: number;
  precision_weighted: number;
  recall_weighted: number;
  f1_weighted: number;
  /** Binary tasks only; null when y_true holds a single class (undefined, as sklearn raises). */
  roc_auc?: number | null;
  num_samples: number;
  /** Examples whose logits hold a NaN or ±Inf (a diverged run or NaN weights); 0 for a healthy model. */
  non_finite_logits: number;
  /** True when the loss or any logit is not finite: the classification metrics come from argmax over garbage. */
  non_finite: boolean;
  /** True when some precision/recall/F1 had a zero denominator and was set to 0 (sklearn zero_division=0). */
  zero_division: boolean;
  warnings: string[];
}

/** Mean cross-entropy, argmax predictions and the positive-class probability, from row-major logits [n, numLabels]. */
export function logitsSummary(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  numLabels: number,
): { loss: number; predictions: Int32Array; positiveProb: Float64Array; nonFiniteRows: number } {
  const n = labels.length;
  if (logits.length !== n * numLabels) {
    throw new RangeError(`logits has ${logits.length} values, expected ${n} x ${numLabels}`);
  }
  const predictions = new Int32Array(n);
  const positiveProb = new Float64Array(n);
  let total = 0;
  let nonFiniteRows = 0;
  for (let i = 0; i < n; i++) {
    const o = i * numLabels;
    let max = -Infinity;
    let arg = 0;
    let finite = true;
    for (let j = 0; j < numLabels; j++) {
      const v = logits[o + j]!;
      if (!Number.isFinite(v)) finite = false;
      if (v > max) {
        max = v;
        arg = j;
      }
    }
    let sum = 0;
    for (let j = 0; j < numLabels; j++) sum += Math.exp(logits[o + j]! - max);
    const lse = max + Math.log(sum);
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numLabels) throw new RangeError(`label ${y} at ${i} outside [0, ${numLabels})`);
    total += lse - logits[o + y]!;
    predictions[i] = arg;
    if (!finite) nonFiniteRows++;
    if (numLabels === 2) positiveProb[i] = Math.exp(logits[o + 1]! - lse);
  }
  return { loss: n > 0 ? total / n : NaN, predictions, positiveProb, nonFiniteRows };
}

interface PerLabel {
  label: number;
  tp: number;
  fp: number;
  fn: number;
  support: number;
}

function divide(num: number, den: number, what: string, warnings: Set<string>): number {
  if (den === 0) {
    warnings.add(what);
    return 0;
  }
  return num / den;
}

/**
 * sklearn-style ROC-AUC (binary, positive label 1); null when only one class is present in y_true; NaN when a score
 * is NaN (sklearn raises "Input contains NaN"; a NaN compares unequal to itself, so it cannot form a threshold).
 * ±Inf scores rank as the extremes.
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = yTrue.length;
  if (scores.length !== n) throw new RangeError(`rocAuc: ${scores.length} scores for ${n} labels`);
  let P = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) P++;
  const N = n - P;
  if (P === 0 || N === 0) return null;
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i]!)) return NaN;
  // explicit comparison: Inf - Inf is NaN, which a subtracting comparator would hand to sort
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a]! > scores[b]! ? -1 : scores[a]! < scores[b]! ? 1 : 0));
  let tp = 0;
  let fp = 0;
  let prevTpr = 0;
  let prevFpr = 0;
  let area = 0;
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    // all examples sharing this score move the curve at once (one threshold); do…while: k always advances
    do {
      if (yTrue[order[k]!] === 1) tp++;
      else fp++;
      k++;
    } while (k < n && scores[order[k]!] === s);
    const tpr = tp / P;
    const fpr = fp / N;
    area += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
    prevTpr = tpr;
    prevFpr = fpr;
  }
  return area;
}

/** Classification metrics from predictions (no loss). */
export function classificationMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: { binary: boolean },
): Omit<EvalMetrics, 'loss' | 'roc_auc' | 'non_finite_logits' | 'non_finite'> {
  const n = yTrue.length;
  const warningSet = new Set<string>();
  const labelSet = new Set<number>();
  for (let i = 0; i < n; i++) {
    labelSet.add(yTrue[i]!);
    labelSet.add(yPred[i]!);
  }
  const labels = [...labelSet].sort((a, b) => a - b);
  const stats = new Map<number, PerLabel>(labels.map((l) => [l, { label: l, tp: 0, fp: 0, fn: 0, support: 0 }]));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    stats.get(t)!.support++;
    if (t === p) {
      correct++;
      stats.get(t)!.tp++;
    } else {
      stats.get(p)!.fp++;
      stats.get(t)!.fn++;
    }
  }
  const per = labels.map((l) => {
    const s = stats.get(l)!;
    return {
      ...s,
      precision: divide(s.tp, s.tp + s.fp, `precision is ill-defined for label ${l} (no predicted samples); set to 0.0`, warningSet),
      recall: divide(s.tp, s.tp + s.fn, `recall is ill-defined for label ${l} (no true samples); set to 0.0`, warningSet),
      f1: divide(2 * s.tp, 2 * s.tp + s.fp + s.fn, `F1 is ill-defined for label ${l} (no true nor predicted samples); set to 0.0`, warningSet),
    };
  });
  // the binary/macro warnings above only matter for averages that use those labels; recompute binary apart
  const macroWarnings = new Set(warningSet);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const totalSupport = per.reduce((s, x) => s + x.support, 0);
  const weighted = (f: (x: (typeof per)[number]) => number): number =>
    totalSupport > 0 ? per.reduce((s, x) => s + f(x) * x.support, 0) / totalSupport : 0;
  const sumTp = per.reduce((s, x) => s + x.tp, 0);
  const sumFp = per.reduce((s, x) => s + x.fp, 0);
  const sumFn = per.reduce((s, x) => s + x.fn, 0);
  const precisionMicro = divide(sumTp, sumTp + sumFp, 'micro precision is ill-defined (no samples); set to 0.0', macroWarnings);
  const recallMicro = divide(sumTp, sumTp + sumFn, 'micro recall is ill-defined (no samples); set to 0.0', macroWarnings);
  const f1Micro = divide(2 * sumTp, 2 * sumTp + sumFp + sumFn, 'micro F1 is ill-defined (no samples); set to 0.0', macroWarnings);
  const precisionMacro = mean(per.map((x) => x.precision));
  const recallMacro = mean(per.map((x) => x.recall));
  const f1Macro = mean(per.map((x) => x.f1));
  let precision = precisionMacro;
  let recall = recallMacro;
  let f1 = f1Macro;
  let warnings = [...macroWarnings];
  if (opts.binary) {
    const pos = stats.get(1) ?? { tp: 0, fp: 0, fn: 0 };
    const bw = new Set<string>();
    precision = divide(pos.tp, pos.tp + pos.fp, 'precision is ill-defined for the positive label 1 (no predicted positives); set to 0.0', bw);
    recall = divide(pos.tp, pos.tp + pos.fn, 'recall is ill-defined for the positive label 1 (no true positives); set to 0.0', bw);
    f1 = divide(2 * pos.tp, 2 * pos.tp + pos.fp + pos.fn, 'F1 is ill-defined for the positive label 1 (no true nor predicted positives); set to 0.0', bw);
    warnings = [...new Set([...bw, ...macroWarnings])];
  }
  return {
    accuracy: n > 0 ? correct / n : NaN,
    precision,
    recall,
    f1,
    precision_macro: precisionMacro,
    recall_macro: recallMacro,
    f1_macro: f1Macro,
    precision_micro: precisionMicro,
    recall_micro: recallMicro,
    f1_micro: f1Micro,
    precision_weighted: weighted((x) => x.precision),
    recall_weighted: weighted((x) => x.recall),
    f1_weighted: weighted((x) => x.f1),
    num_samples: n,
    zero_division: warnings.length > 0,
    warnings,
  };
}

/** All evaluation metrics from row-major logits [n, numLabels] and integer labels. Binary (numLabels 2): positive label 1. */
export function computeMetrics(logits: Float32Array | ArrayLike<number>, labels: ArrayLike<number>, numLabels: number): EvalMetrics {
  const { loss, predictions, positiveProb, nonFiniteRows } = logitsSummary(logits, labels, numLabels);
  const binary = numLabels === 2;
  const m = classificationMetrics(labels, predictions, { binary });
  const nonFinite = nonFiniteRows > 0 || (labels.length > 0 && !Number.isFinite(loss));
  const out: EvalMetrics = { loss, ...m, non_finite_logits: nonFiniteRows, non_finite: nonFinite };
  if (binary) {
    const auc = rocAuc(labels, positiveProb);
    out.roc_auc = auc;
    if (auc === null) out.warnings = [...out.warnings, 'ROC-AUC is undefined: only one class present in the labels'];
  }
  if (nonFinite) {
    out.warnings = [
      ...out.warnings,
      `non-finite evaluation: ${nonFiniteRows} of ${labels.length} examples have NaN/Inf logits (loss ${loss}); the model diverged or its weights are not finite, so these metrics are not meaningful`,
    ];
  }
  return out;
}

/** Per-example predictions of an evaluation: true label, argmax label and float32 softmax probabilities [n, numLabels]. */
export interface EvalPredictions {
  numLabels: number;
  /** evaluation example index (position in the evaluated split) */
  index: Uint32Array;
  label: Int32Array;
  predicted: Int32Array;
  probabilities: Float32Array;
}

/** Predictions from row-major logits [n, numLabels]: argmax as logitsSummary (first maximum wins), softmax in float64, stored as float32. */
export function predictionsFromLogits(logits: ArrayLike<number>, labels: ArrayLike<number>, numLabels: number): EvalPredictions {
  const n = labels.length;
  const { predictions } = logitsSummary(logits, labels, numLabels);
  const probabilities = new Float32Array(n * numLabels);
  for (let i = 0; i < n; i++) {
    const o = i * numLabels;
    let max = -Infinity;
    for (let j = 0; j < numLabels; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < numLabels; j++) sum += Math.exp(logits[o + j]! - max);
    for (let j = 0; j < numLabels; j++) probabilities[o + j] = Math.exp(logits[o + j]! - max) / sum;
  }
  return { numLabels, index: Uint32Array.from({ length: n }, (_, i) => i), label: Int32Array.from(labels), predicted: Int32Array.from(predictions), probabilities };
}
