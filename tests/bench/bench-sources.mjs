#!/usr/bin/env node
// The sources benchmark: copyjobd with many sources (by default 20: 10 regions x 2 accounts, the
// second account through role_arn + external_id) against one fake with a data set of 10,000
// jobs per source. Measures
//   (a) the first full round: the wall time from the daemon's start until every source has
//       synced once (/v1/health: state ok, each source's lastSuccessfulSync set);
//   (b) an idle quick round: the Bedrock API calls each source makes for one quick sync when
//       nothing changed (goal: <= 2 per source);
//   (c) whether the sources' passes overlap in time (from the fake's per-data-set request
//       log: arrival and answer time of each request), and how many run at once;
// and the daemon's RSS and anonymous RSS after the round.
//   node tests/bench/bench-sources.mjs --copyjobd PATH [--regions 10] [--accounts 2]
//        [--jobs 10000] [--page-size 1000] [--rate 5] [--json OUT] [--smoke]
// --smoke: 2 regions x 2 accounts x 1,000 jobs. scripts/bench --sources runs it on a Release
// build and writes tests/bench/results/sources-latest.{json,txt}.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import os from 'node:os';

const HERE = dirname(fileURLToPath(import.meta.url));
const TOP = resolve(HERE, '../..');
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-central-1',
  'ap-northeast-1', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'sa-east-1', 'eu-north-1', 'ap-south-1'];
const PARTNERS = ['210987654321', '310987654321', '410987654321'];
const EXTERNAL_ID = 'cj-bench-ext';

