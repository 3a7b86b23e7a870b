/**
 * Study specs: a YAML or JSON file, validated with zod. Every error names the file, the line/column when the
 * source has one, and the key path (`design.factors.learning_rate.values[2]: expected a positive number`).
 * Relative paths inside a spec (store, model dir, tokenizer, data_dir) resolve against the spec file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import YAML, { LineCounter, isNode, type Document } from 'yaml';
import { UserError, decodeUtf8, isUserError } from '../util/index.js';

const positive = (what = 'a positive number') => z.number({ error: `expected ${what}` }).finite({ error: `expected ${what}` }).positive({ error: `expected ${what}` });
const nonNegInt = z.number({ error: 'expected an integer ≥ 0' }).int({ error: 'expected an integer ≥ 0' }).min(0, { error: 'expected an integer ≥ 0' });
const posInt = z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).min(1, { error: 'expected a positive integer' });
const seedInt = z
  .number({ error: 'expected an integer seed in [0, 2^32-1]' })
  .int({ error: 'expected an integer seed in [0, 2^32-1]' })
  .min(0, { error: 'expected an integer seed in [0, 2^32-1]' })
  .max(0xffffffff, { error: 'expected an integer seed in [0, 2^32-1]' });
const nonEmpty = z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });

/** A training-argument value: HF TrainingArguments take numbers, strings (scheduler type) and booleans. */
const argValue = z.union([z.number().finite(), z.string(), z.boolean()], { error: 'expected a number, string or boolean' });
const argsRecord = z.record(z.string(), argValue, { error: 'expected a mapping of HF TrainingArguments names to values' });

