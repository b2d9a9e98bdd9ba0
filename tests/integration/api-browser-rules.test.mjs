// The TCP listener's rules for browsers, and the change feed as Server-Sent Events: only
// loopback Host values with the listener's port are answered (DNS rebinding), a request from
// another Origin is refused with 403 in Bedrock's error shape, no CORS header ever lets another
// origin read; the Unix socket checks neither. The SSE framing: ids, event names, gap, the
// retry hint, and resumption from Last-Event-ID (which wins over ?after=).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { requireEnv, startFake, startDaemon, request, sleep } from './lib/harness.mjs';
import { freePort } from './lib/systemd-helpers.mjs';

let fake, daemon, port;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 40, extraArgs: ['--https-port', '-1'] });
  port = await freePort();
  daemon = await startDaemon({ endpoint: fake.http, config: `listen_tcp = 127.0.0.1:${port}\n`,
    env: { COPYJOBD_HEARTBEAT_SEC: '1' } });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
});

// One request over TCP with exactly these headers (Host included: node sends ours, not its own).
function tcp(method, path, headers = {}, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, timeout: timeoutMs,
      setHost: !('Host' in headers), headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function assertNoCors(res, what) {
  for (const h of Object.keys(res.headers))
    assert.ok(!h.startsWith('access-control-'), `${what}: ${h} must not be sent`);
}

function assertDenied(res, what, mention) {
  assert.equal(res.status, 403, `${what}: ${res.status} ${res.body}`);
  assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException', what);
  assert.ok(res.headers['x-amzn-requestid'], `${what}: a request id`);
  assert.deepEqual(Object.keys(res.json), ['message'], what);
  assert.ok(res.json.message.includes(mention), `${what}: ${res.json.message}`);
  assertNoCors(res, what);
}

test('Host: the loopback names with the listener port are answered, everything else is 403', async () => {
  for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
    const res = await tcp('GET', '/v1/stats', { Host: host });
    assert.equal(res.status, 200, `Host ${host}: ${res.body}`);
    assertNoCors(res, host);
  }
  for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`,
    `127.0.0.1:${port + 1}`, '127.0.0.1', 'localhost', `127.0.0.2:${port}`, `[::2]:${port}`,
    `localhost:${port}0`, `localhost:${port}:1`, '']) {
    const res = await tcp('GET', '/v1/stats', { Host: host });
    assertDenied(res, `Host '${host}'`, 'Host');
  }
  // Every endpoint, the dashboard and the feed included, and POST too.
  for (const [m, p] of [['GET', '/'], ['GET', '/v1/events'], ['POST', '/v1/sync'], ['GET', '/model-copy-jobs'],
    ['GET', '/metrics']]) {
    const res = await tcp(m, p, { Host: `rebound.example:${port}` });
    assertDenied(res, `${m} ${p}`, 'Host');
  }
});

test('Origin: a POST from another site is refused before it does anything; our own origins pass', async () => {
  const before = (await daemon.get('/metrics')).body.match(/^copyjobd_syncs_total\S* \d+$/gm);
  for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null',
    `https://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`, `http://localhost:${port}/x`]) {
    const res = await tcp('POST', '/v1/sync', { Origin: origin });
    assertDenied(res, `POST Origin ${origin}`, 'Origin');
    // Reading with a foreign Origin is refused too (no event streams held open by other sites).
    assertDenied(await tcp('GET', '/v1/stats', { Origin: origin }), `GET Origin ${origin}`, 'Origin');
  }
  await sleep(200);
  assert.deepEqual((await daemon.get('/metrics')).body.match(/^copyjobd_syncs_total\S* \d+$/gm), before,
    'a refused POST started no sync');

  for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`]) {
    const res = await tcp('POST', '/v1/sync', { Origin: origin });
    assert.equal(res.status, 202, `Origin ${origin}: ${res.body}`);
    assertNoCors(res, origin);
  }
  // No Origin: curl, copyjobctl, the AWS SDKs.
  assert.equal((await tcp('POST', '/v1/sync')).status, 202);
  // A CORS preflight gets no permission either.
  const pre = await tcp('OPTIONS', '/v1/sync', { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' });
  assert.notEqual(pre.status, 200);
  assertNoCors(pre, 'preflight');
});

test('the Unix socket checks neither Host nor Origin', async () => {
  const res = await new Promise((resolve, reject) => {
    const req = http.request({ socketPath: daemon.socket, method: 'POST', path: '/v1/sync', agent: false,
      headers: { Host: 'evil.example', Origin: 'http://evil.example' } }, (r) => {
      r.resume();
      r.on('end', () => resolve(r));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 202);
});

// Reads an SSE stream over TCP and parses it as the HTML standard does.
function openSse(path, headers = {}) {
  const s = { events: [], comments: 0, retry: null, status: 0, headers: null, ended: false, lastId: '' };
  s.ready = new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false,
      headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      s.status = res.statusCode;
      s.headers = res.headers;
      let buf = '', ev = { type: '', data: null };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (ev.data !== null) s.events.push({ type: ev.type || 'message', id: s.lastId, data: JSON.parse(ev.data) });
            ev = { type: '', data: null };
          } else if (line.startsWith(':')) s.comments++;
          else {
            const i = line.indexOf(':');
            const field = line.slice(0, i), value = line.slice(i + 1).replace(/^ /, '');
            if (field === 'id') s.lastId = value;
            else if (field === 'event') ev.type = value;
            else if (field === 'data') ev.data = ev.data === null ? value : `${ev.data}\n${value}`;
            else if (field === 'retry') s.retry = Number(value);
            else throw new Error(`unexpected field ${field}`);
          }
        }
      });
      res.on('end', () => { s.ended = true; });
      s.res = res;
      resolve(s);
    });
    req.on('error', reject);
    req.end();
    s.req = req;
  });
  s.close = () => s.req.destroy();
  s.wait = async (n, what, timeoutMs = 30000) => {
    const deadline = Date.now() + timeoutMs;
    while (s.events.length < n) {
      if (s.ended) throw new Error(`${what}: ended after ${s.events.length} of ${n} events`);
      if (Date.now() > deadline) throw new Error(`${what}: ${s.events.length} of ${n} events in ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return s;
}

