/**
 * `npm run bf16-parity -- [fixture-dir ...]`: the bf16 path (`precision: 'bf16'`: products as bf16 GEMMs with
 * fp32 accumulation) against the fp32 path on golden fixture folders (../shared/fixtures/distilbert/* format):
 * eval logits and loss (also against the fixture's float64 reference), every parameter gradient, and one AdamW
 * step (HF groups). Prints the relative L2 error of each check next to its tolerance; exit 1 if any is above.
 * Without AMX it runs the addon's portable kernel (same numbers up to summation order, slowly).
 *
 * Tolerance rule. bf16 keeps 8 significand bits: rounding an operand has relative error ≤ u = 2⁻⁸, so one product
 * is off by ≤ 2u relative to |A|·|B| (test/native/bf16.test.ts checks exactly that). To first order these add up
 * along the chain of products that feeds a value, so a value reached through P products (the engine reports P per
 * output: MixedStats.productDepth) gets
 *     ‖x_bf16 − x_fp32‖₂ ≤ 2u·P · scale(x)
 * with scale = ‖x_fp32‖₂ for logits and loss (also against the fixture's float64 reference). A batch gradient is
 * a sum of per-example gradients that can cancel (tiny-a: ~200×, its representations barely depend on the input),
 * and rounding errors scale with the terms, not the sum: there scale = (1/B)·Σ_b ‖∇loss_b‖ from one fp32 run per
 * example. Gradients that are zero up to rounding (the fixture's noise_dominated_after_step: k_lin.bias, by
 * softmax's shift invariance) have no scale of their own: the RMS of all gradients' scales. One AdamW step: master
 * weights and optimizer state are fp32, so the bf16 run's new parameters must be torch's AdamW (after
 * clip_grad_norm_) applied to its own gradients, computed independently in float64 here (relative 1e-5 of
 * |p| + lr: fp32 rounding), and the loss after the step must match the fp32 run's within 2u·P.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDistilBertConfig, readSafetensors } from '../src/model/index.js';
import { DistilBertForSequenceClassification, hfNoDecay, type Batch } from '../src/model/distilbert.js';
import { defaultFixtureDirs } from './parity.js';

export interface Bf16Check {
  fixture: string;
  check: string;
  /** ‖bf16 − ref‖₂ / ‖ref‖₂ (or / the stated scale) */
  relErr: number;
  tol: number;
  /** products on the path (the rule's P) */
  depth: number;
  ok: boolean;
  note?: string;
}

const U = 2 ** -8;

function relL2(a: ArrayLike<number>, b: ArrayLike<number>, scale?: number): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - (b[i] as number);
    d += x * x;
    n += (b[i] as number) ** 2;
  }
  return Math.sqrt(d) / (scale ?? Math.sqrt(n));
}

const l2 = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

