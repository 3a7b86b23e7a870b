/** `npm run parity` on every shared golden fixture: forward, loss, all gradients, one AdamW step (both groupings). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, sharedPath } from '../helpers.js';
import { runParity } from '../../scripts/parity.js';

for (const fixture of ['tiny-a', 'tiny-c']) {
  test(`parity with the ${fixture} fixture (HF DistilBertForSequenceClassification numerics)`, async () => {
    const results = await runParity(sharedPath('fixtures', 'distilbert', fixture));
    const failed = results.filter((r) => !r.ok).map((r) => `${r.check}: max_abs ${r.maxAbs} max_rel ${r.maxRel} (${r.tol}) ${r.note ?? ''}`);
    assert.deepEqual(failed, []);
    // the checks that matter are all present
    for (const c of ['logits', 'loss', 'hidden_cls_first8', 'grads l2_norm', 'grads sum', 'adamw_all_decay params first5', 'adamw_hf_groups logits_after_step']) {
      assert.ok(results.some((r) => r.check === c), `missing check ${c}`);
    }
  });
}

test('parity with a generated 3-label fixture of another shape (independent numpy reference, test/model/parity-fixtures)', async () => {
  const results = await runParity(join(ROOT, 'test', 'model', 'parity-fixtures', 'tiny-3label'));
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => r.check), []);
  assert.ok(results.length > 25);
});

test('npm run parity CLI: exit 0 on a fixture, 2 on a folder that is not one', () => {
  const ok = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/parity.ts'), sharedPath('fixtures', 'distilbert', 'tiny-a')], { encoding: 'utf8', cwd: ROOT });
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /ok {3}tiny-a {3}logits/);
  assert.match(ok.stdout, /all checks within tolerance/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/parity.ts'), ROOT], { encoding: 'utf8', cwd: ROOT });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has no config.json|has no model.safetensors|has no inputs.json|has no expected.json/);
});
