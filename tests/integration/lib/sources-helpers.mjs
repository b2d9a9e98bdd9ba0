// Helpers for the tests and the benchmark of several sources: a fake with a data set per
// (account, region), copyjobd with a whole config of sources written here (harness.mjs's
// startDaemon writes one [aws] region), and the ground truth of one source or of the union.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, stopProcess, waitFor, compareJobs, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, UNIT_ENV } from './harness.mjs';

/** The account and region a job's own ARN names. */
export function arnParts(jobArn) {
  const m = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):(\d{12}):model-copy-job\//.exec(jobArn);
  if (!m) throw new Error(`not a model copy job ARN: ${jobArn}`);
  return { region: m[1], account: m[2] };
}

/** The jobs of the (account, region) data set at the fake, ascending. */
export async function truthOf(fake, account, region) {
  return (await fake.admin('GET', `/jobs?account=${account}&region=${region}`)).jobs;
}

/** The union of the sources' data sets, ascending. sources: [{account, region}]. */
export async function unionTruth(fake, sources) {
  const all = [];
  for (const s of sources) all.push(...(await truthOf(fake, s.account, s.region)));
  return all.sort(compareJobs);
}

/** Per-data-set request log at the fake: [{t, tEnd, operation, status, accessKeyId, ...}]. */
export async function requestsOf(fake, account, region) {
  return fake.admin('GET', `/requests?account=${account}&region=${region}`);
}

/** [first arrival, last answer] of a request log, or null when empty. */
export function span(entries) {
  if (!entries.length) return null;
  return [Math.min(...entries.map((e) => e.t)), Math.max(...entries.map((e) => e.tEnd ?? e.t))];
}

/** Whether every pair of the spans overlaps in time. */
export function allOverlap(spans) {
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++)
      if (!(spans[i][0] <= spans[j][1] && spans[j][0] <= spans[i][1])) return false;
  return true;
}

/**
 * Starts copyjobd with `config` (every section but [store] and [server], which are added) and
 * the test key in the environment, STS and the instance metadata pointed at the fake or off.
 * wait: 'ok' (every source synced: /v1/health 200 ok), 'socket', or 'none'.
 * Resolves { proc, dir, socket, log(), get(path), post(path), stop(), startedAt }.
 */
export async function startSourcesDaemon({ fake, config, env = {}, wait = 'ok', waitMs = 120000, maxSize = '1G' }) {
  const copyjobd = process.env.COPYJOBD;
  const dir = mkdtempSync(join(tmpdir(), 'cj-sources-'));
  const socket = join(dir, 'copyjobd.sock');
  const configPath = join(dir, 'copyjobd.conf');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(configPath, [
    config.trim(),
    '[store]', `directory = ${join(dir, 'state')}`, `max_size = ${maxSize}`,
    '[server]', `socket = ${socket}`, '',
  ].join('\n'));
  const fullEnv = {
    ...UNIT_ENV,
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_STS: fake.http,
    AWS_EC2_METADATA_DISABLED: 'true',
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
    ...env,
  };
  const wrapper = (process.env.COPYJOBD_WRAPPER ?? '').split(' ').filter(Boolean);
  const slow = wrapper.length ? 10 : 1;
  const startedAt = Date.now();
  const proc = spawn(wrapper.length ? wrapper[0] : copyjobd,
    [...wrapper.slice(1), ...(wrapper.length ? [copyjobd] : []), '--config', configPath],
    { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const d = {
    proc, dir, socket, configPath, startedAt,
    log: () => log,
    get: (path) => request(socket, 'GET', path),
    post: (path) => request(socket, 'POST', path, { timeoutMs: 120000 }),
    stop: async () => {
      const code = await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  if (wait === 'none') return d;
  try {
    // An exit ends the wait at once (waitFor would retry a thrown error until its deadline).
    const r = await waitFor(wait === 'ok' ? 'every source to finish its first sync' : 'copyjobd to serve its socket', async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return { exited: proc.exitCode ?? proc.signalCode };
      if (!existsSync(socket)) return false;
      if (wait === 'socket') return (await d.get('/v1/stats')).status === 200;
      const h = await d.get('/v1/health');
      return h.status === 200 && h.json.state === 'ok';
    }, waitMs * slow, 100);
    if (r?.exited !== undefined) throw new Error(`copyjobd exited (${r.exited}) before it was ready`);
  } catch (e) {
    await d.stop();
    throw new Error(`${e.message}\n--- copyjobd log ---\n${log}`);
  }
  return d;
}
