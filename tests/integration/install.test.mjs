// `DESTDIR=... cmake --install BUILD --prefix /usr`: what lands where, that the man pages
// render cleanly, that the bash completion completes, and that the installed units pass
// `systemd-analyze verify` and score at most 2.0 in `systemd-analyze security --offline=true`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SOURCE_DIR, haveCommand, installInto, pkgConfigVar } from './lib/systemd-helpers.mjs';

const UNIT_DIR = pkgConfigVar('systemd', 'systemdsystemunitdir') || '/usr/lib/systemd/system';
const SYSUSERS_DIR = pkgConfigVar('systemd', 'sysusersdir') || '/usr/lib/sysusers.d';
const TMPFILES_DIR = pkgConfigVar('systemd', 'tmpfilesdir') || '/usr/lib/tmpfiles.d';
const COMPLETION_DIR = pkgConfigVar('bash-completion', 'completionsdir') || '/usr/share/bash-completion/completions';
const MAN_PAGES = ['man1/copyjobctl.1', 'man5/copyjobd.conf.5', 'man8/copyjobd.8'];

let dir, root;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cj-install-'));
  root = installInto(dir);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const inRoot = (p) => join(root, p);
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });

test('binaries under the prefix, executable', () => {
  for (const b of ['usr/bin/copyjobd', 'usr/bin/copyjobctl']) accessSync(inRoot(b), constants.X_OK);
  const v = run(inRoot('usr/bin/copyjobd'), ['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^copyjobd \d+\.\d+\.\d+/);
});

test('units in the directory pkg-config systemd reports, ExecStart= at the installed binary', () => {
  const service = readFileSync(inRoot(join(UNIT_DIR, 'copyjobd.service')), 'utf8');
  const socket = readFileSync(inRoot(join(UNIT_DIR, 'copyjobd.socket')), 'utf8');
  assert.match(service, /^ExecStart=\/usr\/bin\/copyjobd /m);
  assert.match(service, /^Type=notify$/m);
  assert.match(service, /^WatchdogSec=\d+/m);
  assert.doesNotMatch(service, /@[A-Z_]+@/);
  assert.match(socket, /^ListenStream=\/run\/copyjobd\/copyjobd\.sock$/m);
  assert.match(socket, /^SocketMode=0660$/m);
  assert.match(socket, /^SocketGroup=copyjobd$/m);
  assert.match(readFileSync(inRoot(join(SYSUSERS_DIR, 'copyjobd.conf')), 'utf8'), /^g copyjobd -/m);
});

test('/run/copyjobd has one mode: the socket\'s DirectoryMode=, the service\'s RuntimeDirectoryMode= and tmpfiles.d agree', () => {
  const service = readFileSync(inRoot(join(UNIT_DIR, 'copyjobd.service')), 'utf8');
  const socket = readFileSync(inRoot(join(UNIT_DIR, 'copyjobd.socket')), 'utf8');
  const tmpfiles = readFileSync(inRoot(join(TMPFILES_DIR, 'copyjobd.conf')), 'utf8');
  const directoryMode = /^DirectoryMode=(\d+)$/m.exec(socket)?.[1];
  const runtimeMode = /^RuntimeDirectoryMode=(\d+)$/m.exec(service)?.[1];
  assert.match(service, /^RuntimeDirectory=copyjobd$/m);
  assert.equal(directoryMode, '0750', 'the socket\'s directory is not entered by others');
  assert.equal(runtimeMode, directoryMode, `RuntimeDirectoryMode=${runtimeMode}, DirectoryMode=${directoryMode}`);
  // Type, path, mode, user, group, age: made with the group the socket's users are in.
  const entry = tmpfiles.split('\n').find((l) => /^d\s/.test(l))?.split(/\s+/);
  assert.deepEqual(entry?.slice(0, 5), ['d', '/run/copyjobd', directoryMode, 'root', 'copyjobd']);
  assert.match(socket, /^SocketGroup=copyjobd$/m);
  assert.match(socket, /^ListenStream=\/run\/copyjobd\//m);
  // Type=notify-reload needs systemd 253: kept at notify with a kill -HUP reload until then.
  assert.match(service, /^ExecReload=kill -HUP \$MAINPID$/m);
});

test('the example configuration, and a reinstall keeps an edited one', () => {
  const example = readFileSync(join(SOURCE_DIR, 'config/copyjobd.conf'), 'utf8');
  const conf = inRoot('etc/copyjobd/copyjobd.conf');
  assert.equal(readFileSync(conf, 'utf8'), example);
  assert.equal(readFileSync(inRoot('usr/share/doc/copyjobd/copyjobd.conf.example'), 'utf8'), example);

  writeFileSync(conf, '[aws]\nregion = eu-west-1\n');
  installInto(dir);
  assert.equal(readFileSync(conf, 'utf8'), '[aws]\nregion = eu-west-1\n');
  writeFileSync(conf, example);
});

test('man pages render without warnings', { skip: !haveCommand('man') && 'man is not installed' }, () => {
  for (const page of MAN_PAGES) {
    const file = inRoot(join('usr/share/man', page));
    const r = run('man', ['--warnings', '-l', file], { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
    assert.equal(r.status, 0, `${page}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${page} has warnings:\n${r.stderr}`);
    assert.match(r.stdout, /^NAME$/m);
    assert.match(r.stdout, /^SEE ALSO$/m);
    assert.doesNotMatch(r.stdout, /@[A-Z_]+@/);
  }
});

// Runs the completion function as bash would for the words typed so far.
function complete(file, words) {
  const script = `source ${JSON.stringify(file)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
COMP_LINE=${JSON.stringify(words.join(' '))}
COMP_POINT=\${#COMP_LINE}
_copyjobctl copyjobctl ${JSON.stringify(words.at(-1))} ${JSON.stringify(words.at(-2) ?? '')}
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = run('bash', ['--norc', '--noprofile', '-c', script], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash completion for copyjobctl', () => {
  const file = inRoot(join(COMPLETION_DIR, 'copyjobctl'));
  const reg = run('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(file)}; complete -p copyjobctl`]);
  assert.equal(reg.status, 0, reg.stderr);
  assert.match(reg.stdout, /-F _copyjobctl copyjobctl/);

  assert.deepEqual(complete(file, ['copyjobctl', '']), ['get', 'health', 'list', 'stats', 'sync', 'watch']);
  assert.deepEqual(complete(file, ['copyjobctl', 's']), ['stats', 'sync']);
  assert.deepEqual(complete(file, ['copyjobctl', '--']), ['--help', '--socket', '--version']);
  assert.deepEqual(complete(file, ['copyjobctl', 'list', '--status', '']), ['Completed', 'Failed', 'InProgress']);
  assert.deepEqual(complete(file, ['copyjobctl', 'list', '--sort', '']), ['asc', 'desc']);
  assert.deepEqual(complete(file, ['copyjobctl', 'list', '--output', '']), ['csv', 'json', 'ndjson', 'table']);
  assert.deepEqual(complete(file, ['copyjobctl', 'get', '--output', '']), ['json', 'table']);
  assert.deepEqual(complete(file, ['copyjobctl', '--socket', '/x', 'watch', '--output', '']), ['json', 'ndjson', 'table']);
  assert.ok(complete(file, ['copyjobctl', 'list', '--']).includes('--name-contains'));
  assert.deepEqual(complete(file, ['copyjobctl', 'sync', '--']), ['--full', '--help', '--output', '--wait']);
  // --socket completes file names (here: the DESTDIR root in the test's directory).
  assert.deepEqual(complete(file, ['copyjobctl', '--socket', 'ro']), ['root']);
});

// systemd-analyze --root wants the units the service depends on (sysinit.target, ...) and the
// programs it runs inside that root: a copy of the installed tree plus the host's units.
function verifyRoot() {
  const vr = join(dir, 'verify-root');
  rmSync(vr, { recursive: true, force: true });
  cpSync(root, vr, { recursive: true, verbatimSymlinks: true });
  const units = join(vr, UNIT_DIR);
  mkdirSync(units, { recursive: true });
  cpSync(UNIT_DIR, units, { recursive: true, force: false, errorOnExist: false, verbatimSymlinks: true });
  const kill = run('sh', ['-c', 'command -v kill']).stdout.trim();
  const killPath = kill.startsWith('/') ? kill : '/usr/bin/kill';
  if (existsSync(killPath)) {
    mkdirSync(join(vr, 'usr/bin'), { recursive: true });
    copyFileSync(killPath, join(vr, 'usr/bin/kill'));
  }
  return vr;
}

const noAnalyze = !haveCommand('systemd-analyze') && 'systemd-analyze is not installed';

test('systemd-analyze verify passes on the installed units (man pages included)', { skip: noAnalyze }, () => {
  const vr = verifyRoot();
  const r = run('systemd-analyze', ['verify', `--root=${vr}`, 'copyjobd.service', 'copyjobd.socket'],
    { env: { ...process.env, MANPATH: join(vr, 'usr/share/man'), SYSTEMD_LOG_LEVEL: 'notice' } });
  assert.equal(r.status, 0, `verify failed:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stderr.trim(), '', `verify complained:\n${r.stderr}`);
});

test('systemd-analyze security --offline=true: exposure at most 2.0', { skip: noAnalyze }, () => {
  const vr = verifyRoot();
  const r = run('systemd-analyze', ['security', '--offline=true', `--root=${vr}`, '--no-pager', 'copyjobd.service']);
  const m = /Overall exposure level for copyjobd\.service: (\d+\.\d)/.exec(r.stdout);
  assert.ok(m, `no exposure figure:\n${r.stdout}${r.stderr}`);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} > 2.0:\n${r.stdout}`);
  // The same bound, as systemd-analyze's own pass/fail.
  const t = run('systemd-analyze', ['security', '--offline=true', `--root=${vr}`, '--threshold=20', '--no-pager', 'copyjobd.service']);
  assert.equal(t.status, 0, t.stdout + t.stderr);
  // A bare unit scores far worse: the check can fail.
  const bare = join(vr, UNIT_DIR, 'copyjobd-bare.service');
  writeFileSync(bare, '[Service]\nExecStart=/usr/bin/copyjobd\n');
  const b = run('systemd-analyze', ['security', '--offline=true', `--root=${vr}`, '--threshold=20', '--no-pager', 'copyjobd-bare.service']);
  assert.notEqual(b.status, 0);
});
