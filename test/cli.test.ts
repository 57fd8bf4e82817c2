/**
 * The `libsystemd` command: doctor in the broken cases it diagnoses (each with its advice) and
 * in a healthy environment (a real journald, a real notify socket, real activation fds), and
 * the unit generator's options.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    ['relative/notify.sock', 'not an absolute path'],
    ['/nonexistent/notify.sock', 'ENOENT'],
    ['/dev/null', 'not a socket'],
  ])('NOTIFY_SOCKET=%s: FAIL with advice', async (value, detail) => {
    const d = await doctor({ env: { NOTIFY_SOCKET: value } });
    expect(d.code).toBe(1);
    expect(d.check('NOTIFY_SOCKET')).toMatchObject({ status: 'FAIL' });
    expect(d.check('NOTIFY_SOCKET').detail).toContain(detail);
    expect(d.check('NOTIFY_SOCKET').advice).toContain('set by systemd');
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
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const unit = (args: string[]) => run(process.execPath, [CLI, 'unit', ...args]);

  it('writes a hardened Type=notify service and one named .socket per --listen, and prints the next commands', async () => {
    const app = join(dir, 'app.js');
    writeFileSync(app, '');
    const r = await unit(['--exec', app, '--notify', '--watchdog', '10s', '--listen', '8080', '--listen', 'admin=/run/app-admin.sock', '--listen', 'stats=udp:8125', '--dynamic-user', '--env', 'PORT=8080', '--dir', dir]);
    expect(r.stderr).toBe('');
    const service = readFileSync(join(dir, 'app.service'), 'utf8');
    expect(service).toContain('Type=notify\n');
    expect(service).toContain(`ExecStart=${process.execPath} ${app}\n`);
    expect(service).toContain('WatchdogSec=10s\n');
    expect(service).toContain('Restart=on-failure\n');
    expect(service).toContain('DynamicUser=yes\n');
    expect(service).toContain('Requires=app-http.socket app-admin.socket app-stats.socket\n');
    for (const h of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=read-only']) expect(service).toContain(`${h}\n`);
    expect(service).not.toContain('MemoryDenyWriteExecute');
    expect(readFileSync(join(dir, 'app-http.socket'), 'utf8')).toContain('ListenStream=8080\nFileDescriptorName=http\nService=app.service\n');
    expect(readFileSync(join(dir, 'app-admin.socket'), 'utf8')).toContain('ListenStream=/run/app-admin.sock\nFileDescriptorName=admin\n');
    expect(readFileSync(join(dir, 'app-stats.socket'), 'utf8')).toContain('ListenDatagram=8125\nFileDescriptorName=stats\n');
    expect(r.stdout).toContain('sudo systemctl daemon-reload');
    expect(r.stdout).toContain('sudo systemctl enable --now app-http.socket app-admin.socket app-stats.socket');
  });

  it('a --user unit: default.target, no system sandboxing, enable-linger in the next steps', async () => {
    const r = await unit(['--exec', '/srv/app/server.js', '--name', 'web', '--user', '--print']);
    expect(r.stdout).toContain('# web.service');
    expect(r.stdout).toContain('WantedBy=default.target');
    expect(r.stdout).toContain('Type=simple');
    expect(r.stdout).not.toContain('ProtectSystem');
    const w = await unit(['--exec', '/srv/app/server.js', '--name', 'web', '--user', '--dir', dir]);
    expect(w.stdout).toContain('systemctl --user daemon-reload');
    expect(w.stdout).toContain('loginctl enable-linger');
  });

  it.each([
    [[], '--exec FILE is required'],
    [['--exec', 'a.js', '--bogus'], 'unknown option --bogus'],
    [['--exec', 'a.js', '--watchdog', 'soon'], 'a time such as 10s'],
    [['--exec', 'a.js', '--dynamic-user', '--run-as', 'www'], 'exclude each other'],
    [['--exec', 'a.js', '--listen', 'a b=80'], 'a name without'],
    [['--exec', 'a.js', '--listen', 'localhost:80'], 'a port, IPv4:port'],
  ])('refuses %j: %s (exit 2, usage printed)', async (args, message) => {
    const r = await unit(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('--listen [NAME=]ADDR');
  });
});
