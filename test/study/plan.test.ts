// `study plan`: aliasing of the analysis model on a grid that cannot estimate it, predicted SEs and power against
// closed forms (2×2 factorial × 3 seeds: SE = σ/(√N·half-range); power from scipy's noncentral t), the JSON keys,
// and `study run` refusing an aliased design unless analysis.allow_aliased.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aliasedDesignError, parseStudySpecText, planStudy, runStudy } from '../../src/study/index.js';
import { runCli, tempDir } from '../helpers.js';

const GRID = `name: g
model: m
dataset: {name: sst2}
seeds: [1, 2]
design:
  type: grid
  factors:
    learning_rate: [1.0e-3, 2.0e-3, 4.0e-3]
    per_device_train_batch_size: [16, 32]
    num_train_epochs: [1, 3]
`;

test('a grid with two levels of batch size and epochs: squares aliased with their chains, a CCD recommended', () => {
  const p = planStudy(parseStudySpecText(GRID), { sigma: 0.01 });
  assert.equal(p.n_trials, 24);
  assert.deepEqual(p.aliased_terms, ['per_device_train_batch_size^2', 'num_train_epochs^2']);
  assert.equal(p.alias_chains['per_device_train_batch_size^2'], 'per_device_train_batch_size^2 = −512 + 48·per_device_train_batch_size');
  assert.equal(p.alias_chains['num_train_epochs^2'], 'num_train_epochs^2 = −3 + 4·num_train_epochs');
  assert.equal(p.condition_number, Infinity);
  assert.equal(p.d_efficiency, null);
  assert.equal(p.vif['num_train_epochs^2'], null);
  assert.equal(p.predicted_se?.['num_train_epochs^2'], null);
  assert.equal(p.power, undefined, 'no power on a model that cannot be fitted');
  assert.match(p.recommendations[0], /^degree 2 needs ≥3 levels of per_device_train_batch_size, num_train_epochs: use ccd \(variant: face_centered\) or box_behnken; a face-centred CCD over the same ranges has 30 trials \(2 seed\(s\)\) and estimates every term, surface SE .* at the centre/);
  assert.match(aliasedDesignError(parseStudySpecText(GRID)) ?? '', /aliased: per_device_train_batch_size\^2 = −512 \+ 48·per_device_train_batch_size; num_train_epochs\^2 = .*allow_aliased: true/);
  assert.equal(aliasedDesignError(parseStudySpecText(`${GRID}analysis: {allow_aliased: true}\n`)), null);
  assert.equal(aliasedDesignError(parseStudySpecText(`${GRID}analysis: {degree: 1}\n`)), null);
});

test('predicted SEs and power equal the closed forms of a replicated 2×2 factorial', () => {
  const spec = parseStudySpecText(`name: f
model: m
dataset: {name: sst2}
seeds: [1, 2, 3]
design:
  type: grid
  factors:
    weight_decay: [0, 0.1]
    warmup_ratio: [0, 0.2]
analysis: {degree: 1}
`);
  const sigma = 0.01;
  const p = planStudy(spec, { sigma, effect: 0.01 });
  assert.equal(p.residual_df, 9);
  const close = (a: number | null | undefined, e: number, what: string) => assert.ok(a !== null && a !== undefined && Math.abs(a - e) <= 1e-12 * e, `${what}: ${a} vs ${e}`);
  close(p.predicted_se?.weight_decay, sigma / (Math.sqrt(12) * 0.05), 'SE weight_decay');
  close(p.predicted_se?.warmup_ratio, sigma / (Math.sqrt(12) * 0.1), 'SE warmup_ratio');
  // surface SE at the centre of a degree-1 orthogonal design: σ/√N
  close(p.predicted_se_surface?.centre.se, sigma / Math.sqrt(12), 'centre');
  // scipy: nct.sf(t.ppf(.975, 9), 9, 1.7320508) + nct.cdf(−t.ppf(.975, 9), 9, 1.7320508)
  for (const t of ['weight_decay', 'warmup_ratio']) assert.ok(Math.abs((p.power?.[t] ?? NaN) - 0.340745421625539) < 1e-6, `power ${t}: ${p.power?.[t]}`);
  assert.ok(p.d_efficiency !== null && Math.abs(p.d_efficiency - 100) < 1e-9, 'a 2² factorial is 100 % D-efficient for the main effects');
  assert.deepEqual(p.recommendations.filter((r) => /power/.test(r)).length, 1);
});

test('study run refuses an aliased design (alias list in the error) before creating a store; plan --json writes the listed keys', async () => {
  const d = tempDir();
  try {
    const specPath = join(d.path, 'g.yaml');
    writeFileSync(specPath, `${GRID}store: ./g.sqlite\n`);
    await assert.rejects(() => runStudy(specPath, { runner: async () => ({ metrics: { accuracy: 0.5 }, epochs: [] }) }), /the design cannot estimate the degree-2 analysis model — aliased: per_device_train_batch_size\^2/);
    assert.equal(existsSync(join(d.path, 'g.sqlite')), false);
    const out = join(d.path, 'plan.json');
    const r = runCli(['study', 'plan', specPath, '--sigma', '0.01', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ALIASED: per_device_train_batch_size\^2, num_train_epochs\^2/);
    assert.match(r.stdout, /recommendations:\n  - degree 2 needs ≥3 levels/);
    const j = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    for (const k of ['n_trials', 'trials', 'terms', 'estimable_terms', 'aliased_terms', 'alias_chains', 'condition_number', 'vif', 'd_efficiency', 'predicted_se', 'estimated_hours', 'recommendations']) assert.ok(k in j, k);
    const t0 = (j.trials as Record<string, unknown>[])[0];
    assert.deepEqual(Object.keys(t0).filter((k) => ['id', 'config', 'coded', 'seed', 'block'].includes(k)).sort(), ['block', 'coded', 'config', 'id', 'seed']);
    assert.equal(existsSync(join(d.path, 'g.sqlite')), false, 'plan never creates the store');
    const both = runCli(['study', 'plan', specPath, '--sigma', '0.01', '--pilot', specPath]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /^tunescope: error: give --sigma or --pilot, not both\n$/);
  } finally {
    d.cleanup();
  }
});
