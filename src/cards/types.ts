/** Typed values produced by the model-card parser (src/cards/parse.ts). */

/** Where a field's value was read: YAML front matter (incl. model-index), the Trainer's
 * "It achieves the following results on the evaluation set:" block, the "Training results" table,
 * other card text (hyperparameter list, prose, hand-written bullets), the file name, or the Hub listing (model_id). */
export type Provenance = 'front_matter' | 'results_line' | 'table' | 'text' | 'file_name' | 'hub';

/** The fields extracted from every card, in the column order of `cards ingest`. */
export const CARD_FIELDS = [
  'model_id',
  'model_name',
  'base_model',
  'task',
  'dataset',
  'learning_rate',
  'train_batch_size',
  'eval_batch_size',
  'gradient_accumulation_steps',
  'total_train_batch_size',
  'effective_train_batch_size',
  'num_epochs',
  'seed',
  'optimizer',
  'lr_scheduler_type',
  'warmup_steps',
  'warmup_ratio',
  'eval_accuracy',
  'eval_f1',
  'eval_loss',
  'eval_precision',
  'eval_recall',
] as const;
export type CardField = (typeof CARD_FIELDS)[number];

export const NUMERIC_FIELDS: ReadonlySet<CardField> = new Set<CardField>([
  'learning_rate',
  'train_batch_size',
  'eval_batch_size',
  'gradient_accumulation_steps',
  'total_train_batch_size',
  'effective_train_batch_size',
  'num_epochs',
  'seed',
  'warmup_steps',
  'warmup_ratio',
  'eval_accuracy',
  'eval_f1',
  'eval_loss',
  'eval_precision',
  'eval_recall',
]);

export interface CardValues {
  model_id?: string;
  /** The model's own name as the card states it (model-index name or the first heading). */
  model_name?: string;
  base_model?: string;
  /** HF pipeline tag: 'text-classification', 'token-classification', … */
  task?: string;
  dataset?: string;
  learning_rate?: number;
  train_batch_size?: number;
  eval_batch_size?: number;
  gradient_accumulation_steps?: number;
  total_train_batch_size?: number;
  /** total_train_batch_size when the card gives it (gradient accumulation / several devices), else train_batch_size. */
  effective_train_batch_size?: number;
  num_epochs?: number;
  seed?: number;
  optimizer?: string;
  lr_scheduler_type?: string;
  warmup_steps?: number;
  warmup_ratio?: number;
  eval_accuracy?: number;
  eval_f1?: number;
  eval_loss?: number;
  eval_precision?: number;
  eval_recall?: number;
}

/** One row of the Trainer's "Training results" table; columns snake_cased (training_loss, epoch, step,
 * validation_loss, accuracy, f1, …). "No log" and empty cells are null. */
export type EpochRow = Record<string, number | null>;

export interface ParsedCard {
  values: CardValues;
  provenance: Partial<Record<CardField, Provenance>>;
  /** How the task was decided: 'model-index task.type', 'pipeline_tag', 'tags', 'model name', 'metric set'. */
  taskBasis?: string;
  /** Every evaluation metric found (snake_case key without eval_ prefix → value), e.g. matthews_correlation, rouge1. */
  evalMetrics: Record<string, number>;
  /** Every key/value of the hyperparameter list, as written (keys snake_cased). */
  hyperparameters: Record<string, string>;
  trainingResults: EpochRow[];
  frameworkVersions: Record<string, string>;
  /** 'markdown' (raw README) or 'rendered_text' (newlines collapsed / no markdown markers). */
  textKind: 'markdown' | 'rendered_text' | 'binary' | 'empty';
  /** Normalisations applied (percent → fraction, …), so a reader can check them. */
  notes: string[];
  /** Problems with this card (bad YAML, too large, binary, …); parsing still returns what it could. */
  warnings: string[];
}
