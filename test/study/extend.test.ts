/**
 * `study extend`: each strategy's block against the math done here independently (least squares on the coded
 * design, the stationary point −½B⁻¹b, a brute-force D-optimal augmentation), and exact resume after kill -9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  analyzeStudy, extendStudy, formatExtension, loadStudySpec, readBlocks, runStudy, type TrialRunner,
} from '../../src/study/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { reportInputFromStore } from '../../src/report/index.js';
import { runCli, spawnCli, tempDir } from '../helpers.js';
import { runTrial as fakeRunner } from './fake-runner.js';

const FAKE = fileURLToPath(new URL('./fake-runner.ts', import.meta.url));

/** learning_rate 1e-5…1e-4 (log) and weight_decay 0…0.2 (linear): coded c1, c2. */
const c1 = (lr: number) => (Math.log10(lr) + 4.5) / 0.5;
const c2 = (wd: number) => (wd - 0.1) / 0.1;

function writeSpec(dir: string, design: string, extra = ''): string {
  const p = join(dir, 'spec.yaml');
  writeFileSync(
    p,
    `name: ext
model: some/model
dataset: {name: sst2}
design:
${design}
seeds: [1, 2]
args: {num_train_epochs: 1}
execution: {workers: 1, threads_per_worker: 1}
store: ./runs/ext.sqlite
analysis: {degree: 2${extra}}
`,
  );
  return p;
}

const CCD = `  type: ccd
  variant: face_centered
  center_points: 1
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-4, scale: log}
    weight_decay: {min: 0, max: 0.2, scale: linear}`;

/** A runner whose accuracy is a known function of the coded point plus a small deterministic seed term. */
function surfaceRunner(f: (x1: number, x2: number) => number): TrialRunner {
  return async (task) => {
    const x1 = c1(Number(task.config.learning_rate)), x2 = c2(Number(task.config.weight_decay));
    const noise = ((((task.seed * 2654435761) ^ Math.round(x1 * 1000 + x2 * 7919)) >>> 0) % 1000) / 2e5;
    const accuracy = f(x1, x2) + noise;
    return { metrics: { accuracy, loss: 1 - accuracy }, epochs: [] };
  };
}

/** Least squares by the normal equations (Gaussian elimination): the reference fit. */
function leastSquares(X: number[][], y: number[]): number[] {
  const p = X[0]!.length;
  const A = Array.from({ length: p }, (_, a) => [...Array.from({ length: p }, (__, b) => X.reduce((s, r) => s + r[a]! * r[b]!, 0)), X.reduce((s, r, i) => s + r[a]! * y[i]!, 0)]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    for (let r = 0; r < p; r++) if (r !== c) { const m = A[r]![c]! / A[c]![c]!; for (let q = c; q <= p; q++) A[r]![q]! -= m * A[c]![q]!; }
  }
  return A.map((r, i) => r[p]! / r[i]!);
}

function logdet(rows: number[][]): number {
  const p = rows[0]!.length;
  const A = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (__, b) => rows.reduce((s, r) => s + r[a]! * r[b]!, 0)));
  let ld = 0;
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    if (Math.abs(A[c]![c]!) < 1e-12) return -Infinity;
    ld += Math.log(Math.abs(A[c]![c]!));
    for (let r = c + 1; r < p; r++) { const m = A[r]![c]! / A[c]![c]!; for (let q = c; q < p; q++) A[r]![q]! -= m * A[c]![q]!; }
  }
  return ld;
}

const quad = (x1: number, x2: number) => [1, x1, x2, x1 * x1, x2 * x2, x1 * x2];

async function doneTrials(db: string) {
  const s = openSqliteStore(db, { readonly: true });
  try {
    return await s.listTrials();
  } finally {
    await s.close();
  }
}

