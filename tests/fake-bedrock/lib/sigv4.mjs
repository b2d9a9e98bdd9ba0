// SigV4 verification with the AWS SDK's own signer (@smithy/signature-v4): rebuild the request
// exactly as the client sent it, sign it again with the configured secret and the request's
// own X-Amz-Date, and compare in constant time. No hand-written signing crypto here.

import { timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { AwsError, INVALID_TOKEN, SIGNATURE_MISMATCH } from './errors.mjs';
import { amzDate, parseAmzDate } from './timestamps.mjs';

export const SERVICE = 'bedrock';
const FIVE_MINUTES_MS = 5 * 60 * 1000;

/** Joins repeated headers with ',' as SigV4 does (Node's req.headers would drop or use ', '). */
export function headersFromRaw(rawHeaders) {
  const headers = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === '__proto__') continue;
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]},${rawHeaders[i + 1]}` : rawHeaders[i + 1];
  }
  return headers;
}

/** Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
export function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.+)$/s.exec(value ?? '');
  if (!m) return { error: `Authorization header must start with AWS4-HMAC-SHA256.` };
  const parts = {};
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq < 0) return { error: `Authorization header has a malformed component.` };
    parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  for (const need of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts[need]) return { error: `Authorization header requires '${need}' parameter.` };
  }
  const cred = parts.Credential.split('/');
  if (cred.length !== 5 || cred.some((c) => c === '')) {
    return { error: `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.` };
  }
  const signedHeaders = parts.SignedHeaders.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    return { error: `SignedHeaders must be a ';'-separated list of lower-case header names.` };
  }
  if (!/^[0-9a-f]{64}$/.test(parts.Signature)) return { error: `Signature must be 64 lower-case hexadecimal digits.` };
  const [accessKeyId, date, region, service, terminator] = cred;
  return { accessKeyId, date, region, service, terminator, signedHeaders, signature: parts.Signature, signedHeadersText: parts.SignedHeaders };
}

export class SigV4Verifier {
  /**
   * config: { region, accessKeyId, secretAccessKey, sessionToken? }. options.service: the
   * signing name ('bedrock', 'sts'); options.anyRegion: accept any region in the scope (STS is
   * regional: the caller picks the endpoint); options.lookup(accessKeyId) -> { secretAccessKey,
   * sessionToken, expiresMs? } | undefined: the keys besides config's (those STS issued);
   * options.regionOk(region) -> boolean: the regions served (default: config.region only).
   */
  constructor(config, { service = SERVICE, anyRegion = false, lookup = null, regionOk = null } = {}) {
    this.config = config;
    this.service = service;
    this.anyRegion = anyRegion;
    this.regionOk = regionOk ?? ((region) => region === config.region);
    this.lookup = lookup;
    this.signers = new Map();
  }

  #credentials(accessKeyId) {
    const { config } = this;
    const known = this.lookup ? this.lookup(accessKeyId) : undefined;
    if (known) return known;
    if (accessKeyId === config.accessKeyId) {
      return { accessKeyId, secretAccessKey: config.secretAccessKey, sessionToken: config.sessionToken ?? null, expiresMs: null };
    }
    return this.lookup ? this.lookup(accessKeyId) : undefined;
  }

  #signer(cred, region) {
    const key = `${cred.accessKeyId}\n${region}`;
    let signer = this.signers.get(key);
    if (!signer) {
      signer = new SignatureV4({
        credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey },
        region,
        service: this.service,
        sha256: Hash.bind(null, 'sha256'),
        uriEscapePath: true,
        applyChecksum: false, // sign only what the client signed; never add x-amz-content-sha256
      });
      if (this.signers.size > 1000) this.signers.clear();
      this.signers.set(key, signer);
    }
    return signer;
  }

  /**
   * Verifies one request. req: { method, rawPath, query (decoded object), headers (lower-case
   * names, raw values), body (Buffer|undefined), protocol, hostname, port }. nowMs is the fake's
   * clock. Resolves with { accessKeyId, region, credentials } on success (credentials.account:
   * the signer's account, where known); rejects with an AwsError (403) naming the reason.
   */
  async verify(req, nowMs) {
    const authHeader = req.headers.authorization;
    if (authHeader === undefined) {
      throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const auth = parseAuthorization(authHeader);
    if (auth.error) throw new AwsError('MissingAuthenticationTokenException', auth.error);
    const cred = this.#credentials(auth.accessKeyId);
    if (!cred) throw new AwsError('UnrecognizedClientException', INVALID_TOKEN);

    const xAmzDate = req.headers['x-amz-date'];
    const dateMs = parseAmzDate(xAmzDate);
    if (dateMs === null) {
      throw new AwsError('MissingAuthenticationTokenException', `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
    }
    if (auth.date !== xAmzDate.slice(0, 8)) {
      throw new AwsError(
        'InvalidSignatureException',
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${xAmzDate.slice(0, 8)}', from '${xAmzDate}'.`,
      );
    }
    if (this.anyRegion ? !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(auth.region) : !this.regionOk(auth.region)) {
      throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region.`);
    }
    if (auth.service !== this.service) {
      throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: '${this.service}'.`);
    }
    if (auth.terminator !== 'aws4_request') {
      throw new AwsError('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'.`);
    }
    if (!auth.signedHeaders.includes('host')) {
      throw new AwsError('InvalidSignatureException', `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
    }

    const token = req.headers['x-amz-security-token'];
    if (cred.sessionToken) {
      if (token === undefined || token !== cred.sessionToken) throw new AwsError('UnrecognizedClientException', INVALID_TOKEN);
      if (!auth.signedHeaders.includes('x-amz-security-token')) {
        throw new AwsError('InvalidSignatureException', `'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.`);
      }
    } else if (token !== undefined) {
      throw new AwsError('UnrecognizedClientException', INVALID_TOKEN);
    }

    const signedHeaders = {};
    for (const name of auth.signedHeaders) {
      if (!Object.hasOwn(req.headers, name)) throw new AwsError('InvalidSignatureException', SIGNATURE_MISMATCH);
      signedHeaders[name] = req.headers[name];
    }
    const signed = await this.#signer(cred, auth.region).sign(
      {
        method: req.method,
        protocol: req.protocol,
        hostname: req.hostname,
        port: req.port,
        path: req.rawPath,
        query: req.query,
        headers: signedHeaders,
        body: req.body && req.body.length ? req.body : undefined,
      },
      { signingDate: new Date(dateMs), signableHeaders: new Set(auth.signedHeaders) },
    );
    const ours = parseAuthorization(signed.headers.authorization);
    const same =
      !ours.error &&
      ours.signedHeadersText === auth.signedHeadersText &&
      timingSafeEqual(Buffer.from(ours.signature, 'hex'), Buffer.from(auth.signature, 'hex'));
    if (!same) throw new AwsError('InvalidSignatureException', SIGNATURE_MISMATCH);

    if (cred.expiresMs && nowMs >= cred.expiresMs) {
      throw new AwsError('ExpiredTokenException', 'The security token included in the request is expired');
    }
    if (dateMs < nowMs - FIVE_MINUTES_MS) {
      throw new AwsError(
        'InvalidSignatureException',
        `Signature expired: ${xAmzDate} is now earlier than ${amzDate(nowMs - FIVE_MINUTES_MS)} (${amzDate(nowMs)} - 5 min.)`,
      );
    }
    if (dateMs > nowMs + FIVE_MINUTES_MS) {
      throw new AwsError(
        'InvalidSignatureException',
        `Signature not yet current: ${xAmzDate} is still later than ${amzDate(nowMs + FIVE_MINUTES_MS)} (${amzDate(nowMs)} + 5 min.)`,
      );
    }
    return { accessKeyId: auth.accessKeyId, region: auth.region, credentials: cred };
  }
}
