/**
 * Dense linear algebra for OLS on small designs (n up to thousands, p ≤ ~30), column-major Float64Arrays.
 *
 * Written here rather than taken from ml-matrix because the numerics need things it lacks:
 *  - a Householder QR with R's `dqrdc2` "limited pivoting": columns are scaled to unit norm and taken in
 *    term order; a column whose remaining norm (its residual after projecting on the kept columns) falls
 *    below `tol` of its norm is aliased and skipped — this is how R reports aliased (NA) coefficients;
 *  - a one-sided (Hestenes) Jacobi SVD, whose singular values are accurate relative to each value even
 *    for raw-learning-rate designs (cond ~1e13), where a bidiagonal SVD loses ~1e-6 relative.
 *  - a cyclic two-sided Jacobi eigensolver for small symmetric matrices: a degree-2 surface in raw units has
 *    B entries spanning ~1e12 (lr² vs bs²), where tridiagonal QR (ml-matrix's EVD) loses the small eigenvalues
 *    entirely, while Jacobi keeps them to high relative accuracy.
 */

/** R's lm() tolerance for aliasing (qr tol 1e-7, relative to the column's norm). */
export const ALIAS_TOL = 1e-7;

export interface Qr {
  n: number;
  /** indices (into the input column list) of the kept, linearly independent columns, in order */
  kept: number[];
  /** indices of aliased columns */
  aliased: number[];
  /** per aliased column: its relative residual after projecting on the kept columns before it (0 for a zero column) */
  aliasResidual: number[];
  /** Euclidean norm of every input column (the unit-norm scaling) */
  norms: number[];
  /** r×r upper-triangular factor of the scaled kept columns, row-major r[i][j] */
  r: number[][];
  /** Householder vectors (full length n, zeros above the pivot) and scalars */
  v: Float64Array[];
  beta: number[];
}

function applyReflection(v: Float64Array, beta: number, x: Float64Array, start: number): void {
  let s = 0;
  for (let i = start; i < x.length; i++) s += v[i] * x[i];
  s *= beta;
  if (s === 0) return;
  for (let i = start; i < x.length; i++) x[i] -= s * v[i];
}

/** Householder QR of the unit-norm-scaled columns with sequential alias detection. */
export function qrAliased(cols: ArrayLike<number>[], n: number, tol = ALIAS_TOL): Qr {
  const kept: number[] = [];
  const aliased: number[] = [];
  const aliasResidual: number[] = [];
  const norms: number[] = [];
  const v: Float64Array[] = [];
  const beta: number[] = [];
  const rcols: number[][] = []; // column k of R (length k+1)
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j];
    let nrm = 0;
    {
      // scaled sum of squares (no overflow/underflow for any column scale)
      let mx = 0;
      for (let i = 0; i < n; i++) mx = Math.max(mx, Math.abs(c[i]));
      if (mx > 0) {
        let s = 0;
        for (let i = 0; i < n; i++) { const t = c[i] / mx; s += t * t; }
        nrm = mx * Math.sqrt(s);
      }
    }
    norms.push(nrm);
    if (!(nrm > 0) || !Number.isFinite(nrm)) { aliased.push(j); aliasResidual.push(0); continue; }
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = c[i] / nrm;
    const k = kept.length;
    for (let h = 0; h < k; h++) applyReflection(v[h], beta[h], x, h);
    let rest = 0;
    for (let i = k; i < n; i++) rest += x[i] * x[i];
    rest = Math.sqrt(rest);
    if (k >= n || rest < tol) { aliased.push(j); aliasResidual.push(k >= n ? 0 : rest); continue; }
    const alpha = x[k] >= 0 ? -rest : rest;
    const hv = new Float64Array(n);
    hv[k] = x[k] - alpha;
    for (let i = k + 1; i < n; i++) hv[i] = x[i];
    let vv = 0;
    for (let i = k; i < n; i++) vv += hv[i] * hv[i];
    v.push(hv);
    beta.push(vv > 0 ? 2 / vv : 0);
    const rc: number[] = [];
    for (let i = 0; i < k; i++) rc.push(x[i]);
    rc.push(alpha);
    rcols.push(rc);
    kept.push(j);
  }
  const rk = kept.length;
  const r: number[][] = Array.from({ length: rk }, () => new Array<number>(rk).fill(0));
  for (let j = 0; j < rk; j++) for (let i = 0; i <= j; i++) r[i][j] = rcols[j][i];
  return { n, kept, aliased, aliasResidual, norms, r, v, beta };
}

