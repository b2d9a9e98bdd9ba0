// Seeded generator of hostile request targets for the local API, and a one-request raw
// HTTP/1.1 client that sends the target's bytes exactly as generated (node's http module
// would refuse most of them before they left the process).
import net from 'node:net';
import { parseHead } from './abuse-common.mjs';

const KNOWN_KEYS = ['creationTimeAfter', 'creationTimeBefore', 'statusEquals', 'sourceAccountEquals',
  'sourceModelArnEquals', 'outputModelNameContains', 'targetModelNameContains', 'sortBy', 'sortOrder',
  'maxResults', 'nextToken'];

const pick = (rand, a) => a[Math.floor(rand() * a.length)];
const int = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

function b64(rand, n) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[int(rand, 0, 63)];
  return s;
}

function pctEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// One hostile value, as the raw bytes that go on the wire (a latin1 string: each char one byte).
function hostileValue(rand, validTokens) {
  switch (int(rand, 0, 22)) {
  case 0: return 'a'.repeat(pick(rand, [129, 1024, 8000, 30000]));
  case 1: return pick(rand, ['%00', '%00abc', 'abc%00', '%00%00%00', 'Completed%00Failed']);
  case 2: return pick(rand, ['%FF', '%C0%80', '%ED%A0%80', '%F4%90%80%80', '%E2%82', '%80', '%FE%FF', 'ok%C3']);
  case 3: { // raw bytes above 0x7f, not escaped
    let s = '';
    for (let i = int(rand, 1, 12); i > 0; i--) s += String.fromCharCode(int(rand, 0x80, 0xff));
    return s;
  }
  case 4: return pick(rand, ['%', '%G1', '%%', '%2', '%%41', '%zz']);
  case 5: return pick(rand, ['-1', '0', '1001', '99999999999999999999', '1e3', '%205', '0x10', '5%20', '+5', '00010', '']);
  case 6: return pick(rand, ['9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '2024-02-30T00:00:00Z', 'T',
    '2024-01-01T00:00:00.' + '9'.repeat(100) + 'Z', '2024-01-01T00:00:00%2B99:99', '2024-01-01', 'now', '7d',
    '-2024-01-01T00:00:00Z', '2024-01-01T24:00:00Z', '1970-01-01T00:00:00Z', '2262-04-12T00:00:00Z']);
  case 7: return b64(rand, pick(rand, [1, 16, 100, 2048, 4096, 20000])); // overlong / random tokens
  case 8: { // a real token, tampered with
    if (!validTokens.length) return 'AAAA';
    const t = Buffer.from(decodeURIComponent(pick(rand, validTokens)), 'latin1');
    const i = int(rand, 0, t.length - 1);
    t[i] = t[i] ^ (1 << int(rand, 0, 6));
    return pctEncode(t.toString('latin1'));
  }
  case 9: return validTokens.length ? pick(rand, validTokens) : 'x';
  case 10: return pick(rand, ['InProgress', 'Completed', 'Failed', 'completed', 'Unknown', 'Completed,Failed']);
  case 11: return pick(rand, ['Ascending', 'Descending', 'ascending', 'CreationTime', 'Name']);
  case 12: return pick(rand, ['123456789012', '12345678901', '1234567890123', 'abcdefghijkl', '%3F23456789012']);
  case 13: return pctEncode('arn:aws:bedrock:us-west-2:123456789012:custom-model/' + 'x'.repeat(int(rand, 0, 2100)));
  case 14: return pick(rand, ['%3Cscript%3E', '%22%5C%0A%0D%09', "'%3B--", '%E2%80%AE', '%F0%9F%92%A9', '%EF%BF%BF']);
  case 15: return pick(rand, ['a=b', 'a%26b', '%3D', '%26', '+', '%2B%2B', '%20']);
  case 16: return '%' + int(rand, 0, 255).toString(16).padStart(2, '0');
  case 17: return 'x%0D%0AInjected:%20header';
  case 18: return pctEncode('claims').repeat(int(rand, 1, 100));
  case 19: return '%C3%A9'.repeat(int(rand, 1, 300)); // valid UTF-8, many bytes per character
  case 20: return String(int(rand, 1, 1000));
  case 21: return pick(rand, ['true', 'false', 'null', '[]', '{}']);
  default: return '';
  }
}

// A whole target: path plus query string, as a latin1 string of wire bytes.
export function hostileTarget(rand, validTokens) {
  const shape = int(rand, 0, 19);
  if (shape === 0) { // 1000 keys
    const parts = [];
    for (let i = 0; i < 1000; i++) parts.push(`k${i}=${i}`);
    if (rand() < 0.5) parts.push('maxResults=5');
    return '/model-copy-jobs?' + parts.join('&');
  }
  if (shape === 1) { // a repeated key
    const k = pick(rand, KNOWN_KEYS);
    return `/model-copy-jobs?${k}=${hostileValue(rand, validTokens)}&${k}=${hostileValue(rand, validTokens)}`;
  }
  if (shape === 2) // GetModelCopyJob with a hostile label
    return '/model-copy-jobs/' + hostileValue(rand, validTokens);
  if (shape === 3)
    return pick(rand, ['/v1/stats', '/model-copy-jobs/', '/model-copy-jobs/%2F', '/model-copy-jobs//x',
      '/model-copy-jobs?', '/model-copy-jobs?&&&', '/model-copy-jobs?=', '/model-copy-jobs?==&=x',
      '/model-copy-jobs/..%2F..%2Fetc%2Fpasswd', '/model-copy-jobs#frag', '/MODEL-COPY-JOBS',
      '/model-copy-jobs?maxResults', '/model-copy-jobs?nextToken=', '/model-copy-jobs;x=1',
      '/v1/stats?x=' + 'y'.repeat(5000)]);
  const n = int(rand, 1, 6);
  const parts = [];
  for (let i = 0; i < n; i++) {
    const key = rand() < 0.85 ? pick(rand, KNOWN_KEYS) : hostileValue(rand, validTokens).slice(0, 300) || 'k';
    parts.push(rand() < 0.05 ? key : `${key}=${hostileValue(rand, validTokens)}`);
  }
  return '/model-copy-jobs?' + parts.join(pick(rand, ['&', '&', '&', '&&', ';']));
}

function dechunk(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const nl = buf.indexOf('\r\n', i);
    if (nl < 0) return null;
    const size = parseInt(buf.subarray(i, nl).toString('latin1'), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(out);
    out.push(buf.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
}

// Sends one GET with `target` as the raw request target over a new connection with
// "Connection: close". Resolves {status, headers, body (Buffer), closedWithoutAnswer, timedOut}.
export function rawGet(socketPath, target, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const chunks = [];
    let done = false;
    const sock = net.connect(socketPath);
    const finish = (timedOut) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const bytes = Buffer.concat(chunks);
      const head = parseHead(bytes);
      if (!head) return resolve({ closedWithoutAnswer: true, timedOut, bytes });
      let body = bytes.subarray(head.bodyStart);
      if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) body = dechunk(body) ?? body;
      resolve({ status: head.status, headers: head.headers, body, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => finish(false));
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, 'latin1'));
    });
  });
}
