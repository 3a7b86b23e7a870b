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
    z.object({ evaluate: z.literal(true, { error: 'expected true' }) }).strict(),
    z.object({ config: argsRecord }).strict(),
    z.object({ metrics: metricsRecord }).strict(),
  ],
  { error: 'expected one of {evaluate: true}, {config: {...}} or {metrics: {accuracy, f1, loss}}' },
);

const factorSchema = z.union(
  [
    z
      .object({
        values: z.array(z.number({ error: 'expected a number' }).finite({ error: 'expected a finite number' }), { error: 'expected a list of numbers' }).min(1, { error: 'expected at least one value' }),
      })
      .strict(),
    z
      .object({
        min: z.number({ error: 'expected a number' }).finite(),
        max: z.number({ error: 'expected a number' }).finite(),
        scale: z.enum(['log', 'linear'], { error: "expected 'log' or 'linear'" }).optional(),
        integer: z.boolean({ error: 'expected true or false' }).optional(),
        /** grid designs only: this many levels evenly spaced on the scale */
        levels: posInt.optional(),
      })
      .strict(),
    z.array(z.number({ error: 'expected a number' }).finite()).min(1),
  ],
  { error: 'expected {values: [...]} or {min, max, scale?, integer?, levels?}' },
);

const designSchema = z
  .object({
    type: z.enum(['grid', 'random', 'lhs', 'sobol'], { error: "expected one of 'grid', 'random', 'lhs', 'sobol'" }),
    factors: z.record(z.string(), factorSchema, { error: 'expected a mapping of factor names to values or ranges' }),
    n: posInt.optional(),
    seed: seedInt.optional(),
    /** Sobol: random digital shift from `seed` (the unshifted sequence otherwise). */
    scramble: z.boolean().optional(),
  })
  .strict();

const executionSchema = z
  .object({
    workers: z.union([posInt, z.literal('auto')], { error: "expected a positive integer or 'auto'" }).optional(),
    threads_per_worker: z.union([posInt, z.literal('auto')], { error: "expected a positive integer or 'auto'" }).optional(),
    /** Allow workers × threads above the core count. */
    oversubscribe: z.boolean().optional(),
    /** Distribute the trials through BullMQ on this Redis (redis:// or rediss://) to `tunescope worker`s. */
    queue: z.string().regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' }).optional(),
    /** Tries per trial on the queue before it is `failed` (a crash, a missing path on one machine, an error). */
    max_attempts: posInt.optional(),
  })
  .strict();

const analysisSchema = z
  .object({
    degree: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal('cv')], { error: "expected 1, 2, 3 or 'cv'" }).optional(),
    log_lr: z.boolean().optional(),
    standardize: z.boolean().optional(),
    frame: z.enum(['absolute', 'relative', 'both']).optional(),
    responses: z.array(nonEmpty).min(1).optional(),
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
export type FactorRange = { min: number; max: number; scale: 'log' | 'linear'; integer: boolean; levels?: number };
export type Factor = { name: string; values: number[] } | ({ name: string } & FactorRange);
export type ModelSource = { kind: 'pretrained'; id: string } | { kind: 'from_config'; config: Record<string, unknown>; tokenizer: string };
export type BaselineSpec = { kind: 'evaluate' } | { kind: 'config'; config: Record<string, number | string | boolean> } | { kind: 'metrics'; metrics: Record<string, number> };

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
  design: { type: 'grid' | 'random' | 'lhs' | 'sobol'; factors: Factor[]; n?: number; seed: number; scramble: boolean };
  seeds: number[];
  /** HF data_seed values crossed with `seeds`; null: each trial's data order follows its seed (HF's default) */
  data_seeds: number[] | null;
  args: Record<string, number | string | boolean>;
  execution: { workers: number | 'auto'; threads_per_worker: number | 'auto'; oversubscribe: boolean; queue?: string; max_attempts?: number };
  /** a SQLite file path (resolved) or a postgres:// URL (as given) */
  store: string;
  analysis: { degree: 1 | 2 | 3 | 'cv'; log_lr: boolean; standardize: boolean; frame: 'absolute' | 'relative' | 'both'; responses: string[] };
  /** where it was read from (null when built in memory) */
  source: string | null;
}