test('steepest_ascent: points along the fitted gradient at the centre, step apart, clipped to the ranges', async () => {
  const d = tempDir();
  try {
    const spec = loadStudySpec(writeSpec(d.path, CCD));
    await runStudy(spec, { runner: surfaceRunner((x1, x2) => 0.7 + 0.05 * x1 - 0.02 * x2 + 0.01 * x1 * x1), quiet: true });
    const trials = await doneTrials(spec.store);
    const X = trials.map((t) => quad(c1(t.config.learning_rate!), c2(t.config.weight_decay!)));
    const beta = leastSquares(X, trials.map((t) => t.metrics!.accuracy as number));
    const r = await extendStudy(spec, { strategy: 'steepest_ascent', trials: 4, step: 0.3 });
    const b = r.block;
    assert.equal(b.block, 2);
    assert.equal(r.added, 4 * 2);
    assert.ok(Math.abs(b.gradient![0]! - beta[1]!) < 1e-10 && Math.abs(b.gradient![1]! - beta[2]!) < 1e-10, `${b.gradient} vs ${beta.slice(1, 3)}`);
    const norm = Math.hypot(beta[1]!, beta[2]!);
    b.points.forEach((p, j) => {
      const want = [beta[1]!, beta[2]!].map((g) => Math.max(-1, Math.min(1, ((j + 1) * 0.3 * g) / norm)));
      p.target.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `point ${j + 1}: ${p.target} vs ${want}`));
      p.coded.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-9));
    });
    // step 0.3 × 4 = 1.2 along a direction mostly in learning_rate: the last point is clipped to the range
    assert.equal(b.points[3]!.config.learning_rate, 1e-4);
    assert.match(b.notes.join(' '), /clipped/);
    // loss is minimised: its path goes the other way
    const rl = await extendStudy(spec, { strategy: 'steepest_ascent', trials: 2, step: 0.3, metric: 'loss' });
    assert.equal(rl.block.block, 3);
    rl.block.direction!.forEach((v, i) => assert.ok(Math.abs(v - b.direction![i]!) < 1e-9, 'loss = 1 − accuracy here: its descent is the ascent of accuracy'));
    assert.ok(rl.block.gradient!.every((v, i) => Math.abs(v + b.gradient![i]!) < 1e-9));
  } finally {
    d.cleanup();
  }
});

test('around_optimum: a face-centred CCD centred on the stationary point −½B⁻¹b when it is inside the ranges', async () => {
  const d = tempDir();
  try {
    const spec = loadStudySpec(writeSpec(d.path, CCD));
    await runStudy(spec, { runner: surfaceRunner((x1, x2) => 0.8 - 0.03 * (x1 - 0.3) ** 2 - 0.02 * (x2 + 0.2) ** 2 + 0.005 * (x1 - 0.3) * (x2 + 0.2)), quiet: true });
    const trials = await doneTrials(spec.store);
    const beta = leastSquares(trials.map((t) => quad(c1(t.config.learning_rate!), c2(t.config.weight_decay!))), trials.map((t) => t.metrics!.accuracy as number));
    const B = [[beta[3]!, beta[5]! / 2], [beta[5]! / 2, beta[4]!]];
    const det = B[0]![0]! * B[1]![1]! - B[0]![1]! * B[1]![0]!;
    const xs = [(-0.5 * (B[1]![1]! * beta[1]! - B[0]![1]! * beta[2]!)) / det, (-0.5 * (-B[1]![0]! * beta[1]! + B[0]![0]! * beta[2]!)) / det];
    const r = await extendStudy(spec, { strategy: 'around_optimum' });
    const b = r.block;
    assert.equal(b.optimum!.source, 'stationary point');
    assert.equal(b.optimum!.nature, 'maximum');
    b.optimum!.coded.forEach((v, i) => assert.ok(Math.abs(v - xs[i]!) < 1e-9, `${b.optimum!.coded} vs ${xs}`));
    assert.ok(Math.abs(xs[0]! - 0.3) < 0.02 && Math.abs(xs[1]! + 0.2) < 0.02, String(xs));
    assert.deepEqual(b.centre, b.optimum!.coded);
    assert.equal(b.points.length, 4 + 4 + 1);
    const offsets = b.points.map((p) => p.coded.map((v, i) => Math.round(((v - xs[i]!) / 0.5) * 1e6) / 1e6));
    assert.deepEqual(offsets.map((o) => o.join(',')).sort(), ['-1,-1', '-1,0', '-1,1', '0,-1', '0,0', '0,1', '1,-1', '1,0', '1,1'].map((s) => s.replace(/-0\b/g, '0')).sort());
    // an optimum outside the box: the CCD moves inside the ranges, the note says so
    const d2 = tempDir();
    try {
      const spec2 = loadStudySpec(writeSpec(d2.path, CCD));
      await runStudy(spec2, { runner: surfaceRunner((x1, x2) => 0.8 - 0.03 * (x1 - 2) ** 2 - 0.02 * x2 ** 2), quiet: true });
      const b2 = (await extendStudy(spec2, { strategy: 'around_optimum', step: 0.4 })).block;
      assert.ok(Math.abs(b2.optimum!.coded[0]! - 1) < 1e-6, `best in the box at the lr edge: ${b2.optimum!.coded}`);
      assert.ok(Math.abs(b2.centre![0]! - 0.6) < 1e-6);
      assert.ok(b2.points.every((p) => p.coded.every((v) => Math.abs(v) <= 1 + 1e-9)));
      assert.match(b2.notes.join(' '), /outside the allowed ranges/);
    } finally {
      d2.cleanup();
    }
  } finally {
    d.cleanup();
  }
});

