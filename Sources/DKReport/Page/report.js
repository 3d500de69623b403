// The report's script: reads the run from #report-data (written by ReportPage.swift) and
// shows it. Every text goes in with textContent or a canvas's fillText, never as markup.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const run = data.run;
  const FAILED = new Set(['Failed', 'TimedOut', 'TriggerFailed', 'Cancelled']);
  const PAGE = 100;
  const colourOf = {};
  data.states.forEach((s, i) => { colourOf[s] = data.colours[i]; });
  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function seconds(s) {
    if (s === null || s === undefined) return '-';
    if (s === 0) return '0';
    if (s < 0.001) return Math.round(s * 1e6) + ' \u00B5s';
    if (s < 1) return (s < 0.1 ? (s * 1000).toFixed(1) : Math.round(s * 1000)) + ' ms';
    if (s < 60) return s.toFixed(2) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }

  // Task runs (columns as ReportPage.data writes them), their attempts and log lines.
  const tasks = data.tasks.map((t, i) => ({
    i: i, name: t[0], index: t[1], label: t[1] < 0 ? t[0] : t[0] + '[' + t[1] + ']', state: data.states[t[2]],
    attempts: t[3], duration: t[4], worker: t[5], message: t[6], tries: [], logs: []
  }));
  const tries = data.attempts.map((a) => ({
    task: tasks[a[0]], number: a[1], start: a[2], end: a[3], state: data.states[a[4]], lane: a[5]
  }));
  tries.forEach((a) => a.task.tries.push(a));
  const flowLog = [];
  data.logs.forEach((l) => { (l[0] < 0 ? flowLog : tasks[l[0]].logs).push(l); });
  const span = run.duration !== null ? run.duration : tries.reduce((m, a) => Math.max(m, a.end || a.start), 0);

  // The table's rows: one per task, a mapped task's children under it.
  const byName = new Map();
  for (const t of tasks) {
    if (!byName.has(t.name)) byName.set(t.name, { name: t.name, own: null, children: [], expanded: false });
    const row = byName.get(t.name);
    if (t.index < 0) row.own = t; else row.children.push(t);
  }
  const rows = Array.from(byName.values());
  for (const row of rows) {
    const c = row.children;
    const failedChild = c.find((x) => FAILED.has(x.state));
    row.label = row.name;
    row.state = row.own ? row.own.state : failedChild ? failedChild.state : 'Running';
    row.failed = FAILED.has(row.state) || failedChild !== undefined;
    row.message = row.own ? row.own.message : null;
    if (c.length === 0) {
      row.attempts = row.own.attempts;
      row.duration = row.own.duration;
      row.worker = row.own.worker;
    } else {
      // A mapped task: its children's attempts, and the time from the first one's start to the last one's end.
      const all = c.flatMap((x) => x.tries);
      row.attempts = c.reduce((n, x) => n + x.attempts, 0);
      row.duration = all.length ? Math.max(...all.map((a) => (a.end === null ? span : a.end))) - Math.min(...all.map((a) => a.start)) : null;
      const workers = new Set(c.map((x) => x.worker).filter((w) => w));
      row.worker = workers.size > 1 ? workers.size + ' workers' : workers.size ? workers.values().next().value : null;
    }
  }

  // Header.
  document.title = 'dkrun report: ' + (run.flow || 'flow run');
  $('flow-name').textContent = run.flow || '(unknown flow)';
  const badge = $('run-state');
  badge.textContent = (run.state || 'unknown') + (run.finished ? '' : ' (no end recorded)');
  badge.style.background = colourOf[run.state] || '#fff';
  const facts = $('run-facts');
  function fact(name, value) {
    if (value === null || value === undefined || value === '') return;
    facts.append(el('dt', name), el('dd', value));
  }
  const workers = Array.from(new Set(tasks.map((t) => t.worker).filter((w) => w)));
  fact('run', run.id);
  fact('executor', (run.placement === 'kubernetes' ? 'on Kubernetes: ' : '') + (run.executor || 'unknown'));
  fact('workers', workers.length ? workers.length + ': ' + workers.join(', ') : 'this process (' + data.lanes.length + ' lane' + (data.lanes.length === 1 ? '' : 's') + ' ran at once)');
  fact('started', run.started ? run.started.replace('T', ' ').replace('Z', ' UTC') : null);
  fact('duration', seconds(run.duration));
  fact('parameters', run.parameters === null ? 'unknown' : JSON.stringify(run.parameters));
  const counts = Object.keys(run.counts).map((k) => run.counts[k] + ' ' + k).join(', ');
  fact('task runs', tasks.length + (counts ? ' (at the end: ' + counts + ')' : ''));
  $('run-message').textContent = run.message || '';

  // The task run shown below the table: its attempts, message and log lines.
  let selected = null;
  function logLine(l) {
    const t = l[0] >= 0 ? tasks[l[0]].label + ': ' : '';
    return el('div', '+' + l[1].toFixed(3) + 's ' + l[2] + ' ' + t + l[3], 'log-' + l[2]);
  }
  function select(row, task) {
    selected = task || row.own || row.children[0];
    const shown = task || row;
    $('details-name').textContent = task ? task.label : row.label;
    const box = $('details');
    box.replaceChildren();
    const dl = el('dl');
    const add = (n, v) => { if (v !== null && v !== undefined && v !== '') dl.append(el('dt', n), el('dd', v)); };
    add('state', shown.state);
    add('attempts', shown.attempts);
    add('duration', seconds(shown.duration));
    add('worker', shown.worker);
    add('message', shown.message);
    const own = task ? [task] : (row.own ? [row.own] : []).concat(row.children);
    const attemptLines = own.flatMap((t) => t.tries.map((a) => t.label + ' attempt ' + a.number + ': ' + a.state + ', +' +
      a.start.toFixed(3) + 's for ' + (a.end === null ? 'unfinished' : seconds(a.end - a.start)) + ' on ' + data.lanes[a.lane]));
    if (attemptLines.length) add('ran', attemptLines.slice(0, 200).join('\n') + (attemptLines.length > 200 ? '\n...' : ''));
    box.append(dl, el('h3', 'Log lines'));
    const lines = own.flatMap((t) => t.logs).sort((a, b) => a[1] - b[1]);
    const pre = el('pre', null, 'task-log');
    lines.slice(0, 5000).forEach((l) => pre.append(logLine(l)));
    if (lines.length === 0) pre.textContent = '(none)';
    if (lines.length > 5000) pre.append(el('div', '... ' + (lines.length - 5000) + ' more lines'));
    box.append(pre);
    renderTable();
  }

  // Failed and slowest task runs.
  function listOf(list, id, describe, more, count) {
    const ol = $(id);
    list.slice(0, count).forEach((t) => {
      const li = el('li', t.label + ' \u2014 ' + describe(t));
      li.addEventListener('click', () => select(byName.get(t.name), t));
      ol.append(li);
    });
    if (list.length === 0) ol.append(el('li', more));
    if (list.length > count) ol.append(el('li', '... and ' + (list.length - count) + ' more (sort the table by state)'));
  }
  const leaves = tasks.filter((t) => t.state !== 'Mapped');
  listOf(leaves.filter((t) => FAILED.has(t.state)), 'failed-list', (t) => t.state + (t.message ? ': ' + t.message.split('\n')[0] : ''),
    'none failed', 20);
  // Those that ran (a parameter or a cached result has a duration of nothing).
  listOf(leaves.filter((t) => t.tries.length && t.duration !== null).sort((a, b) => b.duration - a.duration), 'slowest-list',
    (t) => seconds(t.duration), 'no task ran', 10);

  // The table: sorted, filtered, paged.
  const keys = {
    task: (r) => r.label, state: (r) => r.state, attempts: (r) => r.attempts, duration: (r) => r.duration,
    worker: (r) => r.worker || '', message: (r) => r.message || ''
  };
  let sortKey = null; // null: failed first, then the slowest
  let descending = false;
  let page = 0;
  function compare(a, b) {
    if (sortKey === null) {
      if (a.failed !== b.failed) return a.failed ? -1 : 1;
      return (b.duration || 0) - (a.duration || 0);
    }
    const x = keys[sortKey](a), y = keys[sortKey](b);
    const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
    return descending ? -c : c;
  }
  function visible() {
    const filter = $('filter').value.toLowerCase();
    const out = [];
    for (const row of rows.filter((r) => r.name.toLowerCase().includes(filter)).sort(compare)) {
      out.push({ row: row });
      if (row.expanded) {
        for (const c of row.children.map((t) => Object.assign({}, t, { failed: FAILED.has(t.state), task: t })).sort(compare)) {
          out.push({ row: row, task: c.task });
        }
      }
    }
    return out;
  }
  function renderTable() {
    const items = visible();
    const pages = Math.max(1, Math.ceil(items.length / PAGE));
    page = Math.min(page, pages - 1);
    $('page-info').textContent = 'rows ' + (items.length ? page * PAGE + 1 : 0) + '\u2013' + Math.min(items.length, (page + 1) * PAGE) +
      ' of ' + items.length + ' (page ' + (page + 1) + ' of ' + pages + ')';
    const body = $('task-rows');
    body.replaceChildren();
    for (const item of items.slice(page * PAGE, (page + 1) * PAGE)) {
      const r = item.task || item.row;
      const tr = el('tr', null, item.task ? 'child' : '');
      const name = el('td');
      if (!item.task && item.row.children.length) {
        name.append(el('span', item.row.expanded ? '\u25BE' : '\u25B8', 'toggle'), item.row.label + ' (' + item.row.children.length + ' mapped)');
      } else {
        name.textContent = r.label;
      }
      const state = el('td', r.state, 'state');
      state.style.borderLeftColor = colourOf[r.state] || '#fff';
      tr.append(name, state, el('td', r.attempts), el('td', seconds(r.duration)), el('td', r.worker || '-'),
        el('td', r.message ? r.message.split('\n')[0] : ''));
      if (selected && (item.task ? item.task === selected : item.row.own === selected)) tr.classList.add('selected');
      tr.addEventListener('click', () => {
        if (!item.task && item.row.children.length) item.row.expanded = !item.row.expanded;
        select(item.row, item.task);
      });
      body.append(tr);
    }
    document.querySelectorAll('#task-table th').forEach((th) => {
      th.className = th.dataset.key === sortKey ? (descending ? 'sorted-desc' : 'sorted-asc') : '';
    });
  }
  document.querySelectorAll('#task-table th').forEach((th) => th.addEventListener('click', () => {
    descending = sortKey === th.dataset.key ? !descending : false;
    sortKey = th.dataset.key;
    page = 0;
    renderTable();
  }));
  $('prev-page').addEventListener('click', () => { page = Math.max(0, page - 1); renderTable(); });
  $('next-page').addEventListener('click', () => { page += 1; renderTable(); });
  $('filter').addEventListener('input', () => { page = 0; renderTable(); });

  // The timeline: a canvas (10,000 bars are one drawing, not 10,000 elements); `bars` keeps
  // where each attempt was drawn, for pointing and clicking.
  const canvas = $('timeline');
  const tooltip = $('tooltip');
  const LABEL = 170, ROW = 16, AXIS = 20;
  let bars = [];
  function drawTimeline() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(600, $('timeline-box').clientWidth - 2);
    const height = AXIS + Math.max(1, data.lanes.length) * ROW + 4;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    const scale = (width - LABEL - 10) / (span > 0 ? span : 1);
    const x = (t) => LABEL + t * scale;
    // Axis: about 8 ticks at round seconds.
    const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]
      .find((s) => span / s <= 8) || 14400;
    g.fillStyle = '#666';
    g.strokeStyle = '#eee';
    for (let t = 0; t <= span + 1e-9; t += step) {
      if (x(t) + 50 < width) g.fillText(seconds(t), x(t) + 2, AXIS / 2);
      g.beginPath(); g.moveTo(x(t) + 0.5, AXIS); g.lineTo(x(t) + 0.5, height); g.stroke();
    }
    data.lanes.forEach((name, i) => {
      const y = AXIS + i * ROW;
      if (i % 2 === 0) { g.fillStyle = '#f7f7f7'; g.fillRect(0, y, width, ROW); }
      g.fillStyle = '#333';
      g.fillText(name.length > 26 ? name.slice(0, 25) + '\u2026' : name, 4, y + ROW / 2, LABEL - 8);
    });
    bars = [];
    for (const a of tries) {
      const x0 = x(a.start), x1 = x(a.end === null ? span : a.end);
      const bar = { x: x0, y: AXIS + a.lane * ROW + 2, w: Math.max(1, x1 - x0), h: ROW - 4, attempt: a };
      g.fillStyle = colourOf[a.state] || '#ccc';
      g.fillRect(bar.x, bar.y, bar.w, bar.h);
      if (bar.w > 3) { g.strokeStyle = 'rgba(0,0,0,0.35)'; g.strokeRect(bar.x + 0.5, bar.y + 0.5, bar.w - 1, bar.h - 1); }
      // A retry starts with a dark edge, so that retries show even in a crowded lane.
      if (a.number > 1) { g.fillStyle = '#333'; g.fillRect(bar.x, bar.y, Math.min(2, bar.w), bar.h); }
      bars.push(bar);
    }
  }
  function barAt(event) {
    const box = canvas.getBoundingClientRect();
    const px = event.clientX - box.left, py = event.clientY - box.top;
    for (let i = bars.length - 1; i >= 0; i--) {
      const b = bars[i];
      if (px >= b.x - 1 && px <= b.x + b.w + 1 && py >= b.y && py <= b.y + b.h) return b;
    }
    return null;
  }
  canvas.addEventListener('mousemove', (event) => {
    const b = barAt(event);
    if (!b) { tooltip.hidden = true; return; }
    const a = b.attempt;
    tooltip.textContent = a.task.label + '\nattempt ' + a.number + ': ' + a.state + '\nstarted +' + a.start.toFixed(3) + ' s, took ' +
      (a.end === null ? 'unfinished' : seconds(a.end - a.start)) + '\n' + data.lanes[a.lane] +
      (a.task.message && a.state !== 'Success' ? '\n' + a.task.message.split('\n')[0] : '');
    tooltip.hidden = false;
    tooltip.style.left = (b.x + 8) + 'px';
    tooltip.style.top = (b.y + ROW) + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tooltip.hidden = true; });
  canvas.addEventListener('click', (event) => {
    const b = barAt(event);
    if (b) { select(byName.get(b.attempt.task.name), b.attempt.task); $('details-section').scrollIntoView(); }
  });
  const legend = $('legend');
  new Set(tries.map((a) => a.state)).forEach((s) => {
    const item = el('span', s);
    const swatch = el('i');
    swatch.style.background = colourOf[s];
    item.prepend(swatch);
    legend.append(item);
  });
  if (tries.length === 0) legend.textContent = 'No task ran.';
  window.addEventListener('resize', drawTimeline);

  // The task graph: Graphviz's SVG as an image (an image runs no script).
  const graph = $('graph');
  if (data.graph.svg) {
    const img = el('img');
    img.alt = 'the task graph, tasks coloured by state';
    img.src = 'data:image/svg+xml;base64,' + data.graph.svg;
    graph.append(img);
  } else {
    graph.append(el('p', data.graph.note, 'hint'));
  }

  flowLog.forEach((l) => $('flow-log').append(logLine(l)));
  if (flowLog.length === 0) $('flow-log').textContent = '(none)';

  drawTimeline();
  renderTable();
  // What the page drew, for a reader's own script (the tests read it).
  window.dkReport = { bars: () => bars, tasks: tasks, lanes: data.lanes };
})();
