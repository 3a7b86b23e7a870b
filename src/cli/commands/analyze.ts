/**
 * `tunescope analyze DATA.csv --predictors … --response …`: polynomial OLS per (response, frame),
 * a statsmodels-like summary on stdout and, with --json, the fits as a JSON array (written atomically).
 */
import { Command, Option } from 'commander';
import { analyze, filterTable, sobolIndices, formatSobol, fitToJson, formatSideBySide, formatSummary, type Frame, type OlsFit } from '../../analysis/index.js';
import { UserError, checkOutputPath, parseDecimal, stringifyJson, writeFileAtomic } from '../../util/index.js';
import { list, nonNegativeInt, parseBaselineList } from '../options.js';
import { BASELINE_CONFIG_HELP, CENTER_CHOICES, CENTER_HELP, resolveBaselineMetrics, resolveCenter } from '../center.js';
import { IMPORT_SOURCES_HELP, addSourceOptions, expectInputs, inputLabel, readAnalysisTable } from '../sources.js';

export interface AnalyzeCliOptions {
  predictors: string;
  response: string;
  degree: string;
  logLr?: boolean;
  lrColumn?: string;
  standardize?: boolean;
  frame?: string;
  baseline?: string;
  baselineCard?: string;
  baselineConfig?: string;
  center?: string;
  importance?: boolean;
  importanceBootstrap?: number;
  importanceSeed?: number;
  cardsDir?: string;
  where?: string[];
  dropMissing?: boolean;
  json?: string;
  study?: string;
  map?: string;
  allStates?: boolean;
  [key: string]: unknown;
}

