// GET /v1/events against the real daemon and the fake endpoint: the backlog after SEQ, live
// changes found by syncs, several watchers at once with one that never reads, seq across a
// restart, and the error answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, startFake, startDaemon } from './lib/harness.mjs';
import { openStream } from './lib/api-client.mjs';

const JOBS = 300;
let fake, daemon, stateDir;

before(async () => {
  requireEnv();
  stateDir = mkdtempSync(join(tmpdir(), 'cj-api-events-'));
  fake = await startFake({ jobs: JOBS, extraArgs: ['--https-port', '-1'] });
  daemon = await startDaemon({ endpoint: fake.http, stateDir });
});

after(async () => {
  if (daemon) assert.equal(await daemon.stop(), 0);
  if (fake) await fake.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function lastSeq() {
  const m = await daemon.get('/metrics');
  assert.equal(m.status, 200);
  return Number(/^copyjobd_events_last_seq (\d+)$/m.exec(m.body)[1]);
}

async function sync(full) {
  const res = await daemon.post(`/v1/sync?wait=true${full ? '&full=true' : ''}`);
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.result, 'ok', res.body);
  return res.json;
}

test('the backlog after SEQ: the first full sync created every job, in seq order', async () => {
  const last = await lastSeq();
  assert.ok(last >= JOBS, `last seq ${last}`);
  const truth = new Map((await fake.groundTruth()).map((j) => [j.jobArn, j]));

  const all = openStream(daemon.socket, '/v1/events?after=0');
  await all.ready;
  assert.equal(all.status, 200);
  assert.equal(all.headers['content-type'], 'application/x-ndjson');
  assert.equal(all.headers['transfer-encoding'], 'chunked');
  await all.waitLines(last, 'after=0');
  const events = all.events();
  events.forEach((e, i) => assert.equal(e.seq, i + 1));
  const created = events.filter((e) => e.type === 'created');
  assert.equal(new Set(created.map((e) => e.job.jobArn)).size, JOBS);
  for (const e of created) assert.deepEqual(e.job, truth.get(e.job.jobArn));
  all.close();

  const tail = openStream(daemon.socket, `/v1/events?after=${last - 5}`);
  await tail.waitLines(5, 'after=last-5');
  assert.deepEqual(tail.events().map((e) => e.seq), [1, 2, 3, 4, 5].map((k) => last - 5 + k));
  tail.close();
});

test('live changes: created, updated and removed reach every watcher; one that never reads stalls nobody', async () => {
  const start = await lastSeq();
  const watchers = [0, 1, 2].map(() => openStream(daemon.socket, `/v1/events?after=${start}`));
  const liveOnly = openStream(daemon.socket, '/v1/events');
  // Reads nothing at all: its socket buffers fill with the 1500 creations below.
  const stuck = openStream(daemon.socket, '/v1/events?after=0', { read: false });
  await Promise.all([...watchers, liveOnly, stuck].map((w) => w.ready));

  const added = (await fake.admin('POST', '/jobs/add', { count: 1500 })).jobs;
  await sync(false);
  // Finished among the new jobs, removed among the oldest: no job is both.
  const finished = (await fake.admin('POST', '/jobs/finish',
    { arns: added.slice(-4).map((j) => j.jobArn), status: 'Failed' })).jobs;
  const removed = (await fake.admin('POST', '/jobs/remove', { count: 3 })).removed;
  // `removed` comes with the removal: the second complete full pass that misses the jobs.
  await sync(true);
  const afterFirst = await lastSeq();
  await sync(true);

  // Queries are answered promptly while the stuck watcher holds its stream.
  for (let i = 0; i < 5; i++) {
    const res = await daemon.get('/model-copy-jobs?maxResults=10');
    assert.equal(res.status, 200);
    assert.equal((await daemon.get('/v1/stats')).status, 200);
  }

  const end = await lastSeq();
  assert.ok(end >= start + 1500 + 4 + 3, `seq ${start} -> ${end}`);
  for (const [i, w] of [...watchers, liveOnly].entries()) {
    await w.waitLines(end - start, `watcher ${i}`);
    const ev = w.events();
    ev.forEach((e, k) => assert.equal(e.seq, start + 1 + k, `watcher ${i}: seq in order`));
    const byArn = (type) => new Set(ev.filter((e) => e.type === type).map((e) => e.job.jobArn));
    for (const j of added) assert.ok(byArn('created').has(j.jobArn), `created ${j.jobArn}`);
    for (const j of finished) assert.ok(byArn('updated').has(j.jobArn), `updated ${j.jobArn}`);
    for (const arn of removed) assert.ok(byArn('removed').has(arn), `removed ${arn}`);
    for (const e of ev.filter((x) => x.type === 'removed'))
      assert.ok(e.seq > afterFirst, `removed ${e.job.jobArn} only by the second full pass`);
    const upd = ev.find((e) => e.type === 'updated' && e.job.jobArn === finished[0].jobArn);
    assert.equal(upd.job.status, 'Failed');
  }
  for (const w of [...watchers, liveOnly]) w.close();
  assert.ok(!stuck.ended, 'the stuck watcher is still connected');
  assert.ok(stuck.lines.length < end, 'the stuck watcher has not received everything');

  // It starts reading: it gets the whole log, in order.
  stuck.res.resume();
  await stuck.waitLines(end, 'the formerly stuck watcher');
  stuck.events().forEach((e, k) => assert.equal(e.seq, k + 1));
  stuck.close();
});

test('seq survives a restart: after=the last seen seq gives only newer events', async () => {
  const seen = await lastSeq();
  assert.equal(await daemon.stop(), 0);
  daemon = await startDaemon({ endpoint: fake.http, stateDir });
  // Health is ok at once from the stored sync time; let the startup pass end (joining it).
  // It changes nothing: no event.
  await sync(false);
  assert.equal(await lastSeq(), seen);

  const w = openStream(daemon.socket, `/v1/events?after=${seen}`);
  await w.ready;
  const added = (await fake.admin('POST', '/jobs/add', { count: 2 })).jobs;
  await sync(false);
  await w.waitLines(2, 'after the restart');
  assert.deepEqual(w.events().map((e) => [e.seq, e.type]), [[seen + 1, 'created'], [seen + 2, 'created']]);
  assert.deepEqual(new Set(w.events().map((e) => e.job.jobArn)), new Set(added.map((j) => j.jobArn)));
  // The id names the store and survives the restart too.
  w.events().forEach((e) => assert.match(e.id, new RegExp(`^[0-9a-f]{32}-${e.seq}$`)));
  w.close();
});

test('a store wiped and rebuilt: resuming with the old id gets the gap line, a plain seq does not', async () => {
  const probe = openStream(daemon.socket, '/v1/events?after=4');
  await probe.waitLines(1, 'the old store');
  const oldId = probe.lines[0].id;
  probe.close();
  assert.match(oldId, /^[0-9a-f]{32}-5$/);
  const oldStore = oldId.slice(0, 32);

  // The operator deletes the cache; the next start builds it again from AWS with new seqs.
  assert.equal(await daemon.stop(), 0);
  rmSync(stateDir, { recursive: true, force: true });
  stateDir = mkdtempSync(join(tmpdir(), 'cj-api-events-'));
  daemon = await startDaemon({ endpoint: fake.http, stateDir });
  assert.ok(await lastSeq() > 10);

  const resumed = openStream(daemon.socket, `/v1/events?after=${oldId}`);
  await resumed.waitLines(2, 'resumed with the old store id');
  assert.deepEqual(resumed.lines[0], { type: 'gap', after: 5, firstSeq: 1 });
  assert.equal(resumed.lines[1].seq, 1);
  assert.notEqual(resumed.lines[1].id.slice(0, 32), oldStore);
  resumed.close();

  // A client that sends only the seq is served as before (the id is what tells the stores apart).
  const plain = openStream(daemon.socket, '/v1/events?after=5');
  await plain.waitLines(1, 'plain after');
  assert.equal(plain.lines[0].seq, 6);
  plain.close();
});

test('errors: a bad or repeated after is a ValidationException; other methods 405', async () => {
  for (const q of ['after=x', 'after=-1', 'after=', 'after=1&after=2', 'after=18446744073709551616']) {
    const res = await daemon.get(`/v1/events?${q}`);
    assert.equal(res.status, 400, q);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
    assert.match(res.json.message, /^after: /);
  }
  const post = await daemon.post('/v1/events');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
  assert.equal(post.headers['x-amzn-errortype'], 'ValidationException');
  const none = await daemon.get('/v1/eventz');
  assert.equal(none.status, 404);
  assert.equal(none.headers['x-amzn-errortype'], 'ResourceNotFoundException');
});
