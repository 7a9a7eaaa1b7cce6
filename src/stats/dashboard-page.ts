/**
 * The dashboard page (`/` of --dashboard): one self-contained document, no
 * CDN, no build step, no framework. It opens /events (server-sent events,
 * one frame a second) and redraws: tiles, SVG charts over the last minutes,
 * the workers (or, on an emperor, the vassals), recent events.
 *
 * Everything from the server is put in the page with textContent or
 * setAttribute, never as HTML, so a URI or a vassal name cannot inject
 * markup; the Content-Security-Policy allows exactly this script and style
 * (by hash) and connections to this origin only.
 */
import { createHash } from 'node:crypto';
import type { DashboardPage } from './http-endpoints';

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--mute:#6b7385;--line:#e3e6ec;--ok:#1f9d55;--warn:#d97706;--bad:#dc2626;--busy:#2563eb;--c1:#2563eb;--c2:#d97706;--c3:#dc2626}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:12px;padding:10px 20px;background:#1d2330;color:#fff}
header h1{font-size:17px;margin:0;font-weight:600}
header .meta{color:#aab2c5;font-size:13px}
header .sp{flex:1}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-size:12px;font-weight:600;background:#4b5563;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
main{padding:16px 20px;max-width:1400px;margin:0 auto}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:14px}
.tile,.card{background:var(--card);border:1px solid var(--line);border-radius:8px}
.tile{padding:10px 14px}
.tile .k{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;margin-bottom:14px}
.card{padding:10px 14px;margin-bottom:14px}
.card h2{font-size:13px;margin:0 0 6px;color:var(--mute);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.charts .card{margin-bottom:0}
svg.chart{width:100%;height:120px;display:block}
svg.chart text{font-size:10px;fill:var(--mute)}
.legend{font-size:12px;color:var(--mute)}
.legend i{display:inline-block;width:10px;height:3px;margin:0 4px 2px 8px;vertical-align:middle}
.legend .l1{background:var(--c1)}.legend .l2{background:var(--c2)}.legend .l3{background:var(--c3)}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
th{font-size:12px;color:var(--mute);font-weight:600}
td.num,th.num{text-align:right}
td.req{white-space:normal;max-width:480px;word-break:break-all}
.pill{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600;background:#e5e7eb;color:#374151}
.pill.busy{background:#dbeafe;color:#1e40af}.pill.idle{background:#dcfce7;color:#166534}.pill.cheap,.pill.pause{background:#f3f4f6;color:#6b7280}
.pill.bad{background:#fee2e2;color:#991b1b}
td.bad{color:var(--bad);font-weight:600}
.core{display:block;font-family:ui-monospace,monospace;font-size:12px}
.core.idle{color:var(--mute)}
ul.events{list-style:none;margin:0;padding:0;max-height:220px;overflow:auto;font-size:13px}
ul.events li{padding:3px 0;border-bottom:1px solid var(--line)}
ul.events time{color:var(--mute);margin-right:8px;font-variant-numeric:tabular-nums}
ul.events .harakiri,ul.events .exit{color:var(--bad)}ul.events .respawn{color:var(--warn)}
.actions{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.actions input{padding:5px 8px;border:1px solid var(--line);border-radius:6px;min-width:220px}
.actions button{padding:5px 12px;border:1px solid #c7ccd6;border-radius:6px;background:#fff;cursor:pointer}
.actions button:hover{background:#eef2ff}
.mute{color:var(--mute)}
a{color:var(--busy)}
[hidden]{display:none!important}
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; };
const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');
const fmtBytes = (n) => { n = Number(n || 0); if (n < 1024) return n + ' B'; const u = ['KiB', 'MiB', 'GiB', 'TiB']; let i = -1; do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1); return n.toFixed(n < 10 ? 1 : 0) + ' ' + u[i]; };
const fmtMs = (s) => s === null || s === undefined ? '\\u2013' : s >= 1 ? s.toFixed(s < 10 ? 2 : 1) + ' s' : (s * 1000 < 10 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(0)) + ' ms';
const fmtAge = (sec) => sec < 60 ? sec + ' s' : sec < 3600 ? Math.floor(sec / 60) + ' min ' + (sec % 60) + ' s' : Math.floor(sec / 3600) + ' h ' + Math.floor((sec % 3600) / 60) + ' min';
const clock = (ms) => new Date(ms).toTimeString().slice(0, 8);
let history = [];
let last = null;
const prevRequests = new Map();
const HISTORY = 300;
const C1 = '#2563eb', C2 = '#d97706', C3 = '#dc2626';

function badge(node, report, word) {
  node.textContent = report.ok ? word : 'not ' + word;
  node.className = 'badge ' + (report.ok ? 'ok' : 'bad');
  node.title = report.reason;
}

function chart(svg, series, opts) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  // Drawn at the element's real size: a stretched viewBox would distort the labels.
  const W = Math.max(200, svg.clientWidth || 600), H = 120, L = 54, B = 16, T = 6;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const ns = 'http://www.w3.org/2000/svg';
  const n = HISTORY;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = max > 0 ? niceMax(max) : 1;
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - T - B) * (1 - f);
    const line = document.createElementNS(ns, 'line');
    line.setAttribute('x1', L); line.setAttribute('x2', W); line.setAttribute('y1', y); line.setAttribute('y2', y);
    line.setAttribute('stroke', '#e3e6ec'); line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(line);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', L - 4); label.setAttribute('y', y + 3); label.setAttribute('text-anchor', 'end');
    label.textContent = opts.fmt(max * f);
    svg.appendChild(label);
  }
  const axis = document.createElementNS(ns, 'text');
  axis.setAttribute('x', W); axis.setAttribute('y', H - 3); axis.setAttribute('text-anchor', 'end');
  axis.textContent = 'now';
  svg.appendChild(axis);
  const axis0 = document.createElementNS(ns, 'text');
  axis0.setAttribute('x', L); axis0.setAttribute('y', H - 3);
  axis0.textContent = '\u2212' + Math.round(n / 60) + ' min';
  svg.appendChild(axis0);
  for (const s of series) {
    let d = '';
    const off = n - s.values.length;
    s.values.forEach((v, i) => {
      if (v === null) { d += ' '; return; }
      const x = L + ((off + i) / (n - 1)) * (W - L);
      const y = T + (H - T - B) * (1 - v / max);
      d += (d === '' || d.endsWith(' ') ? 'M' : 'L') + x.toFixed(1) + ',' + y.toFixed(1);
    });
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d.replace(/ +/g, ' ').trim() || 'M0,0');
    path.setAttribute('fill', 'none'); path.setAttribute('stroke', s.color); path.setAttribute('stroke-width', '1.6');
    path.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(path);
  }
}

function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawCharts(frame) {
  if (frame.kind === 'master') {
    chart($('chart-rps'), [{ values: history.map((s) => s.rps), color: C1 }], { fmt: (v) => v.toFixed(v < 10 ? 1 : 0) });
    chart($('chart-lat'), [
      { values: history.map((s) => s.p50 === null ? null : s.p50 * 1000), color: C1 },
      { values: history.map((s) => s.p95 === null ? null : s.p95 * 1000), color: C2 },
      { values: history.map((s) => s.p99 === null ? null : s.p99 * 1000), color: C3 },
    ], { fmt: (v) => v >= 1000 ? (v / 1000).toFixed(v < 10000 ? 1 : 0) + ' s' : (v < 10 ? v.toFixed(1) : v.toFixed(0)) + ' ms' });
    chart($('chart-mem'), [{ values: history.map((s) => s.rss), color: C1 }], { fmt: fmtBytes });
  } else {
    chart($('chart-rps'), [{ values: history.map((s) => s.rps), color: C1 }], { fmt: (v) => v.toFixed(v < 10 ? 1 : 0) });
  }
}

function tile(id, value) { $(id).textContent = value; }

function renderMaster(f) {
  $('title').textContent = 'nuwsgi master';
  $('meta').textContent = 'pid ' + f.pid + ' \\u00b7 version ' + f.version;
  const s = f.sample || {};
  const cores = f.workers.reduce((n, w) => n + (w.status === 'cheap' ? 0 : w.cores.length), 0);
  tile('total-requests', fmtInt(s.requests));
  tile('rps', s.rps === undefined ? '\\u2013' : s.rps.toFixed(1));
  const recent = history.slice(-60).filter((x) => x.p50 !== null);
  const pick = (k) => recent.length ? recent.reduce((m, x) => Math.max(m, x[k]), 0) : null;
  tile('p50', fmtMs(recent.length ? recent[recent.length - 1].p50 : null));
  tile('p99', fmtMs(pick('p99')));
  tile('busy', (s.busyCores || 0) + ' / ' + cores);
  tile('queue', f.listenQueue + (f.listenQueueErrors ? ' (' + f.listenQueueErrors + ' full)' : ''));
  tile('memory', fmtBytes(s.rss));
  renderWorkers(f);
  renderSockets(f.sockets);
  renderEvents(f.events);
}

function renderWorkers(f) {
  const body = $('rows');
  const rows = [];
  const now = Math.floor(f.t / 1000);
  for (const w of f.workers) {
    const tr = el('tr');
    tr.dataset.worker = w.id; tr.dataset.status = w.status; tr.dataset.respawns = w.respawns; tr.dataset.harakiri = w.harakiri; tr.dataset.pid = w.pid;
    tr.appendChild(el('td', '', w.id));
    tr.appendChild(el('td', 'num', w.status === 'cheap' ? '\\u2013' : w.pid));
    const st = el('td'); st.appendChild(el('span', 'pill ' + (w.status.startsWith('sig') ? 'bad' : w.status), w.status + (w.accepting || w.status === 'cheap' ? '' : ' \\u00b7 not accepting'))); tr.appendChild(st);
    const req = el('td', 'req');
    // An ASGI worker has a core per slot (--asgi-concurrency): past a few, only the used ones get a line.
    const many = w.cores.length > 8;
    let free = 0;
    for (const c of w.cores) {
      if (w.status === 'cheap') break;
      if (many && !c.busy && !c.open) { free++; continue; }
      const line = el('span', 'core ' + (c.busy ? 'busy' : 'idle'));
      const doing = c.busy ? ((c.method ? c.method + ' ' + c.uri : 'in a request') + ' \\u2014 ' + fmtAge(Math.max(0, now - c.since))) : c.open ? 'WebSocket open' : 'idle';
      line.textContent = (w.cores.length > 1 ? 'core ' + c.id + ': ' : '') + doing;
      req.appendChild(line);
    }
    if (free > 0) req.appendChild(el('span', 'core idle', free + ' of ' + w.cores.length + ' cores idle'));
    tr.appendChild(req);
    const prev = prevRequests.get(w.id);
    const rate = prev && f.t > prev.t ? Math.max(0, (w.requests - prev.n) * 1000 / (f.t - prev.t)) : 0;
    prevRequests.set(w.id, { n: w.requests, t: f.t });
    tr.appendChild(el('td', 'num', fmtInt(w.requests)));
    tr.appendChild(el('td', 'num', rate.toFixed(1)));
    tr.appendChild(el('td', 'num', w.avgRtMs.toFixed(2) + ' ms'));
    tr.appendChild(el('td', 'num', w.rss ? fmtBytes(w.rss) : '\\u2013'));
    tr.appendChild(el('td', 'num', fmtInt(w.respawns)));
    tr.appendChild(el('td', 'num' + (w.harakiri ? ' bad' : ''), fmtInt(w.harakiri)));
    tr.appendChild(el('td', 'num', fmtInt(w.exceptions)));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

function renderSockets(sockets) {
  const rows = sockets.map((k) => {
    const tr = el('tr');
    tr.appendChild(el('td', '', k.name));
    tr.appendChild(el('td', '', k.proto));
    tr.appendChild(el('td', 'num', k.queue + ' / ' + k.max));
    return tr;
  });
  $('sockets').replaceChildren(...rows);
}

function renderEvents(events) {
  const items = events.slice().reverse().map((e) => {
    const li = el('li');
    li.appendChild(el('time', '', clock(e.t)));
    li.appendChild(el('span', e.kind, e.text));
    return li;
  });
  if (items.length === 0) items.push(el('li', 'mute', 'nothing yet'));
  $('events').replaceChildren(...items);
}

function renderEmperor(f) {
  $('title').textContent = 'nuwsgi emperor';
  $('meta').textContent = 'pid ' + f.pid + ' \\u00b7 version ' + f.version;
  const running = f.vassals.filter((v) => v.state === 'ready').length;
  tile('total-requests', fmtInt(f.vassals.reduce((n, v) => n + (v.summary ? v.summary.requests : 0), 0)));
  tile('rps', f.sample ? f.sample.rps.toFixed(1) : '\\u2013');
  tile('vassals', running + ' / ' + f.vassals.length);
  tile('memory', fmtBytes(f.vassals.reduce((n, v) => n + (v.summary ? v.summary.rss : 0), 0)));
  const rows = f.vassals.map((v) => {
    const tr = el('tr');
    tr.dataset.vassal = v.name;
    const name = el('td');
    if (v.link) { const a = el('a', '', v.name); a.setAttribute('href', v.link.replace(/^http:\\/\\/(0\\.0\\.0\\.0|\\[::\\]):/, 'http://' + location.hostname + ':')); a.setAttribute('rel', 'noopener noreferrer'); name.appendChild(a); }
    else name.appendChild(el('span', '', v.name));
    tr.appendChild(name);
    const st = el('td'); st.appendChild(el('span', 'pill ' + (v.state === 'ready' ? (v.accepting ? 'idle' : 'busy') : v.state === 'dead' || v.state === 'throttled' ? 'bad' : 'cheap'), v.state)); tr.appendChild(st);
    tr.appendChild(el('td', 'num', v.pid > 0 ? v.pid : '\\u2013'));
    tr.appendChild(el('td', 'num', fmtInt(v.respawns)));
    const s = v.summary;
    tr.appendChild(el('td', 'num', s ? s.busy + ' / ' + s.workers : '\\u2013'));
    tr.appendChild(el('td', 'num', s ? fmtInt(s.requests) : '\\u2013'));
    tr.appendChild(el('td', 'num', s ? s.rps.toFixed(1) : '\\u2013'));
    tr.appendChild(el('td', 'num', s ? fmtBytes(s.rss) : fmtBytes(v.rss)));
    tr.appendChild(el('td', 'num', s ? s.listenQueue : '\\u2013'));
    tr.appendChild(el('td', 'num', s ? fmtInt(s.harakiri) : '\\u2013'));
    return tr;
  });
  $('vrows').replaceChildren(...rows);
  renderEvents(f.events);
}

function render(f) {
  last = f;
  document.body.dataset.kind = f.kind;
  for (const n of document.querySelectorAll('[data-only]')) n.hidden = n.dataset.only !== f.kind;
  badge($('ready'), f.ready, 'ready');
  badge($('live'), f.live, 'live');
  if (f.sample) { history.push(f.sample); if (history.length > HISTORY) history.shift(); }
  if (f.kind === 'master') renderMaster(f); else renderEmperor(f);
  $('actions').hidden = !(f.actions && f.actions.length);
  drawCharts(f);
}

function connect() {
  const es = new EventSource('events');
  es.addEventListener('history', (e) => { history = JSON.parse(e.data).slice(-HISTORY); });
  es.addEventListener('frame', (e) => {
    $('conn').textContent = 'connected'; $('conn').className = 'badge ok';
    try { render(JSON.parse(e.data)); } catch (err) { console.error(err); }
  });
  es.onerror = () => { $('conn').textContent = 'disconnected'; $('conn').className = 'badge warn'; };
}

for (const b of document.querySelectorAll('button[data-action]')) {
  b.addEventListener('click', async () => {
    const out = $('action-result');
    const token = $('token').value;
    try {
      const r = await fetch('actions/' + b.dataset.action, { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
      out.textContent = (await r.text()).trim();
    } catch (err) { out.textContent = String(err); }
  });
}
connect();
`;

const BODY = `<header><h1 id="title">nuwsgi</h1><span class="meta" id="meta"></span><span class="sp"></span>
<span class="badge" id="ready">ready?</span><span class="badge" id="live">live?</span><span class="badge warn" id="conn">connecting</span></header>
<main>
<section class="tiles">
<div class="tile"><div class="k">Requests</div><div class="v" id="total-requests">\u2013</div></div>
<div class="tile"><div class="k">Requests/s</div><div class="v" id="rps">\u2013</div></div>
<div class="tile" data-only="master"><div class="k">p50, last second</div><div class="v" id="p50">\u2013</div></div>
<div class="tile" data-only="master"><div class="k">p99, worst of 1 min</div><div class="v" id="p99">\u2013</div></div>
<div class="tile" data-only="master"><div class="k">Busy cores</div><div class="v" id="busy">\u2013</div></div>
<div class="tile" data-only="master"><div class="k">Listen queue</div><div class="v" id="queue">\u2013</div></div>
<div class="tile" data-only="emperor" hidden><div class="k">Vassals running</div><div class="v" id="vassals">\u2013</div></div>
<div class="tile"><div class="k">Memory (RSS)</div><div class="v" id="memory">\u2013</div></div>
</section>
<section class="charts">
<div class="card"><h2>Requests per second</h2><svg class="chart" id="chart-rps" role="img" aria-label="requests per second"></svg></div>
<div class="card" data-only="master"><h2>Latency <span class="legend"><i class="l1"></i>p50<i class="l2"></i>p95<i class="l3"></i>p99</span></h2><svg class="chart" id="chart-lat" role="img" aria-label="latency percentiles"></svg></div>
<div class="card" data-only="master"><h2>Workers' memory (RSS)</h2><svg class="chart" id="chart-mem" role="img" aria-label="memory"></svg></div>
</section>
<section class="card" data-only="master"><h2>Workers</h2>
<table><thead><tr><th>Worker</th><th class="num">PID</th><th>Status</th><th>Current request</th><th class="num">Requests</th><th class="num">Req/s</th><th class="num">Avg RT</th><th class="num">RSS</th><th class="num">Spawns</th><th class="num">Harakiri</th><th class="num">Exceptions</th></tr></thead><tbody id="rows"></tbody></table></section>
<section class="card" data-only="emperor" hidden><h2>Vassals</h2>
<table><thead><tr><th>Vassal</th><th>State</th><th class="num">PID</th><th class="num">Respawns</th><th class="num">Busy / workers</th><th class="num">Requests</th><th class="num">Req/s</th><th class="num">RSS</th><th class="num">Listen queue</th><th class="num">Harakiri</th></tr></thead><tbody id="vrows"></tbody></table>
<p class="mute">A vassal's name links to its own dashboard when it has one on TCP.</p></section>
<section class="card" data-only="master"><h2>Sockets</h2><table><thead><tr><th>Socket</th><th>Protocol</th><th class="num">Listen queue</th></tr></thead><tbody id="sockets"></tbody></table></section>
<section class="card"><h2>Recent events</h2><ul class="events" id="events"></ul></section>
<section class="card" id="actions" hidden><h2>Actions</h2><div class="actions">
<input id="token" type="password" placeholder="dashboard token" autocomplete="off">
<button data-action="reload">Graceful reload</button><button data-action="chain-reload">Chain reload</button>
<button data-action="add-worker">Add worker</button><button data-action="remove-worker">Remove worker</button>
<span id="action-result" class="mute"></span></div></section>
</main>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

let cached: DashboardPage | undefined;

export function dashboardPage(): DashboardPage {
  if (cached !== undefined) return cached;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>nuwsgi dashboard</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    'img-src data:',
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  cached = { html, csp };
  return cached;
}
