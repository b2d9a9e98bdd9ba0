// A stand-in for copyjobd on a temporary Unix socket, so copyjobctl can be tested for real
// before (and independently of) the daemon: it serves canned answers in the daemon's shapes
// and records every request it gets, including which connection carried it.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Deterministic jobs in Bedrock's shape: every third one Failed, some with awkward text.
export function makeJobs(n, { account = '111122223333', start = Date.UTC(2024, 0, 1) } = {}) {
  const statuses = ['Completed', 'InProgress', 'Failed'];
  const jobs = [];
  for (let i = 0; i < n; i++) {
    const id = i.toString(36).padStart(12, '0');
    const status = statuses[i % 3];
    const job = {
      jobArn: `arn:aws:bedrock:us-east-1:${account}:model-copy-job/${id}`,
      status,
      creationTime: new Date(start + i * 60000).toISOString().replace('.000Z', 'Z'),
      targetModelArn: `arn:aws:bedrock:us-east-1:${account}:custom-model/copy-${id}`,
      targetModelName: `copied-model-${i}`,
      sourceAccountId: '444455556666',
      sourceModelArn: 'arn:aws:bedrock:us-west-2:444455556666:custom-model/base.model/abcdefghijkl',
    };
    if (status === 'Failed') job.failureMessage = `Copy failed: quota exceeded for job ${i}, retry later`;
    jobs.push(job);
  }
  return jobs;
}

// nextToken values that need percent-encoding ('+', '/', '='), like real opaque tokens.
const tokenFor = (offset) => Buffer.from(`offset:${offset}:padding>>>??`).toString('base64');
const offsetOf = (token) => {
  const m = /^offset:(\d+):/.exec(Buffer.from(token, 'base64').toString('utf8'));
  return m ? Number(m[1]) : NaN;
};

const json = (status, body, headers = {}) => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
export const awsError = (status, type, message) => json(status, { message }, { 'x-amzn-ErrorType': type });

export async function startStub({ jobs = makeJobs(10) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cj-stub-'));
  const socket = join(dir, 'copyjobd.sock');
  const requests = [];
  const sockets = new WeakMap();
  const openSockets = new Set();
  let nextConn = 1;

  const stub = {
    dir, socket, requests, jobs,
    cacheHeaders: { Age: '12', 'x-copyjobd-synced-at': '2024-05-01T12:00:00Z' },
    health: json(200, { state: 'ok', jobs: 10, lastSuccessfulSync: '2024-05-01T12:00:00Z', lastAttempt: '2024-05-01T12:00:00Z', lastError: null }),
    stats: json(200, { total: 10, byStatus: { InProgress: 3, Completed: 4, Failed: 3 }, oldestCreationTime: '2024-01-01T00:00:00Z', newestCreationTime: '2024-01-01T00:09:00Z' }),
    events: [],        // lines written by GET /v1/events before it holds the stream open
    overrides: new Map(), // "METHOD /path" -> (req, url, res) => response | undefined (if it answered itself)
    on(route, fn) { this.overrides.set(route, fn); },
    reset() { requests.length = 0; this.overrides.clear(); },
  };

  function list(url) {
    const q = url.searchParams;
    const max = Number(q.get('maxResults') ?? 1000);
    const offset = q.has('nextToken') ? offsetOf(q.get('nextToken')) : 0;
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      return awsError(400, 'ValidationException', 'maxResults: must be from 1 to 1000');
    if (Number.isNaN(offset)) return awsError(400, 'ValidationException', 'nextToken: not a token from this server');
    const page = stub.jobs.slice(offset, offset + max);
    const body = { modelCopyJobSummaries: page };
    if (offset + max < stub.jobs.length) body.nextToken = tokenFor(offset + max);
    return json(200, body, stub.cacheHeaders);
  }

  function route(req, url, res) {
    const key = `${req.method} ${url.pathname}`;
    if (stub.overrides.has(key)) return stub.overrides.get(key)(req, url, res);
    if (key === 'GET /model-copy-jobs') return list(url);
    if (req.method === 'GET' && url.pathname.startsWith('/model-copy-jobs/')) {
      const arn = decodeURIComponent(url.pathname.slice('/model-copy-jobs/'.length));
      const job = stub.jobs.find((j) => j.jobArn === arn);
      return job ? json(200, job, stub.cacheHeaders) : awsError(404, 'ResourceNotFoundException', `no model copy job ${arn}`);
    }
    if (key === 'GET /v1/stats') return stub.stats;
    if (key === 'GET /v1/health') return stub.health;
    if (key === 'POST /v1/sync') {
      if (url.searchParams.get('wait') === 'true')
        return json(200, { result: 'ok', error: null, jobs: 10, changes: { created: 2, updated: 1, removed: 0 } });
      return json(202, { started: true, joined: false });
    }
    if (key === 'GET /v1/events') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const line of stub.events) res.write(line + '\n');
      return undefined; // held open until the client goes away or the stub stops
    }
    return awsError(404, 'ResourceNotFoundException', `no route for ${key}`);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://localhost');
      requests.push({
        method: req.method, target: req.url, pathname: url.pathname, query: url.search.slice(1),
        params: Object.fromEntries(url.searchParams), conn: sockets.get(req.socket),
        headers: req.headers, body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = route(req, url, res);
      if (!answer) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  server.keepAliveTimeout = 10000;
  server.on('connection', (s) => {
    sockets.set(s, nextConn++);
    openSockets.add(s);
    s.on('close', () => openSockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });

  stub.stop = async () => {
    for (const s of openSockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  return stub;
}
