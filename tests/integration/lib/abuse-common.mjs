// Shared by the abuse and security tests: raw socket clients that misbehave on purpose, the
// daemon's resource counters from /proc, the check of an answer's Bedrock shape, and the
// store checker. Every wait is bounded; every socket is destroyed by the caller's deadline.
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { NO_STS } from './harness.mjs';

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Open file descriptors of a process (its /proc/PID/fd entries).
export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

// Resident set size in KiB.
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

// True when the process runs with AddressSanitizer. Its quarantine keeps freed memory (up to
// 256 MiB) out of reuse, so RSS grows over identical rounds without a leak; under ASan leaks
// are LeakSanitizer's job (at exit), and RSS stability is checked on the normal build only.
export function underAsan(pid) {
  try {
    return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch {
    return false;
  }
}

// Asserts RSS did not grow by `bound` KiB or more between two identical rounds (normal build).
export function assertRssStable(pid, grownKiB, boundKiB, what = 'an identical round') {
  if (underAsan(pid)) {
    report(`RSS grew ${grownKiB} KiB over ${what}: not checked under ASan (quarantine)`);
    return;
  }
  assert.ok(grownKiB < boundKiB, `RSS grew ${grownKiB} KiB over ${what} (bound ${boundKiB} KiB)`);
}

// Waits (bounded) until the daemon's fd count is back at or below the baseline: closing a
// connection on the client side reaches the daemon's event loop a moment later.
export async function fdsBackTo(pid, baseline, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let n = fdCount(pid);
  while (n > baseline && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = fdCount(pid);
  }
  return n;
}

// Connects to the Unix socket, writes `chunks` (a Buffer/string, or an array of them with
// `gapMs` between), and collects what comes back until the peer closes or timeoutMs.
// Resolves {bytes, closedByPeer, timedOut, error}.
export function rawExchange(socketPath, chunks, { timeoutMs = 10000, gapMs = 0, endAfterWrite = false } = {}) {
  const parts = Array.isArray(chunks) ? chunks : [chunks];
  return new Promise((resolve) => {
    const got = [];
    let done = false, closedByPeer = false, error;
    const sock = net.connect(socketPath);
    const finish = (timedOut) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(got), closedByPeer, timedOut, error });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', (d) => got.push(d));
    sock.on('end', () => { closedByPeer = true; finish(false); });
    sock.on('close', () => { closedByPeer = true; finish(false); });
    sock.on('error', (e) => { error = e.code ?? e.message; });
    sock.on('connect', async () => {
      for (let i = 0; i < parts.length && !done; i++) {
        if (i > 0 && gapMs) await new Promise((r) => setTimeout(r, gapMs));
        if (!done && !sock.destroyed) sock.write(parts[i]);
      }
      if (endAfterWrite && !done && !sock.destroyed) sock.end();
    });
  });
}

// The status line and headers of the first HTTP response in `bytes`, or null.
export function parseHead(bytes) {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]);
  if (!m) return null;
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

const ERROR_TYPES = new Map([
  ['ValidationException', 400], ['ResourceNotFoundException', 404],
  ['ThrottlingException', 429], ['InternalServerException', 500],
  ['ServiceUnavailableException', 503],
]);

// Asserts an answer of the local API is in Bedrock's shape: 200 with a JSON body (list
// answers with a modelCopyJobSummaries array), or an error with x-amzn-ErrorType, a status
// that matches the type, and {"message": "..."}; never a 5xx but 503. The body must be
// valid UTF-8 and valid JSON. `rawBody` is a Buffer.
export function assertBedrockShape(status, headers, rawBody, what) {
  let text;
  try {
    text = utf8.decode(rawBody);
  } catch {
    assert.fail(`${what}: body is not valid UTF-8: ${rawBody.toString('hex').slice(0, 200)}`);
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`${what}: body is not JSON (status ${status}): ${text.slice(0, 200)}`);
  }
  if (status === 200) {
    assert.ok(Array.isArray(json.modelCopyJobSummaries) || json.jobArn || json.total !== undefined,
      `${what}: 200 without a known shape: ${text.slice(0, 200)}`);
    return 'ok';
  }
  assert.ok(status >= 400 && status < 600, `${what}: unexpected status ${status}`);
  assert.ok(status < 500 || status === 503, `${what}: server error ${status}: ${text.slice(0, 300)}`);
  const type = headers['x-amzn-errortype'];
  assert.ok(type, `${what}: ${status} without x-amzn-ErrorType`);
  assert.equal(ERROR_TYPES.get(type.split(':')[0]), status, `${what}: ${type} with status ${status}`);
  assert.equal(typeof json.message, 'string', `${what}: error without a message: ${text.slice(0, 200)}`);
  assert.ok(json.message.length > 0, `${what}: empty error message`);
  return type;
}

// Runs copyjobd's store checker on the daemon's state directory. Returns
// {skipped: reason} when this copyjobd has no --verify-store yet.
export function verifyStore(copyjobd, configPath) {
  const r = spawnSync(copyjobd, ['--config', configPath, '--verify-store'], {
    encoding: 'utf8', timeout: 120000,
    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_ENDPOINT_URL_STS: NO_STS },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 && /unrecognized option|unknown option|invalid option/i.test(out))
    return { skipped: 'copyjobd has no --verify-store yet (store engineer is adding it)' };
  return { status: r.status, signal: r.signal, output: out.trim() };
}

// Prints one line of what a test tried and what held; ctest's log keeps it.
export function report(line) {
  process.stdout.write(`# abuse: ${line}\n`);
}
