/**
 * Socket activation with real inherited fds, for every backend: fds placed with spawn's stdio
 * array (env per child, LISTEN_PID set to the child's own pid), and systemd-socket-activate
 * with TCP (IPv4 and IPv6), AF_UNIX, HTTPS, UDP and --accept sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, run, runFixture, type Mode } from './helpers/child';
import { describeWith, which } from './helpers/env';

const FIXTURE = join(FIXTURES, 'activation.cjs');
const modes = Object.keys(MODES) as Mode[];

function listen(server: Server, ...args: unknown[]): Promise<number> {
  return new Promise((resolve) => (server.listen as (...a: unknown[]) => void)(...args, () => resolve((server as unknown as { _handle: { fd: number } })._handle.fd)));
}

describeWith({ linux: true }, 'activation with fds from a spawn stdio array', () => {
  let dir: string;
  let tcp: Server;
  let unix: Server;
  let tcpFd: number;
  let unixFd: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-act-'));
    tcp = createServer();
    unix = createServer();
    tcpFd = await listen(tcp, 0, '127.0.0.1');
    unixFd = await listen(unix, join(dir, 'local.sock'));
  });
  afterAll(() => {
    tcp.close();
    unix.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(modes)('%s', (mode) => {
    const native = mode !== 'js/node';
    const activated = (env: Record<string, string | undefined>, args: string[] = ['report'], self = true) =>
      runFixture(FIXTURE, args, { fds: [tcpFd, unixFd], listenPidSelf: self, env: { ...MODES[mode], ...env } });

    it('returns the fds with names, checks them, sets close-on-exec, unsets the env, and hides them from children', async () => {
      const r = await activated({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:local' });
      expect(r.stderr).toBe('');
      const j = r.json;
      expect(j.backend).toBe(mode === 'libsystemd' ? 'libsystemd/native' : mode);
      expect(j.fds).toEqual({ ok: [3, 4] });
      expect(j.again).toEqual({ ok: [3, 4] });
      expect(j.named).toEqual({ ok: [{ fd: 3, name: 'web' }, { fd: 4, name: 'local' }] });
      const [t, u] = j.checks;
      expect(t).toMatchObject({ fd: 3, socket: true, fifo: false });
      expect(u).toMatchObject({ fd: 4, socket: true, fifo: false });
      if (native) {
        expect([t.cloexec, u.cloexec]).toEqual([1, 1]);
        expect(t).toMatchObject({ stream: { ok: true }, dgram: { ok: false }, listening: { ok: true }, inet: { ok: true }, unix: { ok: false } });
        expect(u).toMatchObject({ stream: { ok: true }, listening: { ok: true }, inet: { ok: false }, unix: { ok: true } });
      } else {
        expect(t.stream).toMatchObject({ error: 'ENOTSUP' });
        expect(t.inet).toMatchObject({ error: 'ENOTSUP' });
      }
      expect(j.env).toEqual([]);
      expect(j.childEnv).toBe('');
      expect(j.inherited).not.toContain(3);
      expect(j.inherited).not.toContain(4);
    });

    it('keeps the variables with unsetEnvironment: false (and children then see them)', async () => {
      const r = await activated({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:local' }, ['report', 'keep']);
      expect(r.json.fds).toEqual({ ok: [3, 4] });
      expect(r.json.env).toEqual(['LISTEN_FDNAMES', 'LISTEN_FDS', 'LISTEN_PID']);
      expect(r.json.childEnv).toContain('LISTEN_FDNAMES=web:local');
    });

    it("returns [] for another process's LISTEN_PID, and names 'unknown' without LISTEN_FDNAMES", async () => {
      const other = await activated({ LISTEN_FDS: '2', LISTEN_PID: '1' }, ['report'], false);
      expect(other.json).toMatchObject({ fds: { ok: [] }, named: { ok: [] }, env: [] });
      const unnamed = await activated({ LISTEN_FDS: '2' });
      expect(unnamed.json.named).toEqual({ ok: [{ fd: 3, name: 'unknown' }, { fd: 4, name: 'unknown' }] });
    });

    it.each([
      [{ LISTEN_FDS: 'abc' }, 'EINVAL', 'EINVAL'],
      [{ LISTEN_FDS: '2 ' }, 'EINVAL', 'EINVAL'],
      [{ LISTEN_FDS: '99999999999' }, 'ERANGE', 'ERANGE'],
      [{ LISTEN_FDS: '200' }, 'EBADF', 'EBADF'],
      [{ LISTEN_FDS: '2', LISTEN_FDNAMES: 'only-one' }, undefined, 'EINVAL'],
      [{ LISTEN_FDS: '2', LISTEN_FDNAMES: 'a\\' }, undefined, 'EINVAL'],
    ])('%j: listenFds %s, listenFdsWithNames %s (a SystemdError, remembered, env unset)', async (env, fdsCode, namedCode) => {
      const r = await activated(env);
      expect(r.stderr).toBe('');
      if (fdsCode) {
        expect(r.json.fds).toMatchObject({ error: fdsCode, name: 'SystemdError' });
        expect(r.json.again).toMatchObject({ error: fdsCode });
        expect(r.json.fds.message).toContain('sd_listen_fds');
      } else {
        expect(r.json.fds).toEqual({ ok: [3, 4] });
      }
      expect(r.json.named).toMatchObject({ error: namedCode, name: 'SystemdError' });
      expect(r.json.env).toEqual([]);
    });

    it('listenArgs picks by name or index, falls back when not activated, and explains a missing name', async () => {
      const byName = await activated({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:local' }, ['listen-args', 'local']);
      expect(byName.json.args).toEqual({ ok: { fd: 4 } });
      const byIndex = await activated({ LISTEN_FDS: '2' }, ['listen-args', 'index']);
      expect(byIndex.json.args).toEqual({ ok: { fd: 3 } });
      const missing = await activated({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:local' }, ['listen-args', 'admin', '{"port":8080}']);
      expect(missing.json.args).toMatchObject({ error: 'ERR_LIBSYSTEMD_NO_SOCKET' });
      expect(missing.json.args.message).toContain('"web", "local"');
      const fallback = await runFixture(FIXTURE, ['listen-args', 'web', '{"port":8080}'], { env: { ...MODES[mode], LISTEN_PID: undefined } });
      expect(fallback.json.args).toEqual({ ok: { port: 8080 } });
      const none = await runFixture(FIXTURE, ['listen-args', 'web'], { env: { ...MODES[mode], LISTEN_PID: undefined } });
      expect(none.json.args).toMatchObject({ error: 'ERR_LIBSYSTEMD_NO_SOCKET' });
    });

    it('compat/systemd-socket hands out fds by counter and index, bounds-checked', async () => {
      const r = await activated({ LISTEN_FDS: '2' }, ['compat-socket']);
      expect(r.json).toEqual({ seq: [{ fd: 3 }, { fd: 4 }, null, null, { fd: 4 }] });
      const none = await runFixture(FIXTURE, ['compat-socket'], { env: { ...MODES[mode], LISTEN_PID: undefined } });
      expect(none.json).toEqual({ seq: [null, null, null, null, null] });
    });

    it("compat/systemd makes listen('systemd') adopt the one socket with a correct address()", async () => {
      const one = await runFixture(FIXTURE, ['compat-systemd'], { fds: [tcpFd], listenPidSelf: true, env: { ...MODES[mode], LISTEN_FDS: '1' } });
      expect(one.json).toEqual({ address: tcp.address() });
      const two = await activated({ LISTEN_FDS: '2' }, ['compat-systemd']);
      expect(two.json).toEqual({ error: 'No or too many file descriptors received.' });
    });
  });
});

/** Starts systemd-socket-activate in its own process group (so the child it spawns ends with it). */
function socketActivate(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  const setenv = Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]);
  const child = spawn(which('systemd-socket-activate')!, [...setenv, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  return Object.assign(child, { output: () => output });
}

async function listening(p: { output: () => string }, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((p.output().match(/Listening on/g) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`systemd-socket-activate did not listen: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stopGroup(p: ChildProcess): void {
  try {
    process.kill(-p.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
}

function fetchJson(getter: typeof httpGet, options: object): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = getter({ ...options, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
  });
}

function readAll(options: { port?: number; host?: string; path?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(options as never);
    let data = '';
    c.setEncoding('utf8').on('data', (d: string) => (data += d));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

const port = (): number => 20000 + Math.floor(Math.random() * 30000);

describeWith({ linux: true, bins: ['systemd-socket-activate', 'openssl'] }, 'activation under systemd-socket-activate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-ssa-'));
    const cert = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    expect(cert.code, cert.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each(modes)('%s', (mode) => {
    it('serves HTTP (IPv4 and IPv6), HTTPS and a unix socket from one process, each on its named fd', async () => {
      const [web, web6, secure] = [port(), port(), port()];
      const sock = join(dir, `echo-${mode.replace('/', '-')}.sock`);
      const p = socketActivate(
        ['-l', `127.0.0.1:${web}`, '-l', `[::1]:${web6}`, '-l', sock, '-l', `127.0.0.1:${secure}`, '--fdname=web:web6:echo-local:secure', '--', process.execPath, FIXTURE, 'serve'],
        { ...MODES[mode], TLS_KEY: join(dir, 'key.pem'), TLS_CERT: join(dir, 'cert.pem') },
      );
      try {
        await listening(p, 4);
        const a = await fetchJson(httpGet, { host: '127.0.0.1', port: web, path: '/v4' });
        expect(a).toEqual({ name: 'web', address: { address: '127.0.0.1', family: 'IPv4', port: web }, remoteAddress: '127.0.0.1', remoteFamily: 'IPv4', url: '/v4' });
        expect(p.output()).toContain(`"ready":["web","web6","echo-local","secure"]`);
        const b = await fetchJson(httpGet, { host: '::1', port: web6, path: '/v6' });
        expect(b).toEqual({ name: 'web6', address: { address: '::1', family: 'IPv6', port: web6 }, remoteAddress: '::1', remoteFamily: 'IPv6', url: '/v6' });
        const c = await fetchJson(httpsGet, { host: '127.0.0.1', port: secure, path: '/tls', rejectUnauthorized: false });
        expect(c).toMatchObject({ name: 'secure', address: { port: secure, family: 'IPv4' }, remoteAddress: '127.0.0.1' });
        const d = JSON.parse(await readAll({ path: sock }));
        expect(d).toEqual({ name: 'echo-local', address: sock });
      } finally {
        stopGroup(p);
      }
    });

    it('binds a dgram socket to an activated UDP socket (ListenDatagram=)', async () => {
      const udp = port();
      const p = socketActivate(['-d', '-l', `127.0.0.1:${udp}`, '--fdname=stats', '--', process.execPath, FIXTURE, 'udp'], { ...MODES[mode] });
      const client = createSocket('udp4');
      try {
        await listening(p, 1);
        const reply = new Promise<any>((resolve, reject) => {
          client.once('message', (m) => resolve(JSON.parse(m.toString())));
          setTimeout(() => reject(new Error(`no UDP reply: ${p.output()}`)), 10_000).unref();
        });
        client.send('ping', udp, '127.0.0.1');
        expect(await reply).toEqual({ got: 'ping', address: { address: '127.0.0.1', family: 'IPv4', port: udp }, backend: mode === 'libsystemd' ? 'libsystemd/native' : mode });
      } finally {
        client.close();
        stopGroup(p);
      }
    });

    it('hands an Accept=yes (inetd-style) connection over as a connected socket', async () => {
      const acc = port();
      // PID 1 names such an fd `connection`; systemd-socket-activate v252 needs to be told.
      const p = socketActivate(['-a', '-l', `127.0.0.1:${acc}`, '--fdname=connection', '--', process.execPath, FIXTURE, 'inetd'], { ...MODES[mode] });
      try {
        await listening(p, 1);
        for (let i = 0; i < 2; i++) {
          const j = JSON.parse(await readAll({ host: '127.0.0.1', port: acc }));
          expect(j).toMatchObject({ names: ['connection'], remoteAddress: '127.0.0.1', localPort: acc, backend: mode === 'libsystemd' ? 'libsystemd/native' : mode });
        }
      } finally {
        stopGroup(p);
      }
    });
  });
});

describe('argument shapes people guess', () => {
  it("listenArgs('http', 8080) takes the port as the fallback; other shapes are refused with a code; startWatchdog(5000) is refused", async () => {
    const r = await runFixture('run.cjs', [
      `out({
        port: attempt(() => l.listenArgs('http', 8080)),
        object: attempt(() => l.listenArgs('http', { port: 8080, host: '127.0.0.1' })),
        string: attempt(() => l.listenArgs('http', '8080')).error,
        nul: attempt(() => l.listenArgs('http', null)).error,
        big: attempt(() => l.listenArgs('http', 70000)).error,
        watchdog: attempt(() => l.startWatchdog(5000)),
      })`,
    ], { env: { LISTEN_PID: undefined, LISTEN_FDS: undefined } });
    expect(r.json).toEqual({
      port: { ok: { port: 8080 } },
      object: { ok: { port: 8080, host: '127.0.0.1' } },
      string: 'ERR_INVALID_ARG_TYPE',
      nul: 'ERR_INVALID_ARG_TYPE',
      big: 'ERR_OUT_OF_RANGE',
      watchdog: expect.objectContaining({ error: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('WatchdogSec=') }),
    });
  });
});
