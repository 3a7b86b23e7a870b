/**
 * What a study's fine-tunes will cost, before any of them runs: the engine's time for one training step (forward,
 * backward, AdamW) of the spec's model at the batch shapes its trials will see, from
 *  - a calibration (`study plan --calibrate`): a few real training steps of the spec's model on batches of the spec's
 *    own training sentences, padded as the trainer pads them (to the longest in the batch), at the smallest and the
 *    largest batch size of the design, with the threads each worker will have; or
 *  - the step-time cache (`<cache>/tunescope/step-times.json`), which `npm run bench -- engine` and every
 *    calibration write: steps measured on this machine for a model of the same shape.
 * A step's time is modelled as a + c·(batch × padded length) through the measured shapes (linear in tokens: what
 * the dense layers do; attention's s² part is small at classification lengths), and a trial's padded length per
 * batch size comes from the spec's training data (random batches of a sample, tokenised as the trainer does).
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { homedir, hostname, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDataset } from '../data/index.js';
import { isHubId, snapshotFiles } from '../hub/index.js';
import { DistilBertForSequenceClassification, TOKENIZER_FILES, loadPretrained, parseDistilBertConfig } from '../model/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { collate, hfNoDecay } from '../train/index.js';
import { Rng, UserError, ensureDir, stringifyJson, writeFileAtomic } from '../util/index.js';
import { toDatasetSpec } from './dataset-spec.js';
import { materializeModel } from './model-dir.js';
import type { StudySpec } from './spec.js';

/** The architecture numbers a step's time depends on. */
export interface ModelShape { dim: number; n_layers: number; n_heads: number; hidden_dim: number; vocab_size: number }

/** One measured training step shape. */
export interface StepTimeRecord {
  model: ModelShape;
  batch_size: number;
  seq_length: number;
  threads: number;
  precision: 'fp32' | 'bf16';
  /** median of the timed steps (forward + backward + AdamW on one micro-batch), milliseconds */
  ms_per_step: number;
  ms_min: number;
  steps: number;
  source: 'bench' | 'calibration';
  host: string;
  cpu: string;
  measured_at: string;
}

/** A step-time model for the plan: milliseconds per micro-batch of a batch size, and where the numbers came from. */
export interface StepTimeModel {
  basis: 'calibration' | 'cache';
  source: string;
  threads: number;
  /** padded length of a training batch of this size (from the spec's data) */
  seqLength(batchSize: number): number;
  msPerStep(batchSize: number): number;
  records: StepTimeRecord[];
}

export function stepTimeCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.TUNESCOPE_CACHE ? resolve(env.TUNESCOPE_CACHE) : env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME, 'tunescope') : join(homedir(), '.cache', 'tunescope');
  return join(root, 'step-times.json');
}

export function readStepTimes(path = stepTimeCachePath()): StepTimeRecord[] {
  if (!existsSync(path)) return [];
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { records?: StepTimeRecord[] };
    return Array.isArray(v.records) ? v.records : [];
  } catch {
    return []; // a damaged cache is a missing one: the next bench or calibration rewrites it
  }
}

const recordKey = (r: StepTimeRecord) => JSON.stringify([r.model, r.batch_size, r.seq_length, r.threads, r.precision, r.host]);

/** Add measurements to the cache (the newest per shape, threads and host kept); atomic. */
export function recordStepTimes(records: StepTimeRecord[], path = stepTimeCachePath()): void {
  const byKey = new Map(readStepTimes(path).map((r) => [recordKey(r), r]));
  for (const r of records) byKey.set(recordKey(r), r);
  ensureDir(resolve(path, '..'), 'step-time cache');
  writeFileAtomic(path, stringifyJson({ note: 'training-step times measured on this machine (npm run bench -- engine, study plan --calibrate)', records: [...byKey.values()] }) + '\n', 'step-time cache');
}

export function machine(): { host: string; cpu: string } {
  return { host: hostname(), cpu: `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}` };
}

export function shapeOf(config: { dim: number; n_layers: number; n_heads: number; hidden_dim: number; vocab_size: number }): ModelShape {
  return { dim: config.dim, n_layers: config.n_layers, n_heads: config.n_heads, hidden_dim: config.hidden_dim, vocab_size: config.vocab_size };
}

/** The spec's model folder (config.json and tokenizer), without loading weights: a local folder, the from_config one, or the Hub's config and tokenizer files (cached). */
async function modelFolder(spec: StudySpec, scratch: string): Promise<string> {
  const m = materializeModel(spec.model, join(scratch, 'store.sqlite'));
  if (existsSync(m)) return m;
  if (!isHubId(m)) throw new UserError(`model: ${m} is neither a local folder nor a Hub id`);
  return snapshotFiles(m, ['config.json', ...TOKENIZER_FILES]);
}

