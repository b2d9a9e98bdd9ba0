// The credential chain's temporary credentials against the fake's STS and IAM Identity Center,
// with the real daemon: a shared-config profile that assumes a role (external id) through a
// source_profile, AssumeRole once per credential lifetime, an STS error by name in health, web
// identity from the environment with a token file that rotates between refreshes, SSO profiles
// with a cached token, a token refreshed through OIDC and written back, and an expired one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, startFake, startDaemon, waitFor, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './lib/harness.mjs';

const PARTNER_ROLE = 'arn:aws:iam::210987654321:role/copyjobd-reader';
const EXTERNAL_ID = 'cj-ext-0042';
const WEB_ROLE = 'arn:aws:iam::123456789012:role/copyjobd-irsa';
const WEB_TOKENS = ['cjSecTest/webIdentityTokenOne.AAAA', 'cjSecTest/webIdentityTokenTwo.BBBB'];
const SSO_ACCESS = 'cjSecTest/ssoAccessTokenValid0001';
const SSO_REFRESH = 'cjSecTest/ssoRefreshToken0001';
const SSO_CLIENT_SECRET = 'cjSecTest/ssoClientSecret0001';

let fake;
let home;

const sha1 = (s) => createHash('sha1').update(s).digest('hex');
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const calls = async () => fake.admin('GET', '/sts/calls');

function writeConfig(text) {
  writeFileSync(join(home, '.aws', 'config'), text, { mode: 0o600 });
}

function baseEnv(extra = {}) {
  return {
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
    AWS_CONFIG_FILE: join(home, '.aws', 'config'),
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: fake.http,
    AWS_ENDPOINT_URL_SSO: fake.http,
    AWS_ENDPOINT_URL_SSO_OIDC: fake.http,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

async function healthError(d, re, timeoutMs = 30000) {
  return waitFor(`health lastError matching ${re}`, async () => {
    const h = await d.get('/v1/health');
    return h.json?.lastError && re.test(h.json.lastError.message) ? h.json : false;
  }, timeoutMs, 200);
}

function assertNoIssuedSecret(log, snapshot) {
  for (const k of snapshot.issued) {
    assert.ok(!log.includes(k.secretAccessKey), 'an issued secret key is in the log');
    assert.ok(!log.includes(k.sessionToken), 'an issued session token is in the log');
  }
  for (const s of [...WEB_TOKENS, SSO_ACCESS, SSO_REFRESH, SSO_CLIENT_SECRET, TEST_SECRET_ACCESS_KEY]) {
    assert.ok(!log.includes(s), 'a test secret is in the log');
  }
}

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 300 });
  home = mkdtempSync(join(tmpdir(), 'cj-sts-home-'));
  mkdirSync(join(home, '.aws', 'sso', 'cache'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, '.aws', 'credentials'), '', { mode: 0o600 });
  await fake.admin('POST', '/sts/roles', { roleArn: PARTNER_ROLE, externalId: EXTERNAL_ID });
});

after(async () => {
  await fake?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('a profile assumes a role through its source_profile, once per credential lifetime', async () => {
  writeConfig([
    '[profile base]', `aws_access_key_id = ${TEST_ACCESS_KEY_ID}`, `aws_secret_access_key = ${TEST_SECRET_ACCESS_KEY}`,
    '[profile partner]', `role_arn = ${PARTNER_ROLE}`, 'source_profile = base', `external_id = ${EXTERNAL_ID}`,
    'role_session_name = cj-test', 'duration_seconds = 1800', '',
  ].join('\n'));
  await fake.admin('POST', '/sts/calls/reset');
  await fake.admin('POST', '/stats/reset');
  const d = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'partner' }), config: '[sync]\ninterval = 1h\n' });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await d.post('/v1/sync?wait=true')).status, 200);
    d.proc.kill('SIGHUP'); // a reload reuses the cached role credentials too
    await waitFor('the reload', () => /reload/i.test(d.log()), 20000);
    assert.equal((await d.post('/v1/sync?wait=true&full=true')).status, 200);

    const snap = await calls();
    assert.equal(snap.counts.AssumeRole, 1, `AssumeRole calls: ${JSON.stringify(snap.calls)}`);
    const c = snap.calls.find((x) => x.action === 'AssumeRole');
    assert.equal(c.status, 200);
    assert.equal(c.roleArn, PARTNER_ROLE);
    assert.equal(c.externalId, EXTERNAL_ID);
    assert.equal(c.sessionName, 'cj-test');
    assert.equal(c.durationSeconds, '1800');
    assert.equal(c.region, 'us-east-1');
    assert.equal(c.caller, TEST_ACCESS_KEY_ID);
    // Bedrock was called with the role's credentials, never the source profile's.
    const issued = snap.issued.map((k) => k.accessKeyId);
    const reqs = await fake.admin('GET', '/requests');
    assert.ok(reqs.length > 0);
    for (const r of reqs) assert.ok(issued.includes(r.accessKeyId), `Bedrock call signed with ${r.accessKeyId}`);
    assertNoIssuedSecret(d.log(), snap);
  } finally {
    await d.stop();
  }
});