/** Qᵀx (full n-vector). */
export function applyQt(qr: Qr, x: ArrayLike<number>): Float64Array {
  const y = Float64Array.from(x as ArrayLike<number>);
  for (let h = 0; h < qr.v.length; h++) applyReflection(qr.v[h], qr.beta[h], y, h);
  return y;
}

/** Qx (full n-vector). */
export function applyQ(qr: Qr, x: ArrayLike<number>): Float64Array {
  const y = Float64Array.from(x as ArrayLike<number>);
  for (let h = qr.v.length - 1; h >= 0; h--) applyReflection(qr.v[h], qr.beta[h], y, h);
  return y;
}

/** Residual of x after projecting on the kept columns' span: Q·[0; (Qᵀx)_{r..}]. */
export function residualOf(qr: Qr, x: ArrayLike<number>): Float64Array {
  const c = applyQt(qr, x);
  for (let i = 0; i < qr.kept.length; i++) c[i] = 0;
  return applyQ(qr, c);
}

/** Projection of x on the kept columns' span. */
export function projectionOf(qr: Qr, x: ArrayLike<number>): Float64Array {
  const c = applyQt(qr, x);
  for (let i = qr.kept.length; i < qr.n; i++) c[i] = 0;
  return applyQ(qr, c);
}

/** Thin Q (n×r) as r columns. */
export function thinQ(qr: Qr): Float64Array[] {
  const out: Float64Array[] = [];
  for (let k = 0; k < qr.kept.length; k++) {
    const e = new Float64Array(qr.n);
    e[k] = 1;
    out.push(applyQ(qr, e));
  }
  return out;
}

/** Inverse of an upper-triangular matrix (row-major). */
export function invUpper(r: number[][]): number[][] {
  const k = r.length;
  const inv: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let j = 0; j < k; j++) {
    inv[j][j] = 1 / r[j][j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let m = i + 1; m <= j; m++) s += r[i][m] * inv[m][j];
      inv[i][j] = -s / r[i][i];
    }
  }
  return inv;
}

/** Solve R x = b for upper-triangular R. */
export function solveUpper(r: number[][], b: ArrayLike<number>): number[] {
  const k = r.length;
  const x = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i];
    for (let m = i + 1; m < k; m++) s -= r[i][m] * x[m];
    x[i] = s / r[i][i];
  }
  return x;
}

export function sumSq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Singular values (descending) by one-sided Jacobi on a copy of the columns. */
export function jacobiSingularValues(cols: ArrayLike<number>[], n: number): number[] {
  const p = cols.length;
  const a = cols.map((c) => Float64Array.from(c as ArrayLike<number>));
  const tol = 1e-15;
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let j = 0; j < p - 1; j++) {
      for (let k = j + 1; k < p; k++) {
        const xj = a[j];
        const xk = a[k];
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < n; i++) { alpha += xj[i] * xj[i]; beta += xk[i] * xk[i]; gamma += xj[i] * xk[i]; }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < n; i++) {
          const u = xj[i], w = xk[i];
          xj[i] = cs * u - sn * w;
          xk[i] = sn * u + cs * w;
        }
      }
    }
    if (!rotated) break;
  }
  return a.map((c) => Math.sqrt(sumSq(c))).sort((x, y) => y - x);
}

/** Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(m: number[][]): { values: number[]; vectors: number[][] } {
  const k = m.length;
  const a = m.map((row) => row.slice());
  const v: number[][] = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p][q];
        if (apq === 0) continue;
        const app = a[p][p], aqq = a[q][q];
        // skip when negligible relative to the geometric mean of the diagonal (relative-accuracy criterion)
        if (Math.abs(apq) <= 1e-17 * Math.sqrt(Math.abs(app * aqq))) { a[p][q] = 0; a[q][p] = 0; continue; }
        rotated = true;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r][p], arq = a[r][q];
          a[r][p] = c * arp - s * arq;
          a[r][q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p][r], aqr = a[q][r];
          a[p][r] = c * apr - s * aqr;
          a[q][r] = s * apr + c * aqr;
        }
        a[p][p] = app - t * apq;
        a[q][q] = aqq + t * apq;
        a[p][q] = 0;
        a[q][p] = 0;
        for (let r = 0; r < k; r++) {
          const vrp = v[r][p], vrq = v[r][q];
          v[r][p] = c * vrp - s * vrq;
          v[r][q] = s * vrp + c * vrq;
        }
      }
    }
    if (!rotated) break;
  }
  const values = a.map((row, i) => row[i]);
  const order = values.map((_, i) => i).sort((i, j) => values[i] - values[j]);
  return { values: order.map((i) => values[i]), vectors: v.map((row) => order.map((i) => row[i])) };
}
