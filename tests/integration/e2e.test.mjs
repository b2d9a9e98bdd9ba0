// End to end: the fake Bedrock endpoint with 5,000 jobs, copyjobd syncing from it over
// HTTPS (and HTTP), and the local API compared with the fake's ground truth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  requireEnv, startFake, startDaemon, expectedList, listAll, rng, compareJobs, instantNs,
  TEST_SECRET_ACCESS_KEY,
} from './lib/harness.mjs';

let fake, daemon;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 5000, seed: 2024 });
  daemon = await startDaemon({ endpoint: fake.https, caFile: fake.caFile, config: '[sync]\ninterval = 1h\npage_size = 700\n' });
});

after(async () => {
  if (daemon) {
    const code = await daemon.stop();
    assert.equal(code, 0, 'copyjobd exits 0 on SIGTERM');
    assert.ok(!daemon.log().includes(TEST_SECRET_ACCESS_KEY), 'the secret key never appears in the log');
  }
  if (fake) await fake.stop();
});

function isoBetween(r, jobs) {
  // A creation time from the data itself (so ties and exact bounds are exercised) or a shifted one.
  const j = jobs[Math.floor(r() * jobs.length)];
  if (r() < 0.5) return j.creationTime;
  const shifted = new Date(Number(instantNs(j.creationTime) / 1000000n) + Math.floor((r() - 0.5) * 86400000 * 20));
  return shifted.toISOString().replace(/\.000Z$/, 'Z');
}

function randomQuery(r, jobs) {
  const q = {};
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const someJob = () => pick(jobs);
  if (r() < 0.5) q.statusEquals = pick(['InProgress', 'Completed', 'Failed']);
  if (r() < 0.25) q.sourceAccountEquals = someJob().sourceAccountId;
  if (r() < 0.2) q.sourceModelArnEquals = someJob().sourceModelArn;
  if (r() < 0.2) {
    const name = someJob().targetModelName ?? 'model';
    const start = Math.floor(r() * Math.max(1, name.length - 3));
    q.outputModelNameContains = name.slice(start, start + 3 + Math.floor(r() * 4)).replace(/[-_]+$/, '') || 'a';
  }
  if (r() < 0.5) q.creationTimeAfter = isoBetween(r, jobs);
  if (r() < 0.5) q.creationTimeBefore = isoBetween(r, jobs);
  if (r() < 0.5) q.sortOrder = pick(['Ascending', 'Descending']);
  if (r() < 0.3) q.sortBy = 'CreationTime';
  q.maxResults = String(pick([1, 3, 17, 100, 250, 1000]));
  return q;
}

test('the first sync stores exactly the fake\'s jobs, signed correctly', async () => {
  const truth = await fake.groundTruth();
  assert.equal(truth.length, 5000);
  const { jobs } = await listAll(daemon, { sortOrder: 'Ascending' });
  assert.deepEqual(jobs, [...truth].sort(compareJobs));
  const stats = await fake.admin('GET', '/stats');
  assert.equal(stats.badSignatures, 0, 'no request had a bad signature');
  assert.ok(stats.byOperation.ListModelCopyJobs >= Math.ceil(5000 / 700));
});

test('60 seeded random filter combinations match the ground truth, following nextToken', async () => {
  const truth = await fake.groundTruth();
  const r = rng(7);
  let nonEmpty = 0;
  for (let i = 0; i < 60; i++) {
    const q = randomQuery(r, truth);
    const want = expectedList(truth, q);
    const { jobs, pages } = await listAll(daemon, q);
    assert.deepEqual(jobs.map((j) => j.jobArn), want.map((j) => j.jobArn), `query ${i}: ${JSON.stringify(q)}`);
    assert.deepEqual(jobs, want, `query ${i}: same fields`);
    const per = Number(q.maxResults);
    assert.equal(pages, Math.max(1, Math.ceil(want.length / per)), `query ${i}: page count`);
    if (want.length) nonEmpty++;
  }
  assert.ok(nonEmpty >= 30, `most random queries select something (${nonEmpty})`);
});

test('ties in creationTime are ordered by jobArn, and Descending is the exact reverse', async () => {
  const truth = await fake.groundTruth();
  const byTime = new Map();
  for (const j of truth) byTime.set(instantNs(j.creationTime), (byTime.get(instantNs(j.creationTime)) ?? 0) + 1);
  assert.ok([...byTime.values()].some((n) => n > 1), 'the data set has ties');
  const asc = (await listAll(daemon, { sortOrder: 'Ascending', maxResults: '333' })).jobs;
  const desc = (await listAll(daemon, { sortOrder: 'Descending', maxResults: '1000' })).jobs;
  assert.deepEqual(desc.map((j) => j.jobArn), asc.map((j) => j.jobArn).reverse());
});

