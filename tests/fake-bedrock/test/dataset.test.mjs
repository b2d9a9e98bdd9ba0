// The seeded data set: deterministic, realistic, and within the service model's constraints.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../lib/harness.mjs';
import { admin, bedrockRequest } from '../lib/client.mjs';
import { instantKey, tieGroups } from '../test-support/truth.mjs';

const T = { timeout: 180_000 };

const RE = {
  jobArn: /^arn:aws:bedrock:us-east-1:\d{12}:model-copy-job\/[a-z0-9]{12}$/,
  targetModelArn: /^arn:aws:bedrock:us-east-1:\d{12}:custom-model\/[a-z0-9-]+\.[a-z0-9.-]+(:[a-z0-9-]+){0,2}\/[a-z0-9]{12}$/,
  sourceModelArn: /^arn:aws:bedrock:[a-z0-9-]{1,20}:\d{12}:custom-model\/[a-z0-9-]+\.[a-z0-9.-]+(:[a-z0-9-]+){0,2}\/[a-z0-9]{12}$/,
  name: /^([0-9a-zA-Z][_-]?){1,63}$/,
  kms: /^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  tag: /^[a-zA-Z0-9\s._:/=+@-]*$/,
  time: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6})?Z$/,
};
const ORDER = ['jobArn', 'status', 'creationTime', 'targetModelArn', 'targetModelName', 'sourceAccountId', 'sourceModelArn', 'targetModelKmsKeyArn', 'targetModelTags', 'failureMessage', 'sourceModelName'];

const jobsOf = async (fake) => (await admin(fake.info.admin, 'GET', '/jobs')).json.jobs;

describe('the seeded data set', T, () => {
  let a;
  let b;
  let c;
  let jobs;
  before(async () => {
    [a, b, c] = await Promise.all([
      startFake(['--jobs', '5000', '--seed', '42', '--https-port', '-1']),
      startFake(['--jobs', '5000', '--seed', '42', '--https-port', '-1']),
      startFake(['--jobs', '5000', '--seed', '43', '--https-port', '-1']),
    ]);
    jobs = await jobsOf(a);
  });
  after(() => Promise.all([a, b, c].map((f) => f?.stop())));

  it('is the same for the same seed and different for another', async () => {
    assert.deepEqual(await jobsOf(b), jobs);
    const other = await jobsOf(c);
    assert.equal(other.length, 5000);
    assert.notDeepEqual(other.map((j) => j.jobArn), jobs.map((j) => j.jobArn));
  });

  it('obeys the service model patterns, with fields in model order', () => {
    const ids = new Set();
    for (const j of jobs) {
      const keys = Object.keys(j);
      assert.deepEqual(keys, ORDER.filter((k) => keys.includes(k)));
      assert.match(j.jobArn, RE.jobArn);
      ids.add(j.jobArn);
      assert.ok(['InProgress', 'Completed', 'Failed'].includes(j.status));
      assert.match(j.creationTime, RE.time);
      assert.match(j.targetModelArn, RE.targetModelArn);
      assert.match(j.targetModelName, RE.name);
      assert.match(j.sourceAccountId, /^\d{12}$/);
      assert.match(j.sourceModelArn, RE.sourceModelArn);
      assert.ok(j.sourceModelArn.includes(`:${j.sourceAccountId}:`), 'source model owned by the source account');
      if (j.targetModelKmsKeyArn !== undefined) assert.match(j.targetModelKmsKeyArn, RE.kms);
      if (j.targetModelTags !== undefined) {
        assert.ok(j.targetModelTags.length <= 5);
        for (const t of j.targetModelTags) {
          assert.deepEqual(Object.keys(t), ['key', 'value']);
          assert.ok(t.key.length >= 1 && t.key.length <= 128 && RE.tag.test(t.key) && RE.tag.test(t.value));
        }
      }
      assert.equal(j.failureMessage !== undefined, j.status === 'Failed', 'failureMessage exactly on Failed jobs');
      if (j.sourceModelName !== undefined) assert.match(j.sourceModelName, RE.name);
    }
    assert.equal(ids.size, jobs.length);
  });

  it('has the intended mix of statuses, optional fields, accounts and models', () => {
    const share = (pred) => jobs.filter(pred).length / jobs.length;
    const within = (x, lo, hi, what) => assert.ok(x >= lo && x <= hi, `${what}: ${x}`);
    within(share((j) => j.status === 'InProgress'), 0.07, 0.13, 'InProgress');
    within(share((j) => j.status === 'Completed'), 0.7, 0.8, 'Completed');
    within(share((j) => j.status === 'Failed'), 0.12, 0.18, 'Failed');
    within(share((j) => j.targetModelKmsKeyArn), 0.25, 0.35, 'KMS key');
    within(share((j) => j.sourceModelName), 0.65, 0.75, 'sourceModelName');
    within(new Set(jobs.map((j) => j.sourceAccountId)).size, 10, 20, 'source accounts');
    within(new Set(jobs.map((j) => j.sourceModelArn)).size, 30, 60, 'source models');
    within(share((j) => j.targetModelName.includes('claims')), 0.02, 0.5, 'name filter "claims"');
    assert.ok(jobs.some((j) => /[A-Z_]/.test(j.targetModelName)), 'some names use capitals or underscores');
    assert.ok(new Set(jobs.map((j) => j.failureMessage).filter(Boolean)).size >= 3, 'varied failure messages');
  });

  it('mixes timestamp precisions, has ties, and spans ~400 days before a seed-fixed epoch', async () => {
    const count = (re) => jobs.filter((j) => re.test(j.creationTime)).length;
    assert.ok(count(/:\d{2}Z$/) > 500, 'whole seconds');
    assert.ok(count(/\.\d{3}Z$/) > 500, 'milliseconds');
    assert.ok(count(/\.\d{6}Z$/) > 50, 'microseconds');
    const tied = tieGroups(jobs).reduce((n, g) => n + g.length, 0);
    assert.ok(tied / jobs.length >= 0.05, `ties: ${tied}`);
    const info = (await admin(a.info.admin, 'GET', '/info')).json;
    const epoch = Date.parse(info.epoch) / 1000;
    const first = instantKey(jobs[0].creationTime).seconds;
    const last = instantKey(jobs[jobs.length - 1].creationTime).seconds;
    assert.ok(last <= epoch && first >= epoch - 401 * 86400 && last - first > 390 * 86400);
  });

  it('starts with 100000 jobs and serves the newest page', { timeout: 120_000 }, async () => {
    const big = await startFake(['--jobs', '100000', '--https-port', '-1'], { timeoutMs: 100_000 });
    try {
      const res = await bedrockRequest(big.info.http, { query: { maxResults: 1000, statusEquals: 'Failed' } });
      assert.equal(res.status, 200);
      assert.equal(res.json.modelCopyJobSummaries.length, 1000);
      assert.ok(res.json.nextToken);
    } finally {
      await big.stop();
    }
  });
});