/** Small architecture overrides for a from-scratch DistilBERT (HF DistilBertConfig names). */
const fromConfig = z
  .object({
    dim: posInt.optional(),
    n_layers: posInt.optional(),
    n_heads: posInt.optional(),
    hidden_dim: posInt.optional(),
    max_position_embeddings: posInt.optional(),
    dropout: z.number().min(0).max(1).optional(),
    attention_dropout: z.number().min(0).max(1).optional(),
    seq_classif_dropout: z.number().min(0).max(1).optional(),
    activation: z.enum(['gelu', 'relu']).optional(),
    initializer_range: positive().optional(),
    id2label: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const modelSchema = z.union(
  [
    nonEmpty,
    z
      .object({
        from_config: fromConfig,
        tokenizer: nonEmpty,
      })
      .strict(),
  ],
  { error: 'expected a Hub id, a local folder, or {from_config: {...}, tokenizer: DIR}' },
);

const datasetSchema = z
  .object({
    name: nonEmpty,
    data_dir: nonEmpty.optional(),
    train_split: nonEmpty.optional(),
    eval_split: nonEmpty.optional(),
    text_column: nonEmpty.optional(),
    label_column: nonEmpty.optional(),
    max_train_samples: posInt.optional(),
    max_eval_samples: posInt.optional(),
    seed: seedInt.optional(),
    skip_bad_rows: z.boolean().optional(),
  })
  .strict();

const metricsRecord = z.record(z.string(), z.number({ error: 'expected a number' }).finite({ error: 'expected a finite number' }), {
  error: 'expected a mapping of metric names to numbers',
});

const baselineSchema = z.union(
  [
    // `config` beside evaluate/metrics describes how that baseline was trained (the origin of analysis.center: baseline); it is not run
    z.object({ evaluate: z.literal(true, { error: 'expected true' }), config: argsRecord.optional() }).strict(),
    z.object({ config: argsRecord }).strict(),
    z.object({ metrics: metricsRecord, config: argsRecord.optional() }).strict(),
  ],
  { error: 'expected one of {evaluate: true}, {config: {...}} or {metrics: {accuracy, f1, loss}} (the last two may say the baseline\'s config: {...})' },
);

const factorSchema = z.union(
  [
    z
      .object({
        values: z.array(z.number({ error: 'expected a number' }).finite({ error: 'expected a finite number' }), { error: 'expected a list of numbers' }).min(1, { error: 'expected at least one value' }),
        /** response-surface designs: the scale on which the values are coded −1…+1 */
        scale: z.enum(['log', 'linear'], { error: "expected 'log' or 'linear'" }).optional(),
      })
      .strict(),
    z
      .object({
        min: z.number({ error: 'expected a number' }).finite(),
        max: z.number({ error: 'expected a number' }).finite(),
        scale: z.enum(['log', 'linear'], { error: "expected 'log' or 'linear'" }).optional(),
        integer: z.boolean({ error: 'expected true or false' }).optional(),
        /** grid and optimal designs: this many levels evenly spaced on the scale, or the allowed levels themselves */
        levels: z.union([posInt, z.array(z.number({ error: 'expected a number' }).finite({ error: 'expected a finite number' })).min(1, { error: 'expected at least one level' })], {
          error: 'expected a positive integer (how many levels) or a list of allowed levels',
        }).optional(),
      })
      .strict(),
    z.array(z.number({ error: 'expected a number' }).finite()).min(1),
  ],
  { error: 'expected {values: [...]} or {min, max, scale?, integer?, levels?}' },
);

export const DESIGN_TYPES = ['grid', 'random', 'lhs', 'sobol', 'ccd', 'box_behnken', 'fractional_factorial', 'd_optimal', 'i_optimal'] as const;
export type DesignType = (typeof DESIGN_TYPES)[number];
/** Designs built in coded units for a polynomial model (src/study/rsm.ts). */
export const CODED_DESIGNS: ReadonlySet<DesignType> = new Set(['ccd', 'box_behnken', 'fractional_factorial', 'd_optimal', 'i_optimal']);

const designSchema = z
  .object({
    type: z.enum(DESIGN_TYPES, { error: `expected one of ${DESIGN_TYPES.map((t) => `'${t}'`).join(', ')}` }),
    factors: z.record(z.string(), factorSchema, { error: 'expected a mapping of factor names to values or ranges' }),
    n: posInt.optional(),
    seed: seedInt.optional(),
    /** Sobol: random digital shift from `seed` (the unshifted sequence otherwise). */
    scramble: z.boolean().optional(),
    /** ccd */
    variant: z.enum(['circumscribed', 'inscribed', 'face_centered'], { error: "expected 'circumscribed', 'inscribed' or 'face_centered'" }).optional(),
    alpha: z.union([z.enum(['rotatable', 'orthogonal']), positive()], { error: "expected 'rotatable', 'orthogonal' or a positive number" }).optional(),
    center_points: nonNegInt.optional(),
    /** ccd (factorial part) and fractional_factorial: 1/2, 1/4, … (a string as YAML reads 1/2, or 0.5) */
    fraction: z.union([z.string().regex(/^1\/(\d+)$/, { error: 'expected a fraction 1/2, 1/4, 1/8, …' }), positive()], { error: 'expected a fraction 1/2, 1/4, 1/8, …' }).optional(),
    /** d_optimal / i_optimal: constraints on the candidates, e.g. `per_device_train_batch_size * gradient_accumulation_steps <= 128` */
    constraints: z.array(nonEmpty, { error: 'expected a list of constraint expressions' }).optional(),
    /** d_optimal / i_optimal: random starts of the exchange algorithm */
    starts: posInt.optional(),
  })
  .strict();

const CHECKPOINT_EVERY_RE = /^\s*(?:([1-9]\d*)\s*steps?|(\d*\.?\d+)\s*(?:m|mins?|minutes?)|(epoch))\s*$/;

const executionSchema = z
  .object({
    workers: z.union([posInt, z.literal('auto')], { error: "expected a positive integer or 'auto'" }).optional(),
    threads_per_worker: z.union([posInt, z.literal('auto')], { error: "expected a positive integer or 'auto'" }).optional(),
    /** Allow workers × threads above the core count. */
    oversubscribe: z.boolean().optional(),
    /** Raise the design-size bound (trials incl. seeds; default DEFAULT_MAX_TRIALS), up to HARD_MAX_TRIALS. */
    max_trials: posInt.optional(),
    /** Trial checkpoints: N (steps), "N steps", "N minutes", "epoch", a mapping of those, or false. */
    checkpoint_every: z
      .union(
        [
          posInt,
          z.literal(false),
          z.string().regex(CHECKPOINT_EVERY_RE, { error: 'expected "N steps", "N minutes" or "epoch"' }).refine((v) => !/^\s*0*\.?0+\s*m/.test(v), { error: 'expected a positive number of minutes' }),
          z.object({ steps: posInt.optional(), minutes: z.number().positive().optional(), epoch: z.boolean().optional() }).strict(),
        ],
        { error: 'expected a number of steps, "N steps", "N minutes", "epoch", {steps, minutes, epoch} or false' },
      )
      .optional(),
    /** Keep finished trials' checkpoints (default: deleted once the trial is done). */
    keep_checkpoints: z.boolean().optional(),
    /** Distribute the trials through BullMQ on this Redis (redis:// or rediss://) to `tunescope worker`s. */
    queue: z.string().regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' }).optional(),
    /** Tries per trial on the queue before it is `failed` (a crash, a missing path on one machine, an error). */
    max_attempts: posInt.optional(),
  })
  .strict();

/** When a trial checkpoints (null: never). Default: each epoch end and every 10 minutes within long epochs. */
export interface CheckpointEvery {
  steps?: number;
  minutes?: number;
  epoch: boolean;
}

function checkpointEvery(v: z.infer<typeof executionSchema>['checkpoint_every']): CheckpointEvery | null {
  if (v === undefined) return { epoch: true, minutes: 10 };
  if (v === false) return null;
  if (typeof v === 'number') return { steps: v, epoch: false };
  if (typeof v === 'string') {
    const m = CHECKPOINT_EVERY_RE.exec(v)!;
    if (m[3]) return { epoch: true };
    return m[1] ? { steps: Number(m[1]), epoch: false } : { minutes: Number(m[2]), epoch: false };
  }
  return { ...(v.steps !== undefined ? { steps: v.steps } : {}), ...(v.minutes !== undefined ? { minutes: v.minutes } : {}), epoch: v.epoch ?? false };
}

const analysisSchema = z
  .object({
    degree: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal('cv')], { error: "expected 1, 2, 3 or 'cv'" }).optional(),
    log_lr: z.boolean().optional(),
    standardize: z.boolean().optional(),
    frame: z.enum(['absolute', 'relative', 'both']).optional(),
    responses: z.array(nonEmpty).min(1).optional(),
    /** run a design whose analysis model has aliased terms anyway */
    allow_aliased: z.boolean({ error: 'expected true or false' }).optional(),
    /** origin of the predictors: none, the design centre (mean) or the baseline's configuration (baseline.config) */
    center: z.enum(['none', 'mean', 'baseline'], { error: "expected 'none', 'mean' or 'baseline'" }).optional(),
  })
  .strict();

