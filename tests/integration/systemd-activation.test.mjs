// Socket activation: systemd-socket-activate owns the listening socket and passes it in
// (LISTEN_FDS/LISTEN_PID); copyjobd serves on it and leaves the socket file alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';

import { requireEnv, startFake, expectedList, waitFor } from './lib/harness.mjs';
import { haveCommand, startActivated } from './lib/systemd-helpers.mjs';

const skip = haveCommand('systemd-socket-activate') ? false : 'systemd-socket-activate is not installed';

let fake, act;

before(async () => {
  if (skip) return;
  requireEnv();
  fake = await startFake({ jobs: 700, seed: 11 });
  act = startActivated({ endpoint: fake.http });
  await act.waitListening();
});

after(async () => {
  if (act) {
    await act.stop();
    act.cleanup();
  }
  if (fake) await fake.stop();
});

test('the first connection starts copyjobd, which answers on the passed socket', { skip }, async () => {
  // systemd-socket-activate execs copyjobd when the first client connects; that client's
  // connection waits in the backlog until the daemon accepts it.
  const first = await act.get('/v1/stats');
  assert.equal(first.status, 200, act.log());
  assert.equal(typeof first.json.total, 'number');

  await waitFor('the first sync', async () => {
    const h = await act.get('/v1/health');
    return h.status === 200 && h.json.state === 'ok';
  }, 120000, 100);

  const truth = await fake.groundTruth();
  const res = await act.get('/model-copy-jobs?statusEquals=Failed&sortOrder=Ascending&maxResults=1000');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json.modelCopyJobSummaries.map((j) => j.jobArn),
    expectedList(truth, { statusEquals: 'Failed', sortOrder: 'Ascending' }).map((j) => j.jobArn));
});

test('copyjobd did not create the socket of its configuration', { skip }, () => {
  assert.equal(existsSync(act.configured), false);
  assert.ok(lstatSync(act.socket).isSocket());
});

test('after SIGTERM the passed socket file is still there (it is not the daemon\'s)', { skip }, async () => {
  const { code, signal } = await act.stop();
  assert.equal(signal, null);
  assert.equal(code, 0, act.log());
  assert.ok(lstatSync(act.socket).isSocket(), 'copyjobd removed a socket it did not create');
  assert.equal(existsSync(act.configured), false);
});
