// Ground truth for the self-tests, written apart from the server's own code: instants are
// compared as (whole seconds from Date.parse, fraction digits padded), ARNs as byte strings.

export function instantKey(iso) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) throw new Error(`not an ISO time: ${iso}`);
  return { seconds: Date.parse(`${m[1]}${m[3]}`) / 1000, fraction: (m[2] ?? '').padEnd(12, '0') };
}

export function compareInstants(a, b) {
  const ka = instantKey(a);
  const kb = instantKey(b);
  if (ka.seconds !== kb.seconds) return ka.seconds < kb.seconds ? -1 : 1;
  if (ka.fraction !== kb.fraction) return ka.fraction < kb.fraction ? -1 : 1;
  return 0;
}

export function compareJobs(a, b) {
  const c = compareInstants(a.creationTime, b.creationTime);
  if (c !== 0) return c;
  return Buffer.compare(Buffer.from(a.jobArn), Buffer.from(b.jobArn));
}

/** The expected ListModelCopyJobs result over `jobs` for decoded query params. */
export function expectedList(jobs, q = {}) {
  const out = jobs.filter(
    (j) =>
      (q.creationTimeAfter === undefined || compareInstants(j.creationTime, q.creationTimeAfter) > 0) &&
      (q.creationTimeBefore === undefined || compareInstants(j.creationTime, q.creationTimeBefore) < 0) &&
      (q.statusEquals === undefined || j.status === q.statusEquals) &&
      (q.sourceAccountEquals === undefined || j.sourceAccountId === q.sourceAccountEquals) &&
      (q.sourceModelArnEquals === undefined || j.sourceModelArn === q.sourceModelArnEquals) &&
      (q.outputModelNameContains === undefined || (j.targetModelName ?? '').includes(q.outputModelNameContains)),
  );
  out.sort(compareJobs);
  if ((q.sortOrder ?? 'Descending') === 'Descending') out.reverse();
  return out;
}

/** Groups of job ARNs that share one creation instant (only groups of 2 or more). */
export function tieGroups(jobs) {
  const groups = new Map();
  for (const j of jobs) {
    const k = instantKey(j.creationTime);
    const key = `${k.seconds}.${k.fraction}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(j);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

export const arns = (jobs) => jobs.map((j) => j.jobArn);
