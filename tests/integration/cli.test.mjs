// copyjobctl against a stub daemon on a temporary Unix socket: the real binary, real HTTP
// over a real socket. Checks what it sends (exact query strings) and what it prints.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStub, makeJobs, awsError } from './lib/stub-daemon.mjs';

const CTL = process.env.COPYJOBCTL;
let stub;

before(async () => {
  if (!CTL || !existsSync(CTL)) throw new Error(`COPYJOBCTL must point at the built copyjobctl (got ${CTL})`);
  stub = await startStub({ jobs: makeJobs(10) });
});
after(async () => { if (stub) await stub.stop(); });
beforeEach(() => {
  stub.reset();
  stub.jobs = makeJobs(10);
});

// Runs copyjobctl; resolves {code, signal, stdout, stderr}. Killed if it outlives timeoutMs.
// `prefix` runs it through another program (setpriv).
function run(args, { env = {}, timeoutMs = 30000, onStdout, prefix = [] } = {}) {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, CTL, ...args];
    const proc = spawn(argv[0], argv.slice(1), {
      env: {
        PATH: process.env.PATH, LANG: 'C.UTF-8',
        ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1',
        UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.stdout.on('data', (d) => { stdout += d; onStdout?.(stdout, proc); });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('error', reject);
    proc.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}
const ctl = (args, opts) => run(['--socket', stub.socket, ...args], opts);

function assertClean(res) {
  assert.doesNotMatch(res.stderr, /AddressSanitizer|LeakSanitizer|runtime error/, res.stderr);
}

// RFC 4180 reader for the test's side.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    assert.notEqual(c, '\n', 'a bare LF outside quotes: lines must end in CRLF');
    field += c; i++;
  }
  assert.equal(field, '', 'the last line ends in CRLF');
  return rows;
}

const width = (line) => [...line].length;

test('--version and --help', async () => {
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^copyjobctl \d+\.\d+\.\d+\n$/);
  const h = await run(['--help']);
  assert.equal(h.code, 0);
  for (const word of ['list', 'get', 'stats', 'health', 'sync', 'watch', '--socket', 'COPYJOBD_SOCKET'])
    assert.ok(h.stdout.includes(word), `help mentions ${word}`);
  assert.match(h.stdout, /^\s+0\s+success/m);
  assert.match(h.stdout, /^\s+1\s+an error/m);
  assert.match(h.stdout, /^\s+2\s+copyjobd could not be reached/m);
  assert.match(h.stdout, /^\s+64\s+usage error/m);
  assert.equal(stub.requests.length, 0);
});

test('list without options asks for 100 rows and prints a table with a summary', async () => {
  const res = await ctl(['list']);
  assertClean(res);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(stub.requests.length, 1);
  assert.equal(stub.requests[0].method, 'GET');
  assert.equal(stub.requests[0].target, '/model-copy-jobs?maxResults=100');
  const lines = res.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^\s+CREATED\s+STATUS\s+SOURCE ACCOUNT\s+TARGET NAME\s+JOB ID\s+FAILURE$/);
  assert.equal(lines.length, 1 + 10 + 1);
  assert.match(lines.at(-1), /^10 jobs; cache synced 2024-05-01T12:00:00Z \(12s ago\)$/);
  const row = lines[1];
  assert.ok(row.includes('2024-01-01 00:00:00'), row);
  assert.ok(row.includes('Completed') && row.includes('444455556666') && row.includes('copied-model-0'), row);
  assert.ok(row.includes('000000000000'), 'the job id is the last ARN segment');
  assert.ok(!row.includes('arn:aws'), 'the table shows the id, not the ARN');
});

