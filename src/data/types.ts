/** Public shapes of the data module (see contracts.md, src/data). */
import type { HubOptions } from '../hub/index.js';
import type { DatasetFingerprint } from './fingerprint.js';

export interface Example {
  text: string;
  label: number;
}

export interface DatasetSpec {
  /** 'sst2' (local ../shared/datasets/sst2 or the Hub's stanfordnlp/sst2), a local folder or file, or a Hub dataset id. */
  name: string;
  /** Folder that holds the split files; overrides the name lookup. */
  dataDir?: string;
  /** Split names as HF datasets calls them; defaults 'train' and 'validation' (falling back to 'test'). */
  trainSplit?: string;
  evalSplit?: string;
  /** Column names; defaults: text = the first of sentence/text/content/review present, label = label/labels. */
  textColumn?: string;
  labelColumn?: string;
  maxTrainSamples?: number;
  maxEvalSamples?: number;
  /** Seed for subsampling and for holdout / k-fold splits (default 42), independent of the training seed. */
  seed?: number;
  /** Count and skip malformed rows instead of failing on the first. */
  skipBadRows?: boolean;
  /** One-file datasets (MR, CR, SUBJ, MPQA): fraction held out for evaluation, stratified (default 0.1). */
  testSize?: number;
  /** One-file datasets: stratified k-fold; evaluate on fold `fold` (0-based), train on the rest. */
  kFold?: { k: number; fold: number };
  /** Hub access for Hub dataset ids. */
  hub?: HubOptions;
  /** Hub revision of the dataset repo. */
  revision?: string;
}

export interface LoadedDataset {
  train: Example[];
  eval: Example[];
  /** Names for label ids when the files held string labels (index = id). */
  labelNames?: string[];
  /** Where the data came from (paths or Hub id with split files). */
  source: string;
  /** Rows skipped as malformed (skipBadRows). */
  skipped: number;
  /** How many distinct label ids the dataset uses (max label + 1). */
  numLabels: number;
  /** Human-readable notes (split fallbacks, subsampling, holdout). */
  notes: string[];
  /** Content hashes of the split files read and of the examples used (see fingerprint.ts). */
  fingerprint?: DatasetFingerprint;
}
