// The data sets, one per (account, region): each its own seeded jobs, store and counters. A
// Bedrock request is served from the data set of its signer's account in its credential
// scope's region. The caller's data set in --region is the default, generated exactly as
// with one data set; every other is seeded from (--seed, account, region), so its jobs differ
// and its jobArns name its own account and region.

import { JobFactory } from './dataset.mjs';
import { JobStore } from './store.mjs';
import { Stats } from './stats.mjs';

export const ACCOUNT_RE = /^\d{12}$/;
export const REGION_RE = /^[a-z0-9-]{1,20}$/;

/** FNV-1a of the text, as an unsigned 32-bit seed. */
export function derivedSeed(seed, account, region) {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(`${seed}/${account}/${region}`)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

export class Dataset {
  /** factory: a JobFactory; jobs: how many to generate. */
  constructor(factory, seed, jobs) {
    this.factory = factory;
    this.account = factory.account;
    this.region = factory.region;
    this.seed = seed;
    this.store = new JobStore(factory.generate(jobs));
    this.stats = new Stats();
  }

  get key() {
    return `${this.account}/${this.region}`;
  }

  info() {
    return {
      account: this.account,
      region: this.region,
      seed: this.seed,
      epoch: new Date(Number(this.factory.epochNs / 1_000_000n)).toISOString(),
      jobs: this.store.size,
    };
  }
}

export class Datasets {
  /** config: { seed, jobs, region, regions, accounts, newestMs } from parseArgs. */
  constructor(config) {
    this.config = config;
    this.map = new Map();
    const factory = new JobFactory({ seed: config.seed, region: config.region, newestMs: config.newestMs });
    this.default = this.#put(new Dataset(factory, config.seed, config.jobs));
    this.callerAccount = this.default.account;
    this.regions = new Set([config.region, ...(config.regions ?? [])]);
    const accounts = [this.callerAccount, ...(config.accounts ?? []).filter((a) => a !== this.callerAccount)];
    for (const account of accounts) {
      for (const region of this.regions) if (!this.get(account, region)) this.create({ account, region });
    }
  }

  #put(ds) {
    this.map.set(ds.key, ds);
    return ds;
  }

  get(account, region) {
    return this.map.get(`${account}/${region}`);
  }

  servesRegion(region) {
    return this.regions.has(region);
  }

  /**
   * The data set serving a request signed by `account` in `region`: its own, else (an account
   * with no data set of its own, as every key was before accounts had data sets) the caller's
   * in that region, made on first use. Undefined when the region is not served.
   */
  forRequest(account, region) {
    if (!this.servesRegion(region)) return undefined;
    return this.get(account, region) ?? this.get(this.callerAccount, region) ?? this.create({ account: this.callerAccount, region });
  }

  /** spec: { account, region, jobs?, seed?, replace? }. Throws Error with a message for bad input. */
  create(spec) {
    const { account, region } = spec;
    if (typeof account !== 'string' || !ACCOUNT_RE.test(account)) throw new Error('account must be 12 digits');
    if (typeof region !== 'string' || !REGION_RE.test(region)) throw new Error('region must match [a-z0-9-]{1,20}');
    const jobs = spec.jobs ?? this.config.jobs;
    if (!Number.isInteger(jobs) || jobs < 0 || jobs > 1_000_000) throw new Error('jobs must be an integer 0..1000000');
    const seed = spec.seed ?? derivedSeed(this.config.seed, account, region);
    if (!Number.isInteger(seed) || seed < 0 || seed > 4294967295) throw new Error('seed must be an integer 0..4294967295');
    const existing = this.get(account, region);
    if (existing && spec.replace !== true) {
      const err = new Error(`a data set for account ${account} in ${region} exists (pass "replace": true to make it anew)`);
      err.conflict = true;
      throw err;
    }
    if (existing === this.default) throw new Error('the default data set cannot be replaced; restart the fake with other options');
    const factory = new JobFactory({ seed, region, newestMs: this.config.newestMs, account });
    this.regions.add(region);
    return this.#put(new Dataset(factory, seed, jobs));
  }

  list() {
    return [...this.map.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