export async function runAnalyze(data: string, opts: AnalyzeCliOptions, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const degree = parseDecimal(String(opts.degree));
  if (degree !== 1 && degree !== 2 && degree !== 3) throw new UserError(`--degree must be 1, 2 or 3 (got ${opts.degree})`);
  if (opts.json) checkOutputPath(opts.json, '--json');
  const notes: string[] = [];
  const baseline = await resolveBaselineMetrics(opts, list(opts.response), notes);
  const frame = (opts.frame ?? (baseline ? 'both' : 'absolute')) as Frame | 'both';
  if (!['absolute', 'relative', 'both'].includes(frame)) throw new UserError(`--frame must be absolute, relative or both (got ${frame})`);
  const predictors = list(opts.predictors);
  const center = await resolveCenter(opts, predictors, notes);
  const { table, notes: readNotes } = await readAnalysisTable(data, opts);
  notes.unshift(...readNotes);
  const result = analyze(table, {
    predictors,
    responses: list(opts.response),
    frame,
    baseline,
    spec: { degree, logLr: Boolean(opts.logLr), standardize: Boolean(opts.standardize), lrColumn: opts.lrColumn, center },
    where: opts.where ?? [],
    dropMissing: Boolean(opts.dropMissing),
  });
  const head: string[] = [`${inputLabel(data)}: ${table.rows.length} rows`];
  head.push(...notes);
  for (const f of result.filters) head.push(`filter ${f.expr}: kept ${f.kept} of ${f.of} rows`);
  for (const fit of result.fits) {
    if (fit.dropped > 0 && fit.frame === result.fits[0].frame) head.push(`${fit.response}: left out ${fit.dropped} row(s) with missing values (--drop-missing), ${fit.nobs} used`);
  }
  const general = result.warnings.filter((w) => /^baseline given for/.test(w));
  for (const w of general) head.push(`warning: ${w}`);
  out(`${head.join('\n')}\n\n`);
  out(`${result.fits.map(formatSummary).join('\n\n')}\n`);
  // --frame both: the two frames of each response next to each other
  const pairs = result.fits
    .filter((f) => f.frame === 'absolute')
    .map((a) => [a, result.fits.find((r) => r.frame === 'relative' && r.response === a.response)] as const)
    .filter((p): p is readonly [OlsFit, OlsFit] => p[1] !== undefined);
  if (pairs.length > 0) out(`\n${pairs.map(([a, r]) => formatSideBySide(a, r)).join('\n\n')}\n`);
  // Sobol importance per response: the surface is the same in both frames and for any centre
  const importance = new Map<string, ReturnType<typeof sobolIndices>>();
  if (opts.importance) {
    const { table: used } = filterTable(table, opts.where ?? []);
    for (const fit of result.fits) {
      if (importance.has(fit.response)) continue;
      importance.set(fit.response, sobolIndices(used, {
        predictors: fit.raw_predictors, response: fit.response,
        spec: { degree, logLr: Boolean(opts.logLr), standardize: Boolean(opts.standardize), lrColumn: opts.lrColumn, center },
        B: opts.importanceBootstrap ?? 1000, seed: opts.importanceSeed ?? 0,
      }));
    }
    out(`\n${[...importance.values()].map(formatSobol).join('\n\n')}\n`);
  }
  if (opts.json) {
    const records = result.fits.map((f) => ({ ...fitToJson(f), ...(importance.has(f.response) ? { sobol: importance.get(f.response) } : {}) }));
    writeFileAtomic(opts.json, `${stringifyJson(records)}\n`, '--json');
    out(`\nwrote ${result.fits.length} fit(s) to ${opts.json}\n`);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('fit polynomial OLS of metrics on hyperparameters (absolute and/or relative to a baseline) with statsmodels-grade inference')
    .argument('<data...>', `CSV/TSV with a header row (a study export, a cards harvest, an import), or ${IMPORT_SOURCES_HELP}`)
    .requiredOption('--predictors <cols>', 'comma-separated predictor columns, e.g. lr,bs,ep or learning_rate,train_batch_size,num_epochs')
    .requiredOption('--response <cols>', 'comma-separated metric columns, e.g. accuracy,f1,loss')
    .addOption(new Option('--degree <n>', 'polynomial degree').choices(['1', '2', '3']).default('2'))
    .option('--log-lr', 'use log10 of the learning-rate column')
    .option('--lr-column <col>', 'which predictor is the learning rate (default: lr / learning_rate)')
    .option('--standardize', 'z-score each predictor (sample sd) before forming powers and interactions')
    .addOption(new Option('--frame <frame>', 'absolute (metric), relative (metric − baseline) or both [default: both with --baseline, else absolute]').choices(['absolute', 'relative', 'both']))
    .addOption(new Option('--center <origin>', CENTER_HELP).choices(CENTER_CHOICES))
    .option('--baseline-card <card>', "read the baseline metrics (and, for --center baseline, its learning_rate / batch size / epochs) from this model's card: a card file or a model id (model-index; eval_accuracy ↔ accuracy, …), e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    .option('--baseline-config <list>', BASELINE_CONFIG_HELP)
    .option('--cards-dir <dir>', 'look for the --baseline-card card in this folder of *.md cards first (offline), then the Hub cache / Hub')
    .option('--baseline <list>', 'baseline metrics for the relative frame, e.g. accuracy=0.9105504587155964,f1=0.9137168141592922,loss=0.39013850688934326')
    .option('--where <expr>', 'row filter COLUMN=VALUE, !=, <, <=, >, >= (repeatable; each reports the rows it kept)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--drop-missing', 'leave out rows with a missing value in the used columns (default: stop with an error naming the row)')
    .option('--importance', "Sobol indices (first-order, total, pairs) of each fitted surface over the data's box, exact from the polynomial, with bootstrap CIs over configurations")
    .option('--importance-bootstrap <B>', 'bootstrap resamples for the --importance CIs (0: none)', nonNegativeInt('--importance-bootstrap'), 1000)
    .option('--importance-seed <n>', 'seed of the --importance bootstrap', nonNegativeInt('--importance-seed'), 0)
    .option('--json <out>', 'write the fits as a JSON array (with --importance: each fit\'s `sobol`)');
  addSourceOptions(cmd).action(async (data: string[], opts: AnalyzeCliOptions) => {
    await runAnalyze(expectInputs(data, 1, 1, 'one input')[0]!, opts);
  });
}
