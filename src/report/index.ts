/** Self-contained HTML reports (plus Markdown and CSV tables) of a study or a results table. */
export type { Cell, ReportRow, Frame, ReportFit, ReportOptimum, ReportStationary, ReportVariability, ReportCorrelation, ReportBestConfig, ReportInput, Chart, ChartSpec, ReportDocument } from './types.js';
export { buildReport, writeReport, reportPaths, markdownTable } from './build.js';
export { allCharts } from './charts.js';
export { findings } from './findings.js';
export { metricDirection } from './stats.js';
export { loadReportInput, reportInputFromStore, reportInputFromTable } from './source.js';
export type { ReportOptions } from './source.js';
export { REPORT_CSS, chartSpecs, vegaBuildFiles, esc as escapeHtml } from './html.js';
