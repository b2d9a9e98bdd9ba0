// STS's Query API as seen on the wire (POST /, form body, Version 2011-06-15): AssumeRole and
// GetCallerIdentity signed with SigV4 (service "sts", any region: STS is regional),
// AssumeRoleWithWebIdentity unsigned. Answers and errors in STS's XML shapes.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsError } from './errors.mjs';
import { SigV4Verifier, headersFromRaw } from './sigv4.mjs';
import { parseRawQuery } from './query.mjs';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_ACTIONS = ['AssumeRole', 'AssumeRoleWithWebIdentity', 'GetCallerIdentity'];
const STATUS = { AccessDenied: 403, ExpiredToken: 400, ExpiredTokenException: 400, RegionDisabledException: 403, InvalidIdentityToken: 400, ValidationError: 400, Throttling: 400, InvalidClientTokenId: 403, SignatureDoesNotMatch: 403, IncompleteSignature: 400, MissingAuthenticationToken: 403, InternalFailure: 500, ServiceUnavailable: 503 };
// Bedrock's error names of the signature check, in STS's words.
const FROM_BEDROCK = { UnrecognizedClientException: 'InvalidClientTokenId', InvalidSignatureException: 'SignatureDoesNotMatch', MissingAuthenticationTokenException: 'MissingAuthenticationToken', ExpiredTokenException: 'ExpiredToken' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlError = (code, message) =>
  `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${(STATUS[code] ?? 400) >= 500 ? 'Receiver' : 'Sender'}</Type>\n    <Code>${esc(code)}</Code>\n    <Message>${esc(message)}</Message>\n  </Error>\n  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`;
const credentialsXml = (c) =>
  `<Credentials>\n      <AccessKeyId>${c.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${esc(c.secretAccessKey)}</SecretAccessKey>\n      <SessionToken>${esc(c.sessionToken)}</SessionToken>\n      <Expiration>${new Date(c.expiresMs).toISOString()}</Expiration>\n    </Credentials>`;

class StsError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** app: { identity, faults, log }. Returns (req, res, body, protocol) handler for POST /. */
export function createStsHandler(app) {
  const verifier = new SigV4Verifier(app.config, { service: 'sts', anyRegion: true, lookup: (id) => app.identity.lookup(id) });

  return async function handleSts(req, res, body, protocol) {
    const params = parseRawQuery(body.toString('utf8')).object;
    const action = typeof params.Action === 'string' ? params.Action : null;
    const entry = { action: action ?? 'unknown', roleArn: params.RoleArn ?? null, sessionName: params.RoleSessionName ?? null, externalId: params.ExternalId ?? null, durationSeconds: params.DurationSeconds ?? null, webIdentityToken: params.WebIdentityToken ?? null, region: null, caller: null, status: null, errorCode: null };
    const send = (status, xml) => {
      entry.status = status;
      if (STS_ACTIONS.includes(entry.action)) app.identity.record(entry);
      if (res.destroyed || res.writableEnded) return;
      const buf = Buffer.from(xml);
      res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': buf.length, 'x-amzn-RequestId': randomUUID() });
      res.end(buf);
    };
    const fail = (code, message) => {
      entry.errorCode = code;
      return send(STATUS[code] ?? 400, xmlError(code, message));
    };

    try {
      if (!STS_ACTIONS.includes(action)) throw new StsError('InvalidAction', `Could not find operation ${String(action).slice(0, 100)} for version ${params.Version}`);
      if (params.Version !== '2011-06-15') throw new StsError('InvalidAction', `Could not find operation ${action} for version ${params.Version}`);
      let caller = null;
      if (action !== 'AssumeRoleWithWebIdentity') {
        const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(req.headers.host ?? '');
        const rawUrl = req.url ?? '/';
        const q = rawUrl.indexOf('?');
        try {
          const ok = await verifier.verify(
            { method: req.method, rawPath: q < 0 ? rawUrl : rawUrl.slice(0, q), query: parseRawQuery(q < 0 ? '' : rawUrl.slice(q + 1)).object, headers: headersFromRaw(req.rawHeaders), body, protocol, hostname: m ? m[1] : '', port: m && m[2] ? Number(m[2]) : req.socket.localPort },
            Date.now(),
          );
          caller = ok.credentials;
          entry.region = ok.region;
          entry.caller = ok.accessKeyId;
        } catch (err) {
          if (!(err instanceof AwsError)) throw err;
          throw new StsError(FROM_BEDROCK[err.type] ?? 'SignatureDoesNotMatch', err.message);
        }
      }

      // Aimed by the account whose credentials are at stake: the role's, or the caller's.
      const roleAccount = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(params.RoleArn ?? '')?.[1];
      const fault = app.faults.takeAimed(action, { account: action === 'GetCallerIdentity' ? caller?.account : roleAccount, region: entry.region ?? undefined });
      if (fault) {
        entry.fault = fault.kind;
        switch (fault.kind) {
          case 'throttle': throw new StsError('Throttling', 'Rate exceeded');
          case 'expiredToken': throw new StsError('ExpiredToken', 'The security token included in the request is expired');
          case 'awsError': throw new StsError(fault.code, fault.message ?? `Injected ${fault.code}`);
          case 'status': throw new StsError(fault.status >= 500 ? 'InternalFailure' : 'ValidationError', 'Injected error');
          case 'drop': req.socket.destroy(); return undefined;
          case 'delay': await sleep(fault.delayMs); break;
          default: break;
        }
      }

      if (action === 'GetCallerIdentity') {
        return send(200, `<GetCallerIdentityResponse xmlns="${NS}">\n  <GetCallerIdentityResult>\n    <Arn>${esc(caller.arn)}</Arn>\n    <UserId>${caller.accessKeyId}</UserId>\n    <Account>${caller.account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>\n</GetCallerIdentityResponse>\n`);
      }
      return send(200, assume(app, action, params, caller));
    } catch (err) {
      if (!(err instanceof StsError)) throw err;
      return fail(err.code, err.message);
    }
  };
}

function assume(app, action, params, caller) {
  const roleArn = params.RoleArn;
  const session = params.RoleSessionName;
  if (typeof roleArn !== 'string' || roleArn.length < 20) throw new StsError('ValidationError', "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20");
  if (typeof session !== 'string' || !/^[\w+=,.@-]{2,64}$/.test(session)) throw new StsError('ValidationError', "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  let duration = 3600;
  if (params.DurationSeconds !== undefined) {
    duration = Number(params.DurationSeconds);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new StsError('ValidationError', "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200");
  }
  const role = app.identity.roles.get(roleArn);
  if (action === 'AssumeRole') {
    if (!role) throw new StsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    if ((role.externalId ?? null) !== (params.ExternalId ?? null)) throw new StsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  } else {
    const token = params.WebIdentityToken;
    if (typeof token !== 'string' || token.length < 4) throw new StsError('ValidationError', "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4");
    if (!role) throw new StsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    if (!role.webIdentityTokens.has(token)) throw new StsError('InvalidIdentityToken', 'Couldn\'t retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements');
  }
  const name = roleArn.slice(roleArn.indexOf(':role/') + 6).split('/').pop();
  const arn = `arn:aws:sts::${role.account}:assumed-role/${name}/${session}`;
  const cred = app.identity.issue(role.account, arn, role.expirySeconds ?? duration, Date.now());
  const extra = action === 'AssumeRoleWithWebIdentity'
    ? `\n    <SubjectFromWebIdentityToken>system:serviceaccount:default:copyjobd</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n    <Provider>arn:aws:iam::${role.account}:oidc-provider/fake</Provider>`
    : '';
  return `<${action}Response xmlns="${NS}">\n  <${action}Result>${extra}\n    <AssumedRoleUser>\n      <AssumedRoleId>AROA${cred.accessKeyId.slice(4)}:${esc(session)}</AssumedRoleId>\n      <Arn>${esc(arn)}</Arn>\n    </AssumedRoleUser>\n    ${credentialsXml(cred)}\n    <PackedPolicySize>6</PackedPolicySize>\n  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
}
