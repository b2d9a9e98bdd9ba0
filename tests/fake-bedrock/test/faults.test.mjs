// Every fault kind is observable; faults apply in the order added, honour count and the
// operation filter, and never touch the admin API.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../lib/harness.mjs';
import { admin, bedrockRequest, listAll } from '../lib/client.mjs';

const T = { timeout: 120_000 };

describe('fault injection', T, () => {
  let fake;
  let url;
  let jobs;
  const fault = async (spec) => {
    const res = await admin(fake.info.admin, 'POST', '/faults', spec);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.fault;
  };
  const list = (query = { maxResults: 10 }, opts = {}) => bedrockRequest(url, { query, ...opts });
  const get = (arn) => bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(arn)}` });

  before(async () => {
    fake = await startFake(['--jobs', '120', '--https-port', '-1']);
    url = fake.info.http;
    jobs = (await admin(fake.info.admin, 'GET', '/jobs')).json.jobs;
  });
  after(() => fake?.stop());
  beforeEach(async () => {
    assert.equal((await admin(fake.info.admin, 'DELETE', '/faults')).status, 200);
  });

  it('throttle: one 429 ThrottlingException "Rate exceeded", then normal', async () => {
    await fault({ kind: 'throttle' });
    const res = await list();
    assert.equal(res.status, 429);
    assert.equal(res.headers['x-amzn-errortype'], 'ThrottlingException');
    assert.equal(res.json.message, 'Rate exceeded');
    assert.equal((await list()).status, 200);
  });

  it('status: 500 and 503 with AWS types, 502 and 504 without an AWS body', async () => {
    for (const [status, type] of [[500, 'InternalServerException'], [503, 'ServiceUnavailableException'], [502, undefined], [504, undefined]]) {
      await fault({ kind: 'status', status });
      const res = await list();
      assert.equal(res.status, status);
      assert.equal(res.headers['x-amzn-errortype'], type);
      if (type) assert.equal(typeof res.json.message, 'string');
      else assert.equal(res.json, undefined);
    }
    assert.equal((await list()).status, 200);
  });

  it('drop: the connection closes without an answer', async () => {
    await fault({ kind: 'drop' });
    await assert.rejects(list(), /socket hang up|ECONNRESET/);
    assert.equal((await list()).status, 200);
  });

  it('delay: the answer comes only after delayMs', async () => {
    await fault({ kind: 'delay', delayMs: 3000 });
    await assert.rejects(list({ maxResults: 1 }, { timeoutMs: 300 }), /timed out/);
    await fault({ kind: 'delay', delayMs: 50 });
    assert.equal((await list()).status, 200);
  });

  it('truncate: Content-Length larger than the body, then close', async () => {
    await fault({ kind: 'truncate' });
    await assert.rejects(list(), /aborted|incomplete|ECONNRESET|socket hang up/);
    assert.equal((await list()).status, 200);
  });

  it('malformed: 200 with a body that is not JSON', async () => {
    await fault({ kind: 'malformed' });
    const res = await list();
    assert.equal(res.status, 200);
    assert.equal(res.json, undefined);
    assert.throws(() => JSON.parse(res.text));
  });

  it('endlessToken: every page has a fresh nextToken and repeats data, until cleared', async () => {
    await fault({ kind: 'endlessToken', count: -1 });
    const seen = new Set();
    let token;
    let firstPage;
    for (let i = 0; i < 12; i++) {
      const res = await list({ maxResults: 50, nextToken: token });
      assert.equal(res.status, 200);
      assert.ok(res.json.nextToken, 'always a token');
      assert.ok(!seen.has(res.json.nextToken), 'a fresh token');
      seen.add(res.json.nextToken);
      const page = res.json.modelCopyJobSummaries.map((j) => j.jobArn);
      if (i === 0) firstPage = page;
      else assert.deepEqual(page, firstPage, 'the same data again');
      token = res.json.nextToken;
    }
    await admin(fake.info.admin, 'DELETE', '/faults');
    const rest = await bedrockRequest(url, { query: { maxResults: 50, nextToken: token } });
    assert.equal(rest.status, 200, 'the token stays usable');
  });

  it('repeatToken: the answer carries the request\'s own nextToken', async () => {
    const first = await list({ maxResults: 20 });
    const token = first.json.nextToken;
    await fault({ kind: 'repeatToken', count: 2 });
    const again = await list({ maxResults: 20, nextToken: token });
    assert.equal(again.json.nextToken, token);
    const fromStart = await list({ maxResults: 20 });
    assert.ok(fromStart.json.nextToken, 'a first page gets a token back to the start');
    const loop = await list({ maxResults: 20, nextToken: fromStart.json.nextToken });
    assert.deepEqual(loop.json.modelCopyJobSummaries, fromStart.json.modelCopyJobSummaries);
  });

  it('expiredToken: 403 ExpiredTokenException', async () => {
    await fault({ kind: 'expiredToken' });
    const res = await list();
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'ExpiredTokenException');
    assert.equal(res.json.message, 'The security token included in the request is expired');
  });

  it('clockSkew: signature times are judged by the skewed clock, shown in Date', async () => {
    await fault({ kind: 'clockSkew', skewSeconds: 3600, count: 2 });
    const res = await list();
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.match(res.json.message, /^Signature expired: /);
    const shown = Date.parse(res.headers.date);
    assert.ok(Math.abs(shown - (Date.now() + 3600_000)) < 120_000, `Date ${res.headers.date} is the skewed clock`);
    const ahead = await list({ maxResults: 1 }, { signingDate: new Date(Date.now() + 3600_000) });
    assert.equal(ahead.status, 200, 'a client that follows the skew is accepted');
    assert.equal((await list()).status, 200, 'count used up');
  });

  it('operation filter, count and order of application', async () => {
    await fault({ kind: 'throttle', operation: 'GetModelCopyJob' });
    assert.equal((await list()).status, 200);
    assert.equal((await get(jobs[0].jobArn)).status, 429);
    assert.equal((await get(jobs[0].jobArn)).status, 200);

    await fault({ kind: 'throttle', count: 2 });
    await fault({ kind: 'status', status: 500 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await list()).status);
    assert.deepEqual(statuses, [429, 429, 500, 200]);

    await fault({ kind: 'status', status: 503, count: 1, after: 2 });
    const delayed = [];
    for (let i = 0; i < 4; i++) delayed.push((await list()).status);
    assert.deepEqual(delayed, [200, 200, 503, 200], 'after lets requests through first');

    await fault({ kind: 'throttle', count: -1 });
    for (let i = 0; i < 5; i++) assert.equal((await list()).status, 429);
    assert.equal((await admin(fake.info.admin, 'GET', '/stats')).status, 200, 'admin is never faulted');
    assert.equal((await admin(fake.info.admin, 'GET', '/faults')).json.faults.length, 1);
  });

  it('rejects bad fault specs and counts faults injected', async () => {
    for (const spec of [{ kind: 'nope' }, { kind: 'status', status: 200 }, { kind: 'delay', delayMs: -1 }, { kind: 'throttle', count: 0 }, { kind: 'clockSkew' }, { kind: 'throttle', after: -1 }, { kind: 'throttle', operation: 'CreateModelCopyJob' }]) {
      const res = await admin(fake.info.admin, 'POST', '/faults', spec);
      assert.equal(res.status, 400, JSON.stringify(spec));
      assert.ok(res.json.message);
    }
    await admin(fake.info.admin, 'POST', '/stats/reset');
    await fault({ kind: 'throttle', count: 3 });
    for (let i = 0; i < 5; i++) await list();
    const stats = (await admin(fake.info.admin, 'GET', '/stats')).json;
    assert.equal(stats.faultsInjected, 3);
    assert.equal(stats.requests, 5);
    const log = (await admin(fake.info.admin, 'GET', '/requests')).json;
    assert.deepEqual(log.map((e) => e.status), [429, 429, 429, 200, 200]);
    assert.equal(log[0].errorType, 'ThrottlingException');
    assert.equal(log[3].errorType, null);
  });

  it('paging still completes after transient faults are cleared', async () => {
    const all = await listAll(url, { maxResults: 7 });
    assert.equal(all.jobs.length, jobs.length);
  });
});
