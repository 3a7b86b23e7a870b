/** `tunescope evaluate`: evaluate a model without training (how a study measures its baseline). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { evaluateModel } from '../../train/index.js';
import { stringifyJson } from '../../util/index.js';
import { addDataOptions, addTrainingArguments, datasetSpec, int, pick, prepareOutputFile, trainingArgs, writeJson, type Opts } from './train.js';

const EVAL_ARGS = new Set(['per_device_eval_batch_size', 'max_seq_length', 'pad_to_max_length', 'seed', 'intra_op_num_threads', 'device', 'bf16']);

export function register(program: Command): void {
  const evaluate = program
    .command('evaluate')
    .description("evaluate a model on a dataset's evaluation split without training (a study's baseline); prints metrics as JSON")
    .allowExcessArguments(false);
  addDataOptions(evaluate, 'write eval_results.json (eval_-prefixed metrics, as HF) into this folder');
  addTrainingArguments(evaluate, EVAL_ARGS);
  evaluate.action(async (o: Opts) => {
    if (typeof o.json === 'string') prepareOutputFile(o.json);
    const metrics = await evaluateModel({
      model: String(o.model),
      dataset: datasetSpec(o),
      args: trainingArgs(o, EVAL_ARGS),
      numLabels: int(pick(o, 'num_labels'), 'num_labels'),
      tokenCacheDir: o.tokenCache === false ? null : undefined,
      hub: o.offline === true ? { offline: true } : undefined,
      // e.g. "no weights … initialised from config.json": metrics of an untrained model must not pass unnoticed
      onNote: (n) => process.stderr.write(`tunescope: note: ${n}\n`),
    });
    if (typeof o.json === 'string') writeJson(o.json, metrics);
    const od = pick(o, 'output-dir');
    if (typeof od === 'string') writeJson(resolve(od, 'eval_results.json'), Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`eval_${k}`, v])));
    if (metrics.non_finite) process.stderr.write(`tunescope: warning: ${metrics.warnings.at(-1)}\n`);
    process.stdout.write(stringifyJson(metrics, 2) + '\n');
  });
}
