/**
 * `optimizer.safetensors`: torch AdamW's state without pickle — per trainable parameter (HF name) the tensors
 * `<name>.exp_avg` and `<name>.exp_avg_sq` (F32), and in the metadata the step count and the param groups
 * (lr, betas, eps, weight_decay and their parameter names), as torch's optimizer.state_dict() holds them.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../util/index.js';
import type { AdamWState } from './distilbert.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors.js';

export interface AdamWParamGroup {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  params: string[];
}

export function writeOptimizerState(path: string, state: AdamWState, paramGroups: AdamWParamGroup[]): void {
  const tensors = new Map<string, NamedTensor>();
  for (const [n, t] of state.expAvg) tensors.set(`${n}.exp_avg`, t);
  for (const [n, t] of state.expAvgSq) tensors.set(`${n}.exp_avg_sq`, t);
  writeSafetensors(path, tensors, { format: 'tunescope-adamw', optimizer: 'AdamW', step: String(state.step), param_groups: JSON.stringify(paramGroups) });
}

export function readOptimizerState(path: string): { state: AdamWState; paramGroups: AdamWParamGroup[] } {
  if (!existsSync(path)) throw new UserError(`${path}: missing (not a resumable checkpoint)`);
  const { tensors, metadata } = readSafetensors(path);
  const step = Number(metadata.step);
  if (metadata.format !== 'tunescope-adamw' || !Number.isInteger(step) || step < 0) {
    throw new UserError(`${path}: not a tunescope AdamW state (metadata format ${JSON.stringify(metadata.format)}, step ${JSON.stringify(metadata.step)})`);
  }
  let paramGroups: AdamWParamGroup[];
  try {
    paramGroups = JSON.parse(metadata.param_groups ?? '[]') as AdamWParamGroup[];
  } catch {
    throw new UserError(`${path}: metadata param_groups is not JSON`);
  }
  const expAvg = new Map<string, NamedTensor>();
  const expAvgSq = new Map<string, NamedTensor>();
  for (const [k, t] of tensors) {
    if (k.endsWith('.exp_avg_sq')) expAvgSq.set(k.slice(0, -'.exp_avg_sq'.length), t);
    else if (k.endsWith('.exp_avg')) expAvg.set(k.slice(0, -'.exp_avg'.length), t);
    else throw new UserError(`${path}: unexpected tensor ${k}`);
  }
  return { state: { step, expAvg, expAvgSq }, paramGroups };
}