test('an STS error reaches health by name; a wrong external id is AccessDenied', async () => {
  writeConfig([
    '[profile base]', `aws_access_key_id = ${TEST_ACCESS_KEY_ID}`, `aws_secret_access_key = ${TEST_SECRET_ACCESS_KEY}`,
    '[profile wrong]', `role_arn = ${PARTNER_ROLE}`, 'source_profile = base', 'external_id = not-the-one', '',
    '[profile disabled]', `role_arn = ${PARTNER_ROLE}`, 'source_profile = base', `external_id = ${EXTERNAL_ID}`, '',
  ].join('\n'));
  const d = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'wrong' }), wait: 'socket' });
  try {
    const h = await healthError(d, /AccessDenied/);
    assert.match(h.lastError.message, /profile wrong/);
    assert.match(h.lastError.message, /copyjobd-reader/);
    assert.notEqual(h.state, 'ok');
  } finally {
    await d.stop();
  }
  await fake.admin('POST', '/faults', { kind: 'awsError', operation: 'AssumeRole', code: 'RegionDisabledException', message: 'STS is not activated in this region', count: -1 });
  const d2 = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'disabled', AWS_REGION: 'eu-west-1' }), wait: 'socket' });
  try {
    const h = await healthError(d2, /RegionDisabledException/);
    assert.match(h.lastError.message, /not activated/);
    const snap = await calls();
    // STS is called in the source's region (the daemon's [aws] region), not $AWS_REGION.
    assert.ok(snap.calls.some((c) => c.action === 'AssumeRole' && c.region === 'us-east-1'), 'STS signed for the source\'s region');
  } finally {
    await d2.stop();
    await fake.admin('DELETE', '/faults');
  }
});

test('web identity from the environment re-reads the rotating token file on refresh', async () => {
  // Credentials that live 305 s are due for refresh (5 minutes ahead) 5 s after they are issued.
  await fake.admin('POST', '/sts/roles', { roleArn: WEB_ROLE, webIdentityTokens: WEB_TOKENS, expirySeconds: 305 });
  await fake.admin('POST', '/sts/calls/reset');
  writeConfig('');
  const tokenFile = join(home, 'web-identity-token');
  writeFileSync(tokenFile, `${WEB_TOKENS[0]}\n`);
  const d = await startDaemon({
    endpoint: fake.http,
    env: baseEnv({ AWS_ROLE_ARN: WEB_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_SESSION_NAME: 'irsa-test' }),
    config: '[sync]\ninterval = 1s\n',
  });
  try {
    let snap = await calls();
    const first = snap.calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
    assert.ok(first.length >= 1);
    assert.equal(first[0].webIdentityToken, WEB_TOKENS[0]);
    assert.equal(first[0].sessionName, 'irsa-test');
    assert.equal(first[0].status, 200);

    writeFileSync(tokenFile, `${WEB_TOKENS[1]}\n`); // the kubelet rotates it
    snap = await waitFor('a refresh with the new token', async () => {
      const s = await calls();
      return s.calls.some((c) => c.action === 'AssumeRoleWithWebIdentity' && c.webIdentityToken === WEB_TOKENS[1] && c.status === 200) ? s : false;
    }, 60000, 250);
    // Refreshed once per lifetime, not once per sync: at most one call per ~5 s of credentials.
    const n = snap.counts.AssumeRoleWithWebIdentity;
    assert.ok(n <= 6, `${n} AssumeRoleWithWebIdentity calls`);
    const h = await waitFor('health ok after the refresh', async () => {
      const r = await d.get('/v1/health');
      return r.json.state === 'ok' ? r.json : false;
    }, 30000, 200);
    assert.equal(h.state, 'ok');
    assertNoIssuedSecret(d.log(), snap);
  } finally {
    await d.stop();
  }
});

