// The official AWS SDK for JavaScript (@aws-sdk/client-bedrock, installed in tests/sdk by
// `npm ci`) pointed at copyjobd, over the loopback TCP listener and over the Unix socket:
// its own paginator, GetModelCopyJob, and its error classes, against the fake's ground truth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { requireEnv, startFake, startDaemon, expectedList, instantNs } from './lib/harness.mjs';
import { SOURCE_DIR, freePort } from './lib/systemd-helpers.mjs';

const SDK_DIR = join(SOURCE_DIR, 'tests/sdk');
const skip = existsSync(join(SDK_DIR, 'node_modules/@aws-sdk/client-bedrock')) ? false
  : 'tests/sdk has no node_modules: run `npm ci` there (scripts/setup does)';

let sdk, NodeHttpHandler, fake, daemon, port, truth, agent;
const clients = {};

before(async () => {
  if (skip) return;
  requireEnv();
  // Node 20 is what Debian 12 and this project use; the SDK's notice about 22 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const require = createRequire(join(SDK_DIR, 'package.json'));
  sdk = await import(require.resolve('@aws-sdk/client-bedrock'));
  ({ NodeHttpHandler } = await import(require.resolve('@smithy/node-http-handler')));

  fake = await startFake({ jobs: 2600, seed: 77 });
  port = await freePort();
  daemon = await startDaemon({ endpoint: fake.http, config: `listen_tcp = 127.0.0.1:${port}\n` });
  truth = await fake.groundTruth();

  // Signatures are not checked by copyjobd; the SDK still wants credentials to sign with.
  const common = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDNOTCHECKED000000', secretAccessKey: 'not-checked-by-copyjobd' },
    maxAttempts: 1,
  };
  clients.tcp = new sdk.BedrockClient({ ...common, endpoint: `http://127.0.0.1:${port}` });
  // The socket: an http.Agent whose connections go to the Unix socket; the URL only names
  // the Host header.
  agent = new http.Agent({ socketPath: daemon.socket, keepAlive: true });
  clients.unix = new sdk.BedrockClient({
    ...common,
    endpoint: 'http://localhost',
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
});

after(async () => {
  for (const c of Object.values(clients)) c.destroy();
  if (agent) agent.destroy();
  if (daemon) await daemon.stop();
  if (fake) await fake.stop();
});

// The SDK turns creationTime into a Date (millisecond precision).
const ms = (iso) => Number(instantNs(iso) / 1000000n);

async function paginate(client, input, pageSize) {
  const arns = [], summaries = [];
  let pages = 0;
  for await (const page of sdk.paginateListModelCopyJobs({ client, pageSize }, input)) {
    pages++;
    assert.ok(page.modelCopyJobSummaries.length <= pageSize);
    for (const s of page.modelCopyJobSummaries) {
      arns.push(s.jobArn);
      summaries.push(s);
    }
    assert.ok(pages < 1000, 'the paginator never ends');
  }
  return { arns, summaries, pages };
}

for (const via of ['tcp', 'unix']) {
  test(`${via}: paginateListModelCopyJobs with filters matches the ground truth`, { skip }, async () => {
    const client = clients[via];
    const sorted = [...truth].sort((a, b) => (instantNs(a.creationTime) < instantNs(b.creationTime) ? -1 : 1));
    const after = new Date(ms(sorted[Math.floor(sorted.length / 4)].creationTime));
    const before = new Date(ms(sorted[Math.floor((sorted.length * 3) / 4)].creationTime));
    const cases = [
      [{}, 1000],
      [{ statusEquals: 'Failed', sortOrder: 'Ascending' }, 37],
      [{ creationTimeAfter: after, creationTimeBefore: before, sortOrder: 'Descending' }, 250],
      [{ sourceAccountEquals: truth[3].sourceAccountId, statusEquals: 'Completed' }, 50],
      // The SDK's member is targetModelNameContains; on the wire, outputModelNameContains.
      [{ targetModelNameContains: (truth[9].targetModelName ?? '').slice(0, 3) }, 400],
    ];
    for (const [input, pageSize] of cases) {
      // The wire form of the query as the SDK sends it: Dates as ISO 8601 in UTC. (Before
      // paginating: the paginator writes nextToken and maxResults into its input.)
      const q = Object.fromEntries(Object.entries(input).map(([k, v]) => [
        k === 'targetModelNameContains' ? 'outputModelNameContains' : k, v instanceof Date ? v.toISOString() : v]));
      const { arns, pages } = await paginate(client, { ...input }, pageSize);
      const want = expectedList(truth, q).map((j) => j.jobArn);
      assert.ok(want.length > 0 && (want.length < truth.length || !Object.keys(q).length),
        `${JSON.stringify(q)} matches ${want.length} of ${truth.length}: a vacuous case`);
      assert.deepEqual(arns, want, `${via} ${JSON.stringify(q)}`);
      // One page per pageSize jobs (a service may end with an empty page after a full one).
      const full = Math.max(1, Math.ceil(want.length / pageSize));
      assert.ok(pages === full || (pages === full + 1 && want.length % pageSize === 0), `${pages} pages`);
    }
  });

  test(`${via}: every field of a page as the SDK parsed it`, { skip }, async () => {
    const { summaries } = await paginate(clients[via], { statusEquals: 'Failed' }, 1000);
    const byArn = new Map(truth.map((j) => [j.jobArn, j]));
    assert.ok(summaries.length > 10);
    for (const s of summaries) {
      const t = byArn.get(s.jobArn);
      assert.ok(t, `unknown job ${s.jobArn}`);
      assert.ok(s.creationTime instanceof Date);
      assert.equal(s.creationTime.getTime(), ms(t.creationTime));
      for (const k of ['status', 'targetModelArn', 'targetModelName', 'sourceAccountId', 'sourceModelArn',
        'targetModelKmsKeyArn', 'failureMessage', 'sourceModelName'])
        assert.equal(s[k], t[k], `${k} of ${s.jobArn}`);
      assert.deepEqual(s.targetModelTags ?? [], t.targetModelTags ?? []);
    }
  });

  test(`${via}: GetModelCopyJob returns the job`, { skip }, async () => {
    for (const t of [truth[0], truth[1234], truth.find((j) => j.status === 'Failed'), truth.at(-1)]) {
      const got = await clients[via].send(new sdk.GetModelCopyJobCommand({ jobArn: t.jobArn }));
      assert.equal(got.$metadata.httpStatusCode, 200);
      assert.equal(got.jobArn, t.jobArn);
      assert.equal(got.status, t.status);
      assert.equal(got.creationTime.getTime(), ms(t.creationTime));
      for (const k of ['targetModelArn', 'targetModelName', 'sourceAccountId', 'sourceModelArn', 'failureMessage'])
        assert.equal(got[k], t[k], `${k} of ${t.jobArn}`);
    }
  });

  test(`${via}: errors arrive as the SDK's exception classes`, { skip }, async () => {
    await assert.rejects(clients[via].send(new sdk.ListModelCopyJobsCommand({ maxResults: 5000 })), (e) => {
      assert.ok(e instanceof sdk.ValidationException, `${e.name}: ${e.message}`);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.match(e.message, /maxResults/);
      return true;
    });
    const missing = truth[0].jobArn.replace(/[^/]+$/, 'zzzzzzzzzzzz');
    await assert.rejects(clients[via].send(new sdk.GetModelCopyJobCommand({ jobArn: missing })), (e) => {
      assert.ok(e instanceof sdk.ResourceNotFoundException, `${e.name}: ${e.message}`);
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    });
  });
}