function parse(argv) {
  const o = { regions: 10, accounts: 2, jobs: 10000, pageSize: 1000, rate: 5, json: null, copyjobd: process.env.COPYJOBD, smoke: false, timeoutS: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = (min, max) => {
      const n = Number(next());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${a} must be an integer ${min}..${max}`);
      return n;
    };
    if (a === '--regions') o.regions = int(1, REGIONS.length);
    else if (a === '--accounts') o.accounts = int(1, PARTNERS.length + 1);
    else if (a === '--jobs') o.jobs = int(0, 1_000_000);
    else if (a === '--page-size') o.pageSize = int(1, 1000);
    else if (a === '--rate') o.rate = int(1, 1000);
    else if (a === '--timeout') o.timeoutS = int(10, 7200);
    else if (a === '--json') o.json = next();
    else if (a === '--copyjobd') o.copyjobd = next();
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.smoke) Object.assign(o, { regions: 2, accounts: 2, jobs: 1000 });
  if (!o.copyjobd) throw new Error('--copyjobd PATH (or COPYJOBD) is required');
  return o;
}

const readProc = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

function memoryKiB(pid) {
  const status = readProc(`/proc/${pid}/status`);
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

/** The most spans active at one instant. */
function maxConcurrent(spans) {
  const edges = spans.flatMap(([a, b]) => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  let now = 0, best = 0;
  for (const [, d] of edges) best = Math.max(best, (now += d));
  return best;
}

async function main() {
  const o = parse(process.argv.slice(2));
  process.env.COPYJOBD = o.copyjobd;
  // The integration helpers read COPYJOBD when they start the daemon.
  const { startFake } = await import(join(TOP, 'tests/fake-bedrock/lib/harness.mjs'));
  const { startSourcesDaemon, requestsOf, span, allOverlap } = await import(join(TOP, 'tests/integration/lib/sources-helpers.mjs'));
  const { waitFor } = await import(join(TOP, 'tests/integration/lib/harness.mjs'));

  const regions = REGIONS.slice(0, o.regions);
  const partners = PARTNERS.slice(0, o.accounts - 1);
  const loadStart = readProc('/proc/loadavg').trim();
  const f = await startFake(['--https-port', '-1', '--jobs', String(o.jobs), '--seed', '2026',
    '--regions', regions.join(','), ...(partners.length ? ['--accounts', partners.join(',')] : [])], { timeoutMs: 600_000 });
  const adminCall = async (method, path, body) => {
    const res = await fetch(f.info.admin + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const fake = { http: f.info.http, admin: adminCall };
  let daemon;
  try {
    const caller = (await adminCall('GET', '/info')).account;
    const sources = regions.map((region) => ({ name: region, account: caller, region }));
    const lines = ['[aws]', `regions = ${regions.join(', ')}`, `endpoint = ${fake.http}`];
    for (const account of partners) {
      const role = `arn:aws:iam::${account}:role/copyjobd-bench`;
      await adminCall('POST', '/sts/roles', { roleArn: role, externalId: EXTERNAL_ID });
      for (const region of regions) {
        const name = `p${account.slice(0, 1)}-${region}`;
        sources.push({ name, account, region });
        lines.push(`[source.${name}]`, `region = ${region}`, `role_arn = ${role}`, `external_id = ${EXTERNAL_ID}`, `endpoint = ${fake.http}`);
      }
    }
    lines.push('[sync]', 'interval = 1h', 'full_interval = 1h', `page_size = ${o.pageSize}`,
      `max_requests_per_second = ${o.rate}`, 'timeout = 30s', 'min_on_demand_interval = 0');
    await adminCall('POST', '/stats/reset');
    await adminCall('POST', '/sts/calls/reset');

    // (a) the first full round.
    daemon = await startSourcesDaemon({ fake, config: lines.join('\n'), wait: 'none' });
    const health = await waitFor('every source to sync once', async () => {
      if (daemon.proc.exitCode !== null) return { exited: daemon.proc.exitCode };
      const h = await daemon.get('/v1/health');
      if (h.status !== 200 || h.json?.state !== 'ok') return false;
      return sources.every((s) => h.json.sources?.[s.name]?.lastSuccessfulSync) ? h.json : false;
    }, o.timeoutS * 1000, 50).catch((e) => {
      throw new Error(`${e.message}\n--- copyjobd log ---\n${daemon.log().slice(-4000)}`);
    });
    if (health.exited !== undefined) throw new Error(`copyjobd exited (${health.exited})\n--- copyjobd log ---\n${daemon.log().slice(-4000)}`);
    const roundS = (Date.now() - daemon.startedAt) / 1000;
    const memory = memoryKiB(daemon.proc.pid);
    const stats = (await daemon.get('/v1/stats')).json;
    const stored = stats?.total ?? null;

    // (c) the passes of the first round, from the fake's per-data-set request logs.
    const perSource = [];
    for (const s of sources) {
      const log = (await requestsOf(fake, s.account, s.region)).filter((e) => e.operation === 'ListModelCopyJobs');
      const sp = span(log);
      perSource.push({ name: s.name, requests: log.length, errors: log.filter((e) => e.status !== 200).length, start_ms: sp ? sp[0] - daemon.startedAt : null, end_ms: sp ? sp[1] - daemon.startedAt : null });
    }
    const spans = perSource.filter((p) => p.start_ms !== null).map((p) => [p.start_ms, p.end_ms]);
    const overlap = spans.length === sources.length && allOverlap(spans);
    const passS = spans.map(([a, b]) => (b - a) / 1000);
    const firstRoundRequests = perSource.reduce((n, p) => n + p.requests, 0);
    const sts = await adminCall('GET', '/sts/calls');

    // (b) one idle quick round: nothing changed at the fake.
    await adminCall('POST', '/stats/reset');
    const t0 = Date.now();
    const sync = await daemon.post('/v1/sync?wait=true');
    const quickS = (Date.now() - t0) / 1000;
    const idle = [];
    for (const s of sources) idle.push((await requestsOf(fake, s.account, s.region)).length);
    const idleMax = Math.max(...idle);
    const idleMin = Math.min(...idle);
    const idleTotal = idle.reduce((a, b) => a + b, 0);
    const memoryAfterQuick = memoryKiB(daemon.proc.pid);
    // What an idle quick pass cannot do with less: one page of jobs created since the last
    // pass, and every page of statusEquals=InProgress (a job can only finish while listed so).
    const statsNow = (await daemon.get('/v1/stats')).json;
    const running = sources.map((s) => statsNow?.sources?.[s.name]?.byStatus?.InProgress ?? 0);
    const floor = running.map((r) => 1 + Math.max(1, Math.ceil(r / o.pageSize)));
    const atFloor = idle.every((c, i) => c <= floor[i]);
    const overPage = running.filter((r) => r > o.pageSize).length;

    const n = sources.length;
    const out = [];
    out.push('');
    out.push(`copyjobd sources: ${n} (${regions.length} regions x ${o.accounts} accounts${partners.length ? ', the others through role_arn' : ''}) x ${o.jobs} jobs, page_size ${o.pageSize}, max_requests_per_second ${o.rate}`);
    out.push(`first full round (start to every source synced): wall ${roundS.toFixed(2)} s; stored ${stored} jobs; ${firstRoundRequests} ListModelCopyJobs calls (${(firstRoundRequests / n).toFixed(1)} per source); AssumeRole ${sts.counts.AssumeRole}`);
    out.push(`passes: ${overlap ? 'overlap' : 'DO NOT all overlap'}; at most ${maxConcurrent(spans)} of ${n} at once; each ${Math.min(...passS).toFixed(2)}..${Math.max(...passS).toFixed(2)} s, sum ${passS.reduce((a, b) => a + b, 0).toFixed(1)} s within ${roundS.toFixed(2)} s`);
    out.push(`idle quick round: ${idleTotal} calls (${idleMin}..${idleMax} per source) in ${quickS.toFixed(2)} s; POST /v1/sync answered ${sync.status}`);
    out.push(`memory (KiB) after the first round: RSS ${memory.rss} anon ${memory.anon}; after the quick round: RSS ${memoryAfterQuick.rss} anon ${memoryAfterQuick.anon}`);
    out.push('');
    out.push('targets (issue 12):');
    out.push(`  API calls per source, idle quick round   ${String(idleMax).padStart(6)}      target 1..2   ${idleMax <= 2 && idleMin >= 1 ? 'met' : `MISSED (${overPage} of ${n} sources have more than ${o.pageSize} jobs InProgress)`}`);
    out.push(`  ... at 1 + ceil(InProgress / page_size)  ${(atFloor ? 'yes' : 'no').padStart(6)}      target yes    ${atFloor ? 'met' : 'MISSED'}`);
    out.push(`  sources' passes overlap                  ${(overlap ? 'yes' : 'no').padStart(6)}      target yes    ${overlap ? 'met' : 'MISSED'}`);
    out.push(`  every source synced, stored = truth      ${String(stored).padStart(6)}      target ${n * o.jobs}  ${stored === n * o.jobs ? 'met' : 'MISSED'}`);
    const loadEnd = readProc('/proc/loadavg').trim();
    out.push('');
    out.push(`machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'}; load average at start ${loadStart}, at end ${loadEnd}`);
    process.stdout.write(out.join('\n') + '\n');

    if (o.json) {
      const record = {
        date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        machine: { arch: process.arch, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? null, kernel: os.release(), memory: `${Math.round(os.totalmem() / 1024)} kB`, loadavg_start: loadStart, loadavg_end: loadEnd },
        settings: { sources: n, regions: regions.length, accounts: o.accounts, jobs_per_source: o.jobs, page_size: o.pageSize, max_requests_per_second: o.rate, smoke: o.smoke },
        sources_round: {
          first_round_wall_s: roundS,
          stored,
          first_round_requests: firstRoundRequests,
          assume_role_calls: sts.counts.AssumeRole,
          passes_overlap: overlap,
          max_concurrent_passes: maxConcurrent(spans),
          pass_s: { min: Math.min(...passS), max: Math.max(...passS), sum: passS.reduce((a, b) => a + b, 0) },
          per_source: perSource,
          idle_quick_round: { calls: idleTotal, min_per_source: idleMin, max_per_source: idleMax, per_source: Object.fromEntries(sources.map((s, i) => [s.name, idle[i]])), in_progress_per_source: Object.fromEntries(sources.map((s, i) => [s.name, running[i]])), floor_per_source: Object.fromEntries(sources.map((s, i) => [s.name, floor[i]])), at_floor: atFloor, wall_s: quickS, sync_status: sync.status },
          memory_kib: { after_first_round: memory, after_quick_round: memoryAfterQuick },
          health_state: health.state,
        },
      };
      writeFileSync(o.json, JSON.stringify(record, null, 2) + '\n');
    }
    // A missed target is a figure of the record; a wrong store is a failed run.
    process.exitCode = stored === n * o.jobs ? 0 : 3;
  } finally {
    if (daemon) await daemon.stop();
    await f.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench-sources: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
