// The dashboard page: one HTML shell, one script and one style sheet, served from these strings
// (no build step, no framework, nothing fetched from elsewhere). The shell holds no data: the
// script reads snapshots from /api/ with fetch(), sending the token (taken once from the URL
// fragment, `#token=…`, which browsers never send to a server) as a bearer header, and writes
// every value with textContent. The charts arrive as SVG the server drew from its own figures.
// The script contains no template literals, so it sits in a template string unchanged.

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>btcbot dashboard</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>btcbot</h1>
  <span class="pill" id="mode">…</span>
  <span class="pill" id="source">…</span>
  <span id="database" class="muted"></span>
  <span class="spacer"></span>
  <span id="connection" class="pill">connecting…</span>
  <span class="muted">updated <span id="updated-at">never</span></span>
</header>
<div id="auth" class="banner" hidden>
  This dashboard needs its token. Open it as <code>/#token=…</code>, or paste the token:
  <input id="token-input" type="password" autocomplete="off" aria-label="dashboard token">
  <button id="token-save" type="button">Use token</button>
</div>
<main>
  <section class="cards">
    <div class="card" id="card-escalation">
      <h2>Escalation</h2>
      <div class="big" id="escalation-level">…</div>
      <div class="muted" id="escalation-reason"></div>
    </div>
    <div class="card" id="card-kill-switch">
      <h2>Kill switch</h2>
      <div class="big" id="kill-switch-state">…</div>
      <div class="muted" id="kill-switch-reason"></div>
      <div class="controls" id="kill-switch-controls">
        <input id="kill-switch-reason-input" type="text" maxlength="200" placeholder="reason (recorded in the audit trail)" aria-label="reason">
        <button id="kill-switch-button" type="button" disabled>…</button>
        <div class="muted" id="kill-switch-message" role="status"></div>
      </div>
    </div>
    <div class="card">
      <h2>Engine</h2>
      <div>last loop: <b id="engine-last-loop">…</b></div>
      <div>evaluations <b id="engine-evaluations">…</b> · submits <b id="engine-submits">…</b> · cancels <b id="engine-cancels">…</b> · replaces <b id="engine-replaces">…</b></div>
    </div>
    <div class="card">
      <h2>Order budget</h2>
      <div>headroom <b id="budget-headroom">…</b> <span class="muted" id="budget-use"></span></div>
      <div class="bar"><div id="budget-bar"></div></div>
      <table id="limiter" class="compact"><thead><tr><th>exchange limit</th><th>window</th><th>left</th><th>blocked</th></tr></thead><tbody></tbody></table>
    </div>
    <div class="card">
      <h2>Last reconciliation</h2>
      <div><b id="reconcile-when">…</b> <span id="reconcile-clean" class="pill"></span></div>
      <div class="muted" id="reconcile-found"></div>
    </div>
    <div class="card">
      <h2>Profit and loss <span class="muted" id="pnl-currency"></span></h2>
      <div>equity <b id="pnl-equity">…</b> · cash <b id="pnl-cash">…</b></div>
      <div>realised <b id="pnl-realised">…</b> · unrealised <b id="pnl-unrealised">…</b> · fees <b id="pnl-fees">…</b></div>
      <div class="muted" id="pnl-from"></div>
    </div>
  </section>
  <section id="cluster" hidden>
    <h2>Cluster: the processes sharing this store</h2>
    <table id="cluster-processes"><thead><tr><th>process</th><th>host / pid</th><th>pairs @ lease epoch</th><th>last heartbeat</th><th>budget use</th></tr></thead><tbody></tbody></table>
    <div class="muted" id="cluster-unheld"></div>
  </section>
  <section>
    <h2>Markets: data, our quotes against the book, inventory against target</h2>
    <table id="symbols"><thead><tr>
      <th>symbol</th><th>data</th><th>age</th><th>book bid</th><th>our bid</th><th>our ask</th><th>book ask</th>
      <th>position</th><th>target</th><th>avg price</th><th>realised</th><th>unrealised</th><th>fees</th><th>fills</th><th>held back by</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section class="charts">
    <div id="equity-chart-box" class="chart-box"></div>
    <div id="price-charts"></div>
  </section>
  <section class="two">
    <div>
      <h2>Open orders</h2>
      <table id="orders"><thead><tr><th>created</th><th>symbol</th><th>side</th><th>price</th><th>quantity</th><th>filled</th><th>state</th><th>client id</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Recent fills</h2>
      <table id="fills"><thead><tr><th>time</th><th>symbol</th><th>side</th><th>price</th><th>quantity</th><th>fee</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
  <section class="two">
    <div>
      <h2>Recent decisions</h2>
      <table id="decisions"><thead><tr><th>time</th><th>what</th><th>symbol</th><th>why</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Operator actions</h2>
      <table id="audit"><thead><tr><th>time</th><th>action</th><th>from</th><th>reason</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
