// STS and IAM Identity Center: AssumeRole (signed, external id), AssumeRoleWithWebIdentity,
// GetCallerIdentity, their XML errors, issued credentials accepted by Bedrock until they
// expire, call counting, aimed faults, and the SSO portal and OIDC refresh.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startFake } from '../lib/harness.mjs';
import { DEFAULT_CREDENTIALS, admin, bedrockRequest, buildQuery, rawRequest } from '../lib/client.mjs';

const T = { timeout: 120_000 };
const ROLE = 'arn:aws:iam::210987654321:role/partner';
const WEB_ROLE = 'arn:aws:iam::123456789012:role/irsa';

const tag = (xml, name) => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"') : null;
};

async function sts(url, params, { credentials = DEFAULT_CREDENTIALS, region = 'eu-west-1', service = 'sts', sign = true } = {}) {
  const body = buildQuery({ Version: '2011-06-15', ...params });
  const u = new URL(url);
  const headers = { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  let sent = headers;
  if (sign) {
    const signer = new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });
    const req = await signer.sign({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', query: {}, headers, body });
    sent = req.headers;
  }
  return rawRequest(`${url}/`, { method: 'POST', headers: sent, body });
}

describe('STS and IAM Identity Center', T, () => {
  let fake;
  let url;
  const adm = (method, path, body) => admin(fake.info.admin, method, path, body);

  before(async () => {
    fake = await startFake(['--jobs', '50', '--https-port', '-1']);
    url = fake.info.http;
    assert.equal((await adm('POST', '/sts/roles', { roleArn: ROLE, externalId: 'ext-1', expirySeconds: 2 })).status, 200);
    assert.equal((await adm('POST', '/sts/roles', { roleArn: WEB_ROLE, webIdentityTokens: ['jwt-one'] })).status, 200);
  });
  after(() => fake?.stop());

  it('AssumeRole with the external id issues credentials Bedrock accepts until they expire', async () => {
    await adm('POST', '/sts/calls/reset');
    const res = await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj', ExternalId: 'ext-1' });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /^<AssumeRoleResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">/);
    const cred = { accessKeyId: tag(res.text, 'AccessKeyId'), secretAccessKey: tag(res.text, 'SecretAccessKey'), sessionToken: tag(res.text, 'SessionToken') };
    assert.match(cred.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(tag(res.text, 'Arn'), 'arn:aws:sts::210987654321:assumed-role/partner/cj');
    assert.ok(Date.parse(tag(res.text, 'Expiration')) > Date.now());
    const list = await bedrockRequest(url, { credentials: cred });
    assert.equal(list.status, 200, list.text);
    // Without the session token the key is unknown.
    const noToken = await bedrockRequest(url, { credentials: { ...cred, sessionToken: undefined } });
    assert.equal(noToken.headers['x-amzn-errortype'], 'UnrecognizedClientException');
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await bedrockRequest(url, { credentials: cred });
    assert.equal(expired.headers['x-amzn-errortype'], 'ExpiredTokenException');

    const calls = (await adm('GET', '/sts/calls')).json;
    assert.equal(calls.counts.AssumeRole, 1);
    assert.equal(calls.calls[0].externalId, 'ext-1');
    assert.equal(calls.calls[0].region, 'eu-west-1');
    assert.equal(calls.calls[0].caller, DEFAULT_CREDENTIALS.accessKeyId);
  });

  it('refuses a wrong external id, an unknown role, bad signatures, in STS XML', async () => {
    const wrong = await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj', ExternalId: 'nope' });
    assert.equal(wrong.status, 403);
    assert.equal(tag(wrong.text, 'Code'), 'AccessDenied');
    assert.equal(tag(wrong.text, 'Type'), 'Sender');
    const unknown = await sts(url, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::111111111111:role/none', RoleSessionName: 'cj' });
    assert.equal(tag(unknown.text, 'Code'), 'AccessDenied');
    const wrongService = await sts(url, { Action: 'GetCallerIdentity' }, { service: 'bedrock' });
    assert.equal(tag(wrongService.text, 'Code'), 'SignatureDoesNotMatch');
    const badKey = await sts(url, { Action: 'GetCallerIdentity' }, { credentials: { accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' } });
    assert.equal(tag(badKey.text, 'Code'), 'InvalidClientTokenId');
    const unsigned = await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj' }, { sign: false });
    assert.equal(tag(unsigned.text, 'Code'), 'MissingAuthenticationToken');
    const badSession = await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'a b', ExternalId: 'ext-1' });
    assert.equal(tag(badSession.text, 'Code'), 'ValidationError');
  });

  it('GetCallerIdentity names the caller', async () => {
    const res = await sts(url, { Action: 'GetCallerIdentity' });
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'Account'), (await adm('GET', '/info')).json.account);
  });

  it('AssumeRoleWithWebIdentity is unsigned and checks the token', async () => {
    const ok = await sts(url, { Action: 'AssumeRoleWithWebIdentity', RoleArn: WEB_ROLE, RoleSessionName: 'irsa', WebIdentityToken: 'jwt-one' }, { sign: false });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(tag(ok.text, 'SubjectFromWebIdentityToken'));
    assert.match(tag(ok.text, 'AccessKeyId'), /^ASIA/);
    const bad = await sts(url, { Action: 'AssumeRoleWithWebIdentity', RoleArn: WEB_ROLE, RoleSessionName: 'irsa', WebIdentityToken: 'jwt-two' }, { sign: false });
    assert.equal(tag(bad.text, 'Code'), 'InvalidIdentityToken');
    const calls = (await adm('GET', '/sts/calls')).json.calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
    assert.deepEqual(calls.map((c) => c.webIdentityToken), ['jwt-one', 'jwt-two']);
  });

  it('faults aimed at an STS operation, and only at it', async () => {
    await adm('POST', '/faults', { kind: 'awsError', operation: 'AssumeRole', code: 'RegionDisabledException', message: 'not active', count: 1 });
    const listed = await bedrockRequest(url);
    assert.equal(listed.status, 200, 'a Bedrock request does not take it');
    const res = await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj', ExternalId: 'ext-1' });
    assert.equal(res.status, 403);
    assert.equal(tag(res.text, 'Code'), 'RegionDisabledException');
    assert.equal(tag(res.text, 'Message'), 'not active');
    await adm('POST', '/faults', { kind: 'expiredToken', operation: 'AssumeRole' });
    assert.equal(tag((await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj', ExternalId: 'ext-1' })).text, 'Code'), 'ExpiredToken');
    // A fault without an operation stays a Bedrock fault.
    await adm('POST', '/faults', { kind: 'throttle' });
    assert.equal((await sts(url, { Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cj', ExternalId: 'ext-1' })).status, 200);
    await adm('DELETE', '/faults');
    assert.equal((await adm('POST', '/faults', { kind: 'awsError', code: 'AccessDenied' })).status, 400);
  });

  it('the SSO portal checks the bearer token; OIDC refreshes it once per refresh token', async () => {
    await adm('POST', '/sso', { accessToken: 'at-1', accountId: '111122223333', roleName: 'Reader' });
    await adm('POST', '/sso', { clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt-1' });
    const get = (token, role = 'Reader') => rawRequest(`${url}/federation/credentials?account_id=111122223333&role_name=${role}`, { headers: token ? { 'x-amz-sso_bearer_token': token } : {} });
    const ok = await get('at-1');
    assert.equal(ok.status, 200);
    assert.match(ok.json.roleCredentials.accessKeyId, /^ASIA/);
    assert.ok(ok.json.roleCredentials.expiration > Date.now());
    assert.equal((await bedrockRequest(url, { credentials: ok.json.roleCredentials })).status, 200);
    const unauth = await get('nope');
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers['x-amzn-errortype'], 'UnauthorizedException');
    assert.equal((await get('at-1', 'Admin')).status, 403);

    const token = (body) => rawRequest(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refreshed = await token({ clientId: 'cid', clientSecret: 'cs', grantType: 'refresh_token', refreshToken: 'rt-1' });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.json.expiresIn, 3600);
    assert.equal((await get(refreshed.json.accessToken)).status, 200);
    const again = await token({ clientId: 'cid', clientSecret: 'cs', grantType: 'refresh_token', refreshToken: 'rt-1' });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.equal((await token({ clientId: 'cid', clientSecret: 'wrong', grantType: 'refresh_token', refreshToken: refreshed.json.refreshToken })).json.error, 'invalid_client');
    const counts = (await adm('GET', '/sts/calls')).json.counts;
    assert.equal(counts.CreateToken, 3);
    assert.ok(counts.GetRoleCredentials >= 4);
  });
});
