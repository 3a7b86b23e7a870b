/**
 * `tunescope variability DATA.csv|STORE` — how much of a sweep is noise (variance components, evaluation noise,
 * diverged runs, expected best-of-n, mixed model) — and `tunescope compare DATA|STORE --a … --b …` — P(A > B) over
 * paired seeds with bootstrap CIs, McNemar per pair and a plain verdict.
 */
import { Command } from 'commander';
import { tUpperQuantile, compareRuns, formatNoiseAnalysis, noiseToJson, analyzeNoise, type Row, type Cell, type ExamplePredictions, type RunScore } from '../../analysis/index.js';
import { isSqliteFile, openStore } from '../../store/index.js';
import { readPredictionsFile, studyNoiseRows } from '../../study/index.js';
import { UserError, checkOutputPath, parseDecimal, stringifyJson, writeFileAtomic } from '../../util/index.js';
import { list, positiveInt } from '../options.js';
import { IMPORT_SOURCES_HELP, addSourceOptions, expectInputs, inputLabel, loadImportedInput, type SourceCliOptions } from '../sources.js';
import { readRunsCsv } from '../../import/index.js';

const number = (flag: string, check: (x: number) => boolean = Number.isFinite) => (v: string): number => {
  const x = parseDecimal(v);
  if (x === null || !check(x)) throw new UserError(`${flag}: invalid value ${JSON.stringify(v)}`);
  return x;
};

interface Loaded {
  rows: Row[];
  predictions: Array<ExamplePredictions | null> | null;
  configColumns: string[];
  seedColumns: string[];
  source: string;
  /** store only: the baseline trials' rows and predictions (for `compare --b baseline`) */
  baseline: { rows: Row[]; predictions: Array<ExamplePredictions | null> } | null;
  notes: string[];
}

/** seed, and data_seed where a run has one (an import, or its CSV, has the column also when no run knows it). */
function presentSeedColumns(rows: Row[]): string[] {
  return ['seed', ...(rows.some((r) => r.data_seed !== null && r.data_seed !== undefined && r.data_seed !== '') ? ['data_seed'] : [])];
}

interface LoadOptions extends SourceCliOptions {
  config?: string;
  seedCols?: string;
  predictions?: string;
}

/**
 * A source `tunescope import` reads (its complete runs; config default: its hyperparameters), a study store, or a
 * CSV/TSV (an `import` CSV keeps its complete runs).
 */
async function load(data: string, o: LoadOptions): Promise<Loaded> {
  const read = await loadImportedInput(data, o);
  if (read?.imported) {
    const source = inputLabel(data);
    if (o.predictions) throw new UserError(`--predictions: ${source} is an imported source (per-example predictions go with a CSV that has a trial_id column, or a study store)`);
    const rows = read.table.rows;
    const configColumns = o.config ? list(o.config) : read.imported.factors;
    if (configColumns.length === 0) throw new UserError(`${source}: no hyperparameters in the imported runs; name the configuration columns with --config`);
    return { rows, predictions: null, configColumns, seedColumns: o.seedCols ? list(o.seedCols) : presentSeedColumns(rows), source, baseline: null, notes: [...read.notes] };
  }
  const notes: string[] = [];
  if (isSqliteFile(data)) {
    const store = openStore(data, { readonly: true });
    try {
      const s = await studyNoiseRows(store);
      const seedColumns = o.seedCols ? list(o.seedCols) : s.seedColumns;
      return { rows: s.rows, predictions: s.predictions.some((p) => p) ? s.predictions : null, configColumns: o.config ? list(o.config) : s.factors, seedColumns, source: data, baseline: s.baseline, notes };
    } finally {
      await store.close();
    }
  }
  const { table, notes: readNotes } = readRunsCsv(data, o);
  notes.push(...readNotes);
  if (!o.config) throw new UserError(`--config is required for a CSV/TSV (the hyperparameter columns, e.g. learning_rate,per_device_train_batch_size,num_train_epochs)`);
  const seedColumns = o.seedCols ? list(o.seedCols) : table.columns.includes('data_seed') ? presentSeedColumns(table.rows) : ['seed'];
  let predictions: Array<ExamplePredictions | null> | null = null;
  if (o.predictions) {
    if (!table.columns.includes('trial_id')) throw new UserError(`--predictions needs a trial_id column in ${data} to match rows with predictions`);
    const byTrial = await readPredictionsFile(o.predictions);
    predictions = table.rows.map((r) => byTrial.get(String(r.trial_id)) ?? null);
    const matched = predictions.filter((p) => p).length;
    notes.push(`predictions for ${matched} of ${table.rows.length} rows from ${o.predictions}`);
  }
  return { rows: table.rows, predictions, configColumns: list(o.config), seedColumns, source: data, baseline: null, notes };
}

