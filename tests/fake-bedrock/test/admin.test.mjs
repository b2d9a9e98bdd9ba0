// The admin API changes what Bedrock requests see, and keyset paging survives those changes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../lib/harness.mjs';
import { admin, bedrockRequest, listAll } from '../lib/client.mjs';
import { arns, compareInstants, expectedList } from '../test-support/truth.mjs';

const T = { timeout: 120_000 };

describe('admin API', T, () => {
  let fake;
  let url;
  const adm = (method, path, body) => admin(fake.info.admin, method, path, body);
  const jobsNow = async () => (await adm('GET', '/jobs')).json.jobs;
  const get = (arn) => bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(arn)}` });

  before(async () => {
    fake = await startFake(['--jobs', '300', '--https-port', '-1', '--seed', '3']);
    url = fake.info.http;
  });
  after(() => fake?.stop());

  it('info describes the data set', async () => {
    const info = (await adm('GET', '/info')).json;
    assert.equal(info.region, 'us-east-1');
    assert.match(info.account, /^\d{12}$/);
    assert.equal(info.jobs, 300);
    assert.equal(info.seed, 3);
  });

  it('adds jobs newer than all others, InProgress by default, visible at once', async () => {
    const before = await jobsNow();
    const added = (await adm('POST', '/jobs/add', { count: 3 })).json.jobs;
    assert.equal(added.length, 3);
    for (const j of added) {
      assert.equal(j.status, 'InProgress');
      assert.ok(compareInstants(j.creationTime, before[before.length - 1].creationTime) > 0);
    }
    const page = await bedrockRequest(url, { query: { maxResults: 3 } });
    assert.deepEqual(new Set(arns(page.json.modelCopyJobSummaries)), new Set(arns(added)));
    const failed = (await adm('POST', '/jobs/add', { count: 1, status: 'Failed' })).json.jobs[0];
    assert.equal(failed.status, 'Failed');
    assert.ok(failed.failureMessage);
  });

  it('adds a job with a given creationTime, tying with an existing job', async () => {
    const existing = (await jobsNow())[50];
    const [tie] = (await adm('POST', '/jobs/add', { count: 1, status: 'Completed', creationTime: existing.creationTime })).json.jobs;
    assert.equal(tie.creationTime, existing.creationTime);
    const all = await listAll(url, { sortOrder: 'Ascending' });
    assert.deepEqual(arns(all.jobs), arns(expectedList(await jobsNow(), { sortOrder: 'Ascending' })));
    const bad = await adm('POST', '/jobs/add', { count: 1, creationTime: 'soon' });
    assert.equal(bad.status, 400);
  });

  it('finishes jobs by ARN or the n oldest InProgress, as Completed or Failed', async () => {
    const inProgress = (await jobsNow()).filter((j) => j.status === 'InProgress');
    const done = (await adm('POST', '/jobs/finish', { arns: [inProgress[0].jobArn] })).json.jobs;
    assert.equal(done[0].status, 'Completed');
    assert.equal((await get(inProgress[0].jobArn)).json.status, 'Completed');
    const failed = (await adm('POST', '/jobs/finish', { count: 2, status: 'Failed' })).json.jobs;
    assert.deepEqual(arns(failed), arns(inProgress.slice(1, 3)));
    for (const j of failed) {
      const live = (await get(j.jobArn)).json;
      assert.equal(live.status, 'Failed');
      assert.ok(live.failureMessage.length > 10);
    }
    assert.equal((await adm('POST', '/jobs/finish', { arns: ['arn:aws:bedrock:us-east-1:123456789012:model-copy-job/nosuchjob000'] })).status, 404);
  });

  it('removes jobs by ARN or count', async () => {
    const all = await jobsNow();
    const victim = all[10].jobArn;
    const res = (await adm('POST', '/jobs/remove', { arns: [victim] })).json;
    assert.deepEqual(res.removed, [victim]);
    assert.equal((await get(victim)).status, 404);
    const oldest = (await adm('POST', '/jobs/remove', { count: 2 })).json.removed;
    assert.deepEqual(oldest, [all[0].jobArn, all[1].jobArn]);
    assert.equal((await jobsNow()).length, all.length - 3);
  });

  it('updates fields, validating them against the model', async () => {
    const j = (await jobsNow())[20];
    const res = await adm('POST', '/jobs/update', { arn: j.jobArn, fields: { targetModelName: 'renamed-model_v9', targetModelTags: [{ key: 'env', value: 'prod' }], sourceModelName: null } });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const live = (await get(j.jobArn)).json;
    assert.equal(live.targetModelName, 'renamed-model_v9');
    assert.deepEqual(live.targetModelTags, [{ key: 'env', value: 'prod' }]);
    assert.equal(live.sourceModelName, undefined);
    const hit = await bedrockRequest(url, { query: { outputModelNameContains: 'renamed' } });
    assert.deepEqual(arns(hit.json.modelCopyJobSummaries), [j.jobArn]);
    for (const fields of [{ targetModelName: 'bad name!' }, { status: 'Stopped' }, { jobArn: 'x' }, { nope: 1 }, { sourceAccountId: null }]) {
      assert.equal((await adm('POST', '/jobs/update', { arn: j.jobArn, fields })).status, 400, JSON.stringify(fields));
    }
    const moved = await adm('POST', '/jobs/update', { arn: j.jobArn, fields: { creationTime: '2020-01-01T00:00:00.5Z' } });
    assert.equal(moved.status, 200);
    assert.equal((await jobsNow())[0].jobArn, j.jobArn, 'a changed creationTime re-sorts the job');
  });

  it('keyset paging neither skips nor repeats while jobs are inserted and removed', async () => {
    for (const sortOrder of ['Ascending', 'Descending']) {
      const start = await jobsNow();
      const seen = [];
      const removed = new Set();
      let token;
      for (let page = 0; page < 100; page++) {
        const res = await bedrockRequest(url, { query: { sortOrder, maxResults: 25, nextToken: token } });
        assert.equal(res.status, 200, res.text);
        seen.push(...res.json.modelCopyJobSummaries);
        token = res.json.nextToken;
        if (!token) break;
        const current = await jobsNow();
        // Remove the job just served (the token's position) and one not yet served; add a job
        // tying with the last served one and a brand-new one.
        const last = seen[seen.length - 1];
        const unseen = current.find((j) => !seen.some((s) => s.jobArn === j.jobArn) && !removed.has(j.jobArn));
        const victims = [last.jobArn, ...(unseen ? [unseen.jobArn] : [])];
        victims.forEach((a) => removed.add(a));
        await adm('POST', '/jobs/remove', { arns: victims });
        await adm('POST', '/jobs/add', { count: 1, creationTime: last.creationTime, status: 'Completed' });
        await adm('POST', '/jobs/add', { count: 1 });
      }
      assert.ok(!token, 'paging ended');
      const seenArns = arns(seen);
      assert.equal(new Set(seenArns).size, seenArns.length, `${sortOrder}: no job repeated`);
      const survivors = start.filter((j) => !removed.has(j.jobArn));
      const seenSet = new Set(seenArns);
      assert.ok(survivors.every((j) => seenSet.has(j.jobArn)), `${sortOrder}: no job that stayed was skipped`);
      const order = arns(expectedList(seen, { sortOrder }));
      assert.deepEqual(seenArns, order, `${sortOrder}: pages stay in order`);
    }
  });

  it('stats, request log and reset', async () => {
    await adm('POST', '/stats/reset');
    const fresh = (await adm('GET', '/stats')).json;
    assert.deepEqual(fresh, { requests: 0, byOperation: { ListModelCopyJobs: 0, GetModelCopyJob: 0 }, badSignatures: 0, faultsInjected: 0, maxRequestsInAnySecond: 0 });
    const arn = (await jobsNow())[5].jobArn;
    await bedrockRequest(url, { query: { statusEquals: 'Failed', maxResults: 2 } });
    await get(arn);
    await get(arn);
    const stats = (await adm('GET', '/stats')).json;
    assert.equal(stats.requests, 3);
    assert.deepEqual(stats.byOperation, { ListModelCopyJobs: 1, GetModelCopyJob: 2 });
    assert.ok(stats.maxRequestsInAnySecond >= 1 && stats.maxRequestsInAnySecond <= 3);
    const log = (await adm('GET', '/requests')).json;
    assert.equal(log.length, 3);
    assert.deepEqual(log[0].query, { statusEquals: 'Failed', maxResults: '2' });
    assert.equal(log[0].path, '/model-copy-jobs');
    assert.equal(log[1].path, `/model-copy-jobs/${encodeURIComponent(arn)}`);
    assert.ok(log.every((e) => e.status === 200 && e.errorType === null && e.method === 'GET' && e.t > 0));
  });

  it('answers unknown admin routes and bad bodies clearly', async () => {
    assert.equal((await adm('GET', '/nope')).status, 404);
    assert.equal((await adm('GET', '/jobs/add')).status, 405);
    const res = await admin(fake.info.admin, 'POST', '/jobs/add', { count: 'many' });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /count/);
  });
});
