/**
 * One self-contained HTML file. Charts are Vega-Lite specs rendered in the page by the vega, vega-lite
 * and vega-embed browser builds, inlined from node_modules: the file opens offline, keeps tooltips, and
 * the browser test checks exactly what a reader sees (server-side SVG would lose interactivity and
 * still need a browser to verify). The builds are read once per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Chart, ReportInput } from './types.js';
import { formatCell, type TableModel } from './tables.js';
import { fmtNum } from './stats.js';
import { centerPhrase } from './findings.js';

const require = createRequire(import.meta.url);
let libs: string | null = null;

/** A package's root directory (its `exports` hide build/ from require.resolve). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${name} package directory`);
    dir = up;
  }
}

const VEGA_BUILDS: [string, string][] = [['vega', 'build/vega.min.js'], ['vega-lite', 'build/vega-lite.min.js'], ['vega-embed', 'build/vega-embed.min.js']];

/** The three browser builds on disk, in load order (the dashboard serves them as files). */
export function vegaBuildFiles(): { name: string; path: string }[] {
  return VEGA_BUILDS.map(([pkg, f]) => ({ name: `${pkg}.min.js`, path: join(packageDir(pkg), f) }));
}

/** The three browser builds, `</script` defused so they can sit in inline script tags. */
export function vegaScripts(): string {
  if (libs === null) {
    libs = VEGA_BUILDS
      .map(([pkg, f]) => `<script>/* ${pkg}/${f} */\n${readFileSync(join(packageDir(pkg), f), 'utf8').replace(/<\/(script)/gi, '<\\/$1')}\n</script>`)
      .join('\n');
  }
  return libs;
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON inside <script type="application/json">: `<` escaped so no string can close the tag. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export function htmlTable(t: TableModel, opts: { sortable?: boolean; maxRows?: number } = {}): string {
  if (t.rows.length === 0) return `<p class="missing" data-missing="${esc(t.id)}">${esc(t.empty ?? 'No rows.')}</p>`;
  const shown = opts.maxRows !== undefined ? t.rows.slice(0, opts.maxRows) : t.rows;
  const head = t.columns.map((c) => `<th data-kind="${c.kind}">${esc(c.name)}</th>`).join('');
  const body = shown
    .map(
      (r) =>
        '<tr>' +
        r.map((v, i) => {
          const kind = t.columns[i].kind;
          const cls = kind === 'text' ? '' : ' class="n"';
          const dv = typeof v === 'number' ? ` data-value="${String(v)}"` : v === null ? ' data-value=""' : '';
          return `<td${cls}${dv}>${esc(formatCell(v, kind))}</td>`;
        }).join('') +
        '</tr>',
    )
    .join('\n');
  const more = shown.length < t.rows.length ? `<p class="note">Showing ${shown.length} of ${t.rows.length} rows; the CSV beside this file has all of them.</p>` : '';
  return `<table id="table-${esc(t.id)}" class="${opts.sortable ? 'sortable' : ''}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

function chartHtml(c: Chart): string {
  const cap = c.caption ? `<figcaption>${esc(c.caption)}</figcaption>` : '';
  if (!c.spec) {
    return `<figure class="chart-missing" id="${esc(c.id)}" data-kind="${c.kind}"><h4>${esc(c.title)}</h4><p class="missing">${esc(c.missing ?? 'Not available.')}</p></figure>`;
  }
  return `<figure class="chart" id="${esc(c.id)}" data-kind="${c.kind}"><h4>${esc(c.title)}</h4><div class="vega" id="${esc(c.id)}-view"></div>${cap}</figure>`;
}

export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
header .meta{opacity:.85;font-size:13px}main{padding:8px 28px 40px;max-width:1500px}
nav{font-size:13px;margin:10px 0}nav a{margin-right:14px;color:#1f5fa8}
h2{border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:34px}h3{margin:22px 0 8px}
h4{margin:0 0 6px;font-size:14px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 14px;background:#fff}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#eef1f4;position:sticky;top:0}table.sortable th{cursor:pointer}table.sortable th:hover{background:#dde3ea}
th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
.scroll{max-height:420px;overflow:auto;border:1px solid #d0d7de;display:inline-block;max-width:100%}
.tables{display:flex;flex-wrap:wrap;gap:0 24px}.charts{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0;background:#fff;border:1px solid #e1e4e8;padding:10px;border-radius:4px;max-width:100%;overflow-x:auto}
figcaption{font-size:12px;color:#57606a;max-width:640px;margin-top:4px}
.missing{color:#9a6700;background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:4px;display:inline-block}
.findings li{margin:4px 0}.note{color:#57606a;font-size:12px}.stats{font-size:12.5px;color:#333}
`;

const SORT_JS = `
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc?'asc':'desc');
      var num=th.dataset.kind!=='text';var body=t.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i],y=b.cells[i];
        if(num){var u=parseFloat(x.dataset.value),v=parseFloat(y.dataset.value);
          if(isNaN(u)&&isNaN(v))return 0;if(isNaN(u))return 1;if(isNaN(v))return -1;return asc?u-v:v-u;}
        return asc?x.textContent.localeCompare(y.textContent):y.textContent.localeCompare(x.textContent);
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});`;

const EMBED_JS = `
(function(){
  var specs=JSON.parse(document.getElementById('chart-specs').textContent);
  var ids=Object.keys(specs);var done=0;
  function mark(){document.body.setAttribute('data-charts-rendered',String(ids.length));}
  function finish(){done++;if(done===ids.length)mark();}
  if(ids.length===0)mark();
  ids.forEach(function(id){
    var el=document.getElementById(id+'-view');
    vegaEmbed(el,specs[id],{renderer:'svg',actions:false}).then(function(){el.parentNode.setAttribute('data-rendered','1');finish();})
    .catch(function(e){el.textContent='Chart failed to render: '+e.message;el.className='missing';console.error('chart '+id+': '+e.message);finish();});
  });
})();`;

function noiseSection(input: ReportInput, tables: TableModel[], charts: string): string {
  const n = input.noise!;
  const e = n.evaluation_noise;
  const d = n.diverged;
  return `<section id="noise"><h2>Noise</h2>
<p class="stats">${e ? `Evaluation-set noise of ${esc(n.metric)}: SD ${fmtNum(Math.sqrt(e.variance))} per trial (bootstrap over the evaluation examples), ${fmtNum(100 * e.share_of_seed_variance, 3)} % of the within-configuration variance.` : 'No per-example predictions: the evaluation-set noise is not estimated.'}
Diverged runs: ${d.count} of ${d.total}${d.excluded ? ` (${d.excluded} excluded)` : ''}. Rule: ${esc(d.rule)}.</p>
${charts}
<div class="tables">${tables.map((t) => `<div><h4>${esc(t.title)}</h4>${htmlTable(t)}</div>`).join('\n')}</div></section>`;
}

const baselineText = (input: ReportInput): string =>
  input.baseline && Object.keys(input.baseline).length
    ? Object.entries(input.baseline).map(([k, v]) => `${k} = ${fmtNum(v, 6)}`).join(', ')
    : 'none given (relative frame not shown)';

export interface ReportParts { findings: string[]; dataTable: TableModel; fitTable: TableModel; coefTables: { metric: string; tables: TableModel[]; missing: string[] }[]; seedTable: TableModel; charts: Chart[]; noiseTables?: TableModel[] }

/**
 * The report's sections (what sits in <main>), without scripts: charts are empty `.vega` boxes filled from
 * `chartSpecs`. The HTML file and the dashboard both show this, so a section added here appears in both.
 */
export function renderReportBody(input: ReportInput, parts: ReportParts): string {
  const section = (kind: Chart['kind'] | Chart['kind'][]): string => {
    const ks = Array.isArray(kind) ? kind : [kind];
    const cs = parts.charts.filter((c) => ks.includes(c.kind));
    return cs.length ? `<div class="charts">${cs.map(chartHtml).join('\n')}</div>` : '';
  };
  const seeds = parts.charts.some((c) => c.kind === 'seed-variability');
  const hidden = (input.columns ?? Object.keys(input.rows[0] ?? {})).length - parts.dataTable.columns.length;
  const regression = parts.coefTables
    .map(
      (m) =>
        `<h3 id="reg-${esc(m.metric)}">${esc(m.metric)}</h3>` +
        m.missing.map((s) => `<p class="missing">${esc(s)}</p>`).join('') +
        `<div class="tables">${m.tables.map((t) => `<div><h4>${esc(t.title)}</h4>${htmlTable(t)}</div>`).join('\n')}</div>`,
    )
    .join('\n');
  return `<nav><a href="#findings">Findings</a><a href="#regression">Regression</a>${section('importance') ? '<a href="#importance">Importance</a>' : ''}<a href="#main-effects">Main effects</a><a href="#interactions">Interactions</a><a href="#surfaces">Response surfaces</a>${seeds ? '<a href="#seeds">Seed variability</a>' : ''}${input.noise ? '<a href="#noise">Noise</a>' : ''}<a href="#tradeoffs">Trade-offs</a><a href="#data">Data</a></nav>
<section id="findings"><h2>Findings</h2><ul class="findings">${parts.findings.map((f) => `<li>${esc(f)}</li>`).join('\n')}</ul>
<p class="note">Generated from the numbers below. Significance marks: *** p&lt;0.001, ** p&lt;0.01, * p&lt;0.05, . p&lt;0.1; BH p: Benjamini–Hochberg adjusted over the non-intercept terms; HC3: heteroscedasticity-robust standard errors (normal p-values, as statsmodels).</p></section>
<section id="regression"><h2>Regression</h2>${htmlTable(parts.fitTable)}
<div class="charts">${parts.charts.filter((c) => c.kind === 'coefficients').map(chartHtml).join('\n')}</div>
${regression}</section>
${section('importance') ? `<section id="importance"><h2>Importance</h2><p class="note">Sobol indices: the share of the fitted surface's variance over the design box due to each hyperparameter alone (first-order), with all its interactions (total), and to each pair's interaction.</p>${section('importance')}</section>` : ''}
<section id="main-effects"><h2>Main effects</h2>${section('main-effects')}</section>
<section id="interactions"><h2>Interactions</h2>${section('interaction') || '<p class="missing">Interaction plots need at least two hyperparameters.</p>'}</section>
<section id="surfaces"><h2>Response surfaces</h2>${section('surface') || '<p class="missing">Response surfaces need at least two hyperparameters.</p>'}</section>
${seeds ? `<section id="seeds"><h2>Seed variability</h2>${section('seed-variability')}<h3>Per-configuration spread</h3><div class="scroll">${htmlTable(parts.seedTable, { sortable: true })}</div></section>` : ''}
${input.noise ? noiseSection(input, parts.noiseTables ?? [], section('noise')) : ''}
<section id="tradeoffs"><h2>Trade-offs between metrics</h2>${section('pareto') || '<p class="missing">Trade-off plots need at least two metrics.</p>'}</section>
<section id="data"><h2>Data</h2><p class="note">Click a column header to sort.${hidden > 0 ? ` ${hidden} more column${hidden === 1 ? '' : 's'} (provenance, notes, …) are in the CSV beside this file.` : ''}</p><div class="scroll">${htmlTable(parts.dataTable, { sortable: true, maxRows: 5000 })}</div></section>
${input.notes && input.notes.length ? `<section id="notes"><h2>Notes</h2><ul>${input.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>` : ''}
<p class="note">tunescope ${esc(input.version ?? '')} · charts: Vega-Lite (inlined, works offline)</p>
`;
}

/** Chart id → Vega-Lite spec, for the charts that have one. */
export function chartSpecs(charts: Chart[]): Record<string, unknown> {
  const specs: Record<string, unknown> = {};
  for (const c of charts) if (c.spec) specs[c.id] = c.spec;
  return specs;
}

export function renderHtml(input: ReportInput, parts: ReportParts): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(input.title)}</title><style>${REPORT_CSS}</style></head>
<body>
<header><h1>${esc(input.title)}</h1>
<div class="meta">Source: ${esc(input.source)} · ${input.rows.length} run${input.rows.length === 1 ? '' : 's'} · hyperparameters: ${esc(input.predictors.join(', ') || '—')} · metrics: ${esc(input.metrics.join(', ') || '—')}<br>
Model: polynomial OLS, degree ${input.spec.degree}${input.spec.log_lr ? ', log10 learning rate' : ''}${input.spec.standardize ? ', z-scored predictors' : ''}, ${esc(centerPhrase(input))} · α = ${input.alpha} · baseline: ${esc(baselineText(input))}</div></header>
<main>
${renderReportBody(input, parts)}</main>
<script type="application/json" id="chart-specs">${scriptJson(chartSpecs(parts.charts))}</script>
${vegaScripts()}
<script>${SORT_JS}
${EMBED_JS}</script>
</body></html>
`;
}