export interface VariabilityCliOptions extends SourceCliOptions {
  config?: string;
  seedCols?: string;
  metric: string;
  predictions?: string;
  json?: string;
  excludeDiverged?: boolean;
  divergedSe?: number;
  divergedLoss?: number;
  majorityRate?: number;
  evalN?: number;
  bootstrap?: number;
  bootstrapSeed?: number;
  degree?: string;
  logLr?: boolean;
}

export async function runVariability(data: string, o: VariabilityCliOptions, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  if (o.json) checkOutputPath(o.json, '--json');
  const d = await load(data, o);
  const degree = o.degree === undefined ? 2 : parseDecimal(String(o.degree));
  if (degree !== 1 && degree !== 2 && degree !== 3) throw new UserError(`--degree must be 1, 2 or 3 (got ${o.degree})`);
  const a = analyzeNoise(d.rows, {
    configColumns: d.configColumns,
    seedColumns: d.seedColumns,
    metric: o.metric,
    ...(d.predictions ? { predictions: d.predictions } : {}),
    diverged: {
      ...(o.divergedSe !== undefined ? { se_multiplier: o.divergedSe } : {}),
      ...(o.divergedLoss !== undefined ? { max_loss: o.divergedLoss } : {}),
      ...(o.majorityRate !== undefined ? { majority_rate: o.majorityRate } : {}),
      ...(o.evalN !== undefined ? { eval_n: o.evalN } : {}),
    },
    excludeDiverged: Boolean(o.excludeDiverged),
    model: { degree, ...(o.logLr !== undefined ? { logLr: o.logLr } : {}) },
    bootstrap: { ...(o.bootstrap !== undefined ? { B: o.bootstrap } : {}), ...(o.bootstrapSeed !== undefined ? { seed: o.bootstrapSeed } : {}) },
  });
  out(`${[`${d.source}: ${d.rows.length} rows`, ...d.notes].join('\n')}\n${formatNoiseAnalysis(a)}\n`);
  if (o.json) {
    writeFileAtomic(o.json, stringifyJson(noiseToJson(a)) + '\n', '--json');
    out(`wrote ${o.json}\n`);
  }
}

/** `learning_rate=2e-5,per_device_train_batch_size=16` → a row filter (numbers compared as numbers). */
function selector(v: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of list(v)) {
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (!m) throw new UserError(`${flag}: expected COLUMN=VALUE[,COLUMN=VALUE…] or baseline, got "${part}"`);
    out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

function matches(r: Row, sel: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => {
    const c: Cell | undefined = r[k];
    if (c === undefined || c === null) return false;
    const a = Number(c), b = Number(v);
    return Number.isFinite(a) && Number.isFinite(b) && v !== '' ? Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) : String(c) === v;
  });
}

export interface CompareCliOptions extends SourceCliOptions {
  a?: string;
  b?: string;
  metric: string;
  config?: string;
  seedCols?: string;
  predictions?: string;
  json?: string;
  bootstrap?: number;
  bootstrapSeed?: number;
  /** the second input's Optuna study / MLflow experiment (default: --study) */
  bStudy?: string;
}

/**
 * `compare DATA --a SEL --b SEL` (two configurations of one input), or `compare DATA_A DATA_B [--a SEL] [--b SEL]`
 * (A from the first input, B from the second: two imported sweeps, an imported sweep and a study store, …; without
 * a selector a side is every run of its input). Runs are paired by their seed columns.
 */
