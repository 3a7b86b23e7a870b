import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandDesign, designConfigs, latinHypercube, sobolPoints, trialId, parseStudySpecText, type StudySpec } from '../../src/study/index.js';
import { Rng } from '../../src/util/index.js';

function spec(design: string, extra = ''): StudySpec {
  return parseStudySpecText(`name: d\nmodel: m/x\ndataset: {name: sst2}\ndesign:\n${design}\n${extra}`, { baseDir: '/b' });
}

const GRID = `  type: grid
  factors:
    learning_rate: [1.0e-5, 3.0e-5, 1.0e-4]
    per_device_train_batch_size: [8, 16]
    num_train_epochs: [1, 2]`;

test('grid: full factorial × seeds, deterministic, stable ids', () => {
  const s = spec(GRID, 'seeds: [1, 2]');
  const t = expandDesign(s);
  assert.equal(t.length, 3 * 2 * 2 * 2);
  assert.equal(new Set(t.map((x) => x.id)).size, t.length);
  assert.ok(t.every((x) => /^[0-9a-f]{16}$/.test(x.id) && x.inDesign && !x.isBaseline && x.kind === 'train'));
  assert.deepEqual(expandDesign(s), t);
  // the same configuration in another factor order has the same id
  const reordered = spec(`  type: grid
  factors:
    num_train_epochs: [2, 1]
    per_device_train_batch_size: [16, 8]
    learning_rate: [1.0e-4, 3.0e-5, 1.0e-5]`, 'seeds: [2, 1]');
  assert.deepEqual(new Set(expandDesign(reordered).map((x) => x.id)), new Set(t.map((x) => x.id)));
  assert.equal(trialId('train', { learning_rate: 1e-5, per_device_train_batch_size: 8 }, 1), trialId('train', { per_device_train_batch_size: 8, learning_rate: 1e-5 }, 1));
  assert.notEqual(trialId('train', { learning_rate: 1e-5 }, 1), trialId('train', { learning_rate: 1e-5 }, 2));
});

test('grid levels over a range: log spacing for the learning rate, whole numbers for batch sizes', () => {
  const c = designConfigs(spec(`  type: grid
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3, levels: 3}
    per_device_train_batch_size: {min: 8, max: 32, levels: 3, scale: log}`).design);
  assert.deepEqual([...new Set(c.map((x) => x.learning_rate))], [1e-5, 1e-4, 1e-3]);
  assert.deepEqual([...new Set(c.map((x) => x.per_device_train_batch_size))], [8, 16, 32]);
});

test('baseline: an evaluation trial first; a reference configuration that is a design point is one trial', () => {
  const e = expandDesign(spec(GRID, 'seeds: [1]\nbaseline: {evaluate: true}'));
  assert.equal(e.length, 13);
  assert.equal(e[0]!.kind, 'evaluate');
  assert.ok(e[0]!.isBaseline && !e[0]!.inDesign);
  const c = expandDesign(spec(GRID, 'seeds: [1, 2]\nbaseline: {config: {learning_rate: 3.0e-5, per_device_train_batch_size: 8, num_train_epochs: 2}}'));
  assert.equal(c.length, 24);
  const base = c.filter((x) => x.isBaseline);
  assert.equal(base.length, 2);
  assert.ok(base.every((x) => x.inDesign));
  const off = expandDesign(spec(GRID, 'seeds: [1, 2]\nbaseline: {config: {learning_rate: 5.0e-5, per_device_train_batch_size: 8, num_train_epochs: 3}}'));
  assert.equal(off.length, 26);
  assert.deepEqual(off.slice(0, 2).map((x) => [x.isBaseline, x.inDesign]), [[true, false], [true, false]]);
});

