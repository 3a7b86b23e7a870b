/**
 * Per-example predictions of a study's trials, out of the store and back: `study export --predictions` writes one row
 * per (trial, evaluation example) — trial_id, example (index), label, predicted, prob_0…prob_{k−1} — as CSV, JSONL or
 * parquet (hyparquet-writer); `readPredictionsFile` reads any of the three back into per-trial predictions, so an
 * exported study can be analysed (`tunescope variability runs.csv --predictions preds.parquet`) without its store.
 * Probabilities are float32: CSV/JSONL carry each one's exact decimal (float32 → double is exact, and the
 * shortest double text reads back to the same float32); parquet stores FLOAT.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import { stringify } from 'csv-stringify/sync';
import { extname } from 'node:path';
import { readRawTable } from '../data/index.js';
import type { StudyStore, TrialPredictions } from '../store/index.js';
import { UserError, writeFileAtomic } from '../util/index.js';
import { studyRows, type StudyRow } from './rows.js';

export type PredictionsFormat = 'csv' | 'jsonl' | 'parquet';

export function predictionsFormatOf(path: string, explicit?: string): PredictionsFormat {
  const f = explicit ?? ({ '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.parquet': 'parquet' } as Record<string, string>)[extname(path).toLowerCase()];
  if (f !== 'csv' && f !== 'jsonl' && f !== 'parquet') throw new UserError(`--predictions: cannot tell the format of ${path} (use .csv, .jsonl or .parquet, or --format)`);
  return f;
}

/** Serialise predictions (trial id → predictions) to the bytes of a CSV, JSONL or parquet file. */
export function predictionsToBytes(all: Array<{ trialId: string; predictions: TrialPredictions }>, format: PredictionsFormat): Uint8Array {
  const k = Math.max(0, ...all.map((a) => a.predictions.numLabels));
  const probCols = Array.from({ length: k }, (_, j) => `prob_${j}`);
  const cols: { trial_id: string[]; example: number[]; label: number[]; predicted: number[]; probs: number[][] } = { trial_id: [], example: [], label: [], predicted: [], probs: probCols.map(() => []) };
  for (const { trialId, predictions: p } of all) {
    for (let i = 0; i < p.label.length; i++) {
      cols.trial_id.push(trialId);
      cols.example.push(p.index[i]!);
      cols.label.push(p.label[i]!);
      cols.predicted.push(p.predicted[i]!);
      for (let j = 0; j < k; j++) cols.probs[j]!.push(j < p.numLabels ? p.probabilities[i * p.numLabels + j]! : NaN);
    }
  }
  if (format === 'parquet') {
    return new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'trial_id', data: cols.trial_id, type: 'STRING' },
          { name: 'example', data: cols.example, type: 'INT32' },
          { name: 'label', data: cols.label, type: 'INT32' },
          { name: 'predicted', data: cols.predicted, type: 'INT32' },
          ...probCols.map((name, j) => ({ name, data: cols.probs[j]!, type: 'FLOAT' as const })),
        ],
      }),
    );
  }
  const n = cols.trial_id.length;
  if (format === 'jsonl') {
    const lines: string[] = [];
    for (let r = 0; r < n; r++) {
      const o: Record<string, string | number> = { trial_id: cols.trial_id[r]!, example: cols.example[r]!, label: cols.label[r]!, predicted: cols.predicted[r]! };
      probCols.forEach((c, j) => { o[c] = cols.probs[j]![r]!; });
      lines.push(JSON.stringify(o));
    }
    return Buffer.from(lines.map((l) => l + '\n').join(''));
  }
  const rows = Array.from({ length: n }, (_, r) => [cols.trial_id[r]!, cols.example[r]!, cols.label[r]!, cols.predicted[r]!, ...probCols.map((_, j) => cols.probs[j]![r]!)]);
  return Buffer.from(stringify(rows, { header: true, columns: ['trial_id', 'example', 'label', 'predicted', ...probCols] }));
}

