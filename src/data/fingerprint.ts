/**
 * Dataset fingerprints: a content hash of every split file read and of the examples actually used (after
 * subsampling), so a study can tell that its data changed under it (a file replaced or truncated mid-study) and
 * refuse a trial instead of recording numbers on other data.
 */
import { createHash } from 'node:crypto';
import { readRegularFile } from '../util/index.js';
import type { Example } from './types.js';

export interface DatasetFileFingerprint {
  split: 'train' | 'eval' | 'all';
  path: string;
  bytes: number;
  sha256: string;
}

export interface DatasetFingerprint {
  files: DatasetFileFingerprint[];
  /** the training examples used (after max_train_samples), in order */
  train: { examples: number; sha256: string };
  /** the evaluation examples used (after max_eval_samples), in order */
  eval: { examples: number; sha256: string };
}

export function fileFingerprint(split: DatasetFileFingerprint['split'], path: string): DatasetFileFingerprint {
  const buf = readRegularFile(path, { what: `dataset file ${path}` });
  return { split, path, bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}

/**
 * sha256 over the texts in order (length-prefixed). Labels are left out on purpose: string labels map to ids
 * through each model's label2id, so the same rows can carry other ids; the file hashes cover the labels.
 */
export function examplesFingerprint(examples: Example[]): { examples: number; sha256: string } {
  const h = createHash('sha256');
  for (const e of examples) h.update(`${e.text.length}:${e.text}`);
  return { examples: examples.length, sha256: h.digest('hex') };
}

/**
 * Why `actual` is not the data `expected` describes, naming the file; null when they agree. Files are compared
 * by split and path; the subsample hashes catch what the files cannot (another selection of the same rows).
 */
export function fingerprintMismatch(expected: DatasetFingerprint, actual: DatasetFingerprint): string | null {
  for (const e of expected.files) {
    const a = actual.files.find((f) => f.split === e.split && f.path === e.path);
    if (!a) return `the ${e.split} split no longer reads ${e.path} (it now reads ${actual.files.filter((f) => f.split === e.split).map((f) => f.path).join(', ') || 'nothing'})`;
    if (a.sha256 !== e.sha256) return `${e.path} changed since the study started (${e.bytes} → ${a.bytes} bytes, sha256 ${e.sha256.slice(0, 12)}… → ${a.sha256.slice(0, 12)}…)`;
  }
  for (const a of actual.files) {
    if (!expected.files.some((e) => e.split === a.split && e.path === a.path)) return `the ${a.split} split now also reads ${a.path}`;
  }
  for (const k of ['train', 'eval'] as const) {
    if (expected[k].sha256 !== actual[k].sha256) {
      return `the ${k === 'train' ? 'training' : 'evaluation'} examples used differ from the study's (${expected[k].examples} → ${actual[k].examples} examples)`;
    }
  }
  return null;
}