async function lastSeq() {
  return Number(/^copyjobd_events_last_seq (\d+)$/m.exec((await daemon.get('/metrics')).body)[1]);
}

test('SSE: id/event/data framing, retry hint, resumption from Last-Event-ID over ?after=', async () => {
  const last = await lastSeq();
  assert.ok(last >= 40);
  const all = openSse('/v1/events?after=0');
  await all.ready;
  assert.equal(all.status, 200);
  assert.match(all.headers['content-type'], /^text\/event-stream/);
  assert.equal(all.headers['cache-control'], 'no-store');
  await all.wait(last, 'after=0');
  assert.equal(all.retry, 2000);
  // The id names the store and the seq: STOREID-SEQ, also in the data as "id".
  const storeId = /^([0-9a-f]{32})-1$/.exec(all.events[0].id)?.[1];
  assert.ok(storeId, `store id in ${all.events[0].id}`);
  all.events.slice(0, last).forEach((e, i) => {
    assert.equal(e.id, `${storeId}-${i + 1}`);
    assert.equal(e.data.id, e.id);
    assert.equal(e.data.seq, i + 1);
    assert.equal(e.type, e.data.type);
    assert.ok(['created', 'updated', 'removed'].includes(e.type));
    assert.ok(e.data.job.jobArn);
  });
  all.close();

  // A reconnecting EventSource sends the id it saw last; it wins over the URL's after=0.
  const resumed = openSse('/v1/events?after=0', { 'Last-Event-ID': `${storeId}-${last - 3}` });
  await resumed.wait(3, 'Last-Event-ID');
  assert.deepEqual(resumed.events.map((e) => e.data.seq), [last - 2, last - 1, last]);

  // Live: a job added on AWS arrives as a created event with the next id.
  await fake.admin('POST', '/jobs/add', { count: 1 });
  assert.equal((await daemon.post('/v1/sync?wait=true')).status, 200);
  await resumed.wait(4, 'live created');
  assert.equal(resumed.events[3].type, 'created');
  assert.equal(resumed.events[3].id, `${storeId}-${last + 1}`);
  resumed.close();

  // A plain seq (clients from before store ids) still resumes.
  const plain = openSse('/v1/events', { 'Last-Event-ID': String(last - 1) });
  await plain.wait(2, 'plain Last-Event-ID');
  assert.deepEqual(plain.events.map((e) => e.data.seq), [last, last + 1]);
  plain.close();

  // Another store's id (this one wiped or replaced since): the gap first, then the oldest.
  const other = openSse('/v1/events', { 'Last-Event-ID': `${'0'.repeat(32)}-${last - 1}` });
  await other.wait(2, 'another store');
  assert.equal(other.events[0].type, 'gap');
  assert.deepEqual(other.events[0].data, { type: 'gap', after: last - 1, firstSeq: 1 });
  assert.equal(other.events[1].id, `${storeId}-1`);
  other.close();

  // Without after or Last-Event-ID: live only, the opening block still comes at once.
  const live = openSse('/v1/events');
  await live.ready;
  await sleep(300);
  assert.equal(live.retry, 2000, 'the retry hint is sent before any event');
  assert.equal(live.lastId, `${storeId}-${last + 1}`, 'the opening block sets the resume position');
  // Heartbeats (every second here) are comments: no event is dispatched for them.
  const deadline = Date.now() + 10000;
  while (live.comments < 2 && Date.now() < deadline) await sleep(50);
  assert.ok(live.comments >= 2, `heartbeat comments: ${live.comments}`);
  assert.equal(live.events.length, 0);
  live.close();

  // The same feed without the Accept header stays ndjson.
  const nd = await new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/events?after=0', agent: false }, (res) => {
      resolve(res.headers['content-type']);
      req.destroy();
    });
    req.on('error', () => {});
    req.end();
  });
  assert.equal(nd, 'application/x-ndjson');
});

