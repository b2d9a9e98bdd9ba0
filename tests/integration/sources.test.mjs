// Three sources in one daemon, against a fake with a data set per (account, region): two
// regions of the caller's account through `[aws] regions`, one partner account through
// `[source.partner]` with role_arn + external_id. One store holds them all; every filter
// combination (jobRegionEquals / jobAccountEquals included) and the official SDK's paginator
// over the union match the fake's ground truth; a fault aimed at one source degrades only it
// while the others keep changing and stay exact; a removal in one source leaves the others
// alone; Age / x-copyjobd-synced-at follow the sources an answer covers; the sources' passes
// overlap in time; AssumeRole is called once per credential lifetime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { requireEnv, startFake, listAll, expectedList, compareJobs, rng, sleep, waitFor } from './lib/harness.mjs';
import { FAST_RETRY_ENV } from './lib/sync-helpers.mjs';
import { SOURCE_DIR, freePort } from './lib/systemd-helpers.mjs';
import { arnParts, truthOf, unionTruth, requestsOf, span, allOverlap, startSourcesDaemon } from './lib/sources-helpers.mjs';

const PARTNER = '210987654321';
const PARTNER_ROLE = `arn:aws:iam::${PARTNER}:role/copyjobd-reader`;
const EXTERNAL_ID = 'cj-ext-0042';
const JOBS = 400;

let fake, daemon, caller, sources, port;

const SDK_DIR = join(SOURCE_DIR, 'tests/sdk');
const noSdk = existsSync(join(SDK_DIR, 'node_modules/@aws-sdk/client-bedrock')) ? false
  : 'tests/sdk has no node_modules: run `npm ci` there (scripts/setup does)';

function configFor({ role = PARTNER_ROLE, tcpPort } = {}) {
  return [
    '[aws]', 'regions = us-east-1, us-west-2', `endpoint = ${fake.http}`,
    '[source.partner]', 'region = us-east-1', `role_arn = ${role}`, `external_id = ${EXTERNAL_ID}`,
    'role_session_name = cj-sources', `endpoint = ${fake.http}`,
    // Syncs are driven by the tests; pages small enough that every pass has several.
    '[sync]', 'interval = 1h', 'full_interval = 1h', 'page_size = 100', 'timeout = 10s',
    'max_requests_per_second = 50', 'min_on_demand_interval = 0',
    ...(tcpPort ? ['[server]', `listen_tcp = 127.0.0.1:${tcpPort}`] : []),
  ].join('\n');
}

const byName = () => Object.fromEntries(sources.map((s) => [s.name, s]));

// Every source's cached jobs, through the indexed filters, equal its data set at the fake.
async function assertSourceExact(s, what) {
  const cached = (await listAll(daemon, { jobRegionEquals: s.region, jobAccountEquals: s.account, sortOrder: 'Ascending' })).jobs;
  const truth = await truthOf(fake, s.account, s.region);
  assert.deepEqual(cached.map((j) => j.jobArn), truth.map((j) => j.jobArn), `${what}: ${s.name} has the same jobs`);
  assert.deepEqual(cached, truth, `${what}: ${s.name} has the same fields`);
}

async function isExact(s) {
  const cached = (await listAll(daemon, { jobRegionEquals: s.region, jobAccountEquals: s.account, sortOrder: 'Ascending' })).jobs;
  const truth = await truthOf(fake, s.account, s.region);
  return JSON.stringify(cached) === JSON.stringify(truth);
}

async function assertUnionExact(what) {
  const cached = (await listAll(daemon, { sortOrder: 'Ascending' })).jobs;
  const truth = await unionTruth(fake, sources);
  assert.deepEqual(cached.map((j) => j.jobArn), truth.map((j) => j.jobArn), `${what}: the union`);
  assert.deepEqual(cached, truth, `${what}: the union's fields`);
}

// Starts a sync of every source; its answer may report a failing source, so only the
// exchange itself is checked here.
async function syncAll({ full = false } = {}) {
  const res = await daemon.post(`/v1/sync?wait=true${full ? '&full=true' : ''}`);
  assert.ok(res.status === 200 || res.status === 202 || res.status >= 500, `sync answered ${res.status}: ${res.body}`);
  return res;
}

