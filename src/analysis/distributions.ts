/**
 * Tail probabilities and quantiles for the OLS inference, from @stdlib (regularized incomplete beta / erfc).
 * Tails are always computed directly (never as 1 − cdf) so tiny p-values keep their relative accuracy.
 * The Student-t quantile from @stdlib is only ~1e-9 accurate; it is refined here by Newton steps on the
 * (accurate) cdf so 95 % intervals match an exact reference to ~1e-14.
 */
import type BetaincModule from '@stdlib/math-base-special-betainc';
import type TdistModule from '@stdlib/stats-base-dists-t';
import type NormalModule from '@stdlib/stats-base-dists-normal';
import { lazyRequire } from '../util/index.js';
// required on first use (see util/lazy.ts)
const betainc = lazyRequire<typeof BetaincModule>('@stdlib/math-base-special-betainc');
const tdist = lazyRequire<typeof TdistModule>('@stdlib/stats-base-dists-t');
const normal = lazyRequire<typeof NormalModule>('@stdlib/stats-base-dists-normal');

/** Two-sided Student-t p-value 2·P(T_df > |t|). */
export function tTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, 2 * tdist().cdf(-Math.abs(t), df));
}

/** Two-sided normal p-value 2·Φ(−|z|). */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return Math.min(1, 2 * normal().cdf(-Math.abs(z), 0, 1));
}

/** Upper tail P(F_{d1,d2} > f). */
export function fUpperP(f: number, d1: number, d2: number): number {
  if (Number.isNaN(f) || !(d1 > 0) || !(d2 > 0)) return NaN;
  if (f <= 0) return 1;
  if (f === Infinity) return 0;
  const d1x = d1 * f;
  // pick the argument that avoids cancellation (as @stdlib's cdf does for the lower tail)
  if (d1x > d2) return betainc()(d2 / (d2 + d1x), d2 / 2, d1 / 2, true, false);
  return betainc()(d1x / (d2 + d1x), d1 / 2, d2 / 2, true, true);
}

/** Student-t density. */
export function tPdf(x: number, df: number): number {
  return tdist().pdf(x, df);
}

/** Upper quantile q with P(T_df > q) = alpha (alpha < 0.5), refined by Newton steps on the tail. */
export function tUpperQuantile(alpha: number, df: number): number {
  if (!(df > 0) || !(alpha > 0 && alpha < 1)) return NaN;
  let q = tdist().quantile(1 - alpha, df);
  if (!Number.isFinite(q)) return q;
  for (let i = 0; i < 8; i++) {
    const tail = tdist().cdf(-q, df); // P(T > q) for q > 0, computed without cancellation
    const step = (tail - alpha) / tdist().pdf(q, df);
    q += step;
    if (Math.abs(step) <= 1e-16 * Math.abs(q)) break;
  }
  return q;
}

/** 97.5 % normal quantile as statsmodels uses it (scipy norm.ppf(0.975)). */
export const Z_975 = 1.959963984540054;
