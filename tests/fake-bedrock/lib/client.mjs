// A SigV4-signing HTTP client for the fake's self-tests and for integration tests: it signs with
// the SDK's SignatureV4 as a real client would, and can send the query in canonical order
// (like copyjobd) or in any other order, and tamper with the request after signing.

import http from 'node:http';
import https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';

export const DEFAULT_CREDENTIALS = {
  accessKeyId: 'AKIDCOPYJOBDTEST0001',
  secretAccessKey: 'cjTest/SecretKey+DoNotLeak000000000000000',
};

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are. */
export function encodeRfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** [[key, value], ...] or {key: value} → 'k=v&...' RFC 3986-encoded, optionally sorted canonically. */
export function buildQuery(params, { sort = true } = {}) {
  const pairs = (Array.isArray(params) ? params : Object.entries(params))
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(String(v))]);
  if (sort) pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function decodeQuery(raw) {
  const out = {};
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const v = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1));
    out[k] = Object.hasOwn(out, k) ? [].concat(out[k], v) : v;
  }
  return out;
}

/** Sends one HTTP request; resolves { status, headers, text, json } or rejects on a network error. */
export function rawRequest(url, { method = 'GET', headers = {}, body, ca, timeoutMs = 15_000 } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method,
        headers,
        ca,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) return reject(new Error('response incomplete'));
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Signs and sends a Bedrock request.
 * opts: path (raw, already encoded), query (object/pairs, encoded here) or rawQuery (sent as is),
 * sortQuery, credentials {accessKeyId, secretAccessKey, sessionToken?}, region, signingDate,
 * ca, headers (extra, unsigned unless signHeaders), tamper(wire) → wire after signing.
 */
export async function bedrockRequest(baseUrl, opts = {}) {
  const {
    method = 'GET',
    path = '/model-copy-jobs',
    query = {},
    sortQuery = true,
    credentials = DEFAULT_CREDENTIALS,
    region = 'us-east-1',
    signingDate = new Date(),
    ca,
    headers = {},
    tamper,
    timeoutMs,
  } = opts;
  const base = new URL(baseUrl);
  const rawQuery = opts.rawQuery ?? buildQuery(query, { sort: sortQuery });
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'bedrock',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      port: Number(base.port),
      path,
      query: decodeQuery(rawQuery),
      headers: { host: base.host, ...headers },
    },
    { signingDate },
  );
  let wire = { path, rawQuery, headers: { ...signed.headers } };
  if (tamper) wire = tamper(wire);
  const url = `${base.origin}${wire.path}${wire.rawQuery ? `?${wire.rawQuery}` : ''}`;
  return rawRequest(url, { method, headers: wire.headers, ca, timeoutMs });
}

/** Calls the admin API: resolves the parsed JSON answer, with .status attached via { status, json }. */
export async function admin(adminUrl, method, path, body) {
  const res = await rawRequest(`${adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: res.json };
}

/** Follows nextToken to the end (bounded); returns { jobs, pages, tokens }. */
export async function listAll(baseUrl, query = {}, { maxPages = 10_000, ...opts } = {}) {
  const jobs = [];
  const tokens = [];
  let token;
  for (let pages = 1; pages <= maxPages; pages++) {
    const res = await bedrockRequest(baseUrl, { ...opts, query: { ...query, nextToken: token } });
    if (res.status !== 200) throw new Error(`page ${pages}: HTTP ${res.status} ${res.text}`);
    jobs.push(...res.json.modelCopyJobSummaries);
    token = res.json.nextToken;
    if (token === undefined) return { jobs, pages, tokens };
    tokens.push(token);
  }
  throw new Error(`more than ${maxPages} pages`);
}
