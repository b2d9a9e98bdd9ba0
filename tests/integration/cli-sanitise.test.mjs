// copyjobctl never hands a terminal or a spreadsheet what a hostile Bedrock (or daemon) put in
// a job: the fake Bedrock serves jobs whose free-text fields carry escape sequences, C1
// controls and spreadsheet formulas, the real daemon caches them, and every --output of the
// real copyjobctl is checked byte by byte. A stand-in daemon then answers with non-JSON full of
// escape bytes, and copyjobctl's error messages must not pass them on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { requireEnv, startFake, startDaemon, waitFor } from './lib/harness.mjs';
import { startStub, makeJobs } from './lib/stub-daemon.mjs';
import { report } from './lib/abuse-common.mjs';

const CTL = process.env.COPYJOBCTL;

// Everything a terminal may act on, and what makes a line read otherwise than it holds.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const FORMULA_START = /^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/;

// failureMessage is free text in Bedrock's model, so it can carry anything; the hostile jobs
// get one each (and a formula-looking tag, which the tag pattern allows).
const HOSTILE = [
  "=cmd|' /C calc'!A0",
  "+cmd|' /C calc'!A0",
  '-2+3+cmd|" /C calc"!A0',
  '@SUM(1+1)*cmd|" /C calc"!A0',
  '\t=1+1',
  '\r=1+1',
  '  =HYPERLINK("http://127.0.0.1/x")',
  '\uff1d1+1 full-width',
  'title \u001b]0;pwned\u0007 after',
  'csi \u009b31m red \u001b[2J clear',
  'next line \u0085 and del \u007f and bell \u0007',
  'bidi \u202e reversed \u2066 isolate',
  'line one\nline two, "quoted"',
];

let fake, daemon, hostileJobs;

function run(args, { env = {}, timeoutMs = 30000, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(CTL, args, {
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [], err = [];
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.stdout.on('data', (d) => { out.push(d); onStdout?.(Buffer.concat(out).toString('utf8'), proc); });
    proc.stderr.on('data', (d) => err.push(d));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutRaw = Buffer.concat(out), stderrRaw = Buffer.concat(err);
      resolve({ code, signal, stdoutRaw, stderrRaw, stdout: stdoutRaw.toString('utf8'), stderr: stderrRaw.toString('utf8') });
    });
  });
}

// No control byte in the raw output: C0 (bar LF, and CR only in CRLF with `crlf`), DEL, C1
// (as UTF-8, C2 80..C2 9F), bidirectional controls, and no invalid UTF-8 (a lone C1 byte).
function assertNoControl(what, raw, { crlf = false } = {}) {
  let text = raw.toString('utf8');
  if (crlf) text = text.replaceAll('\r\n', '\n');
  text = text.replaceAll('\n', '');
  const m = CONTROL.exec(text);
  assert.equal(m, null, `${what}: raw U+${m?.[0].codePointAt(0).toString(16).padStart(4, '0')}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 20), (m?.index ?? 0) + 20))}`);
  assert.ok(!text.includes('\ufffd'), `${what}: invalid UTF-8`);
  for (let i = 0; i + 1 < raw.length; i++)
    assert.ok(!(raw[i] === 0xc2 && raw[i + 1] >= 0x80 && raw[i + 1] <= 0x9f), `${what}: a C1 control at byte ${i}`);
}

// RFC 4180 reader: records end in CRLF; no other CR or LF may appear anywhere.
function parseCsv(text) {
  assert.ok(text.endsWith('\r\n'));
  const rows = [];
  for (const line of text.slice(0, -2).split('\r\n')) {
    assert.ok(!/[\r\n]/.test(line), `a record spans lines: ${JSON.stringify(line)}`);
    const row = [];
    let field = '', i = 0, quoted = false, wasQuoted = false;
    while (i <= line.length) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { field += '"'; i += 2; continue; }
        if (c === '"') { quoted = false; i++; continue; }
        assert.ok(c !== undefined, 'an unterminated quote');
        field += c; i++; continue;
      }
      if (c === '"' && field === '') { quoted = wasQuoted = true; i++; continue; }
      if (c === ',' || c === undefined) { row.push({ field, quoted: wasQuoted }); field = ''; wasQuoted = false; i++; continue; }
      field += c; i++;
    }
    rows.push(row);
  }
  return rows;
}