test('augment: the exchange reaches the brute-force D-optimum of a tiny case and raises the D-criterion', async () => {
  const d = tempDir();
  try {
    // a 2² factorial (4 points, one seed each) cannot estimate the squares; candidates for degree 2: the 3×3 grid
    const specPath = writeSpec(d.path, `  type: grid
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-4, scale: log, levels: 2}
    weight_decay: {min: 0, max: 0.2, scale: linear, levels: 2}`, ', allow_aliased: true');
    writeFileSync(specPath, readFileSync(specPath, 'utf8').replace('seeds: [1, 2]', 'seeds: [1]'));
    const spec = loadStudySpec(specPath);
    await runStudy(spec, { runner: surfaceRunner((x1, x2) => 0.7 + 0.01 * x1 + 0.01 * x2), quiet: true });
    const r = await extendStudy(spec, { strategy: 'augment', trials: 3, seed: 5 });
    const b = r.block;
    assert.equal(b.points.length, 3);
    // brute force: every multiset of 3 of the 9 candidates, the block effect as a column (0 for block 1, 1 for the new)
    const grid = [-1, 0, 1].flatMap((a) => [-1, 0, 1].map((c) => [a, c] as const));
    const fixed = [[-1, -1], [1, -1], [-1, 1], [1, 1]].map(([a, c]) => [...quad(a!, c!), 0]);
    let best = -Infinity;
    for (let i = 0; i < 9; i++) for (let j = i; j < 9; j++) for (let k = j; k < 9; k++) {
      best = Math.max(best, logdet([...fixed, ...[i, j, k].map((q) => [...quad(...grid[q]!), 1])]));
    }
    const chosen = logdet([...fixed, ...b.points.map((p) => [...quad(p.coded[0]!, p.coded[1]!), 1])]);
    assert.ok(Math.abs(chosen - best) < 1e-9, `exchange ${chosen} vs brute force ${best}`);
    assert.ok(Math.abs(b.d_criterion!.objective - best) < 1e-9);
    assert.equal(b.d_criterion!.before, null, 'the factorial alone cannot estimate the degree-2 model');
    assert.ok(Number.isFinite(b.d_criterion!.after));
    // without allow_aliased, `study run` refused the 2² design; augmented, the study estimates the model and runs
    writeFileSync(specPath, readFileSync(specPath, 'utf8').replace(', allow_aliased: true', ''));
    const strict = loadStudySpec(specPath);
    const s2 = await runStudy(strict, { runner: surfaceRunner((x1, x2) => 0.7 + 0.01 * x1 + 0.01 * x2), quiet: true });
    assert.equal(s2.ranNow, 3);
    const d3 = tempDir();
    try {
      const fresh = join(d3.path, 'spec.yaml');
      writeFileSync(fresh, readFileSync(specPath, 'utf8'));
      await assert.rejects(runStudy(loadStudySpec(fresh), { runner: fakeRunner, quiet: true }), /cannot estimate the degree-2 analysis model/);
    } finally {
      d3.cleanup();
    }
    // degree 1 on a fresh copy of the study: the criterion of an estimable model goes up
    const d1 = tempDir();
    writeFileSync(join(d1.path, 'spec.yaml'), readFileSync(specPath, 'utf8').replace('analysis: {degree: 2', 'analysis: {degree: 2, allow_aliased: true'));
    const spec1 = loadStudySpec(join(d1.path, 'spec.yaml'));
    await runStudy(spec1, { runner: surfaceRunner((x1, x2) => 0.7 + 0.01 * x1 + 0.01 * x2), quiet: true });
    const r1 = await extendStudy(spec1, { strategy: 'augment', trials: 2, degree: 1 });
    assert.ok(r1.block.d_criterion!.before !== null && r1.block.d_criterion!.after > r1.block.d_criterion!.before, JSON.stringify(r1.block.d_criterion));
    assert.ok(Math.abs(r1.block.d_criterion!.before - Math.log(4 ** 3)) < 1e-9, '|XᵀX| of a 2² factorial for 3 terms is 4³');
    // the same request on the same trials is the same block, not a new one
    const again = await extendStudy(spec1, { strategy: 'augment', trials: 2, degree: 1 });
    assert.equal(again.existing, true);
    assert.equal(again.block.block, r1.block.block);
    assert.equal(again.added, 0);
    d1.cleanup();
  } finally {
    d.cleanup();
  }
});

