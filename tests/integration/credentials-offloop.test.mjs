// Looking for AWS credentials never stalls the event loop. The credentials come from a
// credential_process whose keys expire within the refresh window, so every pass looks again;
// once the test creates <dir>/slow, the helper writes <dir>/started (its shell's pid), sleeps,
// then writes <dir>/ended. While it sleeps, GET /v1/health must answer (before "ended"
// exists), WATCHDOG=1 must keep arriving on the test's NOTIFY_SOCKET, and the pass must send
// nothing to Bedrock; once it ends, the pass finishes with the fresh keys. SIGTERM during a
// lookup stops the daemon at once and kills the helper. No timing threshold: every assertion
// is an ordering against the helper's own markers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  requireEnv, startFake, startDaemon, waitFor, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
} from './lib/harness.mjs';
import { startNotifyReader } from './lib/systemd-helpers.mjs';

const SLOW_SECONDS = 3; // the helper's sleep while the API is probed
const STUCK_SECONDS = 45; // the helper's sleep when SIGTERM is to interrupt it
let fake, dir, reader, daemon;

const has = (key, value) => (m) => m.fields.has(key) && m.fields.get(key) === value;
const marker = (name) => join(dir, name);

// Prints keys that expire in 4 minutes: inside the 5-minute refresh window, so every pass
// runs the helper again.
function writeHelper() {
  const helper = join(dir, 'helper.sh');
  writeFileSync(helper, `#!/bin/sh
d='${dir}'
if [ -e "$d/slow" ]; then
  echo $$ > "$d/started.tmp" && mv "$d/started.tmp" "$d/started"
  sleep "$(cat "$d/slow")"
  echo done > "$d/ended"
fi
exp=$(date -u -d '+4 minutes' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","Expiration":"%s"}\\n' \\
  '${TEST_ACCESS_KEY_ID}' '${TEST_SECRET_ACCESS_KEY}' "$exp"
`);
  chmodSync(helper, 0o755);
  const config = join(dir, 'aws-config');
  writeFileSync(config, `[default]\ncredential_process = ${helper}\n`);
  chmodSync(config, 0o600);
  return config;
}

function resetMarkers() {
  for (const m of ['slow', 'started', 'ended']) rmSync(marker(m), { force: true });
}

// A pid that is gone or a zombie (the reaper of an orphan may be slow to collect it).
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

before(async () => {
  requireEnv();
  dir = mkdtempSync(join(tmpdir(), 'cj-credoff-'));
  const awsConfig = writeHelper();
  fake = await startFake({ jobs: 300, extraArgs: ['--https-port', '-1'] });
  reader = await startNotifyReader(dir);
  daemon = await startDaemon({
    endpoint: fake.http,
    wait: 'ok',
    config: '[sync]\ninterval = 1h\nfull_interval = 1h\nmin_on_demand_interval = 0\n',
    env: {
      AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_CONFIG_FILE: awsConfig,
      AWS_EC2_METADATA_DISABLED: 'true',
      NOTIFY_SOCKET: reader.path,
      // sd-event pings at 1/2..3/4 of this: at least 4 pings fit in the helper's 3 s.
      WATCHDOG_USEC: '1000000',
    },
  });
});

after(async () => {
  if (daemon) await daemon.stop();
  if (reader) reader.stop();
  if (fake) await fake.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the API answers and the watchdog is fed while a credential_process runs', async () => {
  resetMarkers();
  await fake.admin('POST', '/stats/reset');
  writeFileSync(marker('slow'), String(SLOW_SECONDS));
  const sync = daemon.post('/v1/sync?wait=true');

  await waitFor('the helper to start', () => existsSync(marker('started')), 30000, 10);
  const pingsFrom = reader.messages.length;
  const health = await daemon.get('/v1/health');
  const endedBeforeHealth = existsSync(marker('ended'));
  assert.equal(health.status, 200, health.body);
  assert.equal(endedBeforeHealth, false,
    'GET /v1/health was answered only after the credential_process had finished');
  const stats = await fake.admin('GET', '/stats');
  assert.equal(stats.requests, 0, 'the pass sent a request before its credentials arrived');

  await waitFor('the helper to end', () => existsSync(marker('ended')), 60000, 10);
  const pings = reader.messages.slice(pingsFrom).filter(has('WATCHDOG', '1'));
  // One ping could have been sent just before the lookup began; two cannot.
  assert.ok(pings.length >= 2, `only ${pings.length} WATCHDOG=1 while the helper slept`);

  const done = await sync;
  assert.equal(done.status, 200, done.body);
  assert.equal(done.json.result, 'ok', done.body);
  assert.ok((await fake.admin('GET', '/stats')).requests > 0);
  assert.match(daemon.log(), /AWS credentials reloaded from/);
});

test('SIGHUP looks for the credentials off the loop too', async () => {
  resetMarkers();
  writeFileSync(marker('slow'), String(SLOW_SECONDS));
  const from = reader.messages.length;
  daemon.proc.kill('SIGHUP');
  await waitFor('the helper to start', () => existsSync(marker('started')), 30000, 10);
  const health = await daemon.get('/v1/health');
  const ended = existsSync(marker('ended'));
  assert.equal(health.status, 200, health.body);
  assert.equal(ended, false, 'GET /v1/health was answered only after the reload\'s lookup');
  await reader.waitFor('READY=1 after the reload', has('READY', '1'), from, 30000);
  await waitFor('the helper to end', () => existsSync(marker('ended')), 60000, 10);
  await waitFor('the reloaded credentials to be logged',
    () => daemon.log().split('AWS credentials reloaded from').length >= 3, 30000);
});

test('SIGTERM during a lookup stops at once and kills the credential_process', async () => {
  resetMarkers();
  // Let the pass the reload may have started end first (a slow daemon, under valgrind or
  // ASan, can still be in it): a request would join it, and it has had its lookup already.
  await daemon.post('/v1/sync?wait=true');
  writeFileSync(marker('slow'), String(STUCK_SECONDS));
  await daemon.post('/v1/sync');
  await waitFor('the helper to start', () => existsSync(marker('started')), 30000, 10);
  const pid = Number(readFileSync(marker('started'), 'utf8'));
  assert.ok(alive(pid));

  daemon.proc.kill('SIGTERM');
  const { code, signal } = await daemon.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, daemon.log());
  assert.equal(existsSync(marker('ended')), false, 'the daemon waited for the helper to finish');
  await waitFor('the helper to be killed', () => !alive(pid), 10000, 20);
  assert.equal(existsSync(marker('ended')), false);
  rmSync(daemon.dir, { recursive: true, force: true });
  daemon = null;
});