/** Padded training-batch length per batch size: random batches of up to 2048 training sentences, tokenised as the trainer does. */
async function batchLengths(spec: StudySpec, dir: string, maxLength: number, batchSizes: number[]): Promise<Map<number, number>> {
  const data = await loadDataset(toDatasetSpec(spec.dataset));
  const tok = await loadTokenizer(dir);
  const rng = new Rng(spec.dataset.seed ?? 42);
  const sample = rng.permutation(data.train.length).slice(0, 2048).map((i) => tok.encode(data.train[i]!.text, { maxLength }).length);
  if (sample.length === 0) throw new UserError(`dataset ${data.source}: no training examples`);
  const out = new Map<number, number>();
  for (const b of batchSizes) {
    const order = new Rng(b).permutation(sample.length);
    let sum = 0, n = 0;
    for (let s = 0; s < order.length; s += b) {
      let mx = 0;
      for (const i of order.slice(s, s + b)) mx = Math.max(mx, sample[i]!);
      sum += mx;
      n++;
    }
    out.set(b, sum / n);
  }
  return out;
}

function trialBatchSizes(spec: StudySpec, configs: Array<Record<string, number>>): number[] {
  const dflt = typeof spec.args.per_device_train_batch_size === 'number' ? spec.args.per_device_train_batch_size : 8;
  return [...new Set(configs.map((c) => c.per_device_train_batch_size ?? dflt))].sort((a, b) => a - b);
}

/** Least-squares a + c·tokens through the records (c·tokens with one shape). */
function linearInTokens(records: StepTimeRecord[]): (tokens: number) => number {
  const xs = records.map((r) => r.batch_size * r.seq_length);
  const ys = records.map((r) => r.ms_per_step);
  if (new Set(xs).size < 2) {
    const c = ys.reduce((a, b) => a + b, 0) / xs.reduce((a, b) => a + b, 0);
    return (t) => c * t;
  }
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0, sxx = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i]! - my); sxx += (x - mx) ** 2; });
  const c = sxy / sxx;
  const a = my - c * mx;
  // a negative intercept (noise on a loaded machine) would make small batches free: fall back to proportional
  if (!(a >= 0 && c > 0)) { const k = ys.reduce((p, q) => p + q, 0) / xs.reduce((p, q) => p + q, 0); return (t) => k * t; }
  return (t) => a + c * t;
}

/**
 * The step-time model for a spec's trials: calibrated now (`calibrate`), else from the cache; null with the reason
 * when neither is possible. `threads` is what each worker will run with.
 */
