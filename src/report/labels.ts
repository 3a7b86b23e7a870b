/** Axis titles with units, in the Hugging Face vocabulary (short CSV names map to the same labels). */

const PREDICTOR: Record<string, string> = {
  learning_rate: 'learning_rate (AdamW peak LR, log scale)',
  lr: 'learning_rate (AdamW peak LR, log scale)',
  per_device_train_batch_size: 'per_device_train_batch_size (examples/step)',
  bs: 'per_device_train_batch_size (examples/step)',
  batch_size: 'batch_size (examples/step)',
  train_batch_size: 'train_batch_size (examples/step)',
  total_train_batch_size: 'total_train_batch_size (examples/step)',
  effective_train_batch_size: 'effective_train_batch_size (examples/step)',
  num_epochs: 'num_epochs (epochs)',
  num_train_epochs: 'num_train_epochs (epochs)',
  ep: 'num_train_epochs (epochs)',
  epochs: 'num_train_epochs (epochs)',
  seed: 'seed',
  weight_decay: 'weight_decay (AdamW, per step × LR)',
  warmup_ratio: 'warmup_ratio (fraction of steps)',
  max_seq_length: 'max_seq_length (tokens)',
  gradient_accumulation_steps: 'gradient_accumulation_steps (micro-batches)',
};

const METRIC: Record<string, string> = {
  accuracy: 'accuracy (fraction correct)',
  f1: 'F1 (positive label, fraction)',
  f1_macro: 'F1 macro (fraction)',
  f1_micro: 'F1 micro (fraction)',
  f1_weighted: 'F1 weighted (fraction)',
  precision: 'precision (fraction)',
  recall: 'recall (fraction)',
  roc_auc: 'ROC AUC (fraction)',
  loss: 'eval loss (cross-entropy, nats/example)',
  eval_loss: 'eval loss (cross-entropy, nats/example)',
  train_loss: 'train loss (cross-entropy, nats/example)',
  train_seconds: 'train time (s)',
};

export function predictorLabel(p: string, lrColumn?: string | null): string {
  if (PREDICTOR[p]) return PREDICTOR[p];
  return p === lrColumn ? `${p} (log scale)` : p;
}

export function metricLabel(m: string, frame: 'absolute' | 'relative' = 'absolute'): string {
  const bare = m.startsWith('eval_') ? m.slice(5) : m;
  const base = METRIC[m] ?? (METRIC[bare] ? `${m} (${METRIC[bare].replace(/^[^(]*\(/, '')}` : m);
  return frame === 'relative' ? `Δ ${base} vs baseline` : base;
}

/** Whether a metric is a proportion (shown as percentage points in findings). */
export function isFraction(m: string): boolean {
  return /^(eval_)?(accuracy|f1|f1_.*|precision|recall|roc_auc)$/.test(m);
}
