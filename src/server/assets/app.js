/*
 * tunescope dashboard client. Plain browser JavaScript (served as a file: the page's CSP allows no inline
 * script). Every value from a store is put into the page as text (textContent), never as HTML; the only HTML
 * inserted is the report's sections, which the server renders with every value escaped.
 * Updates arrive as Server-Sent Events; the page fetches only the part an event says changed.
 */
(function () {
  'use strict';
  var body = document.body;
  var app = document.getElementById('app');
  var EMBED = { renderer: 'svg', actions: false, ast: true, defaultStyle: false, tooltip: { disableDefaultStyle: true } };

  // ---------- helpers ----------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'className') e.className = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function getJson(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function fmt(v) {
    if (v === null || v === undefined || v === '') return '';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(5)));
  }
  function duration(s) {
    if (s === null || s === undefined) return '—';
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + x + 's';
  }
  function studyUrl(id) { return '/studies/' + encodeURIComponent(id); }
  function trialUrl(sid, tid) { return studyUrl(sid) + '/trials/' + encodeURIComponent(tid); }
  function api(sid, rest) { return '/api/studies/' + encodeURIComponent(sid) + (rest || ''); }
  function setHeader(title, meta) {
    document.getElementById('title').textContent = title;
    document.title = title + ' · tunescope';
    var m = clear(document.getElementById('meta'));
    if (meta) m.appendChild(typeof meta === 'string' ? document.createTextNode(meta) : meta);
  }
  function section(id, title) {
    var s = el('section', { id: id }, el('h2', { text: title }));
    app.appendChild(s);
    return s;
  }
  function stream(query, handlers) {
    var es = new EventSource('/api/events' + query);
    var dot = document.getElementById('live');
    es.onopen = function () { if (dot) dot.className = 'live on'; };
    es.onerror = function () { if (dot) dot.className = 'live'; };
    Object.keys(handlers).forEach(function (k) {
      es.addEventListener(k, function (ev) { handlers[k](JSON.parse(ev.data)); });
    });
    window.addEventListener('pagehide', function () { es.close(); });
    return es;
  }
  /** at most one run of fn at a time; a call during a run schedules one more */
  function serial(fn) {
    var running = false, again = false;
    function go() {
      if (running) { again = true; return; }
      running = true;
      Promise.resolve().then(fn).catch(function (e) { console.error(e && e.message ? e.message : String(e)); })
        .then(function () { running = false; if (again) { again = false; go(); } });
    }
    return go;
  }

  // ---------- charts ----------
  var views = new WeakMap();
  function embedInto(container, specs) {
    var boxes = container.querySelectorAll('.vega');
    var jobs = [];
    Array.prototype.forEach.call(boxes, function (box) {
      var id = box.getAttribute('data-chart') || box.id.replace(/-view$/, '');
      var spec = specs[id];
      if (!spec) return;
      jobs.push(vegaEmbed(box, spec, EMBED).then(function (res) {
        views.set(box, res.view);
        box.parentNode.setAttribute('data-rendered', '1');
      }).catch(function (e) {
        box.textContent = 'Chart failed to render: ' + e.message;
        box.className = 'missing';
        console.error('chart ' + id + ': ' + e.message);
      }));
    });
    return Promise.all(jobs);
  }
  function finalizeIn(container) {
    Array.prototype.forEach.call(container.querySelectorAll('.vega'), function (box) {
      var v = views.get(box);
      if (v) { v.finalize(); views.delete(box); }
    });
  }

  // ---------- sortable / filterable tables ----------
  function compare(a, b, numeric) {
    if (numeric) {
      var x = typeof a === 'number' && isFinite(a), y = typeof b === 'number' && isFinite(b);
      if (!x && !y) return 0; if (!x) return 1; if (!y) return -1; return a - b;
    }
    return String(a === null || a === undefined ? '' : a).localeCompare(String(b === null || b === undefined ? '' : b), undefined, { numeric: true });
  }
  /** A filter term: "<0.001", ">=16", "=3", "1e-5..5e-5", a number (equal), or text (substring). */
  function matcher(term, numeric) {
    term = term.trim();
    if (!term) return null;
    var m;
    if (numeric) {
      if ((m = /^(<=|>=|<|>|=|!=)\s*(\S+)$/.exec(term)) && !isNaN(Number(m[2]))) {
        var op = m[1], v = Number(m[2]);
        return function (x) {
          if (typeof x !== 'number') return false;
          return op === '<' ? x < v : op === '<=' ? x <= v : op === '>' ? x > v : op === '>=' ? x >= v : op === '=' ? x === v : x !== v;
        };
      }
      if ((m = /^(\S+)\s*\.\.\s*(\S+)$/.exec(term)) && !isNaN(Number(m[1])) && !isNaN(Number(m[2]))) {
        var lo = Number(m[1]), hi = Number(m[2]);
        return function (x) { return typeof x === 'number' && x >= lo && x <= hi; };
      }
      if (!isNaN(Number(term))) { var eq = Number(term); return function (x) { return x === eq; }; }
    }
    var t = term.toLowerCase();
    return function (x) { return fmt(x).toLowerCase().indexOf(t) >= 0; };
  }
  /** The report's tables (class "sortable"): click a header to sort by data-value / text. */
  function sortableReportTables(root) {
    Array.prototype.forEach.call(root.querySelectorAll('table.sortable'), function (t) {
      Array.prototype.forEach.call(t.querySelectorAll('th'), function (th, i) {
        th.addEventListener('click', function () {
          var asc = !th.classList.contains('asc');
          Array.prototype.forEach.call(t.querySelectorAll('th'), function (h) { h.classList.remove('asc', 'desc'); });
          th.classList.add(asc ? 'asc' : 'desc');
          var num = th.getAttribute('data-kind') !== 'text';
          var rows = Array.prototype.slice.call(t.tBodies[0].rows);
          rows.sort(function (a, b) {
            var x = a.cells[i], y = b.cells[i];
            var c = num ? compare(parseFloat(x.getAttribute('data-value')), parseFloat(y.getAttribute('data-value')), true) : compare(x.textContent, y.textContent, false);
            return asc ? c : -c;
          });
          rows.forEach(function (r) { t.tBodies[0].appendChild(r); });
        });
      });
    });
  }

  // ---------- progress ----------
  function progressCards(s) {
    var c = s.counts;
    function card(k, v, id) { return el('div', { className: 'card ' + k }, el('div', { className: 'v', id: id, text: String(v) }), el('div', { className: 'k', text: k })); }
    var bar = el('div', { className: 'bar', title: c.done + ' done, ' + c.running + ' running, ' + c.failed + ' failed of ' + s.total });
    ['done', 'running', 'failed'].forEach(function (k) {
      var sp = el('span', { className: k });
      sp.style.width = (s.total ? (100 * c[k]) / s.total : 0) + '%';
      bar.appendChild(sp);
    });
    return { cards: el('div', { className: 'cards' }, card('done', c.done, 'count-done'), card('running', c.running, 'count-running'), card('failed', c.failed, 'count-failed'), card('pending', c.pending, 'count-pending'), card('total', s.total, 'count-total')), bar: bar };
  }
  function simpleTable(id, columns, rows, className) {
    var t = el('table', { id: id, className: className || '' });
    t.appendChild(el('thead', null, el('tr')));
    var hr = t.tHead.rows[0];
    columns.forEach(function (c) { hr.appendChild(el('th', { text: c })); });
    var tb = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (v) { tr.appendChild(v instanceof Node ? el('td', null, v) : el('td', { className: typeof v === 'number' ? 'n' : '', text: fmt(v) })); });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    return t;
  }

  // ---------- pages ----------
  function studiesPage() {
    setHeader('tunescope dashboard', el('span', null, el('span', { id: 'live', className: 'live' }), 'live · read-only view of the served study stores'));
    clear(app);
    var sec = section('studies-section', 'Studies');
    var holder = el('div');
    sec.appendChild(holder);
    var cmp = section('compare-section', 'Compare two studies');
    var selA = el('select', { id: 'compare-a' }), selB = el('select', { id: 'compare-b' });
    var go = el('button', { id: 'compare-go', text: 'Compare' });
    cmp.appendChild(el('div', { className: 'toolbar' }, selA, ' vs ', selB, go));
    go.addEventListener('click', function () { location.href = '/compare?a=' + encodeURIComponent(selA.value) + '&b=' + encodeURIComponent(selB.value); });
    var summaries = {};
    var order = [];
    function render() {
      var rows = order.map(function (id) {
        var s = summaries[id];
        var p = progressCards(s);
        return [el('a', { href: studyUrl(id), text: s.name }), s.model, s.design, p.bar, s.counts.done, s.counts.running, s.counts.failed, s.counts.pending, s.total, duration(s.etaSeconds), s.location];
      });
      clear(holder).appendChild(simpleTable('studies', ['study', 'model', 'design', 'progress', 'done', 'running', 'failed', 'pending', 'total', 'ETA', 'store'], rows));
      Array.prototype.forEach.call(holder.querySelectorAll('#studies tbody tr'), function (tr, i) { tr.setAttribute('data-id', order[i]); });
    }
    getJson('/api/studies').then(function (list) {
      list.forEach(function (s) { summaries[s.id] = s; order.push(s.id); });
      [selA, selB].forEach(function (sel, j) {
        order.forEach(function (id, i) { var o = el('option', { value: id, text: summaries[id].name }); if (i === Math.min(j, order.length - 1)) o.selected = true; sel.appendChild(o); });
      });
      render();
      stream('', { summary: function (s) { if (summaries[s.id]) { summaries[s.id] = s; render(); } } });
    }).catch(function (e) { console.error(e.message); });
  }

  function studyPage(sid) {
    clear(app);
    app.appendChild(el('div', { className: 'crumbs' }, el('a', { href: '/', text: '← all studies' })));
    var prog = section('progress', 'Progress');
    var trialsSec = section('trials-section', 'Trials');
    var curvesSec = section('curves', 'Training curves');
    var analysisSec = section('analysis-section', 'Analysis');
    var dl = section('downloads', 'Downloads');
    var summary = null, trials = [], factors = [], metrics = [], dataSeeds = false;
    var sort = { col: 'ordinal', asc: true };
    var filters = {};
    var selected = [];

    function renderProgress() {
      var s = summary;
      setHeader('Study ' + s.name, el('span', null, el('span', { id: 'live', className: 'live on' }), 'model ' + s.model + ' · design ' + s.design + ' · store ' + s.location));
      clear(prog).appendChild(el('h2', { text: 'Progress' }));
      var p = progressCards(s);
      prog.appendChild(p.cards);
      prog.appendChild(p.bar);
      prog.appendChild(el('p', { className: 'stats', id: 'eta' }, 'ETA ' + duration(s.etaSeconds) + (s.meanTrialSeconds !== null ? ' · mean trial ' + duration(s.meanTrialSeconds) : '') + (s.baseline ? ' · baseline ' + Object.keys(s.baseline).map(function (k) { return k + ' ' + fmt(s.baseline[k]); }).join(', ') : '')));
      prog.appendChild(el('h3', { text: 'Workers' }));
      if (s.workers.length === 0) prog.appendChild(el('p', { className: 'note', id: 'workers-idle', text: 'No trial is running.' }));
      else prog.appendChild(simpleTable('workers', ['worker', 'run', 'trial', 'configuration', 'seed', 'running for', 'step', 'epoch', 'loss', 'learning rate'], s.workers.map(function (w) {
        var pr = w.progress;
        return [w.worker || '', w.runId || '', el('a', { href: trialUrl(sid, w.trialId), text: w.trialId }), Object.keys(w.config).map(function (k) { return k + '=' + fmt(w.config[k]); }).join(' '), w.seed,
          w.startedAt ? duration((Date.now() - Date.parse(w.startedAt)) / 1000) : '', pr ? pr.step + '/' + pr.totalSteps : '', pr ? fmt(pr.epoch) : '', pr ? fmt(pr.loss) : '', pr ? fmt(pr.lr) : ''];
      })));
      if (s.runs.length) {
        prog.appendChild(el('h3', { text: 'Runs' }));
        prog.appendChild(simpleTable('runs', ['run', 'host', 'pid', 'workers × threads', 'started', 'heartbeat', 'finished', 'state'], s.runs.map(function (r) {
          return [r.id, r.host, r.pid, r.workers + ' × ' + r.threadsPerWorker, r.startedAt, r.heartbeatAt, r.finishedAt || '', r.finishedAt ? 'finished' : r.alive ? 'running' : 'stopped'];
        })));
      }
    }

    function columns() {
      var cols = [{ key: 'select', name: '', nosort: true }, { key: 'id', name: 'trial', text: true }, { key: 'status', name: 'status', text: true }, { key: 'role', name: 'role', text: true }];
      factors.forEach(function (f) { cols.push({ key: 'c:' + f, name: f }); });
      cols.push({ key: 'seed', name: 'seed' });
      // HF data_seed (the sampler order), only for a study that sets data seeds
      if (dataSeeds) cols.push({ key: 'dataSeed', name: 'data_seed' });
      metrics.forEach(function (m) { cols.push({ key: 'm:' + m, name: m }); });
      cols.push({ key: 'seconds', name: 'seconds' }, { key: 'attempts', name: 'attempts' }, { key: 'worker', name: 'worker', text: true }, { key: 'error', name: 'error', text: true });
      return cols;
    }
    function value(t, key) {
      if (key.indexOf('c:') === 0) { var v = t.config[key.slice(2)]; return v === undefined ? null : v; }
      if (key.indexOf('m:') === 0) { return t.metrics && typeof t.metrics[key.slice(2)] === 'number' ? t.metrics[key.slice(2)] : null; }
      return t[key] === undefined ? null : t[key];
    }
    var table = el('table', { id: 'trials', className: 'trials' });
    var shown = el('span', { id: 'trials-shown' });
    var statusSel = el('select', { id: 'status-filter', 'aria-label': 'status' });
    ['', 'pending', 'running', 'done', 'failed'].forEach(function (s) { statusSel.appendChild(el('option', { value: s, text: s || 'any status' })); });
    statusSel.addEventListener('change', function () { filters.status = statusSel.value; renderRows(); });
    trialsSec.appendChild(el('div', { className: 'toolbar' }, el('label', null, 'status ', statusSel), shown, el('span', { className: 'note', text: 'Filter a column: text, a number, <x, >=x, a..b. Click a header to sort. Tick trials to overlay their curves.' })));
    trialsSec.appendChild(el('div', { className: 'scroll' }, table));

    function buildHead() {
      clear(table);
      var cols = columns();
      var head = el('tr'), frow = el('tr', { className: 'filters' });
      cols.forEach(function (c) {
        var th = el('th', { 'data-key': c.key, className: c.nosort ? 'nosort' : '', text: c.name });
        if (!c.nosort) th.addEventListener('click', function () {
          sort = { col: c.key, asc: sort.col === c.key ? !sort.asc : true };
          buildHead(); renderRows();
        });
        if (sort.col === c.key) th.classList.add(sort.asc ? 'asc' : 'desc');
        head.appendChild(th);
        var fth = el('th');
        if (!c.nosort && c.key !== 'status') {
          var inp = el('input', { type: 'search', 'data-filter': c.key, placeholder: 'filter', 'aria-label': 'filter ' + c.name });
          inp.value = filters[c.key] || '';
          inp.addEventListener('input', function () { filters[c.key] = inp.value; renderRows(); });
          fth.appendChild(inp);
        }
        frow.appendChild(fth);
      });
      table.appendChild(el('thead', null, head, frow));
      table.appendChild(el('tbody'));
    }
    function renderRows() {
      var cols = columns();
      var ms = cols.filter(function (c) { return filters[c.key]; }).map(function (c) { return { key: c.key, fn: matcher(filters[c.key], !c.text) }; }).filter(function (m) { return m.fn; });
      var rows = trials.filter(function (t) {
        if (filters.status && t.status !== filters.status) return false;
        return ms.every(function (m) { return m.fn(value(t, m.key)); });
      });
      var sc = cols.filter(function (c) { return c.key === sort.col; })[0] || { key: 'ordinal' };
      rows.sort(function (a, b) { var r = compare(value(a, sc.key), value(b, sc.key), !sc.text); return sort.asc ? r : -r; });
      var tb = clear(table.tBodies[0]);
      rows.forEach(function (t) {
        var tr = el('tr', { 'data-id': t.id, 'data-status': t.status });
        cols.forEach(function (c) {
          if (c.key === 'select') {
            var cb = el('input', { type: 'checkbox', 'aria-label': 'overlay ' + t.id, 'data-select': t.id });
            cb.checked = selected.indexOf(t.id) >= 0;
            cb.addEventListener('change', function () {
              if (cb.checked) { if (selected.indexOf(t.id) < 0) selected.push(t.id); } else selected = selected.filter(function (x) { return x !== t.id; });
              loadCurves();
            });
            tr.appendChild(el('td', null, cb));
          } else if (c.key === 'id') tr.appendChild(el('td', null, el('a', { href: trialUrl(sid, t.id), text: t.id })));
          else {
            var v = value(t, c.key);
            var td = el('td', { text: fmt(v), className: (c.text ? '' : 'n') + (c.key === 'status' ? ' status-' + t.status : '') + (c.key === 'error' ? ' err' : '') });
            if (typeof v === 'number') td.setAttribute('data-value', String(v));
            tr.appendChild(td);
          }
        });
        tb.appendChild(tr);
      });
      shown.textContent = 'showing ' + rows.length + ' of ' + trials.length + ' trials';
    }
    var loadTrials = serial(function () {
      return getJson(api(sid, '/trials')).then(function (r) {
        var ms = {};
        r.trials.forEach(function (t) { if (t.metrics) Object.keys(t.metrics).forEach(function (k) { ms[k] = 1; }); });
        var order = ['accuracy', 'f1', 'loss'];
        var newMetrics = order.filter(function (k) { return ms[k]; }).concat(Object.keys(ms).filter(function (k) { return order.indexOf(k) < 0; }).sort());
        var newFactors = r.factors.slice();
        r.trials.forEach(function (t) { Object.keys(t.config).forEach(function (k) { if (newFactors.indexOf(k) < 0) newFactors.push(k); }); });
        var newDataSeeds = r.trials.some(function (t) { return t.dataSeed !== null && t.dataSeed !== undefined; });
        var rebuild = newMetrics.join() !== metrics.join() || newFactors.join() !== factors.join() || newDataSeeds !== dataSeeds || !table.tHead;
        trials = r.trials; metrics = newMetrics; factors = newFactors; dataSeeds = newDataSeeds;
        if (rebuild) buildHead();
        renderRows();
        loadCurves();
      });
    });

    // curves of the ticked trials (by default the last few finished ones)
    var curvesNote = el('p', { className: 'note', id: 'curves-note' });
    var curvesBox = el('div', { className: 'charts', id: 'curve-charts' });
    curvesSec.appendChild(curvesNote);
    curvesSec.appendChild(curvesBox);
    var lastCurveKey = '';
    var loadCurves = serial(function () {
      var ids = selected.length ? selected.slice() : trials.filter(function (t) { return t.status === 'done' || t.status === 'running'; })
        .sort(function (a, b) { return compare(b.finishedAt || '9', a.finishedAt || '9', false); }).slice(0, 3).map(function (t) { return t.id; });
      var key = ids.map(function (id) { var t = trials.filter(function (x) { return x.id === id; })[0]; return id + ':' + (t ? t.status + t.attempts : ''); }).join(',') + '|' + stepTick;
      if (key === lastCurveKey) return null;
      lastCurveKey = key;
      curvesNote.textContent = ids.length ? (selected.length ? 'Selected: ' : 'Latest trials (tick others in the table): ') + ids.join(', ') : 'No trial has started yet.';
      if (!ids.length) { finalizeIn(curvesBox); clear(curvesBox); return null; }
      return getJson(api(sid, '/curves?trials=' + encodeURIComponent(ids.join(',')))).then(function (r) { return renderCurves(curvesBox, r.charts); });
    });
    var stepTick = 0;

    // analysis: the report's sections, rebuilt when the finished trials change
    var analysis = el('div', { id: 'analysis' });
    var analysisNote = el('p', { className: 'note', id: 'analysis-note' });
    analysisSec.appendChild(analysisNote);
    analysisSec.appendChild(analysis);
    var loadAnalysis = serial(function () {
      return getJson(api(sid, '/analysis')).then(function (a) {
        if (analysis.getAttribute('data-key') === a.key) return null;
        analysisNote.textContent = a.message ? a.message : 'The report of the ' + a.done + ' finished design trial' + (a.done === 1 ? '' : 's') + ', recomputed as trials finish (' + a.drawn + ' of ' + a.charts + ' charts drawn).';
        finalizeIn(analysis);
        analysis.innerHTML = a.body; // server-rendered by src/report: every value escaped
        analysis.setAttribute('data-key', a.key);
        analysis.removeAttribute('data-rendered-key');
        sortableReportTables(analysis);
        return embedInto(analysis, a.specs).then(function () { analysis.setAttribute('data-rendered-key', a.key); });
      });
    });

    // downloads
    var stemLinks = [['export.csv', 'trials (CSV, finished design trials)'], ['export.csv?all=1', 'every trial (CSV)'], ['export.json', 'everything (JSON: study, trials, epochs, runs)'], ['report.html', 'the HTML report'], ['report-data.csv', 'report data (CSV)'], ['report-fits.csv', 'fits (CSV)'], ['report-coefficients.csv', 'coefficients (CSV)']];
    var links = el('p', { className: 'downloads' });
    stemLinks.forEach(function (l) { links.appendChild(el('a', { href: api(sid, '/' + l[0]), text: l[1], download: '' })); });
    dl.appendChild(links);
    var cmpSel = el('select', { id: 'compare-with' });
    var cmpGo = el('button', { text: 'Compare side by side', id: 'compare-go' });
    cmpGo.addEventListener('click', function () { location.href = '/compare?a=' + encodeURIComponent(sid) + '&b=' + encodeURIComponent(cmpSel.value); });
    getJson('/api/studies').then(function (list) {
      list.filter(function (s) { return s.id !== sid; }).forEach(function (s) { cmpSel.appendChild(el('option', { value: s.id, text: s.name })); });
      if (cmpSel.options.length) dl.appendChild(el('div', { className: 'toolbar' }, 'Compare with ', cmpSel, cmpGo));
    });

    var throttled = null;
    stream('?study=' + encodeURIComponent(sid) + '&steps=1', {
      summary: function (s) { summary = s; renderProgress(); },
      trials: function () { loadTrials(); },
      analysis: function () { loadAnalysis(); },
      step: function (e) {
        // step reports come many per second: redraw the curves at most twice a second
        if (throttled) return;
        throttled = setTimeout(function () { throttled = null; stepTick++; if (selected.length === 0 || selected.indexOf(e.trialId) >= 0) loadCurves(); }, 500);
      },
    });
    loadTrials();
    loadAnalysis();
  }

  function renderCurves(box, charts) {
    finalizeIn(box);
    clear(box);
    var specs = {};
    [['curve-loss', charts.loss], ['curve-lr', charts.learningRate], ['curve-eval', charts.evaluation]].forEach(function (c) {
      if (!c[1]) return;
      specs[c[0]] = c[1];
      box.appendChild(el('figure', { className: 'chart', id: c[0] }, el('div', { className: 'vega', id: c[0] + '-view' })));
    });
    charts.missing.forEach(function (m) { box.appendChild(el('p', { className: 'missing', text: m })); });
    return embedInto(box, specs).then(function () { box.setAttribute('data-rendered', String(Object.keys(specs).length)); });
  }

  function trialPage(sid, tid) {
    clear(app);
    app.appendChild(el('div', { className: 'crumbs' }, el('a', { href: '/', text: 'all studies' }), ' / ', el('a', { href: studyUrl(sid), text: sid, id: 'back' })));
    var info = section('trial-info', 'Trial');
    var curves = section('curves', 'Training curves');
    var box = el('div', { className: 'charts', id: 'curve-charts' });
    curves.appendChild(box);
    var load = serial(function () {
      return getJson(api(sid, '/trials/' + encodeURIComponent(tid))).then(function (r) {
        var t = r.trial;
        setHeader('Trial ' + t.id, el('span', null, el('span', { id: 'live', className: 'live on' }), 'study ' + sid + ' · ' + t.status));
        clear(info).appendChild(el('h2', { text: 'Trial' }));
        var rows = [['status', t.status], ['kind', t.kind], ['seed', t.seed], ['data_seed', t.dataSeed === null ? '' : t.dataSeed], ['attempts', t.attempts], ['worker', t.worker || ''], ['run', t.runId || ''], ['started', t.startedAt || ''], ['finished', t.finishedAt || ''],
          ['train seconds', t.trainSeconds], ['examples/s', t.examplesPerSecond], ['steps', t.steps], ['backend', t.backend || '']];
        Object.keys(t.config).forEach(function (k) { rows.push([k, t.config[k]]); });
        if (t.metrics) Object.keys(t.metrics).forEach(function (k) { rows.push(['eval ' + k, t.metrics[k]]); });
        if (t.versions) Object.keys(t.versions).forEach(function (k) { rows.push(['version ' + k, t.versions[k]]); });
        if (t.error) rows.push(['error', t.error]);
        info.appendChild(simpleTable('trial-details', ['field', 'value'], rows));
        if (r.epochs.length) info.appendChild(simpleTable('epochs', ['epoch', 'step', 'training loss', 'learning rate', 'seconds'].concat(Object.keys(r.epochs[0].metrics)), r.epochs.map(function (e) {
          return [e.epoch, e.step, e.trainLoss, e.learningRate, e.seconds].concat(Object.keys(r.epochs[0].metrics).map(function (k) { return e.metrics[k]; }));
        })));
        return getJson(api(sid, '/curves?trials=' + encodeURIComponent(tid))).then(function (c) { return renderCurves(box, c.charts); });
      });
    });
    var throttled = null;
    stream('?study=' + encodeURIComponent(sid) + '&steps=1', {
      trials: function () { load(); },
      step: function (e) { if (e.trialId !== tid || throttled) return; throttled = setTimeout(function () { throttled = null; load(); }, 500); },
    });
    load();
  }

  function comparePage(a, b) {
    clear(app);
    setHeader('Compare studies', el('span', null, el('span', { id: 'live', className: 'live on' }), 'side by side, updated as trials finish'));
    app.appendChild(el('div', { className: 'crumbs' }, el('a', { href: '/', text: '← all studies' })));
    var keySec = section('compare-key', 'Key numbers');
    var keyBox = el('div');
    keySec.appendChild(keyBox);
    var cols = el('div', { className: 'cols', id: 'compare-cols' });
    app.appendChild(cols);
    var sides = [a, b].map(function (sid, i) {
      var box = el('div', { id: 'side-' + i, 'data-study': sid });
      cols.appendChild(box);
      return { sid: sid, box: box, summary: null, trials: [] };
    });
    function keyNumbers() {
      var ms = {};
      sides.forEach(function (s) { s.trials.forEach(function (t) { if (t.metrics && t.status === 'done') Object.keys(t.metrics).forEach(function (k) { ms[k] = 1; }); }); });
      var rows = [];
      var head = ['metric'];
      sides.forEach(function (s) { var n = s.summary ? s.summary.name : s.sid; head.push(n + ': best', n + ': mean', n + ': sd', n + ': n'); });
      ['accuracy', 'f1', 'loss'].concat(Object.keys(ms).filter(function (k) { return ['accuracy', 'f1', 'loss'].indexOf(k) < 0; }).sort()).filter(function (k) { return ms[k]; }).forEach(function (m) {
        var row = [m];
        sides.forEach(function (s) {
          var v = s.trials.filter(function (t) { return t.status === 'done' && t.role !== 'baseline-evaluation' && t.metrics && typeof t.metrics[m] === 'number' && isFinite(t.metrics[m]); }).map(function (t) { return t.metrics[m]; });
          var mean = v.length ? v.reduce(function (x, y) { return x + y; }, 0) / v.length : null;
          var sd = v.length > 1 ? Math.sqrt(v.reduce(function (x, y) { return x + (y - mean) * (y - mean); }, 0) / (v.length - 1)) : null;
          var best = v.length ? (m.indexOf('loss') >= 0 ? Math.min.apply(null, v) : Math.max.apply(null, v)) : null;
          row.push(best, mean, sd, v.length);
        });
        rows.push(row);
      });
      clear(keyBox).appendChild(simpleTable('compare-table', head, rows));
    }
    sides.forEach(function (side, i) {
      var head = el('div');
      var an = el('div', { className: 'analysis', id: 'analysis-' + i });
      side.box.appendChild(head);
      side.box.appendChild(an);
      function renderHead() {
        var s = side.summary;
        var p = progressCards(s);
        clear(head).appendChild(el('h2', null, el('a', { href: studyUrl(side.sid), text: s.name })));
        head.appendChild(el('p', { className: 'stats', text: 'model ' + s.model + ' · ' + s.design }));
        head.appendChild(p.bar);
        head.appendChild(el('p', { className: 'stats', text: s.counts.done + ' done, ' + s.counts.running + ' running, ' + s.counts.failed + ' failed, ' + s.counts.pending + ' pending' }));
      }
      var loadTrials = serial(function () { return getJson(api(side.sid, '/trials')).then(function (r) { side.trials = r.trials; keyNumbers(); }); });
      var loadAnalysis = serial(function () {
        return getJson(api(side.sid, '/analysis')).then(function (r) {
          if (an.getAttribute('data-key') === r.key) return null;
          finalizeIn(an);
          // two reports on one page: their element ids are made unique per side
          var tmp = el('div');
          tmp.innerHTML = r.body; // server-rendered by src/report: every value escaped
          Array.prototype.forEach.call(tmp.querySelectorAll('[id]'), function (e) {
            if (e.classList.contains('vega')) e.setAttribute('data-chart', e.id.replace(/-view$/, ''));
            e.id = 's' + i + '-' + e.id;
          });
          Array.prototype.forEach.call(tmp.querySelectorAll('nav'), function (n) { n.parentNode.removeChild(n); });
          clear(an);
          while (tmp.firstChild) an.appendChild(tmp.firstChild);
          if (r.message) an.appendChild(el('p', { className: 'missing', text: r.message }));
          an.setAttribute('data-key', r.key);
          sortableReportTables(an);
          return embedInto(an, r.specs).then(function () { an.setAttribute('data-rendered-key', r.key); });
        });
      });
      stream('?study=' + encodeURIComponent(side.sid), {
        summary: function (s) { side.summary = s; renderHead(); keyNumbers(); },
        trials: function () { loadTrials(); },
        analysis: function () { loadAnalysis(); },
      });
      loadTrials();
      loadAnalysis();
    });
  }

  var pageKind = body.getAttribute('data-page');
  if (pageKind === 'studies') studiesPage();
  else if (pageKind === 'study') studyPage(body.getAttribute('data-study'));
  else if (pageKind === 'trial') trialPage(body.getAttribute('data-study'), body.getAttribute('data-trial'));
  else if (pageKind === 'compare') comparePage(body.getAttribute('data-a'), body.getAttribute('data-b'));
})();