before(async () => {
  requireEnv();
  if (!CTL || !existsSync(CTL)) throw new Error(`COPYJOBCTL must point at the built copyjobctl (got ${CTL})`);
  fake = await startFake({ jobs: 40, extraArgs: ['--https-port', '-1'] });
  const jobs = await fake.groundTruth();
  hostileJobs = [];
  for (const [i, message] of HOSTILE.entries()) {
    const { job } = await fake.admin('POST', '/jobs/update', {
      arn: jobs[i].jobArn,
      fields: {
        status: 'Failed', failureMessage: message,
        targetModelTags: [{ key: 'owner', value: '=1+1' }, { key: '@team', value: '-x' }],
      },
    });
    hostileJobs.push(job);
  }
  daemon = await startDaemon({ endpoint: fake.http });
});

after(async () => {
  if (daemon) await daemon.stop();
  if (fake) await fake.stop();
});

const ctl = (args, opts) => run(['--socket', daemon.socket, ...args], opts);
const byArn = (list) => new Map(list.map((j) => [j.jobArn, j]));

test('the daemon caches the hostile jobs as Bedrock sent them', async () => {
  const res = await daemon.get('/model-copy-jobs?maxResults=1000');
  assert.equal(res.status, 200, res.body);
  const cached = byArn(res.json.modelCopyJobSummaries);
  for (const job of hostileJobs) assert.equal(cached.get(job.jobArn)?.failureMessage, job.failureMessage);
});

test('list --output csv: no control byte, records are lines, no cell starts a formula', async () => {
  const res = await ctl(['list', '--all', '--output', 'csv']);
  assert.equal(res.code, 0, res.stderr);
  assertNoControl('csv', res.stdoutRaw, { crlf: true });
  const rows = parseCsv(res.stdout);
  assert.equal(rows[0].map((c) => c.field).join(','), 'jobArn,status,creationTime,sourceAccountId,sourceModelArn,targetModelArn,targetModelName,failureMessage');
  assert.equal(rows.length, 1 + 40);
  for (const row of rows) {
    assert.equal(row.length, 8);
    for (const { field } of row) assert.doesNotMatch(field, FORMULA_START, `a cell starts a formula: ${JSON.stringify(field)}`);
  }
  const failure = new Map(rows.slice(1).map((r) => [r[0].field, r[7]]));
  const cell = (i) => failure.get(hostileJobs[i].jobArn);
  assert.deepEqual(cell(0), { field: "'=cmd|' /C calc'!A0", quoted: true });
  assert.deepEqual(cell(1), { field: "'+cmd|' /C calc'!A0", quoted: true });
  assert.deepEqual(cell(2), { field: '\'-2+3+cmd|" /C calc"!A0', quoted: true });
  assert.deepEqual(cell(3), { field: '\'@SUM(1+1)*cmd|" /C calc"!A0', quoted: true });
  assert.deepEqual(cell(4), { field: "' =1+1", quoted: true }, 'a leading tab becomes a space, then the quote');
  assert.deepEqual(cell(5), { field: "' =1+1", quoted: true }, 'a leading CR too');
  assert.deepEqual(cell(6), { field: '\'  =HYPERLINK("http://127.0.0.1/x")', quoted: true });
  assert.equal(cell(7).field, "'\uff1d1+1 full-width");
  assert.equal(cell(8).field, 'title ?]0;pwned? after');
  assert.equal(cell(9).field, 'csi ?31m red ?[2J clear');
  assert.equal(cell(10).field, 'next line ? and del ? and bell ?');
  assert.equal(cell(11).field, 'bidi ? reversed ? isolate');
  assert.deepEqual(cell(12), { field: 'line one line two, "quoted"', quoted: true });
  report(`csv: ${rows.length - 1} records, ${HOSTILE.length} hostile failure messages: no control byte, no cell starts with = + - @ (prefixed with ') : held`);
});

test('list --output ndjson and json: every control escaped, the values exact', async () => {
  for (const output of ['ndjson', 'json']) {
    const res = await ctl(['list', '--all', '--output', output]);
    assert.equal(res.code, 0, res.stderr);
    assertNoControl(output, res.stdoutRaw);
    const jobs = output === 'json'
      ? JSON.parse(res.stdout).modelCopyJobSummaries
      : res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(jobs.length, 40);
    const got = byArn(jobs);
    for (const job of hostileJobs) {
      assert.equal(got.get(job.jobArn).failureMessage, job.failureMessage, `${output}: the escapes are lossless`);
      assert.deepEqual(got.get(job.jobArn).targetModelTags, job.targetModelTags);
    }
    assert.ok(res.stdout.includes('\\u009b31m'), `${output}: U+009B written as \\u009b`);
    assert.ok(res.stdout.includes('\\u0085') && res.stdout.includes('\\u007f') && res.stdout.includes('\\u202e'), output);
  }
  report('ndjson/json: C0, DEL, C1 and bidi controls escaped as \\uXXXX, values unchanged: held');
});

