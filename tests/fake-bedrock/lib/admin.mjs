// The unsigned admin API under /__admin (HTTP listener only): inspect and change the jobs,
// read the counters, inject faults, make data sets. JSON in and out; errors are
// {"message": ...}. The query parameters `account` and `region` choose the data set a route
// works on (default: the caller's account, --region); the counters and the request log are
// the whole fake's unless one is chosen.

import { randomUUID } from 'node:crypto';
import { JOB_FIELDS, REQUIRED_JOB_FIELDS, STATUSES } from './patterns.mjs';
import { validateJob } from './dataset.mjs';
import { parseIso } from './timestamps.mjs';

class AdminError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const bad = (message) => new AdminError(400, message);
const BEDROCK_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function parseBody(body) {
  if (!body || body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('body must be a JSON object');
    return v;
  } catch (err) {
    if (err instanceof AdminError) throw err;
    throw bad(`body is not valid JSON: ${err.message}`);
  }
}

function countOf(spec, max) {
  const n = spec.count;
  if (!Number.isInteger(n) || n < 1 || n > max) throw bad(`count must be an integer 1..${max}`);
  return n;
}

function arnsOf(ds, spec) {
  if (!Array.isArray(spec.arns) || spec.arns.length === 0 || spec.arns.some((a) => typeof a !== 'string')) {
    throw bad('arns must be a non-empty array of job ARNs');
  }
  const missing = spec.arns.filter((a) => !ds.store.get(a));
  if (missing.length) throw new AdminError(404, `no such job: ${missing.slice(0, 5).join(', ')}`);
  return [...new Set(spec.arns)];
}

function bedrockTime(value, what) {
  if (typeof value !== 'string' || !BEDROCK_TIME_RE.test(value) || !parseIso(value)) {
    throw bad(`${what} must be an ISO 8601 UTC time like 2024-05-01T12:34:56.123Z (at most 9 fractional digits)`);
  }
  return value;
}

const jobsJson = (jobs) => `[${jobs.map((j) => j.json).join(',')}]`;

function addJobs(ds, spec) {
  const count = countOf(spec, 100_000);
  if (spec.status !== undefined && !STATUSES.includes(spec.status)) throw bad(`status must be one of ${STATUSES.join(', ')}`);
  const creationTime = spec.creationTime === undefined ? undefined : bedrockTime(spec.creationTime, 'creationTime');
  const added = [];
  for (let i = 0; i < count; i++) {
    const fields = ds.factory.makeAddedJob({ newestNs: ds.store.newestNs(), status: spec.status, creationTime });
    added.push(ds.store.insert(fields));
  }
  return `{"jobs":${jobsJson(added)}}`;
}

function finishJobs(ds, spec) {
  const status = spec.status ?? 'Completed';
  if (status !== 'Completed' && status !== 'Failed') throw bad('status must be Completed or Failed');
  let arns;
  if (spec.arns !== undefined) arns = arnsOf(ds, spec);
  else {
    const count = countOf(spec, 1_000_000);
    arns = ds.store.sorted.filter((j) => j.fields.status === 'InProgress').slice(0, count).map((j) => j.arn);
  }
  const changed = arns.map((arn) => {
    const fields = { ...ds.store.get(arn).fields, status };
    delete fields.failureMessage;
    if (status === 'Failed') fields.failureMessage = ds.factory.failureMessageFor(fields);
    return ds.store.replace(arn, fields);
  });
  return `{"jobs":${jobsJson(changed)}}`;
}

function removeJobs(ds, spec) {
  let arns;
  if (spec.arns !== undefined) arns = arnsOf(ds, spec);
  else arns = ds.store.sorted.slice(0, countOf(spec, 1_000_000)).map((j) => j.arn);
  for (const arn of arns) ds.store.remove(arn);
  return JSON.stringify({ removed: arns });
}

function updateJob(ds, spec) {
  if (typeof spec.arn !== 'string') throw bad('arn must be a job ARN');
  const job = ds.store.get(spec.arn);
  if (!job) throw new AdminError(404, `no such job: ${spec.arn}`);
  const changes = spec.fields;
  if (!changes || typeof changes !== 'object' || Array.isArray(changes)) throw bad('fields must be an object');
  const fields = { ...job.fields };
  for (const [name, value] of Object.entries(changes)) {
    if (!JOB_FIELDS.includes(name)) throw bad(`unknown field ${name}`);
    if (name === 'jobArn') throw bad('jobArn cannot be changed; remove the job and add another');
    if (value === null) {
      if (REQUIRED_JOB_FIELDS.includes(name)) throw bad(`${name} is required and cannot be removed`);
      delete fields[name];
    } else {
      fields[name] = value;
    }
  }
  if (changes.creationTime !== undefined) bedrockTime(fields.creationTime, 'creationTime');
  // "unchecked": serve what a newer (or broken) service might send: any JSON values, an
  // unknown status, lengths past the model's. The creationTime must still order the job.
  if (spec.unchecked !== true) {
    const problems = validateJob(fields);
    if (problems.length) throw bad(`fields violate the service model: ${problems.join(', ')}`);
  }
  return `{"job":${ds.store.replace(spec.arn, fields).json}}`;
}

