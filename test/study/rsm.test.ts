// Response-surface designs against the textbook point sets (Montgomery, Design and Analysis of Experiments, ch. 8
// and 11; Box & Behnken 1960), fraction generators/resolution, and optimal designs against brute-force optima.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliasChains, boxBehnken, centralComposite, cubeMoments, definingRelation, exchangeDesign, fractionalFactorial, generatorText,
  information, spdInverse,
} from '../../src/study/rsm.js';
import { codedDesign } from '../../src/study/coded.js';
import { expandDesign, parseStudySpecText } from '../../src/study/index.js';

const key = (pts: number[][]) => pts.map((p) => p.map((v) => (Math.abs(v) < 1e-12 ? 0 : Number(v.toFixed(10)))).join(',')).sort();

test('CCD: circumscribed rotatable α = n_F^¼, inscribed scales the cube by 1/α, face-centred α = 1, orthogonal α', () => {
  const c2 = centralComposite(2, { variant: 'circumscribed', alpha: 'rotatable', centerPoints: 1 });
  const r2 = Math.SQRT2;
  assert.deepEqual(key(c2.points), key([[-1, -1], [1, -1], [-1, 1], [1, 1], [-r2, 0], [r2, 0], [0, -r2], [0, r2], [0, 0]]));
  const c3 = centralComposite(3, { variant: 'circumscribed', alpha: 'rotatable', centerPoints: 6 });
  assert.ok(Math.abs(c3.alpha - 1.681792830507429) < 1e-12);
  assert.equal(c3.points.length, 20); // 8 + 6 + 6, Montgomery table 11.6
  const ins = centralComposite(3, { variant: 'inscribed', alpha: 'rotatable', centerPoints: 1 });
  assert.ok(ins.points.slice(0, 8).every((p) => p.every((v) => Math.abs(Math.abs(v) - 1 / 1.681792830507429) < 1e-12)));
  assert.ok(ins.points.slice(8, 14).every((p) => p.filter((v) => v !== 0).length === 1 && p.some((v) => Math.abs(v) === 1)));
  const fc = centralComposite(3, { variant: 'face_centered', alpha: 'rotatable', centerPoints: 1 });
  assert.equal(fc.alpha, 1);
  assert.deepEqual(new Set(fc.points.flat()), new Set([-1, 0, 1]));
  // orthogonal: k = 2 with one centre point gives α = 1; k = 3 with one centre 1.2154 (Myers & Montgomery)
  assert.ok(Math.abs(centralComposite(2, { variant: 'circumscribed', alpha: 'orthogonal', centerPoints: 1 }).alpha - 1) < 1e-12);
  assert.ok(Math.abs(centralComposite(3, { variant: 'circumscribed', alpha: 'orthogonal', centerPoints: 1 }).alpha - 1.2154) < 1e-4);
  assert.equal(centralComposite(3, { variant: 'circumscribed', alpha: 2, centerPoints: 0 }).points[8][0], -2);
  // a half fraction for 5 factors: 16 factorial points of resolution V, α = 16^¼ = 2
  const c5 = centralComposite(5, { variant: 'circumscribed', alpha: 'rotatable', centerPoints: 1, p: 1 });
  assert.equal(c5.nFactorial, 16);
  assert.equal(c5.factorial.resolution, 5);
  assert.equal(c5.alpha, 2);
});

test('Box–Behnken: 3, 4 and 5 factors are the ±1 pairs with the rest at 0; 6 and 7 use the published 3-factor blocks', () => {
  const pairs = (k: number) => {
    const out: number[][] = [];
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) for (const a of [-1, 1]) for (const b of [-1, 1]) {
      const p = new Array<number>(k).fill(0); p[i] = a; p[j] = b; out.push(p);
    }
    return out;
  };
  for (const k of [3, 4, 5]) assert.deepEqual(key(boxBehnken(k, 2)), key([...pairs(k), new Array(k).fill(0), new Array(k).fill(0)]), `k = ${k}`);
  assert.equal(boxBehnken(3, 3).length, 15); // Montgomery table 11.8
  assert.equal(boxBehnken(6, 6).length, 54);
  assert.equal(boxBehnken(7, 6).length, 62);
  // every row of the 6- and 7-factor designs moves exactly three factors; each pair of factors moves together
  for (const k of [6, 7]) {
    const pts = boxBehnken(k, 0);
    assert.ok(pts.every((p) => p.filter((v) => v !== 0).length === 3));
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) assert.ok(pts.some((p) => p[i] !== 0 && p[j] !== 0), `${k}: ${i},${j}`);
  }
  assert.throws(() => boxBehnken(2, 1), /3 to 7 factors/);
});

