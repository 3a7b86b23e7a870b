/**
 * `tunescope report (STUDY_DB | RESULTS.csv) --out report.html`: one self-contained HTML report
 * (plus report.md and report-*.csv beside it) of a study or a results table.
 */
import { Command, Option } from 'commander';
import { buildReport, loadReportInput, writeReport, type ReportInput } from '../../report/index.js';
import { parseMapOption } from '../../import/index.js';
import { UserError, parseDecimal, tunescopeVersion } from '../../util/index.js';
import { list, nonNegativeInt } from '../options.js';
import { BASELINE_CONFIG_HELP, CENTER_CHOICES, CENTER_HELP, baselineCardConfig, resolveBaselineMetrics, resolveCenter } from '../center.js';
import { IMPORT_SOURCES_HELP, addSourceOptions, expectInputs, inputLabel } from '../sources.js';

export interface ReportCliOptions {
  out: string;
  predictors?: string;
  metrics?: string;
  baseline?: string;
  degree: string;
  logLr?: boolean;
  standardize?: boolean;
  lrColumn?: string;
  center?: string;
  baselineConfig?: string;
  baselineCard?: string;
  cardsDir?: string;
  importanceBootstrap: number;
  importanceSeed: number;
  alpha: string;
  where?: string[];
  title?: string;
  study?: string;
  map?: string;
  allStates?: boolean;
}

/** `tunescope report`: the flags → the report's input → the files written; `lines` is what the command prints. */
export async function runReport(input: string, opts: ReportCliOptions): Promise<{ input: ReportInput; lines: string[] }> {
  const alpha = parseDecimal(opts.alpha) ?? NaN;
  if (!(alpha > 0 && alpha < 1)) throw new UserError(`--alpha must be a number between 0 and 1 (got ${opts.alpha})`);
  if (!/\.html?$/i.test(opts.out)) throw new UserError(`--out must name an .html file (got ${opts.out})`);
  const predictors = opts.predictors ? list(opts.predictors) : undefined;
  const metrics = opts.metrics ? list(opts.metrics) : undefined;
  const notes: string[] = [];
  // --baseline-card as in analyze: the card's metrics under --baseline's; its configuration when the centre is baseline
  const baseline = await resolveBaselineMetrics(opts, metrics ?? null, notes);
  const center = opts.center !== undefined || opts.baselineConfig !== undefined ? await resolveCenter(opts, predictors ?? null, []) : undefined;
  // no --center: a study whose own analysis.center is baseline takes the card's configuration over its baseline.config
  const cardConfig = opts.baselineCard !== undefined && center === undefined ? (await baselineCardConfig(opts.baselineCard, opts.cardsDir, predictors ?? null)).config : undefined;
  const reportInput = await loadReportInput(input, {
    predictors,
    ...(center ? { center } : {}),
    ...(cardConfig ? { baselineConfig: cardConfig } : {}),
    importanceBootstrap: opts.importanceBootstrap,
    importanceSeed: opts.importanceSeed,
    metrics,
    baseline,
    degree: Number(opts.degree) as 1 | 2 | 3,
    logLr: Boolean(opts.logLr),
    standardize: Boolean(opts.standardize),
    lrColumn: opts.lrColumn,
    alpha,
    where: opts.where,
    title: opts.title,
    version: tunescopeVersion(),
    study: opts.study,
    map: parseMapOption(opts.map),
    allStates: opts.allStates,
  });
  if (notes.length > 0) reportInput.notes = [...notes, ...(reportInput.notes ?? [])];
  const doc = buildReport(reportInput);
  const paths = writeReport(opts.out, doc);
  const drawn = doc.charts.filter((c) => c.spec).length;
  const lines = [
    `${inputLabel(input)}: ${reportInput.rows.length} runs, ${reportInput.fits.length} fits, ${drawn} of ${doc.charts.length} charts drawn`,
    ...doc.charts.filter((c) => !c.spec).map((c) => `  not drawn: ${c.title}: ${c.missing}`),
    `wrote ${paths.html}`,
    `wrote ${paths.markdown}`,
    ...Object.values(paths.csv).map((p) => `wrote ${p}`),
  ];
  return { input: reportInput, lines };
}

export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description('write a self-contained HTML report (tables, regression, charts, findings) of a study or a results CSV, plus Markdown and CSV tables')
    .argument('<input...>', `a study database (SQLite, from \`tunescope study run\`), a results CSV/TSV (study export, cards harvest, import), or ${IMPORT_SOURCES_HELP}`)
    .option('--out <file>', 'the HTML file to write; report.md and report-*.csv go beside it', 'report.html')
    .option('--predictors <cols>', 'hyperparameter columns [default: the study factors, or learning_rate/lr, batch size, epochs columns found]')
    .option('--metrics <cols>', 'metric columns [default: accuracy, f1, loss when present]')
    .option('--baseline <list>', 'baseline metrics, e.g. accuracy=0.9105504587155964,f1=0.9137168141592922,loss=0.39013850688934326 [default: the study baseline or baseline_<metric> columns]')
    .addOption(new Option('--degree <n>', 'polynomial degree of the regression').choices(['1', '2', '3']).default('2'))
    .option('--log-lr', 'regress on log10 of the learning rate')
    .option('--standardize', 'z-score the hyperparameters before forming powers and interactions')
    .option('--lr-column <col>', 'which hyperparameter is the learning rate (default: learning_rate / lr)')
    .addOption(new Option('--center <origin>', `${CENTER_HELP} (default: a study's analysis.center, else none)`).choices(CENTER_CHOICES))
    .option('--baseline-config <list>', `${BASELINE_CONFIG_HELP} [default: a study's baseline.config]`)
    .option('--baseline-card <card>', "read the baseline metrics (under --baseline's) and, when the centre is baseline, its learning_rate / batch size / epochs (under --baseline-config's) from this model's card: a card file or a model id (model-index; eval_accuracy ↔ accuracy, …)")
    .option('--cards-dir <dir>', 'look for the --baseline-card card in this folder of *.md cards first (offline), then the Hub cache / Hub')
    .option('--importance-bootstrap <B>', 'bootstrap resamples (configurations, seeds kept together) for the Sobol importance CIs (0: none)', nonNegativeInt('--importance-bootstrap'), 500)
    .option('--importance-seed <n>', 'seed of the importance bootstrap', nonNegativeInt('--importance-seed'), 0)
    .option('--alpha <a>', 'significance level for the findings and highlighted coefficients', '0.05')
    .option('--where <expr>', 'row filter COLUMN=VALUE, !=, <, <=, >, >= (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--title <text>', 'report title');
  addSourceOptions(cmd).action(async (words: string[], opts: ReportCliOptions) => {
    process.stdout.write((await runReport(expectInputs(words, 1, 1, 'one input')[0]!, opts)).lines.join('\n') + '\n');
  });
}
