/**
 * `study plan`'s estimated cost: null with the reason when nothing is measured; a calibration (real training steps
 * of the spec's tiny model on its data) that is cached and reused; hours = Σ trials' HF step counts × the step time
 * at each batch size's padded length / workers; the cache the bench writes read through a + c·tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HAVE_SST2, runCli, tempDir, writeTinyStudySpec } from '../helpers.js';

const SHAPE = { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, vocab_size: 30522 };

const writeSpec = (dir: string): string =>
  writeTinyStudySpec(dir, {
    name: 'costed',
    dataset: { max_train_samples: 100 },
    design: {
      type: 'ccd',
      variant: 'face_centered',
      center_points: 1,
      factors: {
        learning_rate: { min: 1e-4, max: 1e-3, scale: 'log' },
        per_device_train_batch_size: { min: 4, max: 16, scale: 'log', levels: [4, 8, 16] },
      },
    },
    args: { num_train_epochs: 2, gradient_accumulation_steps: 2, per_device_train_batch_size: undefined },
    execution: { workers: 2, threads_per_worker: 1 },
    store: './runs/costed.sqlite',
  });

interface PlanJson {
  estimated_hours: number | null;
  trials: Array<{ id: string; config: Record<string, number> }>;
  cost: { basis: string | null; note: string; steps_per_trial: Record<string, number> | null; step_time: Record<string, { seq_length: number; ms_per_step: number }> | null; workers: number; threads_per_worker: number; trial_hours: number | null };
}

const plan = (spec: string, out: string, env: Record<string, string>, extra: string[] = []): PlanJson => {
  const r = runCli(['study', 'plan', spec, '--json', out, ...extra], { env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as PlanJson;
};

/** HF Trainer: ceil(N / bs) batches per epoch, ceil over gradient accumulation, × epochs. */
const hfSteps = (n: number, bs: number, ga: number, ep: number) => Math.ceil(Math.ceil(n / bs) / ga) * ep;

test('plan cost: null with the reason, then calibrated (cached, the study never trained), then from the cache', { skip: !HAVE_SST2 && 'needs ../shared' }, () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path);
    const env = { TUNESCOPE_CACHE: join(d.path, 'cache') };
    const p0 = plan(spec, join(d.path, 'p0.json'), env);
    assert.equal(p0.estimated_hours, null);
    assert.equal(p0.cost.basis, null);
    assert.match(p0.cost.note, /no step time measured on this machine yet .*--calibrate/);

    const r = runCli(['study', 'plan', spec, '--calibrate', '--json', join(d.path, 'p1.json')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /calibrating: 4 × \d+ tokens/);
    assert.match(r.stderr, /calibrating: 16 × \d+ tokens/);
    assert.match(r.stdout, /cost: [\d.]+ (min|h) — .* \(measured now\)/);
    const p1 = JSON.parse(readFileSync(join(d.path, 'p1.json'), 'utf8')) as PlanJson;
    assert.equal(p1.cost.basis, 'calibration');
    assert.equal(p1.cost.workers, 2);
    assert.equal(p1.cost.threads_per_worker, 1);
    assert.ok(p1.estimated_hours! > 0);
    assert.ok(!existsSync(join(d.path, 'runs', 'costed.sqlite')), 'study plan never creates the study');
    // hours = Σ HF steps × accumulation × step time at the trial's batch size / workers
    let ms = 0;
    for (const t of p1.trials) {
      const bs = t.config.per_device_train_batch_size!;
      assert.equal(p1.cost.steps_per_trial![t.id], hfSteps(100, bs, 2, 2));
      ms += hfSteps(100, bs, 2, 2) * 2 * p1.cost.step_time![String(bs)]!.ms_per_step;
    }
    assert.ok(Math.abs(ms / 3600e3 / 2 - p1.estimated_hours!) / p1.estimated_hours! < 1e-9, `${ms / 3600e3 / 2} vs ${p1.estimated_hours}`);
    // longer batches pad longer (the longest sentence of more sentences)
    assert.ok(p1.cost.step_time!['16']!.seq_length >= p1.cost.step_time!['4']!.seq_length);

    const cache = JSON.parse(readFileSync(join(d.path, 'cache', 'step-times.json'), 'utf8')) as { records: Array<{ source: string; batch_size: number; model: unknown }> };
    assert.deepEqual(cache.records.map((x) => [x.source, x.batch_size]).sort(), [['calibration', 16], ['calibration', 4]]);
    assert.deepEqual(cache.records[0]!.model, SHAPE);
    const p2 = plan(spec, join(d.path, 'p2.json'), env, ['--no-calibrate', '--workers', '1']);
    assert.equal(p2.cost.basis, 'cache');
    assert.equal(p2.cost.workers, 1);
    assert.ok(Math.abs(p2.estimated_hours! - p2.cost.trial_hours!) < 1e-12 && p2.estimated_hours! > 0);
  } finally {
    d.cleanup();
  }
});

test('plan cost from bench numbers in the cache: the step time is the line through the measured shapes', { skip: !HAVE_SST2 && 'needs ../shared' }, () => {
  const d = tempDir();
  try {
    const spec = writeSpec(d.path);
    mkdirSync(join(d.path, 'cache'));
    const rec = (b: number, s: number, ms: number) => ({ model: SHAPE, batch_size: b, seq_length: s, threads: 1, precision: 'fp32', ms_per_step: ms, ms_min: ms, steps: 5, source: 'bench', host: hostname(), cpu: 'test', measured_at: '2026-12-01T00:00:00.000Z' });
    // 5 ms + 0.01 ms per token
    writeFileSync(join(d.path, 'cache', 'step-times.json'), JSON.stringify({ records: [rec(16, 64, 5 + 0.01 * 1024), rec(32, 128, 5 + 0.01 * 4096)] }));
    const p = plan(spec, join(d.path, 'p.json'), { TUNESCOPE_CACHE: join(d.path, 'cache') });
    assert.equal(p.cost.basis, 'cache');
    assert.match(p.cost.note, /from the step-time cache/);
    for (const [b, v] of Object.entries(p.cost.step_time!)) {
      assert.ok(Math.abs(v.ms_per_step - (5 + 0.01 * Number(b) * v.seq_length)) < 0.06, `batch ${b}: ${v.ms_per_step} ms at ${v.seq_length} tokens`);
    }
  } finally {
    d.cleanup();
  }
});