test('every list option becomes the exact Bedrock query key, percent-encoded', async () => {
  const model = 'arn:aws:bedrock:us-west-2:444455556666:custom-model/base.model/abcdefghijkl';
  const res = await ctl(['list', '--status', 'Failed', '--since', '2024-01-01T02:00:00+02:00',
    '--until', '2024-02-01T12:30:00.5Z', '--account', '444455556666', '--source-model', model,
    '--name-contains', 'copied-model', '--sort', 'asc', '--limit', '7', '--output', 'json']);
  assertClean(res);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(stub.requests[0].target,
    '/model-copy-jobs?statusEquals=Failed&creationTimeAfter=2024-01-01T00%3A00%3A00Z' +
    '&creationTimeBefore=2024-02-01T12%3A30%3A00.500Z&sourceAccountEquals=444455556666' +
    '&sourceModelArnEquals=arn%3Aaws%3Abedrock%3Aus-west-2%3A444455556666%3Acustom-model%2Fbase.model%2Fabcdefghijkl' +
    '&outputModelNameContains=copied-model&sortOrder=Ascending&maxResults=7');

  stub.reset();
  const desc = await ctl(['list', '--sort', 'desc', '--status', 'inprogress']);
  assert.equal(desc.code, 0, desc.stderr);
  assert.equal(stub.requests[0].target, '/model-copy-jobs?statusEquals=InProgress&sortOrder=Descending&maxResults=100');
});

test('relative --since/--until become ISO 8601 instants before now', async () => {
  const t0 = Date.now();
  const res = await ctl(['list', '--since', '7d', '--until', '90m']);
  const t1 = Date.now();
  assert.equal(res.code, 0, res.stderr);
  const p = stub.requests[0].params;
  for (const [key, ago] of [['creationTimeAfter', 7 * 86400000], ['creationTimeBefore', 90 * 60000]]) {
    assert.match(p[key], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$/, `${key}=${p[key]}`);
    const t = Date.parse(p[key]);
    assert.ok(t >= t0 - ago - 1000 && t <= t1 - ago + 1000, `${key}=${p[key]} is ${ago} ms before the run`);
  }
  assert.match(stub.requests[0].query, /creationTimeAfter=[^&]*%3A/, 'colons are percent-encoded');
});

test('--all follows nextToken over one kept-alive connection; json has every row and no token', async () => {
  stub.jobs = makeJobs(2500);
  const res = await ctl(['list', '--all', '--output', 'json']);
  assertClean(res);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(stub.requests.length, 3);
  assert.deepEqual(stub.requests.map((r) => r.params.maxResults), ['1000', '1000', '1000']);
  assert.equal(stub.requests[0].params.nextToken, undefined);
  for (const r of stub.requests.slice(1)) {
    assert.ok(r.params.nextToken, 'later pages send the token');
    assert.match(r.query, /nextToken=[A-Za-z0-9%._~-]+(&|$)/, 'the token is percent-encoded');
    assert.ok(/%2B|%2F|%3D/.test(r.query), `reserved characters of the token are encoded: ${r.query}`);
  }
  assert.equal(new Set(stub.requests.map((r) => r.conn)).size, 1, 'all pages on one connection');
  const out = JSON.parse(res.stdout);
  assert.deepEqual(Object.keys(out), ['modelCopyJobSummaries']);
  assert.deepEqual(out.modelCopyJobSummaries, stub.jobs);
  assert.match(res.stdout, /^\{\n  "modelCopyJobSummaries": \[\n    \{\n      "jobArn": /, 'pretty-printed');
});

test('--limit caps --all; without --all the page\'s nextToken is kept in json', async () => {
  stub.jobs = makeJobs(2500);
  const capped = await ctl(['list', '--all', '--limit', '1500', '--output', 'ndjson']);
  assert.equal(capped.code, 0, capped.stderr);
  assert.equal(stub.requests.length, 2);
  assert.deepEqual(stub.requests.map((r) => r.params.maxResults), ['1000', '1000']);
  const lines = capped.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1500);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), stub.jobs.slice(0, 1500));

  stub.reset();
  const small = await ctl(['list', '--all', '--limit', '5', '--output', 'json']);
  assert.equal(small.code, 0, small.stderr);
  assert.deepEqual(stub.requests.map((r) => r.params.maxResults), ['5']);
  assert.equal(JSON.parse(small.stdout).modelCopyJobSummaries.length, 5);
  assert.equal(JSON.parse(small.stdout).nextToken, undefined);

  stub.reset();
  const page = await ctl(['list', '--limit', '3', '--output', 'json']);
  assert.equal(page.code, 0, page.stderr);
  assert.equal(stub.requests.length, 1);
  const out = JSON.parse(page.stdout);
  assert.deepEqual(out.modelCopyJobSummaries, stub.jobs.slice(0, 3));
  assert.equal(typeof out.nextToken, 'string');

  stub.reset();
  const table = await ctl(['list', '--limit', '3']);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^3 jobs; more match: use --all or a larger --limit/m);
});

