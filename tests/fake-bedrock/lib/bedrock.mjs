// The Bedrock API as seen on the wire: routing, SigV4, faults, ListModelCopyJobs and
// GetModelCopyJob, with Bedrock's headers and error shape.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsError, ERROR_STATUS } from './errors.mjs';
import { LENGTHS, PATTERNS, lengthOk } from './patterns.mjs';
import { encodeToken, listJobs, parseListParams, parseRawQuery } from './query.mjs';
import { headersFromRaw, parseAuthorization } from './sigv4.mjs';

const COLLECTION = '/model-copy-jobs';

/** Maps method + raw path to an operation, or an AwsError for unknown paths and methods. */
export function route(method, rawPath) {
  let operation = null;
  let label = null;
  if (rawPath === COLLECTION) operation = 'ListModelCopyJobs';
  else if (rawPath.startsWith(`${COLLECTION}/`)) {
    label = rawPath.slice(COLLECTION.length + 1);
    if (label !== '' && !label.includes('/')) operation = 'GetModelCopyJob';
  }
  if (!operation) {
    return { operation: null, error: new AwsError('UnknownOperationException', `No operation matches ${method} ${rawPath.slice(0, 200)}`) };
  }
  if (method !== 'GET') {
    return { operation, error: new AwsError('UnknownOperationException', `Method ${method} is not allowed on this resource`, 405) };
  }
  return { operation, label };
}

function reasonForStatus(status) {
  return Object.keys(ERROR_STATUS).find((t) => ERROR_STATUS[t] === status && !t.startsWith('Unknown')) ?? null;
}

function hostParts(host, fallbackPort) {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host ?? '');
  return m ? { hostname: m[1], port: m[2] ? Number(m[2]) : fallbackPort } : { hostname: '', port: fallbackPort };
}

/**
 * app: { datasets, identity, faults, stats, verifier, log }. protocol: 'http:' | 'https:'.
 * Each signed request is served from (and counted in) its signer's account's data set in its
 * credential scope's region.
 * Returns an async (req, res, body) handler.
 */
export function createBedrockHandler(app, protocol) {
  return async function handleBedrock(req, res, body) {
    const t = Date.now();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = parseRawQuery(q < 0 ? '' : rawUrl.slice(q + 1));
    const routed = route(req.method, rawPath);
    const operation = routed.operation;

    app.stats.countRequest(t);
    // The clock is needed to check the signature: aim clock skews by what the request claims.
    const claimed = parseAuthorization(req.headers.authorization);
    const claimedTarget = claimed.error ? {} : { account: app.identity.lookup(claimed.accessKeyId)?.account, region: claimed.region };
    const skew = app.faults.takeClockSkew(operation, claimedTarget);
    app.stats.faultsInjected += skew.used;
    const nowMs = t + skew.seconds * 1000;

    const entry = { t, method: req.method, path: rawPath, query: { ...query.object }, operation, status: null, errorType: null };
    if (skew.used) entry.fault = 'clockSkew';
    let recorded = false;
    let ds = null;
    const record = () => {
      if (recorded) return;
      recorded = true;
      entry.tEnd = Date.now();
      app.stats.record(entry);
      ds?.stats.record(entry);
    };
    res.on('close', record);

    const baseHeaders = () => ({ 'x-amzn-RequestId': randomUUID(), Date: new Date(nowMs).toUTCString() });
    const send = (status, headers, payload) => {
      if (res.destroyed || res.writableEnded) return;
      const buf = Buffer.from(payload);
      entry.status = status;
      entry.errorType = headers['x-amzn-ErrorType'] ?? null;
      res.writeHead(status, { ...baseHeaders(), 'Content-Length': buf.length, ...headers });
      res.end(buf);
      record();
    };
    const sendJson = (status, text, extra = {}) => send(status, { 'Content-Type': 'application/json', ...extra }, text);
    const sendError = (err) =>
      sendJson(err.status, JSON.stringify({ message: err.message }), { 'x-amzn-ErrorType': err.type });

    // 1. Authentication, for every request (as AWS does before routing).
    const { hostname, port } = hostParts(req.headers.host, req.socket.localPort);
    try {
      const ok = await app.verifier.verify(
        { method: req.method, rawPath, query: query.object, headers: headersFromRaw(req.rawHeaders), body, protocol, hostname, port },
        nowMs,
      );
      entry.accessKeyId = ok.accessKeyId;
      entry.account = ok.credentials.account ?? app.datasets.callerAccount;
      entry.region = ok.region;
      ds = app.datasets.forRequest(entry.account, entry.region);
      ds.stats.countRequest(t);
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      app.stats.badSignatures += 1;
      app.log(`rejected signature: ${err.type}: ${err.message.slice(0, 120)}`);
      return sendError(err);
    }
    if (routed.error) return sendError(routed.error);
    app.stats.byOperation[operation] += 1;
    ds.stats.byOperation[operation] += 1;
    ds.stats.faultsInjected += skew.used;

    // 2. Faults, in the order they were added.
    const fault = app.faults.take(operation, { account: entry.account, region: entry.region });
    let tokenFault = null;
    if (fault) {
      app.stats.faultsInjected += 1;
      ds.stats.faultsInjected += 1;
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'throttle':
          return sendError(new AwsError('ThrottlingException', 'Rate exceeded'));
        case 'status': {
          const type = reasonForStatus(fault.status);
          if (type) return sendError(new AwsError(type, fault.status >= 500 ? 'Internal server error' : 'Injected error', fault.status));
          // 502/504 and the like come from a proxy, not from the service: no AWS body or type.
          return send(fault.status, { 'Content-Type': 'text/html' }, `<html><body><h1>${fault.status}</h1></body></html>\n`);
        }
        case 'drop':
          entry.status = 0;
          record();
          req.socket.destroy();
          return undefined;
        case 'delay':
          await sleep(fault.delayMs);
          if (req.socket.destroyed) return undefined;
          break;
        case 'truncate':
          return sendTruncated(req, entry, record, baseHeaders(), answer(ds, operation, routed, query, null));
        case 'malformed':
          return sendJson(200, '{"modelCopyJobSummaries":[{"jobArn":"arn:aws:bedrock:');
        case 'expiredToken':
          return sendError(new AwsError('ExpiredTokenException', 'The security token included in the request is expired'));
        default:
          tokenFault = fault.kind; // endlessToken, repeatToken
      }
    }

    // 3. The operation itself.
    const result = answer(ds, operation, routed, query, tokenFault);
    if (result.error) return sendError(result.error);
    return sendJson(200, result.body);
  };
}

