/**
 * `--center none|mean|baseline`, `--baseline-config NAME=NUMBER,…` and `--baseline-card`: the origin of the predictors
 * and the baseline metrics of the relative frame, for `analyze`, `study analyze` and `report`.
 */
import { formatNatural, type CenterKind, type CenterOption } from '../analysis/index.js';
import { baselineForColumns, baselineFromCard, configFromCard, readBaselineCard } from '../cards/index.js';
import { UserError, parseDecimal } from '../util/index.js';
import { list, parseBaselineList } from './options.js';

export const CENTER_CHOICES: readonly CenterKind[] = ['none', 'mean', 'baseline'];

export const CENTER_HELP =
  "origin of the predictors: none (raw values, default), mean (the design centre, in the fitted scale) or baseline (the baseline's configuration, log10 of the ratio for a log-scaled learning rate): with baseline, a degree-2 fit's main effects are the local slopes there";
export const BASELINE_CONFIG_HELP =
  "the baseline's hyperparameters for --center baseline, e.g. learning_rate=1e-5,per_device_train_batch_size=32,num_train_epochs=3 (names are predictor columns; plain decimal or exponent numbers)";

/** Without named predictors, a card's configuration under HF's names. */
const CARD_COLUMNS = ['learning_rate', 'per_device_train_batch_size', 'num_train_epochs', 'gradient_accumulation_steps', 'warmup_steps', 'warmup_ratio'];


/**
 * Strict `NAME=NUMBER[,NAME=NUMBER…]`: every name one of `known` (null: checked later by the analysis), each once, numbers decimal/exponent only
 * (no hex, no Infinity, no blanks).
 */
export function parseBaselineConfig(v: string, known: string[] | null, flag = '--baseline-config'): Record<string, number> {
  const out: Record<string, number> = {};
  const parts = list(v);
  if (parts.length === 0) throw new UserError(`${flag}: expected NAME=NUMBER[,NAME=NUMBER…], got ${JSON.stringify(v)}`);
  for (const part of parts) {
    const m = /^([^=]+)=(.*)$/.exec(part);
    const name = m?.[1]!.trim() ?? '';
    const raw = m?.[2]!.trim() ?? '';
    if (!m || name === '') throw new UserError(`${flag}: expected NAME=NUMBER[,NAME=NUMBER…], got ${JSON.stringify(part)}`);
    const value = parseDecimal(raw);
    if (value === null) throw new UserError(`${flag}: ${name}=${raw} is not a decimal number (e.g. 1e-5, 32, 3)`);
    if (known && !known.includes(name)) throw new UserError(`${flag}: ${name} is not a predictor (predictors: ${known.join(', ')})`);
    if (name in out) throw new UserError(`${flag}: ${name} is given twice`);
    out[name] = value;
  }
  return out;
}

/** The baseline's configuration as its card states it (learning_rate, batch size, epochs …), and where each value came from. */
export async function baselineCardConfig(
  reference: string,
  cardsDir: string | undefined,
  /** the predictor names (null: HF's names) */
  predictors: string[] | null,
): Promise<{ config: Record<string, number>; from: string }> {
  const { modelId, card } = await readBaselineCard(reference, { cardsDir });
  const got = configFromCard(card, predictors ?? CARD_COLUMNS);
  return { config: got.config, from: `the card of ${modelId} (${card.source}): ${got.used.join('; ') || 'no hyperparameter of the predictors'}` };
}

export interface BaselineFlags {
  baseline?: string;
  baselineCard?: string;
  cardsDir?: string;
}

/**
 * Baseline metrics for the relative frame: `--baseline-card` reads them from that model's card (its model-index;
 * eval_accuracy ↔ accuracy), explicit `--baseline` values take precedence; `notes` says which values were used.
 */
export async function resolveBaselineMetrics(
  flags: BaselineFlags,
  /** the metric columns to fill from the card (null: every metric the card states) */
  columns: string[] | null,
  notes: string[],
): Promise<Record<string, number> | undefined> {
  const explicit = flags.baseline !== undefined ? parseBaselineList(flags.baseline) : undefined;
  if (flags.baselineCard === undefined) return explicit;
  const card = await baselineFromCard(flags.baselineCard, { cardsDir: flags.cardsDir });
  const { values, missing, used } = baselineForColumns(card, (columns ?? Object.keys(card.metrics)).filter((r) => explicit?.[r] === undefined));
  notes.push(`baseline from the card of ${card.modelId} (${card.source}): ${used.join('; ') || 'none used'}`);
  if (missing.length > 0) notes.push(`the baseline card has no metric for ${missing.join(', ')}`);
  return { ...values, ...explicit };
}

export interface CenterFlags {
  center?: string;
  baselineConfig?: string;
  baselineCard?: string;
  cardsDir?: string;
}

/**
 * The centre the flags ask for. `fallback` is what the study spec says (analysis.center and baseline.config), used
 * when no --center is given; --baseline-card fills the configuration from the card, --baseline-config overrides it.
 * `notes` says where each value came from.
 */
export async function resolveCenter(
  flags: CenterFlags,
  /** the predictor names (null: not known yet, e.g. a report's defaults) */
  predictors: string[] | null,
  notes: string[],
  fallback: { center?: CenterKind; config?: Record<string, number>; source?: string } = {},
): Promise<CenterOption> {
  const kind = (flags.center ?? fallback.center ?? 'none') as CenterKind;
  if (!CENTER_CHOICES.includes(kind)) throw new UserError(`--center must be none, mean or baseline (got ${JSON.stringify(flags.center)})`);
  if (flags.baselineConfig !== undefined && kind !== 'baseline') {
    throw new UserError(`--baseline-config sets the origin of --center baseline (the centre here is ${kind}): add --center baseline`);
  }
  if (kind === 'none') return { kind };
  if (kind === 'mean') {
    notes.push('predictors centred at the design centre (mean of each predictor, fitted scale)');
    return { kind };
  }
  const config: Record<string, number> = {};
  const from: string[] = [];
  if (fallback.config) {
    Object.assign(config, fallback.config);
    from.push(fallback.source ?? 'the spec');
  }
  if (flags.baselineCard !== undefined) {
    const got = await baselineCardConfig(flags.baselineCard, flags.cardsDir, predictors);
    Object.assign(config, got.config);
    from.push(got.from);
  }
  if (flags.baselineConfig !== undefined) {
    Object.assign(config, parseBaselineConfig(flags.baselineConfig, predictors));
    from.push('--baseline-config');
  }
  // a predictor without a value is one error from the analysis (which knows the predictors actually fitted)
  notes.push(`predictors centred at the baseline configuration ${Object.entries(config).map(([k, v]) => `${k}=${formatNatural(v)}`).join(', ') || '(none given)'} (from ${from.join('; ') || 'nowhere'})`);
  return { kind, config };
}
