// Who can reach and read what the daemon creates: the socket has the configured mode and is
// never world-writable, another user outside the group is refused by the filesystem, the
// store is private (a store directory others may write into is refused), planted symlinks are
// not followed, a credentials file readable by others is warned about, and a credential_process
// from a file others may write into is refused. Runs as root (CI); the "other user" is
// nobody:nogroup via setpriv.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_STS, requireEnv, startFake, startDaemon, waitFor } from './lib/harness.mjs';
import { report } from './lib/abuse-common.mjs';

let fake;
const isRoot = process.getuid() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;

before(async () => {
  requireEnv();
  fake = await startFake({ jobs: 50, extraArgs: ['--https-port', '-1'] });
});
after(async () => { if (fake) await fake.stop(); });

const mode = (p) => lstatSync(p).mode & 0o7777;

// Connects as another user with curl over the Unix socket; returns curl's exit status (7:
// cannot connect) and stderr.
function curlAs(socket, ids) {
  const r = spawnSync('setpriv', [...ids, 'curl', '-sS', '--max-time', '5', '--unix-socket', socket, 'http://localhost/v1/stats'],
    { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('default: socket 0660, store directory 0700 and its files 0600; nobody outside the group is refused', async (t) => {
  const d = await startDaemon({ endpoint: fake.http });
  try {
    assert.equal(mode(d.socket), 0o660, `socket mode ${mode(d.socket).toString(8)}`);
    const state = join(d.dir, 'state');
    assert.equal(mode(state), 0o700, `store directory mode ${mode(state).toString(8)}`);
    const files = readdirSync(state);
    assert.ok(files.length >= 1);
    for (const f of files) assert.equal(mode(join(state, f)) & 0o077, 0, `${f} is ${mode(join(state, f)).toString(8)}`);
    report(`socket ${mode(d.socket).toString(8)}, store dir 700, ${files.length} store files (${files.join(', ')}) not readable by others: held`);

    if (!isRoot || !hasSetpriv) { t.skip('needs root and setpriv'); return; }
    chmodSync(d.dir, 0o711); // let others reach the socket's directory: only the socket's mode decides
    const outsider = curlAs(d.socket, ['--reuid=nobody', '--regid=nogroup', '--clear-groups']);
    assert.equal(outsider.status, 7, `nobody:nogroup connected: ${outsider.out}`);
    assert.match(outsider.out, /Permission denied|Couldn't connect/i);
    const member = curlAs(d.socket, ['--reuid=nobody', '--regid=0', '--clear-groups']);
    assert.equal(member.status, 0, `a member of the socket's group was refused: ${member.out}`);
    report('nobody:nogroup refused by the socket mode (curl exit 7), nobody:root (group member) served: held');
  } finally {
    await d.stop();
  }
});

test('socket_mode = 0600 is applied; 0666 (world-writable) is refused by --check-config', async (t) => {
  const d = await startDaemon({ endpoint: fake.http, config: 'socket_mode = 0600\n' });
  try {
    assert.equal(mode(d.socket), 0o600);
    if (isRoot && hasSetpriv) {
      chmodSync(d.dir, 0o711);
      const member = curlAs(d.socket, ['--reuid=nobody', '--regid=0', '--clear-groups']);
      assert.equal(member.status, 7, `0600: a group member connected: ${member.out}`);
    }
  } finally {
    await d.stop();
  }
  const bad = await startDaemon({ endpoint: fake.http, config: 'socket_mode = 0666\n', args: ['--check-config'], wait: 'none' });
  const { code } = await bad.exited;
  assert.notEqual(code, 0);
  assert.match(bad.log(), /socket_mode.*world-writable/);
  await bad.stop();
  report('socket_mode 0600 applied (group member refused); 0666 refused at config time: held');
});

// Runs copyjobd directly with a config of our own (the harness fixes the socket path); a
// daemon that does not refuse keeps running and is killed after 15 s, which fails the test.
function runDirect(dir, lines, env = {}, args = []) {
  const conf = join(dir, 'copyjobd.conf');
  writeFileSync(conf, ['[aws]', 'region = us-east-1', `endpoint = ${fake.http}`, ...lines].join('\n') + '\n');
  const r = spawnSync(process.env.COPYJOBD, ['--config', conf, ...args], {
    encoding: 'utf8', timeout: 15000,
    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'AKIDCOPYJOBDTEST0001', AWS_SECRET_ACCESS_KEY: 'x', AWS_ENDPOINT_URL_STS: NO_STS, HOME: dir, ...env },
  });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

test('a symlink planted at the socket path is not followed: the daemon refuses, the target is untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-sec-'));
  try {
    const victim = join(dir, 'precious');
    writeFileSync(victim, 'do not touch\n');
    chmodSync(victim, 0o640);
    const before = statSync(victim);
    symlinkSync(victim, join(dir, 'copyjobd.sock'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.sock'));
    for (const sock of ['copyjobd.sock', 'dangling.sock']) {
      const r = runDirect(dir, ['[store]', `directory = ${join(dir, 'state')}`, '[server]', `socket = ${join(dir, sock)}`]);
      assert.notEqual(r.status, 0, `started despite a symlink at the socket path (${sock}): ${r.out}`);
      assert.equal(r.signal, null, `still running after 15 s with a symlink at ${sock}`);
      assert.match(r.out, /not a socket|symlink|refus/i, r.out);
      assert.ok(lstatSync(join(dir, sock)).isSymbolicLink(), 'the link itself was replaced');
    }
    const after = statSync(victim);
    assert.equal(readFileSync(victim, 'utf8'), 'do not touch\n');
    assert.equal(after.mode, before.mode);
    assert.ok(!existsSync(join(dir, 'nowhere')), 'the dangling link\'s target was created');
    report('symlink (to a file, and dangling) at the socket path: refused, target untouched: held');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a symlink planted at the store directory path is not followed: the daemon refuses, the target is untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-sec-'));
  try {
    const elsewhere = join(dir, 'elsewhere');
    spawnSync('mkdir', ['-m', '0755', elsewhere]);
    symlinkSync(elsewhere, join(dir, 'state'));
    const r = runDirect(dir, ['[store]', `directory = ${join(dir, 'state')}`, '[server]', `socket = ${join(dir, 's.sock')}`]);
    const planted = readdirSync(elsewhere);
    assert.deepEqual(planted, [], `the daemon wrote through the symlink: ${planted.join(', ')}`);
    assert.notEqual(r.status, 0, `started with a symlink as its store directory: ${r.out}`);
    assert.equal(r.signal, null, 'still running after 15 s with a symlinked store directory');
    assert.match(r.out, /store/i);
    report('symlink at the store directory: refused, target untouched: held');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store directory writable by group or others, or owned by another user, is refused naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-sec-'));
  try {
    const state = join(dir, 'state');
    spawnSync('mkdir', [state]);
    const cases = [[0o777, 'world-writable'], [0o770, 'group-writable']];
    if (isRoot) cases.push([0o700, 'owned by nobody']);
    for (const [m, what] of cases) {
      chmodSync(state, m);
      if (what === 'owned by nobody') spawnSync('chown', ['65534:65534', state]);
      const r = runDirect(dir, ['[store]', `directory = ${state}`, '[server]', `socket = ${join(dir, 's.sock')}`]);
      assert.notEqual(r.status, 0, `started with a ${what} store directory: ${r.out}`);
      assert.equal(r.signal, null, `still running after 15 s with a ${what} store directory`);
      assert.ok(r.out.includes(`store: ${state} is owned by uid`), `${what}: the error names the path:\n${r.out}`);
      assert.match(r.out, /not writable by group or others/);
      assert.deepEqual(readdirSync(state), [], `${what}: the daemon wrote into it`);
    }
    report(`store directory ${cases.map((c) => c[1]).join(', ')}: refused, naming the path: held`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a shared credentials file readable by others produces a warning (never the secret)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-sec-'));
  try {
    const creds = join(dir, 'credentials');
    const secret = 'cjSecTest/FileSecret+MustNotLeak0000000000';
    writeFileSync(creds, `[default]\naws_access_key_id = AKIDFILETEST00000001\naws_secret_access_key = ${secret}\n`);
    chmodSync(creds, 0o644);
    const r = runDirect(dir, ['[store]', `directory = ${join(dir, 'state')}`], {
      AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: creds,
      AWS_CONFIG_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true',
    }, ['--check-config']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`${creds.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*(readable|permission|mode)|(readable|permission|mode).*${creds.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`, 'i'),
      `no warning about the world-readable credentials file:\n${r.out}`);
    assert.ok(!r.out.includes(secret), 'the secret appeared in the output');
    report('credentials file at 0644: warned, secret not printed: held');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a credential_process from a config file others may write into is refused by --check-config, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cj-sec-'));
  try {
    const config = join(dir, 'config');
    const ran = join(dir, 'ran');
    writeFileSync(config, `[default]\ncredential_process = touch ${ran}\n`);
    for (const m of [0o666, 0o620]) {
      chmodSync(config, m);
      const r = runDirect(dir, ['[store]', `directory = ${join(dir, 'state')}`], {
        AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_CONFIG_FILE: config, AWS_EC2_METADATA_DISABLED: 'true',
      }, ['--check-config']);
      assert.notEqual(r.status, 0, `--check-config accepted a credential_process from a ${m.toString(8)} file: ${r.out}`);
      assert.ok(r.out.includes(`${config}, profile default: refusing its credential_process`), r.out);
      assert.match(r.out, new RegExp(`mode 0${m.toString(8)}`));
      assert.ok(!existsSync(ran), 'the command ran');
    }
    report('credential_process from a config file at 0666/0620: refused by --check-config, naming the file, never run: held');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