export async function runBf16Parity(dir: string, opts: { threads?: number } = {}): Promise<Bf16Check[]> {
  const name = dir.split('/').filter(Boolean).pop() as string;
  const out: Bf16Check[] = [];
  const push = (check: string, relErr: number, depth: number, note?: string, tolScale = 1, tolFloor = 0): void => {
    const tol = Math.max(2 * U * depth * tolScale, tolFloor);
    out.push({ fixture: name, check, relErr, tol, depth, ok: relErr <= tol, note });
  };
  const config = parseDistilBertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
  const evalConfig = { ...config, dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 };
  const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[] };
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    float64_reference?: { logits: number[][]; loss: number };
    noise_dominated_after_step?: string[];
    optimizer?: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  };
  const batch: Batch = {
    inputIds: Int32Array.from(inputs.input_ids.flat()),
    attentionMask: Int32Array.from(inputs.attention_mask.flat()),
    labels: Int32Array.from(inputs.labels),
    batchSize: inputs.input_ids.length,
    seqLength: (inputs.input_ids[0] as number[]).length,
  };
  const params = readSafetensors(join(dir, 'model.safetensors')).tensors;
  const threads = opts.threads ?? 1;
  const nets = {
    fp32: await DistilBertForSequenceClassification.create(evalConfig, params, { intraOpNumThreads: threads }),
    bf16: await DistilBertForSequenceClassification.create(evalConfig, params, { intraOpNumThreads: threads, precision: 'bf16', allowBf16Emulation: true }),
  };
  try {
    const f32 = await nets.fp32.forward(batch);
    const b16 = await nets.bf16.forward(batch);
    const evalDepth = (await nets.bf16.mixedStats()).evalLoss?.productDepth ?? {};
    push('logits vs fp32', relL2(b16.logits, f32.logits), evalDepth.logits ?? 0);
    push('loss vs fp32', Math.abs((b16.loss as number) - (f32.loss as number)) / Math.abs(f32.loss as number), evalDepth.loss ?? 0);
    if (exp.float64_reference) {
      push('logits vs float64', relL2(b16.logits, exp.float64_reference.logits.flat()), evalDepth.logits ?? 0);
      push('loss vs float64', Math.abs((b16.loss as number) - exp.float64_reference.loss) / Math.abs(exp.float64_reference.loss), evalDepth.loss ?? 0);
    }
    await nets.fp32.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 0 });
    await nets.bf16.accumulateGradients(batch, { lossScale: 1, dropoutSeed: 0 });
    const gf = nets.fp32.gradients() as Map<string, { data: Float32Array }>;
    const gb = new Map([...(nets.bf16.gradients() as Map<string, { data: Float32Array }>)].map(([n, g]) => [n, g.data.slice()]));
    const trainDepth = (await nets.bf16.mixedStats()).trainFresh?.productDepth ?? {};
    // the scale of the terms the batch gradient sums: (1/B)·Σ_b ‖∇ loss_b‖ from one fp32 run per example
    const perExample = new Map<string, number>();
    for (let b = 0; b < batch.batchSize; b++) {
      const S = batch.seqLength;
      const one: Batch = { inputIds: batch.inputIds.slice(b * S, (b + 1) * S), attentionMask: batch.attentionMask.slice(b * S, (b + 1) * S), labels: (batch.labels as Int32Array).slice(b, b + 1), batchSize: 1, seqLength: S };
      const net = await DistilBertForSequenceClassification.create(evalConfig, params, { intraOpNumThreads: threads });
      try {
        await net.accumulateGradients(one, { lossScale: 1 / batch.batchSize, dropoutSeed: 0 });
        for (const [n, g] of net.gradients() as Map<string, { data: Float32Array }>) perExample.set(n, (perExample.get(n) ?? 0) + l2(g.data));
      } finally {
        await net.dispose();
      }
    }
    const noisy = new Set(exp.noise_dominated_after_step ?? []);
    const scales = [...perExample].filter(([n]) => !noisy.has(n)).map(([, v]) => v);
    const rms = Math.sqrt(scales.reduce((a, v) => a + v * v, 0) / scales.length);
    for (const [n, g] of gf) {
      const depth = trainDepth[`grad.${n}`] ?? trainDepth[`grad_updates.${n}`] ?? 0;
      if (noisy.has(n)) {
        push(`grad ${n}`, relL2(gb.get(n) as Float32Array, g.data, rms), depth, 'zero up to rounding: vs the RMS gradient scale');
        continue;
      }
      const scale = perExample.get(n) as number;
      const e = relL2(gb.get(n) as Float32Array, g.data, scale);
      const cancel = scale / l2(g.data);
      push(`grad ${n}`, e, depth, cancel > 2 ? `batch sum cancels ${cancel.toExponential(1)}×` : undefined);
    }
    // one AdamW step: fp32 master weights and state, so the bf16 run's new parameters are exactly torch's AdamW
    // (with clip_grad_norm_) applied in fp32 to ITS gradients — computed here independently in float64
    const o = exp.optimizer ?? { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weight_decay: 0.01 };
    const before = nets.bf16.parameters();
    const step = { lr: o.lr, maxGradNorm: 1, optimizer: { betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, noDecay: hfNoDecay } };
    await nets.fp32.optimizerStep(step);
    const { gradNorm } = await nets.bf16.optimizerStep(step);
    let ss = 0;
    for (const g of gb.values()) for (const v of g) ss += v * v;
    push('grad_norm (pre-clip) = ‖bf16 grads‖', Math.abs(gradNorm - Math.sqrt(ss)) / Math.sqrt(ss), 0, 'fp32 reduction', 0, 1e-6);
    const coef = Math.min(1 / (Math.sqrt(ss) + 1e-6), 1);
    const after = nets.bf16.parameters();
    let worst = 0;
    for (const [n, p0] of before) {
      const g = gb.get(n) as Float32Array;
      const wd = hfNoDecay(n) ? 0 : o.weight_decay;
      const p1 = (after.get(n) as { data: Float32Array }).data;
      for (let i = 0; i < g.length; i++) {
        const gc = (g[i] as number) * coef;
        const m = (1 - o.betas[0]) * gc;
        const v = (1 - o.betas[1]) * gc * gc;
        const want = (p0.data[i] as number) * (1 - o.lr * wd) - (o.lr / (1 - o.betas[0])) * (m / (Math.sqrt(v / (1 - o.betas[1])) + o.eps));
        worst = Math.max(worst, Math.abs((p1[i] as number) - want) / (Math.abs(want) + o.lr));
      }
    }
    push('AdamW step on the bf16 gradients (fp32 master weights)', worst, 0, 'vs float64 AdamW; relative to |p| + lr', 0, 1e-5);
    // the loss after the step, both paths: training moved both the same way
    const after32 = await nets.fp32.forward(batch);
    const after16 = await nets.bf16.forward(batch);
    const gradDepth = Math.max(...Object.values(trainDepth));
    push('loss after the AdamW step vs fp32', Math.abs((after16.loss as number) - (after32.loss as number)) / Math.abs(after32.loss as number), gradDepth + (evalDepth.loss ?? 0));
  } finally {
    await nets.fp32.dispose();
    await nets.bf16.dispose();
  }
  return out;
}

function print(rs: Bf16Check[]): void {
  const w = Math.max(...rs.map((r) => r.check.length));
  for (const r of rs) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.fixture.padEnd(8)} ${r.check.padEnd(w)}  rel_l2 ${r.relErr.toExponential(2).padStart(9)}  tol ${r.tol.toExponential(2)} (2u·P, P=${r.depth})${r.note ? `  ${r.note}` : ''}`);
  }
}

async function main(): Promise<void> {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const dirs = args.length ? args.map((a) => resolve(a)) : defaultFixtureDirs(root);
  if (dirs.length === 0) {
    console.error('bf16-parity: no fixture folders given and none found under ../shared/fixtures/distilbert');
    process.exit(2);
  }
  let failed = 0;
  for (const dir of dirs) {
    for (const f of ['config.json', 'model.safetensors', 'inputs.json', 'expected.json']) {
      if (!existsSync(join(dir, f))) {
        console.error(`bf16-parity: ${dir} has no ${f}`);
        process.exit(2);
      }
    }
    const rs = await runBf16Parity(dir);
    print(rs);
    failed += rs.filter((r) => !r.ok).length;
  }
  console.log(failed ? `bf16-parity: ${failed} check(s) above tolerance` : `bf16-parity: all checks within 2u·P (${dirs.length} fixture${dirs.length > 1 ? 's' : ''})`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`bf16-parity: error: ${(e as Error).message}`);
    process.exit(2);
  });
}
