// IAM Identity Center as seen on the wire: the portal's GetRoleCredentials
// (GET /federation/credentials, bearer token in x-amz-sso_bearer_token, restJson1) and OIDC's
// CreateToken with a refresh token (POST /token, JSON, OAuth-style errors).

import { randomBytes, randomUUID } from 'node:crypto';

const word = (n) => randomBytes(n).toString('base64url');

function sendJson(res, status, obj, headers = {}) {
  if (res.destroyed || res.writableEnded) return;
  const buf = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': buf.length, 'x-amzn-RequestId': randomUUID(), ...headers });
  res.end(buf);
}

const portalError = (res, status, type, message) => sendJson(res, status, { message }, { 'x-amzn-ErrorType': type });

/** GET /federation/credentials?account_id=&role_name= */
export function handleGetRoleCredentials(app, req, res) {
  const url = new URL(req.url ?? '/', 'http://fake');
  const accountId = url.searchParams.get('account_id');
  const roleName = url.searchParams.get('role_name');
  const token = req.headers['x-amz-sso_bearer_token'];
  const entry = { action: 'GetRoleCredentials', accountId, roleName, accessToken: token ?? null, status: null, errorCode: null };
  const done = (status, errorCode) => {
    entry.status = status;
    entry.errorCode = errorCode;
    app.identity.record(entry);
  };
  const fault = app.faults.takeAimed('GetRoleCredentials', { account: accountId ?? undefined });
  if (fault) {
    const type = fault.kind === 'awsError' ? fault.code : fault.kind === 'throttle' ? 'TooManyRequestsException' : 'InternalServerException';
    const status = fault.kind === 'awsError' ? (fault.status ?? 400) : fault.kind === 'throttle' ? 429 : (fault.status ?? 500);
    done(status, type);
    return portalError(res, status, type, 'Injected error');
  }
  if (!accountId || !roleName) {
    done(400, 'InvalidRequestException');
    return portalError(res, 400, 'InvalidRequestException', 'account_id and role_name are required');
  }
  const t = token ? app.identity.ssoTokens.get(token) : undefined;
  if (!t || Date.now() >= t.expiresMs) {
    done(401, 'UnauthorizedException');
    return portalError(res, 401, 'UnauthorizedException', 'Session token not found or invalid');
  }
  if (!app.identity.ssoRoles.has(`${accountId}/${roleName}`)) {
    done(403, 'ForbiddenException');
    return portalError(res, 403, 'ForbiddenException', 'No access');
  }
  const cred = app.identity.issue(accountId, `arn:aws:sts::${accountId}:assumed-role/AWSReservedSSO_${roleName}_0123456789abcdef/copyjobd`, 3600, Date.now());
  done(200, null);
  return sendJson(res, 200, { roleCredentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, sessionToken: cred.sessionToken, expiration: cred.expiresMs } });
}

/** POST /token (CreateToken with grantType refresh_token). */
export function handleCreateToken(app, req, res, body) {
  let spec;
  try {
    spec = JSON.parse(body.toString('utf8'));
  } catch {
    spec = null;
  }
  const entry = { action: 'CreateToken', clientId: spec?.clientId ?? null, refreshToken: spec?.refreshToken ?? null, status: null, errorCode: null };
  const reply = (status, obj) => {
    entry.status = status;
    entry.errorCode = obj.error ?? null;
    app.identity.record(entry);
    sendJson(res, status, obj, obj.error ? { 'x-amzn-ErrorType': obj.error === 'invalid_grant' ? 'InvalidGrantException' : 'InvalidRequestException' } : {});
  };
  const fault = app.faults.takeAimed('CreateToken');
  if (fault) return reply(fault.status ?? 400, { error: fault.code ?? 'invalid_grant', error_description: 'Injected error' });
  if (!spec || typeof spec !== 'object' || spec.grantType !== 'refresh_token') return reply(400, { error: 'unsupported_grant_type', error_description: 'grantType must be refresh_token' });
  const client = app.identity.ssoClients.get(spec.clientId);
  if (!client || client.clientSecret !== spec.clientSecret) return reply(401, { error: 'invalid_client', error_description: 'Invalid client' });
  if (!client.refreshTokens.has(spec.refreshToken)) return reply(400, { error: 'invalid_grant', error_description: 'Invalid refresh token provided' });
  client.refreshTokens.delete(spec.refreshToken);
  const accessToken = `cjFakeSsoAccess-${word(24)}`;
  const refreshToken = `cjFakeSsoRefresh-${word(24)}`;
  client.refreshTokens.add(refreshToken);
  app.identity.ssoTokens.set(accessToken, { expiresMs: Date.now() + client.expiresIn * 1000 });
  return reply(200, { accessToken, tokenType: 'Bearer', expiresIn: client.expiresIn, refreshToken });
}
