/** Assembles the report (HTML, Markdown, CSVs) from a ReportInput and writes it atomically. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/index.js';
import type { ReportDocument, ReportInput } from './types.js';
import { allCharts } from './charts.js';
import { centerPhrase, findings as makeFindings } from './findings.js';
import { coefficientTable, dataTable, fitTable, formatCell, seedTable, COEF_COLUMNS, type TableModel } from './tables.js';
import { renderHtml, renderReportBody } from './html.js';
import { fmtNum } from './stats.js';
import { formatSobol } from '../analysis/index.js';
import { componentsTable, divergedTable } from './noise.js';

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(t: TableModel): string {
  if (t.rows.length === 0) return `_${t.empty ?? 'No rows.'}_\n`;
  const head = `| ${t.columns.map((c) => mdEscape(c.name)).join(' | ')} |`;
  const sep = `|${t.columns.map((c) => (c.kind === 'text' ? ' --- ' : ' ---: ')).join('|')}|`;
  const body = t.rows.map((r) => `| ${r.map((v, i) => mdEscape(formatCell(v, t.columns[i].kind))).join(' | ')} |`);
  return [head, sep, ...body].join('\n') + '\n';
}

/** Full-precision CSV (numbers as JavaScript's shortest round-trip form, null as empty). */
export function csvTable(columns: string[], rows: (string | number | null)[][]): string {
  return stringify([columns, ...rows.map((r) => r.map((v) => (v === null ? '' : typeof v === 'number' ? String(v) : v)))]);
}

export function buildReport(input: ReportInput): ReportDocument {
  const charts = allCharts(input);
  const findings = makeFindings(input);
  const data = dataTable(input);
  const fits = fitTable(input);
  const seeds = seedTable(input);
  const coefTables = input.metrics.map((metric) => {
    const tables = (['absolute', 'relative'] as const)
      .map((frame) => input.fits.find((f) => f.response === metric && f.frame === frame))
      .filter((f) => f !== undefined)
      .map((f) => coefficientTable(f));
    const missing = (input.fitErrors ?? []).filter((e) => e.response === metric).map((e) => `${metric} (${e.frame} frame): ${e.message}`);
    if (tables.length === 0 && missing.length === 0) missing.push(`${metric}: no regression fit.`);
    return { metric, tables, missing };
  });
  const noiseTables = input.noise ? [componentsTable(input.noise), divergedTable(input.noise)] : [];
  const parts = { findings, dataTable: data, fitTable: fits, coefTables, seedTable: seeds, charts, noiseTables };
  const html = renderHtml(input, parts);

  const md: string[] = [`# ${input.title}`, '', `Source: ${input.source} · ${input.rows.length} runs · degree ${input.spec.degree}, ${centerPhrase(input)} · α = ${input.alpha}`];
  if (input.baseline && Object.keys(input.baseline).length) md.push('', `Baseline: ${Object.entries(input.baseline).map(([k, v]) => `${k} = ${fmtNum(v, 6)}`).join(', ')}`);
  md.push('', '## Findings', '', ...findings.map((f) => `- ${f}`), '', '## Goodness of fit', '', markdownTable(fits), '## Regression tables', '');
  for (const c of coefTables) {
    md.push(`### ${c.metric}`, '');
    for (const s of c.missing) md.push(`_${s}_`, '');
    for (const t of c.tables) md.push(`#### ${t.title}`, '', markdownTable(t));
  }
  if (input.importance?.length) md.push('## Importance (Sobol indices)', '', ...input.importance.flatMap((s) => ['```', formatSobol(s), '```', '']));
  if (seeds.rows.length) md.push('## Spread across seeds', '', markdownTable(seeds));
  if (input.noise) md.push('## Noise', '', `Diverged runs: ${input.noise.diverged.count} of ${input.noise.diverged.total}. Rule: ${input.noise.diverged.rule}.`, '', ...noiseTables.flatMap((t) => [`### ${t.title}`, '', markdownTable(t)]));
  const missingCharts = charts.filter((c) => !c.spec);
  if (missingCharts.length) md.push('## Charts not drawn', '', ...missingCharts.map((c) => `- ${c.title}: ${c.missing}`), '');
  md.push('## Data', '', markdownTable(data));

  const csv: Record<string, string> = {
    data: (() => {
      const all = dataTable(input, { allColumns: true });
      return csvTable(all.columns.map((c) => c.name), all.rows);
    })(),
    fits: csvTable(fits.columns.map((c) => c.name), fits.rows),
    coefficients: csvTable(
      ['metric', 'frame', ...COEF_COLUMNS.map((c) => c.name)],
      input.fits.flatMap((f) => coefficientTable(f).rows.map((r) => [f.response, f.frame, ...r])),
    ),
  };
  if (seeds.rows.length) csv.seeds = csvTable(seeds.columns.map((c) => c.name), seeds.rows);
  return { html, body: renderReportBody(input, parts), markdown: md.join('\n'), csv, charts, findings };
}

/** Paths of the files written beside `out` (X.html → X.md, X-data.csv, …). */
export function reportPaths(out: string, doc: ReportDocument): { html: string; markdown: string; csv: Record<string, string> } {
  const stem = join(dirname(out), basename(out, extname(out)));
  const csv: Record<string, string> = {};
  for (const k of Object.keys(doc.csv)) csv[k] = `${stem}-${k}.csv`;
  return { html: out, markdown: `${stem}.md`, csv };
}

/** Writes every file to a temporary name first, then renames them all: no half-written report. */
export function writeReport(out: string, doc: ReportDocument): { html: string; markdown: string; csv: Record<string, string> } {
  const paths = reportPaths(out, doc);
  const files: [string, string][] = [[paths.html, doc.html], [paths.markdown, doc.markdown], ...Object.entries(doc.csv).map(([k, v]): [string, string] => [paths.csv[k], v])];
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the output directory ${dirname(out)}: ${(e as Error).message}`);
  }
  const tmps: string[] = [];
  try {
    for (const [p, content] of files) {
      const tmp = `${p}.tmp-${process.pid}`;
      writeFileSync(tmp, content);
      tmps.push(tmp);
    }
  } catch (e) {
    for (const t of tmps) rmSync(t, { force: true });
    throw new UserError(`cannot write the report to ${out}: ${(e as Error).message}`);
  }
  files.forEach(([p], i) => renameSync(tmps[i], p));
  return paths;
}
