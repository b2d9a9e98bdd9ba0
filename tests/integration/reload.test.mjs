// SIGHUP: copyjobd re-reads its configuration and its AWS credentials
// without dropping a client or a row. The daemon starts with a shared credentials file whose
// secret is wrong, so every sync is refused (bad signature) while it serves what it has; a
// keep-alive client and an event watcher stay connected across the reload; after the file
// and the config are fixed and SIGHUP sent, the next sync is signed with the new secret and
// pages with the new page size, the watcher sees every job arrive on its old connection,
// and neither secret appears in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  requireEnv, startFake, startDaemon, waitFor, listAll, compareJobs,
  TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
} from './lib/harness.mjs';
import { openStream } from './lib/api-client.mjs';

const JOBS = 400;
const WRONG_SECRET = 'cjSecTest/WrongSecretBeforeReload+000000000000';
let fake, daemon, dir;

const credentials = (secret) =>
  `[default]\naws_access_key_id = ${TEST_ACCESS_KEY_ID}\naws_secret_access_key = ${secret}\n`;

before(async () => {
  requireEnv();
  dir = mkdtempSync(join(tmpdir(), 'cj-reload-'));
  writeFileSync(join(dir, 'credentials'), credentials(WRONG_SECRET));
  chmodSync(join(dir, 'credentials'), 0o600);
  fake = await startFake({ jobs: JOBS, extraArgs: ['--https-port', '-1'] });
  daemon = await startDaemon({
    endpoint: fake.http,
    wait: 'socket',
    config: '[sync]\ninterval = 1h\nfull_interval = 1h\n',
    env: {
      AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function keepAliveGet(agent, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: daemon.socket, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket, json: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('SIGHUP applies new credentials and settings without dropping clients or data', async () => {
  // With the wrong secret every sync is refused, and not retried: nothing is stored.
  await waitFor('the first sync to fail on its signature', async () => {
    const h = await daemon.get('/v1/health');
    return h.json.lastError && /Signature/.test(h.json.lastError.type) ? h : false;
  }, 60000);
  const before = await fake.admin('GET', '/stats');
  assert.ok(before.badSignatures >= 1, 'the fake saw the badly signed request');
  assert.equal((await daemon.get('/v1/stats')).json.total, 0);

  // Clients that must live through the reload.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await keepAliveGet(agent, '/v1/stats')).status, 200);
  const watcher = openStream(daemon.socket, '/v1/events');
  await watcher.ready;
  assert.equal(watcher.status, 200);

  // Fix the secret, make pages smaller, reload.
  writeFileSync(join(dir, 'credentials'), credentials(TEST_SECRET_ACCESS_KEY));
  const config = readFileSync(daemon.configPath, 'utf8').replace('interval = 1h\n', 'interval = 1h\npage_size = 100\n');
  writeFileSync(daemon.configPath, config);
  await fake.admin('POST', '/stats/reset');
  const logBefore = daemon.log().length;
  daemon.proc.kill('SIGHUP');
  await waitFor('the reload to be logged', () => /reloaded configuration/.test(daemon.log().slice(logBefore)), 20000);

  const sync = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(sync.status, 200, sync.body);
  const health = await daemon.get('/v1/health');
  assert.equal(health.json.state, 'ok', JSON.stringify(health.json));

  // Signed with the new secret, paged with the new size.
  const after = await fake.admin('GET', '/stats');
  assert.equal(after.badSignatures, 0);
  const lists = (await fake.admin('GET', '/requests')).filter((r) => r.operation === 'ListModelCopyJobs');
  assert.equal(lists.length, Math.ceil(JOBS / 100));
  assert.ok(lists.every((r) => r.query.maxResults === '100'), JSON.stringify(lists.map((r) => r.query)));

  // Every job is there, exactly the fake's.
  const truth = (await fake.groundTruth()).sort(compareJobs).reverse(); // newest first
  const listed = (await listAll(daemon, {})).jobs;
  assert.deepEqual(listed.map((j) => j.jobArn), truth.map((j) => j.jobArn));

  // The old connections were kept: the keep-alive socket is reused, the watcher saw it all.
  const again = await keepAliveGet(agent, '/v1/stats');
  assert.equal(again.status, 200);
  assert.equal(again.reused, true, 'the keep-alive connection was dropped by the reload');
  assert.equal(again.json.total, JOBS);
  await waitFor('the watcher to see every job created', () => watcher.events().length >= JOBS, 30000);
  assert.equal(watcher.ended, false, 'the event stream was closed by the reload');
  assert.deepEqual(new Set(watcher.events().map((e) => e.type)), new Set(['created']));
  watcher.close();
  agent.destroy();

  const log = daemon.log();
  assert.ok(!log.includes(WRONG_SECRET) && !log.includes(TEST_SECRET_ACCESS_KEY), 'a secret reached the log');
});
