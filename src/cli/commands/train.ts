/**
 * `tunescope train`: one fine-tune with HF-named arguments (helpers shared with `evaluate`).
 * Every TrainingArguments key is a flag spelled as HF spells it (`--learning_rate`), with the dashed
 * spelling (`--learning-rate`) accepted too (hidden from help).
 */
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { DatasetSpec } from '../../data/index.js';
import { ARGUMENT_SPECS, fineTune, type TrainingArguments } from '../../train/index.js';
import { checkOutputPath, ensureDir, parseDecimal, stringifyJson, UserError, writeFileAtomic } from '../../util/index.js';

export type Opts = Record<string, string | boolean | undefined>;

const dashed = (s: string): string => s.replace(/_/g, '-');
const camel = (s: string): string => s.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds `--name_with_underscores` (shown) and `--name-with-dashes` (hidden) for one option. */
function dual(cmd: Command, name: string, arg: string, help: string, defaultHelp?: string): void {
  const shown = new Option(`--${name}${arg ? ` ${arg}` : ''}`, defaultHelp !== undefined ? `${help} (default: ${defaultHelp})` : help);
  cmd.addOption(shown);
  if (name.includes('_') || name.includes('-')) {
    const other = name.includes('_') ? dashed(name) : name.replace(/-/g, '_');
    cmd.addOption(new Option(`--${other}${arg ? ` ${arg}` : ''}`).hideHelp());
  }
}

/** The value given under either spelling (commander keeps `learning_rate` as is and camel-cases `learning-rate`). */
export function pick(o: Opts, name: string): string | boolean | undefined {
  const a = o[name] ?? o[name.replace(/-/g, '_')];
  return a !== undefined ? a : o[camel(name)];
}

export function addTrainingArguments(cmd: Command, only?: ReadonlySet<string>): void {
  for (const s of ARGUMENT_SPECS) {
    if (s.name === 'output_dir') continue; // added with the common options
    if (only && !only.has(s.name)) continue;
    const arg = s.kind === 'bool' ? '[bool]' : s.kind === 'boolOrAuto' ? '[true|false|auto]' : s.kind === 'enum' ? `<${s.choices!.join('|')}>` : '<value>';
    dual(cmd, s.name, arg, s.help, s.default === undefined || s.default === null ? undefined : String(s.default));
  }
}

export function trainingArgs(o: Opts, only?: ReadonlySet<string>): Partial<TrainingArguments> {
  const out: Record<string, unknown> = {};
  for (const s of ARGUMENT_SPECS) {
    if (only && !only.has(s.name)) continue;
    const v = pick(o, s.name);
    if (v === undefined) continue;
    out[s.name] = (s.kind === 'bool' || s.kind === 'boolOrAuto') && v === true ? true : v;
  }
  const od = pick(o, 'output_dir');
  if (typeof od === 'string') out.output_dir = od;
  return out as Partial<TrainingArguments>;
}

export function int(v: string | boolean | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' ? parseDecimal(v) : null;
  if (n === null || !Number.isInteger(n)) throw new UserError(`--${what} must be an integer, got ${String(v)}`);
  return n;
}

export function addDataOptions(cmd: Command, outputDirHelp = 'where the model, metrics.json and trainer_state.json go'): void {
  cmd.requiredOption('--model <id_or_dir>', 'Hub model id or local model folder (config.json without weights: initialised from the config with --seed)');
  cmd.requiredOption('--dataset <name>', "dataset: 'sst2' (../shared/datasets/sst2 or the Hub's stanfordnlp/sst2), a folder, a file, or a Hub dataset id");
  dual(cmd, 'data-dir', '<dir>', 'folder with the split files (train.tsv, validation.tsv, … or all.tsv)');
  dual(cmd, 'train-split', '<name>', "training split (default 'train')");
  dual(cmd, 'eval-split', '<name>', "evaluation split (default 'validation', else 'test')");
  dual(cmd, 'text-column', '<name>', 'text column (default: sentence/text/…)');
  dual(cmd, 'label-column', '<name>', "label column (default 'label')");
  dual(cmd, 'max_train_samples', '<n>', 'use a seeded random subset of the training split');
  dual(cmd, 'max_eval_samples', '<n>', 'use a seeded random subset of the evaluation split');
  dual(cmd, 'split-seed', '<n>', 'seed for subsampling and holdout/k-fold splits (default 42)');
  dual(cmd, 'test-size', '<fraction>', 'one-file datasets: stratified holdout fraction (default 0.1)');
  dual(cmd, 'k-fold', '<k>', 'one-file datasets: stratified k-fold (with --fold)');
  dual(cmd, 'fold', '<i>', 'k-fold: which fold (0-based) to evaluate on');
  dual(cmd, 'skip-bad-rows', '', 'skip malformed rows (and report how many) instead of failing');
  dual(cmd, 'num_labels', '<n>', 'labels of a new classification head (HF num_labels)');
  dual(cmd, 'output-dir', '<dir>', outputDirHelp);
  cmd.option('--json <file>', 'also write the full result as JSON to this file');
  cmd.option('--no-token-cache', 'tokenize without the on-disk token-id cache');
  cmd.option('--offline', 'use only the Hub cache (HF_HUB_OFFLINE=1)');
}

