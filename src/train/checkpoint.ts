/**
 * Resumable checkpoints in HF's layout: `checkpoint-<global_step>/` with config.json, model.safetensors and the
 * tokenizer files (a model folder transformers loads), optimizer.safetensors (AdamW moments + step, never pickle),
 * scheduler.json (LambdaLR state), rng_state.json (every generator: sampler position, dropout stream),
 * trainer_state.json (HF TrainerState), training_args.json, and tunescope_state.json (the loop's running sums).
 *
 * A checkpoint is built in a hidden temp folder beside it and renamed into place, so a process killed mid-save
 * leaves the earlier checkpoints untouched and at most a `.checkpoint-N.tmp-…` folder, which `latest` ignores and
 * the next save removes. Rotation (`save_total_limit`) deletes the oldest folders by step, as HF's _rotate_checkpoints.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringifyJson, UserError } from '../util/index.js';
import type { TrainingArguments } from './arguments.js';
import type { TokenizedSplit } from './dataloader.js';
import type { LogEntry, LoopState } from './loop.js';
import { learningRateAt, type StepPlan } from './schedule.js';
import { sortedJson } from './state.js';

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;
const TEMP_RE = /^\.checkpoint-\d+\.tmp-/;
const LOOP_STATE_FILE = 'tunescope_state.json';
export const CHECKPOINT_FILES = ['config.json', 'model.safetensors', 'optimizer.safetensors', 'scheduler.json', 'rng_state.json', 'trainer_state.json', 'training_args.json', LOOP_STATE_FILE] as const;

/** The checkpoint-N/ folders in `root`, oldest step first (HF's sorted_checkpoints). Temp folders are not listed. */
export function listCheckpoints(root: string): { step: number; path: string }[] {
  if (!existsSync(root)) return [];
  const out: { step: number; path: string }[] = [];
  for (const f of readdirSync(root)) {
    const m = CHECKPOINT_RE.exec(f);
    if (m && statSync(join(root, f)).isDirectory()) out.push({ step: Number(m[1]), path: resolve(root, f) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest checkpoint-N/ in `root` (HF get_last_checkpoint), or null. */
export function latestCheckpoint(root: string): string | null {
  return listCheckpoints(root).at(-1)?.path ?? null;
}

/** Bytes under a folder (for `study status`); 0 when it does not exist. */
export function diskUsage(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const f of readdirSync(path)) n += diskUsage(join(path, f));
  return n;
}

/**
 * Writes `checkpoint-<step>` under `root` via a temp folder: `fill(tmp)` writes the files, then one rename
 * publishes it (an existing folder of the same step is replaced). Leftover temp folders of killed saves go first.
 */
export function writeCheckpointDir(root: string, step: number, fill: (tmp: string) => void): string {
  mkdirSync(root, { recursive: true });
  for (const f of readdirSync(root)) if (TEMP_RE.test(f)) rmSync(join(root, f), { recursive: true, force: true });
  const final = join(root, `checkpoint-${step}`);
  const tmp = join(root, `.checkpoint-${step}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    fill(tmp);
    if (existsSync(final)) {
      const old = `${tmp}-old`;
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(`checkpoint ${final}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return resolve(final);
}

/** HF _rotate_checkpoints: with a limit, delete the oldest checkpoint-N/ folders beyond it. */
export function rotateCheckpoints(root: string, limit: number | null): string[] {
  if (limit === null || limit <= 0) return [];
  const all = listCheckpoints(root);
  const drop = all.slice(0, Math.max(0, all.length - limit));
  for (const c of drop) rmSync(c.path, { recursive: true, force: true });
  return drop.map((c) => c.path);
}

/** A fingerprint of the tokenized training split: a resume on other data would not be a continuation. */
export function trainFingerprint(train: TokenizedSplit): string {
  const h = createHash('sha256');
  for (let i = 0; i < train.ids.length; i++) h.update(`${train.labels[i]}:${train.ids[i]!.join(',')}\n`);
  return h.digest('hex').slice(0, 32);
}

/** torch LambdaLR's state_dict after `step` scheduler steps, with the schedule that produced it. */
export function schedulerState(args: TrainingArguments, plan: StepPlan, step: number): Record<string, unknown> {
  return {
    lr_scheduler_type: args.lr_scheduler_type,
    base_lrs: [args.learning_rate],
    last_epoch: step,
    _step_count: step + 1,
    _last_lr: [learningRateAt(args.lr_scheduler_type, args.learning_rate, step, plan.num_warmup_steps, plan.max_steps)],
    num_warmup_steps: plan.num_warmup_steps,
    num_training_steps: plan.max_steps,
  };
}

/** rng_state.json: the sampler (a pure function of data_seed and epoch) and the dropout stream's MT19937 state. */
export function rngState(s: LoopState, groupByLength: boolean): Record<string, unknown> {
  return {
    sampler: {
      generator: 'mt19937',
      seed: s.data_seed,
      derivation: 'Rng(data_seed).fork(epoch) per epoch',
      kind: groupByLength ? 'LengthGroupedSampler' : 'RandomSampler',
      epoch: s.epoch_index,
      batches_consumed: s.batches_done_in_epoch,
    },
    dropout: {
      generator: 'mt19937',
      seed: s.dropout_seed,
      derivation: 'Rng(seed).fork(0x0d0), one uint32 per micro-batch',
      draws: s.dropout_draws,
      state: s.dropout_rng_state,
      // each micro-batch's masks come from a fresh AES-256-CTR keystream keyed by its seed: at a step boundary
      // no keystream is in flight
      keystream: { cipher: 'aes-256-ctr', position: 0 },
    },
  };
}

const LOOP_FIELDS_IN_RNG = ['data_seed', 'dropout_seed', 'dropout_rng_state', 'dropout_draws'] as const;

/** Writes the non-model files of a checkpoint into `dir`. */
export function writeTrainingFiles(
  dir: string,
  f: { state: LoopState; args: TrainingArguments; plan: StepPlan; trainerState: unknown; fingerprint: string },
): void {
  const loop: Record<string, unknown> = { ...f.state };
  for (const k of LOOP_FIELDS_IN_RNG) delete loop[k];
  writeFileSync(join(dir, 'scheduler.json'), sortedJson(schedulerState(f.args, f.plan, f.state.global_step)));
  writeFileSync(join(dir, 'rng_state.json'), sortedJson(rngState(f.state, f.args.group_by_length)));
  writeFileSync(join(dir, 'trainer_state.json'), sortedJson(f.trainerState));
  writeFileSync(join(dir, 'training_args.json'), sortedJson(f.args));
  // numbers must round-trip exactly: JSON.stringify prints the shortest exact double; NaN as "NaN" (read back below)
  writeFileSync(join(dir, LOOP_STATE_FILE), stringifyJson({ format: 'tunescope-loop-state', version: 1, train_fingerprint: f.fingerprint, loop }) + '\n');
}

const nonFinite = (_k: string, v: unknown): unknown => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

function readJson(path: string, reviver?: typeof nonFinite): Record<string, unknown> {
  if (!existsSync(path)) throw new UserError(`${path}: missing (not a complete tunescope checkpoint)`);
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'), reviver) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Arguments that change the numbers of a run; a resume with other values would not continue the same run. */
const RUN_DEFINING: readonly (keyof TrainingArguments)[] = [
  'learning_rate', 'per_device_train_batch_size', 'num_train_epochs', 'max_steps', 'weight_decay', 'adam_beta1', 'adam_beta2',
  'adam_epsilon', 'max_grad_norm', 'lr_scheduler_type', 'warmup_ratio', 'warmup_steps', 'gradient_accumulation_steps', 'seed',
  'data_seed', 'max_seq_length', 'pad_to_max_length', 'group_by_length', 'eval_strategy', 'per_device_eval_batch_size',
];

/** Reads and checks a checkpoint's training files against this run; returns the loop state to resume from. */
export function readTrainingFiles(dir: string, f: { args: TrainingArguments; plan: StepPlan; fingerprint: string }): LoopState {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`resume_from_checkpoint ${dir}: no such folder`);
  for (const file of CHECKPOINT_FILES) if (!existsSync(join(dir, file))) throw new UserError(`resume_from_checkpoint ${dir}: ${file} is missing (not a complete tunescope checkpoint)`);
  const saved = readJson(join(dir, 'training_args.json'));
  const changed = RUN_DEFINING.filter((k) => JSON.stringify(saved[k] ?? null) !== JSON.stringify(f.args[k] ?? null));
  if (changed.length) {
    throw new UserError(
      `resume_from_checkpoint ${dir}: the run's arguments differ from the checkpoint's (${changed.map((k) => `${k}: ${JSON.stringify(saved[k] ?? null)} → ${JSON.stringify(f.args[k] ?? null)}`).join(', ')}); a resume continues the same run`,
    );
  }
  const ts = readJson(join(dir, LOOP_STATE_FILE), nonFinite);
  if (ts.format !== 'tunescope-loop-state' || ts.version !== 1) throw new UserError(`${join(dir, LOOP_STATE_FILE)}: unknown format`);
  if (ts.train_fingerprint !== f.fingerprint) throw new UserError(`resume_from_checkpoint ${dir}: the training data differ from the checkpoint's (other dataset, split, subsample or tokenizer)`);
  const rng = readJson(join(dir, 'rng_state.json')) as { dropout?: { seed?: number; state?: number[]; draws?: number }; sampler?: { seed?: number } };
  const loop = ts.loop as Record<string, unknown>;
  const state = {
    ...loop,
    data_seed: rng.sampler?.seed,
    dropout_seed: rng.dropout?.seed,
    dropout_rng_state: rng.dropout?.state,
    dropout_draws: rng.dropout?.draws,
  } as unknown as LoopState;
  if (!Array.isArray(state.dropout_rng_state) || typeof state.dropout_draws !== 'number') throw new UserError(`${join(dir, 'rng_state.json')}: no dropout generator state`);
  const sched = readJson(join(dir, 'scheduler.json'));
  if (sched.last_epoch !== state.global_step || sched.num_training_steps !== f.plan.max_steps || sched.num_warmup_steps !== f.plan.num_warmup_steps) {
    throw new UserError(`${join(dir, 'scheduler.json')}: the schedule (step ${String(sched.last_epoch)} of ${String(sched.num_training_steps)}, warmup ${String(sched.num_warmup_steps)}) does not match this run (step ${state.global_step} of ${f.plan.max_steps}, warmup ${f.plan.num_warmup_steps})`);
  }
  const m = CHECKPOINT_RE.exec(resolve(dir).split(/[\\/]/).at(-1) ?? '');
  if (m && Number(m[1]) !== state.global_step) throw new UserError(`resume_from_checkpoint ${dir}: the folder name says step ${m[1]}, its state step ${state.global_step}`);
  return state;
}

/** The per-step training log a checkpoint holds (its loop state's exact numbers); [] where it has none. */
export function checkpointLogHistory(dir: string): LogEntry[] {
  const loop = readJson(join(dir, LOOP_STATE_FILE), nonFinite).loop as { log_history?: unknown } | undefined;
  return Array.isArray(loop?.log_history) ? (loop.log_history as LogEntry[]) : [];
}

/** `resume_from_checkpoint`: a folder, or 'latest' (the newest checkpoint-N/ in output_dir). */
export function resolveResume(spec: string, outputDir: string | undefined): string {
  if (spec !== 'latest') return resolve(spec);
  const dir = outputDir ? latestCheckpoint(outputDir) : null;
  if (!dir) throw new UserError(`resume_from_checkpoint latest: no checkpoint-N/ folder in ${outputDir ?? '(no output_dir)'}`);
  return dir;
}
