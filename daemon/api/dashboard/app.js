// copyjobd's built-in dashboard. It reads only this daemon's own API, pages the job list with
// nextToken (never the whole cache), follows /v1/events as Server-Sent Events to stay live,
// and inserts every text that comes from AWS as text (textContent), never as HTML.
'use strict';

(() => {
  const STATUSES = ['InProgress', 'Completed', 'Failed'];
  const FILTER_KEYS = ['statusEquals', 'creationTimeAfter', 'creationTimeBefore', 'sourceAccountEquals',
    'sourceModelArnEquals', 'outputModelNameContains', 'jobRegionEquals', 'jobAccountEquals', 'sortOrder', 'maxResults'];
  const CHART_MAX_PAGES = 10;          // at most 10,000 jobs read for the chart
  const CHART_DEFAULT_DAYS = 30;
  const CHART_MAX_DAYS = 366;
  const CHART_MIN_INTERVAL_MS = 10000; // live changes redraw the chart at most this often
  const POLL_MS = 15000;               // health and stats even when nothing changes
  const RECONNECT_MS = 3000;

  const $ = (id) => document.getElementById(id);

  // Builds an element; string children become text nodes, so nothing is ever parsed as HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const svg = (tag, attrs, ...children) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, String(v));
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };

  const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
  const fmtTime = (iso) => {
    if (!iso) return '–';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
    return m ? `${m[1]} ${m[2]}` : iso;
  };
  function fmtAge(s) {
    if (!Number.isFinite(s)) return '–';
    s = Math.max(0, Math.floor(s));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min`;
    if (s < 172800) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 86400)} d`;
  }
  // "arn:aws:bedrock:REGION:ACCOUNT:model-copy-job/ID"
  function arnParts(arn) {
    const p = String(arn ?? '').split(':');
    return { region: p[3] ?? '', account: p[4] ?? '' };
  }
  function shortModel(job) {
    if (job.sourceModelName) return job.sourceModelName;
    const arn = String(job.sourceModelArn ?? '');
    return arn.slice(arn.lastIndexOf('/') + 1) || arn;
  }

  async function api(path, options = {}) {
    const res = await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...options });
    let body = null;
    const text = await res.text();
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    return { res, body };
  }
  const apiMessage = (r) => (r.body && r.body.message) || `HTTP ${r.res.status}`;

  // ---- state ----

  const view = {
    filters: {},          // the list API's query keys, as applied
    tokens: [null],       // nextToken of each page seen; tokens[i] opens page i
    page: 0,
    nextToken: null,
    expanded: new Set(),  // jobArns whose details are open
    fresh: new Set(),     // jobArns changed since the last render
  };
  const cache = { ageBase: NaN, ageAt: 0, lastId: null, stats: null, health: null, chartAt: 0 };
  let unreachable = false;

  function setBanner(text) {
    const b = $('banner');
    b.textContent = text ?? '';
    b.hidden = !text;
  }

  // ---- totals, age, sources ----

  async function loadStats() {
    const r = await api('/v1/stats');
    if (!r.res.ok || !r.body) throw new Error(`stats: ${apiMessage(r)}`);
    cache.stats = r.body;
    const age = Number(r.res.headers.get('Age'));
    cache.ageBase = r.res.headers.has('Age') ? age : NaN;
    cache.ageAt = Date.now();
    $('age').title = r.res.headers.get('x-copyjobd-synced-at') ?? 'never synced';
    $('total-all').textContent = fmtNum(r.body.total);
    for (const s of STATUSES) $(`total-${s}`).textContent = fmtNum(r.body.byStatus?.[s] ?? 0);
    $('total-range').textContent = r.body.total
      ? `${fmtTime(r.body.oldestCreationTime)} … ${fmtTime(r.body.newestCreationTime)}` : '–';
    tickAge();
  }

  async function loadHealth() {
    // 503 is an answer too: the body says why (degraded, stale, starting).
    const r = await api('/v1/health');
    if (!r.body || typeof r.body.state !== 'string') throw new Error(`health: ${apiMessage(r)}`);
    cache.health = r.body;
    const st = $('state');
    st.textContent = r.body.state;
    st.className = `badge state-${/^(ok|degraded|stale|starting)$/.test(r.body.state) ? r.body.state : 'unknown'}`;
    st.title = r.body.lastError ? `${r.body.lastError.type}: ${r.body.lastError.message}` : 'GET /v1/health';
  }

  function renderSources() {
    const stats = cache.stats ?? {}, health = cache.health ?? {};
    const names = new Set([...Object.keys(stats.sources ?? {}), ...Object.keys(health.sources ?? {})]);
    const rows = [];
    const row = (name, s, h) => {
      const err = h.lastError;
      return el('tr', { 'data-source': name },
        el('td', {}, name),
        el('td', {}, s.region ?? h.region ?? '–'),
        el('td', { class: 'mono' }, s.account ?? h.account ?? '–'),
        el('td', { class: 'n' }, fmtNum(s.total ?? h.jobs)),
        STATUSES.map((k) => el('td', { class: 'n' }, fmtNum(s.byStatus?.[k]))),
        el('td', {}, el('span', { class: `badge state-${h.state ?? 'unknown'}` }, h.state ?? '–')),
        el('td', {}, fmtTime(s.lastSuccessfulSync ?? h.lastSuccessfulSync)),
        el('td', {}, fmtTime(h.lastAttempt)),
        el('td', { class: 'wrap' }, err ? `${err.type}: ${err.message}` : '–'));
    };
    if (names.size) {
      for (const n of [...names].sort()) rows.push(row(n, stats.sources?.[n] ?? {}, health.sources?.[n] ?? {}));
    } else {
      // One source: the top level of /v1/stats and /v1/health describes it.
      rows.push(row('default', stats, health));
    }
    $('sources').replaceChildren(...rows);
  }

  function tickAge() {
    if (unreachable) { $('age').textContent = 'unknown'; return; }
    $('age').textContent = Number.isFinite(cache.ageBase)
      ? fmtAge(cache.ageBase + (Date.now() - cache.ageAt) / 1000) : 'never synced';
  }

  // ---- filters ----

  function toIso(local) {
    // datetime-local has no zone; this page shows and takes UTC, as AWS does.
    if (!local) return '';
    const d = new Date(`${local.length === 16 ? `${local}:00` : local}Z`);
    return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace('.000Z', 'Z');
  }
  const toLocal = (iso) => (iso ? iso.replace(/(\.\d+)?Z$/, '').slice(0, 19) : '');

  function readForm() {
    const f = {};
    const set = (k, v) => { if (v && String(v).trim()) f[k] = String(v).trim(); };
    set('statusEquals', $('f-status').value);
    set('creationTimeAfter', toIso($('f-after').value));
    set('creationTimeBefore', toIso($('f-before').value));
    set('sourceAccountEquals', $('f-account').value);
    set('sourceModelArnEquals', $('f-model').value);
    set('outputModelNameContains', $('f-name').value);
    set('jobRegionEquals', $('f-region').value);
    set('jobAccountEquals', $('f-job-account').value);
    if ($('f-order').value === 'Ascending') f.sortOrder = 'Ascending';
    if ($('f-size').value !== '50') f.maxResults = $('f-size').value;
    return f;
  }

  function writeForm(f) {
    $('f-status').value = f.statusEquals ?? '';
    $('f-after').value = toLocal(f.creationTimeAfter);
    $('f-before').value = toLocal(f.creationTimeBefore);
    $('f-account').value = f.sourceAccountEquals ?? '';
    $('f-model').value = f.sourceModelArnEquals ?? '';
    $('f-name').value = f.outputModelNameContains ?? '';
    $('f-region').value = f.jobRegionEquals ?? '';
    $('f-job-account').value = f.jobAccountEquals ?? '';
    $('f-order').value = f.sortOrder === 'Ascending' ? 'Ascending' : 'Descending';
    $('f-size').value = ['25', '50', '100', '200'].includes(f.maxResults) ? f.maxResults : '50';
  }

  function filtersFromHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const f = {};
    for (const k of FILTER_KEYS) if (p.get(k)) f[k] = p.get(k);
    return f;
  }

  function query(extra = {}) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({ maxResults: '50', ...view.filters, ...extra }))
      if (v !== undefined && v !== null && v !== '') p.set(k, v);
    return p.toString();
  }

  // ---- the jobs table ----

  function detailRow(job) {
    const dl = el('dl', {});
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '') dl.append(el('dt', {}, k), el('dd', {}, v)); };
    if (job.failureMessage) dl.append(el('dt', {}, 'failureMessage'), el('dd', {}, el('pre', { class: 'failure' }, job.failureMessage)));
    add('jobArn', job.jobArn);
    add('creationTime', job.creationTime);
    add('targetModelArn', job.targetModelArn);
    add('targetModelName', job.targetModelName);
    add('sourceModelArn', job.sourceModelArn);
    add('sourceModelName', job.sourceModelName);
    add('sourceAccountId', job.sourceAccountId);
    add('targetModelKmsKeyArn', job.targetModelKmsKeyArn);
    if (Array.isArray(job.targetModelTags) && job.targetModelTags.length)
      add('targetModelTags', job.targetModelTags.map((t) => `${t.key}=${t.value}`).join(', '));
    return el('tr', { class: 'detail', 'data-detail': job.jobArn }, el('td', { colspan: 8 }, dl));
  }

  function jobRows(job) {
    const { region, account } = arnParts(job.jobArn);
    const open = view.expanded.has(job.jobArn);
    const toggle = el('button', {
      type: 'button', class: 'details', 'aria-expanded': open ? 'true' : 'false',
      onclick: () => {
        if (view.expanded.has(job.jobArn)) view.expanded.delete(job.jobArn); else view.expanded.add(job.jobArn);
        renderJobs(lastPage);
      },
    }, job.status === 'Failed' ? (open ? 'Hide failure' : 'Show failure') : (open ? 'Hide' : 'Details'));
    const tr = el('tr', { 'data-arn': job.jobArn, class: view.fresh.has(job.jobArn) ? 'fresh' : '' },
      el('td', { class: 'mono', title: job.creationTime }, fmtTime(job.creationTime)),
      el('td', {}, el('span', { class: `status ${STATUSES.includes(job.status) ? job.status : ''}` }, job.status ?? '')),
      el('td', { class: 'wrap name' }, job.targetModelName ?? ''),
      el('td', { class: 'wrap', title: job.sourceModelArn ?? '' }, shortModel(job)),
      el('td', { class: 'mono' }, job.sourceAccountId ?? ''),
      el('td', {}, region),
      el('td', { class: 'mono' }, account),
      el('td', {}, toggle));
    return open ? [tr, detailRow(job)] : [tr];
  }

  let lastPage = [];
  function renderJobs(jobs) {
    lastPage = jobs;
    const rows = jobs.flatMap(jobRows);
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No job matches.')));
    $('jobs').replaceChildren(...rows);
    view.fresh.clear();
    $('newer').disabled = view.page === 0;
    $('older').disabled = !view.nextToken;
    $('page-info').textContent = `page ${view.page + 1}`;
  }

  async function loadPage() {
    const token = view.tokens[view.page];
    const r = await api(`/model-copy-jobs?${query(token ? { nextToken: token } : {})}`);
    const errBox = $('jobs-error');
    if (!r.res.ok || !r.body) {
      errBox.textContent = apiMessage(r);
      errBox.hidden = false;
      view.nextToken = null;
      renderJobs([]);
      return;
    }
    errBox.hidden = true;
    view.nextToken = r.body.nextToken ?? null;
    view.tokens.length = view.page + 1;
    if (view.nextToken) view.tokens.push(view.nextToken);
    renderJobs(r.body.modelCopyJobSummaries ?? []);
  }

  // ---- the chart: jobs per day by status, over the selected range ----

  const dayOf = (iso) => iso.slice(0, 10);
  const DAY_MS = 86400000;

  function chartRange() {
    const f = view.filters;
    let end = f.creationTimeBefore ? Date.parse(f.creationTimeBefore) - 1 : NaN;
    if (!Number.isFinite(end)) end = Date.parse(cache.stats?.newestCreationTime ?? '') || Date.now();
    let start = f.creationTimeAfter ? Date.parse(f.creationTimeAfter) + 1 : NaN;
    if (!Number.isFinite(start)) start = end - (CHART_DEFAULT_DAYS - 1) * DAY_MS;
    const first = Math.floor(start / DAY_MS), last = Math.floor(end / DAY_MS);
    const days = Math.min(CHART_MAX_DAYS, Math.max(1, last - first + 1));
    return { firstDay: last - days + 1, days, clamped: last - first + 1 > days, explicit: !!(f.creationTimeAfter || f.creationTimeBefore) };
  }

  let chartGen = 0;
  async function loadChart() {
    const gen = ++chartGen;
    cache.chartAt = Date.now();
    const range = chartRange();
    const after = new Date(range.firstDay * DAY_MS - 1).toISOString();
    const before = new Date((range.firstDay + range.days) * DAY_MS).toISOString();
    const base = { ...view.filters, maxResults: '1000', sortOrder: 'Descending' };
    // The tighter of the user's bound and the chart's.
    if (!base.creationTimeAfter || Date.parse(base.creationTimeAfter) < Date.parse(after)) base.creationTimeAfter = after;
    if (!base.creationTimeBefore || Date.parse(base.creationTimeBefore) > Date.parse(before)) base.creationTimeBefore = before;
    const counts = new Map();
    let token = null, pages = 0, truncated = false, oldestSeen = null;
    do {
      const p = new URLSearchParams(base);
      if (token) p.set('nextToken', token);
      const r = await api(`/model-copy-jobs?${p}`);
      if (gen !== chartGen) return;
      if (!r.res.ok || !r.body) { $('chart-note').textContent = `(cannot read: ${apiMessage(r)})`; return; }
      for (const j of r.body.modelCopyJobSummaries ?? []) {
        const d = dayOf(j.creationTime);
        const c = counts.get(d) ?? { InProgress: 0, Completed: 0, Failed: 0 };
        if (j.status in c) c[j.status]++;
        counts.set(d, c);
        oldestSeen = j.creationTime;
      }
      token = r.body.nextToken ?? null;
      pages++;
      if (token && pages >= CHART_MAX_PAGES) { truncated = true; break; }
    } while (token);
    drawChart(range, counts);
    const from = new Date(range.firstDay * DAY_MS).toISOString().slice(0, 10);
    const to = new Date((range.firstDay + range.days - 1) * DAY_MS).toISOString().slice(0, 10);
    $('chart-title').textContent = `Jobs per day, ${from} … ${to} (UTC)`;
    const notes = [];
    if (!range.explicit) notes.push(`the ${range.days} days up to the newest job; set a time range to choose`);
    if (range.clamped) notes.push(`the last ${CHART_MAX_DAYS} days of the range`);
    if (truncated) notes.push(`only the newest ${fmtNum(CHART_MAX_PAGES * 1000)} jobs are counted; days before ${fmtTime(oldestSeen)} are incomplete`);
    $('chart-note').textContent = notes.length ? `(${notes.join('; ')})` : '';
  }

  function drawChart(range, counts) {
    const W = 900, H = 220, L = 44, R = 8, T = 22, B = 26;
    const plotW = W - L - R, plotH = H - T - B;
    let max = 0;
    const days = [];
    for (let i = 0; i < range.days; i++) {
      const d = new Date((range.firstDay + i) * DAY_MS).toISOString().slice(0, 10);
      const c = counts.get(d) ?? { InProgress: 0, Completed: 0, Failed: 0 };
      days.push([d, c]);
      max = Math.max(max, c.InProgress + c.Completed + c.Failed);
    }
    const top = max <= 4 ? 4 : Math.ceil(max / 4) * 4;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, 'data-max': max });
    for (let k = 0; k <= 4; k++) {
      const y = T + plotH - (plotH * k) / 4;
      root.append(svg('line', { class: 'gridline', x1: L, x2: W - R, y1: y, y2: y }));
      root.append(svg('text', { class: 'axis', x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmtNum((top * k) / 4)));
    }
    const bw = plotW / range.days;
    const labelEvery = Math.max(1, Math.ceil(range.days / 10));
    days.forEach(([d, c], i) => {
      const x = L + i * bw;
      let y = T + plotH;
      const g = svg('g', { 'data-day': d, 'data-total': c.InProgress + c.Completed + c.Failed });
      g.append(svg('title', {}, `${d}: ${STATUSES.map((s) => `${c[s]} ${s}`).join(', ')}`));
      for (const s of ['Completed', 'Failed', 'InProgress']) {
        if (!c[s]) continue;
        const h = (plotH * c[s]) / top;
        y -= h;
        g.append(svg('rect', { class: `bar-${s}`, x: x + bw * 0.1, y, width: Math.max(1, bw * 0.8), height: h }));
      }
      // An empty day still gets a hover target.
      g.append(svg('rect', { x, y: T, width: bw, height: plotH, fill: 'transparent' }));
      root.append(g);
      if (i % labelEvery === 0)
        root.append(svg('text', { class: 'axis', x: x + bw / 2, y: H - 8, 'text-anchor': 'middle' }, d.slice(5)));
    });
    let lx = L;
    for (const s of STATUSES) {
      root.append(svg('rect', { class: `bar-${s}`, x: lx, y: 6, width: 10, height: 10 }));
      root.append(svg('text', { class: 'legend', x: lx + 14, y: 15 }, s));
      lx += 100;
    }
    $('chart').replaceChildren(root);
  }

  // ---- refreshing ----

  let refreshing = null, refreshAgain = false, refreshTimer = null;

  async function refresh({ chart = false } = {}) {
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = (async () => {
      try {
        await Promise.all([loadStats(), loadHealth(), loadPage()]);
        renderSources();
        if (unreachable) { unreachable = false; setBanner(null); }
        if (chart || Date.now() - cache.chartAt >= CHART_MIN_INTERVAL_MS) await loadChart();
      } catch (e) {
        unreachable = true;
        $('state').textContent = 'unreachable';
        $('state').className = 'badge state-unreachable';
        setBanner(`copyjobd did not answer (${e.message}); retrying…`);
        tickAge();
      }
    })();
    try { await refreshing; } finally { refreshing = null; }
    if (refreshAgain) { refreshAgain = false; await refresh({ chart }); }
  }

  // Many changes arrive together after a sync: one refresh for the batch.
  function scheduleRefresh(opts = {}) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refresh(opts), 250);
  }

  function apply({ resetPage = true } = {}) {
    view.filters = readForm();
    if (resetPage) { view.tokens = [null]; view.page = 0; }
    const p = new URLSearchParams(view.filters).toString();
    history.replaceState(null, '', p ? `#${p}` : location.pathname);
    return refresh({ chart: true });
  }

  // ---- live: /v1/events as Server-Sent Events ----

  let source = null, hadError = false;
  function setLive(text, on) {
    $('live').textContent = text;
    $('live').className = on ? 'live-on' : 'live-off';
  }

  function connect() {
    // The browser resumes from Last-Event-ID by itself; a stream the server closed for good
    // (it was stopping) is reopened here from the last event this page saw. Its id names the
    // store too, so a cache wiped meanwhile answers with a gap (and a full refresh).
    const url = cache.lastId === null ? '/v1/events' : `/v1/events?after=${encodeURIComponent(cache.lastId)}`;
    source = new EventSource(url);
    source.addEventListener('open', () => {
      setLive('on', true);
      // Whatever changed while the stream was down is read again.
      if (hadError) { hadError = false; scheduleRefresh({ chart: true }); }
    });
    source.addEventListener('error', () => {
      hadError = true;
      setLive('reconnecting', false);
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, RECONNECT_MS);
      }
    });
    const onChange = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (typeof msg.id === 'string') cache.lastId = msg.id;
      else if (typeof msg.seq === 'number') cache.lastId = String(msg.seq);
      if (msg.job && msg.job.jobArn) view.fresh.add(msg.job.jobArn);
      $('live').title = `last change #${msg.seq} (${msg.type})`;
      scheduleRefresh();
    };
    for (const t of ['created', 'updated', 'removed']) source.addEventListener(t, onChange);
    // Changes were lost to the log's trimming: read everything again.
    source.addEventListener('gap', () => scheduleRefresh({ chart: true }));
  }

  // ---- sync now ----

  async function syncNow() {
    const btn = $('sync-now'), out = $('sync-result');
    btn.disabled = true;
    out.textContent = 'syncing…';
    const started = Date.now();
    try {
      const r = await api(`/v1/sync?wait=true${$('sync-full').checked ? '&full=true' : ''}`, { method: 'POST' });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (r.res.ok && r.body && r.body.result === 'ok') {
        const c = r.body.changes ?? {};
        out.textContent = `sync ok in ${secs} s: ${fmtNum(c.created ?? 0)} created, ${fmtNum(c.updated ?? 0)} updated, ${fmtNum(c.removed ?? 0)} removed`;
      } else if (r.body && r.body.result === 'failed') {
        out.textContent = `sync failed: ${r.body.error ? `${r.body.error.type}: ${r.body.error.message}` : 'unknown error'}`;
      } else {
        out.textContent = `sync refused: ${apiMessage(r)}`;
      }
    } catch (e) {
      out.textContent = `sync: copyjobd did not answer (${e.message})`;
    } finally {
      btn.disabled = false;
      refresh();
    }
  }

  // ---- start ----

  function start() {
    writeForm(filtersFromHash());
    view.filters = readForm();
    $('filters').addEventListener('submit', (e) => { e.preventDefault(); apply(); });
    $('reset').addEventListener('click', () => { writeForm({}); apply(); });
    $('newer').addEventListener('click', () => { if (view.page > 0) { view.page--; refresh(); } });
    $('older').addEventListener('click', () => { if (view.nextToken) { view.page++; refresh(); } });
    $('sync-now').addEventListener('click', syncNow);
    window.addEventListener('hashchange', () => { writeForm(filtersFromHash()); apply(); });
    setInterval(tickAge, 1000);
    setInterval(() => refresh(), POLL_MS);
    connect();
    refresh({ chart: true });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