test('SSE: a Last-Event-ID the log never reached is a gap event without an id, then the oldest', async () => {
  const last = await lastSeq();
  const s = openSse('/v1/events', { 'Last-Event-ID': String(last + 1000) });
  await s.wait(2, 'forced gap');
  assert.equal(s.events[0].type, 'gap');
  assert.equal(s.events[0].id, '', 'a gap sets no id');
  assert.deepEqual(s.events[0].data, { type: 'gap', after: last + 1000, firstSeq: 1 });
  assert.match(s.events[1].id, /^[0-9a-f]{32}-1$/);
  s.close();
});

test('SSE: a malformed Last-Event-ID is a 400 naming the header; the Unix socket serves SSE too', async () => {
  for (const bad of ['abc', '-1', '1.5', '18446744073709551615', `${'A'.repeat(32)}-1`, `${'0'.repeat(31)}-1`]) {
    const res = await tcp('GET', '/v1/events', { Accept: 'text/event-stream', 'Last-Event-ID': bad });
    assert.equal(res.status, 400, bad);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
    assert.match(res.json.message, /Last-Event-ID/);
  }
  // The Unix socket serves SSE too.
  const res = await new Promise((resolve, reject) => {
    const req = http.request({ socketPath: daemon.socket, path: '/v1/events?after=0', agent: false,
      headers: { Accept: 'text/event-stream' } }, (r) => { resolve(r); req.destroy(); });
    req.on('error', () => {});
    req.end();
    setTimeout(() => reject(new Error('no answer')), 10000);
  });
  assert.match(res.headers['content-type'], /^text\/event-stream/);
});
