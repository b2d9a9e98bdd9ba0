// Helpers for the tests that play systemd's part: a reader for the sd_notify datagram socket,
// the daemon under systemd-socket-activate, the build directory and `cmake --install`.
// Every wait is bounded; every process is stopped by the returned stop().
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { NO_STS, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, request, sleep, waitFor, UNIT_ENV } from './harness.mjs';

export const SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

// The build directory of the copyjobd under test: the nearest parent with a CMakeCache.txt.
export function buildDir() {
  let d = dirname(process.env.COPYJOBD ?? '');
  for (let i = 0; i < 6 && d !== '/'; i++, d = dirname(d))
    if (existsSync(join(d, 'CMakeCache.txt'))) return d;
  throw new Error(`no CMakeCache.txt above COPYJOBD=${process.env.COPYJOBD}`);
}

export function haveCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

// A free loopback TCP port (closed again before use; good enough on a test machine).
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

// Node cannot receive on AF_UNIX datagram sockets, so a small C program does, compiled with
// the C compiler the build uses: it binds the path, prints "ready", then one JSON line per
// datagram: {"ms": CLOCK_MONOTONIC milliseconds, "msg": the datagram}.
const NOTIFY_READER_C = String.raw`
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[8192];
    if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path))
        return 64;
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("notify-reader");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0) {
            perror("notify-reader: recv");
            return 1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        printf("{\"ms\":%lld,\"msg\":\"", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c == '"' || c == '\\')
                printf("\\%c", c);
            else if (c < 0x20 || c >= 0x7f)
                printf("\\u%04x", c);
            else
                putchar(c);
        }
        printf("\"}\n");
        fflush(stdout);
    }
}
`;

function compileNotifyReader(dir) {
  const src = join(dir, 'notify-reader.c');
  const bin = join(dir, 'notify-reader');
  writeFileSync(src, NOTIFY_READER_C);
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-O1', '-o', bin, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} could not build the notify reader: ${r.stderr}`);
  return bin;
}

// Binds a datagram socket at <dir>/notify.sock; resolves {path, messages, waitFor, stop}.
// messages: [{ms, msg, fields: Map}] in arrival order.
export async function startNotifyReader(dir) {
  const bin = compileNotifyReader(dir);
  const path = join(dir, 'notify.sock');
  const proc = spawn(bin, [path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages = [];
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`notify reader not ready: ${stderr}`)), 10000);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolveReady();
        return;
      }
      const m = JSON.parse(line);
      m.fields = new Map(m.msg.split('\n').filter(Boolean).map((kv) => {
        const eq = kv.indexOf('=');
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }));
      messages.push(m);
    });
    proc.once('exit', () => reject(new Error(`notify reader exited: ${stderr}`)));
  });
  await ready;
  return {
    path,
    messages,
    // The first message at index >= from that satisfies pred; returns its index.
    waitFor: (what, pred, from = 0, timeoutMs = 60000) => waitFor(what, () => {
      for (let i = from; i < messages.length; i++) if (pred(messages[i])) return { i, ...messages[i] };
      return false;
    }, timeoutMs, 20),
    stop: () => { proc.kill('SIGKILL'); },
  };
}

export function writeDaemonConfig(dir, { endpoint, socket, extra = '' }) {
  const configPath = join(dir, 'copyjobd.conf');
  writeFileSync(configPath, [
    '[aws]', 'region = us-east-1', `endpoint = ${endpoint}`,
    '[store]', `directory = ${join(dir, 'state')}`, 'max_size = 256M',
    '[server]', `socket = ${socket}`,
    extra,
  ].join('\n') + '\n');
  return configPath;
}

function stopProcess(proc, timeoutMs = 15000) {
  return new Promise((resolveStop) => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      return resolveStop({ code: proc.exitCode, signal: proc.signalCode });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolveStop({ code, signal });
    });
    proc.kill('SIGTERM');
  });
}

// copyjobd under systemd-socket-activate, listening on <dir>/activate.sock; the daemon's own
// configured socket is <dir>/configured.sock, which it must not create.
export function startActivated({ endpoint, extraConfig = '' }) {
  const dir = mkdtempSync(join(tmpdir(), 'cj-activate-'));
  const socket = join(dir, 'activate.sock');
  const configured = join(dir, 'configured.sock');
  const configPath = writeDaemonConfig(dir, { endpoint, socket: configured, extra: extraConfig });
  const env = {
    ...UNIT_ENV,
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_STS: NO_STS,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
  };
  // systemd-socket-activate gives its child only LISTEN_* and what -E names.
  const passEnv = Object.keys(env).flatMap((k) => ['-E', k]);
  const proc = spawn('systemd-socket-activate', ['-l', socket, ...passEnv, '--',
    process.env.COPYJOBD, '--config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  return {
    proc, dir, socket, configured, configPath,
    log: () => log,
    get: (path) => request(socket, 'GET', path),
    waitListening: () => waitFor('systemd-socket-activate to listen', () => {
      if (proc.exitCode !== null) throw new Error(`systemd-socket-activate exited:\n${log}`);
      return existsSync(socket);
    }, 20000),
    stop: async () => stopProcess(proc),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// `cmake --install` of the build under test into <dir>/root (DESTDIR) with prefix /usr.
// Resolves the DESTDIR root.
export function installInto(dir) {
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  execFileSync('cmake', ['--install', buildDir(), '--prefix', '/usr'], {
    env: { ...process.env, DESTDIR: root }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000,
  });
  return root;
}

export function pkgConfigVar(pkg, variable) {
  const r = spawnSync('pkg-config', [`--variable=${variable}`, pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

export function readText(path) {
  return readFileSync(path, 'utf8');
}

export { sleep };
