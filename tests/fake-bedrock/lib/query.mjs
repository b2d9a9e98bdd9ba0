// ListModelCopyJobs: query validation, filtering, ordering and keyset pagination.

import { createHash, randomBytes } from 'node:crypto';
import { AwsError, validationError } from './errors.mjs';
import { LENGTHS, PATTERNS, STATUSES, lengthOk } from './patterns.mjs';
import { parseIso } from './timestamps.mjs';

const LIST_KEYS = new Set([
  'creationTimeAfter',
  'creationTimeBefore',
  'statusEquals',
  'sourceAccountEquals',
  'sourceModelArnEquals',
  'outputModelNameContains',
  'maxResults',
  'nextToken',
  'sortBy',
  'sortOrder',
]);

export const DEFAULT_MAX_RESULTS = 1000;

function percentDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * Splits a raw query string as sent on the wire. '+' stays a literal plus (RFC 3986, as AWS
 * reads it). Returns the decoded entries in wire order, an object for the signer (repeated
 * keys become arrays), and whether any part failed to percent-decode.
 */
export function parseRawQuery(raw) {
  const entries = [];
  const object = {};
  let undecodable = false;
  for (const part of (raw ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let key = percentDecode(rawKey);
    let value = percentDecode(rawValue);
    if (key === null || value === null) {
      undecodable = true;
      key ??= rawKey;
      value ??= rawValue;
    }
    entries.push([key, value]);
    if (Object.hasOwn(object, key)) {
      object[key] = Array.isArray(object[key]) ? [...object[key], value] : [object[key], value];
    } else {
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return { entries, object, undecodable };
}

const quote = (v) => `'${v}'`;

/** Validates ListModelCopyJobs' query. Throws a ValidationException naming every bad parameter. */
export function parseListParams(entries) {
  const seen = new Map();
  const problems = [];
  for (const [key, value] of entries) {
    if (!LIST_KEYS.has(key)) continue; // unknown keys are ignored, as Bedrock does
    if (seen.has(key)) {
      problems.push(`Value at '${key}' failed to satisfy constraint: Member must not be repeated`);
      continue;
    }
    seen.set(key, value);
  }
  const p = {};
  const bad = (key, constraint) => problems.push(`Value ${quote(seen.get(key))} at '${key}' failed to satisfy constraint: ${constraint}`);

  for (const key of ['creationTimeAfter', 'creationTimeBefore']) {
    if (!seen.has(key)) continue;
    const t = parseIso(seen.get(key));
    if (!t) bad(key, 'Member must be a timestamp in ISO 8601 date-time format, e.g. 2024-05-01T12:34:56Z');
    else p[key] = t;
  }
  if (seen.has('statusEquals')) {
    const v = seen.get('statusEquals');
    if (!STATUSES.includes(v)) bad('statusEquals', `Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
    else p.statusEquals = v;
  }
  if (seen.has('sourceAccountEquals')) {
    const v = seen.get('sourceAccountEquals');
    if (!PATTERNS.AccountId.test(v)) bad('sourceAccountEquals', 'Member must satisfy regular expression pattern: [0-9]{12}');
    else p.sourceAccountEquals = v;
  }
  if (seen.has('sourceModelArnEquals')) {
    const v = seen.get('sourceModelArnEquals');
    if (!lengthOk(v, LENGTHS.ModelArn)) bad('sourceModelArnEquals', 'Member must have length between 20 and 1011');
    else if (!PATTERNS.ModelArn.test(v)) bad('sourceModelArnEquals', 'Member must satisfy the ModelArn regular expression pattern');
    else p.sourceModelArnEquals = v;
  }
  if (seen.has('outputModelNameContains')) {
    const v = seen.get('outputModelNameContains');
    if (!lengthOk(v, LENGTHS.CustomModelName)) bad('outputModelNameContains', 'Member must have length between 1 and 63');
    else if (!PATTERNS.CustomModelName.test(v))
      bad('outputModelNameContains', 'Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){1,63}');
    else p.outputModelNameContains = v;
  }
  if (seen.has('maxResults')) {
    const v = seen.get('maxResults');
    if (!/^[+-]?\d{1,10}$/.test(v)) bad('maxResults', 'Member must be an integer');
    else {
      const n = Number(v);
      if (n < 1) bad('maxResults', 'Member must have value greater than or equal to 1');
      else if (n > 1000) bad('maxResults', 'Member must have value less than or equal to 1000');
      else p.maxResults = n;
    }
  }
  if (seen.has('nextToken')) {
    const v = seen.get('nextToken');
    if (!lengthOk(v, LENGTHS.PaginationToken)) bad('nextToken', 'Member must have length between 1 and 2048');
    else if (!PATTERNS.PaginationToken.test(v)) bad('nextToken', 'Member must satisfy regular expression pattern: \\S*');
    else p.nextToken = v;
  }
  if (seen.has('sortBy')) {
    const v = seen.get('sortBy');
    if (v !== 'CreationTime') bad('sortBy', 'Member must satisfy enum value set: [CreationTime]');
    else p.sortBy = v;
  }
  if (seen.has('sortOrder')) {
    const v = seen.get('sortOrder');
    if (v !== 'Ascending' && v !== 'Descending') bad('sortOrder', 'Member must satisfy enum value set: [Ascending, Descending]');
    else p.sortOrder = v;
  }
  if (problems.length) throw validationError(problems);
  p.sortOrder ??= 'Descending';
  p.maxResults ??= DEFAULT_MAX_RESULTS;
  return p;
}

// --- nextToken -----------------------------------------------------------------------------
// Binary, then standard base64 (so it carries '+', '/' and '=' that clients must encode):
//   [0] version  [1..12] hash of the query's filters and sort  [13..16] nonce
//   [17] 1 if a position follows  [18..25] creation instant (int64 ns)  [26..] jobArn (ASCII)

const TOKEN_VERSION = 1;
const HASH_BYTES = 12;

export function queryHash(p) {
  const instant = (t) => (t ? `${t.ns}:${t.beyondNs ? 1 : 0}` : null);
  const canonical = JSON.stringify([
    instant(p.creationTimeAfter),
    instant(p.creationTimeBefore),
    p.statusEquals ?? null,
    p.sourceAccountEquals ?? null,
    p.sourceModelArnEquals ?? null,
    p.outputModelNameContains ?? null,
    'CreationTime',
    p.sortOrder,
  ]);
  return createHash('sha256').update(canonical).digest().subarray(0, HASH_BYTES);
}

export function encodeToken(hash, position, nonce = randomBytes(4)) {
  const arn = position ? Buffer.from(position.arn, 'ascii') : Buffer.alloc(0);
  const buf = Buffer.alloc(18 + (position ? 8 : 0) + arn.length);
  buf[0] = TOKEN_VERSION;
  hash.copy(buf, 1);
  nonce.copy(buf, 13);
  if (position) {
    buf[17] = 1;
    buf.writeBigInt64BE(position.ns, 18);
    arn.copy(buf, 26);
  }
  return buf.toString('base64');
}

/** Returns { hash, position } or null when the token is not one of ours. */
export function decodeToken(text) {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const buf = Buffer.from(text, 'base64');
  if (buf.length < 18 || buf[0] !== TOKEN_VERSION) return null;
  const hash = buf.subarray(1, 13);
  if (buf[17] === 0) return buf.length === 18 ? { hash, position: null } : null;
  if (buf[17] !== 1 || buf.length < 27) return null;
  const ns = buf.readBigInt64BE(18);
  const arn = buf.subarray(26).toString('latin1');
  if (!PATTERNS.ModelCopyJobArn.test(arn)) return null;
  return { hash, position: { ns, arn } };
}

function matches(job, p) {
  const f = job.fields;
  if (p.statusEquals && f.status !== p.statusEquals) return false;
  if (p.sourceAccountEquals && f.sourceAccountId !== p.sourceAccountEquals) return false;
  if (p.sourceModelArnEquals && f.sourceModelArn !== p.sourceModelArnEquals) return false;
  if (p.outputModelNameContains && !(f.targetModelName ?? '').includes(p.outputModelNameContains)) return false;
  return true;
}

/**
 * Runs ListModelCopyJobs over the store. Returns { jobs: [StoredJob], nextPosition, position,
 * hash } where nextPosition is null on the last page.
 */
export function listJobs(store, p) {
  const hash = queryHash(p);
  let position = null;
  if (p.nextToken !== undefined) {
    const token = decodeToken(p.nextToken);
    if (!token) throw new AwsError('ValidationException', 'The nextToken provided is invalid.');
    if (!token.hash.equals(hash))
      throw new AwsError('ValidationException', 'The nextToken provided does not match the request parameters it was issued for.');
    position = token.position;
  }
  const sorted = store.sorted;
  // The strict time bounds give the index range [lo, hi) to scan.
  let lo = 0;
  let hi = sorted.length;
  if (p.creationTimeAfter) lo = store.upperBound(p.creationTimeAfter.ns, null);
  if (p.creationTimeBefore) {
    const b = p.creationTimeBefore;
    hi = b.beyondNs ? store.upperBound(b.ns, null) : store.lowerBound(b.ns, null);
  }
  const ascending = p.sortOrder === 'Ascending';
  if (position) {
    if (ascending) lo = Math.max(lo, store.upperBound(position.ns, position.arn));
    else hi = Math.min(hi, store.lowerBound(position.ns, position.arn));
  }
  const page = [];
  let more = false;
  for (let k = 0; lo + k < hi; k++) {
    const job = sorted[ascending ? lo + k : hi - 1 - k];
    if (!matches(job, p)) continue;
    if (page.length === p.maxResults) {
      more = true;
      break;
    }
    page.push(job);
  }
  const last = page[page.length - 1];
  return { jobs: page, nextPosition: more ? { ns: last.ns, arn: last.arn } : null, position, hash };
}
