// Every OLS golden fixture in ../shared/fixtures/ols/expected: the exact `reference` block (for rank-deficient fits
// `reference_r_convention` where it has the key — coefficients, robust F, BH, VIF and type-II ANOVA of the model
// with the aliased columns removed), stationary point and 41³ grid optimum, at 1e-8 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../helpers.js';
import { compareFit, compareSurface, fitFixture, loadFixtures } from './ols-compare.js';

const OLS = sharedPath('fixtures', 'ols');
const fixtures = loadFixtures(OLS);

test('there are fixtures to check', () => {
  assert.ok(fixtures.length >= 60, `expected ≥ 60 fixtures, found ${fixtures.length}`);
});

for (const fx of fixtures) {
  test(`fixture ${fx.id}`, () => {
    const fit = fitFixture(OLS, fx);
    const r = compareFit(fx, fit as unknown as Record<string, unknown>);
    const s = compareSurface(fx, fit);
    const bad = [...r.mismatches, ...s.mismatches];
    assert.ok(r.checks > 150, `too few checks (${r.checks})`);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} quantities off by more than 1e-8 relative`);
    if (fx.rank_deficient) {
      // README convention 13: VIF and type-II ANOVA of the fitted model (aliased columns removed) are compared
      assert.ok(fx.reference_r_convention && 'vif' in fx.reference_r_convention && 'anova_type2' in fx.reference_r_convention, 'reference_r_convention has vif and anova_type2');
      assert.equal(stationaryOk(fit), false, 'no stationary point on a rank-deficient fit');
    }
  });
}

function stationaryOk(fit: { aliased: string[] }): boolean {
  return fit.aliased.length === 0;
}
