// Who may call the fake: the configured key, the temporary credentials STS and the SSO portal
// hand out, the roles that may be assumed (account, external id, accepted web identity
// tokens) and IAM Identity Center's tokens, client registrations and role grants. Counts every
// STS and SSO call, for the tests that check "once per credential lifetime".

import { randomBytes } from 'node:crypto';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const randomWord = (n, alphabet = UPPER) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
const B64ISH = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

export class Identity {
  /** config: { accessKeyId, secretAccessKey, sessionToken? }; account: the caller's account. */
  constructor(config, account) {
    this.account = account;
    this.base = {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      sessionToken: config.sessionToken ?? null,
      account,
      arn: `arn:aws:iam::${account}:user/copyjobd-test`,
      expiresMs: null,
    };
    this.reset();
  }

  reset() {
    this.keys = new Map([[this.base.accessKeyId, this.base]]);
    this.roles = new Map();
    this.ssoTokens = new Map(); // accessToken -> { expiresMs }
    this.ssoRoles = new Set(); // `${accountId}/${roleName}`
    this.ssoClients = new Map(); // clientId -> { clientSecret, refreshTokens: Set, expiresIn }
    this.resetCalls();
  }

  resetCalls() {
    this.counts = { AssumeRole: 0, AssumeRoleWithWebIdentity: 0, GetCallerIdentity: 0, GetRoleCredentials: 0, CreateToken: 0 };
    this.calls = [];
  }

  record(entry) {
    this.counts[entry.action] = (this.counts[entry.action] ?? 0) + 1;
    this.calls.push({ t: Date.now(), ...entry });
    if (this.calls.length > 2000) this.calls.splice(0, this.calls.length - 2000);
  }

  /** The credentials of an access key id, or undefined. */
  lookup(accessKeyId) {
    return this.keys.get(accessKeyId);
  }

  /** Issues temporary credentials for account/arn valid for seconds. */
  issue(account, arn, seconds, nowMs) {
    const cred = {
      accessKeyId: `ASIA${randomWord(16)}`,
      secretAccessKey: `cjFakeSecret/${randomWord(27, B64ISH)}`,
      sessionToken: `cjFakeToken/${randomWord(120, B64ISH)}`,
      account,
      arn,
      expiresMs: Math.floor((nowMs + seconds * 1000) / 1000) * 1000,
    };
    this.keys.set(cred.accessKeyId, cred);
    return cred;
  }

  /** spec: { roleArn, externalId?, webIdentityTokens?, expirySeconds? } */
  addRole(spec) {
    const m = ROLE_ARN_RE.exec(spec.roleArn ?? '');
    if (!m) throw new Error('roleArn must be arn:aws:iam::ACCOUNT:role/NAME');
    if (spec.externalId !== undefined && typeof spec.externalId !== 'string') throw new Error('externalId must be a string');
    const tokens = spec.webIdentityTokens ?? [];
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw new Error('webIdentityTokens must be strings');
    const expiry = spec.expirySeconds;
    if (expiry !== undefined && (!Number.isInteger(expiry) || expiry < 1 || expiry > 43200)) {
      throw new Error('expirySeconds must be an integer 1..43200');
    }
    const role = { roleArn: spec.roleArn, account: m[1], externalId: spec.externalId ?? null, webIdentityTokens: new Set(tokens), expirySeconds: expiry ?? null };
    this.roles.set(role.roleArn, role);
    return { ...role, webIdentityTokens: [...role.webIdentityTokens] };
  }

  /** spec: { accessToken, expiresInSeconds? } or { accountId, roleName } or { clientId, clientSecret, refreshToken, expiresIn? } */
  addSso(spec) {
    if (spec.accessToken !== undefined) {
      if (typeof spec.accessToken !== 'string' || !spec.accessToken) throw new Error('accessToken must be a string');
      const secs = spec.expiresInSeconds ?? 3600;
      this.ssoTokens.set(spec.accessToken, { expiresMs: Date.now() + secs * 1000 });
    }
    if (spec.accountId !== undefined || spec.roleName !== undefined) {
      if (!/^\d{12}$/.test(spec.accountId ?? '') || typeof spec.roleName !== 'string') throw new Error('accountId (12 digits) and roleName are required together');
      this.ssoRoles.add(`${spec.accountId}/${spec.roleName}`);
    }
    if (spec.clientId !== undefined) {
      for (const k of ['clientId', 'clientSecret', 'refreshToken']) {
        if (typeof spec[k] !== 'string' || !spec[k]) throw new Error(`${k} must be a string`);
      }
      this.ssoClients.set(spec.clientId, { clientSecret: spec.clientSecret, refreshTokens: new Set([spec.refreshToken]), expiresIn: spec.expiresIn ?? 3600 });
    }
  }

  snapshot() {
    return {
      counts: { ...this.counts },
      calls: this.calls.map((c) => ({ ...c })),
      issued: [...this.keys.values()].filter((k) => k !== this.base).map((k) => ({ ...k })),
      ssoAccessTokens: [...this.ssoTokens.keys()],
    };
  }
}
