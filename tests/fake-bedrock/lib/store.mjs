// The jobs, kept sorted ascending by (creation instant, jobArn) with an index by ARN.
// Each job's JSON is serialised once and reused until the job changes.

import { JOB_FIELDS } from './patterns.mjs';
import { compareKeys, parseIso } from './timestamps.mjs';

function orderedFields(fields) {
  const out = {};
  for (const name of JOB_FIELDS) if (fields[name] !== undefined) out[name] = fields[name];
  return out;
}

export class StoredJob {
  constructor(fields) {
    this.fields = orderedFields(fields);
    const parsed = parseIso(this.fields.creationTime);
    if (!parsed || parsed.beyondNs) throw new Error(`bad creationTime ${this.fields.creationTime}`);
    this.ns = parsed.ns;
    // Plain numbers for the initial sort: BigInt comparisons are slow over 100,000 jobs.
    this.sec = Number(parsed.ns / 1_000_000_000n);
    this.nano = Number(parsed.ns % 1_000_000_000n);
    this.arn = this.fields.jobArn;
    this.json = JSON.stringify(this.fields);
  }
}

export class JobStore {
  constructor(jobs = []) {
    this.sorted = jobs.map((f) => new StoredJob(f));
    this.sorted.sort((a, b) => a.sec - b.sec || a.nano - b.nano || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
    this.byArn = new Map(this.sorted.map((j) => [j.arn, j]));
    if (this.byArn.size !== this.sorted.length) throw new Error('duplicate jobArn in data set');
  }

  get size() {
    return this.sorted.length;
  }

  get(arn) {
    return this.byArn.get(arn);
  }

  newestNs() {
    return this.sorted.length ? this.sorted[this.sorted.length - 1].ns : null;
  }

  /** First index whose key is > (ns, arn); arn null means "after every job at ns". */
  upperBound(ns, arn) {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const j = this.sorted[mid];
      const c = arn === null ? (j.ns <= ns ? -1 : 1) : compareKeys(j.ns, j.arn, ns, arn);
      if (c <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose key is >= (ns, arn); arn null means "before every job at ns". */
  lowerBound(ns, arn) {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const j = this.sorted[mid];
      const c = arn === null ? (j.ns < ns ? -1 : 1) : compareKeys(j.ns, j.arn, ns, arn);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(fields) {
    if (this.byArn.has(fields.jobArn)) throw new Error(`duplicate jobArn ${fields.jobArn}`);
    const job = new StoredJob(fields);
    this.sorted.splice(this.upperBound(job.ns, job.arn), 0, job);
    this.byArn.set(job.arn, job);
    return job;
  }

  remove(arn) {
    const job = this.byArn.get(arn);
    if (!job) return false;
    const i = this.lowerBound(job.ns, job.arn);
    if (this.sorted[i] !== job) throw new Error('store index out of order');
    this.sorted.splice(i, 1);
    this.byArn.delete(arn);
    return true;
  }

  /** Replaces a job's fields (same ARN), keeping the order right if creationTime changed. */
  replace(arn, fields) {
    const old = this.byArn.get(arn);
    if (!old) return null;
    const job = new StoredJob({ ...fields, jobArn: arn });
    this.remove(arn);
    this.sorted.splice(this.upperBound(job.ns, job.arn), 0, job);
    this.byArn.set(arn, job);
    return job;
  }
}
