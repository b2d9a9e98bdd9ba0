// The sync survives every kind of fault of the fake endpoint. For each kind: the
// fault stays on across a quick and a full sync; meanwhile the socket keeps answering from the
// last good data, nothing stored is lost or wrongly removed, and /v1/health turns degraded
// when the retries are exhausted; once the fault clears, the next (quick) sync brings the
// cache back to exactly the fake's ground truth.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv, TEST_SECRET_ACCESS_KEY } from './lib/harness.mjs';
import {
  startPair, stopPair, syncNow, health, cachedJobs, assertCacheIsTruth, assertNothingLost,
  changeSomeJobs,
} from './lib/sync-helpers.mjs';

let pair;

before(async () => {
  requireEnv();
  // timeout = 1s: the delay fault (3 s) times every attempt out.
  pair = await startPair({ jobs: 300, seed: 11, sync: { timeout: '1s' } });
});

afterEach(async () => {
  if (pair) await pair.fake.admin('DELETE', '/faults');
});

after(async () => {
  if (!pair) return;
  const log = pair.daemon.log();
  const code = await pair.daemon.stop();
  pair.daemon = null;
  await stopPair(pair);
  assert.equal(code, 0, 'copyjobd exits 0 on SIGTERM');
  assert.ok(!log.includes(TEST_SECRET_ACCESS_KEY), 'the secret key never appears in the log');
});

// One round: baseline, changes at the fake, the fault on, a quick and a full sync, checks,
// the fault off, a quick sync, the truth.
async function faultRound({ fault, errorType, degraded = true }) {
  const { fake, daemon } = pair;
  const baseline = await syncNow(daemon, { full: true });
  assert.equal(baseline.result, 'ok', `baseline: ${JSON.stringify(baseline.error)}`);
  await assertCacheIsTruth(daemon, fake, 'baseline');
  const before = await cachedJobs(daemon);

  await changeSomeJobs(fake);
  await fake.admin('POST', '/stats/reset');
  await fake.admin('POST', '/faults', { count: -1, ...fault });
  const quick = await syncNow(daemon);
  const full = await syncNow(daemon, { full: true });
  const h = await health(daemon);
  const requests = await fake.admin('GET', '/requests');
  if (degraded) {
    assert.equal(quick.result, 'failed', 'the quick sync fails');
    assert.equal(quick.error.type, errorType);
    assert.equal(full.result, 'failed', 'the full sync fails');
    assert.equal(full.error.type, errorType);
    assert.equal(h.state, 'degraded');
    assert.equal(h.status, 503);
    assert.equal(h.lastError.type, errorType);
    assert.ok(h.lastSuccessfulSync, 'the last success is still reported');
  } else {
    assert.equal(quick.result, 'ok', `quick: ${JSON.stringify(quick.error)}`);
    assert.equal(full.result, 'ok', `full: ${JSON.stringify(full.error)}`);
    assert.equal(h.state, 'ok');
  }
  // The socket answers from the last good data: nothing lost, nothing invented.
  await assertNothingLost(daemon, fake, before, `during ${fault.kind}`);

  await fake.admin('DELETE', '/faults');
  const recovered = await syncNow(daemon);
  assert.equal(recovered.result, 'ok', `after ${fault.kind}: ${JSON.stringify(recovered.error)}`);
  await assertCacheIsTruth(daemon, fake, `a quick sync after ${fault.kind}`);
  const h2 = await health(daemon);
  assert.equal(h2.state, 'ok');
  assert.equal(h2.lastError, null);
  return requests;
}

test('a short throttling burst is absorbed by the retries', async () => {
  await faultRound({ fault: { kind: 'throttle', count: 2 }, degraded: false });
});

test('throttling that outlasts the retries', async () => {
  const requests = await faultRound({ fault: { kind: 'throttle' }, errorType: 'ThrottlingException' });
  // Each failed sync made its first request 3 times (AWS standard mode), no more.
  assert.equal(requests.filter((e) => e.errorType === 'ThrottlingException').length, 6);
});