export function datasetSpec(o: Opts): DatasetSpec {
  const k = int(pick(o, 'k-fold'), 'k-fold');
  const fold = int(pick(o, 'fold'), 'fold');
  if ((k === undefined) !== (fold === undefined)) throw new UserError('--k-fold and --fold go together');
  const testSize = pick(o, 'test-size');
  const spec: DatasetSpec = {
    name: String(o.dataset),
    dataDir: pick(o, 'data-dir') as string | undefined,
    trainSplit: pick(o, 'train-split') as string | undefined,
    evalSplit: pick(o, 'eval-split') as string | undefined,
    textColumn: pick(o, 'text-column') as string | undefined,
    labelColumn: pick(o, 'label-column') as string | undefined,
    maxTrainSamples: int(pick(o, 'max_train_samples'), 'max_train_samples'),
    maxEvalSamples: int(pick(o, 'max_eval_samples'), 'max_eval_samples'),
    seed: int(pick(o, 'split-seed'), 'split-seed'),
    skipBadRows: pick(o, 'skip-bad-rows') === true,
    testSize: testSize === undefined ? undefined : typeof testSize === 'string' ? parseDecimal(testSize) ?? NaN : NaN,
    kFold: k !== undefined && fold !== undefined ? { k, fold } : undefined,
  };
  if (spec.testSize !== undefined && !Number.isFinite(spec.testSize)) throw new UserError(`--test-size must be a number, got ${String(testSize)}`);
  if (o.offline === true) spec.hub = { offline: true };
  return spec;
}

/** Creates the folder of an output file (as HF creates output_dir) and checks the file can go there; run before the work. */
export function prepareOutputFile(file: string, what = '--json'): void {
  ensureDir(dirname(resolve(file)), `${what} ${file}`);
  checkOutputPath(file, what);
}

export function writeJson(file: string, value: unknown, what = '--json'): void {
  prepareOutputFile(file, what);
  writeFileAtomic(resolve(file), stringifyJson(value) + '\n', what);
}

export function register(program: Command): void {
  const train = program
    .command('train')
    .description('fine-tune a DistilBERT classifier once (HF Trainer semantics) and print the final evaluation metrics as JSON')
    .allowExcessArguments(false);
  addDataOptions(train);
  addTrainingArguments(train);
  train.action(async (o: Opts) => {
    if (typeof o.json === 'string') prepareOutputFile(o.json); // fail before training, not after
    const spec = datasetSpec(o);
    const args = trainingArgs(o);
    const result = await fineTune({
      model: String(o.model),
      dataset: spec,
      args,
      numLabels: int(pick(o, 'num_labels'), 'num_labels'),
      tokenCacheDir: o.tokenCache === false ? null : undefined,
      hub: o.offline === true ? { offline: true } : undefined,
    });
    const summary = {
      ...result.final,
      train_loss: result.train_loss,
      steps: result.steps,
      epochs: result.epochs.map((e) => ({ epoch: e.epoch, step: e.step, train_loss: e.train_loss, learning_rate: e.learning_rate, eval_loss: e.eval?.loss ?? null, eval_accuracy: e.eval?.accuracy ?? null, seconds: e.seconds })),
      train_seconds: result.train_seconds,
      examples_per_second: result.examples_per_second,
      tokens_per_second: result.tokens_per_second,
      num_train_examples: result.num_train_examples,
      num_eval_examples: result.num_eval_examples,
      model: result.model_source,
      dataset: result.dataset_source,
      saved_to: result.saved_to ?? null,
      non_finite_step: result.non_finite_step,
      resumed_from: result.resumed_from ?? null,
      notes: result.notes,
    };
    if (result.final.non_finite) process.stderr.write(`tunescope: warning: ${result.final.warnings.at(-1)}${result.non_finite_step !== null ? `; ${result.notes.at(-1)}` : ''}\n`);
    if (typeof o.json === 'string') writeJson(o.json, result);
    process.stdout.write(stringifyJson(summary, 2) + '\n');
  });

}