</main>
</body>
</html>
`;

export const APP_CSS = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
header { display: flex; gap: 10px; align-items: center; padding: 8px 16px; background: #24292f; color: #fff; }
header h1 { font-size: 18px; margin: 0 8px 0 0; }
header .muted { color: #c9d1d9; }
.spacer { flex: 1; }
main { padding: 12px 16px; }
h2 { font-size: 14px; margin: 0 0 6px; }
section { margin-bottom: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; }
.big { font-size: 22px; font-weight: 600; }
.muted { color: #57606a; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #eaeef2; color: #1f2328; font-size: 12px; }
.ok { background: #dafbe1; color: #1a7f37; }
.warn { background: #fff8c5; color: #9a6700; }
.bad { background: #ffebe9; color: #cf222e; }
.banner { background: #fff8c5; padding: 8px 16px; border-bottom: 1px solid #d4a72c; }
.controls { margin-top: 8px; display: flex; flex-direction: column; gap: 6px; }
.controls input { padding: 4px; }
button { padding: 6px 10px; border-radius: 6px; border: 1px solid #d0d7de; background: #f6f8fa; cursor: pointer; font-weight: 600; }
button.danger { background: #cf222e; color: #fff; border-color: #a40e26; }
button.armed { background: #9a6700; color: #fff; border-color: #7d4e00; }
button:disabled { opacity: 0.5; cursor: default; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; white-space: nowrap; }
table.compact { margin-top: 6px; font-size: 11px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.why { white-space: normal; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 10px; }
#price-charts { display: contents; }
.chart-box { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 4px; }
.bar { height: 8px; background: #eaeef2; border-radius: 4px; margin-top: 6px; }
.bar div { height: 8px; background: #1a7f37; border-radius: 4px; width: 0; }
svg.chart .plot { fill: #fff; stroke: #d0d7de; }
svg.chart .grid { stroke: #eaeef2; }
svg.chart text { font-size: 10px; fill: #57606a; }
svg.chart .chart-title { font-size: 12px; font-weight: 600; fill: #1f2328; }
svg.chart .legend { font-size: 11px; fill: #1f2328; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } }
`;

