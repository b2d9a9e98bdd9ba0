// ISO 8601 timestamps as exact instants.
//
// An instant is kept as a BigInt count of nanoseconds since the Unix epoch plus a flag that
// says whether the text had non-zero digits beyond nanoseconds, so that strict bounds such as
// creationTimeBefore=...00.0000000001Z still compare exactly against stored jobs.

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

const NS_PER_S = 1_000_000_000n;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year, month) {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * Parses an ISO 8601 / RFC 3339 date-time with a zone designator.
 * Returns { ns: BigInt, beyondNs: boolean } or null when the text is not such a timestamp.
 */
export function parseIso(text) {
  if (typeof text !== 'string' || text.length > 64) return null;
  const m = ISO_RE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  const seconds = BigInt(d.getTime() / 1000 - offsetMinutes * 60);
  const frac = m[7] ?? '';
  const nsDigits = (frac + '000000000').slice(0, 9);
  const beyondNs = /[1-9]/.test(frac.slice(9));
  return { ns: seconds * NS_PER_S + BigInt(nsDigits), beyondNs };
}

/** Formats an instant the way Bedrock does: whole seconds, or 3 or 6 fractional digits. */
export function formatIso(ns, fractionDigits) {
  const seconds = ns / NS_PER_S;
  const rest = ns % NS_PER_S;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (!fractionDigits) return `${base}Z`;
  const digits = rest.toString().padStart(9, '0').slice(0, fractionDigits);
  return `${base}.${digits}Z`;
}

/** AWS's compact SigV4 form, 20240101T000000Z. */
export function amzDate(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Parses 20240101T000000Z into epoch milliseconds, or null. */
export function parseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!m) return null;
  const parsed = parseIso(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return parsed ? Number(parsed.ns / 1_000_000n) : null;
}

/**
 * Orders two jobs by (creation instant, jobArn in byte order). Job ARNs are ASCII (the
 * ModelCopyJobArn pattern of every ARN this fake makes), where UTF-16 order is byte order.
 */
export function compareKeys(aNs, aArn, bNs, bArn) {
  if (aNs !== bNs) return aNs < bNs ? -1 : 1;
  if (aArn === bArn) return 0;
  return aArn < bArn ? -1 : 1;
}
