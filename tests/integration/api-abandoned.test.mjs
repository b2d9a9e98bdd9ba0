// Abandoned event streams and idle connections must not keep a well-behaved client out: a
// script opens and drops a few hundred /v1/events streams while holding idle connections open,
// as a careless (or hostile) local user would, and a plain request must still be answered at
// once. The daemon notices a suspended watcher's hang-up immediately (not at the next
// heartbeat, 15 s). Every loop is bounded; the Unix socket only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { requireEnv, startFake, startDaemon, sleep } from './lib/harness.mjs';

const MAX_CONNECTIONS = 64;
let fake, daemon;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 20, extraArgs: ['--https-port', '-1'] });
  daemon = await startDaemon({ endpoint: fake.http, config: `max_connections = ${MAX_CONNECTIONS}` });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
});

// Opens GET /v1/events (nothing new to send: the daemon suspends it), waits for the answer's
// head, then drops the connection without a word. Resolves with the status (0: no answer).
function openAndDrop(socketPath) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status) => { if (!settled) { settled = true; resolve(status); } };
    const req = http.request({ socketPath, path: '/v1/events', agent: false }, (res) => {
      finish(res.statusCode);
      req.destroy();
    });
    req.on('error', () => finish(0));
    req.setTimeout(5000, () => { req.destroy(); finish(0); });
    req.end();
  });
}

function idleConnection(socketPath) {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath, () => resolve(s));
    s.on('error', () => resolve(s));
  });
}

async function timedGet(path) {
  const start = Date.now();
  const res = await daemon.get(path);
  return { ...res, ms: Date.now() - start };
}

test('hundreds of dropped streams plus idle connections do not keep a client out', async () => {
  // 24 connections that say nothing (the request deadline would close them after 10 s); they
  // are older than every stream, which is what kept libmicrohttpd from letting go of closed
  // streams.
  const idle = await Promise.all(Array.from({ length: 24 }, () => idleConnection(daemon.socket)));
  try {
    // 300 streams, 20 at a time, each dropped as soon as it opened.
    const statuses = [];
    for (let round = 0; round < 15; round++) {
      statuses.push(...await Promise.all(Array.from({ length: 20 }, () => openAndDrop(daemon.socket))));
      // A well-behaved client between the rounds: answered at once.
      const res = await timedGet('/v1/health');
      assert.equal(res.status, 200, `round ${round}: ${res.body}`);
      assert.ok(res.ms < 2000, `round ${round}: ${res.ms} ms`);
    }
    const opened = statuses.filter((s) => s === 200).length;
    assert.ok(opened >= 200, `streams that opened: ${opened} of 300 (${[...new Set(statuses)]})`);

    // Every dropped stream is gone already: the watchers gauge is back to 0 well before the
    // first heartbeat (15 s) would have found them.
    let watchers = -1;
    for (let i = 0; i < 40 && watchers !== 0; i++) {
      const m = await daemon.get('/metrics');
      watchers = Number(/^copyjobd_events_watchers (\d+)$/m.exec(m.body)[1]);
      if (watchers) await sleep(50);
    }
    assert.equal(watchers, 0);
    // The connections are back to the idle ones and this request's.
    const open = Number(/^copyjobd_http_connections_open (\d+)$/m.exec((await daemon.get('/metrics')).body)[1]);
    assert.ok(open <= 24 + 2, `connections open: ${open}`);
    const res = await timedGet('/model-copy-jobs?maxResults=5');
    assert.equal(res.status, 200);
    assert.equal(res.json.modelCopyJobSummaries.length, 5);
  } finally {
    for (const s of idle) s.destroy();
  }
});
