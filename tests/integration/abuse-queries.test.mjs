// 10,000 requests with seeded random and hostile query strings (huge values, %-escapes of NUL,
// invalid UTF-8, repeated keys, 1000 keys, overlong and tampered tokens) in two identical
// rounds of 5,000: every answer is a well-formed 200 or 4xx in Bedrock's shape (503 only by
// design, never another 5xx), none hangs; afterwards the daemon still answers, its fd count
// is back at the baseline, its RSS did not grow between the rounds, and the store checks out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { requireEnv, startFake, startDaemon, rng, listAll } from './lib/harness.mjs';
import { fdCount, fdsBackTo, rssKiB, assertRssStable, assertBedrockShape, verifyStore, report } from './lib/abuse-common.mjs';
import { hostileTarget, rawGet } from './lib/abuse-queries.mjs';

const ROUNDS = 2;
const PER_ROUND = 5000;
const CONCURRENCY = 16;
const SEED = 0xC0FFEE;
// The HTTP layer (libmicrohttpd) refuses a request that does not fit the connection's 16 KiB
// memory pool itself: a request line over ~16 KiB gets its own 414 page, and a few hundred
// query keys (one pool record each) a closed connection. Everything smaller reaches copyjobd's
// handlers and must be answered in Bedrock's shape.
const HTTP_LAYER_LIMIT = 12 * 1024;
const HTTP_LAYER_KEYS = 100;
const keyCount = (target) => target.split('?').slice(1).join('?').split(/[&;]/).length;
const RSS_GROWTH_BOUND_KIB = 16 * 1024;

let fake, daemon;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 3000, extraArgs: ['--https-port', '-1'] });
  daemon = await startDaemon({ endpoint: fake.http });
});

after(async () => {
  if (daemon) {
    const code = await daemon.stop();
    assert.equal(code, 0, `copyjobd exited with ${code}`);
  }
  if (fake) await fake.stop();
});

async function tokens() {
  const out = [];
  for (const q of [{ maxResults: '7' }, { maxResults: '3', statusEquals: 'Failed' }, { maxResults: '5', sortOrder: 'Ascending' }]) {
    const res = await daemon.get('/model-copy-jobs?' + new URLSearchParams(q));
    assert.equal(res.status, 200);
    if (res.json.nextToken) out.push(encodeURIComponent(res.json.nextToken));
  }
  return out;
}

async function round(targets) {
  const counts = new Map();
  const bump = (k) => counts.set(k, (counts.get(k) ?? 0) + 1);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++];
      const what = `GET ${target.slice(0, 160)}${target.length > 160 ? `... (${target.length} bytes)` : ''}`;
      const res = await rawGet(daemon.socket, target);
      assert.ok(!res.timedOut, `${what}: no answer within 15 s (hang)`);
      if (target.length > HTTP_LAYER_LIMIT || keyCount(target) > HTTP_LAYER_KEYS) {
        // Refused by the HTTP layer: a 4xx status line or a closed connection, never a hang.
        assert.ok(res.closedWithoutAnswer || (res.status >= 400 && res.status < 500),
          `${what}: over the HTTP layer's limit but got ${res.status}`);
        bump(`http-layer ${res.status ?? 'closed'}`);
        continue;
      }
      assert.ok(!res.closedWithoutAnswer, `${what}: connection closed without an answer`);
      bump(`${res.status} ${assertBedrockShape(res.status, res.headers, res.body, what)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return counts;
}

test(`${ROUNDS} x ${PER_ROUND} hostile query strings: Bedrock-shaped answers, no hang, no leak`, async () => {
  const pid = daemon.proc.pid;
  const validTokens = await tokens();
  const rand = rng(SEED);
  const targets = Array.from({ length: PER_ROUND }, () => hostileTarget(rand, validTokens));
  const fdBase = fdCount(pid);
  const before = await listAll(daemon, { maxResults: '1000' });

  let rssAfterFirst = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const counts = await round(targets);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, PER_ROUND);
    const fds = await fdsBackTo(pid, fdBase);
    const rss = rssKiB(pid);
    report(`round ${r}: ${total} hostile requests (seed ${SEED}); answers: ` +
      [...counts.entries()].sort().map(([k, v]) => `${k}=${v}`).join(', '));
    report(`round ${r}: daemon fds ${fds} (baseline ${fdBase}), RSS ${rss} KiB`);
    assert.ok(fds <= fdBase, `fd count ${fds} did not return to the baseline ${fdBase}`);
    if (r === 1) rssAfterFirst = rss;
    else assertRssStable(pid, rss - rssAfterFirst, RSS_GROWTH_BOUND_KIB);
  }

  // Still serving well-behaved clients, and the data is what it was.
  const afterwards = await listAll(daemon, { maxResults: '1000' });
  assert.deepEqual(afterwards.jobs.map((j) => j.jobArn), before.jobs.map((j) => j.jobArn));
  const v = verifyStore(process.env.COPYJOBD, daemon.configPath);
  if (v.skipped) report(`store check skipped: ${v.skipped}`);
  else {
    assert.equal(v.status, 0, `copyjobd --verify-store: ${v.output}`);
    report(`store check: ${v.output.split('\n').pop()}`);
  }
  report(`held: ${ROUNDS * PER_ROUND} answers well-formed, 0 hangs, fds back to ${fdBase}, RSS growth < ${RSS_GROWTH_BOUND_KIB} KiB`);
});

// The largest request a real AWS client sends (every filter at Bedrock's maximum length, a
// 2048-byte nextToken, SigV4 headers with a long session token) fits the connection's memory
// pool and reaches copyjobd's handlers.
test('the largest legitimate request is answered by copyjobd, not refused by the HTTP layer', async () => {
  // The longest custom-model ARN the pattern allows: base model with two version pieces.
  const model = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/' +
    `${'a'.repeat(63)}.${'b'.repeat(63)}:${'c'.repeat(63)}:${'d'.repeat(63)}/${'e'.repeat(12)}`;
  const query = new URLSearchParams({
    creationTimeAfter: '2020-01-01T00:00:00.000000000Z',
    creationTimeBefore: '2030-01-01T00:00:00.000000000Z',
    statusEquals: 'InProgress',
    sourceAccountEquals: '123456789012',
    sourceModelArnEquals: model,
    outputModelNameContains: 'n'.repeat(63),
    sortBy: 'CreationTime',
    sortOrder: 'Descending',
    maxResults: '1000',
  });
  const headers = {
    authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/bedrock/aws4_request, ' +
      'SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-user-agent, Signature=' + '0'.repeat(64),
    'x-amz-date': '20261128T000000Z',
    'x-amz-security-token': 'T'.repeat(2500),
    'x-amz-user-agent': 'aws-sdk-js/3.0.0 ' + 'u'.repeat(300),
    'user-agent': 'aws-sdk-js/3.0.0 ua/2.1 os/linux lang/js md/nodejs#20 ' + 'u'.repeat(300),
  };
  const ask = (target) => new Promise((resolve, reject) => {
    const req = http.request({ socketPath: daemon.socket, path: target, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });

  const plain = await ask(`/model-copy-jobs?${query}`);
  assert.equal(plain.status, 200, plain.body);
  assert.deepEqual(JSON.parse(plain.body).modelCopyJobSummaries, []);

  query.set('nextToken', 'A'.repeat(2048));
  const withToken = await ask(`/model-copy-jobs?${query}`);
  assert.equal(withToken.status, 400, withToken.body);
  assert.equal(withToken.headers['x-amzn-errortype'], 'ValidationException');
  assert.match(JSON.parse(withToken.body).message, /nextToken/);
});