test('ndjson prints one compact job per line', async () => {
  const res = await ctl(['list', '--output', 'ndjson']);
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 10);
  lines.forEach((l, i) => assert.equal(l, JSON.stringify(stub.jobs[i]), 'compact, fields in order'));
});

test('csv: RFC 4180 header, CRLF, quoting of commas and quotes, one line per record; empty for missing', async () => {
  stub.jobs = makeJobs(4);
  stub.jobs[2].failureMessage = 'bad "quota", see\nline two';
  delete stub.jobs[0].targetModelName;
  const res = await ctl(['list', '--output', 'csv']);
  assert.equal(res.code, 0, res.stderr);
  const rows = parseCsv(res.stdout);
  const cols = ['jobArn', 'status', 'creationTime', 'sourceAccountId', 'sourceModelArn', 'targetModelArn', 'targetModelName', 'failureMessage'];
  assert.deepEqual(rows[0], cols);
  assert.equal(rows.length, 5);
  // A line break inside a value becomes a space: every record is one line.
  const expected = (job, c) => (job[c] ?? '').replaceAll('\n', ' ');
  rows.slice(1).forEach((row, i) => assert.deepEqual(row, cols.map((c) => expected(stub.jobs[i], c)), `row ${i}`));
  assert.ok(res.stdout.includes('"bad ""quota"", see line two"'), 'quoted and doubled');
  assert.equal(res.stdout.split('\r\n').length, 6, 'five records, one line each');
  assert.ok(res.stdout.split('\r\n')[1].includes(',Completed,'), 'plain fields stay unquoted');
});

test('table fits COLUMNS=60 and COLUMNS=200, marks failed jobs, never emits raw control characters', async () => {
  stub.jobs = makeJobs(6);
  stub.jobs[1].targetModelName = 'a-very-long-target-model-name-that-goes-on-and-on-for-a-while-x';
  stub.jobs[2].failureMessage = 'evil \u001b[2J\u001b]0;title\u0007 text\nand a newline \u202e reversed';
  for (const columns of [60, 200, 100, 30]) {
    const res = await ctl(['list'], { env: { COLUMNS: String(columns) } });
    assertClean(res);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    for (const line of lines) assert.ok(width(line) <= columns, `COLUMNS=${columns}: ${width(line)} > ${columns}: ${JSON.stringify(line)}`);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/.test(res.stdout), 'no control characters (or colour: not a TTY)');
    const rows = lines.slice(1, 7);
    assert.match(lines[7], /^6 jobs/, 'the summary follows the rows (wrapped when narrow)');
    rows.forEach((row, i) => assert.equal(row[0], stub.jobs[i].status === 'Failed' ? '!' : ' ', `marker of row ${i} at ${columns}`));
    if (columns === 200) {
      assert.ok(lines[0].includes('FAILURE'), 'room for the failure column');
      assert.ok(rows[2].includes('evil ?[2J?]0;title? text and a newline ? reversed'), rows[2]);
      assert.ok(rows[1].includes(stub.jobs[1].targetModelName), 'the long name fits at 200');
    }
    if (columns === 60) {
      assert.ok(!lines[0].includes('FAILURE'), 'no room for the failure column at 60');
      assert.ok(rows[1].includes('\u2026'), 'a cut cell ends in an ellipsis');
      assert.ok(rows.every((r) => /\b[0-9a-z]{12}$/.test(r)), 'the job id survives, whole');
    }
  }
  const wide = await ctl(['list'], { env: { COLUMNS: 'junk' } });
  for (const line of wide.stdout.trimEnd().split('\n')) assert.ok(width(line) <= 120, 'default width 120');
});