test('list table, get (table and json) and watch: no control byte', async () => {
  const table = await ctl(['list', '--all'], { env: { COLUMNS: '250' } });
  assert.equal(table.code, 0, table.stderr);
  assertNoControl('table', table.stdoutRaw);
  assert.ok(table.stdout.includes('title ?]0;pwned? after'), table.stdout);
  assert.ok(table.stdout.includes('csi ?31m red ?[2J clear'), table.stdout);

  for (const job of hostileJobs) {
    for (const output of ['table', 'json']) {
      const res = await ctl(['get', job.jobArn, '--output', output]);
      assert.equal(res.code, 0, res.stderr);
      assertNoControl(`get ${output}`, res.stdoutRaw);
      if (output === 'json') assert.equal(JSON.parse(res.stdout).failureMessage, job.failureMessage);
      else assert.match(res.stdout, /^targetModelTags: +owner==1\+1, @team=-x$/m);
    }
  }

  for (const output of ['table', 'ndjson']) {
    let sent = false;
    const res = await ctl(['watch', '--after', '0', '--output', output], {
      onStdout: (out, proc) => {
        if (!sent && hostileJobs.every((j) => out.includes(j.jobArn.split('/').pop()))) { sent = true; proc.kill('SIGINT'); }
      },
      timeoutMs: 30000,
    });
    assert.ok(sent, `watch ${output}: the hostile jobs' events arrived: ${res.stdout.slice(0, 500)} ${res.stderr}`);
    assert.equal(res.code, 0, res.stderr);
    assertNoControl(`watch ${output}`, res.stdoutRaw);
  }
  report('table, get and watch outputs: no control byte: held');
});

// A stand-in daemon (an HTTP server on a Unix socket) answering with hostile non-JSON.
test('a daemon answering non-JSON with escape bytes: the error messages carry none', async () => {
  const stub = await startStub({ jobs: makeJobs(3) });
  const evil = '\u001b]0;pwned\u0007\u001b[31m\u009b2J{"not": json\u0085';
  const raw = (status, body, headers = {}) => () => ({ status, headers: { 'content-type': 'application/json', ...headers }, body });
  try {
    const cases = [
      [['stats'], 'GET /v1/stats', raw(200, evil), /invalid JSON/],
      [['health', '--output', 'json'], 'GET /v1/health', raw(200, `{"state": "ok"${evil}`), /invalid JSON/],
      [['list'], 'GET /model-copy-jobs', raw(200, evil), /invalid JSON/],
      [['get', makeJobs(1)[0].jobArn], 'GET /model-copy-jobs/' + encodeURIComponent(makeJobs(1)[0].jobArn), raw(200, `[${evil}`), /invalid JSON/],
      [['stats'], 'GET /v1/stats', raw(500, JSON.stringify({ message: evil }), { 'x-amzn-ErrorType': 'Bad\u009b31mType' }), /Bad31mType: /],
      [['stats'], 'GET /v1/stats', raw(502, evil), /HTTP 502/],
      [['watch'], 'GET /v1/events', raw(200, `${evil}\n`), /not a JSON object/],
    ];
    for (const [args, route, answer, message] of cases) {
      stub.reset();
      stub.on(route, answer);
      const res = await run(['--socket', stub.socket, ...args]);
      assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assertNoControl(`${args.join(' ')} stderr`, res.stderrRaw);
      assertNoControl(`${args.join(' ')} stdout`, res.stdoutRaw);
    }
  } finally {
    await stub.stop();
  }

  // Not even HTTP: curl's own error message must not pass the bytes on either.
  const dir = mkdtempSync(join(tmpdir(), 'cj-rawsock-'));
  const sock = join(dir, 'raw.sock');
  const server = net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => c.end('HTTP/1.1 200 \u001b]0;pwned\u0007OK\r\nX-\u001b[31m: \u009b\r\n\u001b[2J\r\n\r\n'));
  });
  await new Promise((resolve) => server.listen(sock, resolve));
  try {
    const res = await run(['--socket', sock, 'stats']);
    assert.notEqual(res.code, 0);
    assertNoControl('raw stderr', res.stderrRaw);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  report('non-JSON answers with ESC/BEL/C1 bytes: stderr carries none: held');
});

test('the daemon is still healthy', async () => {
  await waitFor('health ok', async () => (await daemon.get('/v1/health')).json?.state === 'ok', 10000);
});
