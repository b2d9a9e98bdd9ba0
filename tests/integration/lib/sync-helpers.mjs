// Helpers for the sync tests: a fake + daemon pair with fast retries, syncs driven
// over the socket, and comparisons of the cache with the fake's ground truth.
import assert from 'node:assert/strict';
import { startFake, startDaemon, listAll, compareJobs, waitFor } from './harness.mjs';

// COPYJOBD_RETRY_BASE_MS shrinks the backoff (500 ms × 2^n in production) for tests.
export const FAST_RETRY_ENV = { COPYJOBD_RETRY_BASE_MS: '10', COPYJOBD_RETRY_CAP_MS: '200' };

export async function startPair({ jobs = 300, seed = 3, sync = {}, env = {} } = {}) {
  const fake = await startFake({ jobs, seed });
  const syncConfig = { interval: '1h', full_interval: '1h', page_size: '100', timeout: '10s',
    max_requests_per_second: '50', ...sync };
  const config = ['[sync]', ...Object.entries(syncConfig).map(([k, v]) => `${k} = ${v}`)].join('\n');
  let daemon;
  try {
    daemon = await startDaemon({ endpoint: fake.http, config, env: { ...FAST_RETRY_ENV, ...env } });
  } catch (e) {
    await fake.stop();
    throw e;
  }
  return { fake, daemon };
}

// POST /v1/sync?wait=true; returns the result body ({result, error, jobs, changes}).
export async function syncNow(daemon, { full = false } = {}) {
  const res = await daemon.post(`/v1/sync?wait=true${full ? '&full=true' : ''}`);
  assert.equal(res.status, 200, `sync answered ${res.status}: ${res.body}`);
  return res.json;
}

export async function health(daemon) {
  const res = await daemon.get('/v1/health');
  return { status: res.status, ...res.json };
}

export async function cachedJobs(daemon) {
  return (await listAll(daemon, { sortOrder: 'Ascending' })).jobs;
}

export async function assertCacheIsTruth(daemon, fake, what) {
  const truth = [...(await fake.groundTruth())].sort(compareJobs);
  const cached = await cachedJobs(daemon);
  assert.deepEqual(cached.map((j) => j.jobArn), truth.map((j) => j.jobArn), `${what}: same jobs`);
  assert.deepEqual(cached, truth, `${what}: same fields`);
}

// Every job of `before` is still cached (nothing lost or removed), and every cached job is
// one of `before` or of the fake's truth (nothing invented).
export async function assertNothingLost(daemon, fake, before, what) {
  const cached = await cachedJobs(daemon);
  const arns = new Set(cached.map((j) => j.jobArn));
  const missing = before.filter((j) => !arns.has(j.jobArn));
  assert.deepEqual(missing.map((j) => j.jobArn), [], `${what}: no cached job was removed`);
  const known = new Set([...before, ...(await fake.groundTruth())].map((j) => j.jobArn));
  assert.deepEqual(cached.filter((j) => !known.has(j.jobArn)).map((j) => j.jobArn), [],
    `${what}: nothing invented`);
}

// Changes at the fake that a sync must bring over: new jobs, finished jobs (no removals, so
// that a quick sync alone can reach the truth).
export async function changeSomeJobs(fake, { add = 2, finish = 2 } = {}) {
  if (finish) await fake.admin('POST', '/jobs/finish', { count: finish });
  if (add) await fake.admin('POST', '/jobs/add', { count: add });
}

export async function stopPair(pair) {
  if (pair?.daemon) await pair.daemon.stop();
  if (pair?.fake) await pair.fake.stop();
}

// The most requests of the log that fall in any window of `ms` milliseconds.
export function maxInWindow(entries, ms = 1000) {
  const ts = entries.map((e) => e.t).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < ts.length; i++) {
    while (ts[i] - ts[j] >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export { waitFor };