test('missing fields print as "-"; a malformed answer is an error, not a crash', async () => {
  stub.jobs = [{ jobArn: 'arn:aws:bedrock:us-east-1:111122223333:model-copy-job/zzzzzzzzzzzz' }, { status: 'Failed' }];
  const res = await ctl(['list']);
  assert.equal(res.code, 0, res.stderr);
  const rows = res.stdout.split('\n').slice(1, 3);
  assert.match(rows[0], /^\s+-\s+-\s+-\s+-\s+zzzzzzzzzzzz$/);
  assert.match(rows[1], /^!\s+-\s+Failed\s+-\s+-\s+-$/);

  for (const [body, message] of [['{"modelCopyJobSummaries": [', /invalid JSON/], ['[1,2]', /not an object/],
    ['{"modelCopyJobSummaries": "x"}', /not an array/], ['{"modelCopyJobSummaries": [1]}', /not an object/],
    ['{"modelCopyJobSummaries": [], "nextToken": 5}', /invalid nextToken/]]) {
    stub.on('GET /model-copy-jobs', () => ({ status: 200, headers: {}, body }));
    const bad = await ctl(['list', '--all', '--output', 'json']);
    assertClean(bad);
    assert.equal(bad.code, 1, body);
    assert.match(bad.stderr, message);
    assert.equal(bad.stdout, '', 'nothing half-written on stdout');
  }
  stub.on('GET /model-copy-jobs', () => ({ status: 200, headers: {}, body: JSON.stringify({ modelCopyJobSummaries: [], nextToken: 'same' }) }));
  const loop = await ctl(['list', '--all']);
  assert.equal(loop.code, 1);
  assert.match(loop.stderr, /same nextToken twice/);
});

test('get ARN: the ARN percent-encoded in the path; key: value lines or JSON', async () => {
  const job = stub.jobs[2];
  job.targetModelTags = [{ key: 'team', value: 'ml' }, { key: 'env', value: 'prod' }];
  const res = await ctl(['get', job.jobArn]);
  assertClean(res);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(stub.requests[0].target, '/model-copy-jobs/' + encodeURIComponent(job.jobArn).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()));
  assert.ok(stub.requests[0].target.includes('arn%3Aaws%3Abedrock') && stub.requests[0].target.includes('%2F'));
  assert.match(res.stdout, new RegExp(`^jobArn: +${job.jobArn}$`, 'm'));
  assert.match(res.stdout, /^status: +Failed$/m);
  assert.match(res.stdout, new RegExp(`^failureMessage: +${job.failureMessage}$`, 'm'));
  assert.match(res.stdout, /^targetModelKmsKeyArn: +-$/m, 'a missing field prints as -');
  assert.match(res.stdout, /^targetModelTags: +team=ml, env=prod$/m);

  const js = await ctl(['get', '--output', 'json', job.jobArn]);
  assert.equal(js.code, 0);
  assert.deepEqual(JSON.parse(js.stdout), job);

  const missing = await ctl(['get', 'arn:aws:bedrock:us-east-1:111122223333:model-copy-job/nothinghere0']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^copyjobctl: ResourceNotFoundException: no model copy job arn:aws:bedrock:/);
});

test('a daemon error answer: "copyjobctl: <Type>: <message>", exit 1', async () => {
  stub.on('GET /model-copy-jobs', () => awsError(400, 'ValidationException', 'maxResults: must be from 1 to 1000'));
  const res = await ctl(['list']);
  assertClean(res);
  assert.equal(res.code, 1);
  assert.equal(res.stderr, 'copyjobctl: ValidationException: maxResults: must be from 1 to 1000\n');
  assert.equal(res.stdout, '');

  stub.on('GET /model-copy-jobs', () => awsError(429, 'aws.protocols#ThrottlingException:http://internal', 'slow down'));
  const thr = await ctl(['list']);
  assert.equal(thr.stderr, 'copyjobctl: ThrottlingException: slow down\n');

  stub.on('GET /model-copy-jobs', () => ({ status: 502, headers: {}, body: 'gateway trouble' }));
  const bare = await ctl(['list']);
  assert.equal(bare.code, 1);
  assert.equal(bare.stderr, 'copyjobctl: copyjobd answered HTTP 502\n');
});