test('2^(k−p) fractions: textbook generators, maximum resolution, minimum aberration, defining relation and aliases', () => {
  const cases: [number, number, string[], number, number[]][] = [
    [3, 1, ['C = AB'], 3, [1]],
    [4, 1, ['D = ABC'], 4, [0, 1]],
    [5, 1, ['E = ABCD'], 5, [0, 0, 1]],
    [5, 2, ['D = AB', 'E = AC'], 3, [2, 1, 0]],
    [7, 4, ['D = AB', 'E = AC', 'F = BC', 'G = ABC'], 3, [7, 7, 0, 0, 1]],
  ];
  for (const [k, p, gens, res, pattern] of cases) {
    const f = fractionalFactorial(k, p);
    assert.deepEqual(generatorText(f), gens, `2^(${k}−${p})`);
    assert.equal(f.resolution, res);
    assert.deepEqual(f.wordLengthPattern, pattern);
    assert.equal(f.points.length, 2 ** (k - p));
  }
  // 2^(6−2)_IV and 2^(7−3)_IV: minimum aberration word-length patterns (0, 3) and (0, 7) (Montgomery table 8.14)
  assert.deepEqual(fractionalFactorial(6, 2).wordLengthPattern.slice(0, 2), [0, 3]);
  assert.deepEqual(fractionalFactorial(7, 3).wordLengthPattern.slice(0, 2), [0, 7]);
  assert.equal(fractionalFactorial(8, 4).resolution, 4);
  // the 2^(3−1) half fraction with C = AB: the principal fraction's four points
  assert.deepEqual(key(fractionalFactorial(3, 1).points), key([[-1, -1, 1], [1, -1, -1], [-1, 1, -1], [1, 1, 1]]));
  const f = fractionalFactorial(4, 1);
  assert.equal(definingRelation(f), 'I = ABCD');
  assert.deepEqual(aliasChains(f).slice(0, 5), ['A = BCD', 'B = ACD', 'C = ABD', 'D = ABC', 'AB = CD']);
  // every column is balanced and pairwise orthogonal
  const pts = fractionalFactorial(7, 4).points;
  for (let i = 0; i < 7; i++) for (let j = i; j < 7; j++) {
    const s = pts.reduce((acc, pt) => acc + pt[i] * (i === j ? 1 : pt[j]), 0);
    assert.equal(s, 0, `${i},${j}`);
  }
  assert.throws(() => fractionalFactorial(8, 5), /too few to estimate 8 main effects/);
});

function quadratic2(a: number, b: number): number[] { return [1, a, b, a * a, b * b, a * b]; }

test('D- and I-optimal exchange reaches the brute-force optimum for degree 2 in 2 factors on the 3×3 grid, deterministically', () => {
  const cand: number[][] = [];
  for (const a of [-1, 0, 1]) for (const b of [-1, 0, 1]) cand.push(quadratic2(a, b));
  const W = cubeMoments([[0, 0], [1, 0], [0, 1], [2, 0], [0, 2], [1, 1]]);
  for (const n of [6, 7, 9]) {
    let bestD = -Infinity, bestI = Infinity;
    const rec = (start: number, chosen: number[]): void => {
      if (chosen.length === n) {
        const s = spdInverse(information(chosen.map((i) => cand[i])));
        if (s) {
          bestD = Math.max(bestD, s.logdet);
          let t = 0;
          for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) t += s.inv[a][b] * W[b][a];
          bestI = Math.min(bestI, t);
        }
        return;
      }
      for (let i = start; i < cand.length; i++) rec(i, [...chosen, i]);
    };
    rec(0, []);
    const d = exchangeDesign({ candidates: cand, n, criterion: 'D', moments: W, starts: 8, seed: 1 });
    const i = exchangeDesign({ candidates: cand, n, criterion: 'I', moments: W, starts: 8, seed: 1 });
    assert.ok(Math.abs(d.value - bestD) < 1e-9, `n = ${n}: D ${d.value} vs optimum ${bestD}`);
    assert.ok(Math.abs(i.value - bestI) < 1e-9 * bestI, `n = ${n}: I ${i.value} vs optimum ${bestI}`);
    assert.deepEqual(exchangeDesign({ candidates: cand, n, criterion: 'D', moments: W, starts: 8, seed: 1 }).indices, d.indices);
  }
  // the 6-point D-optimum has |XᵀX| = 256 (log 5.545) on this grid
  assert.ok(Math.abs(exchangeDesign({ candidates: cand, n: 6, criterion: 'D', moments: W, starts: 8, seed: 2 }).value - Math.log(256)) < 1e-9);
});