async function changeEverySource(n = 1) {
  for (const s of sources) {
    const q = `?account=${s.account}&region=${s.region}`;
    await fake.admin('POST', `/jobs/finish${q}`, { count: n });
    await fake.admin('POST', `/jobs/add${q}`, { count: n });
  }
}

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: JOBS, seed: 11, extraArgs: ['--regions', 'us-east-1,us-west-2', '--accounts', PARTNER] });
  caller = (await fake.admin('GET', '/info')).account;
  sources = [
    { name: 'us-east-1', account: caller, region: 'us-east-1' },
    { name: 'us-west-2', account: caller, region: 'us-west-2' },
    { name: 'partner', account: PARTNER, region: 'us-east-1' },
  ];
  await fake.admin('POST', '/sts/roles', { roleArn: PARTNER_ROLE, externalId: EXTERNAL_ID });
  await fake.admin('POST', '/sts/calls/reset');
  port = await freePort();
  daemon = await startSourcesDaemon({ fake, config: configFor({ tcpPort: port }), env: FAST_RETRY_ENV });
});

after(async () => {
  if (daemon) await daemon.stop();
  if (fake) await fake.stop();
});

test('three sources sync into one store; stats and health per source', async () => {
  const union = await unionTruth(fake, sources);
  assert.equal(union.length, 3 * JOBS);
  assert.equal(new Set(union.map((j) => j.jobArn)).size, union.length, 'the data sets share no job');
  await assertUnionExact('after the first round');
  for (const s of sources) await assertSourceExact(s, 'after the first round');

  const stats = (await daemon.get('/v1/stats')).json;
  assert.equal(stats.total, union.length);
  assert.deepEqual(Object.keys(stats.sources).sort(), sources.map((s) => s.name).sort());
  for (const s of sources) {
    const st = stats.sources[s.name];
    const truth = await truthOf(fake, s.account, s.region);
    assert.equal(st.region, s.region, `${s.name} region`);
    assert.equal(st.account, s.account, `${s.name} account`);
    assert.equal(st.total, truth.length, `${s.name} total`);
    for (const status of ['InProgress', 'Completed', 'Failed'])
      assert.equal(st.byStatus[status] ?? 0, truth.filter((j) => j.status === status).length, `${s.name} ${status}`);
    assert.ok(!Number.isNaN(Date.parse(st.lastSuccessfulSync)), `${s.name} lastSuccessfulSync`);
  }
  for (const status of ['InProgress', 'Completed', 'Failed'])
    assert.equal(stats.byStatus[status] ?? 0, union.filter((j) => j.status === status).length, status);

  const h = await daemon.get('/v1/health');
  assert.equal(h.status, 200);
  assert.equal(h.json.state, 'ok');
  assert.equal(h.json.jobs, union.length);
  for (const s of sources) {
    assert.equal(h.json.sources[s.name].state, 'ok', s.name);
    assert.equal(h.json.sources[s.name].jobs, JOBS, s.name);
  }
});

