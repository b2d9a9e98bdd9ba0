// Stable paging while syncs change the data: a client pages
// through a filter 100 jobs at a time over the socket; between its pages the fake adds,
// finishes, edits and removes jobs and two full syncs (`POST /v1/sync?full=true&wait=true`)
// write them. Every job that matched throughout and was not touched comes exactly once;
// the pages are in order; nothing comes twice; every job served matches the filter and is
// exactly the fake's job as of that page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv, startFake, startDaemon, compareJobs, instantNs, rng } from './lib/harness.mjs';
import { FakeModel } from './lib/store-helpers.mjs';

const JOBS = 5000;
const PAGE = 100;

let fake, daemon, model;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: JOBS, seed: 7 });
  daemon = await startDaemon({
    endpoint: fake.http,
    config: ['[sync]', 'interval = 7d', 'full_interval = 7d', 'max_requests_per_second = 1000'].join('\n'),
  });
  model = new FakeModel(fake, await fake.groundTruth());
});

after(async () => {
  await daemon?.stop();
  await fake?.stop();
});

function matches(j, q) {
  return (!q.statusEquals || j.status === q.statusEquals) &&
    (!q.sourceAccountEquals || j.sourceAccountId === q.sourceAccountEquals) &&
    (!q.sourceModelArnEquals || j.sourceModelArn === q.sourceModelArnEquals) &&
    (!q.outputModelNameContains || (j.targetModelName ?? '').includes(q.outputModelNameContains)) &&
    (!q.creationTimeAfter || instantNs(j.creationTime) > instantNs(q.creationTimeAfter)) &&
    (!q.creationTimeBefore || instantNs(j.creationTime) < instantNs(q.creationTimeBefore));
}

// Two complete full passes: a job is removed by the second one in a row that misses it.
async function syncNow() {
  for (let i = 0; i < 2; i++) {
    const res = await daemon.post('/v1/sync?full=true&wait=true');
    assert.equal(res.status, 200, `sync: ${res.body}`);
    assert.equal(res.json.result, 'ok', `sync: ${res.body}`);
  }
  const stats = (await daemon.get('/v1/stats')).json;
  assert.equal(stats.total, model.jobs.size, 'the sync brought the store up to the fake');
}

// Changes between two pages; the jobs it touches are added to `touched`. `ahead` are the
// matching jobs the client has not reached yet: some changes land there on purpose.
async function changeBetweenPages(rand, ahead, touched) {
  const note = (jobs) => jobs.forEach((j) => touched.add(typeof j === 'string' ? j : j.jobArn));
  note(await model.add(1 + Math.floor(rand() * 3)));
  note(await model.finish(model.pick(2, rand, (j) => j.status === 'InProgress'), rand() < 0.5 ? 'Completed' : 'Failed'));
  const aheadArns = ahead.map((j) => j.jobArn).filter((a) => model.jobs.has(a) && !touched.has(a));
  const pickAhead = () => aheadArns[Math.floor(rand() * aheadArns.length)];
  const victims = new Set(model.pick(1, rand));
  if (aheadArns.length) victims.add(pickAhead());
  note(await model.remove([...victims].filter((a) => model.jobs.has(a))));
  if (aheadArns.length) {
    const arn = pickAhead();
    if (model.jobs.has(arn)) note([await model.update(arn, { targetModelName: `renamed-${Math.floor(rand() * 1e6)}` })]);
  }
  await syncNow();
}

async function pageThrough(q, seed) {
  const rand = rng(seed);
  const before = [...model.jobs.values()].filter((j) => matches(j, q)).sort(compareJobs);
  if (q.sortOrder !== 'Ascending') before.reverse();
  const touched = new Set();
  const delivered = [];
  const seen = new Set();
  let token, pages = 0;

  do {
    assert.ok(pages++ < 1000, 'nextToken ends');
    const params = new URLSearchParams({ ...q, maxResults: String(PAGE) });
    if (token) params.set('nextToken', token);
    const res = await daemon.get('/model-copy-jobs?' + params.toString());
    assert.equal(res.status, 200, `page ${pages}: ${res.body}`);
    const page = res.json.modelCopyJobSummaries;
    assert.ok(page.length <= PAGE);
    for (const j of page) {
      assert.ok(!seen.has(j.jobArn), `page ${pages}: ${j.jobArn} came twice`);
      seen.add(j.jobArn);
      assert.ok(matches(j, q), `page ${pages}: ${j.jobArn} does not match ${JSON.stringify(q)}`);
      // The sync before this page made the store equal to the fake: the job is as it is now.
      assert.deepEqual(j, model.jobs.get(j.jobArn), `page ${pages}: ${j.jobArn} is served as the fake has it`);
      const prev = delivered[delivered.length - 1];
      if (prev) {
        const c = compareJobs(prev, j);
        assert.ok(q.sortOrder === 'Ascending' ? c < 0 : c > 0, `page ${pages}: ${j.jobArn} is out of order`);
      }
      delivered.push(j);
    }
    token = res.json.nextToken;
    if (token) {
      const ahead = before.filter((j) => !seen.has(j.jobArn)).slice(0, 3 * PAGE);
      await changeBetweenPages(rand, ahead, touched);
    }
  } while (token);

  // The jobs that matched before and after and were not touched: each exactly once.
  const stable = before.filter((j) => !touched.has(j.jobArn) && model.jobs.has(j.jobArn) &&
    matches(model.jobs.get(j.jobArn), q));
  const missing = stable.filter((j) => !seen.has(j.jobArn));
  assert.deepEqual(missing.map((j) => j.jobArn), [], 'no stable job is skipped');
  // The stable ones come in the order they had before.
  const stableArns = new Set(stable.map((j) => j.jobArn));
  const order = delivered.filter((j) => stableArns.has(j.jobArn));
  assert.deepEqual(order.map((j) => j.jobArn), stable.map((j) => j.jobArn));
  // The changes did reach the rows ahead of the client, or this proved little.
  const touchedAhead = before.filter((j) => touched.has(j.jobArn)).length;
  assert.ok(touchedAhead >= Math.min(pages - 1, 3), `changes landed among the matching jobs (${touchedAhead})`);
  return { pages, delivered: delivered.length, stable: stable.length, touchedAhead };
}

test('paging a status filter (newest first) while full syncs add, finish, edit and remove jobs', async () => {
  const r = await pageThrough({ statusEquals: 'Completed' }, 1);
  assert.ok(r.pages >= 30, `many pages (${r.pages})`);
  console.log(`# ${JSON.stringify(r)}`);
});

test('paging InProgress oldest first: jobs finished ahead drop out, added ones come at the end', async () => {
  const r = await pageThrough({ statusEquals: 'InProgress', sortOrder: 'Ascending' }, 2);
  console.log(`# ${JSON.stringify(r)}`);
});

test('paging an account and a time range while syncs change data', async () => {
  const jobs = [...model.jobs.values()].sort(compareJobs);
  const perAccount = new Map();
  for (const j of jobs) perAccount.set(j.sourceAccountId, (perAccount.get(j.sourceAccountId) ?? 0) + 1);
  const account = [...perAccount].sort((a, b) => b[1] - a[1])[0][0]; // the busiest
  const q = {
    sourceAccountEquals: account,
    creationTimeAfter: jobs[Math.floor(jobs.length / 10)].creationTime,
    sortOrder: 'Ascending',
  };
  const r = await pageThrough(q, 3);
  assert.ok(r.pages >= 2, `several pages (${r.pages})`);
  console.log(`# ${JSON.stringify(r)}`);
});
