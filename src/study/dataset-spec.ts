/** The spec's snake_case dataset block as src/data's DatasetSpec. */
import type { DatasetSpec } from '../data/index.js';
import type { DatasetSource } from './spec.js';

export function toDatasetSpec(d: DatasetSource): DatasetSpec {
  const s: DatasetSpec = { name: d.name };
  if (d.data_dir !== undefined) s.dataDir = d.data_dir;
  if (d.train_split !== undefined) s.trainSplit = d.train_split;
  if (d.eval_split !== undefined) s.evalSplit = d.eval_split;
  if (d.text_column !== undefined) s.textColumn = d.text_column;
  if (d.label_column !== undefined) s.labelColumn = d.label_column;
  if (d.max_train_samples !== undefined) s.maxTrainSamples = d.max_train_samples;
  if (d.max_eval_samples !== undefined) s.maxEvalSamples = d.max_eval_samples;
  if (d.seed !== undefined) s.seed = d.seed;
  if (d.skip_bad_rows !== undefined) s.skipBadRows = d.skip_bad_rows;
  return s;
}
