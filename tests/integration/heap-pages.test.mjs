// The unit's environment gives copyjobd a heap in transparent huge pages: after a sync has
// grown it, glibc has asked for them (madvise, "hg" in the heap's VmFlags), and a daemon
// started without that environment has not. glibc ignores a tunable it does not know, so
// only this shows that the unit's line does what docs/performance.md measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireEnv, UNIT_ENV } from './lib/harness.mjs';
import { startPair, stopPair } from './lib/sync-helpers.mjs';

const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const thpMode = (() => {
  try { return /\[(\w+)\]/.exec(readFileSync(THP, 'utf8'))?.[1]; } catch { return undefined; }
})();
// Under valgrind or a sanitizer, malloc is not glibc's.
const skip = process.env.COPYJOBD_WRAPPER ? 'copyjobd runs under a wrapper'
  : !['madvise', 'always'].includes(thpMode) ? `transparent huge pages are ${thpMode ?? 'unknown'} here`
  : false;

// The VmFlags of each [heap] mapping of process pid.
function heapFlags(pid) {
  const out = [];
  let inHeap = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.trimEnd().endsWith('[heap]');
    else if (inHeap && line.startsWith('VmFlags:')) out.push(line.slice(8).trim().split(/\s+/));
  }
  return out;
}

const usesGlibcMalloc = (pid) => !/libasan|libubsan|libtsan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));

async function heapAfterSync(env) {
  // 5,000 jobs: LMDB's dirty pages alone grow the heap by more than a huge page at a time.
  const pair = await startPair({ jobs: 5000, seed: 11, sync: { page_size: '1000' }, env });
  try {
    const pid = pair.daemon.proc.pid;
    return { glibc: usesGlibcMalloc(pid), flags: heapFlags(pid) };
  } finally {
    await stopPair(pair);
  }
}

test('the unit asks glibc for a heap in huge pages', () => {
  assert.match(UNIT_ENV.GLIBC_TUNABLES ?? '', /(^|:)glibc\.malloc\.hugetlb=1(:|$)/);
});

test('a daemon with the unit\'s environment has its heap in huge pages; one without has not', { skip }, async (t) => {
  requireEnv();
  const withUnit = await heapAfterSync({});
  if (!withUnit.glibc) return t.skip('copyjobd is built with a sanitizer: malloc is not glibc\'s');
  assert.ok(withUnit.flags.length > 0, 'the daemon has a [heap] mapping');
  assert.ok(withUnit.flags.some((f) => f.includes('hg')),
    `some [heap] mapping is advised for huge pages: ${JSON.stringify(withUnit.flags)}`);
  const without = await heapAfterSync({ GLIBC_TUNABLES: '' });
  assert.ok(without.flags.length > 0);
  assert.ok(!without.flags.some((f) => f.includes('hg')),
    `without the unit's environment no [heap] mapping is: ${JSON.stringify(without.flags)}`);
});