const SPEC = (design: string, extra = '') => parseStudySpecText(`name: t
model: m
dataset: {name: sst2}
seeds: [1, 2]
${extra}design:
${design}`);

test('spec designs: snapping to allowed levels reports the coded points used; centre replicates get fresh seeds; ids are deterministic', () => {
  const s = SPEC(`  type: ccd
  variant: face_centered
  center_points: 3
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3}
    per_device_train_batch_size: {min: 8, max: 64, levels: [8, 16, 32, 64]}
    num_train_epochs: {min: 1, max: 3}
`);
  const d = codedDesign(s.design, s.args);
  assert.equal(d.runs.length, 8 + 6 + 3);
  // coded 0 of a linear 8…64 range is 36: the nearest allowed level on the coded scale is 32 (coded 0.714…)
  const centre = d.runs[d.runs.length - 1];
  assert.deepEqual(centre.config, { learning_rate: 0.0001, per_device_train_batch_size: 32, num_train_epochs: 2 });
  assert.ok(Math.abs(centre.coded[1] - (32 - 36) / 28) < 1e-12 && Math.abs(centre.coded[0]) < 1e-12);
  const trials = expandDesign(s);
  assert.equal(trials.length, (8 + 6 + 1) * 2 + 2 * 2);
  const centreSeeds = trials.filter((t) => t.config.per_device_train_batch_size === 32 && t.config.num_train_epochs === 2 && t.config.learning_rate === 0.0001).map((t) => t.seed);
  assert.deepEqual(centreSeeds, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(expandDesign(s).map((t) => t.id), trials.map((t) => t.id));
  // data_seeds (HF data_seed) cross every run of the design, the centre copies included
  const crossed = expandDesign({ ...s, data_seeds: [7, 8] });
  assert.equal(crossed.length, trials.length * 2);
  assert.deepEqual(new Set(crossed.map((t) => t.dataSeed)), new Set([7, 8]));
  assert.equal(new Set(trials.map((t) => t.id)).size, trials.length);
  // a circumscribed CCD over a linear batch-size range would need a negative batch size: one clear error
  const bad = SPEC(`  type: ccd
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3}
    per_device_train_batch_size: {min: 8, max: 64}
`);
  assert.throws(() => expandDesign(bad), /per_device_train_batch_size: the design's point at coded -1\.414 is -4 .*inscribed or face_centered/);
});

test('spec designs: d_optimal honours constraints with fixed args, reports efficiencies, is deterministic; bad constraints are one error', () => {
  const design = `  type: d_optimal
  n: 10
  seed: 5
  constraints: ['per_device_train_batch_size * gradient_accumulation_steps <= 64']
  factors:
    learning_rate: {min: 1.0e-5, max: 1.0e-3}
    per_device_train_batch_size: {values: [8, 16, 32, 64], scale: log}
    num_train_epochs: {min: 1, max: 3}
`;
  const s = SPEC(design, 'args: {gradient_accumulation_steps: 2}\n');
  const d = codedDesign(s.design, s.args);
  assert.equal(d.runs.length, 10);
  assert.ok(d.runs.every((r) => r.config.per_device_train_batch_size * 2 <= 64));
  assert.equal(d.info.optimal?.candidates, 27);
  assert.equal(d.info.optimal?.excluded_by_constraints, 9);
  const eff = d.info.optimal?.efficiencies;
  assert.ok(eff && eff.d_efficiency > 0 && eff.d_efficiency <= 100 && eff.a_efficiency > 0 && eff.i_efficiency > 0);
  assert.deepEqual(codedDesign(s.design, s.args).runs, d.runs);
  assert.throws(() => codedDesign(SPEC(design).design, {}), /unknown name gradient_accumulation_steps/);
  assert.throws(() => codedDesign(SPEC(design.replace('<= 64', '<=')).design, {}), /design\.constraints\[0\]: cannot parse/);
  // a fraction of the wrong form, a key for another design type: spec errors naming the key
  assert.throws(() => SPEC(`  type: fractional_factorial
  fraction: 1/3
  factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3}, weight_decay: {min: 0, max: 0.1}, warmup_ratio: {min: 0, max: 0.1}}
`), /design\.fraction: expected 1\/2\^p/);
  assert.throws(() => SPEC(`  type: box_behnken
  alpha: rotatable
  factors: {learning_rate: {min: 1.0e-5, max: 1.0e-3}, weight_decay: {min: 0, max: 0.1}, warmup_ratio: {min: 0, max: 0.1}}
`), /design\.alpha: only for design type ccd/);
});
