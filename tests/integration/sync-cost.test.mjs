// What syncs cost the account. A quick sync with no changes costs at most
// 1 + ⌈running jobs / page size⌉ calls, k finished jobs at most k more; the request rate never
// passes sync.max_requests_per_second (5 here): no more than 6 requests in any 1-second window
// of the fake's request log. And the schedule runs quick syncs between full ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv, startDaemon, TEST_SECRET_ACCESS_KEY } from './lib/harness.mjs';
import {
  startPair, stopPair, syncNow, assertCacheIsTruth, maxInWindow, FAST_RETRY_ENV, waitFor, health,
} from './lib/sync-helpers.mjs';

const PAGE = 100;
const CAP = 5;
let pair;

before(async () => {
  requireEnv();
  pair = await startPair({ jobs: 2500, seed: 5, sync: { page_size: String(PAGE), max_requests_per_second: String(CAP) } });
});

after(async () => {
  if (!pair) return;
  const log = pair.daemon.log();
  await stopPair(pair);
  assert.ok(!log.includes(TEST_SECRET_ACCESS_KEY), 'the secret key never appears in the log');
});

async function running() {
  return (await pair.fake.groundTruth()).filter((j) => j.status === 'InProgress').length;
}

async function measured(fn) {
  await pair.fake.admin('POST', '/stats/reset');
  const result = await fn();
  const stats = await pair.fake.admin('GET', '/stats');
  const log = await pair.fake.admin('GET', '/requests');
  return { result, stats, log };
}

test('a quick sync with no changes costs 1 + ⌈running / page size⌉ calls', async () => {
  const n = await running();
  assert.ok(n > PAGE, `enough running jobs for several pages (${n})`);
  const { result, stats } = await measured(() => syncNow(pair.daemon));
  assert.equal(result.result, 'ok');
  assert.deepEqual(result.changes, { created: 0, updated: 0, removed: 0 });
  assert.ok(stats.requests <= 1 + Math.ceil(n / PAGE), `${stats.requests} calls for ${n} running jobs`);
  assert.equal(stats.byOperation.GetModelCopyJob, 0);
  assert.equal(stats.badSignatures, 0);
  await assertCacheIsTruth(pair.daemon, pair.fake, 'no changes');
});

test('k finished jobs cost at most k more calls, and are stored with their final state', async () => {
  const k = 4;
  await pair.fake.admin('POST', '/jobs/finish', { count: 2 });
  await pair.fake.admin('POST', '/jobs/finish', { count: 2, status: 'Failed' });
  const n = await running();
  const { result, stats } = await measured(() => syncNow(pair.daemon));
  assert.equal(result.result, 'ok');
  assert.equal(result.changes.updated, k);
  assert.ok(stats.requests <= 1 + Math.ceil(n / PAGE) + k, `${stats.requests} calls`);
  assert.equal(stats.byOperation.GetModelCopyJob, k);
  await assertCacheIsTruth(pair.daemon, pair.fake, 'after k finished');
});

test('new jobs, also sharing a creationTime with a stored one, are found by a quick sync', async () => {
  const truth = await pair.fake.groundTruth();
  const newest = truth[truth.length - 1].creationTime;
  const added = (await pair.fake.admin('POST', '/jobs/add', { count: 3 })).jobs;
  // A tie with the newest stored job, created after the last sync.
  await pair.fake.admin('POST', '/jobs/add', { count: 1, status: 'Completed', creationTime: newest });
  const n = await running();
  const { result, stats } = await measured(() => syncNow(pair.daemon));
  assert.equal(result.result, 'ok');
  assert.equal(result.changes.created, added.length + 1);
  assert.ok(stats.requests <= 1 + Math.ceil(n / PAGE), `${stats.requests} calls`);
  await assertCacheIsTruth(pair.daemon, pair.fake, 'after new jobs');
});

test('the request rate never passes the cap, retries included', async () => {
  // A full pass: 25+ pages back to back, with a throttling burst inside.
  await pair.fake.admin('POST', '/faults', { kind: 'throttle', count: 2, after: 5 });
  const { result, stats, log } = await measured(() => syncNow(pair.daemon, { full: true }));
  await pair.fake.admin('DELETE', '/faults');
  assert.equal(result.result, 'ok');
  assert.ok(log.length >= 2500 / PAGE + 2, `${log.length} requests logged`);
  assert.ok(maxInWindow(log, 1000) <= CAP + 1, `at most ${CAP + 1} requests in any second`);
  assert.ok(stats.maxRequestsInAnySecond <= CAP + 1);
  await assertCacheIsTruth(pair.daemon, pair.fake, 'after the full pass');
});

test('the schedule runs quick syncs between full ones', async () => {
  const fake = pair.fake;
  const daemon = await startDaemon({
    endpoint: fake.http,
    config: '[sync]\ninterval = 1s\nfull_interval = 3s\npage_size = 1000\nmax_requests_per_second = 50\n',
    env: FAST_RETRY_ENV,
  });
  try {
    await waitFor('two quick and two full passes', () => {
      const log = daemon.log();
      return (log.match(/sync: quick pass ok/g) ?? []).length >= 2 &&
        (log.match(/sync: full pass ok/g) ?? []).length >= 2;
    }, 30000, 100);
    assert.equal((await health(daemon)).state, 'ok');
  } finally {
    await daemon.stop();
  }
});
