// Data that AWS lists is never lost: a summary outside the service model (an unknown
// status, a failureMessage past 2048 characters) is kept and served exactly as sent; one
// that cannot be stored is still counted as listed, so no pass removes its cached copy; a
// job is removed only after two complete full passes in a row missed it; and a listing that
// would remove too much removes nothing, says so in the journal and in /v1/health.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { requireEnv, waitFor } from './lib/harness.mjs';
import { startPair, stopPair, syncNow, health } from './lib/sync-helpers.mjs';

let pair;

before(async () => {
  requireEnv();
  pair = await startPair({ jobs: 300, seed: 21 });
});

after(async () => {
  await stopPair(pair);
});

const get = (arn) => pair.daemon.get('/model-copy-jobs/' + encodeURIComponent(arn));
const count = (text, needle) => text.split(needle).length - 1;

async function update(arn, fields) {
  return (await pair.fake.admin('POST', '/jobs/update', { arn, fields, unchecked: true })).job;
}

test('an unknown status and an over-long failureMessage are kept, served as sent, counted and noted once', async () => {
  const { fake, daemon } = pair;
  const [a, b] = (await fake.admin('POST', '/jobs/add', { count: 2, status: 'Completed' })).jobs;
  assert.equal((await syncNow(daemon, { full: true })).result, 'ok');

  const stopped = await update(a.jobArn, { status: 'Stopped' });
  const longMessage = await update(b.jobArn, { status: 'Failed', failureMessage: 'x'.repeat(2049) });
  const logBefore = daemon.log().length;
  for (let i = 0; i < 3; i++) {
    const full = await syncNow(daemon, { full: true });
    assert.equal(full.result, 'ok', JSON.stringify(full.error));
    assert.equal(full.changes.removed, 0);
  }
  for (const job of [stopped, longMessage]) {
    const res = await get(job.jobArn);
    assert.equal(res.status, 200, `${job.jobArn} is still served`);
    assert.deepEqual(res.json, job, 'served exactly as the service sent it');
  }
  const listed = (await daemon.get('/model-copy-jobs?maxResults=1000')).json.modelCopyJobSummaries;
  assert.ok(listed.some((j) => j.jobArn === a.jobArn && j.status === 'Stopped'));

  // Counted under its own name; statusEquals still takes only the three Bedrock accepts.
  const stats = (await daemon.get('/v1/stats')).json;
  assert.equal(stats.byStatus.Stopped, 1);
  const sum = Object.values(stats.byStatus).reduce((x, y) => x + y, 0);
  assert.equal(sum, stats.total);
  const bad = await daemon.get('/model-copy-jobs?statusEquals=Stopped');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers['x-amzn-errortype'], 'ValidationException');

  // Noted once per change of the stored bytes, not on every pass that lists the job.
  const log = daemon.log().slice(logBefore);
  assert.equal(count(log, `${a.jobArn} breaks the service model and is kept as sent: status`), 1, log);
  assert.equal(count(log, `${b.jobArn} breaks the service model and is kept as sent: failureMessage`), 1, log);
  assert.equal(count(log, 'Skipping model copy job summary'), 0);
});

test('a job cached as InProgress that comes back with an unknown status: every quick pass succeeds', async () => {
  const { fake, daemon } = pair;
  const [job] = (await fake.admin('POST', '/jobs/add', { count: 1, status: 'InProgress' })).jobs;
  assert.equal((await syncNow(daemon)).result, 'ok');
  assert.equal((await get(job.jobArn)).json.status, 'InProgress');

  // No longer InProgress: the quick pass fetches it by GetModelCopyJob.
  const paused = await update(job.jobArn, { status: 'Paused' });
  for (let i = 0; i < 3; i++) {
    const quick = await syncNow(daemon);
    assert.equal(quick.result, 'ok', JSON.stringify(quick.error));
  }
  assert.deepEqual((await get(job.jobArn)).json, paused);
  const h = await health(daemon);
  assert.equal(h.state, 'ok', JSON.stringify(h));
  assert.equal((await daemon.get('/v1/stats')).json.byStatus.Paused, 1);
});