export const studySpecSchema = z
  .object({
    name: z.string({ error: 'expected a string' }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'expected a name of letters, digits, . _ -' }),
    description: z.string().optional(),
    model: modelSchema,
    dataset: datasetSchema,
    baseline: baselineSchema.optional(),
    design: designSchema,
    seeds: z.array(seedInt, { error: 'expected a list of integer seeds' }).min(1, { error: 'expected at least one seed' }).optional(),
    /** HF `data_seed` (sampler shuffling/order), crossed with `seeds` (initialisation, dropout); unset: data order follows `seed`, as HF does */
    data_seeds: z.array(seedInt, { error: 'expected a list of integer data seeds' }).min(1, { error: 'expected at least one data seed' }).optional(),
    args: argsRecord.optional(),
    execution: executionSchema.optional(),
    store: nonEmpty.optional(),
    analysis: analysisSchema.optional(),
  })
  .strict();

export type StudySpecInput = z.input<typeof studySpecSchema>;
export type FactorRange = { min: number; max: number; scale: 'log' | 'linear'; integer: boolean; levels?: number; allowed?: number[] };
export type Factor = { name: string; values: number[]; scale?: 'log' | 'linear' } | ({ name: string } & FactorRange);

/** The design part of a spec. Keys a design type does not use are absent (so older specs keep their hash). */
export interface DesignSpec {
  type: DesignType;
  factors: Factor[];
  n?: number;
  seed: number;
  scramble: boolean;
  variant?: 'circumscribed' | 'inscribed' | 'face_centered';
  alpha?: 'rotatable' | 'orthogonal' | number;
  center_points?: number;
  /** 2^−p of the factorial (ccd) or of the full design (fractional_factorial) */
  fraction_p?: number;
  constraints?: string[];
  starts?: number;
  /** d_optimal / i_optimal: the polynomial degree the design is optimal for (from analysis.degree; part of the design) */
  model_degree?: 1 | 2 | 3;
}
export type ModelSource = { kind: 'pretrained'; id: string } | { kind: 'from_config'; config: Record<string, unknown>; tokenizer: string };
/** `config` of an evaluate/metrics baseline says how that model was trained (analysis.center: baseline); only kind config is run. */
export type BaselineSpec =
  | { kind: 'evaluate'; config?: Record<string, number | string | boolean> }
  | { kind: 'config'; config: Record<string, number | string | boolean> }
  | { kind: 'metrics'; metrics: Record<string, number>; config?: Record<string, number | string | boolean> };

