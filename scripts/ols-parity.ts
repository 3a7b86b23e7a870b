/**
 * `npm run ols-parity [-- OLS_FIXTURE_DIR]`: fits every OLS golden fixture (default ../shared/fixtures/ols) and
 * prints, per fixture, the number of checked quantities, the largest relative error (README tolerance rule)
 * and where it occurred (rank-deficient fixtures: against `reference_r_convention`, whose VIF and type-II ANOVA
 * describe the model with the aliased columns removed); exits 1 if any quantity is off by more than 1e-8.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareFit, compareSurface, fitFixture, loadFixtures } from '../test/analysis/ols-compare.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dir = resolve(process.argv[2] ?? resolve(root, '..', 'shared', 'fixtures', 'ols'));
let worst = 0;
let failed = 0;
let checks = 0;
for (const fx of loadFixtures(dir)) {
  const fit = fitFixture(dir, fx);
  const r = compareFit(fx, fit as unknown as Record<string, unknown>);
  const s = compareSurface(fx, fit);
  const maxRel = Math.max(r.maxRel, s.maxRel);
  const key = r.maxRel >= s.maxRel ? r.maxKey : s.maxKey;
  const bad = r.mismatches.length + s.mismatches.length;
  checks += r.checks + s.checks;
  worst = Math.max(worst, maxRel);
  if (bad > 0) failed++;
  const conv = r.rConvention.length > 0 ? `  R convention: ${['vif', 'anova_type2'].filter((k) => r.rConvention.includes(k)).join(', ') || 'coefficients only'}` : '';
  console.log(`${fx.id.padEnd(48)} checks ${String(r.checks + s.checks).padStart(4)}  max rel ${maxRel.toExponential(2)}  (${key})${conv}${bad ? `  FAIL ${bad}` : ''}`);
  for (const m of [...r.mismatches, ...s.mismatches].slice(0, 3)) console.log(`    ${m.key}: ${JSON.stringify(m.actual)} vs ${JSON.stringify(m.expected)}`);
}
console.log(`\n${checks} checks, worst relative error ${worst.toExponential(2)}; ${failed} fixture(s) over 1e-8`);
process.exit(failed > 0 ? 1 : 0);
