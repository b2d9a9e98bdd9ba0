// Several regions and accounts: each request is served from the data set of its signer's
// account in its credential scope's region; the admin API addresses one data set; counters
// and request times per data set; faults aimed at one account or region; GetCallerIdentity
// names the signer's account, issued credentials included.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startFake } from '../lib/harness.mjs';
import { DEFAULT_CREDENTIALS, admin, bedrockRequest, buildQuery, listAll, rawRequest } from '../lib/client.mjs';
import { parseArgs } from '../lib/args.mjs';
import { derivedSeed } from '../lib/datasets.mjs';
import { arns, expectedList } from '../test-support/truth.mjs';

const T = { timeout: 120_000 };
const PARTNER = '210987654321';
const PARTNER_ROLE = `arn:aws:iam::${PARTNER}:role/copyjobd-reader`;
const STRANGER_ROLE = 'arn:aws:iam::333344445555:role/no-data-set';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

const tag = (xml, name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? null;

async function sts(url, params, { credentials = DEFAULT_CREDENTIALS, region = 'us-east-1' } = {}) {
  const body = buildQuery({ Version: '2011-06-15', ...params });
  const u = new URL(url);
  const headers = { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });
  const signed = await signer.sign({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', query: {}, headers, body });
  return rawRequest(`${url}/`, { method: 'POST', headers: signed.headers, body });
}

async function assume(url, roleArn, externalId) {
  const res = await sts(url, { Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: 'cj', ...(externalId ? { ExternalId: externalId } : {}) });
  assert.equal(res.status, 200, res.text);
  return { accessKeyId: tag(res.text, 'AccessKeyId'), secretAccessKey: tag(res.text, 'SecretAccessKey'), sessionToken: tag(res.text, 'SessionToken') };
}

describe('options for regions and accounts', () => {
  it('--regions serves each region, --region defaults to the first; --accounts takes 12 digits', () => {
    const o = parseArgs(['--regions', 'eu-west-1, us-east-1,eu-west-1', '--accounts', `${PARTNER},111122223333`]);
    assert.deepEqual(o.regions, ['eu-west-1', 'us-east-1']);
    assert.equal(o.region, 'eu-west-1');
    assert.deepEqual(o.accounts, [PARTNER, '111122223333']);
    assert.equal(parseArgs(['--regions', 'eu-west-1', '--region', 'us-east-1']).region, 'us-east-1');
    assert.throws(() => parseArgs(['--regions', 'EU_WEST']), /--regions/);
    assert.throws(() => parseArgs(['--regions', ',']), /--regions/);
    assert.throws(() => parseArgs(['--accounts', '12345']), /--accounts/);
  });

  it('derived seeds differ by account and region and depend only on them', () => {
    assert.equal(derivedSeed(42, PARTNER, 'us-east-1'), derivedSeed(42, PARTNER, 'us-east-1'));
    assert.notEqual(derivedSeed(42, PARTNER, 'us-east-1'), derivedSeed(42, PARTNER, 'us-west-2'));
    assert.notEqual(derivedSeed(42, PARTNER, 'us-east-1'), derivedSeed(43, PARTNER, 'us-east-1'));
  });
});

describe('data sets per account and region', T, () => {
  let fake;
  let url;
  let caller;
  let partnerCreds;
  let strangerCreds;
  const adm = (method, path, body) => admin(fake.info.admin, method, path, body);
  const q = (account, region) => `account=${account}&region=${region}`;
  const truthOf = async (account, region) => {
    const res = await adm('GET', `/jobs?${q(account, region)}`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.jobs;
  };

  before(async () => {
    fake = await startFake(['--jobs', '120', '--https-port', '-1', '--seed', '5', '--regions', REGIONS.join(','), '--accounts', PARTNER]);
    url = fake.info.http;
    caller = (await adm('GET', '/info')).json.account;
    assert.equal((await adm('POST', '/sts/roles', { roleArn: PARTNER_ROLE, externalId: 'ext-7' })).status, 200);
    assert.equal((await adm('POST', '/sts/roles', { roleArn: STRANGER_ROLE })).status, 200);
    partnerCreds = await assume(url, PARTNER_ROLE, 'ext-7');
    strangerCreds = await assume(url, STRANGER_ROLE);
  });
  after(() => fake?.stop());
  beforeEach(async () => {
    assert.equal((await adm('DELETE', '/faults')).status, 200);
  });

  it('makes one data set per account and region, each naming its own account and region', async () => {
    const { datasets } = (await adm('GET', '/datasets')).json;
    assert.equal(datasets.length, 6);
    assert.deepEqual(datasets.filter((d) => d.default).map((d) => [d.account, d.region]), [[caller, 'us-east-1']]);
    const seen = new Set();
    for (const account of [caller, PARTNER]) {
      for (const region of REGIONS) {
        const jobs = await truthOf(account, region);
        assert.equal(jobs.length, 120);
        for (const j of jobs) {
          assert.match(j.jobArn, new RegExp(`^arn:aws:bedrock:${region}:${account}:model-copy-job/`));
          assert.match(j.targetModelArn, new RegExp(`^arn:aws:bedrock:${region}:${account}:custom-model/`));
          assert.ok(!seen.has(j.jobArn), `${j.jobArn} in two data sets`);
          seen.add(j.jobArn);
        }
      }
    }
    const info = (await adm('GET', `/info?${q(PARTNER, 'eu-west-1')}`)).json;
    assert.equal(info.account, PARTNER);
    assert.equal(info.region, 'eu-west-1');
    assert.equal(info.seed, derivedSeed(5, PARTNER, 'eu-west-1'));
    assert.deepEqual(info.regions.sort(), [...REGIONS].sort());
    assert.deepEqual(info.accounts.sort(), [caller, PARTNER].sort());
  });

  it('a data set is the same for the same options, and the default one is what --regions leaves out', async () => {
    const other = await startFake(['--jobs', '120', '--https-port', '-1', '--seed', '5', '--regions', 'us-west-2', '--accounts', PARTNER]);
    try {
      const again = (await admin(other.info.admin, 'GET', `/jobs?${q(PARTNER, 'us-west-2')}`)).json.jobs;
      assert.deepEqual(again, await truthOf(PARTNER, 'us-west-2'));
    } finally {
      await other.stop();
    }
    const single = await startFake(['--jobs', '120', '--https-port', '-1', '--seed', '5']);
    try {
      assert.deepEqual((await admin(single.info.admin, 'GET', '/jobs')).json.jobs, await truthOf(caller, 'us-east-1'));
    } finally {
      await single.stop();
    }
  });

  it('serves each request from the signer account in the scope region', async () => {
    for (const region of REGIONS) {
      const mine = await listAll(url, { sortOrder: 'Ascending' }, { region });
      assert.deepEqual(mine.jobs, expectedList(await truthOf(caller, region), { sortOrder: 'Ascending' }), region);
      const theirs = await listAll(url, { statusEquals: 'Completed' }, { region, credentials: partnerCreds });
      assert.deepEqual(arns(theirs.jobs), arns(expectedList(await truthOf(PARTNER, region), { statusEquals: 'Completed' })), `partner ${region}`);
    }
    const one = (await truthOf(PARTNER, 'us-west-2'))[7];
    const path = `/model-copy-jobs/${encodeURIComponent(one.jobArn)}`;
    const got = await bedrockRequest(url, { path, region: 'us-west-2', credentials: partnerCreds });
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, one);
    // Another account's (or region's) job is not found, as in AWS.
    assert.equal((await bedrockRequest(url, { path, region: 'us-west-2' })).status, 404);
    assert.equal((await bedrockRequest(url, { path, region: 'eu-west-1', credentials: partnerCreds })).status, 404);
  });

  it('an account without a data set of its own is served the caller\'s; a region not served is refused', async () => {
    const res = await listAll(url, {}, { region: 'us-west-2', credentials: strangerCreds });
    assert.deepEqual(arns(res.jobs), arns(expectedList(await truthOf(caller, 'us-west-2'))));
    const refused = await bedrockRequest(url, { region: 'ap-south-1' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.equal((await adm('GET', `/jobs?${q(PARTNER, 'ap-south-1')}`)).status, 404);
    assert.equal((await adm('GET', '/jobs?account=333344445555')).status, 404);
  });

  it('the admin API changes one data set and leaves the others alone', async () => {
    const others = async () => {
      const out = {};
      for (const account of [caller, PARTNER]) for (const region of REGIONS) if (!(account === PARTNER && region === 'eu-west-1')) out[`${account}/${region}`] = await truthOf(account, region);
      return out;
    };
    const before = await others();
    const target = q(PARTNER, 'eu-west-1');
    const added = (await adm('POST', `/jobs/add?${target}`, { count: 3 })).json.jobs;
    for (const j of added) assert.match(j.jobArn, new RegExp(`:eu-west-1:${PARTNER}:`));
    const finished = (await adm('POST', `/jobs/finish?${target}`, { arns: [added[0].jobArn], status: 'Failed' })).json.jobs;
    assert.equal(finished[0].status, 'Failed');
    const updated = (await adm('POST', `/jobs/update?${target}`, { arn: added[1].jobArn, fields: { targetModelName: 'partner-only' } })).json.job;
    assert.equal(updated.targetModelName, 'partner-only');
    const removed = (await adm('POST', `/jobs/remove?${target}`, { count: 2 })).json.removed;
    assert.equal(removed.length, 2);
    // An ARN of another data set is not this one's.
    assert.equal((await adm('POST', `/jobs/remove?${target}`, { arns: [before[`${caller}/us-east-1`][0].jobArn] })).status, 404);
    assert.deepEqual(await others(), before);
    const now = await truthOf(PARTNER, 'eu-west-1');
    assert.equal(now.length, 121);
    const served = await listAll(url, { sortOrder: 'Ascending' }, { region: 'eu-west-1', credentials: partnerCreds });
    assert.deepEqual(served.jobs, expectedList(now, { sortOrder: 'Ascending' }));
  });

  it('POST /datasets makes a data set of its own size and seed, and serves its region', async () => {
    const made = await adm('POST', '/datasets', { account: PARTNER, region: 'ap-south-1', jobs: 40, seed: 99 });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    assert.deepEqual([made.json.dataset.account, made.json.dataset.region, made.json.dataset.jobs, made.json.dataset.seed], [PARTNER, 'ap-south-1', 40, 99]);
    assert.equal((await adm('POST', '/datasets', { account: PARTNER, region: 'ap-south-1' })).status, 409);
    const res = await listAll(url, {}, { region: 'ap-south-1', credentials: partnerCreds });
    assert.equal(res.jobs.length, 40);
    // The caller's own data set in the new region is made on first use.
    assert.equal((await listAll(url, {}, { region: 'ap-south-1' })).jobs.length, 120);
    const replaced = await adm('POST', '/datasets', { account: PARTNER, region: 'ap-south-1', jobs: 5, replace: true });
    assert.equal(replaced.status, 200);
    assert.equal((await listAll(url, {}, { region: 'ap-south-1', credentials: partnerCreds })).jobs.length, 5);
    for (const bad of [{ account: '12', region: 'us-east-1' }, { account: PARTNER, region: 'US' }, { account: PARTNER, region: 'sa-east-1', jobs: -1 }]) {
      assert.equal((await adm('POST', '/datasets', bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await adm('POST', '/datasets', { account: caller, region: 'us-east-1', replace: true })).status, 400);
  });

  it('counts requests per data set and operation, with the time of each', async () => {
    assert.equal((await adm('POST', '/stats/reset')).status, 200);
    const t0 = Date.now();
    await listAll(url, { maxResults: 50 }, { region: 'us-west-2', credentials: partnerCreds });
    const one = (await truthOf(PARTNER, 'us-west-2'))[0];
    await bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(one.jobArn)}`, region: 'us-west-2', credentials: partnerCreds });
    await bedrockRequest(url, { region: 'eu-west-1' });
    const t1 = Date.now();
    const partner = (await adm('GET', `/stats?${q(PARTNER, 'us-west-2')}`)).json;
    assert.equal(partner.requests, 4);
    assert.deepEqual(partner.byOperation, { ListModelCopyJobs: 3, GetModelCopyJob: 1 });
    const mine = (await adm('GET', `/stats?${q(caller, 'eu-west-1')}`)).json;
    assert.deepEqual(mine.byOperation, { ListModelCopyJobs: 1, GetModelCopyJob: 0 });
    assert.equal((await adm('GET', `/stats?${q(caller, 'us-east-1')}`)).json.requests, 0);
    const all = (await adm('GET', '/stats')).json;
    assert.equal(all.requests, 5);
    const log = (await adm('GET', `/requests?${q(PARTNER, 'us-west-2')}`)).json;
    assert.equal(log.length, 4);
    for (const r of log) {
      assert.equal(r.account, PARTNER);
      assert.equal(r.region, 'us-west-2');
      assert.ok(r.t >= t0 && r.tEnd >= r.t && r.tEnd <= t1, JSON.stringify(r));
    }
    const listed = (await adm('GET', '/datasets')).json.datasets.find((d) => d.account === PARTNER && d.region === 'us-west-2');
    assert.equal(listed.stats.requests, 4);
    // Resetting one data set leaves the others' counters.
    await adm('POST', `/stats/reset?${q(PARTNER, 'us-west-2')}`);
    assert.equal((await adm('GET', `/stats?${q(PARTNER, 'us-west-2')}`)).json.requests, 0);
    assert.equal((await adm('GET', `/stats?${q(caller, 'eu-west-1')}`)).json.requests, 1);
  });

  it('a fault aimed at an account or a region reaches only its requests', async () => {
    const f = await adm('POST', '/faults', { kind: 'status', status: 503, count: -1, account: PARTNER, region: 'us-west-2' });
    assert.equal(f.status, 200, JSON.stringify(f.json));
    assert.equal(f.json.fault.account, PARTNER);
    assert.equal((await bedrockRequest(url, { region: 'us-west-2', credentials: partnerCreds })).status, 503);
    assert.equal((await bedrockRequest(url, { region: 'us-east-1', credentials: partnerCreds })).status, 200);
    assert.equal((await bedrockRequest(url, { region: 'us-west-2' })).status, 200);
    await adm('DELETE', '/faults');
    await adm('POST', '/faults', { kind: 'throttle', count: 2, region: 'eu-west-1' });
    assert.equal((await bedrockRequest(url, { region: 'us-east-1' })).status, 200);
    assert.equal((await bedrockRequest(url, { region: 'eu-west-1', credentials: partnerCreds })).status, 429);
    assert.equal((await bedrockRequest(url, { region: 'eu-west-1' })).status, 429);
    assert.equal((await bedrockRequest(url, { region: 'eu-west-1' })).status, 200);
    await adm('POST', '/faults', { kind: 'clockSkew', skewSeconds: 3600, count: -1, account: caller });
    assert.equal((await bedrockRequest(url, { region: 'us-east-1', credentials: partnerCreds })).status, 200);
    assert.equal((await bedrockRequest(url, { region: 'us-east-1' })).status, 403);
    await adm('DELETE', '/faults');
    for (const bad of [{ kind: 'throttle', account: '1' }, { kind: 'throttle', region: 'Not A Region' }]) {
      assert.equal((await adm('POST', '/faults', bad)).status, 400);
    }
  });

  it('STS: GetCallerIdentity names the signer account; AssumeRole faults aim at the role account', async () => {
    const me = await sts(url, { Action: 'GetCallerIdentity' });
    assert.equal(tag(me.text, 'Account'), caller);
    const them = await sts(url, { Action: 'GetCallerIdentity' }, { credentials: partnerCreds, region: 'eu-west-1' });
    assert.equal(them.status, 200, them.text);
    assert.equal(tag(them.text, 'Account'), PARTNER);
    assert.match(tag(them.text, 'Arn'), new RegExp(`^arn:aws:sts::${PARTNER}:assumed-role/copyjobd-reader/cj$`));
    await adm('POST', '/faults', { kind: 'awsError', operation: 'AssumeRole', code: 'AccessDenied', account: PARTNER, region: 'us-west-2', count: -1 });
    const denied = await sts(url, { Action: 'AssumeRole', RoleArn: PARTNER_ROLE, RoleSessionName: 'cj', ExternalId: 'ext-7' }, { region: 'us-west-2' });
    assert.equal(tag(denied.text, 'Code'), 'AccessDenied');
    const otherRegion = await sts(url, { Action: 'AssumeRole', RoleArn: PARTNER_ROLE, RoleSessionName: 'cj', ExternalId: 'ext-7' }, { region: 'us-east-1' });
    assert.equal(otherRegion.status, 200, otherRegion.text);
    const otherRole = await sts(url, { Action: 'AssumeRole', RoleArn: STRANGER_ROLE, RoleSessionName: 'cj' }, { region: 'us-west-2' });
    assert.equal(otherRole.status, 200, otherRole.text);
  });
});