test('an answer over 64 MiB is refused, not buffered without end', async () => {
  const huge = JSON.stringify({ total: 1, pad: 'x'.repeat(65 * 1024 * 1024) });
  stub.on('GET /v1/stats', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: huge }));
  const res = await ctl(['stats']);
  assertClean(res);
  assert.equal(res.code, 1);
  assert.equal(res.stderr, "copyjobctl: copyjobd's answer is larger than 64 MiB; refusing it\n");
  assert.equal(res.stdout, '');
});

test('an unreachable daemon: exit 2 with what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-ctl-'));
  try {
    for (const path of [join(dir, 'missing.sock'), join(dir, 'not-a-socket')]) {
      if (path.endsWith('not-a-socket')) writeFileSync(path, '');
      for (const cmd of [['list'], ['health'], ['get', stub.jobs[0].jobArn], ['sync', '--wait'], ['watch']]) {
        const res = await run(['--socket', path, ...cmd]);
        assertClean(res);
        assert.equal(res.code, 2, `${cmd[0]} at ${path}: ${res.stderr}`);
        assert.equal(res.stderr, `copyjobctl: cannot reach copyjobd at ${path}: is copyjobd running? (systemctl status copyjobd.socket)\n`);
        assert.equal(res.stdout, '');
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a socket the user may not open: exit 2, permission hint', async (t) => {
  // Root ignores file permissions: then run copyjobctl as nobody, if setpriv can.
  let prefix = [];
  if (process.getuid() === 0) {
    prefix = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    const probe = spawnSync(prefix[0], [...prefix.slice(1), CTL, '--version']);
    if (probe.status !== 0) return t.skip('running as root and setpriv cannot run copyjobctl as nobody');
  }
  const s = await startStub();
  try {
    chmodSync(s.dir, 0o000);
    const res = await run(['--socket', s.socket, 'list'], { prefix });
    assertClean(res);
    assert.equal(res.code, 2, res.stderr);
    assert.equal(res.stderr, `copyjobctl: cannot reach copyjobd at ${s.socket}: permission denied: is your user in group copyjobd?\n`);
    assert.equal(s.requests.length, 0);
  } finally {
    chmodSync(s.dir, 0o700);
    await s.stop();
  }
});

test('health: exit 0 when ok, 1 when starting, degraded or stale (503)', async () => {
  const ok = await ctl(['health']);
  assertClean(ok);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^state: +ok$/m);
  assert.match(ok.stdout, /^jobs: +10$/m);
  assert.match(ok.stdout, /^last error: +-$/m);
  assert.equal(stub.requests[0].target, '/v1/health');

  for (const state of ['degraded', 'stale', 'starting']) {
    stub.on('GET /v1/health', () => ({ status: 503, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state, jobs: 3, lastSuccessfulSync: null, lastAttempt: '2024-05-01T12:00:00Z',
        lastError: { type: 'ThrottlingException', message: 'Rate exceeded' } }) }));
    const res = await ctl(['health']);
    assertClean(res);
    assert.equal(res.code, 1, state);
    assert.match(res.stdout, new RegExp(`^state: +${state}$`, 'm'));
    assert.match(res.stdout, /^last error: +ThrottlingException: Rate exceeded$/m);
    assert.match(res.stdout, /^last successful sync: +-$/m);
    const js = await ctl(['health', '--output', 'json']);
    assert.equal(js.code, 1);
    assert.equal(JSON.parse(js.stdout).state, state);
  }
  stub.on('GET /v1/health', () => awsError(503, 'ServiceUnavailableException', 'stopping'));
  const err = await ctl(['health']);
  assert.equal(err.code, 1);
  assert.equal(err.stderr, 'copyjobctl: ServiceUnavailableException: stopping\n');
});