export interface DatasetSource {
  name: string;
  data_dir?: string;
  train_split?: string;
  eval_split?: string;
  text_column?: string;
  label_column?: string;
  max_train_samples?: number;
  max_eval_samples?: number;
  seed?: number;
  skip_bad_rows?: boolean;
}

/** A validated spec with defaults filled and paths resolved. */
export interface StudySpec {
  name: string;
  description?: string;
  model: ModelSource;
  dataset: DatasetSource;
  baseline: BaselineSpec | null;
  design: DesignSpec;
  seeds: number[];
  /** HF data_seed values crossed with `seeds`; null: each trial's data order follows its seed (HF's default) */
  data_seeds: number[] | null;
  args: Record<string, number | string | boolean>;
  execution: { workers: number | 'auto'; threads_per_worker: number | 'auto'; oversubscribe: boolean; max_trials?: number; checkpoint_every: CheckpointEvery | null; keep_checkpoints: boolean; queue?: string; max_attempts?: number };
  /** a SQLite file path (resolved) or a postgres:// URL (as given) */
  store: string;
  analysis: { degree: 1 | 2 | 3 | 'cv'; log_lr: boolean; standardize: boolean; frame: 'absolute' | 'relative' | 'both'; responses: string[]; allow_aliased: boolean; center: 'none' | 'mean' | 'baseline' };
  /** where it was read from (null when built in memory) */
  source: string | null;
}

/** Arguments that take whole numbers: a range over them is rounded unless `integer: false`. */
export const INTEGER_ARGS: ReadonlySet<string> = new Set(['per_device_train_batch_size', 'per_device_eval_batch_size', 'num_train_epochs', 'gradient_accumulation_steps', 'max_seq_length', 'warmup_steps', 'max_steps']);

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += (s ? '.' : '') + String(p);
  }
  return s || '(top level)';
}

interface Located {
  doc?: Document;
  lineCounter?: LineCounter;
}

function locate(loc: Located, path: ReadonlyArray<PropertyKey>): string {
  if (!loc.doc || !loc.lineCounter) return '';
  // Walk up to the deepest node that exists (an unknown key's parent, a missing key's mapping).
  for (let n = path.length; n >= 0; n--) {
    const node = loc.doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const p = loc.lineCounter.linePos(node.range[0]);
      return `:${p.line}:${p.col}`;
    }
  }
  return '';
}

function zodToUserError(err: z.ZodError, file: string, loc: Located): UserError {
  const lines = err.issues.slice(0, 3).map((iss) => {
    let path = iss.path as PropertyKey[];
    let message = iss.message;
    if (iss.code === 'unrecognized_keys') {
      const keys = (iss as { keys: string[] }).keys;
      path = [...path, keys[0] as string];
      message = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
    } else if (iss.code === 'invalid_type' && /received undefined/.test(iss.message)) {
      message = 'required key is missing';
    }
    return `${file}${locate(loc, path)}: ${formatPath(path)}: ${message}`;
  });
  // one line (the CLI's contract): the first problems, then how many more
  const more = err.issues.length > 3 ? ` (and ${err.issues.length - 3} more problems)` : '';
  return new UserError(`invalid study spec: ${lines.join('; ')}${more}`);
}