test('extend + kill -9 of `study run`: the rerun finishes every block exactly once with the recorded ids; block effect, status and plan show blocks', async () => {
  const d = tempDir();
  try {
    const specPath = join(d.path, 'spec.yaml');
    writeFileSync(
      specPath,
      `name: seq
model: some/model
dataset: {name: sst2}
design:
  type: ccd
  variant: face_centered
  center_points: 1
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3, scale: log}
    per_device_train_batch_size: {min: 8, max: 32, scale: log, levels: [8, 16, 32]}
seeds: [1]
args: {num_train_epochs: 1, fake_ms: 300}
execution: {workers: 1, threads_per_worker: 1}
store: ./runs/seq.sqlite
analysis: {degree: 2, responses: [accuracy]}
`,
    );
    const spec = loadStudySpec(specPath);
    await runStudy(spec, { runner: fakeRunner, quiet: true });
    const ext = runCli(['study', 'extend', specPath, '--strategy', 'steepest_ascent', '--trials', '4', '--step', '0.4', '--json', join(d.path, 'block.json')]);
    assert.equal(ext.status, 0, ext.stderr);
    assert.match(ext.stdout, /block 2: steepest ascent of accuracy/);
    const rec = JSON.parse(readFileSync(join(d.path, 'block.json'), 'utf8')) as { trials: Array<{ id: string }>; points: unknown[] };
    const ids = rec.trials.map((t) => t.id);
    assert.ok(ids.length >= 2, `${ids.length} trials`);
    const again = await extendStudy(spec, { strategy: 'steepest_ascent', trials: 4, step: 0.4 });
    assert.equal(again.existing, true);
    assert.match(formatExtension(again), /already proposed/);
    // a process killed after recording the block, before inserting its trials: the next start inserts them
    const db = new Database(spec.store);
    db.prepare(`DELETE FROM trials WHERE id IN (${ids.map(() => '?').join(',')})`).run(...ids);
    db.close();
    assert.equal((await doneTrials(spec.store)).length, 9);

    const { child, exited } = spawnCli(['study', 'run', specPath, '--runner', FAKE], { stdio: 'ignore' });
    let before: Array<{ id: string; finishedAt: string | null }> = [];
    for (let i = 0; i < 600 && before.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const s = openSqliteStore(spec.store, { readonly: true });
        try {
          const c = await s.counts();
          if (c.done >= 10 && c.running >= 1) {
            child.kill('SIGKILL');
            before = (await s.listTrials({ status: 'done' })).map((t) => ({ id: t.id, finishedAt: t.finishedAt }));
          }
        } finally {
          await s.close();
        }
      } catch {
        /* busy */
      }
    }
    assert.equal((await exited).signal, 'SIGKILL');
    assert.ok(before.length >= 10 && before.length < 9 + ids.length, `${before.length} done when killed`);
    const rerun = runCli(['study', 'run', specPath, '--runner', FAKE]);
    assert.equal(rerun.status, 0, rerun.stderr);
    const trials = await doneTrials(spec.store);
    assert.equal(trials.length, 9 + ids.length);
    assert.ok(trials.every((t) => t.status === 'done'));
    assert.deepEqual(trials.filter((t) => ids.includes(t.id)).map((t) => t.id).sort(), [...ids].sort(), 'block 2 has exactly the recorded ids');
    const byId = new Map(trials.map((t) => [t.id, t]));
    for (const b of before) assert.equal(byId.get(b.id)!.finishedAt, b.finishedAt, 'finished trials are not redone');

    const status = runCli(['study', 'status', specPath]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /block 1 \(the spec's design\): 9 trials — done 9/);
    assert.match(status.stdout, new RegExp(`block 2 \\(steepest ascent, [^)]+\\): ${ids.length} trials — done ${ids.length}, running 0, pending 0`));

    const s = openSqliteStore(spec.store, { readonly: true });
    try {
      assert.equal((await readBlocks(s)).length, 1);
      const a = await analyzeStudy(s, { frame: 'absolute' });
      const fit = a.fits.find((f) => f.response === 'accuracy')!;
      assert.ok(fit.terms.includes('C(block)[T.2]'), fit.terms.join(', '));
      assert.deepEqual(fit.blocks, { column: 'block', levels: [1, 2], terms: ['C(block)[T.2]'] });
      // one joint ANOVA row for the block term (statsmodels' C(block)), not one per dummy
      assert.ok(fit.anova_type2.some((r) => r.term === 'C(block)' && r.df === 1), JSON.stringify(fit.anova_type2.map((r) => r.term)));
      assert.ok(!fit.anova_type2.some((r) => r.term.startsWith('C(block)[')));
      assert.equal(a.table.rows.filter((r) => r.block === 2).length, ids.length);
      // the report (and the dashboard, which uses it) fits the same block effect
      const ri = await reportInputFromStore(s);
      assert.ok(ri.fits.some((f) => f.response === 'accuracy' && f.terms.includes('C(block)[T.2]')));
    } finally {
      await s.close();
    }
    const plan = runCli(['study', 'plan', specPath, '--json', join(d.path, 'plan.json')]);
    assert.equal(plan.status, 0, plan.stderr);
    const pj = JSON.parse(readFileSync(join(d.path, 'plan.json'), 'utf8')) as { n_trials: number; trials: Array<{ id: string; block: number }>; blocks: Array<{ block: number }> };
    assert.equal(pj.n_trials, 9 + ids.length);
    assert.deepEqual(pj.trials.filter((t) => t.block === 2).map((t) => t.id).sort(), [...ids].sort());
    assert.deepEqual(pj.blocks.map((b) => b.block), [1, 2]);
    assert.match(plan.stdout, /block 2: \d+ trials/);
  } finally {
    d.cleanup();
  }
});

test('extend errors: a study not run yet, a strategy flag that does not apply', () => {
  const d = tempDir();
  try {
    const specPath = writeSpec(d.path, CCD);
    const r = runCli(['study', 'extend', specPath, '--strategy', 'augment']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tunescope: error: no study at .* yet/m);
    const r2 = runCli(['study', 'extend', specPath, '--strategy', 'augment', '--step', '0.5']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /--step is for steepest_ascent and around_optimum/);
  } finally {
    d.cleanup();
  }
});