export async function runCompare(inputs: string[], o: CompareCliOptions, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  if (inputs.length < 1 || inputs.length > 2) throw new UserError(`compare takes one input (with --a and --b) or two (A and B), got ${inputs.length}`);
  if (o.json) checkOutputPath(o.json, '--json');
  const two = inputs.length === 2;
  if (!two && (o.a === undefined || o.b === undefined)) throw new UserError(`--a and --b are required with one input (or give two inputs: A's and B's runs)`);
  if (!two && o.bStudy !== undefined) throw new UserError(`--b-study names the second input's study: give two inputs`);
  const loadSide = (data: string, study: string | undefined) =>
    load(data, { ...o, study, config: o.config ?? (isSqliteFile(data) ? undefined : 'trial_id') });
  const dA = await loadSide(inputs[0]!, o.study);
  const dB = two ? await loadSide(inputs[1]!, o.bStudy ?? o.study) : dA;
  // pairs are matched on the seed columns both inputs have
  const seedColumns = dA.seedColumns.filter((c) => dB.seedColumns.includes(c));
  if (seedColumns.length === 0) throw new UserError(`${inputs[0]} and ${inputs[1]} have no seed column in common (${dA.seedColumns.join(', ')} vs ${dB.seedColumns.join(', ')}); name them with --seed-cols`);
  const scores = (rows: Row[], preds: Array<ExamplePredictions | null> | null, idx: number[]): RunScore[] =>
    idx.map((i) => ({ score: Number(rows[i]![o.metric]), key: seedColumns.map((c) => `${c}=${rows[i]![c] ?? ''}`).join(','), predictions: preds?.[i] ?? null }))
      .filter((s) => Number.isFinite(s.score));
  const side = (d: Loaded, v: string | undefined, flag: string): { runs: RunScore[]; label: string } => {
    if (d.rows.length > 0 && !(o.metric in d.rows[0]!)) throw new UserError(`${d.source}: no metric column ${o.metric} (--metric)`);
    if (v === undefined) {
      if (d.rows.length === 0) throw new UserError(`${d.source}: no runs to compare`);
      return { runs: scores(d.rows, d.predictions, d.rows.map((_, i) => i)), label: d.source };
    }
    const label = two ? `${d.source} ${v}` : v;
    if (v === 'baseline') {
      if (!d.baseline || d.baseline.rows.length === 0) throw new UserError(`${flag} baseline: ${d.source} has no baseline trials (a study store with a baseline: evaluate or config)`);
      return { runs: scores(d.baseline.rows, d.baseline.predictions, d.baseline.rows.map((_, i) => i)), label: two ? `${d.source} baseline` : 'baseline' };
    }
    const sel = selector(v, flag);
    for (const k of Object.keys(sel)) if (d.rows.length > 0 && !(k in d.rows[0]!)) throw new UserError(`${flag}: no column ${k}${two ? ` in ${d.source}` : ''}`);
    const idx = d.rows.map((_, i) => i).filter((i) => matches(d.rows[i]!, sel));
    if (idx.length === 0) throw new UserError(`${flag}: no trial matches ${v}${two ? ` in ${d.source}` : ''}`);
    return { runs: scores(d.rows, d.predictions, idx), label };
  };
  const A = side(dA, o.a, '--a');
  const B = side(dB, o.b, '--b');
  // runs are paired by seed: a side with two runs of one seed (several configurations) has no pairing
  for (const [s, flag] of [[A, '--a'], [B, '--b']] as const) {
    const seen = new Set<string>();
    const dup = s.runs.find((r) => seen.size === seen.add(r.key).size);
    if (dup) throw new UserError(`${flag}: ${s.label} has several runs with ${dup.key} (several configurations?): choose one configuration with ${flag} COLUMN=VALUE,…`);
  }
  const notes = two ? [...dA.notes.map((n) => `A: ${n}`), ...dB.notes.map((n) => `B: ${n}`)] : dA.notes;
  if (notes.length > 0) out(`${notes.join('\n')}\n`);
  const c = compareRuns(A.runs, B.runs, {
    metric: o.metric,
    ...(o.bootstrap !== undefined ? { B: o.bootstrap } : {}),
    ...(o.bootstrapSeed !== undefined ? { seed: o.bootstrapSeed } : {}),
    tQuantile: (df) => tUpperQuantile(0.025, df),
  });
  const f = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);
  const lines = [
    `A: ${A.label} (${A.runs.length} run(s))   B: ${B.label} (${B.runs.length} run(s))   metric: ${o.metric}   paired runs: ${c.pairs}`,
    `mean A ${c.mean_a.toFixed(4)}, mean B ${c.mean_b.toFixed(4)}, difference ${f(c.mean_difference)}` +
      `${c.seed_ci ? `; seed-noise 95 % CI [${f(c.seed_ci[0])}, ${f(c.seed_ci[1])}]` : ''}` +
      `${c.evaluation_ci ? `; evaluation-noise 95 % CI [${f(c.evaluation_ci[0])}, ${f(c.evaluation_ci[1])}]` : '; no per-example predictions (no evaluation-noise CI)'}`,
    `P(A > B) = ${c.probability.p.toFixed(3)}, 95 % bootstrap CI [${c.probability.ci[0].toFixed(3)}, ${c.probability.ci[1].toFixed(3)}] (B = ${c.probability.B}, seed ${c.probability.seed})`,
    ...c.mcnemar.map((m) => `  McNemar ${m.key}: A right/B wrong ${m.b}, A wrong/B right ${m.c}, exact p ${m.pvalue.toPrecision(4)}`),
    `verdict: ${c.verdict}`,
  ];
  out(lines.join('\n') + '\n');
  if (o.json) {
    writeFileAtomic(o.json, stringifyJson({ a: A.label, b: B.label, ...c }) + '\n', '--json');
    out(`wrote ${o.json}\n`);
  }
}

