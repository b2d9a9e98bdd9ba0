// Process behaviour: the ready line, HTTPS with the printed CA, signals, options.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, isAbsolute } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SERVER, startFake } from '../lib/harness.mjs';
import { admin, bedrockRequest, rawRequest } from '../lib/client.mjs';

const T = { timeout: 120_000 };

describe('the server process', T, () => {
  it('prints exactly one JSON ready line, serves HTTPS with its CA, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-bedrock-test-'));
    const fake = await startFake(['--jobs', '20', '--https-port', '0', '--tmp-dir', dir]);
    try {
      const { info } = fake;
      assert.deepEqual(Object.keys(info), ['http', 'https', 'caFile', 'admin', 'pid']);
      assert.match(info.http, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(info.https, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.admin, `${info.http}/__admin`);
      assert.equal(info.pid, fake.proc.pid);
      assert.ok(isAbsolute(info.caFile) && info.caFile.startsWith(dir), 'CA under --tmp-dir');
      const ca = readFileSync(info.caFile);

      const res = await bedrockRequest(info.https, { query: { maxResults: 3 }, ca });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.modelCopyJobSummaries.length, 3);
      const port = new URL(info.https).port;
      const byName = await bedrockRequest(`https://localhost:${port}`, { query: { maxResults: 1 }, ca });
      assert.equal(byName.status, 200, 'certificate names localhost too');
      await assert.rejects(bedrockRequest(info.https, { query: { maxResults: 1 } }), /certificate/i, 'untrusted without the CA');

      const unsignedAdmin = await rawRequest(`${info.https}/__admin/stats`, { ca });
      assert.equal(unsignedAdmin.status, 403, 'no admin API on the HTTPS listener');
      assert.equal((await admin(info.admin, 'GET', '/stats')).json.requests, 3, 'the untrusted handshake never became a request');
    } finally {
      const { code, signal } = await fake.stop('SIGTERM');
      assert.equal(code, 0);
      assert.equal(signal, null);
      assert.equal(fake.stdoutAfterReady(), '', 'nothing on stdout after the ready line');
      assert.equal(readdirSync(dir).length, 0, 'certificate directory removed at exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 0 on SIGINT; --https-port -1 disables HTTPS', async () => {
    const fake = await startFake(['--jobs', '5', '--https-port', '-1']);
    assert.equal(fake.info.https, null);
    assert.equal(fake.info.caFile, null);
    const res = await bedrockRequest(fake.info.http, {});
    assert.equal(res.status, 200);
    const { code } = await fake.stop('SIGINT');
    assert.equal(code, 0);
  });

  it('honours --port, --region and credentials options', async () => {
    const fake = await startFake(['--jobs', '5', '--https-port', '-1', '--region', 'eu-west-3', '--access-key-id', 'AKIDOTHER', '--secret-access-key', 'other/secret']);
    try {
      const creds = { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other/secret' };
      const ok = await bedrockRequest(fake.info.http, { region: 'eu-west-3', credentials: creds });
      assert.equal(ok.status, 200, ok.text);
      assert.ok(ok.json.modelCopyJobSummaries.every((j) => j.jobArn.startsWith('arn:aws:bedrock:eu-west-3:')));
      assert.equal((await bedrockRequest(fake.info.http, { region: 'eu-west-3' })).status, 403);
    } finally {
      await fake.stop();
    }
  });

  it('refuses bad options and non-loopback addresses with exit status 2', () => {
    for (const args of [['--host', '10.0.0.1'], ['--host', '0.0.0.0'], ['--port', 'x'], ['--jobs', '-5'], ['--bogus', '1'], ['--region', 'US EAST']]) {
      const r = spawnSync(process.execPath, [SERVER, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.length > 0);
    }
  });

  it('is found where ctest and the integration tests expect it', () => {
    assert.ok(existsSync(join(dirname(SERVER), 'package.json')));
  });
});
