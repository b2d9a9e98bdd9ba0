// Injected faults: an ordered queue. For each Bedrock request, every matching clockSkew fault
// shifts the fake's clock (they stack), and the first matching fault of any other kind, in the
// order added, is applied. Each application uses up one of the fault's `count` (-1 = forever).
// `after` lets that many matching requests through untouched first, so a pass can fail part-way.
// `account` and `region` aim a fault at one signer's account and/or one region: it matches
// only requests with that account (Bedrock, GetCallerIdentity: the signer's; AssumeRole and
// AssumeRoleWithWebIdentity: the role's; GetRoleCredentials: account_id) and that region
// (SigV4 credential scope).

export const FAULT_KINDS = [
  'throttle',
  'status',
  'drop',
  'delay',
  'truncate',
  'malformed',
  'endlessToken',
  'repeatToken',
  'expiredToken',
  'clockSkew',
  'awsError',
];

const BEDROCK_OPERATIONS = ['ListModelCopyJobs', 'GetModelCopyJob'];
// STS and IAM Identity Center: a fault reaches them only when aimed at them by operation.
export const IDENTITY_OPERATIONS = ['AssumeRole', 'AssumeRoleWithWebIdentity', 'GetCallerIdentity', 'GetRoleCredentials', 'CreateToken'];
const OPERATIONS = [...BEDROCK_OPERATIONS, ...IDENTITY_OPERATIONS];

/** Validates an admin fault request; returns the fault or throws Error with a message. */
export function makeFault(spec, id) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('body must be a JSON object');
  const { kind } = spec;
  if (!FAULT_KINDS.includes(kind)) throw new Error(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  const count = spec.count ?? 1;
  if (!Number.isInteger(count) || (count < 1 && count !== -1)) throw new Error('count must be a positive integer or -1');
  if (spec.operation !== undefined && !OPERATIONS.includes(spec.operation)) {
    throw new Error(`operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const after = spec.after ?? 0;
  if (!Number.isInteger(after) || after < 0) throw new Error('after must be a non-negative integer');
  if (spec.account !== undefined && (typeof spec.account !== 'string' || !/^\d{12}$/.test(spec.account))) {
    throw new Error('account must be 12 digits');
  }
  if (spec.region !== undefined && (typeof spec.region !== 'string' || !/^[a-z0-9-]{1,20}$/.test(spec.region))) {
    throw new Error('region must match [a-z0-9-]{1,20}');
  }
  const fault = { id, kind, count, after, operation: spec.operation ?? null };
  if (spec.account !== undefined) fault.account = spec.account;
  if (spec.region !== undefined) fault.region = spec.region;
  if (kind === 'status') {
    const status = spec.status ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error('status must be an integer 400..599');
    fault.status = status;
  }
  if (kind === 'delay') {
    const delayMs = spec.delayMs ?? 1000;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 600_000) throw new Error('delayMs must be an integer 0..600000');
    fault.delayMs = delayMs;
  }
  if (kind === 'awsError') {
    if (typeof spec.code !== 'string' || !/^[A-Za-z_.]{1,64}$/.test(spec.code)) throw new Error('code must be an AWS error code like AccessDenied');
    if (!IDENTITY_OPERATIONS.includes(spec.operation)) throw new Error(`awsError needs operation, one of ${IDENTITY_OPERATIONS.join(', ')}`);
    fault.code = spec.code;
    if (spec.message !== undefined) fault.message = String(spec.message).slice(0, 500);
    if (spec.status !== undefined) {
      if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) throw new Error('status must be an integer 400..599');
      fault.status = spec.status;
    }
  }
  if (kind === 'clockSkew') {
    const skew = spec.skewSeconds;
    if (!Number.isFinite(skew) || Math.abs(skew) > 10 * 365 * 86400) throw new Error('skewSeconds must be a number of seconds');
    fault.skewSeconds = skew;
  }
  return fault;
}

export class FaultQueue {
  constructor() {
    this.faults = [];
    this.nextId = 1;
  }

  add(spec) {
    const fault = makeFault(spec, this.nextId);
    this.nextId += 1;
    this.faults.push(fault);
    return fault;
  }

  clear() {
    this.faults = [];
  }

  list() {
    return this.faults.map((f) => ({ ...f }));
  }

  #use(fault) {
    if (fault.count > 0) {
      fault.count -= 1;
      if (fault.count === 0) this.faults = this.faults.filter((f) => f !== fault);
    }
    return { ...fault };
  }

  /** target: { account?, region? } of the request; a fault aimed at either needs it equal. */
  #applies(fault, operation, target = {}) {
    if (fault.account !== undefined && fault.account !== target.account) return false;
    if (fault.region !== undefined && fault.region !== target.region) return false;
    if (fault.operation === null) return BEDROCK_OPERATIONS.includes(operation) || operation === null;
    return fault.operation === operation;
  }

  /** The first fault aimed at an STS or SSO operation by name, or null (clockSkew excluded). */
  takeAimed(operation, target = {}) {
    const f = this.faults.find((x) => x.kind !== 'clockSkew' && x.operation === operation && this.#applies(x, operation, target));
    if (f && f.after > 0) {
      f.after -= 1;
      return null;
    }
    return f ? this.#use(f) : null;
  }

  /** Sum of the clock skews that apply to this request, in seconds, and how many were used. */
  takeClockSkew(operation, target = {}) {
    let seconds = 0;
    let used = 0;
    for (const f of [...this.faults]) {
      if (f.kind === 'clockSkew' && this.#applies(f, operation, target)) {
        seconds += f.skewSeconds;
        used += 1;
        this.#use(f);
      }
    }
    return { seconds, used };
  }

  /** The first other fault that applies to this request, or null. */
  take(operation, target = {}) {
    const f = this.faults.find((x) => x.kind !== 'clockSkew' && this.#applies(x, operation, target));
    if (f && f.after > 0) {
      f.after -= 1;
      return null;
    }
    return f ? this.#use(f) : null;
  }
}