export async function stepTimeModel(
  spec: StudySpec,
  configs: Array<Record<string, number>>,
  opts: { calibrate: boolean; threads: number; steps?: number; log?: (line: string) => void; cachePath?: string },
): Promise<{ model: StepTimeModel | null; reason: string | null }> {
  const { host } = machine();
  // nothing cached for this machine: say so without reading the model or the data
  if (!opts.calibrate && !readStepTimes(opts.cachePath).some((r) => r.host === host)) {
    return { model: null, reason: `no step time measured on this machine yet (${opts.cachePath ?? stepTimeCachePath()}): run \`tunescope study plan --calibrate\` or \`npm run bench -- engine\`` };
  }
  const scratch = mkdtempSync(join(tmpdir(), 'tunescope-plan-'));
  try {
    let dir: string;
    try {
      dir = await modelFolder(spec, scratch);
    } catch (e) {
      return { model: null, reason: `the model's config.json is not available (${(e as Error).message})` };
    }
    const config = parseDistilBertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
    const shape = shapeOf(config);
    const maxSeq = typeof spec.args.max_seq_length === 'number' ? spec.args.max_seq_length : 128;
    const maxLength = Math.min(maxSeq, config.max_position_embeddings);
    const sizes = trialBatchSizes(spec, configs);
    let lengths: Map<number, number>;
    try {
      lengths = await batchLengths(spec, dir, maxLength, sizes);
    } catch (e) {
      return { model: null, reason: `the training data could not be read for token lengths (${(e as Error).message})` };
    }
    const seqLength = (b: number) => lengths.get(b) ?? lengths.get(sizes[sizes.length - 1]!)!;
    let records: StepTimeRecord[];
    let basis: StepTimeModel['basis'];
    let source: string;
    if (opts.calibrate) {
      records = await calibrateSteps(dir, shape, [...new Set([sizes[0]!, sizes[sizes.length - 1]!])].map((b) => ({ b, s: Math.round(seqLength(b)) })), {
        threads: opts.threads, steps: opts.steps ?? 3, spec, maxLength, ...(opts.log ? { log: opts.log } : {}),
      });
      recordStepTimes(records, opts.cachePath);
      basis = 'calibration';
      source = `measured now: ${records.map((r) => `${r.batch_size}×${r.seq_length} ${r.ms_per_step.toFixed(0)} ms`).join(', ')} per step, ${opts.threads} thread(s)`;
    } else {
      const cached = readStepTimes(opts.cachePath).filter((r) => JSON.stringify(r.model) === JSON.stringify(shape) && r.host === host && r.precision === 'fp32');
      if (cached.length === 0) {
        return { model: null, reason: `no step time for this model shape (dim ${shape.dim}, ${shape.n_layers} layers) on this machine yet: run \`tunescope study plan --calibrate\` or \`npm run bench -- engine\`` };
      }
      // the thread count the workers will have, else the nearest measured
      const nearest = cached.reduce((best, r) => (Math.abs(r.threads - opts.threads) < Math.abs(best - opts.threads) ? r.threads : best), cached[0]!.threads);
      records = cached.filter((r) => r.threads === nearest);
      basis = 'cache';
      source = `cached ${[...new Set(records.map((r) => r.source))].join('/')} step times in ${opts.cachePath ?? stepTimeCachePath()} (${records.map((r) => `${r.batch_size}×${r.seq_length} ${r.ms_per_step.toFixed(0)} ms`).join(', ')}; ${nearest} thread(s)${nearest !== opts.threads ? `, the workers will have ${opts.threads}` : ''}; ${records.map((r) => r.measured_at.slice(0, 10)).sort().at(-1)})`;
    }
    const f = linearInTokens(records);
    return { model: { basis, source, threads: opts.threads, seqLength, msPerStep: (b) => f(b * seqLength(b)), records }, reason: null };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A few real training steps of the model in `dir` on batches of the spec's training sentences of each shape. */
async function calibrateSteps(
  dir: string, shape: ModelShape, shapes: Array<{ b: number; s: number }>,
  o: { threads: number; steps: number; spec: StudySpec; maxLength: number; log?: (line: string) => void },
): Promise<StepTimeRecord[]> {
  const pretrained = await loadPretrained(dir, { seed: 42 });
  const data = await loadDataset(toDatasetSpec(o.spec.dataset), { label2id: pretrained.config.label2id });
  const tok = await loadTokenizer(pretrained.tokenizerDir ?? dir);
  const net = await DistilBertForSequenceClassification.create(pretrained.config, pretrained.parameters, { intraOpNumThreads: o.threads });
  const { host, cpu } = machine();
  const optimizer = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0, noDecay: hfNoDecay };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const out: StepTimeRecord[] = [];
  try {
    const order = new Rng(7).permutation(data.train.length);
    for (const { b, s } of shapes) {
      const n = Math.min(b, data.train.length);
      const picked = order.slice(0, n);
      const split = { ids: picked.map((i) => tok.encode(data.train[i]!.text, { maxLength: o.maxLength })), labels: picked.map((i) => Math.min(data.train[i]!.label, pretrained.config.num_labels - 1)) };
      // padded to the typical batch length of this batch size (the longest sentence of a random batch)
      const batch = collate(split, split.ids.map((_, i) => i), { padTokenId: pretrained.config.pad_token_id, padToLength: s });
      o.log?.(`calibrating: ${b} × ${s} tokens, 1 warm-up + ${o.steps} timed training step(s) on ${o.threads} thread(s) …`);
      const step = async (seed: number) => {
        await net.accumulateGradients(batch, { lossScale: 1, dropoutSeed: seed });
        await net.optimizerStep({ lr: 1e-12, maxGradNorm: 1, optimizer });
      };
      await step(0); // session creation and first-run allocation are not a step's cost
      const ts: number[] = [];
      for (let i = 0; i < o.steps; i++) {
        const t0 = performance.now();
        await step(i + 1);
        ts.push(performance.now() - t0);
      }
      out.push({ model: shape, batch_size: b, seq_length: s, threads: o.threads, precision: 'fp32', ms_per_step: median(ts), ms_min: Math.min(...ts), steps: o.steps, source: 'calibration', host, cpu, measured_at: new Date().toISOString() });
    }
  } finally {
    await net.dispose();
  }
  return out;
}
