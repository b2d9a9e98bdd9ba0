// Starts the real pieces for integration tests: the fake Bedrock endpoint, copyjobd with a
// config in a temporary directory, and an HTTP client for the daemon's Unix socket.
// Every wait is bounded; every process is stopped by the returned stop().
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

export const TEST_ACCESS_KEY_ID = 'AKIDCOPYJOBDTEST0001';
export const TEST_SECRET_ACCESS_KEY = 'cjTest/SecretKey+DoNotLeak000000000000000';
// Where a daemon under test calls STS when a test gives no fake: a loopback port where nothing
// listens, so the call a source makes to learn its account (GetCallerIdentity) is refused at
// once instead of leaving the machine.
export const NO_STS = 'http://127.0.0.1:9';

const COPYJOBD = process.env.COPYJOBD;
const FAKE = process.env.FAKE_BEDROCK;

// The environment the unit gives copyjobd (its Environment= lines, each one unquoted
// KEY=VALUE): every copyjobd the helpers start gets it, as an installed one does.
export const UNIT_ENV = Object.fromEntries(
  readFileSync(new URL('../../../systemd/copyjobd.service.in', import.meta.url), 'utf8')
    .split('\n').filter((l) => l.startsWith('Environment='))
    .map((l) => {
      const m = /^Environment=([A-Za-z_][A-Za-z0-9_]*)=([^\s"'\\$%]*)$/.exec(l);
      if (!m) throw new Error(`copyjobd.service.in: not one unquoted KEY=VALUE: ${l}`);
      return [m[1], m[2]];
    }));

export function requireEnv() {
  for (const [k, v] of Object.entries({ COPYJOBD, FAKE_BEDROCK: FAKE }))
    if (!v || !existsSync(v)) throw new Error(`${k} must point at the built program (got ${v})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, fn, timeoutMs = 30000, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

function readFirstLine(stream, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('no ready line in time')), timeoutMs);
    stream.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    stream.on('end', () => reject(new Error('exited before its ready line')));
  });
}

export function stopProcess(proc, timeoutMs = 10000) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    proc.kill('SIGTERM');
  });
}

export async function startFake({ jobs = 5000, seed = 42, region = 'us-east-1', extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cj-fake-'));
  const proc = spawn(process.execPath, [FAKE, '--port', '0', '--https-port', '0', '--jobs', String(jobs),
    '--seed', String(seed), '--region', region, '--access-key-id', TEST_ACCESS_KEY_ID,
    '--secret-access-key', TEST_SECRET_ACCESS_KEY, '--tmp-dir', dir, ...extraArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  let ready;
  try {
    ready = JSON.parse(await readFirstLine(proc.stdout, 60000));
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`fake endpoint did not start: ${e.message}\n${stderr}`);
  }
  const admin = async (method, path, body) => {
    const res = await fetch(ready.admin + path, {
      method, headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    ...ready, proc, admin,
    stderr: () => stderr,
    groundTruth: async () => (await admin('GET', '/jobs')).jobs,
    stop: async () => { await stopProcess(proc); rmSync(dir, { recursive: true, force: true }); },
  };
}

// Sends one request over the daemon's Unix socket. Resolves {status, headers, body, json}.
export function request(socketPath, method, path, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startDaemon({ endpoint, caFile, config = '', env = {}, args = [], wait = 'ok', stateDir, maxSize = '256M' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cj-daemon-'));
  const socket = join(dir, 'copyjobd.sock');
  const configPath = join(dir, 'copyjobd.conf');
  writeFileSync(configPath, [
    '[aws]', 'region = us-east-1', `endpoint = ${endpoint}`, caFile ? `ca_file = ${caFile}` : '',
    '[store]', `directory = ${stateDir ?? join(dir, 'state')}`, `max_size = ${maxSize}`,
    // Tests sync back to back: no spacing of on-demand passes unless the test sets it.
    /min_on_demand_interval/.test(config) ? '' : '[sync]\nmin_on_demand_interval = 0',
    // Last: a test's config may go on with [server] keys without naming the section.
    '[server]', `socket = ${socket}`,
    config,
  ].join('\n') + '\n');
  const fullEnv = {
    ...UNIT_ENV,
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    // STS is the fake's too (it answers GetCallerIdentity on the same listeners).
    AWS_ENDPOINT_URL_STS: endpoint ?? NO_STS,
    ...(caFile ? { AWS_CA_BUNDLE: caFile } : {}),
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
    ...env,
  };
  // COPYJOBD_WRAPPER runs the daemon under a tool, e.g. "valgrind --error-exitcode=99 -q";
  // such tools are 20-50x slower, so the startup deadlines grow with it.
  const wrapper = (process.env.COPYJOBD_WRAPPER ?? '').split(' ').filter(Boolean);
  const slow = wrapper.length ? 10 : 1;
  const proc = spawn(wrapper.length ? wrapper[0] : COPYJOBD,
    [...wrapper.slice(1), ...(wrapper.length ? [COPYJOBD] : []), '--config', configPath, ...args],
    { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const d = {
    proc, dir, socket, configPath, exited,
    log: () => log,
    get: (path) => request(socket, 'GET', path),
    post: (path) => request(socket, 'POST', path),
    stop: async () => {
      const code = await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  if (wait === 'socket') {
    await waitFor('copyjobd to serve its socket', async () => {
      if (proc.exitCode !== null) throw new Error(`copyjobd exited with ${proc.exitCode}:\n${log}`);
      return existsSync(socket) && (await d.get('/v1/stats')).status === 200;
    }, 60000 * slow, 50);
  } else if (wait === 'ok') {
    try {
      await waitFor('copyjobd to finish its first sync', async () => {
        if (proc.exitCode !== null) throw new Error(`copyjobd exited with ${proc.exitCode}:\n${log}`);
        if (!existsSync(socket)) return false;
        const h = await d.get('/v1/health');
        return h.status === 200 && h.json.state === 'ok';
      }, 120000 * slow, 100);
    } catch (e) {
      await d.stop();
      throw new Error(`${e.message}\n--- copyjobd log ---\n${log}`);
    }
  }
  return d;
}

// Full-precision instant of an ISO 8601 string, as a BigInt of nanoseconds.
export function instantNs(iso) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i.exec(iso);
  if (!m) throw new Error(`not a timestamp: ${iso}`);
  const base = BigInt(Date.parse(m[1] + (m[3].toUpperCase() === 'Z' ? 'Z' : m[3])));
  return base * 1000000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function compareJobs(a, b) {
  const ta = instantNs(a.creationTime), tb = instantNs(b.creationTime);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return Buffer.compare(Buffer.from(a.jobArn), Buffer.from(b.jobArn));
}

// The contract's semantics, computed independently of the daemon.
export function expectedList(jobs, q) {
  let out = jobs.filter((j) =>
    (!q.statusEquals || j.status === q.statusEquals) &&
    (!q.sourceAccountEquals || j.sourceAccountId === q.sourceAccountEquals) &&
    (!q.sourceModelArnEquals || j.sourceModelArn === q.sourceModelArnEquals) &&
    (!q.outputModelNameContains || (j.targetModelName ?? '').includes(q.outputModelNameContains)) &&
    (!q.creationTimeAfter || instantNs(j.creationTime) > instantNs(q.creationTimeAfter)) &&
    (!q.creationTimeBefore || instantNs(j.creationTime) < instantNs(q.creationTimeBefore)));
  out.sort(compareJobs);
  if (q.sortOrder !== 'Ascending') out.reverse();
  return out;
}

// Follows nextToken to the end; returns the jobs and the number of pages.
export async function listAll(daemon, query, maxPages = 10000) {
  const jobs = [];
  let token, pages = 0;
  do {
    const params = new URLSearchParams(query);
    if (token) params.set('nextToken', token);
    const res = await daemon.get('/model-copy-jobs?' + params.toString().replace(/\+/g, '%20'));
    if (res.status !== 200) throw new Error(`list ${params}: ${res.status} ${res.body}`);
    jobs.push(...res.json.modelCopyJobSummaries);
    token = res.json.nextToken;
    if (++pages > maxPages) throw new Error('nextToken never ends');
  } while (token);
  return { jobs, pages };
}

// Deterministic PRNG for reproducible random queries.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function readLog(path) {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