/** Arguments that take whole numbers: a range over them is rounded unless `integer: false`. */
const INTEGER_ARGS = new Set(['per_device_train_batch_size', 'per_device_eval_batch_size', 'num_train_epochs', 'gradient_accumulation_steps', 'max_seq_length', 'warmup_steps', 'max_steps']);

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
      factors.push({ name, values: [...values] });
    } else {
      const r = f as { min: number; max: number; scale?: 'log' | 'linear'; integer?: boolean; levels?: number };
      if (!(r.max > r.min)) throw specError(file, loc, [...path, 'max'], `expected max > min (got min ${r.min}, max ${r.max})`);
      const scale = r.scale ?? (name === 'learning_rate' ? 'log' : 'linear');
      if (scale === 'log' && !(r.min > 0)) throw specError(file, loc, [...path, 'min'], 'a log scale needs min > 0');
      if ((name === 'learning_rate' || INTEGER_ARGS.has(name)) && !(r.min > 0)) throw specError(file, loc, [...path, 'min'], 'expected a positive number');
      const integer = r.integer ?? INTEGER_ARGS.has(name);
      if (integer && Math.ceil(r.min) > Math.floor(r.max)) throw specError(file, loc, path, 'no whole number lies between min and max');
      factors.push({ name, min: r.min, max: r.max, scale, integer, ...(r.levels !== undefined ? { levels: r.levels } : {}) });
    }
  }
  for (const key of ['seeds', 'data_seeds'] as const) {
    const list = s[key];
    if (list && new Set(list).size !== list.length) throw specError(file, loc, [key], 'seeds repeat');
  }
  if (s.design.type === 'grid') {
    factors.forEach((f) => {
      if (!('values' in f) && f.levels === undefined) {
        throw specError(file, loc, ['design', 'factors', f.name], 'a grid needs `values: [...]` or a range with `levels: K`');
      }
    });
  } else if (s.design.n === undefined) {
    throw specError(file, loc, ['design', 'n'], `a ${s.design.type} design needs n (the number of configurations)`);
  }

  let baseline: BaselineSpec | null = null;
  if (s.baseline) {
    if ('evaluate' in s.baseline) baseline = { kind: 'evaluate' };
    else if ('config' in s.baseline) baseline = { kind: 'config', config: s.baseline.config };
    else {
      if (Object.keys(s.baseline.metrics).length === 0) throw specError(file, loc, ['baseline', 'metrics'], 'expected at least one metric');
      baseline = { kind: 'metrics', metrics: s.baseline.metrics };
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

  const storePath = s.store !== undefined && /^postgres(ql)?:\/\//i.test(s.store) ? s.store : abs(s.store ?? `./runs/${s.name}.sqlite`);
  return {
    name: s.name,
    ...(s.description !== undefined ? { description: s.description } : {}),
    model,
    dataset,
    baseline,
    design: { type: s.design.type, factors, ...(s.design.n !== undefined ? { n: s.design.n } : {}), seed: s.design.seed ?? 0, scramble: s.design.scramble ?? false },
    seeds: s.seeds ?? [42],
    data_seeds: s.data_seeds ?? null,
    args,
    execution: {
      workers: s.execution?.workers ?? 'auto',
      threads_per_worker: s.execution?.threads_per_worker ?? 'auto',
      oversubscribe: s.execution?.oversubscribe ?? false,
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
    name: spec.name, model: spec.model, dataset: spec.dataset, baseline: spec.baseline, design: spec.design, seeds: spec.seeds,
    ...(spec.data_seeds ? { data_seeds: spec.data_seeds } : {}),
    args: spec.args,
  };
}

export function specHash(spec: StudySpec): string {
  return sha256(canonicalJson(specIdentity(spec)));
}
