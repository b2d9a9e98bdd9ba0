// Crash safety of the store: copyjobd is killed with SIGKILL at random
// moments (seeded) while it syncs 50,000 jobs in pages of 500 (100 write transactions a
// pass), with the fake's jobs changing between rounds. After every kill the store must pass
// `copyjobd --verify-store` (rows, indexes, counters and change log agree), hold no job the
// fake never had, and still hold every job it held before that the fake still has. At the end
// two uninterrupted full syncs make it match the fake exactly (the second confirms what the
// first found gone).
//
// The store is read between rounds by a second copyjobd on the same state directory whose
// endpoint refuses connections, so it never writes: it only serves what the killed ones left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, startFake, startDaemon, compareJobs, rng } from './lib/harness.mjs';
import { FakeModel, runCopyjobd, storedJobs, verifyStore, writeConfig, SANITIZED } from './lib/store-helpers.mjs';

const JOBS = 50000;
const KILLS = 30;
const MAX_EVENTS = 50000; // the first load alone fills the log: every round trims it
// The log keeps the newest MAX_EVENTS at least, in two generations of which the newer holds
// fewer than MAX_EVENTS and the older at most that and one write's events (a page of 500).
const LOG_MAX = 2 * MAX_EVENTS + 500;

let fake, reader, work;

before(async () => {
  requireEnv();
  work = mkdtempSync(join(tmpdir(), 'cj-store-crash-'));
  const t0 = Date.now();
  fake = await startFake({ jobs: JOBS });
  // The fake builds 50,000 jobs at start; a slow start would eat the test's budget.
  console.log(`# fake with ${JOBS} jobs ready in ${Date.now() - t0} ms`);
});