test('500 InternalServerException', async () => {
  await faultRound({ fault: { kind: 'status', status: 500 }, errorType: 'InternalServerException' });
});

test('503 ServiceUnavailableException', async () => {
  await faultRound({ fault: { kind: 'status', status: 503 }, errorType: 'ServiceUnavailableException' });
});

test('dropped connections', async () => {
  await faultRound({ fault: { kind: 'drop' }, errorType: 'NetworkError' });
});

test('slow responses past sync.timeout', async () => {
  await faultRound({ fault: { kind: 'delay', delayMs: 3000 }, errorType: 'Timeout' });
});

test('truncated bodies', async () => {
  await faultRound({ fault: { kind: 'truncate' }, errorType: 'TruncatedResponse' });
});

test('malformed JSON', async () => {
  await faultRound({ fault: { kind: 'malformed' }, errorType: 'MalformedResponse' });
});

test('an endless nextToken', async () => {
  await faultRound({ fault: { kind: 'endlessToken' }, errorType: 'PaginationLoop' });
});

test('a repeated nextToken', async () => {
  await faultRound({ fault: { kind: 'repeatToken' }, errorType: 'PaginationLoop' });
});

test('an expired token: not retried, credentials reloaded before the next attempt', async () => {
  const requests = await faultRound({ fault: { kind: 'expiredToken' }, errorType: 'ExpiredTokenException' });
  // Not hammered: each of the two failed syncs made one request.
  assert.equal(requests.length, 2);
  assert.equal(requests.filter((e) => e.errorType === 'ExpiredTokenException').length, 2);
  assert.match(pair.daemon.log(), /AWS credentials reloaded from/);
});

test('request-time skew is corrected from the Date header', async () => {
  await faultRound({ fault: { kind: 'clockSkew', skewSeconds: 900 }, degraded: false });
  assert.match(pair.daemon.log(), /rejected the request time/);
  const stats = await pair.fake.admin('GET', '/stats');
  assert.equal(stats.badSignatures > 0, true, 'the skewed requests were rejected first');
});

test('a full pass that fails part-way keeps its pages and removes nothing', async () => {
  const { fake, daemon } = pair;
  assert.equal((await syncNow(daemon, { full: true })).result, 'ok');
  const before = await cachedJobs(daemon);
  const removed = (await fake.admin('POST', '/jobs/remove', { count: 3 })).removed;
  await fake.admin('POST', '/jobs/add', { count: 2, status: 'Completed', creationTime: '2001-01-01T00:00:00Z' });
  // The first page (oldest first: it holds the 2 new jobs, older than any) passes, every
  // later one fails.
  await fake.admin('POST', '/faults', { kind: 'status', status: 500, after: 1, count: -1 });
  const full = await syncNow(daemon, { full: true });
  assert.equal(full.result, 'failed');
  assert.equal(full.changes.removed, 0);
  await assertNothingLost(daemon, fake, before, 'after a failed full pass');
  const cached = new Set((await cachedJobs(daemon)).map((j) => j.jobArn));
  for (const arn of removed) assert.ok(cached.has(arn), 'a job gone at the fake stays until a full pass completes');
  assert.equal(cached.size, before.length + 2, 'the first page was kept');

  await fake.admin('DELETE', '/faults');
  // A quick sync does not remove what it cannot prove gone; the second complete full pass
  // in a row that does not list them does (the first only notes them missed).
  assert.equal((await syncNow(daemon)).result, 'ok');
  const first = await syncNow(daemon, { full: true });
  assert.equal(first.result, 'ok');
  assert.equal(first.changes.removed, 0);
  const ok = await syncNow(daemon, { full: true });
  assert.equal(ok.result, 'ok');
  assert.equal(ok.changes.removed, 3);
  await assertCacheIsTruth(daemon, fake, 'after the full pass');
});
