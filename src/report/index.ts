/** Self-contained HTML reports (Vega-Lite), Markdown and CSV tables. */
export {};