test('random, LHS and Sobol stay inside their ranges, round integers, and are deterministic per design seed', () => {
  for (const type of ['random', 'lhs', 'sobol']) {
    const d = `  type: ${type}
  n: 16
  seed: 7
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3}
    per_device_train_batch_size: {min: 8, max: 64, scale: log}
    num_train_epochs: {min: 1, max: 4}
    weight_decay: {min: 0, max: 0.1}`;
    const a = designConfigs(spec(d).design);
    assert.deepEqual(designConfigs(spec(d).design), a, type);
    assert.ok(a.length >= 12 && a.length <= 16, `${type}: ${a.length}`);
    for (const c of a) {
      assert.ok(c.learning_rate! >= 1e-5 && c.learning_rate! <= 1e-3, `${type} lr ${c.learning_rate}`);
      assert.ok(Number.isInteger(c.per_device_train_batch_size) && c.per_device_train_batch_size! >= 8 && c.per_device_train_batch_size! <= 64);
      assert.ok(Number.isInteger(c.num_train_epochs) && c.num_train_epochs! >= 1 && c.num_train_epochs! <= 4);
      assert.ok(c.weight_decay! >= 0 && c.weight_decay! < 0.1);
    }
    // log scale: about half the learning rates below the geometric midpoint 1e-4
    const below = a.filter((c) => c.learning_rate! < 1e-4).length;
    assert.ok(below >= a.length / 4 && below <= (3 * a.length) / 4, `${type}: ${below}/${a.length} below 1e-4`);
    if (type !== 'sobol') assert.notDeepEqual(designConfigs(spec(d.replace('seed: 7', 'seed: 8')).design), a, type);
  }
});

test('Latin hypercube: each of the n strata of every dimension holds exactly one point', () => {
  const n = 20;
  const pts = latinHypercube(n, 3, new Rng(3));
  for (let j = 0; j < 3; j++) {
    const strata = pts.map((p) => Math.floor(p[j]! * n)).sort((a, b) => a - b);
    assert.deepEqual(strata, Array.from({ length: n }, (_, i) => i));
  }
});

test('Sobol points equal scipy.stats.qmc.Sobol(d, scramble=False)', () => {
  // scipy 1.x: Sobol(3, scramble=False).random(8)
  assert.deepEqual(sobolPoints(8, 3), [
    [0, 0, 0],
    [0.5, 0.5, 0.5],
    [0.75, 0.25, 0.25],
    [0.25, 0.75, 0.75],
    [0.375, 0.375, 0.625],
    [0.875, 0.875, 0.125],
    [0.625, 0.125, 0.875],
    [0.125, 0.625, 0.375],
  ]);
  // every power-of-two prefix is a (0, m, d)-net in 2D: each of the 16 columns x 1 row boxes holds one point
  const p = sobolPoints(16, 5);
  for (let j = 0; j < 5; j++) assert.deepEqual(p.map((x) => Math.floor(x[j]! * 16)).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i));
});

test('data_seeds cross seeds in every design type; ids without data seeds are unchanged', () => {
  const designs = [
    GRID,
    '  type: random\n  n: 3\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-4}',
    '  type: lhs\n  n: 3\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-4}',
    '  type: sobol\n  n: 4\n  factors:\n    learning_rate: {min: 1.0e-5, max: 1.0e-4}',
  ];
  for (const d of designs) {
    const plain = expandDesign(spec(d, 'seeds: [1, 2]'));
    const crossed = expandDesign(spec(d, 'seeds: [1, 2]\ndata_seeds: [7, 8, 9]'));
    const k = designConfigs(spec(d).design).length;
    assert.equal(plain.length, k * 2);
    assert.equal(crossed.length, k * 2 * 3);
    assert.equal(new Set(crossed.map((t) => t.id)).size, crossed.length);
    assert.deepEqual(new Set(crossed.map((t) => `${t.seed}/${t.dataSeed}`)).size, 6);
    assert.ok(plain.every((t) => t.dataSeed === null && t.id === trialId('train', t.config, t.seed)));
  }
  const c = expandDesign(spec(GRID, 'seeds: [1]\ndata_seeds: [3, 4]\nbaseline: {evaluate: true}'));
  assert.equal(c.filter((t) => t.kind === 'evaluate').length, 1, 'an evaluation has no data order: one baseline trial');
  assert.equal(c[0]!.dataSeed, null);
});
