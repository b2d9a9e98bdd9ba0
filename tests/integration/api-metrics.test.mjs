// GET /metrics against the real daemon: Prometheus text format with HELP/TYPE for every
// family, jobs by status matching the ground truth, counters that move after a sync and
// after requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv, startFake, startDaemon } from './lib/harness.mjs';
import { parsePrometheus } from './lib/api-client.mjs';

// Per-source series carry the source's name; the one source here is named after its region.
const SRC = { source: 'us-east-1' };

let fake, daemon;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 400, extraArgs: ['--https-port', '-1'] });
  daemon = await startDaemon({ endpoint: fake.http });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
});

async function scrape() {
  const res = await daemon.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.body);
}

test('every family is announced, typed, and the figures match the cache', async () => {
  await daemon.post('/v1/sync?wait=true'); // the startup pass has ended
  const m = await scrape();
  const want = {
    copyjobd_jobs: 'gauge', copyjobd_syncs_total: 'counter', copyjobd_api_calls_total: 'counter',
    copyjobd_api_errors_total: 'counter', copyjobd_api_retries_total: 'counter',
    copyjobd_last_success_timestamp_seconds: 'gauge', copyjobd_sync_duration_seconds: 'gauge',
    copyjobd_http_requests_total: 'counter', copyjobd_http_connections_open: 'gauge',
    copyjobd_store_map_bytes: 'gauge', copyjobd_events_last_seq: 'gauge',
  };
  for (const [name, type] of Object.entries(want)) {
    assert.equal(m.families.get(name)?.type, type, name);
    assert.ok(m.families.get(name).help.length > 10, `${name} has a HELP text`);
  }
  const truth = await fake.groundTruth();
  for (const status of ['InProgress', 'Completed', 'Failed'])
    assert.equal(m.get('copyjobd_jobs', { ...SRC, status }), truth.filter((j) => j.status === status).length, status);
  assert.ok(m.get('copyjobd_syncs_total', { ...SRC, kind: 'full', result: 'ok' }) >= 1);
  assert.ok(m.get('copyjobd_api_calls_total', { ...SRC, operation: 'ListModelCopyJobs' }) >= 1);
  const last = m.get('copyjobd_last_success_timestamp_seconds', SRC);
  assert.ok(Math.abs(last - Date.now() / 1000) < 600, `last success ${last}`);
  assert.ok(m.get('copyjobd_sync_duration_seconds', SRC) > 0);
  assert.ok(m.get('copyjobd_store_map_bytes') > 0);
  assert.ok(m.get('copyjobd_events_last_seq') >= truth.length);
  assert.ok(m.get('copyjobd_http_connections_open') >= 1);
});

test('counters move after a sync, after requests and after failed calls', async () => {
  const a = await scrape();
  const quickOk = a.get('copyjobd_syncs_total', { ...SRC, kind: 'quick', result: 'ok' });
  const calls = a.get('copyjobd_api_calls_total', { ...SRC, operation: 'ListModelCopyJobs' });
  const stats200 = a.get('copyjobd_http_requests_total', { endpoint: 'stats', code: '200' }) ?? 0;
  const list400 = a.get('copyjobd_http_requests_total', { endpoint: 'list', code: '400' }) ?? 0;
  const other404 = a.get('copyjobd_http_requests_total', { endpoint: 'other', code: '404' }) ?? 0;

  await fake.admin('POST', '/jobs/add', { count: 3 });
  assert.equal((await daemon.post('/v1/sync?wait=true')).json.result, 'ok');
  for (let i = 0; i < 4; i++) assert.equal((await daemon.get('/v1/stats')).status, 200);
  assert.equal((await daemon.get('/model-copy-jobs?maxResults=1001')).status, 400);
  assert.equal((await daemon.get('/nope')).status, 404);

  // a failing pass: the error is counted by type
  await fake.admin('POST', '/faults', { kind: 'status', status: 500, count: 10 });
  const failed = await daemon.post('/v1/sync?wait=true');
  await fake.admin('DELETE', '/faults');

  const b = await scrape();
  assert.ok(b.get('copyjobd_syncs_total', { ...SRC, kind: 'quick', result: 'ok' }) >= quickOk + 1);
  assert.ok(b.get('copyjobd_api_calls_total', { ...SRC, operation: 'ListModelCopyJobs' }) > calls);
  assert.equal(b.get('copyjobd_http_requests_total', { endpoint: 'stats', code: '200' }), stats200 + 4);
  assert.equal(b.get('copyjobd_http_requests_total', { endpoint: 'list', code: '400' }), list400 + 1);
  assert.equal(b.get('copyjobd_http_requests_total', { endpoint: 'other', code: '404' }), other404 + 1);
  assert.ok(b.get('copyjobd_http_requests_total', { endpoint: 'sync', code: '200' }) >= 2);
  assert.ok(b.get('copyjobd_http_requests_total', { endpoint: 'metrics', code: '200' }) >= 1);
  assert.ok(b.get('copyjobd_events_last_seq') >= a.get('copyjobd_events_last_seq') + 3);
  if (failed.json.result === 'failed') {
    assert.ok(b.samples.some((s) => s.name === 'copyjobd_api_errors_total' && s.value > 0),
      'a failed call is counted by error type');
    assert.ok(b.get('copyjobd_syncs_total', { ...SRC, kind: 'quick', result: 'failed' }) >= 1);
  }
  assert.equal((await daemon.post('/metrics')).status, 405);
  assert.equal((await daemon.post('/metrics')).headers['x-amzn-errortype'], 'ValidationException');
});
