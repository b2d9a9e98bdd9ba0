// Helpers for the store's integration tests: copyjobd runs on a state directory that outlives
// each process (so a test can kill it and look at what it left), `copyjobd --verify-store`,
// and a local model of the fake's jobs kept in step with the admin API's answers.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_STS, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, listAll, request, waitFor, UNIT_ENV } from './harness.mjs';

const COPYJOBD = process.env.COPYJOBD;

// Under ASan+UBSan (CJ_SANITIZE=ON in ctest's environment) everything is a few times slower.
export const SANITIZED = /^(on|1|true|yes)$/i.test(process.env.CJ_SANITIZE ?? '');

export function daemonEnv() {
  return {
    ...UNIT_ENV,
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_STS: NO_STS,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
  };
}

// A config file in dir for the given endpoint and state directory; `store` lines go in
// [store], `lines` are appended (section headers included).
export function writeConfig(dir, { endpoint, stateDir, socket, store = [], lines = [] }) {
  const path = join(dir, `copyjobd-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, [
    '[aws]', 'region = us-east-1', `endpoint = ${endpoint}`,
    '[store]', `directory = ${stateDir}`, ...store,
    ...(socket ? ['[server]', `socket = ${socket}`] : []),
    ...lines,
  ].join('\n') + '\n');
  return path;
}

// Runs copyjobd with args; with killAfterMs, sends SIGKILL then unless it exited first.
// Resolves {code, signal, killed, ms, log}. Bounded by timeoutMs (then SIGKILL, and an error).
export function runCopyjobd(args, { killAfterMs, timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const proc = spawn(COPYJOBD, args, { env: daemonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let killed = false;
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    const killer = killAfterMs === undefined ? null : setTimeout(() => {
      killed = proc.kill('SIGKILL');
    }, killAfterMs);
    const guard = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`copyjobd ${args.join(' ')} ran longer than ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(killer);
      clearTimeout(guard);
      resolve({ code, signal, killed: killed && signal === 'SIGKILL', ms: Date.now() - t0, log });
    });
  });
}

// `copyjobd --config X --verify-store`: resolves {ok, jobs, events, first, last, output}.
export async function verifyStore(configPath) {
  const r = await runCopyjobd(['--config', configPath, '--verify-store'], { timeoutMs: 120000 });
  const m = /store OK: (\d+) jobs, (\d+) events \(seq (\d+)\.\.(\d+)\)/.exec(r.log);
  return {
    ok: r.code === 0 && !!m,
    code: r.code,
    jobs: m ? Number(m[1]) : NaN,
    events: m ? Number(m[2]) : NaN,
    first: m ? BigInt(m[3]) : -1n,
    last: m ? BigInt(m[4]) : -1n,
    output: r.log,
  };
}

// Every job the daemon serves, by jobArn.
export async function storedJobs(daemon) {
  const { jobs } = await listAll(daemon, { maxResults: '1000' });
  return new Map(jobs.map((j) => [j.jobArn, j]));
}

// The fake's jobs as the test believes them to be, kept in step with the admin answers, and
// every jobArn the fake ever had with every status it ever had.
export class FakeModel {
  constructor(fake, initialJobs) {
    this.fake = fake;
    this.jobs = new Map(initialJobs.map((j) => [j.jobArn, j]));
    this.everStatuses = new Map(initialJobs.map((j) => [j.jobArn, new Set([j.status])]));
  }

  #saw(job) {
    this.jobs.set(job.jobArn, job);
    if (!this.everStatuses.has(job.jobArn)) this.everStatuses.set(job.jobArn, new Set());
    this.everStatuses.get(job.jobArn).add(job.status);
  }

  async add(count) {
    const r = await this.fake.admin('POST', '/jobs/add', { count });
    r.jobs.forEach((j) => this.#saw(j));
    return r.jobs;
  }

  async finish(arns, status = 'Completed') {
    if (!arns.length) return [];
    const r = await this.fake.admin('POST', '/jobs/finish', { arns, status });
    r.jobs.forEach((j) => this.#saw(j));
    return r.jobs;
  }

  async remove(arns) {
    if (!arns.length) return [];
    const r = await this.fake.admin('POST', '/jobs/remove', { arns });
    r.removed.forEach((a) => this.jobs.delete(a));
    return r.removed;
  }

  async update(arn, fields) {
    const r = await this.fake.admin('POST', '/jobs/update', { arn, fields });
    this.#saw(r.job);
    return r.job;
  }

  // Up to n distinct jobArns picked with rand() among jobs that pass pred.
  pick(n, rand, pred = () => true) {
    const all = [...this.jobs.values()].filter(pred).map((j) => j.jobArn);
    const out = new Set();
    for (let i = 0; i < 10 * n && out.size < Math.min(n, all.length); i++)
      out.add(all[Math.floor(rand() * all.length)]);
    return [...out];
  }
}

// A long-running copyjobd with a config written by writeConfig (so [store] keys are the
// test's own); resolves once its socket answers. stop() sends SIGTERM and waits.
export async function startStoreDaemon(configPath, socket) {
  const proc = spawn(COPYJOBD, ['--config', configPath], { env: daemonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const d = {
    proc, socket,
    log: () => log,
    get: (path) => request(socket, 'GET', path),
    post: (path) => request(socket, 'POST', path),
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      proc.once('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? signal); });
      proc.kill('SIGTERM');
    }),
  };
  try {
    await waitFor('copyjobd to serve its socket', async () => {
      if (proc.exitCode !== null) return true;
      return existsSync(socket) && (await d.get('/v1/stats')).status === 200;
    }, 60000, 50);
    if (proc.exitCode !== null) throw new Error(`copyjobd exited with ${proc.exitCode}`);
  } catch (e) {
    await d.stop();
    throw new Error(`${e.message}\n--- copyjobd log ---\n${log}`);
  }
  return d;
}
