// The sd_notify protocol, with this test as the service manager: NOTIFY_SOCKET points at a
// datagram socket the test reads, WATCHDOG_USEC asks for keep-alives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireEnv, startFake, startDaemon, sleep } from './lib/harness.mjs';
import { startNotifyReader } from './lib/systemd-helpers.mjs';

const JOBS = 1234; // more than 999, so that STATUS= shows a thousands separator
const WATCHDOG_USEC = 2000000;

let fake, dir, reader, daemon;

before(async () => {
  requireEnv();
  dir = mkdtempSync(join(tmpdir(), 'cj-notify-'));
  fake = await startFake({ jobs: JOBS, seed: 5 });
  reader = await startNotifyReader(dir);
  daemon = await startDaemon({
    endpoint: fake.http,
    wait: 'ok',
    env: { NOTIFY_SOCKET: reader.path, WATCHDOG_USEC: String(WATCHDOG_USEC) },
  });
});

after(async () => {
  if (daemon) await daemon.stop();
  if (reader) reader.stop();
  if (fake) await fake.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const has = (key, value) => (m) => m.fields.has(key) && (value === undefined || m.fields.get(key) === value);

test('READY=1 once the socket serves', async () => {
  const ready = await reader.waitFor('READY=1', has('READY', '1'));
  // Nothing claims to be stopping or reloading before that.
  assert.ok(!reader.messages.slice(0, ready.i).some((m) => m.fields.has('STOPPING')));
});

test('STATUS= after the first sync: job count with separators, failed count, age', async () => {
  const truth = await fake.groundTruth();
  const failed = truth.filter((j) => j.status === 'Failed').length;
  const fmt = (n) => n.toLocaleString('en-US');
  const ready = await reader.waitFor('READY=1', has('READY', '1'));
  const status = await reader.waitFor('STATUS= with the synced jobs',
    (m) => /^[\d,]+ jobs, [\d,]+ failed, synced \d+s ago/.test(m.fields.get('STATUS') ?? '') &&
      m.fields.get('STATUS').startsWith(`${fmt(JOBS)} jobs`), ready.i);
  assert.equal(status.fields.get('STATUS').split(', synced')[0], `${fmt(JOBS)} jobs, ${fmt(failed)} failed`);
  assert.equal(truth.length, JOBS);
});

test('WATCHDOG=1 keeps coming at the configured rate', async () => {
  // sd-event pings at 1/2..3/4 of WATCHDOG_USEC: about every 1-1.5 s here. Count over a
  // window of 5 s and ask for at least 2 (a loaded CI machine may be late; never an upper bound).
  const start = reader.messages.length;
  await sleep(5000);
  const pings = reader.messages.slice(start).filter(has('WATCHDOG', '1'));
  assert.ok(pings.length >= 2, `only ${pings.length} WATCHDOG=1 in 5 s`);
  // The daemon is still answering while it pings.
  assert.equal((await daemon.get('/v1/stats')).status, 200);
});

test('SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 and a fresh STATUS=', async () => {
  const from = reader.messages.length;
  daemon.proc.kill('SIGHUP');
  const reloading = await reader.waitFor('RELOADING=1', has('RELOADING', '1'), from, 20000);
  assert.match(reloading.fields.get('MONOTONIC_USEC') ?? '', /^\d+$/);
  const ready = await reader.waitFor('READY=1 after the reload', has('READY', '1'), reloading.i + 1, 20000);
  await reader.waitFor('STATUS= after the reload', has('STATUS'), ready.i, 20000);
  assert.equal((await daemon.get('/v1/health')).status, 200);
});

test('SIGTERM: STOPPING=1, then exit 0', async () => {
  const from = reader.messages.length;
  daemon.proc.kill('SIGTERM');
  const { code, signal } = await daemon.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, daemon.log());
  await reader.waitFor('STOPPING=1', has('STOPPING', '1'), from, 10000);
});