test('stats: table and json', async () => {
  const res = await ctl(['stats']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(stub.requests[0].target, '/v1/stats');
  assert.match(res.stdout, /^total: +10$/m);
  assert.match(res.stdout, /^Failed: +3$/m);
  assert.match(res.stdout, /^oldest: +2024-01-01T00:00:00Z$/m);
  const js = await ctl(['stats', '--output', 'json']);
  assert.deepEqual(JSON.parse(js.stdout), JSON.parse(stub.stats.body));

  // A status Bedrock added since is printed under its own name, as it is (made printable).
  const body = JSON.parse(stub.stats.body);
  body.byStatus = { ...body.byStatus, Stopped: 2, 'Odd\u001b[31m': 1 };
  stub.on('GET /v1/stats', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
  const more = await ctl(['stats']);
  assert.equal(more.code, 0, more.stderr);
  assert.match(more.stdout, /^Failed: +3\nStopped: +2\n/m);
  assert.ok(!more.stdout.includes('\u001b'), 'no terminal escape reaches the terminal');
  assert.match(more.stdout, /^Odd.*: +1$/m);
  stub.overrides.delete('GET /v1/stats');
});

test('sync: POST with full and wait; --wait prints the result and fails with it', async () => {
  const started = await ctl(['sync']);
  assert.equal(started.code, 0, started.stderr);
  assert.equal(stub.requests[0].method, 'POST');
  assert.equal(stub.requests[0].target, '/v1/sync?full=false&wait=false');
  assert.equal(started.stdout, 'sync started\n');
  assert.equal(started.stderr, '', 'no spinner without a terminal');

  stub.reset();
  const done = await ctl(['sync', '--full', '--wait']);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(stub.requests[0].target, '/v1/sync?full=true&wait=true');
  assert.match(done.stdout, /^result: +ok$/m);
  assert.match(done.stdout, /^created: +2$/m);
  assert.equal(done.stderr, '');

  stub.on('POST /v1/sync', () => ({ status: 200, headers: {}, body: JSON.stringify({ result: 'failed',
    error: { type: 'AccessDeniedException', message: 'not allowed' }, jobs: 0, changes: { created: 0, updated: 0, removed: 0 } }) }));
  const failed = await ctl(['sync', '--wait']);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /^error: +AccessDeniedException: not allowed$/m);
  const js = await ctl(['sync', '--wait', '--output', 'json']);
  assert.equal(js.code, 1);
  assert.equal(JSON.parse(js.stdout).result, 'failed');
});

test('watch: streams events as they arrive, until interrupted (exit 0)', async () => {
  const events = [0, 1].map((i) => ({ seq: 6 + i, type: i ? 'updated' : 'created', job: stub.jobs[2 + i] }));
  stub.events = events.map((e) => JSON.stringify(e));
  for (const output of ['json', 'table']) {
    stub.reset();
    let sent = false;
    // an event's id (store and seq) or its bare seq
    const after = output === 'json' ? '5' : `${'0123456789abcdef'.repeat(2)}-5`;
    const res = await ctl(['watch', '--after', after, '--output', output], {
      onStdout: (out, proc) => {
        if (!sent && out.split('\n').length > 2) { sent = true; proc.kill('SIGINT'); }
      },
    });
    assertClean(res);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(sent, 'both events arrived while the stream was open');
    assert.equal(stub.requests[0].target, `/v1/events?after=${after}`);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    if (output === 'json') {
      assert.deepEqual(lines.map((l) => JSON.parse(l)), events);
    } else {
      assert.match(lines[0], /^6 +created +Failed +000000000002 +2024-01-01 00:02:00 +copied-model-2 +Copy failed/);
      assert.match(lines[1], /^7 +updated +Completed +000000000003 /);
    }
  }
});

test('watch: a daemon without the endpoint, a bad line, an over-long line', async () => {
  stub.on('GET /v1/events', () => awsError(404, 'ResourceNotFoundException', 'no route for GET /v1/events'));
  const missing = await ctl(['watch']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'copyjobctl: ResourceNotFoundException: no route for GET /v1/events\n');
  assert.equal(stub.requests[0].target, '/v1/events');

  stub.on('GET /v1/events', () => ({ status: 200, headers: {}, body: '{"seq":1,"type":"created","job":{}}\nnot json\n' }));
  const bad = await ctl(['watch', '--output', 'ndjson']);
  assertClean(bad);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '{"seq":1,"type":"created","job":{}}\n');
  assert.match(bad.stderr, /not a JSON object/);

  stub.on('GET /v1/events', () => ({ status: 200, headers: {}, body: 'x'.repeat(1.5 * 1024 * 1024) }));
  const long = await ctl(['watch']);
  assertClean(long);
  assert.equal(long.code, 1);
  assert.match(long.stderr, /line longer than 1024 KiB/);

  stub.on('GET /v1/events', () => ({ status: 200, headers: {}, body: '' }));
  const ended = await ctl(['watch']);
  assert.equal(ended.code, 1);
  assert.match(ended.stderr, /ended the event stream/);
});