test('GetModelCopyJob by ARN, URL-encoded, and 404 for an unknown one', async () => {
  const truth = await fake.groundTruth();
  for (const j of [truth[0], truth[1234], truth[4999]]) {
    const res = await daemon.get('/model-copy-jobs/' + encodeURIComponent(j.jobArn));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, j);
    assert.ok(Number(res.headers['age']) >= 0, 'Age header');
    assert.ok(res.headers['x-copyjobd-synced-at'], 'x-copyjobd-synced-at header');
  }
  const missing = truth[0].jobArn.replace(/[a-z0-9]{12}$/, 'zzzzzzzzzzzz');
  const res = await daemon.get('/model-copy-jobs/' + encodeURIComponent(missing));
  assert.equal(res.status, 404);
  assert.equal(res.headers['x-amzn-errortype'], 'ResourceNotFoundException');
  assert.ok(res.json.message);
});

test('list answers say how old they are', async () => {
  const res = await daemon.get('/model-copy-jobs?maxResults=1');
  assert.equal(res.status, 200);
  assert.match(res.headers['age'], /^\d+$/);
  const synced = Date.parse(res.headers['x-copyjobd-synced-at']);
  assert.ok(Math.abs(Date.now() - synced) < 3600e3);
  assert.equal(res.headers['content-type'], 'application/json');
});

test('/v1/stats agrees with the ground truth', async () => {
  const truth = await fake.groundTruth();
  const res = await daemon.get('/v1/stats');
  assert.equal(res.status, 200);
  assert.equal(res.json.total, truth.length);
  for (const s of ['InProgress', 'Completed', 'Failed'])
    assert.equal(res.json.byStatus[s], truth.filter((j) => j.status === s).length, s);
  const sorted = [...truth].sort(compareJobs);
  assert.equal(instantNs(res.json.oldestCreationTime), instantNs(sorted[0].creationTime));
  assert.equal(instantNs(res.json.newestCreationTime), instantNs(sorted.at(-1).creationTime));
});

test('bad parameters are ValidationExceptions that name the parameter', async () => {
  const cases = [
    ['maxResults=0', 'maxResults'], ['maxResults=1001', 'maxResults'], ['maxResults=ten', 'maxResults'],
    ['statusEquals=Done', 'statusEquals'], ['sortOrder=Up', 'sortOrder'], ['sortBy=Name', 'sortBy'],
    ['creationTimeAfter=yesterday', 'creationTimeAfter'], ['sourceAccountEquals=12345', 'sourceAccountEquals'],
    ['sourceModelArnEquals=arn%3Aaws%3As3%3A%3A%3Ab', 'sourceModelArnEquals'],
    ['statusEquals=Failed&statusEquals=Completed', 'statusEquals'],
    ['nextToken=bm90IGEgdG9rZW4', 'nextToken'],
  ];
  for (const [qs, param] of cases) {
    const res = await daemon.get('/model-copy-jobs?' + qs);
    assert.equal(res.status, 400, qs);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException', qs);
    assert.ok(res.json.message.includes(param), `${qs}: message names ${param}: ${res.json.message}`);
  }
  const unknown = await daemon.get('/model-copy-jobs?maxResults=2&someFutureKey=1');
  assert.equal(unknown.status, 200, 'an unknown key is ignored');
  assert.equal(unknown.json.modelCopyJobSummaries.length, 2);
});

test('a token from one query is refused by another', async () => {
  const first = await daemon.get('/model-copy-jobs?statusEquals=Completed&maxResults=5');
  assert.ok(first.json.nextToken);
  const other = await daemon.get('/model-copy-jobs?statusEquals=Failed&maxResults=5&nextToken=' +
    encodeURIComponent(first.json.nextToken));
  assert.equal(other.status, 400);
  assert.equal(other.headers['x-amzn-errortype'], 'ValidationException');
});