/** `study export --predictions`: every done trial's predictions (and the baseline evaluation's). Returns the rows written. */
export async function exportPredictions(store: StudyStore, path: string, format?: string): Promise<{ trials: number; rows: number }> {
  const fmt = predictionsFormatOf(path, format);
  const all = await store.predictions();
  if (all.length === 0) throw new UserError(`${store.location} holds no per-example predictions (trials run before tunescope stored them, or none finished)`);
  writeFileAtomic(path, predictionsToBytes(all, fmt), '--predictions');
  return { trials: all.length, rows: all.reduce((a, p) => a + p.predictions.label.length, 0) };
}

function intOf(v: unknown, what: string, where: string): number {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${where}: ${what} must be a whole number ≥ 0, got ${JSON.stringify(String(v))}`);
  return n;
}

/** Read an exported predictions file (CSV, JSONL or parquet) back into per-trial predictions, in file order. */
export async function readPredictionsFile(path: string): Promise<Map<string, TrialPredictions>> {
  predictionsFormatOf(path);
  const t = await readRawTable(path);
  for (const c of ['trial_id', 'example', 'label', 'predicted']) {
    if (!t.columns.includes(c)) throw new UserError(`${path}: not a predictions file (no ${c} column; expected trial_id, example, label, predicted, prob_0, …)`);
  }
  const probCols = t.columns.filter((c) => /^prob_\d+$/.test(c)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const k = probCols.length;
  if (k < 2 || probCols.some((c, j) => c !== `prob_${j}`)) throw new UserError(`${path}: expected probability columns prob_0 … prob_{k−1} (k ≥ 2), found ${probCols.join(', ') || 'none'}`);
  const groups = new Map<string, { index: number[]; label: number[]; predicted: number[]; probs: number[] }>();
  for (const r of t.rows) {
    const where = `${path}:${r.line}`;
    if (r.problem) throw new UserError(`${where}: ${r.problem}`);
    const id = String(r.values.trial_id ?? '');
    if (id === '') throw new UserError(`${where}: empty trial_id`);
    const g = groups.get(id) ?? { index: [], label: [], predicted: [], probs: [] };
    g.index.push(intOf(r.values.example, 'example', where));
    g.label.push(intOf(r.values.label, 'label', where));
    g.predicted.push(intOf(r.values.predicted, 'predicted', where));
    for (const c of probCols) {
      const v = r.values[c];
      const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(x) || x < 0 || x > 1) throw new UserError(`${where}: ${c} must be a probability in [0, 1], got ${JSON.stringify(String(v))}`);
      g.probs.push(x);
    }
    groups.set(id, g);
  }
  const out = new Map<string, TrialPredictions>();
  for (const [id, g] of groups) {
    out.set(id, { numLabels: k, index: Uint32Array.from(g.index), label: Int32Array.from(g.label), predicted: Int32Array.from(g.predicted), probabilities: Float32Array.from(g.probs) });
  }
  return out;
}

/** A study's done design trials as rows (with `trial_id`), their predictions aligned by row, and the baseline trials'. */
export async function studyNoiseRows(store: StudyStore): Promise<{
  rows: StudyRow[];
  predictions: Array<TrialPredictions | null>;
  factors: string[];
  seedColumns: string[];
  baseline: { rows: StudyRow[]; predictions: Array<TrialPredictions | null> } | null;
}> {
  const table = await studyRows(store);
  const byTrial = new Map((await store.predictions()).map((p) => [p.trialId, p.predictions]));
  const all = await studyRows(store, { all: true });
  const base = all.rows.filter((r) => r.status === 'done' && typeof r.role === 'string' && r.role !== 'design');
  const varying = table.factors.filter((f) => new Set(table.rows.map((r) => r[f])).size > 1);
  return {
    rows: table.rows,
    predictions: table.rows.map((r) => byTrial.get(String(r.trial_id)) ?? null),
    factors: varying.length > 0 ? varying : table.factors,
    seedColumns: ['seed', ...(table.columns.includes('data_seed') ? ['data_seed'] : [])],
    baseline: base.length > 0 ? { rows: base, predictions: base.map((r) => byTrial.get(String(r.trial_id)) ?? null) } : null,
  };
}
