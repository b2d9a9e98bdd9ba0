// POST /v1/sync as a client can abuse it. Passes that clients ask for are spaced by
// sync.min_on_demand_interval (a tight loop of full syncs costs one pass of API calls per
// window, answered with the last result and Retry-After); the connections waiting on a sync
// are capped (503 + Retry-After beyond) and have a deadline (503, and the slot back); and a
// full sync asked for during a quick pass answers when the full pass ends, not the quick one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { requireEnv, startFake, startDaemon, waitFor } from './lib/harness.mjs';

const JOBS = 300;
const WINDOW_S = 10;
let fake;
const daemons = [];

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: JOBS, seed: 11, extraArgs: ['--https-port', '-1'] });
});

after(async () => {
  for (const d of daemons) await d.stop();
  if (fake) await fake.stop();
});

async function start(sync, env = {}, server = '') {
  const config = ['[sync]', 'interval = 1h', 'full_interval = 1h', 'page_size = 100',
    'max_requests_per_second = 50', ...sync, server].join('\n');
  const d = await startDaemon({ endpoint: fake.http, config, env });
  daemons.push(d);
  return d;
}

async function stop(d) {
  await d.stop();
  daemons.splice(daemons.indexOf(d), 1);
}

// copyjobd_syncs_total{source,kind,result} and copyjobd_api_calls_total{source,operation} from
// /metrics, summed over the sources.
async function metrics(d) {
  const res = await d.get('/metrics');
  assert.equal(res.status, 200);
  const out = { full: 0, quick: 0, calls: 0 };
  for (const line of res.body.split('\n')) {
    let m = /^copyjobd_syncs_total\{source="[a-z0-9-]+",kind="(full|quick)",result="ok"\} (\d+)$/.exec(line);
    if (m) out[m[1]] += Number(m[2]);
    m = /^copyjobd_api_calls_total\{source="[a-z0-9-]+",operation="[A-Za-z]+"\} (\d+)$/.exec(line);
    if (m) out.calls += Number(m[1]);
  }
  return out;
}

test('a loop of full syncs costs at most one pass of API calls per min_on_demand_interval', async () => {
  const d = await start([`min_on_demand_interval = ${WINDOW_S}s`]);
  await fake.admin('POST', '/stats/reset');
  const before = await metrics(d);

  const t0 = Date.now();
  const answers = [];
  let onePass;
  for (let i = 0; i < 20; i++) {
    const res = await d.post('/v1/sync?full=true&wait=true');
    answers.push(res);
    if (i === 0) onePass = (await fake.admin('GET', '/stats')).requests;
  }
  const elapsedS = (Date.now() - t0) / 1000;

  const windows = Math.floor(elapsedS / WINDOW_S) + 1;
  const stats = await fake.admin('GET', '/stats');
  const after = await metrics(d);
  assert.ok(onePass >= Math.ceil(JOBS / 100), `one full pass cost ${onePass} calls`);
  assert.ok(after.full - before.full <= windows,
    `${after.full - before.full} full passes in ${elapsedS} s (window ${WINDOW_S} s)`);
  assert.ok(stats.requests <= onePass * windows,
    `${stats.requests} calls to Bedrock for 20 requests in ${elapsedS} s; one pass costs ${onePass}`);
  assert.equal(after.calls - before.calls, stats.requests);

  // Every request got a pass's result; those that started nothing say when to come back.
  for (const res of answers) {
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.result, 'ok', res.body);
    assert.equal(res.json.jobs, JOBS);
  }
  const told = answers.filter((r) => r.headers['retry-after'] !== undefined);
  assert.ok(told.length >= answers.length - windows, `${told.length} answers carried Retry-After`);
  for (const r of told) {
    const s = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(s) && s >= 1 && s <= WINDOW_S, `Retry-After: ${r.headers['retry-after']}`);
  }

  // Without wait: 202, nothing started, and Retry-After. The window is open: the last
  // request that started a pass did so less than WINDOW_S ago, or this one starts one now
  // and the next is inside its window.
  let res = await d.post('/v1/sync?full=true');
  if (res.json.started) res = await d.post('/v1/sync?full=true');
  assert.equal(res.status, 202, res.body);
  assert.equal(res.json.started, false);
  const s = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(s) && s >= 1 && s <= WINDOW_S, `Retry-After: ${res.headers['retry-after']}`);
  await stop(d);
});

test('connections waiting on a sync are capped and have a deadline', async () => {
  // max_connections 8: at most 2 waiters; each may wait 2 s; every Bedrock answer takes 4 s.
  const d = await start(['min_on_demand_interval = 0'], { COPYJOBD_SYNC_WAIT_SEC: '2' },
    '[server]\nmax_connections = 8');
  const before = await metrics(d);
  await fake.admin('POST', '/faults', { kind: 'delay', delayMs: 4000, count: -1 });
  try {
    const t = () => Date.now();
    const waiting = [0, 1, 2].map(() => d.post('/v1/sync?full=true&wait=true').then((r) => ({ ...r, at: t() })));
    const answers = await Promise.all(waiting);
    const refused = answers.filter((r) => r.status === 503 && /already wait/.test(r.body));
    const expired = answers.filter((r) => r.status === 503 && /did not end within 2 s/.test(r.body));
    assert.equal(refused.length, 1, answers.map((r) => r.body).join('\n'));
    assert.equal(expired.length, 2, answers.map((r) => r.body).join('\n'));
    assert.equal(refused[0].headers['x-amzn-errortype'], 'ServiceUnavailableException');
    assert.ok(Number(refused[0].headers['retry-after']) >= 1, JSON.stringify(refused[0].headers));
    assert.ok(refused[0].at <= Math.min(...expired.map((r) => r.at)), 'the refusal came first');
    // The deadline answered them while the pass still ran (each answer takes 4 s).
    assert.equal((await metrics(d)).full, before.full, 'the pass had already ended');

    // Their slots are back: two more may wait.
    const again = await Promise.all([0, 1].map(() => d.post('/v1/sync?full=true&wait=true')));
    for (const r of again) assert.match(r.body, /did not end within 2 s/);
  } finally {
    await fake.admin('DELETE', '/faults');
  }
  await stop(d);
});

test('a full sync asked for during a quick pass answers when the full pass ends', async () => {
  const d = await start(['min_on_demand_interval = 0']);
  const before = await metrics(d);
  await fake.admin('POST', '/faults', { kind: 'delay', delayMs: 1500, count: -1 });
  try {
    const quick = await d.post('/v1/sync');
    assert.equal(quick.status, 202);
    assert.equal(quick.json.started, true);
    const full = await d.post('/v1/sync?full=true&wait=true');
    const at = await metrics(d);
    assert.equal(full.status, 200, full.body);
    assert.equal(full.json.result, 'ok', full.body);
    assert.equal(at.quick, before.quick + 1, 'the quick pass ran first');
    assert.equal(at.full, before.full + 1, 'answered before the full pass it asked for had ended');
    // The full pass listed every page after the quick pass had finished.
    const log = await fake.admin('GET', '/requests');
    const unfiltered = log.filter((r) => r.operation === 'ListModelCopyJobs' &&
      !r.query.statusEquals && !r.query.creationTimeAfter);
    assert.ok(unfiltered.length >= Math.ceil(JOBS / 100));
  } finally {
    await fake.admin('DELETE', '/faults');
  }
  await waitFor('nothing to run', async () => (await metrics(d)).full === before.full + 1, 30000);
  await stop(d);
});
