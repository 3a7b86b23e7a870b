/**
 * `npm run parity -- [fixture-dir ...]`: checks DistilBertForSequenceClassification against a golden fixture
 * folder (config.json, model.safetensors, inputs.json, expected.json — the format of
 * ../shared/fixtures/distilbert/*; see the README there): eval forward (logits, log_softmax, per-example CE,
 * loss, [CLS] hidden states), every parameter gradient, one AdamW step with all-decay and with HF's groups
 * (post-step parameters, logits and loss). Prints max abs / rel error per check; exit code 1 if any check is
 * above its tolerance. With no argument, every folder under ../shared/fixtures/distilbert.
 *
 * Tolerances (issue 4 + the fixture README): logits/loss/hidden states within max(1e-6, 10 × the fixture's
 * float32-vs-float64 gap); gradient statistics within 1e-4 relative (sums, mathematically zero for several
 * tensors, against 1e-5·abs_sum; first5/full values against 1e-4·max_abs); post-step parameters within 1e-4
 * relative (l2) and 1e-6 absolute (values); parameters the fixture marks noise-dominated (k_lin.bias) within lr.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDistilBertConfig, readSafetensors, type ParameterMap } from '../src/model/index.js';
import { DistilBertForSequenceClassification, hfNoDecay, type Batch } from '../src/model/distilbert.js';

interface Stat {
  l2_norm: number;
  sum?: number;
  abs_sum?: number;
  max_abs?: number;
  first5: number[];
}
interface Expected {
  logits: number[][];
  log_softmax: number[][];
  per_example_cross_entropy: number[];
  loss: number;
  predicted_label_ids: number[];
  hidden_cls_first8?: { values: number[][][] };
  grads: Record<string, Stat>;
  grads_full?: Record<string, number[][] | number[]>;
  params_with_exactly_zero_grad?: string[];
  word_embedding_rows_with_nonzero_grad?: number[];
  position_embedding_rows_with_nonzero_grad?: number[];
  noise_dominated_after_step?: string[];
  optimizer?: { lr: number; betas: [number, number]; eps: number; weight_decay: number; hf_groups?: { decay?: string[]; no_decay?: string[] } };
  adamw_all_decay?: StepExpect;
  adamw_hf_groups?: StepExpect;
  verification?: { float32_vs_float64_max_abs_logit_diff?: number };
}
interface StepExpect {
  params_after_step: Record<string, Stat>;
  'classifier.weight_after_step'?: number[][];
  'classifier.bias_after_step'?: number[];
  logits_after_step?: number[][];
  loss_after_step?: number;
}

export interface CheckResult {
  fixture: string;
  check: string;
  maxAbs: number;
  maxRel: number;
  tol: string;
  ok: boolean;
  note?: string;
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? (x as unknown[]).flatMap(flat) : [x as number]);

function stats(d: Float32Array): { l2_norm: number; sum: number; abs_sum: number; max_abs: number } {
  let l2 = 0;
  let s = 0;
  let a = 0;
  let m = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    l2 += v * v;
    s += v;
    a += Math.abs(v);
    if (Math.abs(v) > m) m = Math.abs(v);
  }
  return { l2_norm: Math.sqrt(l2), sum: s, abs_sum: a, max_abs: m };
}

class Checker {
  readonly results: CheckResult[] = [];
  constructor(private readonly fixture: string) {}

  /** Element-wise: |got − want| ≤ atol + rtol·|want|. */
  values(check: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 0, note?: string): void {
    let maxAbs = 0;
    let maxRel = 0;
    let ok = got.length === want.length;
    for (let i = 0; i < Math.min(got.length, want.length); i++) {
      const g = got[i] as number;
      const w = want[i] as number;
      const e = Math.abs(g - w);
      if (!(e <= atol + rtol * Math.abs(w))) ok = false;
      if (!(e <= maxAbs)) maxAbs = e;
      const r = w === 0 ? (e === 0 ? 0 : Infinity) : e / Math.abs(w);
      if (!(r <= maxRel)) maxRel = r;
    }
    this.results.push({ fixture: this.fixture, check, maxAbs, maxRel, tol: rtol ? `atol ${atol.toExponential(1)} + rtol ${rtol.toExponential(1)}` : `atol ${atol.toExponential(1)}`, ok, note });
  }

  flag(check: string, ok: boolean, note: string): void {
    this.results.push({ fixture: this.fixture, check, maxAbs: 0, maxRel: 0, tol: 'exact', ok, note });
  }
}

function logSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

const rows = (a: Float32Array, n: number): number[][] => Array.from({ length: a.length / n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));

function loadParams(dir: string): ParameterMap {
  return readSafetensors(join(dir, 'model.safetensors')).tensors;
}

export async function runParity(dir: string, opts: { threads?: number } = {}): Promise<CheckResult[]> {
  const name = dir.split('/').filter(Boolean).pop() as string;
  const c = new Checker(name);
  const config = parseDistilBertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
  // the fixture's numbers are eval-mode everywhere (gradients included): no dropout
  const evalConfig = { ...config, dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 };
  const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[] };
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  for (const key of ['logits', 'loss', 'grads'] as const) {
    if (exp[key] === undefined) throw new Error(`${join(dir, 'expected.json')}: missing "${key}"`);
  }
  const B = inputs.input_ids.length;
  const S = (inputs.input_ids[0] as number[]).length;
  const batch: Batch = {
    inputIds: Int32Array.from(inputs.input_ids.flat()),
    attentionMask: Int32Array.from(inputs.attention_mask.flat()),
    labels: Int32Array.from(inputs.labels),
    batchSize: B,
    seqLength: S,
  };
  const C = config.num_labels;
  const gap = exp.verification?.float32_vs_float64_max_abs_logit_diff ?? 0;
  const fwdTol = Math.max(1e-6, 10 * gap);
  const sessionOpts = { intraOpNumThreads: opts.threads ?? 1 };

  const net = await DistilBertForSequenceClassification.create(evalConfig, loadParams(dir), sessionOpts);
  try {
    // ---- forward ----
    const f = await net.forward(batch);
    const fh = await net.forward(batch, { outputHiddenStates: true });
    c.values('logits', f.logits, flat(exp.logits), fwdTol);
    const ls = rows(f.logits, C).map(logSoftmax);
    c.values('log_softmax', ls.flat(), flat(exp.log_softmax), fwdTol);
    c.values('per_example_cross_entropy', ls.map((r, i) => -(r[inputs.labels[i] as number] as number)), exp.per_example_cross_entropy, fwdTol);
    c.values('loss', [f.loss as number], [exp.loss], fwdTol);
    const pred = rows(f.logits, C).map((r) => r.indexOf(Math.max(...r)));
    c.flag('predicted_label_ids', pred.join() === exp.predicted_label_ids.join(), `got [${pred.join(', ')}]`);
    if (exp.hidden_cls_first8 && fh.hiddenStates) {
      const D = config.dim;
      const got = fh.hiddenStates.flatMap((h) => Array.from({ length: B }, (_, b) => Array.from(h.subarray(b * S * D, b * S * D + 8))).flat());
      c.values('hidden_cls_first8', got, flat(exp.hidden_cls_first8.values), fwdTol);
    }

    // ---- gradients (eval mode, loss scale 1) ----
    const { loss: trainLoss } = await net.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 0 });
    c.values('train_graph_loss', [trainLoss], [exp.loss], fwdTol);
    const grads = net.gradients() as ParameterMap;
    const noise = new Set(exp.noise_dominated_after_step ?? []);
    const agg = { l2: [0, 0, true], abs: [0, 0, true], max: [0, 0, true], sum: [0, 0, true], first5: [0, 0, true] } as Record<string, [number, number, boolean]>;
    const acc = (k: string, e: number, r: number, ok: boolean): void => {
      const a = agg[k] as [number, number, boolean];
      a[0] = Math.max(a[0], e);
      a[1] = Math.max(a[1], r);
      a[2] = a[2] && ok;
    };
    const failures: string[] = [];
    for (const [pname, want] of Object.entries(exp.grads)) {
      const gt = grads.get(pname);
      if (!gt) {
        failures.push(`${pname}: missing`);
        continue;
      }
      const st = stats(gt.data);
      if (pname.endsWith('attention.k_lin.bias')) {
        // mathematically zero: both sides are float noise; only its size is meaningful
        const ok = st.max_abs < 1e-6;
        acc('max', 0, 0, ok);
        if (!ok) failures.push(`${pname}: max_abs ${st.max_abs} (mathematically zero)`);
        continue;
      }
      const rel = (g: number, w: number): number => Math.abs(g - w) / Math.max(Math.abs(w), 1e-30);
      const chk = (k: string, g: number, w: number): void => {
        const r = rel(g, w);
        const ok = r <= 1e-4;
        acc(k, Math.abs(g - w), r, ok);
        if (!ok) failures.push(`${pname}.${k}: got ${g} want ${w}`);
      };
      chk('l2', st.l2_norm, want.l2_norm);
      if (want.abs_sum !== undefined) chk('abs', st.abs_sum, want.abs_sum);
      if (want.max_abs !== undefined) chk('max', st.max_abs, want.max_abs);
      if (want.sum !== undefined && want.abs_sum !== undefined) {
        const e = Math.abs(st.sum - want.sum);
        const ok = e <= 1e-5 * want.abs_sum;
        acc('sum', e, e / Math.max(want.abs_sum, 1e-30), ok);
        if (!ok) failures.push(`${pname}.sum: got ${st.sum} want ${want.sum} (abs_sum ${want.abs_sum})`);
      }
      const scale = want.max_abs ?? Math.max(...want.first5.map(Math.abs));
      want.first5.forEach((w, i) => {
        const e = Math.abs((gt.data[i] as number) - w);
        const ok = e <= 1e-4 * scale;
        acc('first5', e, e / Math.max(scale, 1e-30), ok);
        if (!ok) failures.push(`${pname}.first5[${i}]: got ${gt.data[i]} want ${w}`);
      });
    }
    const gtol = 'rel 1e-4';
    c.results.push({ fixture: name, check: 'grads l2_norm', maxAbs: agg.l2![0], maxRel: agg.l2![1], tol: gtol, ok: agg.l2![2] });
    c.results.push({ fixture: name, check: 'grads abs_sum', maxAbs: agg.abs![0], maxRel: agg.abs![1], tol: gtol, ok: agg.abs![2] });
    c.results.push({ fixture: name, check: 'grads max_abs', maxAbs: agg.max![0], maxRel: agg.max![1], tol: gtol, ok: agg.max![2] });
    c.results.push({ fixture: name, check: 'grads sum', maxAbs: agg.sum![0], maxRel: agg.sum![1], tol: '1e-5·abs_sum', ok: agg.sum![2], note: 'rel = |Δsum|/abs_sum' });
    c.results.push({ fixture: name, check: 'grads first5', maxAbs: agg.first5![0], maxRel: agg.first5![1], tol: '1e-4·max_abs', ok: agg.first5![2], note: 'rel = |Δ|/max_abs' });
    const missing = Object.keys(exp.grads).filter((k) => !grads.has(k));
    c.flag('grads cover every parameter', missing.length === 0 && grads.size === Object.keys(exp.grads).length, missing.length ? `missing ${missing.join(', ')}` : `${grads.size} tensors`);
    for (const [key, want] of Object.entries(exp.grads_full ?? {})) {
      const m = /^(.*)\[(\d+):(\d+)\]$/.exec(key);
      const pname = m ? (m[1] as string) : key;
      const gt = grads.get(pname);
      if (!gt) continue;
      const wantFlat = flat(want);
      const start = m ? Number(m[2]) * (gt.shape[1] ?? 1) : 0;
      const got = gt.data.subarray(start, start + wantFlat.length);
      const scale = exp.grads[pname]?.max_abs ?? Math.max(...wantFlat.map(Math.abs));
      c.values(`grads_full ${key}`, got, wantFlat, 1e-4 * scale);
    }
    const zeroGrad = [...grads].filter(([, t]) => t.data.every((v) => v === 0)).map(([k]) => k);
    if (exp.params_with_exactly_zero_grad) c.flag('params_with_exactly_zero_grad', zeroGrad.join() === exp.params_with_exactly_zero_grad.join(), `[${zeroGrad.join(', ')}]`);
    const nonzeroRows = (pname: string): number[] => {
      const t = grads.get(pname) as { shape: number[]; data: Float32Array };
      const D = t.shape[1] as number;
      const out: number[] = [];
      for (let r = 0; r < (t.shape[0] as number); r++) if (t.data.subarray(r * D, (r + 1) * D).some((v) => v !== 0)) out.push(r);
      return out;
    };
    if (exp.word_embedding_rows_with_nonzero_grad) {
      const got = nonzeroRows('distilbert.embeddings.word_embeddings.weight');
      c.flag('word_embedding_rows_with_nonzero_grad', got.join() === exp.word_embedding_rows_with_nonzero_grad.join(), `${got.length} rows`);
    }
    if (exp.position_embedding_rows_with_nonzero_grad) {
      const got = nonzeroRows('distilbert.embeddings.position_embeddings.weight');
      c.flag('position_embedding_rows_with_nonzero_grad', got.join() === exp.position_embedding_rows_with_nonzero_grad.join(), `${got.length} rows`);
    }
    if (failures.length) for (const fl of failures.slice(0, 10)) console.error(`  [${name}] ${fl}`);
  } finally {
    await net.dispose();
  }

  // ---- one AdamW step, both groupings ----
  const o = exp.optimizer;
  if (!o) {
    c.flag('adamw', true, 'skipped: expected.json has no "optimizer"');
    return c.results;
  }
  if (o.hf_groups?.decay) {
    const ours = [...loadParams(dir).keys()].filter((n) => !hfNoDecay(n)).sort();
    const theirs = [...o.hf_groups.decay].sort();
    c.flag('hf_groups decay set', ours.join() === theirs.join(), `${ours.length} decayed`);
  }
  for (const [variant, want] of [['adamw_all_decay', exp.adamw_all_decay], ['adamw_hf_groups', exp.adamw_hf_groups]] as const) {
    if (!want) continue;
    const n2 = await DistilBertForSequenceClassification.create(evalConfig, loadParams(dir), sessionOpts);
    try {
      await n2.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 0 });
      await n2.optimizerStep({ lr: o.lr, optimizer: { betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, noDecay: variant === 'adamw_hf_groups' ? hfNoDecay : undefined } });
      const params = n2.parameters();
      const noise = new Set(exp.noise_dominated_after_step ?? []);
      let l2e = 0;
      let l2r = 0;
      let l2ok = true;
      let ve = 0;
      let vok = true;
      let noiseE = 0;
      let noiseOk = true;
      const fails: string[] = [];
      for (const [pname, st] of Object.entries(want.params_after_step)) {
        const p = params.get(pname);
        if (!p) {
          fails.push(`${pname} missing`);
          vok = false;
          continue;
        }
        const first = Array.from(p.data.subarray(0, st.first5.length));
        const e5 = Math.max(...first.map((v, i) => Math.abs(v - (st.first5[i] as number))));
        if (noise.has(pname)) {
          noiseE = Math.max(noiseE, e5);
          if (!(e5 <= o.lr)) noiseOk = false;
          continue;
        }
        const l2 = stats(p.data).l2_norm;
        const e = Math.abs(l2 - st.l2_norm);
        const r = e / Math.abs(st.l2_norm);
        l2e = Math.max(l2e, e);
        l2r = Math.max(l2r, r);
        if (!(r <= 1e-4)) {
          l2ok = false;
          fails.push(`${pname}.l2_norm got ${l2} want ${st.l2_norm}`);
        }
        ve = Math.max(ve, e5);
        if (!(e5 <= 1e-6)) {
          vok = false;
          fails.push(`${pname}.first5 max err ${e5}`);
        }
      }
      c.results.push({ fixture: name, check: `${variant} params l2_norm`, maxAbs: l2e, maxRel: l2r, tol: 'rel 1e-4', ok: l2ok });
      c.results.push({ fixture: name, check: `${variant} params first5`, maxAbs: ve, maxRel: 0, tol: 'atol 1e-6', ok: vok });
      if (noise.size) c.results.push({ fixture: name, check: `${variant} noise-dominated params`, maxAbs: noiseE, maxRel: 0, tol: `atol lr=${o.lr}`, ok: noiseOk, note: [...noise].map((s) => s.replace('distilbert.transformer.', '')).join(', ') });
      if (want['classifier.weight_after_step']) c.values(`${variant} classifier.weight`, (params.get('classifier.weight') as { data: Float32Array }).data, flat(want['classifier.weight_after_step']), 1e-6);
      if (want['classifier.bias_after_step']) c.values(`${variant} classifier.bias`, (params.get('classifier.bias') as { data: Float32Array }).data, want['classifier.bias_after_step'], 1e-6);
      if (want.logits_after_step || want.loss_after_step !== undefined) {
        const after = await n2.forward(batch);
        if (want.logits_after_step) c.values(`${variant} logits_after_step`, after.logits, flat(want.logits_after_step), fwdTol);
        if (want.loss_after_step !== undefined) c.values(`${variant} loss_after_step`, [after.loss as number], [want.loss_after_step], fwdTol);
      }
      for (const fl of fails.slice(0, 10)) console.error(`  [${name}] ${variant}: ${fl}`);
    } finally {
      await n2.dispose();
    }
  }
  return c.results;
}

