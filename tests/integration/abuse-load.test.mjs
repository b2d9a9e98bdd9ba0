// 1,000 concurrent connections making queries while a full sync of 100,000 jobs writes
// changes: every well-formed query is answered 200, the sync completes, the daemon's fds
// return to the baseline, RSS does not grow over a second identical round, the store checks out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { requireEnv, startFake, startDaemon, rng } from './lib/harness.mjs';
import { fdCount, fdsBackTo, rssKiB, assertRssStable, verifyStore, report } from './lib/abuse-common.mjs';

const JOBS = 100000;
const CONNECTIONS = 1000;
const QUERIES_PER_CONNECTION = 3;
const RSS_GROWTH_BOUND_KIB = 64 * 1024;
let fake, daemon;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: JOBS, extraArgs: ['--https-port', '-1'] });
  // 100,000 jobs with their indexes and change-log events take ~300 MB of LMDB map. One uid
  // may hold 3/4 of max_connections: room for its 1,000 connections.
  daemon = await startDaemon({ endpoint: fake.http, maxSize: '1G',
    config: 'max_connections = 1400\n[sync]\nmax_requests_per_second = 20\ninterval = 1h\nfull_interval = 1h\n' });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
});

function query(agent, socketPath, path) {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path, agent, timeout: 120000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }); }
        catch { resolve({ status: res.statusCode, bad: true }); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

async function round(r) {
  // The full sync has something to write: jobs removed, added and finished at the source.
  await fake.admin('POST', '/jobs/remove', { count: 500 });
  await fake.admin('POST', '/jobs/add', { count: 500 });
  await fake.admin('POST', '/jobs/finish', { count: 500 });
  const sync = daemon.post('/v1/sync?full=true&wait=true');
  let syncDone = false;
  sync.then(() => { syncDone = true; }, () => { syncDone = true; });
  const rand = rng(77);
  const statuses = ['InProgress', 'Completed', 'Failed'];
  let ok = 0, other = 0;
  const errors = new Map();
  const conns = Array.from({ length: CONNECTIONS }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let q = 0; q < QUERIES_PER_CONNECTION; q++) {
      const params = new URLSearchParams({ maxResults: String(1 + Math.floor(rand() * 20)) });
      if (rand() < 0.5) params.set('statusEquals', statuses[Math.floor(rand() * 3)]);
      if (rand() < 0.3) params.set('sortOrder', 'Ascending');
      const res = await query(agent, daemon.socket, '/model-copy-jobs?' + params);
      if (res.status === 200 && !res.bad && Array.isArray(res.json.modelCopyJobSummaries)) ok++;
      else { other++; const k = res.error ?? `${res.status}`; errors.set(k, (errors.get(k) ?? 0) + 1); }
    }
    agent.destroy();
  });
  await Promise.all(conns);
  const overlapped = !syncDone;
  const s = await sync;
  report(`round ${r}: ${CONNECTIONS} concurrent connections x ${QUERIES_PER_CONNECTION} queries during a full sync of ${JOBS} jobs: ${ok} answered 200, ${other} not` +
    (errors.size ? ` (${[...errors].map(([k, v]) => `${k}=${v}`).join(', ')})` : ''));
  report(`round ${r}: the sync: ${s.status} ${s.body.slice(0, 200)}`);
  report(`round ${r}: the sync was still running when the last query was answered: ${overlapped}`);
  assert.ok(overlapped, 'the queries did not overlap the full sync');
  assert.equal(other, 0, `well-formed queries not answered 200: ${[...errors].join('; ')}`);
  assert.equal(s.status, 200);
  assert.equal(s.json.result, 'ok');
}

test(`${CONNECTIONS} concurrent connections query while a full sync of ${JOBS} jobs runs`, async () => {
  const pid = daemon.proc.pid;
  const fdBase = fdCount(pid);
  let rssFirst = 0;
  for (let r = 1; r <= 2; r++) {
    await round(r);
    const fds = await fdsBackTo(pid, fdBase);
    const rss = rssKiB(pid);
    report(`round ${r}: daemon fds ${fds} (baseline ${fdBase}), RSS ${rss} KiB`);
    assert.ok(fds <= fdBase, `fds ${fds} did not return to the baseline ${fdBase}`);
    if (r === 1) rssFirst = rss;
    else assertRssStable(pid, rss - rssFirst, RSS_GROWTH_BOUND_KIB);
  }
  const health = await daemon.get('/v1/health');
  assert.equal(health.status, 200);
  const v = verifyStore(process.env.COPYJOBD, daemon.configPath);
  if (v.skipped) report(`store check skipped: ${v.skipped}`);
  else assert.equal(v.status, 0, `copyjobd --verify-store: ${v.output}`);
});