export const APP_JS = String.raw`'use strict';
(function () {
  var NOT_RUNNING = 'not running';
  var ARM_MS = 5000;
  var state = { token: null, snapshot: null, armed: false, armTimer: null, busy: false };

  function readToken() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      state.token = decodeURIComponent(match[1]);
      try { sessionStorage.setItem('btcbot-dashboard-token', state.token); } catch (e) { /* private mode */ }
      history.replaceState(null, '', location.pathname + location.search);
    } else {
      try { state.token = sessionStorage.getItem('btcbot-dashboard-token'); } catch (e) { state.token = null; }
    }
  }

  function headers(extra) {
    var out = extra || {};
    if (state.token) out.Authorization = 'Bearer ' + state.token;
    return out;
  }

  function $(id) { return document.getElementById(id); }
  function text(id, value) { var node = $(id); if (node) node.textContent = value === null || value === undefined ? '' : String(value); }
  function or(value, fallback) { return value === null || value === undefined ? fallback : value; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) {
    if (ms === null || ms === undefined) return '';
    var d = new Date(ms);
    return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + 'Z';
  }
  function ago(ms, now) {
    if (ms === null || ms === undefined) return 'never';
    var s = Math.max(0, (now - ms) / 1000);
    return clock(ms) + ' (' + (s < 100 ? s.toFixed(1) : Math.round(s)) + ' s ago)';
  }
  function setClass(id, cls) {
    var node = $(id); if (!node) return;
    node.classList.remove('ok', 'warn', 'bad');
    if (cls) node.classList.add(cls);
  }

  function fillTable(id, rows) {
    var body = $(id).tBodies[0];
    var next = document.createDocumentFragment();
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (cell) {
        var td = document.createElement('td');
        var value = cell && typeof cell === 'object' ? cell.v : cell;
        if (cell && typeof cell === 'object' && cell.c) td.className = cell.c;
        td.textContent = value === null || value === undefined ? '' : String(value);
        tr.appendChild(td);
      });
      next.appendChild(tr);
    });
    body.replaceChildren(next);
  }
  function num(v) { return { v: v, c: 'num' }; }

  function render(s) {
    state.snapshot = s;
    var running = s.running;
    text('mode', running ? s.mode : NOT_RUNNING);
    text('source', s.source === 'live' ? 'live session' : 'store only (read-only)');
    text('database', s.database);
    text('updated-at', clock(s.at));
    document.body.dataset.updatedAt = String(s.at);

    text('escalation-level', s.escalation.level);
    setClass('escalation-level', s.escalation.level === 'NORMAL' ? 'ok' : s.escalation.level === 'HALTED' ? 'bad' : 'warn');
    text('escalation-reason', s.escalation.reason ? s.escalation.reason + ' (since ' + clock(s.escalation.at) + ')' : '');

    text('kill-switch-state', s.killSwitch.on ? 'ON' : 'off');
    setClass('kill-switch-state', s.killSwitch.on ? 'bad' : 'ok');
    text('kill-switch-reason', s.killSwitch.reason ? s.killSwitch.reason + ' (' + clock(s.killSwitch.at) + ')' : '');
    $('kill-switch-controls').hidden = !s.canControl;
    if (!state.armed) idleButton();

    var e = s.engine;
    text('engine-last-loop', e ? ago(e.lastLoopAt, s.at) : NOT_RUNNING);
    text('engine-evaluations', e ? e.evaluations : NOT_RUNNING);
    text('engine-submits', e ? e.submits : '-');
    text('engine-cancels', e ? e.cancels : '-');
    text('engine-replaces', e ? e.replaces : '-');

    var b = s.budget;
    text('budget-headroom', b ? b.headroom + ' requests' : NOT_RUNNING);
    text('budget-use', b ? '(' + b.used + ' of ' + b.limit + ' in the last minute)' : '');
    $('budget-bar').style.width = b ? Math.round((100 * b.headroom) / Math.max(1, b.limit)) + '%' : '0';

    fillTable('limiter', (s.limiter || []).map(function (l) {
      return [l.group, num(l.periodMs >= 1000 ? l.periodMs / 1000 + ' s' : l.periodMs + ' ms'), num(l.remaining + ' of ' + l.limit), num(l.blockedForMs > 0 ? l.blockedForMs + ' ms' : '')];
    }));

    var r = s.reconciliation;
    text('reconcile-when', r ? ago(r.at, s.at) : running ? 'none finished yet' : NOT_RUNNING);
    text('reconcile-clean', r ? (r.clean ? 'clean' : 'NOT clean') : '');
    setClass('reconcile-clean', r ? (r.clean ? 'ok' : 'bad') : null);
    text('reconcile-found', r ? r.found : '');

    // Shown only in cluster mode (process rows on the store), as btcbot status --cluster lists them.
    var c = s.cluster;
    $('cluster').hidden = !c;
    fillTable('cluster-processes', c ? c.processes.map(function (m) {
      var budget = m.budget ? Object.keys(m.budget).map(function (k) { return k + ' ' + m.budget[k]; }).join(', ') : 'not reported';
      return [
        m.id + (m.alive ? '' : ' (NOT heartbeating)'),
        m.host + ' / ' + m.pid,
        m.pairs.map(function (x) { return x.symbol + '@' + x.epoch; }).join(', ') || 'none',
        ago(m.heartbeatAt, c.at),
        budget
      ];
    }) : []);
    text('cluster-unheld', c && c.unheld.length > 0 ? 'free leases: ' + c.unheld.map(function (l) { return l.symbol + ' (last ' + l.holder + '@' + l.epoch + ')'; }).join(', ') : '');

    var p = s.pnl;
    text('pnl-currency', p ? '(' + p.currency + ')' : '');
    text('pnl-equity', p ? p.equity : 'no valuation yet');
    text('pnl-cash', p ? p.cash : '-');
    text('pnl-realised', p ? p.realised : '-');
    text('pnl-unrealised', p ? p.unrealised : '-');
    text('pnl-fees', p ? p.fees : '-');
    text('pnl-from', p ? (p.from === 'live' ? 'valued now by the running bot' : 'last equity snapshot in the store, ' + clock(p.at)) : '');

    fillTable('symbols', s.symbols.map(function (m) {
      return [
        m.symbol,
        running ? or(m.status, '-') : NOT_RUNNING,
        num(m.dataAgeMs === null ? (running ? '-' : NOT_RUNNING) : m.dataAgeMs + ' ms'),
        num(or(m.bookBid, running ? '-' : NOT_RUNNING)),
        num(or(m.ourBid, '-')),
        num(or(m.ourAsk, '-')),
        num(or(m.bookAsk, running ? '-' : NOT_RUNNING)),
        num(m.position),
        num(or(m.target, running ? 'none' : NOT_RUNNING)),
        num(or(m.averagePrice, '-')),
        num(m.realised),
        num(or(m.unrealised, running ? '-' : NOT_RUNNING)),
        num(m.fees),
        num(m.fills),
        { v: m.blockers.join('; '), c: 'why' }
      ];
    }));
    fillTable('orders', s.openOrders.map(function (o) {
      return [clock(o.createdAt), o.symbol, o.side, num(or(o.price, 'market')), num(o.quantity), num(o.filled), o.state, o.clientOrderId];
    }));
    fillTable('fills', s.fills.map(function (f) {
      return [clock(f.at), f.symbol, f.side, num(f.price), num(f.quantity), num(f.fee + ' ' + f.feeAsset)];
    }));
    fillTable('decisions', s.decisions.map(function (d) {
      return [clock(d.at), d.kind, or(d.symbol, ''), { v: d.text, c: 'why' }];
    }));
    fillTable('audit', s.audit.map(function (a) {
      return [clock(a.at), a.action, a.source, { v: a.reason, c: 'why' }];
    }));

    // Drawn by the server from its own figures, every text in them escaped.
    $('equity-chart-box').innerHTML = s.charts.equity;
    var boxes = $('price-charts');
    var wanted = s.charts.prices.map(function (c) { return 'price-box-' + c.symbol; });
    Array.prototype.slice.call(boxes.children).forEach(function (child) {
      if (wanted.indexOf(child.id) < 0) child.remove();
    });
    s.charts.prices.forEach(function (c) {
      var id = 'price-box-' + c.symbol;
      var box = $(id);
      if (!box) { box = document.createElement('div'); box.id = id; box.className = 'chart-box'; boxes.appendChild(box); }
      box.innerHTML = c.svg;
    });
  }

  function idleButton() {
    var button = $('kill-switch-button');
    var s = state.snapshot;
    button.classList.remove('armed');
    button.classList.toggle('danger', !!s && !s.killSwitch.on);
    button.disabled = !s || !s.canControl || state.busy;
    button.textContent = s && s.killSwitch.on ? 'Release kill switch' : 'Engage kill switch';
  }

  function disarm() {
    state.armed = false;
    clearTimeout(state.armTimer);
    idleButton();
  }

  // A change takes two clicks: the first arms the button for a few seconds, the second confirms.
  function onKillSwitchClick() {
    var s = state.snapshot;
    if (!s || state.busy) return;
    var button = $('kill-switch-button');
    if (!state.armed) {
      state.armed = true;
      button.classList.remove('danger');
      button.classList.add('armed');
      button.textContent = s.killSwitch.on
        ? 'Click again to confirm: RELEASE the kill switch' + (s.escalation.level === 'NORMAL' ? '' : ' (and return to NORMAL)')
        : 'Click again to confirm: ENGAGE the kill switch';
      text('kill-switch-message', 'confirm within ' + ARM_MS / 1000 + ' s');
      state.armTimer = setTimeout(function () { disarm(); text('kill-switch-message', ''); }, ARM_MS);
      return;
    }
    var on = !s.killSwitch.on;
    state.busy = true;
    disarm();
    text('kill-switch-message', on ? 'engaging…' : 'releasing…');
    fetch('/api/kill-switch', {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ on: on, reason: $('kill-switch-reason-input').value }),
      cache: 'no-store'
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || ('HTTP ' + response.status));
        state.snapshot.killSwitch = body.killSwitch;
        state.snapshot.escalation = body.escalation;
        text('kill-switch-message', 'kill switch ' + (body.killSwitch.on ? 'engaged' : 'released'));
        $('kill-switch-reason-input').value = '';
        render(state.snapshot);
      });
    }).catch(function (error) {
      text('kill-switch-message', 'failed: ' + error.message);
    }).then(function () {
      state.busy = false;
      idleButton();
    });
  }

  function setConnection(label, cls) {
    text('connection', label);
    setClass('connection', cls);
  }

  // Server-sent events read with fetch(), so the stream carries the bearer header like every request.
  function stream() {
    var decoder = new TextDecoder();
    var buffer = '';
    fetch('/api/events', { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401) {
          $('auth').hidden = false;
          setConnection('token needed', 'bad');
          return null;
        }
        if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
        $('auth').hidden = true;
        setConnection('live', 'ok');
        var reader = response.body.getReader();
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error('stream ended');
            buffer += decoder.decode(chunk.value, { stream: true });
            var end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              var block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              var data = block.split('\n').filter(function (l) { return l.indexOf('data: ') === 0; })
                .map(function (l) { return l.slice(6); }).join('\n');
              if (data !== '') render(JSON.parse(data));
            }
            return pump();
          });
        }
        return pump();
      })
      .then(function (stopped) { if (stopped !== null) retry(); }, function () { retry(); });
  }
  function retry() {
    setConnection('reconnecting…', 'warn');
    setTimeout(stream, 2000);
  }

  readToken();
  $('kill-switch-button').addEventListener('click', onKillSwitchClick);
  $('token-save').addEventListener('click', function () {
    state.token = $('token-input').value.trim();
    try { sessionStorage.setItem('btcbot-dashboard-token', state.token); } catch (e) { /* private mode */ }
    $('token-input').value = '';
    stream();
  });
  stream();
})();
`;