test('--socket wins over COPYJOBD_SOCKET, which wins over the default', async () => {
  const other = await startStub();
  try {
    const viaEnv = await run(['stats'], { env: { COPYJOBD_SOCKET: other.socket } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(other.requests.length, 1);
    assert.equal(stub.requests.length, 0);

    const viaOption = await run(['--socket', stub.socket, 'stats'], { env: { COPYJOBD_SOCKET: other.socket } });
    assert.equal(viaOption.code, 0, viaOption.stderr);
    assert.equal(other.requests.length, 1);
    assert.equal(stub.requests.length, 1);

    const dflt = await run(['stats'], { env: {} });
    if (!existsSync('/run/copyjobd/copyjobd.sock')) {
      assert.equal(dflt.code, 2);
      assert.ok(dflt.stderr.includes('at /run/copyjobd/copyjobd.sock:'), dflt.stderr);
    }
  } finally {
    await other.stop();
  }
});

test('usage errors exit 64 and send nothing', async () => {
  const cases = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--bogus', 'list'], /unknown option '--bogus'/],
    [['list', '--status', 'Done'], /^copyjobctl: --status must be InProgress, Completed or Failed$/m],
    [['list', '--since', 'yesterday'], /--since: 'yesterday' is neither ISO 8601/],
    [['list', '--until', '2024-13-01'], /--until/],
    [['list', '--since', '1d', '--until', '2d'], /must be before --until/],
    [['list', '--account', '12345'], /--account must be a 12-digit/],
    [['list', '--source-model', 'arn:aws:s3:::bucket'], /--source-model must be a Bedrock model ARN/],
    [['list', '--name-contains', 'bad name'], /--name-contains/],
    [['list', '--sort', 'up'], /--sort must be asc or desc/],
    [['list', '--limit', '0'], /--limit/],
    [['list', '--limit', '1001'], /--limit must be from 1 to 1000 without --all/],
    [['list', '--limit', '12x'], /--limit/],
    [['list', '--output', 'xml'], /--output must be table, json, ndjson or csv/],
    [['list', 'extra'], /unexpected argument 'extra'/],
    [['list', '--limit'], /needs a value/],
    [['get'], /missing the job's ARN/],
    [['get', 'arn:aws:bedrock:us-east-1:111122223333:model-copy-job/short'], /not a model copy job ARN/],
    [['get', '--output', 'csv', stub.jobs[0].jobArn], /--output must be table or json/],
    [['stats', 'now'], /unexpected argument/],
    [['watch', '--after', '-1'], /--after must be/],
    [['watch', '--after', `${'A'.repeat(32)}-1`], /--after must be/],
    [['watch', '--after', `${'a'.repeat(32)}-`], /--after must be/],
    [['sync', '--force'], /unknown option '--force'/],
  ];
  for (const [args, message] of cases) {
    const res = await ctl(args);
    assertClean(res);
    assert.equal(res.code, 64, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
    assert.match(res.stderr, /Try 'copyjobctl --help'/);
    assert.equal(res.stdout, '');
  }
  const tooLong = await run(['--socket', '/tmp/' + 'x'.repeat(120), 'stats']);
  assert.equal(tooLong.code, 64);
  assert.equal(stub.requests.length, 0, 'no usage error reached the daemon');
  const withAll = await ctl(['list', '--all', '--limit', '1001', '--output', 'ndjson']);
  assert.equal(withAll.code, 0, '--limit above 1000 is fine with --all');
});