/** Computes an operation's answer from a data set: { body } or { error }. tokenFault bends nextToken. */
function answer(ds, operation, routed, query, tokenFault) {
  try {
    if (operation === 'GetModelCopyJob') return { body: getJob(ds, routed.label) };
    return { body: listBody(ds, query, tokenFault) };
  } catch (err) {
    if (err instanceof AwsError) return { error: err };
    throw err;
  }
}

function getJob(ds, label) {
  let arn;
  try {
    arn = decodeURIComponent(label);
  } catch {
    arn = label;
  }
  if (!lengthOk(arn, LENGTHS.ModelCopyJobArn) || !PATTERNS.ModelCopyJobArn.test(arn)) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${arn.slice(0, 200)}' at 'jobArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-copy-job/[a-z0-9]{12}`,
    );
  }
  const job = ds.store.get(arn);
  if (!job) throw new AwsError('ResourceNotFoundException', `The specified model copy job ${arn} was not found. Check the ARN and try your request again.`);
  return job.json;
}

function listBody(ds, query, tokenFault) {
  const params = parseListParams(query.entries);
  const result = listJobs(ds.store, params);
  let next = result.nextPosition ? encodeToken(result.hash, result.nextPosition) : null;
  if (tokenFault === 'endlessToken') {
    next = encodeToken(result.hash, result.position); // fresh nonce, same page again
  } else if (tokenFault === 'repeatToken') {
    next = params.nextToken ?? encodeToken(result.hash, null);
  }
  let body = `{"modelCopyJobSummaries":[${result.jobs.map((j) => j.json).join(',')}]`;
  if (next !== null) body += `,"nextToken":${JSON.stringify(next)}`;
  return `${body}}`;
}

/** Announces the whole answer's length but sends only half of it, then closes the connection. */
function sendTruncated(req, entry, record, headers, result) {
  const status = result.error ? result.error.status : 200;
  const payload = Buffer.from(result.error ? JSON.stringify({ message: result.error.message }) : result.body);
  const lines = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Error'}`, 'Content-Type: application/json'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (result.error) lines.push(`x-amzn-ErrorType: ${result.error.type}`);
  lines.push(`Content-Length: ${payload.length}`, 'Connection: close', '', '');
  entry.status = status;
  record();
  const socket = req.socket;
  socket.write(Buffer.concat([Buffer.from(lines.join('\r\n')), payload.subarray(0, Math.floor(payload.length / 2))]));
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}