function addFault(app, spec) {
  try {
    const fault = app.faults.add(spec);
    return JSON.stringify({ fault, faults: app.faults.list() });
  } catch (err) {
    throw bad(err.message);
  }
}

function info(app, ds) {
  const d = ds.info();
  return JSON.stringify({
    region: d.region,
    account: d.account,
    seed: d.seed,
    epoch: d.epoch,
    jobs: d.jobs,
    sessionTokenRequired: Boolean(app.config.sessionToken),
    regions: [...app.datasets.regions],
    accounts: [...new Set(app.datasets.list().map((x) => x.account))],
  });
}

function datasetsJson(app) {
  return JSON.stringify({
    datasets: app.datasets.list().map((ds) => ({ ...ds.info(), default: ds === app.datasets.default, stats: ds.stats.snapshot() })),
  });
}

function createDataset(app, spec) {
  try {
    const ds = app.datasets.create(spec);
    return JSON.stringify({ dataset: ds.info() });
  } catch (err) {
    throw new AdminError(err.conflict ? 409 : 400, err.message);
  }
}

/** The data set the query names, made on first use for the caller's account in a served region. */
function chooseDataset(app, query) {
  const account = query.get('account') ?? app.datasets.callerAccount;
  const region = query.get('region') ?? app.config.region;
  let ds = app.datasets.get(account, region);
  if (!ds && account === app.datasets.callerAccount && app.datasets.servesRegion(region)) ds = app.datasets.forRequest(account, region);
  if (!ds) throw new AdminError(404, `no data set for account ${account} in region ${region} (POST /__admin/datasets makes one)`);
  return ds;
}

function identityCall(fn) {
  return (app, spec) => {
    try {
      return JSON.stringify(fn(app, spec) ?? app.identity.snapshot());
    } catch (err) {
      throw bad(err.message);
    }
  };
}

const ROUTES = {
  'POST /__admin/sts/roles': identityCall((app, spec) => ({ role: app.identity.addRole(spec) })),
  'GET /__admin/sts/calls': (app) => JSON.stringify(app.identity.snapshot()),
  'POST /__admin/sts/calls/reset': identityCall((app) => {
    app.identity.resetCalls();
  }),
  'POST /__admin/sso': identityCall((app, spec) => {
    app.identity.addSso(spec);
  }),
  'GET /__admin/info': (app, spec, ctx) => info(app, ctx.ds()),
  'GET /__admin/datasets': datasetsJson,
  'POST /__admin/datasets': createDataset,
  'GET /__admin/jobs': (app, spec, ctx) => `{"jobs":${jobsJson(ctx.ds().store.sorted)}}`,
  'POST /__admin/jobs/add': (app, spec, ctx) => addJobs(ctx.ds(), spec),
  'POST /__admin/jobs/finish': (app, spec, ctx) => finishJobs(ctx.ds(), spec),
  'POST /__admin/jobs/remove': (app, spec, ctx) => removeJobs(ctx.ds(), spec),
  'POST /__admin/jobs/update': (app, spec, ctx) => updateJob(ctx.ds(), spec),
  'GET /__admin/stats': (app, spec, ctx) => JSON.stringify((ctx.chosen ? ctx.ds().stats : app.stats).snapshot()),
  'POST /__admin/stats/reset': (app, spec, ctx) => {
    if (ctx.chosen) {
      const { stats } = ctx.ds();
      stats.reset();
      return JSON.stringify(stats.snapshot());
    }
    app.stats.reset();
    for (const ds of app.datasets.list()) ds.stats.reset();
    return JSON.stringify(app.stats.snapshot());
  },
  'GET /__admin/requests': (app, spec, ctx) => JSON.stringify((ctx.chosen ? ctx.ds().stats : app.stats).log),
  'GET /__admin/faults': (app) => JSON.stringify({ faults: app.faults.list() }),
  'POST /__admin/faults': addFault,
  'DELETE /__admin/faults': (app) => {
    app.faults.clear();
    return JSON.stringify({ faults: [] });
  },
};

export function handleAdmin(app, req, res, body) {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = (req.url ?? '').split('?')[0];
  const chosen = url.searchParams.has('account') || url.searchParams.has('region');
  let ds;
  const ctx = { chosen, ds: () => (ds ??= chooseDataset(app, url.searchParams)) };
  const handler = ROUTES[`${req.method} ${path}`];
  let status = 200;
  let text;
  if (!handler) {
    const known = Object.keys(ROUTES).some((k) => k.endsWith(` ${path}`));
    status = known ? 405 : 404;
    text = JSON.stringify({ message: known ? `method ${req.method} not allowed on ${path}` : `no admin route ${path}` });
  } else {
    try {
      text = handler(app, req.method === 'POST' ? parseBody(body) : {}, ctx);
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      status = err.status;
      text = JSON.stringify({ message: err.message });
    }
  }
  const buf = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': buf.length, 'x-amzn-RequestId': randomUUID() });
  res.end(buf);
}