test('changes at the source show up after the next sync: added, finished, removed', async () => {
  const added = (await fake.admin('POST', '/jobs/add', { count: 7 })).jobs;
  const tie = (await fake.admin('POST', '/jobs/add', { count: 2, creationTime: added[0].creationTime })).jobs;
  const finished = (await fake.admin('POST', '/jobs/finish', { count: 4 })).jobs;
  const failed = (await fake.admin('POST', '/jobs/finish', { count: 2, status: 'Failed' })).jobs;
  const removed = (await fake.admin('POST', '/jobs/remove', { count: 5 })).removed;
  assert.equal(added.length + tie.length, 9);
  assert.equal(finished.length, 4);
  assert.equal(removed.length, 5);

  // The first complete full pass that does not list the removed jobs only notes them; the
  // second removes them.
  const first = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(first.status, 200, first.body);
  assert.equal(first.json.result, 'ok');
  assert.equal(first.json.changes.removed, 0);
  for (const arn of removed)
    assert.equal((await daemon.get('/model-copy-jobs/' + encodeURIComponent(arn))).status, 200, `${arn} kept after one pass`);
  const sync = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(sync.status, 200, sync.body);
  assert.equal(sync.json.result, 'ok');
  assert.equal(sync.json.changes.removed, 5);

  const truth = await fake.groundTruth();
  const { jobs } = await listAll(daemon, { sortOrder: 'Ascending' });
  assert.deepEqual(jobs, [...truth].sort(compareJobs), 'cache equals the ground truth after the sync');
  for (const j of [...added, ...tie]) {
    const res = await daemon.get('/model-copy-jobs/' + encodeURIComponent(j.jobArn));
    assert.equal(res.status, 200);
  }
  for (const j of [...finished, ...failed]) {
    const res = await daemon.get('/model-copy-jobs/' + encodeURIComponent(j.jobArn));
    assert.deepEqual(res.json, j);
  }
  for (const arn of removed) {
    const res = await daemon.get('/model-copy-jobs/' + encodeURIComponent(arn));
    assert.equal(res.status, 404, `${arn} was removed`);
  }
  assert.equal((await fake.admin('GET', '/stats')).badSignatures, 0);
});

test('an interrupted pass keeps what it stored and removes nothing', async () => {
  const before = (await listAll(daemon, { sortOrder: 'Ascending' })).jobs;
  const removed = (await fake.admin('POST', '/jobs/remove', { count: 3 })).removed;
  // The third request of the pass fails; the pass cannot be complete.
  await fake.admin('POST', '/faults', { kind: 'status', status: 500, count: -1, after: 2 });
  const sync = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(sync.status, 200);
  assert.equal(sync.json.result, 'failed');
  await fake.admin('DELETE', '/faults');
  const during = (await listAll(daemon, { sortOrder: 'Ascending' })).jobs;
  assert.deepEqual(during.map((j) => j.jobArn), before.map((j) => j.jobArn), 'nothing removed by a failed pass');
  const health = await daemon.get('/v1/health');
  assert.equal(health.json.lastError?.type, 'InternalServerException');

  const again = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(again.json.result, 'ok');
  for (const arn of removed) /* missed by one complete pass: kept until the next */
    assert.equal((await daemon.get('/model-copy-jobs/' + encodeURIComponent(arn))).status, 200);
  const confirm = await daemon.post('/v1/sync?full=true&wait=true');
  assert.equal(confirm.json.result, 'ok');
  assert.equal(confirm.json.changes.removed, 3);
  for (const arn of removed)
    assert.equal((await daemon.get('/model-copy-jobs/' + encodeURIComponent(arn))).status, 404);
});

test('copyjobd --once over plain HTTP syncs everything and exits 0; fails non-zero when AWS does', async () => {
  const truth = await fake.groundTruth();
  const once = await startDaemon({ endpoint: fake.http, args: ['--once'], wait: 'none' });
  const { code } = await once.exited;
  assert.equal(code, 0, once.log());
  assert.equal((await fake.admin('GET', '/stats')).badSignatures, 0);

  // With AWS failing, a daemon on that store can only answer from what --once stored.
  await fake.admin('POST', '/faults', { kind: 'status', status: 503, count: -1 });
  try {
    const served = await startDaemon({ endpoint: fake.http, stateDir: join(once.dir, 'state'),
      config: '[sync]\ninterval = 1h\n', wait: 'socket' });
    const { jobs } = await listAll(served, { sortOrder: 'Ascending' });
    assert.deepEqual(jobs, [...truth].sort(compareJobs));
    assert.equal(await served.stop(), 0);

    const failing = await startDaemon({ endpoint: fake.http, args: ['--once'], wait: 'none' });
    const res = await failing.exited;
    assert.notEqual(res.code, 0);
    assert.match(failing.log(), /ServiceUnavailableException/);
    await failing.stop();
  } finally {
    await fake.admin('DELETE', '/faults');
    await once.stop();
  }
});

test('--check-config prints the effective settings and never the secret', async () => {
  const d = await startDaemon({ endpoint: fake.https, caFile: fake.caFile, args: ['--check-config'], wait: 'none' });
  const { code } = await d.exited;
  assert.equal(code, 0, d.log());
  assert.match(d.log(), /endpoint = https:\/\/127\.0\.0\.1:\d+/);
  assert.match(d.log(), /source = environment/);
  assert.ok(!d.log().includes(TEST_SECRET_ACCESS_KEY));
  await d.stop();
  const bad = spawnSync(process.env.COPYJOBD, ['--config', '/nonexistent.conf', '--check-config']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.toString(), /nonexistent\.conf/);
});
