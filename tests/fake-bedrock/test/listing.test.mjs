// ListModelCopyJobs and GetModelCopyJob against ground truth computed here.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../lib/harness.mjs';
import { admin, bedrockRequest, listAll } from '../lib/client.mjs';
import { arns, compareJobs, expectedList, tieGroups } from '../test-support/truth.mjs';

const T = { timeout: 120_000 };

describe('ListModelCopyJobs and GetModelCopyJob', T, () => {
  let fake;
  let url;
  let truth; // ascending
  before(async () => {
    fake = await startFake(['--jobs', '2500', '--seed', '7', '--https-port', '-1']);
    url = fake.info.http;
    truth = (await admin(fake.info.admin, 'GET', '/jobs')).json.jobs;
  });
  after(() => fake?.stop());

  const check = async (query, pageSize = 1000) => {
    const got = await listAll(url, { ...query, maxResults: pageSize });
    const want = expectedList(truth, query);
    assert.deepEqual(arns(got.jobs), arns(want), `query ${JSON.stringify(query)}`);
    assert.equal(got.pages, Math.max(1, Math.ceil(want.length / pageSize)));
    return got;
  };

  it('admin listing is ascending by (creationTime instant, jobArn)', () => {
    assert.equal(truth.length, 2500);
    const sorted = [...truth].sort(compareJobs);
    assert.deepEqual(arns(truth), arns(sorted));
  });

  it('default order is Descending, the exact reverse of Ascending, with ties by ARN', async () => {
    const desc = await check({});
    const asc = await check({ sortOrder: 'Ascending', sortBy: 'CreationTime' }, 137);
    assert.deepEqual(arns(desc.jobs), arns(asc.jobs).reverse());
    const groups = tieGroups(truth);
    assert.ok(groups.length > 20, 'the data set has ties');
    const pos = new Map(asc.jobs.map((j, i) => [j.jobArn, i]));
    for (const g of groups) {
      const order = g.map((j) => j.jobArn).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const idx = order.map((a) => pos.get(a));
      assert.deepEqual(idx, [...idx].sort((a, b) => a - b), 'tied jobs ascend by ARN');
      assert.equal(idx[idx.length - 1] - idx[0], idx.length - 1, 'tied jobs are adjacent');
    }
  });

  it('returns full job objects exactly as stored, fields in model order', async () => {
    const res = await bedrockRequest(url, { query: { maxResults: 5, sortOrder: 'Ascending' } });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.match(res.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
    assert.deepEqual(res.json.modelCopyJobSummaries, truth.slice(0, 5));
    const order = ['jobArn', 'status', 'creationTime', 'targetModelArn', 'targetModelName', 'sourceAccountId', 'sourceModelArn', 'targetModelKmsKeyArn', 'targetModelTags', 'failureMessage', 'sourceModelName'];
    for (const j of res.json.modelCopyJobSummaries) {
      const keys = Object.keys(j);
      assert.deepEqual(keys, order.filter((k) => keys.includes(k)));
    }
    assert.equal(typeof res.json.nextToken, 'string');
  });

  it('filters by status, account, source model and name, singly and combined', async () => {
    for (const statusEquals of ['InProgress', 'Completed', 'Failed']) await check({ statusEquals }, 300);
    const account = truth[17].sourceAccountId;
    const model = truth[42].sourceModelArn;
    await check({ sourceAccountEquals: account });
    await check({ sourceModelArnEquals: model, sortOrder: 'Ascending' }, 7);
    await check({ sourceAccountEquals: '000000000000' });
    for (const outputModelNameContains of ['claims', 'Claims', 'v3', 'summarizer-v3', 'Summarizer_V', 'v', 'zzz']) {
      await check({ outputModelNameContains }, 250);
    }
    await check({ statusEquals: 'Completed', sourceAccountEquals: account, outputModelNameContains: 'v2', sortOrder: 'Ascending' }, 3);
  });

  it('time bounds are strict and compared at full precision', async () => {
    const tie = tieGroups(truth)[3][0].creationTime;
    const micro = truth.find((j) => /\.\d{6}Z$/.test(j.creationTime)).creationTime;
    const bounds = [tie, micro, truth[1000].creationTime, truth[0].creationTime, truth[truth.length - 1].creationTime];
    for (const t of bounds) {
      const after = await check({ creationTimeAfter: t, sortOrder: 'Ascending' }, 500);
      assert.ok(after.jobs.every((j) => j.creationTime !== t));
      const before = await check({ creationTimeBefore: t }, 500);
      assert.ok(before.jobs.every((j) => j.creationTime !== t));
    }
    await check({ creationTimeAfter: truth[500].creationTime, creationTimeBefore: truth[900].creationTime, statusEquals: 'Completed' });
    // One nanosecond or less past a job's instant still counts for a strict bound.
    const whole = truth.find((j) => /:\d{2}Z$/.test(j.creationTime)).creationTime;
    const res = await listAll(url, { creationTimeBefore: whole.replace('Z', '.000000000001Z'), statusEquals: truth.find((j) => j.creationTime === whole).status });
    assert.ok(res.jobs.some((j) => j.creationTime === whole), 'a job at T is before T+1ps');
    const same = await listAll(url, { creationTimeAfter: whole.replace('Z', '.000000000000Z') });
    assert.ok(!same.jobs.some((j) => j.creationTime === whole), 'T is not after T written with more digits');
    await check({ creationTimeAfter: whole.replace('Z', '.000000000000Z') });
    // An offset form of the same instant selects the same jobs.
    const z = truth[1234].creationTime;
    const d = new Date(Date.parse(z));
    const local = `${d.toISOString().slice(0, 11)}${String((d.getUTCHours() + 2) % 24).padStart(2, '0')}${z.slice(13, -1)}+02:00`;
    if (d.getUTCHours() < 22) {
      const a = await listAll(url, { creationTimeAfter: z });
      const b = await listAll(url, { creationTimeAfter: local });
      assert.deepEqual(arns(a.jobs), arns(b.jobs));
    }
  });

  it('validates maxResults and every other parameter with a 400 naming it', async () => {
    const cases = [
      ['maxResults', '0'],
      ['maxResults', '1001'],
      ['maxResults', 'abc'],
      ['maxResults', '-1'],
      ['maxResults', ''],
      ['maxResults', '1.5'],
      ['statusEquals', 'Done'],
      ['statusEquals', 'completed'],
      ['sourceAccountEquals', '12345'],
      ['sourceModelArnEquals', 'arn:aws:bedrock:us-east-1:123456789012:custom-model/x'],
      ['outputModelNameContains', 'a--b'],
      ['outputModelNameContains', 'x'.repeat(64)],
      ['creationTimeAfter', 'yesterday'],
      ['creationTimeBefore', '2024-02-30T00:00:00Z'],
      ['sortBy', 'Name'],
      ['sortOrder', 'Up'],
      ['nextToken', 'has space'],
    ];
    for (const [key, value] of cases) {
      const res = await bedrockRequest(url, { query: { [key]: value } });
      assert.equal(res.status, 400, `${key}=${value}`);
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
      assert.ok(res.json.message.includes(`'${key}'`), `message names ${key}: ${res.json.message}`);
    }
    for (const maxResults of ['1', '1000']) {
      const res = await bedrockRequest(url, { query: { maxResults } });
      assert.equal(res.status, 200);
      assert.equal(res.json.modelCopyJobSummaries.length, Number(maxResults));
    }
  });

  it('rejects a repeated parameter and ignores unknown ones', async () => {
    const rep = await bedrockRequest(url, { rawQuery: 'statusEquals=Failed&statusEquals=Completed' });
    assert.equal(rep.status, 400);
    assert.match(rep.json.message, /statusEquals/);
    const unk = await bedrockRequest(url, { query: { maxResults: 3, bogus: 'x', targetModelNameContains: 'claims' } });
    assert.equal(unk.status, 200);
    assert.deepEqual(arns(unk.json.modelCopyJobSummaries), arns(expectedList(truth).slice(0, 3)));
  });

  it('binds nextToken to its query and rejects garbage tokens', async () => {
    const first = await bedrockRequest(url, { query: { statusEquals: 'Completed', maxResults: 10 } });
    const token = first.json.nextToken;
    assert.ok(token && token.length <= 2048);
    const ok = await bedrockRequest(url, { query: { statusEquals: 'Completed', maxResults: 25, nextToken: token } });
    assert.equal(ok.status, 200, 'page size may change between pages');
    assert.deepEqual(arns(ok.json.modelCopyJobSummaries), arns(expectedList(truth, { statusEquals: 'Completed' }).slice(10, 35)));
    for (const other of [{ statusEquals: 'Failed' }, { statusEquals: 'Completed', sortOrder: 'Ascending' }, {}, { statusEquals: 'Completed', outputModelNameContains: 'v1' }]) {
      const res = await bedrockRequest(url, { query: { ...other, nextToken: token } });
      assert.equal(res.status, 400, JSON.stringify(other));
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
      assert.match(res.json.message, /nextToken/);
    }
    const flipped = token[5] === 'A' ? `${token.slice(0, 5)}B${token.slice(6)}` : `${token.slice(0, 5)}A${token.slice(6)}`;
    for (const garbage of ['garbage', 'AAAA', flipped, `${token}x`, 'x'.repeat(2048)]) {
      const res = await bedrockRequest(url, { query: { statusEquals: 'Completed', nextToken: garbage } });
      assert.equal(res.status, 400, garbage.slice(0, 20));
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
    }
  });

  it('accepts the query in any order (as the SDKs send it)', async () => {
    const query = [['sortOrder', 'Ascending'], ['statusEquals', 'Failed'], ['maxResults', '4'], ['creationTimeAfter', truth[100].creationTime]];
    const res = await bedrockRequest(url, { query, sortQuery: false });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(arns(res.json.modelCopyJobSummaries), arns(expectedList(truth, Object.fromEntries(query)).slice(0, 4)));
  });

  it('GetModelCopyJob takes the percent-encoded ARN and returns the job at top level', async () => {
    for (const job of [truth[0], truth[777], truth[truth.length - 1]]) {
      const res = await bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(job.jobArn)}` });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, JSON.stringify(job));
    }
    const missing = truth[0].jobArn.replace(/\/[a-z0-9]{12}$/, '/zzzzzzzzzzzz');
    const nf = await bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(missing)}` });
    assert.equal(nf.status, 404);
    assert.equal(nf.headers['x-amzn-errortype'], 'ResourceNotFoundException');
    assert.ok(nf.json.message.length > 0);
    const bad = await bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent('not-an-arn')}` });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /jobArn/);
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    const unencoded = await bedrockRequest(url, { path: `/model-copy-jobs/${truth[0].jobArn}` });
    assert.equal(unencoded.status, 404);
    assert.equal(unencoded.headers['x-amzn-errortype'], 'UnknownOperationException');
    const other = await bedrockRequest(url, { path: '/custom-models' });
    assert.equal(other.status, 404);
    assert.equal(other.headers['x-amzn-errortype'], 'UnknownOperationException');
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const res = await bedrockRequest(url, { method });
      assert.equal(res.status, 405, method);
      assert.ok(res.json.message);
    }
  });
});
