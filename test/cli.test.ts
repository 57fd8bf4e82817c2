/**
 * The `libsystemd` command: doctor in the broken cases it diagnoses (each with its advice) and
 * in a healthy environment (a real journald, a real notify socket, real activation fds), and
 * the unit generator's options.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run, type ChildOptions } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { NotifyReceiver } from './helpers/notify';

const CLI = join(ROOT, 'dist', 'cli.js');
type Check = { name: string; status: string; detail: string; advice?: string };

async function doctor(opts: ChildOptions = {}, wrap: readonly string[] = []) {
  const r = await run(process.execPath, [CLI, 'doctor', '--json'], { ...opts, wrap: wrap.length ? wrap : opts.wrap });
  const out = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { code: r.code, ok: out.ok, check: (name: string) => out.checks.find((c) => c.name === name)!, checks: out.checks };
}

/** A shell prefix that runs the command in a mount namespace with an empty /run (no journal). */
const NO_JOURNAL = ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && exec "$0" "$@"'];

describeWith({ linux: true }, 'libsystemd doctor: broken cases', () => {
  it('no addon: WARN, with the NotifyAccess=all advice', async () => {
    const rx = NotifyReceiver.open();
    try {
      const d = await doctor({ env: { LIBSYSTEMD_FORCE_JS: '1', NOTIFY_SOCKET: rx.address } });
      expect(d.check('backend')).toMatchObject({ status: 'WARN' });
      expect(d.check('backend').advice).toContain('NotifyAccess=all');
      expect(d.check('NOTIFY_SOCKET').advice).toContain('NotifyAccess=all');
      expect(d.check('journal read').detail).toContain('journalctl -o export');
    } finally {
      rx.close();
    }
  });

  it('LISTEN_PID of another process: FAIL, exit 1, advice to exec node directly', async () => {
    const d = await doctor({ env: { LISTEN_PID: '1', LISTEN_FDS: '1' } });
    expect(d.code).toBe(1);
    expect(d.ok).toBe(false);
    expect(d.check('LISTEN_FDS')).toMatchObject({ status: 'FAIL' });
    expect(d.check('LISTEN_FDS').detail).toContain('LISTEN_PID=1');
    expect(d.check('LISTEN_FDS').advice).toContain('exec node');
    const malformed = await doctor({ env: { LISTEN_PID: 'abc', LISTEN_FDS: '1' } });
    expect(malformed.check('LISTEN_FDS')).toMatchObject({ status: 'FAIL' });
    expect(malformed.check('LISTEN_FDS').detail).toContain('EINVAL');
  });

  it.each([
    ['relative/notify.sock', 'EPROTO'],
    ['vsock:2:1234', 'AF_VSOCK'],
    ['/nonexistent/notify.sock', 'ENOENT'],
    ['/dev/null', 'not a socket'],
  ])('NOTIFY_SOCKET=%s: FAIL with advice', async (value, detail) => {
    const d = await doctor({ env: { NOTIFY_SOCKET: value, LIBSYSTEMD_FORCE_JS: '1' } });
    expect(d.code).toBe(1);
    expect(d.check('NOTIFY_SOCKET')).toMatchObject({ status: 'FAIL' });
    expect(d.check('NOTIFY_SOCKET').detail).toContain(detail);
    expect(d.check('NOTIFY_SOCKET').advice).toContain('set by systemd');
  });

  it('NOTIFY_SOCKET=vsock:…: INFO under the libsystemd backend (libsystemd sends there from 257 on)', async () => {
    const d = await doctor({ env: { NOTIFY_SOCKET: 'vsock:2:1234' } });
    expect(d.check('NOTIFY_SOCKET')).toMatchObject({ status: 'INFO' });
    expect(d.check('NOTIFY_SOCKET').detail).toContain('through libsystemd');
  });

  it('a malformed WATCHDOG_USEC fails; one for another pid warns', async () => {
    expect((await doctor({ env: { WATCHDOG_USEC: 'abc' } })).check('WATCHDOG_USEC')).toMatchObject({ status: 'FAIL' });
    const other = await doctor({ env: { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' } });
    expect(other.check('WATCHDOG_USEC')).toMatchObject({ status: 'WARN' });
    expect(other.check('WATCHDOG_USEC').advice).toContain('main process');
  });
});

describeWith(JOURNALD_NEEDS, 'libsystemd doctor: journald', () => {
  it('no journald: WARN outside systemd, FAIL (exit 1) inside a service, with advice', async () => {
    const outside = await doctor({ env: { INVOCATION_ID: undefined } }, NO_JOURNAL);
    expect(outside.check('journald')).toMatchObject({ status: 'WARN' });
    expect(outside.check('journald').advice).toContain('journald is not running');
    const inside = await doctor({ env: { INVOCATION_ID: '0123456789abcdef0123456789abcdef' } }, NO_JOURNAL);
    expect(inside.code).toBe(1);
    expect(inside.check('journald')).toMatchObject({ status: 'FAIL' });
  });

  it('a journal socket nobody reads: FAIL with ECONNREFUSED and advice', async () => {
    const stale = [...NO_JOURNAL.slice(0, -1), `mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "$0" -e "const n=require(require('${ROOT}').backend.addonPath); const s=n.unix_socket(2,false); n.unix_bind(s, Buffer.from('/run/systemd/journal/socket')); n.close(s)" && exec "$0" "$@"`];
    const d = await doctor({}, [...stale.slice(0, -1), stale[stale.length - 1]!.replace('"$0" -e', `"${process.execPath}" -e`)]);
    expect(d.check('journald')).toMatchObject({ status: 'FAIL' });
    expect(d.check('journald').detail).toContain('ECONNREFUSED');
    expect(d.check('journald').advice).toContain('not running');
  });

  describe('a healthy environment', () => {
    let j: Journald;
    let rx: NotifyReceiver;
    let server: Server;
    beforeAll(async () => {
      j = await Journald.start();
      rx = NotifyReceiver.open();
      server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => {
      j?.stop();
      rx?.close();
      server?.close();
    });

    it('reports every check OK or INFO and exits 0; the journald probe is read back', async () => {
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      const d = await doctor({ env: { NOTIFY_SOCKET: rx.address, LISTEN_FDS: '1', LISTEN_FDNAMES: 'http', WATCHDOG_USEC: '2000000' }, fds: [fd], listenPidSelf: true, wrap: j.wrap });
      expect(d.checks.filter((c) => c.status === 'FAIL' || c.status === 'WARN')).toEqual([]);
      expect(d.code).toBe(0);
      expect(d.check('journald').detail).toContain('read back');
      expect(d.check('LISTEN_FDS').detail).toBe('fd 3 "http" (listening socket)');
      expect(d.check('WATCHDOG_USEC').detail).toContain('2 s');
      expect(d.check('NOTIFY_SOCKET')).toMatchObject({ status: 'OK' });
      expect(rx.take()).toEqual([]); // doctor checks the socket without sending anything
    });
  });
});

describe('libsystemd unit', () => {
  // Not under /tmp (PrivateTmp=/DynamicUser= would hide it) and readable by a transient user:
  // the tests must not depend on where the checkout was cloned.
  let dir: string;
  let app: string;
  beforeAll(() => {
    dir = mkdtempSync('/run/libsystemd-unit-test-');
    chmodSync(dir, 0o755);
    app = join(dir, 'app.js');
    writeFileSync(app, '');
    chmodSync(app, 0o644);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const unit = (args: string[], cwd?: string) => run(process.execPath, [CLI, 'unit', ...args], cwd ? { cwd } : {});

  it('writes a hardened Type=notify service and one named .socket per --listen, and prints the next commands', async () => {
    const out = join(dir, 'units');
    const r = await unit(['--exec', app, '--notify', '--watchdog', '10s', '--listen', '8080', '--listen', 'admin=/run/app-admin.sock', '--listen', 'stats=udp:8125', '--dynamic-user', '--env', 'PORT=8080', '--dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`libsystemd unit: --exec ${app} is a file: ExecStart=${process.execPath} ${app}\n`);
    const service = readFileSync(join(out, 'app.service'), 'utf8');
    expect(service).toContain('Type=notify\n');
    expect(service).toContain(`ExecStart=${process.execPath} ${app}\n`);
    expect(service).toContain(`WorkingDirectory=${dir}\n`);
    expect(service).toContain('WatchdogSec=10s\n');
    expect(service).toContain('Restart=on-failure\n');
    expect(service).toContain('DynamicUser=yes\n');
    expect(service).toContain('Requires=app-http.socket app-admin.socket app-stats.socket\n');
    for (const h of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=read-only']) expect(service).toContain(`${h}\n`);
    expect(service).not.toContain('MemoryDenyWriteExecute');
    expect(readFileSync(join(out, 'app-http.socket'), 'utf8')).toContain('ListenStream=8080\nFileDescriptorName=http\nService=app.service\n');
    expect(readFileSync(join(out, 'app-admin.socket'), 'utf8')).toContain('ListenStream=/run/app-admin.sock\nFileDescriptorName=admin\n');
    expect(readFileSync(join(out, 'app-stats.socket'), 'utf8')).toContain('ListenDatagram=8125\nFileDescriptorName=stats\n');
    expect(r.stdout).toContain('sudo systemctl daemon-reload');
    expect(r.stdout).toContain('sudo systemctl enable --now app-http.socket app-admin.socket app-stats.socket');
  });

  it('unnamed sockets are http, socket2, socket3 (the same rule as libsystemd run)', async () => {
    const r = await unit(['--exec', app, '--listen', '8080', '--listen', '/run/a.sock', '--listen', 'udp:8125', '--print']);
    expect(r.stdout).toContain('# app-http.socket');
    expect(r.stdout).toContain('ListenStream=/run/a.sock\nFileDescriptorName=socket2\n');
    expect(r.stdout).toContain('ListenDatagram=8125\nFileDescriptorName=socket3\n');
  });

  it("--exec as a command line: says so, resolves the program, runs in the current directory", async () => {
    const r = await unit(['--exec', 'node --enable-source-maps app.js --port 8080', '--print'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--exec "node --enable-source-maps app.js --port 8080" is a command line: ExecStart=${process.execPath} --enable-source-maps app.js --port 8080, WorkingDirectory=${dir}`);
    expect(r.stdout).toContain(`ExecStart=${process.execPath} --enable-source-maps app.js --port 8080\n`);
    expect(r.stdout).toContain('# app.service'); // named after the script
  });

  it('an app under /tmp: PrivateTmp= is left out (it would hide the app: 200/CHDIR), with a warning', async () => {
    const tmpApp = mkdtempSync(join(tmpdir(), 'libsystemd-tmpapp-'));
    try {
      writeFileSync(join(tmpApp, 'server.js'), '');
      const r = await unit(['--exec', join(tmpApp, 'server.js'), '--print']);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('PrivateTmp');
      expect(r.stderr).toContain('warning: the app is under /tmp, so PrivateTmp= is left out');
    } finally {
      rmSync(tmpApp, { recursive: true, force: true });
    }
  });

  it('a --user unit: default.target, no system sandboxing, enable-linger in the next steps', async () => {
    const r = await unit(['--exec', app, '--name', 'web', '--user', '--print']);
    expect(r.stdout).toContain('# web.service');
    expect(r.stdout).toContain('WantedBy=default.target');
    expect(r.stdout).toContain('Type=simple');
    expect(r.stdout).not.toContain('ProtectSystem');
    const w = await unit(['--exec', app, '--name', 'web', '--user', '--dir', join(dir, 'user-units')]);
    expect(w.stdout).toContain('systemctl --user daemon-reload');
    expect(w.stdout).toContain('loginctl enable-linger');
  });
});

/** Bad command lines: each refused with one line on stderr (no stack trace) and its exit code. */
describeWith({ linux: true }, 'the CLI refuses what it cannot do', () => {
  let dir: string;
  let app: string;
  let closed: string;
  let tmpApp: string;
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    dir = mkdtempSync('/run/libsystemd-cli-bad-');
    chmodSync(dir, 0o755);
    app = join(dir, 'app.js');
    writeFileSync(app, '');
    const closedDir = join(dir, 'home');
    mkdirSync(closedDir, { mode: 0o700 });
    closed = join(closedDir, 'server.js');
    writeFileSync(closed, '');
    tmpApp = join(mkdtempSync(join(tmpdir(), 'libsystemd-cli-tmp-')), 'server.js');
    writeFileSync(tmpApp, '');
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dirname(tmpApp), { recursive: true, force: true });
    busy?.close();
  });

  const cases: [string, () => string[], number, RegExp][] = [
    ['no command', () => ['bogus'], 2, /^libsystemd: unknown command "bogus" \(libsystemd --help\)$/],
    ['an unknown top-level option', () => ['--bogus'], 2, /^libsystemd: unknown option --bogus \(libsystemd --help\)$/],
    ['doctor --verbose --bogus', () => ['doctor', '--verbose', '--bogus'], 2, /^libsystemd doctor: unknown option --bogus/],
    ['doctor --bogus', () => ['doctor', '--bogus'], 2, /^libsystemd doctor: unknown option --bogus/],
    ['unit without --exec', () => ['unit'], 2, /--exec FILE is required/],
    ['unit --exec without a value', () => ['unit', '--exec'], 2, /--exec needs a value/],
    ['unit --exec nosuch.js', () => ['unit', '--exec', 'nosuch.js'], 2, /--exec nosuch\.js: no such file \(give the script/],
    ["unit --exec 'node nosuch.js'", () => ['unit', '--exec', 'node nosuch.js'], 2, /nosuch\.js: no such file/],
    ["unit --exec 'nosuchprogram x'", () => ['unit', '--exec', 'nosuchprogram x'], 2, /nosuchprogram: not found in PATH/],
    ['unit --restart sometimes', () => ['unit', '--exec', app, '--restart', 'sometimes'], 2, /--restart sometimes: one of no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always/],
    ['unit --listen 99999', () => ['unit', '--exec', app, '--listen', '99999'], 2, /--listen 99999: port 99999 is not a port from 1 to 65535/],
    ['unit --listen 0', () => ['unit', '--exec', app, '--listen', '0'], 2, /port 0 is not a port from 1 to 65535/],
    ['unit --listen localhost:8080', () => ['unit', '--exec', app, '--listen', 'localhost:8080'], 2, /"localhost" is not an IP address; give 127\.0\.0\.1:8080 or \[::1\]:8080/],
    ['unit --listen 300.1.1.1:80', () => ['unit', '--exec', app, '--listen', '300.1.1.1:80'], 2, /is not an IP address/],
    ['unit --listen [::g]:80', () => ['unit', '--exec', app, '--listen', '[::g]:80'], 2, /::g is not an IPv6 address/],
    ['unit --listen relative.sock', () => ['unit', '--exec', app, '--listen', 'relative.sock'], 2, /not an address/],
    ['unit --listen a b=80', () => ['unit', '--exec', app, '--listen', 'a b=80'], 2, /must be 1-255 printable characters/],
    ['unit, two sockets named http', () => ['unit', '--exec', app, '--listen', '8080', '--listen', 'http=8081'], 2, /two sockets are named "http"/],
    ['unit --bogus', () => ['unit', '--exec', app, '--bogus'], 2, /unknown option --bogus/],
    ['unit --watchdog soon', () => ['unit', '--exec', app, '--watchdog', 'soon'], 2, /a time such as 10s/],
    ['unit --dynamic-user --run-as', () => ['unit', '--exec', app, '--dynamic-user', '--run-as', 'www'], 2, /exclude each other/],
    ['unit --run-as a missing user', () => ['unit', '--exec', app, '--run-as', 'no-such-user-libsystemd'], 2, /--run-as no-such-user-libsystemd: no such user/],
    ['unit --env without =', () => ['unit', '--exec', app, '--env', 'PORT'], 2, /--env PORT: KEY=VALUE/],
    ['unit --name with a slash', () => ['unit', '--exec', app, '--name', 'a/b'], 2, /--name a\/b: use letters/],
    ['unit, an app under /tmp with --dynamic-user', () => ['unit', '--exec', tmpApp, '--dynamic-user'], 2, /the app is under \/tmp, which DynamicUser= hides/],
    ['unit, an app in a closed home with --dynamic-user', () => ['unit', '--exec', closed, '--dynamic-user'], 2, /the transient user cannot read .* is closed to other users, mode 700/],
    ['run without a command', () => ['run'], 2, /no COMMAND given/],
    ['run --bogus', () => ['run', '--bogus', '--', 'true'], 2, /unknown option --bogus/],
    ['run -l 99999', () => ['run', '-l', '99999', '--', 'true'], 2, /port 99999 is not a port from 1 to 65535/],
    ['run -l localhost:8080', () => ['run', '-l', 'localhost:8080', '--', 'true'], 2, /"localhost" is not an IP address/],
    ['run --restart sometimes', () => ['run', '--restart', 'sometimes', '--', 'true'], 2, /--restart sometimes: no, on-failure or always/],
    ['run --ready-timeout soon', () => ['run', '--ready-timeout', 'soon', '--', 'true'], 2, /a time such as 500ms/],
    ['run --stop-timeout soon', () => ['run', '--stop-timeout', 'soon', '--', 'true'], 2, /--stop-timeout soon: a time such as 500ms/],
    ['run --fdname count', () => ['run', '-l', '8080', '--fdname', 'a:b', '--', 'true'], 2, /--fdname has 2 names for 1 sockets/],
    ['run -l on a port in use', () => ['run', '-l', `127.0.0.1:${busyPort}`, '--', 'true'], 1, /^libsystemd run: listen: address already in use \(EADDRINUSE\): 127\.0\.0\.1:\d+$/],
  ];

  it.each(cases)('%s', async (_what, args, code, message) => {
    const r = await run(process.execPath, [CLI, ...args()], { cwd: dir });
    expect(r.code, r.stderr).toBe(code);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('--help for each command prints its usage on stdout and exits 0', async () => {
    for (const cmd of [[], ['--help'], ['doctor', '--help'], ['run', '--help'], ['unit', '--help']]) {
      const r = await run(process.execPath, [CLI, ...cmd]);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/libsystemd (COMMAND|doctor|run|unit)/);
    }
    expect((await run(process.execPath, [CLI, 'unit', '--help'])).stdout).toContain('--listen [NAME=]ADDR');
  });

  it.each(['--version', '-V', '-v'])('%s prints the version of the package and exits 0', async (flag) => {
    const r = await run(process.execPath, [CLI, flag]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
    expect(r.stderr).toBe('');
  });

  it('the usage says in one line what each command does', async () => {
    for (const args of [[], ['--help'], ['-h'], ['help']]) {
      const r = await run(process.execPath, [CLI, ...args]);
      expect(r.code).toBe(0);
      for (const cmd of ['doctor', 'run', 'unit', 'logs']) {
        const line = r.stdout.split('\n').find((l) => new RegExp(`^  ${cmd} +\\S`).test(l));
        expect(line, `${cmd} in\n${r.stdout}`).toBeDefined();
        // a description, not just the name: several words, and a line a terminal shows whole
        expect(line!.trim().split(/\s+/).length, line).toBeGreaterThan(5);
        expect(line!.length, line).toBeLessThanOrEqual(100);
      }
      expect(r.stdout).toContain('libsystemd COMMAND --help');
      expect(r.stdout).toContain('--version');
    }
  });

  it('doctor shows the sd_* functions as a count by area; --verbose lists them grouped, in lines a terminal shows whole', async () => {
    const json = await run(process.execPath, [CLI, 'doctor', '--json']);
    const check = (JSON.parse(json.stdout) as { checks: (Check & { list?: string[] })[] }).checks.find((c) => c.name === 'sd_* calls')!;
    const all = check.list!;
    expect(all.length).toBeGreaterThan(40);
    const plain = await run(process.execPath, [CLI, 'doctor']);
    const lines = plain.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('sd_* calls'));
    expect(lines[at]).toContain(`${all.length} functions`);
    expect(lines[at + 1]).toMatch(/activation \d+, .*journal reading \d+/);
    for (const l of lines.slice(at, at + 2)) expect(l.length, l).toBeLessThanOrEqual(100);
    expect(plain.stdout).not.toContain('sd_journal_seek_cursor');
    const verbose = await run(process.execPath, [CLI, 'doctor', '--verbose']);
    expect(verbose.code).toBe(plain.code);
    const shown = verbose.stdout.split('\n');
    const start = shown.findIndex((l) => l.includes('sd_* calls'));
    const listed = shown.slice(start + 1).filter((l) => /^\s+\S.*: sd_|^\s+sd_/.test(l));
    expect(listed.length).toBeGreaterThan(3);
    for (const l of listed) expect(l.length, l).toBeLessThanOrEqual(100);
    expect(listed.join(' ').match(/\bsd_\w+/g)!.sort()).toEqual([...all].sort());
  });
});