function specError(file: string, loc: Located, path: PropertyKey[], message: string): UserError {
  return new UserError(`invalid study spec: ${file}${locate(loc, path)}: ${formatPath(path)}: ${message}`);
}

/**
 * `store:` is a SQLite file path (resolved against the spec) or a connection URL (kept as given). A string with a
 * URL scheme is never a file path: `postgres://x/y` must not become the file `<specdir>/postgres:/x/y`, and a scheme
 * no store speaks (`sqlite:`, `http://`, `file:`) is an error rather than a strangely named file.
 */
function storeLocation(raw: string, abs: (p: string) => string, refuse: (why: string) => UserError): string {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return abs(raw);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!/^postgres(ql)?:\/\/[^/\s]/i.test(raw)) throw refuse(`expected postgres://[user@]host[:port]/database, got ${JSON.stringify(raw)}`);
    return raw;
  }
  throw refuse(`${scheme}: is not a study store scheme: give a SQLite file path (./runs/NAME.sqlite) or a postgres:// URL`);
}

function isPathLike(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || isAbsolute(s);
}

/** Validate an already-parsed spec object. `file` is only for messages; `baseDir` resolves relative paths. */
export function parseStudySpec(input: unknown, opts: { file?: string; baseDir?: string; located?: Located } = {}): StudySpec {
  const file = opts.file ?? '<spec>';
  const loc = opts.located ?? {};
  const baseDir = opts.baseDir ?? process.cwd();
  const parsed = studySpecSchema.safeParse(input);
  if (!parsed.success) throw zodToUserError(parsed.error, file, loc);
  const s = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  let model: ModelSource;
  if (typeof s.model === 'string') {
    // A path-looking string is a local folder (resolved against the spec); anything else is a Hub id or a folder as written.
    // A path-looking string, or a folder that exists beside the spec, is a local model; anything else a Hub id.
    model = { kind: 'pretrained', id: isPathLike(s.model) || existsSync(abs(s.model)) ? abs(s.model) : s.model };
  } else {
    const c = s.model.from_config as Record<string, unknown>;
    if (typeof c.dim === 'number' && typeof c.n_heads === 'number' && c.dim % c.n_heads !== 0) {
      throw specError(file, loc, ['model', 'from_config', 'n_heads'], `dim (${c.dim}) must be divisible by n_heads (${c.n_heads})`);
    }
    model = { kind: 'from_config', config: c, tokenizer: abs(s.model.tokenizer) };
  }

  const factors: Factor[] = [];
  const factorNames = Object.keys(s.design.factors);
  if (factorNames.length === 0) throw specError(file, loc, ['design', 'factors'], 'expected at least one factor');
  for (const name of factorNames) {
    const f = s.design.factors[name]!;
    const path = ['design', 'factors', name];
    if (name === 'seed') throw specError(file, loc, path, 'the seed is not a factor: list replicate seeds under `seeds:`');
    if (name === 'data_seed') throw specError(file, loc, path, 'the data seed is not a factor: list data-order seeds under `data_seeds:`');
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw specError(file, loc, path, 'expected an HF TrainingArguments name such as learning_rate');
    const values = Array.isArray(f) ? f : 'values' in f ? f.values : null;
    if (values) {
      values.forEach((v, i) => {
        if (!(v > 0) && (name === 'learning_rate' || INTEGER_ARGS.has(name))) {
          throw specError(file, loc, Array.isArray(f) ? [...path, i] : [...path, 'values', i], 'expected a positive number');
        }
        if (INTEGER_ARGS.has(name) && name !== 'num_train_epochs' && !Number.isInteger(v)) {
          throw specError(file, loc, Array.isArray(f) ? [...path, i] : [...path, 'values', i], 'expected a whole number');
        }
      });
      if (new Set(values).size !== values.length) throw specError(file, loc, [...path, 'values'], 'values repeat');
      const scale = !Array.isArray(f) && 'values' in f ? f.scale : undefined;
      if (scale === 'log' && values.some((v) => !(v > 0))) throw specError(file, loc, [...path, 'values'], 'a log scale needs positive values');
      factors.push({ name, values: [...values], ...(scale ? { scale } : {}) });
    } else {
      const r = f as { min: number; max: number; scale?: 'log' | 'linear'; integer?: boolean; levels?: number | number[] };
      if (!(r.max > r.min)) throw specError(file, loc, [...path, 'max'], `expected max > min (got min ${r.min}, max ${r.max})`);
      const scale = r.scale ?? (name === 'learning_rate' ? 'log' : 'linear');
      if (scale === 'log' && !(r.min > 0)) throw specError(file, loc, [...path, 'min'], 'a log scale needs min > 0');
      if ((name === 'learning_rate' || INTEGER_ARGS.has(name)) && !(r.min > 0)) throw specError(file, loc, [...path, 'min'], 'expected a positive number');
      const integer = r.integer ?? INTEGER_ARGS.has(name);
      if (integer && Math.ceil(r.min) > Math.floor(r.max)) throw specError(file, loc, path, 'no whole number lies between min and max');
      if (Array.isArray(r.levels)) {
        const allowed = [...r.levels].sort((a, b) => a - b);
        allowed.forEach((v, i) => {
          if (v < r.min || v > r.max) throw specError(file, loc, [...path, 'levels', i], `level ${v} lies outside [${r.min}, ${r.max}]`);
          if (integer && !Number.isInteger(v)) throw specError(file, loc, [...path, 'levels', i], 'expected a whole number');
        });
        if (new Set(allowed).size !== allowed.length) throw specError(file, loc, [...path, 'levels'], 'levels repeat');
        factors.push({ name, min: r.min, max: r.max, scale, integer, allowed });
      } else {
        factors.push({ name, min: r.min, max: r.max, scale, integer, ...(r.levels !== undefined ? { levels: r.levels } : {}) });
      }
    }
  }
  for (const key of ['seeds', 'data_seeds'] as const) {
    const list = s[key];
    const repeated = list ? [...new Set(list.filter((v, i) => list.indexOf(v) !== i))] : [];
    // an error, not a silent dedup: a repeated seed reruns the same trial bit for bit, so the replicate count would be wrong
    if (repeated.length > 0) throw specError(file, loc, [key], `seeds repeat: ${repeated.join(', ')} (a seed reproduces its trial exactly: list each seed once)`);
  }
  const dtype = s.design.type;
  const only = (key: keyof typeof s.design, types: DesignType[]) => {
    if (s.design[key] !== undefined && !types.includes(dtype)) throw specError(file, loc, ['design', key], `only for design type ${types.join(' or ')} (this design is ${dtype})`);
  };
  only('variant', ['ccd']);
  only('alpha', ['ccd']);
  only('center_points', ['ccd', 'box_behnken']);
  only('fraction', ['ccd', 'fractional_factorial']);
  only('constraints', ['d_optimal', 'i_optimal']);
  only('starts', ['d_optimal', 'i_optimal']);
  if (s.design.n !== undefined && ['ccd', 'box_behnken', 'fractional_factorial'].includes(dtype)) {
    throw specError(file, loc, ['design', 'n'], `a ${dtype} design has a fixed number of points; n is for random, lhs, sobol, d_optimal and i_optimal`);
  }
  let fractionP: number | undefined;
  if (s.design.fraction !== undefined) {
    const fr = s.design.fraction;
    const denom = typeof fr === 'string' ? Number(fr.slice(2)) : 1 / fr;
    const p = Math.round(Math.log2(denom));
    if (!(denom >= 1) || 2 ** p !== denom) throw specError(file, loc, ['design', 'fraction'], `expected 1/2^p (1/2, 1/4, 1/8, …), got ${String(fr)}`);
    fractionP = p;
  }
  if (dtype === 'fractional_factorial' && fractionP === undefined) throw specError(file, loc, ['design', 'fraction'], 'a fractional_factorial design needs fraction: 1/2, 1/4, …');
  if (CODED_DESIGNS.has(dtype)) {
    factors.forEach((f) => {
      const path = ['design', 'factors', f.name];
      if ('values' in f && f.values.length < 2) throw specError(file, loc, [...path, 'values'], `a ${dtype} design needs at least two values (the range to code −1…+1)`);
      if (dtype !== 'd_optimal' && dtype !== 'i_optimal' && !('values' in f) && typeof f.levels === 'number') {
        throw specError(file, loc, [...path, 'levels'], `${dtype} places its own levels; give allowed levels as a list (levels: [8, 16, 32]) or leave it out`);
      }
    });
  }
  if (s.design.type === 'grid') {
    factors.forEach((f) => {
      if (!('values' in f) && f.levels === undefined && f.allowed === undefined) {
        throw specError(file, loc, ['design', 'factors', f.name], 'a grid needs `values: [...]` or a range with `levels: K`');
      }
    });
  } else if (['ccd', 'box_behnken', 'fractional_factorial'].includes(dtype)) {
    // fixed-size designs
  } else if (s.design.n === undefined) {
    throw specError(file, loc, ['design', 'n'], `a ${s.design.type} design needs n (the number of configurations)`);
  }

  let baseline: BaselineSpec | null = null;
  if (s.baseline) {
    if ('evaluate' in s.baseline) baseline = { kind: 'evaluate', ...(s.baseline.config ? { config: s.baseline.config } : {}) };
    else if ('metrics' in s.baseline) {
      if (Object.keys(s.baseline.metrics).length === 0) throw specError(file, loc, ['baseline', 'metrics'], 'expected at least one metric');
      baseline = { kind: 'metrics', metrics: s.baseline.metrics, ...(s.baseline.config ? { config: s.baseline.config } : {}) };
    } else baseline = { kind: 'config', config: s.baseline.config };
  }
  if (s.analysis?.center === 'baseline') {
    if (!baseline?.config) {
      throw specError(file, loc, ['analysis', 'center'], "center: baseline needs the baseline's hyperparameters: baseline.config (trained), or config: {...} beside baseline.metrics / evaluate");
    }
    // a described (not trained) baseline gets no HF defaults: every factor needs its value
    for (const f of factorNames) {
      const v = baseline.config[f];
      if (v === undefined && baseline.kind === 'config') continue;
      if (typeof v !== 'number') throw specError(file, loc, ['baseline', 'config', f], v === undefined ? `center: baseline needs the baseline's ${f}` : 'expected a number');
    }
  }
  const args = s.args ?? {};
  for (const k of Object.keys(args)) {
    if (k === 'seed') throw specError(file, loc, ['args', k], 'the seed comes from `seeds:`, not from args');
    if (k === 'data_seed') throw specError(file, loc, ['args', k], 'the data seed comes from `data_seeds:`, not from args');
    if (factorNames.includes(k)) throw specError(file, loc, ['args', k], `${k} is also a design factor`);
  }
  const ds = s.dataset;
  const dataset: DatasetSource = { ...ds, ...(ds.data_dir ? { data_dir: abs(ds.data_dir) } : {}) };
  if (isPathLike(ds.name) || (ds.name.includes('/') && existsSync(abs(ds.name)))) dataset.name = abs(ds.name);

  const storePath = storeLocation(s.store ?? `./runs/${s.name}.sqlite`, abs, (why) => specError(file, loc, ['store'], why));
  return {
    name: s.name,
    ...(s.description !== undefined ? { description: s.description } : {}),
    model,
    dataset,
    baseline,
    design: {
      type: s.design.type,
      factors,
      ...(s.design.n !== undefined ? { n: s.design.n } : {}),
      seed: s.design.seed ?? 0,
      scramble: s.design.scramble ?? false,
      ...(dtype === 'ccd'
        ? { variant: s.design.variant ?? 'circumscribed', alpha: s.design.variant === 'face_centered' ? 1 : s.design.alpha ?? 'rotatable', center_points: s.design.center_points ?? 1, fraction_p: fractionP ?? 0 }
        : {}),
      ...(dtype === 'box_behnken' ? { center_points: s.design.center_points ?? 1 } : {}),
      ...(dtype === 'fractional_factorial' ? { fraction_p: fractionP } : {}),
      ...(dtype === 'd_optimal' || dtype === 'i_optimal'
        ? { constraints: s.design.constraints ?? [], starts: s.design.starts ?? 10, model_degree: s.analysis?.degree === undefined || s.analysis.degree === 'cv' ? 2 : s.analysis.degree }
        : {}),
    },
    seeds: s.seeds ?? [42],
    data_seeds: s.data_seeds ?? null,
    args,
    execution: {
      workers: s.execution?.workers ?? 'auto',
      threads_per_worker: s.execution?.threads_per_worker ?? 'auto',
      oversubscribe: s.execution?.oversubscribe ?? false,
      ...(s.execution?.max_trials !== undefined ? { max_trials: s.execution.max_trials } : {}),
      checkpoint_every: checkpointEvery(s.execution?.checkpoint_every),
      keep_checkpoints: s.execution?.keep_checkpoints ?? false,
      ...(s.execution?.queue !== undefined ? { queue: s.execution.queue } : {}),
      ...(s.execution?.max_attempts !== undefined ? { max_attempts: s.execution.max_attempts } : {}),
    },
    store: storePath,
    analysis: {
      degree: s.analysis?.degree ?? 2,
      log_lr: s.analysis?.log_lr ?? true,
      standardize: s.analysis?.standardize ?? false,
      frame: s.analysis?.frame ?? 'both',
      responses: s.analysis?.responses ?? ['accuracy', 'f1', 'loss'],
      allow_aliased: s.analysis?.allow_aliased ?? false,
      center: s.analysis?.center ?? 'none',
    },
    source: opts.file ?? null,
  };
}

