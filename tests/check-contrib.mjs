// contrib/ against the daemon: every copyjobd_* series the Grafana dashboard and the
// Prometheus rules use is one that daemon/api/server-metrics.c exports, and the dashboard is
// a well-formed Grafana dashboard (unique panel ids, a query in every panel).
//   node tests/check-contrib.mjs SOURCE_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const top = process.argv[2];
const exported = new Set([...readFileSync(join(top, 'daemon/api/server-metrics.c'), 'utf8')
  .matchAll(/family\(b, "(copyjobd_[a-z_]+)"/g)].map((m) => m[1]));
let bad = 0;
const fail = (msg) => { console.error(`check-contrib: ${msg}`); bad++; };
if (exported.size < 5) fail(`only ${exported.size} metric families found in server-metrics.c`);

function checkNames(file, text) {
  const used = new Set([...text.matchAll(/\b(copyjobd_[a-z_]+)\b/g)].map((m) => m[1]));
  if (!used.size) fail(`${file}: uses no copyjobd metric`);
  for (const n of used) if (!exported.has(n)) fail(`${file}: ${n} is not exported by /metrics`);
  return used;
}

const dashFile = 'contrib/grafana/copyjobd-dashboard.json';
const dash = JSON.parse(readFileSync(join(top, dashFile), 'utf8'));
const ids = new Set();
const exprs = [];
for (const p of dash.panels ?? []) {
  if (ids.has(p.id)) fail(`${dashFile}: panel id ${p.id} twice`);
  ids.add(p.id);
  if (!p.gridPos || !p.title) fail(`${dashFile}: panel ${p.id} has no gridPos or title`);
  if (!p.targets?.length || p.targets.some((t) => !t.expr)) fail(`${dashFile}: panel '${p.title}' has no query`);
  exprs.push(...(p.targets ?? []).map((t) => t.expr));
}
if (!dash.uid || !dash.title || ids.size < 5) fail(`${dashFile}: not a dashboard`);
const usedByDash = checkNames(dashFile, exprs.join('\n'));
const rules = 'contrib/prometheus/copyjobd-alerts.yml';
checkNames(rules, readFileSync(join(top, rules), 'utf8'));
// The dashboard shows the jobs, the syncs and the API errors at least.
for (const n of ['copyjobd_jobs', 'copyjobd_syncs_total', 'copyjobd_api_errors_total', 'copyjobd_last_success_timestamp_seconds'])
  if (!usedByDash.has(n)) fail(`${dashFile}: does not show ${n}`);
if (bad) process.exit(1);
console.log(`check-contrib: ${ids.size} panels and the alert rules use only exported series (${exported.size} families)`);