after(async () => {
  await reader?.stop();
  await fake?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// Small random changes, and now and then a large batch so that kills also land in pages
// with many updates.
async function changeFake(model, rand, round) {
  const big = round % 6 === 5;
  const added = await model.add(big ? 300 : 1 + Math.floor(rand() * 5));
  const inProgress = model.pick(big ? 200 : Math.floor(rand() * 4), rand, (j) => j.status === 'InProgress');
  await model.finish(inProgress, rand() < 0.7 ? 'Completed' : 'Failed');
  // Never the jobs just added: removing those says nothing about the store.
  const fresh = new Set(added.map((j) => j.jobArn));
  const gone = model.pick(big ? 200 : Math.floor(rand() * 4), rand, (j) => !fresh.has(j.jobArn));
  await model.remove(gone);
}

test(`${KILLS} kill -9 during syncs of ${JOBS} jobs leave a consistent store that loses nothing`, async () => {
  const rand = rng(0xc0ffee);
  const stateDir = join(work, 'state');
  const config = writeConfig(work, {
    endpoint: fake.http, stateDir,
    store: ['max_size = 1G', `max_events = ${MAX_EVENTS}`],
    lines: ['[sync]', 'page_size = 500', 'max_requests_per_second = 1000', 'interval = 7d', 'full_interval = 7d'],
  });
  const model = new FakeModel(fake, await fake.groundTruth());
  assert.equal(model.jobs.size, JOBS);

  // The first full load, uninterrupted: its duration calibrates the kill moments.
  const load = await runCopyjobd(['--config', config, '--once'], { timeoutMs: SANITIZED ? 600000 : 180000 });
  assert.equal(load.code, 0, `the first full sync succeeds:\n${load.log}`);
  reader = await startDaemon({
    endpoint: 'http://127.0.0.1:1', stateDir, wait: 'socket',
    config: ['[sync]', 'interval = 7d', 'full_interval = 7d', '[store]', `max_events = ${MAX_EVENTS}`].join('\n'),
  });
  let stored = await storedJobs(reader);
  assert.equal(stored.size, JOBS);
  let v = await verifyStore(config);
  assert.ok(v.ok, `verify after the first load: ${v.output}`);
  assert.equal(v.jobs, JOBS);
  assert.ok(v.events >= MAX_EVENTS && v.events <= LOG_MAX, `the change log keeps ${v.events}`);
  let lastSeq = v.last;

  let duration = load.ms; // of the latest uninterrupted sync; kills land in [0, duration)
  let kills = 0, completed = 0, round = 0;
  while (kills < KILLS) {
    assert.ok(round < 3 * KILLS, `at most ${3 * KILLS} rounds to land ${KILLS} kills (landed ${kills})`);
    await changeFake(model, rand, round++);

    const killAfterMs = Math.floor(rand() * duration);
    const run = await runCopyjobd(['--config', config, '--once'], { killAfterMs, timeoutMs: 300000 });
    if (run.killed) kills++;
    else {
      assert.equal(run.code, 0, `an uninterrupted sync succeeds:\n${run.log}`);
      completed++;
      duration = run.ms;
    }

    v = await verifyStore(config);
    assert.ok(v.ok, `round ${round} (killed after ${killAfterMs} ms: ${run.killed}): ${v.output}`);
    assert.ok(v.last >= lastSeq, `the change log's seq never goes back (${lastSeq} -> ${v.last})`);
    assert.ok(v.events >= MAX_EVENTS && v.events <= LOG_MAX, `the change log keeps ${v.events}`);
    lastSeq = v.last;

    const now = await storedJobs(reader);
    assert.equal(now.size, v.jobs, 'the rows served are the rows verified');
    for (const [arn, job] of now) {
      const statuses = model.everStatuses.get(arn);
      assert.ok(statuses, `round ${round}: the store has ${arn}, which the fake never had`);
      assert.ok(statuses.has(job.status), `round ${round}: ${arn} is ${job.status}, a status it never had`);
    }
    for (const arn of stored.keys())
      if (model.jobs.has(arn)) assert.ok(now.has(arn), `round ${round}: lost ${arn}, which the fake still has`);
    stored = now;
  }
  console.log(`# ${kills} kills and ${completed} completed syncs in ${round} rounds; seq ${lastSeq}`);

  // Two uninterrupted full syncs (a job goes when two complete passes in a row missed it):
  // exactly the fake's jobs, field for field.
  for (let i = 0; i < 2; i++) {
    const last = await runCopyjobd(['--config', config, '--once'], { timeoutMs: 300000 });
    assert.equal(last.code, 0, `the final full sync succeeds:\n${last.log}`);
  }
  v = await verifyStore(config);
  assert.ok(v.ok, v.output);
  const truth = await fake.groundTruth();
  assert.equal(truth.length, model.jobs.size, 'the test tracked the fake correctly');
  const served = [...(await storedJobs(reader)).values()].sort(compareJobs);
  assert.equal(served.length, truth.length);
  assert.deepEqual(served, [...truth].sort(compareJobs));
  const stats = (await reader.get('/v1/stats')).json;
  assert.equal(stats.total, truth.length);
  for (const s of ['InProgress', 'Completed', 'Failed'])
    assert.equal(stats.byStatus[s], truth.filter((j) => j.status === s).length, `${s} count`);

  // After all that churn, --compact-store: refused while a daemon has the store open, then,
  // once it is stopped, a smaller file with the same jobs that verifies.
  const busy = await runCopyjobd(['--config', config, '--compact-store'], { timeoutMs: 120000 });
  assert.equal(busy.code, 1, `compacting beside a running daemon is refused:\n${busy.log}`);
  assert.match(busy.log, /open in another process/);
  await reader.stop();
  reader = null;
  const compact = await runCopyjobd(['--config', config, '--compact-store'], { timeoutMs: 120000 });
  assert.equal(compact.code, 0, compact.log);
  const sizes = /store compacted: (\d+) KiB -> (\d+) KiB on disk/.exec(compact.log);
  assert.ok(sizes && Number(sizes[2]) < Number(sizes[1]), compact.log);
  const after = await verifyStore(config);
  assert.ok(after.ok, after.output);
  assert.equal(after.jobs, truth.length);
  assert.equal(after.last, v.last, 'the change log goes on where it was');
});