const SSO_CONFIG = [
  '[profile sso-new]', 'sso_session = corp', 'sso_account_id = 111122223333', 'sso_role_name = CopyJobsReader',
  '[sso-session corp]', 'sso_start_url = https://corp.awsapps.com/start', 'sso_region = us-east-1', 'sso_registration_scopes = sso:account:access',
  '[profile sso-old]', 'sso_start_url = https://legacy.awsapps.com/start', 'sso_region = eu-west-1',
  'sso_account_id = 111122223333', 'sso_role_name = CopyJobsReader', '',
].join('\n');

test('an IAM Identity Center profile uses the token aws sso login cached', async () => {
  writeConfig(SSO_CONFIG);
  await fake.admin('POST', '/sso', { accessToken: SSO_ACCESS, accountId: '111122223333', roleName: 'CopyJobsReader' });
  await fake.admin('POST', '/sts/calls/reset');
  writeFileSync(join(home, '.aws', 'sso', 'cache', `${sha1('corp')}.json`), JSON.stringify({
    startUrl: 'https://corp.awsapps.com/start', region: 'us-east-1', accessToken: SSO_ACCESS, expiresAt: iso(Date.now() + 3600_000),
  }), { mode: 0o600 });
  const d = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'sso-new' }), config: '[sync]\ninterval = 1h\n' });
  try {
    assert.equal((await d.post('/v1/sync?wait=true')).status, 200);
    const snap = await calls();
    assert.equal(snap.counts.GetRoleCredentials, 1);
    const c = snap.calls.find((x) => x.action === 'GetRoleCredentials');
    assert.equal(c.accessToken, SSO_ACCESS);
    assert.equal(c.accountId, '111122223333');
    assert.equal(c.roleName, 'CopyJobsReader');
    assertNoIssuedSecret(d.log(), snap);
  } finally {
    await d.stop();
  }
});

test('an expired IAM Identity Center token is refreshed with its refresh token and written back', async () => {
  writeConfig(SSO_CONFIG);
  await fake.admin('POST', '/sso', { clientId: 'cj-client-1', clientSecret: SSO_CLIENT_SECRET, refreshToken: SSO_REFRESH });
  await fake.admin('POST', '/sts/calls/reset');
  const cacheFile = join(home, '.aws', 'sso', 'cache', `${sha1('corp')}.json`);
  writeFileSync(cacheFile, JSON.stringify({
    startUrl: 'https://corp.awsapps.com/start', region: 'us-east-1', accessToken: 'cjSecTest/ssoAccessTokenExpired', expiresAt: iso(Date.now() - 60_000),
    clientId: 'cj-client-1', clientSecret: SSO_CLIENT_SECRET, registrationExpiresAt: iso(Date.now() + 86400_000), refreshToken: SSO_REFRESH,
  }), { mode: 0o600 });
  const d = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'sso-new' }), config: '[sync]\ninterval = 1h\n' });
  try {
    const snap = await calls();
    assert.equal(snap.counts.CreateToken, 1);
    const grc = snap.calls.find((x) => x.action === 'GetRoleCredentials');
    assert.match(grc.accessToken, /^cjFakeSsoAccess-/);
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    assert.equal(cached.accessToken, grc.accessToken, 'the new token is written back');
    assert.match(cached.refreshToken, /^cjFakeSsoRefresh-/);
    assert.ok(Date.parse(cached.expiresAt) > Date.now() + 3000_000);
    assert.equal(cached.clientId, 'cj-client-1', 'other fields are kept');
    const log = d.log();
    assert.ok(!log.includes(cached.accessToken) && !log.includes(cached.refreshToken));
    assertNoIssuedSecret(log, snap);
  } finally {
    await d.stop();
  }
});

test('an expired IAM Identity Center token without a refresh token: health says to log in', async () => {
  writeConfig(SSO_CONFIG);
  writeFileSync(join(home, '.aws', 'sso', 'cache', `${sha1('https://legacy.awsapps.com/start')}.json`), JSON.stringify({
    startUrl: 'https://legacy.awsapps.com/start', region: 'eu-west-1', accessToken: 'cjSecTest/ssoAccessTokenOld', expiresAt: iso(Date.now() - 3600_000),
  }), { mode: 0o600 });
  const d = await startDaemon({ endpoint: fake.http, env: baseEnv({ AWS_PROFILE: 'sso-old' }), wait: 'socket' });
  try {
    const h = await healthError(d, /aws sso login --profile sso-old/);
    assert.match(h.lastError.message, /profile sso-old/);
    assert.match(h.lastError.message, /expired/);
    assert.notEqual(h.state, 'ok');
  } finally {
    await d.stop();
  }
});
