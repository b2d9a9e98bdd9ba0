// SigV4: the smithy-based check accepts correct signatures (botocore's vectors, this client,
// any query order) and rejects everything else with AWS's error types, counting each one.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startFake } from '../lib/harness.mjs';
import { DEFAULT_CREDENTIALS, admin, bedrockRequest, rawRequest } from '../lib/client.mjs';
import { SigV4Verifier } from '../lib/sigv4.mjs';
import { parseRawQuery } from '../lib/query.mjs';

const T = { timeout: 120_000 };
const KAT = JSON.parse(readFileSync(new URL('./fixtures/sigv4-known-answers.botocore.json', import.meta.url)));
const KAT_NOW = Date.parse('2015-08-30T12:36:00Z');
const MISMATCH = /^The request signature we calculated does not match the signature you provided/;

function katRequest(c, mutate = (r) => r) {
  const u = new URL(c.url);
  const rest = c.url.slice(u.origin.length);
  const [rawPath, rawQuery = ''] = rest.split('?');
  const headers = { host: u.host };
  for (const [k, v] of Object.entries(c.headers)) headers[k.toLowerCase()] = v;
  return mutate({ method: c.method, rawPath, query: parseRawQuery(rawQuery).object, headers, protocol: 'https:', hostname: u.hostname });
}

const verifierFor = (c) =>
  new SigV4Verifier({ region: KAT.region, accessKeyId: KAT.access_key, secretAccessKey: KAT.secret_key, sessionToken: c.session_token ?? undefined });

describe('botocore known-answer vectors through the verifier', T, () => {
  for (const c of KAT.cases) {
    it(`accepts ${c.name}`, async () => {
      await verifierFor(c).verify(katRequest(c), KAT_NOW);
    });
    it(`rejects ${c.name} with one byte changed`, async () => {
      const mutations = [
        (r) => ({ ...r, rawPath: r.rawPath.replace(/.$/, (x) => (x === 'a' ? 'b' : 'a')) }),
        (r) => ({ ...r, headers: { ...r.headers, 'x-amz-date': r.headers['x-amz-date'].replace(/00Z$/, '01Z') } }),
        (r) => ({ ...r, headers: { ...r.headers, host: r.headers.host.replace('bedrock', 'bedrocK') } }),
        (r) => ({ ...r, query: { ...r.query, extra: '1' } }),
      ];
      for (const m of mutations) {
        await assert.rejects(verifierFor(c).verify(katRequest(c, m), KAT_NOW), (e) => e.type === 'InvalidSignatureException' && MISMATCH.test(e.message));
      }
    });
  }
  it('rejects a correct vector signed long ago as expired', async () => {
    const c = KAT.cases[0];
    await assert.rejects(verifierFor(c).verify(katRequest(c), KAT_NOW + 10 * 60_000), (e) =>
      e.message === 'Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T124600Z - 5 min.)',
    );
  });
});