export function defaultFixtureDirs(root: string): string[] {
  const base = resolve(root, '..', 'shared', 'fixtures', 'distilbert');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((d) => join(base, d))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'expected.json')))
    .sort();
}

function printResults(results: CheckResult[]): void {
  const w = Math.max(...results.map((r) => r.check.length), 10);
  for (const r of results) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.fixture.padEnd(8)} ${r.check.padEnd(w)}  max_abs ${r.maxAbs.toExponential(2).padStart(9)}  max_rel ${r.maxRel.toExponential(2).padStart(9)}  (${r.tol})${r.note ? `  ${r.note}` : ''}`);
  }
}

async function main(): Promise<void> {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const dirs = args.length ? args.map((a) => resolve(a)) : defaultFixtureDirs(root);
  if (dirs.length === 0) {
    console.error('parity: no fixture folders given and none found under ../shared/fixtures/distilbert');
    process.exit(2);
  }
  let failed = 0;
  for (const dir of dirs) {
    for (const f of ['config.json', 'model.safetensors', 'inputs.json', 'expected.json']) {
      if (!existsSync(join(dir, f))) {
        console.error(`parity: ${dir} has no ${f}`);
        process.exit(2);
      }
    }
    const results = await runParity(dir);
    printResults(results);
    failed += results.filter((r) => !r.ok).length;
  }
  console.log(failed ? `parity: ${failed} check(s) above tolerance` : `parity: all checks within tolerance (${dirs.length} fixture${dirs.length > 1 ? 's' : ''})`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`parity: error: ${(e as Error).message}`);
    process.exit(2);
  });
}
