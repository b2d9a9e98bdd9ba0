// Low-level clients for the API tests: an event stream reader (chunked NDJSON over the Unix
// socket), a raw socket that sends exactly the bytes given, and a Prometheus text parser.
// Every wait is bounded.
import net from 'node:net';
import http from 'node:http';
import { sleep } from './harness.mjs';

// GET /v1/events as a stream; `lines` fills with parsed objects, `blanks` counts heartbeats.
export function openStream(socketPath, path, { read = true } = {}) {
  const s = { lines: [], blanks: 0, status: 0, headers: null, ended: false, error: null };
  s.ready = new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, agent: false }, (res) => {
      s.status = res.statusCode;
      s.headers = res.headers;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === '') s.blanks++;
          else s.lines.push(JSON.parse(line));
        }
      });
      res.on('end', () => { s.ended = true; s.body = buf; });
      res.on('error', (e) => { s.error = e; s.ended = true; });
      if (!read) res.pause();
      s.res = res;
      resolve(s);
    });
    req.on('error', (e) => { s.error = e; s.ended = true; reject(e); });
    req.end();
    s.req = req;
  });
  s.close = () => { s.req.destroy(); };
  s.events = () => s.lines.filter((l) => typeof l.seq === 'number');
  s.waitLines = async (n, what, timeoutMs = 30000) => {
    const deadline = Date.now() + timeoutMs;
    while (s.lines.length < n) {
      if (s.ended) throw new Error(`${what}: stream ended after ${s.lines.length} of ${n} lines`);
      if (Date.now() > deadline) throw new Error(`${what}: ${s.lines.length} of ${n} lines in ${timeoutMs} ms`);
      await sleep(20);
    }
    return s.lines;
  };
  return s;
}

// Sends `parts` (strings/Buffers) on a raw connection, `gapMs` apart, and collects what
// comes back until the server closes or timeoutMs. Resolves {bytes, closed, sentAll, ms}.
export function rawSend(target, parts, { gapMs = 0, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const start = Date.now();
    const sock = typeof target === 'string' ? net.createConnection(target) : net.createConnection(target);
    const chunks = [];
    let closed = false, sentAll = false, done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, sentAll, ms: Date.now() - start });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => { closed = true; finish(); });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (done || sock.destroyed) return;
        sock.write(p);
        if (gapMs) await sleep(gapMs);
      }
      sentAll = true;
    });
  });
}

export function statusOf(bytes) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(bytes.toString('latin1'));
  return m ? Number(m[1]) : null;
}

// Parses Prometheus text exposition 0.0.4 strictly enough for tests: every sample belongs
// to a family announced by # HELP and # TYPE; counters end in _total. Returns
// {families: Map(name -> {help, type}), samples: [{name, labels, value}], get(name, labels)}.
export function parsePrometheus(text) {
  const families = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      families.set(m[1], { ...(families.get(m[1]) ?? {}), help: m[2] });
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      families.set(m[1], { ...(families.get(m[1]) ?? {}), type: m[2] });
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const fam = families.get(m[1]);
    if (!fam?.help || !fam?.type) throw new Error(`sample before its HELP/TYPE: ${line}`);
    if (fam.type === 'counter' && !m[1].endsWith('_total')) throw new Error(`counter without _total: ${m[1]}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let lm, consumed = 0;
      while ((lm = re.exec(m[2]))) {
        labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
        consumed = re.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    const value = Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  const get = (name, labels = {}) => {
    const s = samples.find((x) => x.name === name &&
      Object.keys(labels).length === Object.keys(x.labels).length &&
      Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s ? s.value : undefined;
  };
  return { families, samples, get };
}
