// Command-line options of server.mjs.

import { tmpdir } from 'node:os';
import { isIP } from 'node:net';

export const USAGE = `usage: node server.mjs [--host 127.0.0.1] [--port 0] [--https-port 0] [--jobs 5000] [--seed 42]
       [--region us-east-1] [--access-key-id AKID] [--secret-access-key SECRET] [--session-token TOKEN]
       [--tmp-dir DIR] [--newest now|ISO8601] [--regions R1,R2,...] [--accounts ACCOUNT,...]
--regions: the regions served (besides --region, which defaults to the first of them);
--accounts: accounts besides the caller's with a data set of their own in every served region.
--newest anchors the newest generated job at that time (default: a fixed, seeded date, so that
runs are reproducible; the demo uses "now" so that relative filters like --since 30d find jobs).
Port 0 picks a free port; --https-port -1 disables HTTPS. Binds to loopback only.`;

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  httpsPort: 0,
  jobs: 5000,
  seed: 42,
  region: 'us-east-1',
  accessKeyId: 'AKIDCOPYJOBDTEST0001',
  secretAccessKey: 'cjTest/SecretKey+DoNotLeak000000000000000',
  sessionToken: undefined,
  tmpDir: undefined,
  newestMs: undefined,
  regions: [],
  accounts: [],
};

const OPTION_NAMES = {
  '--host': 'host',
  '--port': 'port',
  '--https-port': 'httpsPort',
  '--jobs': 'jobs',
  '--seed': 'seed',
  '--region': 'region',
  '--access-key-id': 'accessKeyId',
  '--secret-access-key': 'secretAccessKey',
  '--session-token': 'sessionToken',
  '--tmp-dir': 'tmpDir',
  '--newest': 'newest',
  '--regions': 'regions',
  '--accounts': 'accounts',
};

function integer(name, text, min, max) {
  if (!/^-?\d+$/.test(text)) throw new Error(`${name} must be an integer, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function isLoopback(host) {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/** Parses argv (without node and script). Throws Error with a message for bad input. */
export function parseArgs(argv) {
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const key = OPTION_NAMES[arg];
    if (!key) throw new Error(`unknown option ${arg}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      value = argv[++i];
    }
    raw[key] = value;
  }
  const o = { ...DEFAULTS };
  if (raw.host !== undefined) o.host = raw.host;
  if (!isLoopback(o.host)) throw new Error(`--host must be a loopback address (127.x.x.x, ::1 or localhost), got '${o.host}'`);
  if (o.host === 'localhost') o.host = '127.0.0.1';
  if (raw.port !== undefined) o.port = integer('--port', raw.port, 0, 65535);
  if (raw.httpsPort !== undefined) o.httpsPort = integer('--https-port', raw.httpsPort, -1, 65535);
  if (raw.jobs !== undefined) o.jobs = integer('--jobs', raw.jobs, 0, 1_000_000);
  if (raw.seed !== undefined) o.seed = integer('--seed', raw.seed, 0, 4294967295);
  const list = (text) => text.split(',').map((x) => x.trim()).filter(Boolean);
  if (raw.regions !== undefined) {
    o.regions = [...new Set(list(raw.regions))];
    if (!o.regions.length) throw new Error('--regions must name at least one region');
    for (const r of o.regions) if (!/^[a-z0-9-]{1,20}$/.test(r)) throw new Error(`--regions: '${r}' must match [a-z0-9-]{1,20}`);
    o.region = o.regions[0];
  }
  if (raw.accounts !== undefined) {
    o.accounts = [...new Set(list(raw.accounts))];
    for (const a of o.accounts) if (!/^\d{12}$/.test(a)) throw new Error(`--accounts: '${a}' must be 12 digits`);
  }
  if (raw.region !== undefined) o.region = raw.region;
  if (!/^[a-z0-9-]{1,20}$/.test(o.region)) throw new Error(`--region must match [a-z0-9-]{1,20}`);
  for (const k of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'tmpDir']) {
    if (raw[k] !== undefined) {
      if (raw[k] === '') throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must not be empty`);
      o[k] = raw[k];
    }
  }
  if (!/^[A-Z0-9]{4,128}$/.test(o.accessKeyId)) throw new Error('--access-key-id must be 4..128 upper-case letters and digits');
  if (raw.newest !== undefined) {
    o.newestMs = raw.newest === 'now' ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(raw.newest);
    if (!Number.isFinite(o.newestMs)) throw new Error(`--newest must be 'now' or an ISO 8601 time, got '${raw.newest}'`);
  }
  o.tmpDir ??= tmpdir();
  return o;
}