test('a summary that cannot be stored still counts as listed: its cached copy is never removed', async () => {
  const { fake, daemon } = pair;
  const [job] = (await fake.admin('POST', '/jobs/add', { count: 1, status: 'Completed' })).jobs;
  assert.equal((await syncNow(daemon, { full: true })).result, 'ok');
  const cached = (await get(job.jobArn)).json;

  // A sourceAccountId that cannot be indexed: the summary is refused, the job still listed.
  await update(job.jobArn, { sourceAccountId: 'not-an-account' });
  for (let i = 0; i < 3; i++) {
    const full = await syncNow(daemon, { full: true });
    assert.equal(full.result, 'ok');
    assert.equal(full.changes.removed, 0);
  }
  const res = await get(job.jobArn);
  assert.equal(res.status, 200, 'still cached after three complete passes');
  assert.deepEqual(res.json, cached, 'the last copy that could be stored');
  assert.match(daemon.log(), new RegExp(`Skipping model copy job summary \\d+ \\(jobArn ${job.jobArn}\\): sourceAccountId`));
});

test('removal needs two complete passes; a listing that loses too much removes nothing until the guard lets it', async () => {
  const { fake, daemon } = pair;
  assert.equal((await syncNow(daemon, { full: true })).result, 'ok');
  const total = (await daemon.get('/v1/stats')).json.total;

  // A few gone: the first complete pass notes them, the second removes them.
  const few = (await fake.admin('POST', '/jobs/remove', { count: 3 })).removed;
  const first = await syncNow(daemon, { full: true });
  assert.equal(first.changes.removed, 0);
  for (const arn of few) assert.equal((await get(arn)).status, 200);
  const second = await syncNow(daemon, { full: true });
  assert.equal(second.changes.removed, 3);
  for (const arn of few) assert.equal((await get(arn)).status, 404);

  // 40 of ~300 gone (more than 10 jobs and more than 10 %): held.
  const many = (await fake.admin('POST', '/jobs/remove', { count: 40 })).removed;
  assert.equal((await syncNow(daemon, { full: true })).changes.removed, 0);
  const held = await syncNow(daemon, { full: true });
  assert.equal(held.result, 'ok');
  assert.equal(held.changes.removed, 0);
  for (const arn of many) assert.equal((await get(arn)).status, 200, `${arn} held`);
  const h = await health(daemon);
  assert.equal(h.state, 'degraded');
  assert.equal(h.status, 503);
  assert.equal(h.lastError.type, 'RemovalGuard');
  assert.match(h.lastError.message, new RegExp(`would have removed 40 of ${total - 3} jobs`));
  assert.match(daemon.log(), /would remove 40 of \d+ jobs, more than sync.max_removal_share \(10.00%\)/);
  // A quick pass does not clear it: only a full pass the guard lets through does. (It does
  // remove, at once, those of the 40 that were InProgress: GetModelCopyJob says 404.)
  const quick = await syncNow(daemon);
  assert.equal(quick.result, 'ok');
  assert.equal((await health(daemon)).lastError?.type, 'RemovalGuard');

  // The operator raises the share: the next complete pass removes them, health is ok.
  const config = readFileSync(daemon.configPath, 'utf8') + '\n[sync]\nmax_removal_share = 50%\n';
  writeFileSync(daemon.configPath, config);
  const logBefore = daemon.log().length;
  daemon.proc.kill('SIGHUP');
  await waitFor('the reload', () => /reloaded configuration/.test(daemon.log().slice(logBefore)), 20000);
  const through = await syncNow(daemon, { full: true });
  assert.equal(through.result, 'ok');
  assert.equal(quick.changes.removed + through.changes.removed, 40);
  for (const arn of many) assert.equal((await get(arn)).status, 404);
  const ok = await health(daemon);
  assert.equal(ok.state, 'ok', JSON.stringify(ok));
  assert.equal(ok.lastError, null);
});