describe('signature checks on the wire', T, () => {
  let fake;
  let url;
  let arn;
  let rejected = 0;
  before(async () => {
    fake = await startFake(['--jobs', '50', '--https-port', '-1']);
    url = fake.info.http;
    arn = (await admin(fake.info.admin, 'GET', '/jobs')).json.jobs[10].jobArn;
  });
  after(() => fake?.stop());

  const expect403 = (res, type, message) => {
    rejected += 1;
    assert.equal(res.status, 403, res.text);
    assert.equal(res.headers['x-amzn-errortype'], type);
    assert.ok(res.headers.date, 'Date header');
    assert.match(res.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
    if (message) assert.match(res.json.message, message);
  };

  it('accepts what copyjobd sends: canonical RFC 3986 query, Host with port', async () => {
    const res = await bedrockRequest(url, { query: { creationTimeAfter: '2024-01-01T00:00:00Z', sourceModelArnEquals: 'arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl', maxResults: 5 } });
    assert.equal(res.status, 200, res.text);
    const get = await bedrockRequest(url, { path: `/model-copy-jobs/${encodeURIComponent(arn)}` });
    assert.equal(get.status, 200, get.text);
  });

  it('accepts any correct signature: extra signed headers, signed payload hash, unsorted query', async () => {
    const a = await bedrockRequest(url, { headers: { 'x-custom-thing': '  spaced   value ', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } });
    assert.equal(a.status, 200, a.text);
    const b = await bedrockRequest(url, { query: [['statusEquals', 'Completed'], ['maxResults', '2']], sortQuery: false });
    assert.equal(b.status, 200, b.text);
    const c = await bedrockRequest(url, { query: { maxResults: 2 }, tamper: (w) => ({ ...w, headers: { ...w.headers, 'user-agent': 'unsigned/1.0', 'x-unsigned': 'x' } }) });
    assert.equal(c.status, 200, 'unsigned extra headers do not matter');
  });

  it('rejects a missing or garbled Authorization header', async () => {
    const none = await rawRequest(`${url}/model-copy-jobs`);
    expect403(none, 'MissingAuthenticationTokenException', /Missing Authentication Token/);
    for (const auth of ['Bearer abc', 'AWS4-HMAC-SHA256 Credential=AKIDCOPYJOBDTEST0001/20240101/us-east-1/bedrock/aws4_request', 'AWS4-HMAC-SHA256 garbage']) {
      const res = await bedrockRequest(url, { tamper: (w) => ({ ...w, headers: { ...w.headers, authorization: auth } }) });
      expect403(res, 'MissingAuthenticationTokenException');
    }
  });

  it('rejects an unknown access key and a wrong secret', async () => {
    const unknown = await bedrockRequest(url, { credentials: { ...DEFAULT_CREDENTIALS, accessKeyId: 'AKIDSOMEONEELSE00001' } });
    expect403(unknown, 'UnrecognizedClientException', /security token included in the request is invalid/);
    const wrong = await bedrockRequest(url, { credentials: { ...DEFAULT_CREDENTIALS, secretAccessKey: 'not-the-secret' } });
    expect403(wrong, 'InvalidSignatureException', MISMATCH);
    const region = await bedrockRequest(url, { region: 'us-west-2' });
    expect403(region, 'InvalidSignatureException');
  });

  it('rejects one tampered byte of the query, the path, or a signed header', async () => {
    const q = await bedrockRequest(url, { query: { maxResults: 5, statusEquals: 'Failed' }, tamper: (w) => ({ ...w, rawQuery: w.rawQuery.replace('maxResults=5', 'maxResults=6') }) });
    expect403(q, 'InvalidSignatureException', MISMATCH);
    const encodedArn = encodeURIComponent(arn);
    const p = await bedrockRequest(url, { path: `/model-copy-jobs/${encodedArn}`, tamper: (w) => ({ ...w, path: w.path.replace(/.$/, (x) => (x === 'a' ? 'b' : 'a')) }) });
    expect403(p, 'InvalidSignatureException', MISMATCH);
    const enc = await bedrockRequest(url, { path: `/model-copy-jobs/${encodedArn}`, tamper: (w) => ({ ...w, path: w.path.replace('%3A', '%3a') }) });
    expect403(enc, 'InvalidSignatureException', MISMATCH);
    const added = await bedrockRequest(url, { query: { maxResults: 5 }, tamper: (w) => ({ ...w, rawQuery: `${w.rawQuery}&statusEquals=Failed` }) });
    expect403(added, 'InvalidSignatureException', MISMATCH);
    const h = await bedrockRequest(url, { headers: { 'x-custom-thing': 'a' }, tamper: (w) => ({ ...w, headers: { ...w.headers, 'x-custom-thing': 'b' } }) });
    expect403(h, 'InvalidSignatureException', MISMATCH);
    const hostPort = await bedrockRequest(url, { tamper: (w) => ({ ...w, headers: { ...w.headers, host: w.headers.host.replace(/:(\d+)$/, ':1') } }) });
    expect403(hostPort, 'InvalidSignatureException', MISMATCH);
  });

  it('rejects a signature time more than 5 minutes from its clock, in AWS wording', async () => {
    const old = await bedrockRequest(url, { signingDate: new Date(Date.now() - 10 * 60_000) });
    expect403(old, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const future = await bedrockRequest(url, { signingDate: new Date(Date.now() + 10 * 60_000) });
    expect403(future, 'InvalidSignatureException', /^Signature not yet current: /);
    const fine = await bedrockRequest(url, { signingDate: new Date(Date.now() - 2 * 60_000) });
    assert.equal(fine.status, 200);
  });

  it('counts every rejected signature and logs it', async () => {
    const stats = (await admin(fake.info.admin, 'GET', '/stats')).json;
    assert.equal(stats.badSignatures, rejected);
    const log = (await admin(fake.info.admin, 'GET', '/requests')).json;
    const rejections = log.filter((e) => e.status === 403);
    assert.equal(rejections.length, rejected);
    assert.ok(rejections.every((e) => typeof e.errorType === 'string' && typeof e.t === 'number' && e.method === 'GET'));
  });
});

describe('session token', T, () => {
  let fake;
  const token = 'FwoGZXIvYXdzEXAMPLE+token/with=chars';
  before(async () => {
    fake = await startFake(['--jobs', '10', '--https-port', '-1', '--session-token', token]);
  });
  after(() => fake?.stop());

  it('requires a signed x-amz-security-token equal to the configured one', async () => {
    const url = fake.info.http;
    const ok = await bedrockRequest(url, { credentials: { ...DEFAULT_CREDENTIALS, sessionToken: token } });
    assert.equal(ok.status, 200, ok.text);
    const missing = await bedrockRequest(url);
    assert.equal(missing.status, 403);
    assert.equal(missing.headers['x-amzn-errortype'], 'UnrecognizedClientException');
    const wrong = await bedrockRequest(url, { credentials: { ...DEFAULT_CREDENTIALS, sessionToken: `${token}x` } });
    assert.equal(wrong.status, 403);
    const unsigned = await bedrockRequest(url, { tamper: (w) => ({ ...w, headers: { ...w.headers, 'x-amz-security-token': token } }) });
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.equal((await admin(fake.info.admin, 'GET', '/stats')).json.badSignatures, 3);
  });
});
