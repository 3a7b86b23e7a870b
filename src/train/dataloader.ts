/**
 * The training/evaluation data pipeline of the HF Trainer, for pre-tokenized examples:
 * RandomSampler (seeded per epoch) or LengthGroupedSampler (group_by_length), batches with
 * drop_last=False, and DataCollatorWithPadding (pad to the longest sequence of the batch, or to
 * max_seq_length with pad_to_max_length). The Trainer's torch generator cannot be reproduced bit for
 * bit in JS, so the permutation comes from util's MT19937 Rng: same seed, same order.
 */
import type { Batch } from '../model/index.js';
import { Rng } from '../util/index.js';

export interface TokenizedSplit {
  /** Token ids per example, [CLS] … [SEP], already truncated. */
  ids: number[][];
  labels: number[];
}

/**
 * HF `get_length_grouped_indices`: a random permutation cut into megabatches of
 * mega_batch_mult × batch_size (mega_batch_mult = min(n // (4 × batch_size), 50), at least 1), each sorted
 * by length (longest first), and the longest example overall moved to the front so an out-of-memory shows early.
 */
export function lengthGroupedIndices(lengths: number[], batchSize: number, rng: Rng, megaBatchMult?: number): number[] {
  let mult = megaBatchMult ?? Math.min(Math.floor(lengths.length / (batchSize * 4)), 50);
  if (mult === 0) mult = 1;
  const indices = rng.permutation(lengths.length);
  const size = mult * batchSize;
  const megabatches: number[][] = [];
  for (let i = 0; i < lengths.length; i += size) {
    // Array.prototype.sort is stable, like Python's sorted
    megabatches.push(indices.slice(i, i + size).sort((a, b) => lengths[b]! - lengths[a]!));
  }
  if (megabatches.length > 0) {
    let maxIdx = 0;
    // torch.argmax returns the first maximal index
    for (let i = 1; i < megabatches.length; i++) if (lengths[megabatches[i]![0]!]! > lengths[megabatches[maxIdx]![0]!]!) maxIdx = i;
    const first = megabatches[0]!;
    const best = megabatches[maxIdx]!;
    [first[0], best[0]] = [best[0]!, first[0]!];
  }
  return megabatches.flat();
}

/**
 * The order in which one epoch visits the training examples. `batchSize` is the sampler's: with group_by_length
 * HF builds LengthGroupedSampler(train_batch_size × gradient_accumulation_steps), so megabatches span whole
 * accumulated steps.
 */
export function epochOrder(
  lengths: number[],
  opts: { dataSeed: number; epoch: number; groupByLength: boolean; batchSize: number },
): number[] {
  const rng = new Rng(opts.dataSeed).fork(opts.epoch);
  return opts.groupByLength ? lengthGroupedIndices(lengths, opts.batchSize, rng) : rng.permutation(lengths.length);
}

/** Consecutive chunks of `batchSize` (the last may be shorter: drop_last=False). */
export function chunk<T>(items: T[], batchSize: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(items.slice(i, i + batchSize));
  return out;
}

/** DataCollatorWithPadding (right padding) for the examples at `indices`. */
export function collate(
  split: TokenizedSplit,
  indices: number[],
  opts: { padTokenId: number; padToLength?: number; withLabels?: boolean },
): Batch {
  const batchSize = indices.length;
  let seqLength = opts.padToLength ?? 0;
  if (opts.padToLength === undefined) for (const i of indices) seqLength = Math.max(seqLength, split.ids[i]!.length);
  const inputIds = new BigInt64Array(batchSize * seqLength).fill(BigInt(opts.padTokenId));
  const attentionMask = new BigInt64Array(batchSize * seqLength);
  const labels = new BigInt64Array(batchSize);
  indices.forEach((ex, b) => {
    const ids = split.ids[ex]!;
    const n = Math.min(ids.length, seqLength);
    for (let t = 0; t < n; t++) {
      inputIds[b * seqLength + t] = BigInt(ids[t]!);
      attentionMask[b * seqLength + t] = 1n;
    }
    labels[b] = BigInt(split.labels[ex]!);
  });
  const batch: Batch = { inputIds, attentionMask, batchSize, seqLength };
  if (opts.withLabels ?? true) batch.labels = labels;
  return batch;
}

/** Number of real (non-padding) tokens in a batch. */
export function realTokens(batch: Batch): number {
  let n = 0;
  for (const m of batch.attentionMask) n += Number(m);
  return n;
}
