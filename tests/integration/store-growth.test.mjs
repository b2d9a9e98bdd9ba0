// The store at its ceiling: with store.max_size = 8M and more jobs than fit,
// the sync fails with a log line naming store.max_size, the store stays consistent, and the
// daemon keeps serving the jobs it has, exactly as the fake has them. Raising max_size and
// restarting lets the next full sync store everything. (The map starts at min(64M, max_size),
// so the doubling below the ceiling is shown by unit/test-store-events, which can start from a
// 128K map and reads the "map grown" and "store.max_size" log lines back.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, startFake, compareJobs, waitFor } from './lib/harness.mjs';
import { startStoreDaemon, storedJobs, verifyStore, writeConfig } from './lib/store-helpers.mjs';

const JOBS = 10000; // a few KB each in the map with indexes and the change log: far over 8M

let fake, daemon, work;

before(async () => {
  requireEnv();
  work = mkdtempSync(join(tmpdir(), 'cj-store-growth-'));
  fake = await startFake({ jobs: JOBS, seed: 11 });
});

after(async () => {
  await daemon?.stop();
  await fake?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('at store.max_size the sync fails clearly and the daemon serves what it has', async () => {
  const stateDir = join(work, 'state');
  const socket = join(work, 'copyjobd.sock');
  const sync = ['[sync]', 'interval = 7d', 'full_interval = 7d', 'max_requests_per_second = 1000', 'page_size = 500'];
  const small = writeConfig(work, { endpoint: fake.http, stateDir, socket, store: ['max_size = 8M'], lines: sync });
  daemon = await startStoreDaemon(small, socket);

  const health = await waitFor('the first sync to fail at the ceiling', async () => {
    const h = await daemon.get('/v1/health');
    return h.json?.lastError ? h : null;
  }, 120000, 100);
  assert.equal(health.status, 503, `health is not ok after a failed sync: ${health.body}`);
  assert.notEqual(health.json.state, 'ok');
  assert.match(daemon.log(), /store\.max_size/, `the log names store.max_size:\n${daemon.log()}`);

  // Serving what it has: some of the jobs, each exactly as the fake has it, and stats agree.
  const truth = new Map((await fake.groundTruth()).map((j) => [j.jobArn, j]));
  const served = await storedJobs(daemon);
  assert.ok(served.size >= 500 && served.size < JOBS, `a part of the jobs is stored (${served.size})`);
  for (const [arn, job] of served) assert.deepEqual(job, truth.get(arn));
  const stats = (await daemon.get('/v1/stats')).json;
  assert.equal(stats.total, served.size);
  const one = served.values().next().value;
  const got = await daemon.get('/model-copy-jobs/' + encodeURIComponent(one.jobArn));
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, one);

  // Asking again fails again the same way, and changes nothing.
  const again = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(again.status, 200, again.body);
  assert.equal(again.json.result, 'failed', `a sync that cannot store its pages says so: ${again.body}`);
  assert.match(again.json.error.message, /No space left/);
  assert.equal((await daemon.get('/v1/stats')).json.total, served.size);
  await daemon.stop();
  daemon = null;

  const v = await verifyStore(small);
  assert.ok(v.ok, `consistent at the ceiling: ${v.output}`);
  assert.equal(v.jobs, served.size);

  // A larger ceiling: the full sync stores everything.
  const large = writeConfig(work, { endpoint: fake.http, stateDir, socket, store: ['max_size = 256M'], lines: sync });
  daemon = await startStoreDaemon(large, socket);
  const res = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.result, 'ok', res.body);
  const all = [...(await storedJobs(daemon)).values()].sort(compareJobs);
  assert.deepEqual(all, [...truth.values()].sort(compareJobs));
});