function ctl(...args) {
  const r = spawnSync(process.env.COPYJOBCTL, ['--socket', daemon.socket, ...args],
    { encoding: 'utf8', timeout: 30000, env: { PATH: process.env.PATH, COLUMNS: '200' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('copyjobctl: list --region and --job-account, stats and health per source', { skip: !process.env.COPYJOBCTL && 'COPYJOBCTL is not set' }, async () => {
  const partner = byName().partner;
  const truth = await truthOf(fake, partner.account, partner.region);
  const listed = ctl('list', '--region', partner.region, '--job-account', partner.account, '--all', '--output', 'ndjson');
  assert.equal(listed.code, 0, listed.err);
  const arns = listed.out.trim().split('\n').map((l) => JSON.parse(l).jobArn);
  assert.deepEqual(arns.sort(), truth.map((j) => j.jobArn).sort(), 'the partner source\'s jobs, and only they');
  const west = ctl('list', '--region', 'us-west-2', '--all', '--output', 'ndjson');
  assert.equal(west.code, 0, west.err);
  assert.equal(west.out.trim().split('\n').length, JOBS);
  for (const line of west.out.trim().split('\n')) assert.equal(arnParts(JSON.parse(line).jobArn).region, 'us-west-2');
  for (const [args, re] of [[['--region', 'US-EAST-1'], /--region must be an AWS region name/],
    [['--job-account', '12345'], /--job-account must be a 12-digit AWS account id/]]) {
    const bad = ctl('list', ...args);
    assert.equal(bad.code, 64, `${args}: ${bad.err}`);
    assert.match(bad.err, re);
  }

  const stats = ctl('stats');
  assert.equal(stats.code, 0, stats.err);
  assert.match(stats.out, /^SOURCE +REGION +ACCOUNT +JOBS +IN PROGRESS +COMPLETED +FAILED/m);
  for (const s of sources) {
    const st = await truthOf(fake, s.account, s.region);
    const row = stats.out.split('\n').find((l) => l.startsWith(`${s.name} `));
    assert.ok(row, `a row for ${s.name}: ${stats.out}`);
    assert.deepEqual(row.split(/ {2,}/).slice(0, 7), [s.name, s.region, s.account, String(st.length),
      ...['InProgress', 'Completed', 'Failed'].map((x) => String(st.filter((j) => j.status === x).length))]);
  }
  const health = ctl('health');
  assert.equal(health.code, 0, health.err);
  for (const s of sources) assert.match(health.out, new RegExp(`^${s.name} +ok +${JOBS} `, 'm'));
});

test('every filter combination over the union, jobRegionEquals and jobAccountEquals included', async () => {
  const union = await unionTruth(fake, sources);
  const rand = rng(1212);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const sorted = [...union].sort(compareJobs);
  const failed = union.filter((j) => j.status === 'Failed');
  const bases = [
    {},
    { statusEquals: 'InProgress' },
    { statusEquals: 'Failed' },
    { sourceAccountEquals: pick(union).sourceAccountId },
    { sourceModelArnEquals: pick(union).sourceModelArn },
    { outputModelNameContains: 'summarizer' },
    { creationTimeAfter: sorted[Math.floor(sorted.length / 3)].creationTime },
    { creationTimeBefore: sorted[Math.floor((sorted.length * 2) / 3)].creationTime },
    { creationTimeAfter: sorted[100].creationTime, creationTimeBefore: sorted[sorted.length - 100].creationTime, statusEquals: 'Completed' },
    { statusEquals: 'Failed', sourceAccountEquals: pick(failed).sourceAccountId, outputModelNameContains: 'er-' },
  ];
  const regions = [undefined, 'us-east-1', 'us-west-2', 'eu-west-1'];
  const accounts = [undefined, caller, PARTNER, '999999999999'];
  let nonEmpty = 0, cases = 0;
  for (const base of bases) {
    for (const jobRegionEquals of regions) {
      for (const jobAccountEquals of accounts) {
        const sortOrder = pick(['Ascending', 'Descending']);
        const q = { ...base, sortOrder, maxResults: String(pick([7, 50, 333, 1000])) };
        if (jobRegionEquals) q.jobRegionEquals = jobRegionEquals;
        if (jobAccountEquals) q.jobAccountEquals = jobAccountEquals;
        const want = expectedList(union.filter((j) => {
          const p = arnParts(j.jobArn);
          return (!jobRegionEquals || p.region === jobRegionEquals) && (!jobAccountEquals || p.account === jobAccountEquals);
        }), q);
        const got = (await listAll(daemon, q)).jobs;
        assert.deepEqual(got.map((j) => j.jobArn), want.map((j) => j.jobArn), JSON.stringify(q));
        cases++;
        if (want.length) nonEmpty++;
      }
    }
  }
  // 8 of the 16 region x account pairs can hold jobs (3 sources, and the filters left out):
  // most of those must match, or the comparison proves little.
  assert.ok(nonEmpty >= cases / 3, `${nonEmpty} of ${cases} cases match some job`);
  // The account and region filters are exact: a source's jobs, and no other's.
  for (const s of sources) {
    const got = (await listAll(daemon, { jobRegionEquals: s.region, jobAccountEquals: s.account })).jobs;
    assert.equal(got.length, JOBS, s.name);
  }
  // A repeated key is a ValidationException, as for Bedrock's own keys.
  const rep = await daemon.get('/model-copy-jobs?jobRegionEquals=us-east-1&jobRegionEquals=us-west-2');
  assert.equal(rep.status, 400);
  assert.equal(rep.headers['x-amzn-errortype'], 'ValidationException');
  assert.match(rep.json.message, /jobRegionEquals/);
});

test('the official SDK paginator over the union', { skip: noSdk }, async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const require = createRequire(join(SDK_DIR, 'package.json'));
  const sdk = await import(require.resolve('@aws-sdk/client-bedrock'));
  const client = new sdk.BedrockClient({
    region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDNOTCHECKED000000', secretAccessKey: 'not-checked-by-copyjobd' },
  });
  try {
    const union = await unionTruth(fake, sources);
    const cases = [
      [{}, 1000],
      [{}, 77],
      [{ statusEquals: 'Completed', sortOrder: 'Ascending' }, 100],
      [{ sourceAccountEquals: union[5].sourceAccountId }, 20],
    ];
    for (const [input, pageSize] of cases) {
      const want = expectedList(union, input).map((j) => j.jobArn);
      const got = [];
      let pages = 0;
      for await (const page of sdk.paginateListModelCopyJobs({ client, pageSize }, { ...input })) {
        got.push(...page.modelCopyJobSummaries.map((s) => s.jobArn));
        assert.ok(++pages < 1000, 'the paginator never ends');
      }
      assert.deepEqual(got, want, JSON.stringify(input));
      // Each data set draws its own source accounts, so only the other cases span all three.
      if (!input.sourceAccountEquals) {
        const sourcesSeen = new Set(got.map((a) => JSON.stringify(arnParts(a))));
        assert.equal(sourcesSeen.size, 3, `${JSON.stringify(input)} spans the three sources`);
      }
    }
    const one = (await truthOf(fake, PARTNER, 'us-east-1'))[9];
    const got = await client.send(new sdk.GetModelCopyJobCommand({ jobArn: one.jobArn }));
    assert.equal(got.jobArn, one.jobArn);
    assert.equal(got.targetModelArn, one.targetModelArn);
  } finally {
    client.destroy();
  }
});

test('the sources pass concurrently: their requests overlap in time', async () => {
  // Every answer takes 300 ms: passes one after another would not overlap at all.
  await fake.admin('POST', '/stats/reset');
  await fake.admin('POST', '/faults', { kind: 'delay', delayMs: 300, count: -1 });
  try {
    await syncAll({ full: true });
  } finally {
    await fake.admin('DELETE', '/faults');
  }
  const spans = [];
  for (const s of sources) {
    const log = (await requestsOf(fake, s.account, s.region)).filter((e) => e.operation === 'ListModelCopyJobs');
    assert.ok(log.length >= Math.ceil(JOBS / 100), `${s.name}: a full pass of ${log.length} pages`);
    spans.push(span(log));
  }
  assert.ok(allOverlap(spans), `the passes overlap: ${JSON.stringify(spans)}`);
});

test('a fault aimed at one source: it alone degrades, the others stay exact, all exact after', async () => {
  const failing = byName()['us-west-2'];
  const others = sources.filter((s) => s !== failing);
  await syncAll();
  for (const s of sources) await assertSourceExact(s, 'before the fault');
  const frozen = await truthOf(fake, failing.account, failing.region);
  const healthBefore = (await daemon.get('/v1/health')).json;

  await fake.admin('POST', '/faults', { kind: 'status', status: 503, count: -1, account: failing.account, region: failing.region });
  try {
    for (let round = 0; round < 3; round++) {
      await changeEverySource(2);
      await syncAll({ full: round === 2 });
      // The others caught up with their changes while the failing one could not.
      for (const s of others) await waitFor(`${s.name} exact in round ${round}`, () => isExact(s), 30000, 200);
      for (const s of others) await assertSourceExact(s, `round ${round}`);
      const h = await waitFor('health to name the failing source', async () => {
        const r = await daemon.get('/v1/health');
        return r.json.sources?.[failing.name]?.state !== 'ok' && r.json.sources[failing.name].lastError ? r : false;
      }, 30000, 200);
      assert.equal(h.status, 503);
      assert.equal(h.json.state, 'degraded');
      assert.match(JSON.stringify(h.json.sources[failing.name].lastError), /ServiceUnavailable|503/);
      for (const s of others) assert.equal(h.json.sources[s.name].state, 'ok', `${s.name} stays ok`);
      assert.equal(h.json.sources[failing.name].lastSuccessfulSync, healthBefore.sources[failing.name].lastSuccessfulSync);
      // What the failing source had stays served, unchanged.
      const kept = (await listAll(daemon, { jobRegionEquals: failing.region, jobAccountEquals: failing.account, sortOrder: 'Ascending' })).jobs;
      assert.deepEqual(kept, frozen, `round ${round}: the failing source's jobs are kept as they were`);
    }
  } finally {
    await fake.admin('DELETE', '/faults');
  }
  await syncAll();
  await waitFor('health ok after the fault clears', async () => {
    const r = await daemon.get('/v1/health');
    return r.status === 200 && r.json.state === 'ok';
  }, 60000, 200);
  for (const s of sources) await waitFor(`${s.name} exact after the fault`, () => isExact(s), 30000, 200);
  await assertUnionExact('after the fault cleared');
});

test('Age and x-copyjobd-synced-at take the oldest sync among the sources an answer covers', async () => {
  const stale = byName()['us-west-2'];
  await syncAll();
  await sleep(2500); // whole seconds apart, as Age counts
  await fake.admin('POST', '/faults', { kind: 'status', status: 500, count: -1, account: stale.account, region: stale.region });
  try {
    await syncAll();
    const h = await waitFor('the other sources to sync again', async () => {
      const r = (await daemon.get('/v1/health')).json;
      const t = (n) => Date.parse(r.sources[n].lastSuccessfulSync);
      return t('us-east-1') - t('us-west-2') >= 2000 && t('partner') - t('us-west-2') >= 2000 && r.sources[stale.name].lastError ? r : false;
    }, 30000, 200);
    const at = (name) => Date.parse(h.sources[name].lastSuccessfulSync);
    const cases = [
      [{}, ['us-east-1', 'us-west-2', 'partner']],
      [{ jobRegionEquals: 'us-west-2' }, ['us-west-2']],
      [{ jobRegionEquals: 'us-east-1' }, ['us-east-1', 'partner']],
      [{ jobAccountEquals: PARTNER }, ['partner']],
      [{ jobAccountEquals: caller }, ['us-east-1', 'us-west-2']],
      [{ jobAccountEquals: caller, jobRegionEquals: 'us-east-1' }, ['us-east-1']],
      [{ jobRegionEquals: 'us-east-1', statusEquals: 'Failed' }, ['us-east-1', 'partner']],
    ];
    for (const [q, covered] of cases) {
      const res = await daemon.get(`/model-copy-jobs?${new URLSearchParams({ ...q, maxResults: '5' })}`);
      assert.equal(res.status, 200, res.body);
      const want = Math.min(...covered.map(at));
      const syncedAt = Date.parse(res.headers['x-copyjobd-synced-at']);
      assert.ok(Math.abs(syncedAt - want) < 1000, `${JSON.stringify(q)}: synced-at ${res.headers['x-copyjobd-synced-at']}, want the oldest of ${covered}`);
      const age = Number(res.headers.age);
      const wantAge = (Date.now() - want) / 1000;
      assert.ok(Number.isInteger(age) && age >= Math.floor(wantAge) - 1 && age <= Math.ceil(wantAge) + 1, `${JSON.stringify(q)}: Age ${age}, want ~${wantAge}`);
    }
  } finally {
    await fake.admin('DELETE', '/faults');
  }
  await syncAll();
  await waitFor('health ok again', async () => (await daemon.get('/v1/health')).status === 200, 60000, 200);
});

test('a removal in one source leaves the others untouched', async () => {
  const partner = byName().partner;
  const others = sources.filter((s) => s !== partner);
  await syncAll({ full: true });
  const othersBefore = {};
  for (const s of others) {
    othersBefore[s.name] = (await listAll(daemon, { jobRegionEquals: s.region, jobAccountEquals: s.account, sortOrder: 'Ascending' })).jobs;
    assert.deepEqual(othersBefore[s.name], await truthOf(fake, s.account, s.region), `${s.name} exact before`);
  }
  const { removed } = await fake.admin('POST', `/jobs/remove?account=${partner.account}&region=${partner.region}`, { count: 25 });
  assert.equal(removed.length, 25);
  // A full pass removes a job only when the complete full pass before it missed it too.
  await syncAll({ full: true });
  await syncAll({ full: true });
  await waitFor('the partner source to drop its removed jobs', () => isExact(partner), 30000, 200);
  for (const arn of removed.slice(0, 3)) {
    const res = await daemon.get(`/model-copy-jobs/${encodeURIComponent(arn)}`);
    assert.equal(res.status, 404, arn);
  }
  for (const s of others) {
    const now = (await listAll(daemon, { jobRegionEquals: s.region, jobAccountEquals: s.account, sortOrder: 'Ascending' })).jobs;
    assert.deepEqual(now, othersBefore[s.name], `${s.name} untouched`);
  }
  const stats = (await daemon.get('/v1/stats')).json;
  assert.equal(stats.sources.partner.total, (await truthOf(fake, partner.account, partner.region)).length);
  for (const s of others) assert.equal(stats.sources[s.name].total, othersBefore[s.name].length);
  await assertUnionExact('after the removal');
});

test('the partner source assumes its role once per credential lifetime, with the external id', async () => {
  const snap = await fake.admin('GET', '/sts/calls');
  // Many syncs and full syncs so far; the role's credentials last an hour.
  assert.equal(snap.counts.AssumeRole, 1, `AssumeRole calls: ${JSON.stringify(snap.calls)}`);
  const c = snap.calls.find((x) => x.action === 'AssumeRole');
  assert.equal(c.status, 200);
  assert.equal(c.roleArn, PARTNER_ROLE);
  assert.equal(c.externalId, EXTERNAL_ID);
  assert.equal(c.sessionName, 'cj-sources');
  assert.equal(c.region, 'us-east-1', 'STS at the source region');
  const issued = new Set(snap.issued.map((k) => k.accessKeyId));
  const partnerLog = await requestsOf(fake, PARTNER, 'us-east-1');
  assert.ok(partnerLog.length > 0);
  for (const r of partnerLog) assert.ok(issued.has(r.accessKeyId), `partner call signed with ${r.accessKeyId}`);
  for (const s of sources.filter((x) => x.name !== 'partner')) {
    for (const r of await requestsOf(fake, s.account, s.region)) assert.ok(!issued.has(r.accessKeyId), `${s.name} never uses the role`);
  }
  for (const k of snap.issued) {
    assert.ok(!daemon.log().includes(k.secretAccessKey), 'an issued secret key is in the log');
    assert.ok(!daemon.log().includes(k.sessionToken), 'an issued session token is in the log');
  }
});

test('short-lived role credentials: refreshed before they expire, not once per pass', async () => {
  // Credentials of 310 s are due for refresh (5 minutes early) after about 10 s.
  const role = `arn:aws:iam::${PARTNER}:role/copyjobd-short`;
  await fake.admin('POST', '/sts/roles', { roleArn: role, externalId: EXTERNAL_ID, expirySeconds: 310 });
  await fake.admin('POST', '/sts/calls/reset');
  const d = await startSourcesDaemon({ fake, config: configFor({ role }), env: FAST_RETRY_ENV });
  try {
    const started = Date.now();
    let passes = 0;
    while (Date.now() - started < 14000) {
      const res = await d.post('/v1/sync?wait=true');
      assert.ok(res.status < 500, res.body);
      passes++;
      await sleep(500);
    }
    const snap = await fake.admin('GET', '/sts/calls');
    const n = snap.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === role).length;
    assert.ok(passes >= 10, `${passes} passes`);
    assert.ok(n >= 2 && n <= 3, `AssumeRole ${n} times in ${passes} passes over ~15 s (due every ~10 s)`);
    const h = (await d.get('/v1/health')).json;
    assert.equal(h.sources.partner.state, 'ok', JSON.stringify(h.sources.partner));
  } finally {
    await d.stop();
  }
});
