/**
 * `npm run bench -- designs`: for the paper's three factors (learning rate on log10, batch size 8–32 on log2,
 * epochs 1–3) and a degree-2 model, what each design needs and what it gives: runs, whether every term is estimable,
 * D-/A-/I-efficiency, and the predicted SE of each coefficient (coded units, σ = 1) at equal total trials — the
 * design replicated (T / runs) times, so SE = SE(one copy) · √(runs / T).
 */
import { cubeMoments, designRuns, efficiencies, encode, parseStudySpec, type StudySpec } from '../src/study/index.js';
import { modelRows } from '../src/study/coded.js';
import { describeAliases, fitOls } from '../src/analysis/index.js';

export const name = 'designs';

const FACTORS = {
  learning_rate: { min: 1e-5, max: 5e-5 },
  per_device_train_batch_size: { min: 8, max: 32, scale: 'log' },
  num_train_epochs: { min: 1, max: 3 },
};
const TOTAL = 60;

function spec(design: Record<string, unknown>, factors: Record<string, unknown> = FACTORS): StudySpec {
  return parseStudySpec({ name: 'b', model: 'm', dataset: { name: 'sst2' }, design: { ...design, factors }, analysis: { degree: 2 } });
}

export async function run(): Promise<void> {
  const grid = (lr: number[], bs: number[], ep: number[]) => spec({ type: 'grid' }, { learning_rate: lr, per_device_train_batch_size: { values: bs, scale: 'log' }, num_train_epochs: ep });
  const designs: [string, StudySpec][] = [
    ['grid 3×3×3', grid([1e-5, 2.236e-5, 5e-5], [8, 16, 32], [1, 2, 3])],
    ['grid 3×4×3 (paper)', grid([1e-5, 2e-5, 3e-5, 5e-5], [8, 16, 32], [1, 2, 3])],
    ['grid 2×2×2', grid([1e-5, 5e-5], [8, 32], [1, 3])],
    ['CCD face-centred, 1 centre', spec({ type: 'ccd', variant: 'face_centered', center_points: 1 })],
    ['CCD face-centred, 3 centres', spec({ type: 'ccd', variant: 'face_centered', center_points: 3 })],
    ['CCD inscribed rotatable, 3 c.', spec({ type: 'ccd', variant: 'inscribed', alpha: 'rotatable', center_points: 3 })],
    ['Box–Behnken, 3 centres', spec({ type: 'box_behnken', center_points: 3 })],
    ['D-optimal n = 15 (3³ cands)', spec({ type: 'd_optimal', n: 15, seed: 1 })],
    ['I-optimal n = 15 (3³ cands)', spec({ type: 'i_optimal', n: 15, seed: 1 })],
  ];
  const short = ['lr', 'bs', 'ep'];
  const header = ['design'.padEnd(30), 'runs'.padStart(5), 'est.'.padStart(6), 'D %'.padStart(6), 'A %'.padStart(6), 'I %'.padStart(6), 'ms'.padStart(6)]; // ms: building the design
  let terms: string[] = [];
  const rows: string[] = [];
  for (const [label, s] of designs) {
    const t0 = performance.now();
    // every run, repeats included (centre points), in coded units on the design's own factor ranges
    const coded = designRuns(s.design).map((c) => s.design.factors.map((f) => encode(f, c[f.name])));
    const ms = performance.now() - t0;
    const mr = modelRows(short, coded, 2);
    terms = mr.terms;
    const columns = mr.terms.map((_, j) => mr.rows.map((r) => r[j]));
    const al = describeAliases(mr.terms, columns);
    const eff = al.aliased.length === 0 ? efficiencies(mr.rows, cubeMoments(mr.powers)) : null;
    let ses: (number | null)[] = mr.terms.map(() => null);
    if (mr.rows.length > al.kept.length) {
      // (XᵀX)⁻¹ does not depend on the response: any stands in
      const fit = fitOls({ terms: mr.terms, factors: mr.terms.map((t) => (t === 'Intercept' ? [] : t.split(':'))), columns, y: mr.rows.map((_, i) => Math.sin(i * 7.1)) });
      ses = fit.normalized_cov_params.map((row, j) => (row[j] === null ? null : Math.sqrt(row[j] as number) * Math.sqrt(mr.rows.length / TOTAL)));
    }
    rows.push([
      label.padEnd(30), String(coded.length).padStart(5), `${mr.terms.length - al.aliased.length}/${mr.terms.length}`.padStart(6),
      (eff ? eff.d_efficiency.toFixed(1) : '—').padStart(6), (eff ? eff.a_efficiency.toFixed(1) : '—').padStart(6), (eff ? eff.i_efficiency.toFixed(1) : '—').padStart(6),
      ms.toFixed(0).padStart(6), ...ses.map((v) => (v === null ? 'aliased' : v.toFixed(3)).padStart(8)),
    ].join(' '));
  }
  console.log(`paper factors (lr 1e-5…5e-5 log10, batch size 8…32 log2, epochs 1…3), degree 2; SE per coefficient in coded units at σ = 1 and ${TOTAL} total trials`);
  console.log([...header, ...terms.map((t) => t.padStart(8))].join(' '));
  for (const r of rows) console.log(r);
}