const common = (cmd: Command): Command =>
  addSourceOptions(cmd)
    .option('--config <cols>', 'hyperparameter columns that define a configuration (default for a store: the design factors; for an imported source: its hyperparameters)')
    .option('--seed-cols <cols>', 'seed columns: HF seed, then data_seed (default: seed[,data_seed])')
    .option('--metric <name>', 'the metric column', 'accuracy')
    .option('--predictions <file>', 'per-example predictions exported by `study export --predictions` (CSV/JSONL/parquet), matched by trial_id')
    .option('--bootstrap <B>', 'bootstrap replicates', positiveInt('--bootstrap'))
    .option('--bootstrap-seed <n>', 'bootstrap seed (default 0)', number('--bootstrap-seed', (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff))
    .option('--json <out>', 'also write the result as JSON');

export function register(program: Command): void {
  common(
    program
      .command('variability')
      .description('how much of a sweep is noise: variance components (seed, data_seed, residual; REML and ANOVA), evaluation-set noise, diverged runs, expected best-of-n, mixed model vs OLS')
      .argument('<data...>', `a CSV/TSV of trials (e.g. \`study export\`, \`import\`), a study store (.sqlite), or ${IMPORT_SOURCES_HELP}`),
  )
    .option('--exclude-diverged', 'leave diverged runs out of the analysis (always reports how many)')
    .option('--diverged-se <k>', 'diverged when accuracy ≤ majority-class rate + k binomial SEs (default 2)', number('--diverged-se', (x) => x >= 0))
    .option('--diverged-loss <x>', "diverged when the loss exceeds x (default: the untrained model's, ln(labels))", number('--diverged-loss', (x) => x > 0))
    .option('--majority-rate <p>', 'majority-class rate of the evaluation set (default: from the predictions)', number('--majority-rate', (x) => x > 0 && x < 1))
    .option('--eval-n <n>', 'evaluation examples (default: from the predictions or num_samples)', positiveInt('--eval-n'))
    .option('--degree <d>', "the mixed model's polynomial degree (1, 2 or 3; default 2)")
    .option('--log-lr', 'log10 of the learning rate in the models (default when a learning_rate column is a factor)')
    .option('--no-log-lr', 'the learning rate as is')
    .action(async (data: string[], o: VariabilityCliOptions) => {
      await runVariability(expectInputs(data, 1, 1, 'one input')[0]!, o);
    });

  common(
    program
      .command('compare')
      .description('is A better than B? P(A > B) over paired seeds with a bootstrap CI, mean difference with seed- and evaluation-noise CIs, McNemar per pair')
      .argument('<data...>', `one input (A and B chosen by --a/--b) or two (A's runs, then B's): each a CSV/TSV of trials, a study store (.sqlite), or ${IMPORT_SOURCES_HELP}`),
  )
    .option('--a <sel>', "A's configuration, e.g. 'learning_rate=2e-5,per_device_train_batch_size=16' (with two inputs: default every run of the first)")
    .option('--b <sel>', "B's configuration, or baseline (a store's baseline trials) (with two inputs: default every run of the second)")
    .option('--b-study <name>', "with two inputs: the second input's Optuna study / MLflow experiment (default: --study)")
    .action(async (data: string[], o: CompareCliOptions) => {
      await runCompare(expectInputs(data, 1, 2, 'one or two inputs'), o);
    });
}
