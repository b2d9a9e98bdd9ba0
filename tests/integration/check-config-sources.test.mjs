// copyjobd --check-config with several sources, against the fake's STS: every source printed
// with where its credentials come from and its account (never a secret); a source's role that
// STS refuses is an error naming AccessDenied; two sources that the file cannot tell apart (two
// profiles with the same keys) but that are the same account and region are refused once their
// credentials tell.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, startFake, startDaemon, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './lib/harness.mjs';

const PARTNER = '210987654321';
const PARTNER_ROLE = `arn:aws:iam::${PARTNER}:role/copyjobd-reader`;
const EXTERNAL_ID = 'cj-ext-check-7';

let fake;
let home;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 50 });
  await fake.admin('POST', '/sts/roles', { roleArn: PARTNER_ROLE, externalId: EXTERNAL_ID });
  home = mkdtempSync(join(tmpdir(), 'cj-check-home-'));
  mkdirSync(join(home, '.aws'), { mode: 0o700 });
  // A second profile with the very same keys: another name, the same account.
  writeFileSync(join(home, '.aws', 'credentials'),
    `[same-account]\naws_access_key_id = ${TEST_ACCESS_KEY_ID}\naws_secret_access_key = ${TEST_SECRET_ACCESS_KEY}\n`,
    { mode: 0o600 });
  writeFileSync(join(home, '.aws', 'config'), '', { mode: 0o600 });
});

after(async () => {
  await fake?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function checkConfig(config) {
  const d = await startDaemon({
    endpoint: fake.http, config, args: ['--check-config'], wait: 'none',
    env: {
      HOME: home, AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
      AWS_CONFIG_FILE: join(home, '.aws', 'config'), AWS_ENDPOINT_URL_STS: fake.http,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  const { code } = await d.exited;
  const log = d.log();
  await d.stop();
  assert.ok(!log.includes(TEST_SECRET_ACCESS_KEY), 'the secret key is printed');
  return { code, log };
}

test('--check-config prints every source, its credential source and its account', async () => {
  const { account: caller } = await fake.admin('GET', '/info');
  assert.match(caller, /^\d{12}$/);
  const { code, log } = await checkConfig([
    '[source.west]', 'region = us-west-2',
    '[source.partner]', 'region = us-east-1', `role_arn = ${PARTNER_ROLE}`, `external_id = ${EXTERNAL_ID}`,
  ].join('\n'));
  assert.equal(code, 0, log);
  for (const name of ['us-east-1', 'west', 'partner']) assert.match(log, new RegExp(`^\\[source\\.${name}\\]$`, 'm'), name);
  assert.match(log, /\[credentials\.us-east-1\]\nsource = environment\naccess_key_id = AKID\*\*\*\*\nsession_token = none\naccount = (\d{12})\n/);
  assert.equal(/\[credentials\.us-east-1\][^[]*account = (\d{12})/.exec(log)[1], caller);
  assert.equal(/\[credentials\.west\][^[]*account = (\d{12})/.exec(log)[1], caller);
  const partner = /\[credentials\.partner\]\nsource = ([^\n]*)\n[^[]*account = (\d{12})/.exec(log);
  assert.ok(partner, log);
  assert.match(partner[1], new RegExp(`^role ${PARTNER_ROLE}, assumed with environment`));
  assert.equal(partner[2], PARTNER);
  assert.match(log, /^external_id = \(set\)$/m);
  assert.ok(!log.includes(EXTERNAL_ID), 'the external id is printed');
});

test('a role STS refuses fails --check-config, naming AccessDenied', async () => {
  const { code, log } = await checkConfig([
    '[source.partner]', 'region = us-east-1', `role_arn = ${PARTNER_ROLE}`, 'external_id = not-the-right-one',
  ].join('\n'));
  assert.notEqual(code, 0, log);
  assert.match(log, /\[credentials\.partner\]\nerror = STS AssumeRole of arn:aws:iam::210987654321:role\/copyjobd-reader: AccessDenied/);
  assert.match(log, /source partner: no usable AWS credentials/);
});

test('two sources that turn out to be the same account and region fail --check-config', async () => {
  const { code, log } = await checkConfig(['[source.again]', 'region = us-east-1', 'profile = same-account'].join('\n'));
  assert.notEqual(code, 0, log);
  assert.match(log, /sources us-east-1 and again are the same account and region \(\d{12}, us-east-1\)/);
});