/** Parse spec text (YAML, of which JSON is a subset) with line/column-aware errors. */
export function parseStudySpecText(text: string, opts: { file?: string; baseDir?: string } = {}): StudySpec {
  const file = opts.file ?? '<spec>';
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lineCounter.linePos(e.pos[0]);
    throw new UserError(`invalid study spec: ${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new UserError(`invalid study spec: ${file}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`invalid study spec: ${file}: expected a mapping at the top level (name, model, dataset, design, ...)`);
  }
  return parseStudySpec(value, { file, ...(opts.baseDir ? { baseDir: opts.baseDir } : {}), located: { doc, lineCounter } });
}

/** Read and validate a study spec file (YAML or JSON). */
export function loadStudySpec(path: string): StudySpec {
  let text: string;
  try {
    text = decodeUtf8(readFileSync(path), path);
  } catch (e) {
    if (isUserError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `study spec not found: ${path}` : `cannot read study spec ${path}: ${(e as Error).message}`);
  }
  return parseStudySpecText(text, { file: path, baseDir: dirname(resolve(path)) });
}

/** Canonical JSON: object keys sorted, so equal values always give equal text (and hashes). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The parts of a spec that decide what each trial computes. Execution settings, the store path, the analysis
 * options and the description may change between runs of one study; these may not.
 */
export function specIdentity(spec: StudySpec): Record<string, unknown> {
  // data_seeds only when set: a study stored before data seeds existed keeps its hash
  return {
    name: spec.name, model: spec.model, dataset: spec.dataset, baseline: trainedBaseline(spec.baseline), design: spec.design, seeds: spec.seeds,
    ...(spec.data_seeds ? { data_seeds: spec.data_seeds } : {}),
    args: spec.args,
  };
}

/** The baseline as far as it decides what runs: a described config (beside metrics / evaluate) is analysis only. */
function trainedBaseline(b: BaselineSpec | null): BaselineSpec | null {
  if (!b || b.kind === 'config' || b.config === undefined) return b;
  const { config: _described, ...rest } = b;
  return rest;
}

export function specHash(spec: StudySpec): string {
  return sha256(canonicalJson(specIdentity(spec)));
}
