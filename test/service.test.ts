/**
 * The service toolkit without a PID 1 (test/system/service.test.ts runs it under one): the
 * notify messages of a reload and a stop against a real datagram receiver, overlapping reloads,
 * the memory-pressure protocol against a socket peer and a real PSI file, POLLPRI delivery through
 * the addon, ids against libsystemd and systemd-id128, the cgroup parser against libsystemd, and
 * bad input with stable codes.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupRoot, cgroupUnits, shiftCgroup } from '../lib/protocol/id128';
import { MODES, type Mode, run } from './helpers/child';
import { describeWith } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';

const RUN = join(__dirname, 'fixtures', 'run.cjs');
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];

describeWith({ linux: true }, 'service toolkit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-service-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const inChild = (mode: Mode, code: string, env: Record<string, string | undefined> = {}) => run(process.execPath, [RUN, code], { env: { ...MODES[mode], ...env }, timeoutMs: 30_000 });

  describe.each(BACKENDS)('%s', (mode) => {
    it('onReload: RELOADING=1 with MONOTONIC_USEC, the handler, READY=1 with its status; a signal during a reload runs exactly one more; a failure reports ERRNO and STATUS', async () => {
      const rx = NotifyReceiver.open();
      try {
        const r = await inChild(mode, `let n = 0, fail = false;
          l.onReload(async () => { n++; await new Promise((r) => setTimeout(r, 200)); if (fail) { const e = new Error('bad config'); e.code = 'ENOENT'; throw e; } return 'reloaded ' + n; });
          process.kill(process.pid, 'SIGHUP'); await new Promise((r) => setTimeout(r, 50));
          process.kill(process.pid, 'SIGHUP'); process.kill(process.pid, 'SIGHUP');
          await new Promise((r) => setTimeout(r, 700));
          fail = true; process.kill(process.pid, 'SIGHUP'); await new Promise((r) => setTimeout(r, 400));
          let second; try { l.onReload(() => {}); } catch (e) { second = e.code; }
          out({ n, second });`, { NOTIFY_SOCKET: rx.address });
        expect(r.stderr).toBe('');
        expect(r.json).toEqual({ n: 3, second: 'ERR_LIBSYSTEMD_ALREADY_INSTALLED' });
        const texts = (await rx.wait(6)).map((m) => m.text);
        expect(texts[0]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
        expect(texts.slice(1)).toEqual([
          'READY=1\nSTATUS=reloaded 1',
          expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+$/),
          'READY=1\nSTATUS=reloaded 2',
          expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+$/),
          'READY=1\nSTATUS=reload failed: bad config\nERRNO=2',
        ]);
      } finally {
        rx.close();
      }
    });

    it('onShutdown: STOPPING=1 and EXTEND_TIMEOUT_USEC on SIGTERM, exit 0 after the handler; exit 1 past the timeout', async () => {
      const rx = NotifyReceiver.open();
      try {
        const ok = await inChild(mode, `l.onShutdown(async (s) => { await new Promise((r) => setTimeout(r, 100)); process.stdout.write('handled ' + s + '\\n'); }, { timeoutMs: 2000 });
          setInterval(() => {}, 1000); setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);`, { NOTIFY_SOCKET: rx.address });
        expect(ok.code).toBe(0);
        expect(ok.stdout).toBe('handled SIGTERM\n');
        expect((await rx.wait(2)).map((m) => m.text)).toEqual(['STOPPING=1', 'EXTEND_TIMEOUT_USEC=5000000']);
        const slow = await inChild(mode, `l.onShutdown(() => new Promise(() => {}), { timeoutMs: 300 }); setInterval(() => {}, 1000); setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);`);
        expect(slow.code).toBe(1);
        expect(slow.stderr).toBe('libsystemd: stopping failed: the shutdown handler did not finish within 300 ms\n');
      } finally {
        rx.close();
      }
    });

    it('machineId({ app }) and bootId({ app }) equal systemd-id128; unitOf() equals libsystemd', async () => {
      const app = '4f9d1e2a6b7c4d8e9f0a1b2c3d4e5f60';
      const r = await inChild(mode, `out({ m: l.machineId(), ma: l.machineId({ app: '${app}' }), mu: l.machineId({ app: '4f9d1e2a-6b7c-4d8e-9f0a-1b2c3d4e5f60' }), b: l.bootId(), ba: l.bootId({ app: '${app}' }), u: l.unitOf(), u1: l.unitOf(1) })`);
      expect(r.stderr).toBe('');
      // systemd-id128 is the oracle; where it cannot derive app-specific ids (systemd 247 without
      // AF_ALG sockets in a container) the spec's HMAC-SHA256 computed here with node:crypto is.
      const id128 = (...a: string[]): string => {
        try {
          return execFileSync('systemd-id128', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
        } catch (err) {
          const app = a[1]?.replace('--app-specific=', '').replace(/-/g, '');
          if (!app) throw err;
          const mac = createHmac('sha256', Buffer.from(id128(a[0]!), 'hex')).update(Buffer.from(app, 'hex')).digest().subarray(0, 16);
          mac[6] = (mac[6]! & 0x0f) | 0x40;
          mac[8] = (mac[8]! & 0x3f) | 0x80;
          return mac.toString('hex');
        }
      };
      expect(r.json).toMatchObject({ m: id128('machine-id'), ma: id128('machine-id', `--app-specific=${app}`), mu: id128('machine-id', `--app-specific=${app}`), b: id128('boot-id'), ba: id128('boot-id', `--app-specific=${app}`) });
      const ref = await inChild('libsystemd', 'out({ u: l.unitOf(), u1: l.unitOf(1) })');
      expect(r.json.u).toEqual(ref.json.u);
      expect(r.json.u1).toEqual(ref.json.u1);
    });
  });

  it('the cgroup parser reads system, session, user-manager and slice paths as libsystemd does', () => {
    expect(cgroupUnits('/system.slice/nginx.service')).toEqual({ unit: 'nginx.service', userUnit: undefined, slice: 'system.slice' });
    expect(cgroupUnits('/user.slice/user-1000.slice/session-2.scope')).toEqual({ unit: 'session-2.scope', userUnit: undefined, slice: 'user-1000.slice' });
    expect(cgroupUnits('/user.slice/user-1000.slice/user@1000.service/app.slice/web.service')).toEqual({ unit: 'user@1000.service', userUnit: 'web.service', slice: 'user-1000.slice' });
    expect(cgroupUnits('/')).toEqual({ unit: undefined, userUnit: undefined, slice: '-.slice' });
    expect(cgroupUnits('/init.scope')).toEqual({ unit: 'init.scope', userUnit: undefined, slice: '-.slice' });
    // Seen from outside the manager's cgroup namespace (a container's systemd from its host).
    const root = cgroupRoot('/machine.slice/ct.scope/init.scope');
    expect(root).toBe('/machine.slice/ct.scope');
    expect(cgroupUnits(shiftCgroup('/machine.slice/ct.scope/init.scope', root)).unit).toBe('init.scope');
    expect(cgroupUnits(shiftCgroup('/machine.slice/ct.scope/system.slice/web.service', root))).toEqual({ unit: 'web.service', userUnit: undefined, slice: 'system.slice' });
    expect(shiftCgroup('/elsewhere/x.service', root)).toBe('/elsewhere/x.service');
    expect(shiftCgroup('/system.slice/x.service', '/')).toBe('/system.slice/x.service');
  });

  it('credentials: exact bytes, names, a missing one names the unit setting, bad names refused', async () => {
    const creds = join(dir, 'creds');
    mkdirSync(creds);
    writeFileSync(join(creds, 'token'), Buffer.from([0, 1, 2, 255, 10]));
    writeFileSync(join(creds, 'db.password'), 'hunter2\n');
    const r = await inChild('libsystemd', `const codes = []; for (const n of ['../etc/passwd', 'a/b', '.', '..', '', 5, 'x\\u0000y']) { try { l.credential(n); codes.push('accepted'); } catch (e) { codes.push(e.code); } }
      let missing; try { l.credential('api-key'); } catch (e) { missing = [e.code, e.message]; }
      out({ token: l.credential('token').toString('hex'), pw: l.credential('db.password', { encoding: 'utf8' }), names: l.credentials(), codes, missing });`, { CREDENTIALS_DIRECTORY: creds });
    expect(r.stderr).toBe('');
    expect(r.json).toMatchObject({ token: '000102ff0a', pw: 'hunter2\n', names: ['db.password', 'token'] });
    expect(r.json.codes).toEqual(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']);
    expect(r.json.missing[0]).toBe('ERR_LIBSYSTEMD_NO_CREDENTIAL');
    expect(r.json.missing[1]).toContain('add LoadCredential=api-key:');
    const none = await inChild('libsystemd', `let e; try { l.credential('x'); } catch (err) { e = [err.code, err.message]; } out({ e, names: l.credentials() })`, { CREDENTIALS_DIRECTORY: undefined });
    expect(none.json.e[0]).toBe('ERR_LIBSYSTEMD_NO_CREDENTIAL');
    expect(none.json.e[1]).toContain('$CREDENTIALS_DIRECTORY is unset');
    expect(none.json.names).toEqual([]);
  });

  it('credentials: a FIFO, a socket, a directory or a device is refused with ERR_LIBSYSTEMD_BAD_CREDENTIAL, without blocking the event loop', async () => {
    const creds = join(dir, 'creds-special');
    mkdirSync(creds);
    execFileSync('mkfifo', [join(creds, 'a-fifo')]);
    mkdirSync(join(creds, 'a-dir'));
    execFileSync('ln', ['-s', '/dev/zero', join(creds, 'a-device')]);
    const sock = createServer().listen(join(creds, 'a-socket'));
    await new Promise((r) => sock.once('listening', r));
    writeFileSync(join(creds, 'plain'), 'ok');
    try {
      // A reader that blocked (open() of a FIFO waits for a writer) would never print: the
      // ticker proves the loop ran while every name was tried.
      const r = await inChild('libsystemd', `let ticks = 0; const t = setInterval(() => ticks++, 5);
        const res = {}; for (const n of ['a-fifo', 'a-dir', 'a-device', 'a-socket']) { try { l.credential(n); res[n] = 'accepted'; } catch (e) { res[n] = [e.code, e.message]; } }
        res.plain = l.credential('plain', { encoding: 'utf8' });
        await new Promise((r) => setTimeout(r, 50)); clearInterval(t); out({ res, ticked: ticks > 0 });`, { CREDENTIALS_DIRECTORY: creds });
      expect(r.stderr).toBe('');
      expect(r.json.ticked).toBe(true);
      expect(r.json.res.plain).toBe('ok');
      for (const [name, kind] of [['a-fifo', 'a FIFO'], ['a-dir', 'a directory'], ['a-device', 'a character device'], ['a-socket', 'a socket']] as const) {
        expect(r.json.res[name][0], name).toBe('ERR_LIBSYSTEMD_BAD_CREDENTIAL');
        expect(r.json.res[name][1], name).toContain(`is ${kind}, not a regular file`);
      }
    } finally {
      sock.close();
    }
  }, 60_000);

  it('memory pressure over a socket: the trigger from MEMORY_PRESSURE_WRITE is written, each event calls the handler, at most once per window', async () => {
    const path = join(dir, 'pressure.sock');
    const trigger = 'some 150000 1000000';
    let got = '';
    const server = createServer((c) => {
      c.on('data', (d) => (got += d.toString('latin1')));
      // Three events at once (one call), then one after the window (a second call).
      setTimeout(() => c.write('abc'), 200);
      setTimeout(() => c.write('d'), 1400);
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const r = await inChild('libsystemd', `let calls = 0; const h = l.onMemoryPressure(() => { calls++; });
        await new Promise((r) => setTimeout(r, 2000)); h.close(); out({ active: h.active, calls });`, { MEMORY_PRESSURE_WATCH: path, MEMORY_PRESSURE_WRITE: Buffer.from(trigger).toString('base64') });
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ active: true, calls: 2 });
      expect(got).toBe(trigger);
    } finally {
      server.close();
    }
  });

  it('memory pressure: inactive with the reason when systemd does not watch; malformed variables throw ERR_LIBSYSTEMD_MEMORY_PRESSURE', async () => {
    const r = await inChild('libsystemd', `const a = l.onMemoryPressure(() => {}); out({ active: a.active, reason: a.reason })`, { MEMORY_PRESSURE_WATCH: undefined });
    expect(r.json.active).toBe(false);
    expect(r.json.reason).toContain('systemd 254+');
    const off = await inChild('libsystemd', `const a = l.onMemoryPressure(() => {}); out({ active: a.active, reason: a.reason })`, { MEMORY_PRESSURE_WATCH: '/dev/null' });
    expect(off.json).toMatchObject({ active: false, reason: expect.stringContaining('MemoryPressureWatch=off') });
    for (const env of [{ MEMORY_PRESSURE_WATCH: 'relative/path' }, { MEMORY_PRESSURE_WATCH: '/x', MEMORY_PRESSURE_WRITE: 'not base64!' }]) {
      const bad = await inChild('libsystemd', `try { l.onMemoryPressure(() => {}); out('accepted'); } catch (e) { out(e.code); }`, env);
      expect(bad.json).toBe('ERR_LIBSYSTEMD_MEMORY_PRESSURE');
    }
    const badThreshold = await inChild('libsystemd', `try { l.onMemoryPressure(() => {}, { threshold: { stallMs: 5000, windowMs: 1000 } }); out('accepted'); } catch (e) { out(e.code); }`, { MEMORY_PRESSURE_WATCH: '/dev/null' });
    expect(badThreshold.json).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('memory pressure: a regular file outside procfs/cgroupfs (or a directory) is refused before anything is written, as sd_event_add_memory_pressure does', async () => {
    const file = join(dir, 'not-psi');
    writeFileSync(file, 'precious contents\n');
    const r = await inChild('libsystemd', `try { const h = l.onMemoryPressure(() => {}); h.close(); out({ accepted: h.active }); } catch (e) { out([e.code, e.message]); }`, { MEMORY_PRESSURE_WATCH: file });
    expect(r.stderr).toBe('');
    expect(r.json[0]).toBe('ERR_LIBSYSTEMD_MEMORY_PRESSURE');
    expect(r.json[1]).toContain('is a regular file outside procfs and cgroupfs');
    expect(readFileSync(file, 'utf8')).toBe('precious contents\n');
    const d = await inChild('libsystemd', `try { l.onMemoryPressure(() => {}); out('accepted'); } catch (e) { out(e.code); }`, { MEMORY_PRESSURE_WATCH: dir });
    expect(d.json).toBe('ERR_LIBSYSTEMD_MEMORY_PRESSURE');
  });

  it('memory pressure on a FIFO: the trigger is written and each byte from the peer is an event, as sd-event watches a FIFO (EPOLLIN)', async () => {
    const fifo = join(dir, 'pressure.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await inChild('libsystemd', `let calls = 0; const h = l.onMemoryPressure(() => { calls++; }, { threshold: { stallMs: 100, windowMs: 500 } });
      const fs = require('fs'); const rd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const got = Buffer.alloc(64); const n = fs.readSync(rd, got); fs.closeSync(rd);
      let ticks = 0; const t = setInterval(() => ticks++, 5);
      const wr = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); fs.writeSync(wr, 'x'); fs.closeSync(wr);
      await new Promise((r) => setTimeout(r, 300)); clearInterval(t); h.close();
      out({ active: h.active, trigger: got.subarray(0, n).toString('latin1'), calls, ticked: ticks > 10 });`, { MEMORY_PRESSURE_WATCH: fifo });
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ active: true, trigger: 'some 100000 500000\u0000', calls: 1, ticked: true });
  });

  it('memory pressure on a real PSI file: the kernel accepts the trigger and the POLLPRI watch is live', async () => {
    // This machine's cgroup has no memory controller delegated (MemoryHigh= cannot throttle), and
    // starving the host of memory is not an option: the memory PSI file is tested up to an
    // accepted trigger and a live watch; the next test makes a real PSI event on the CPU file.
    if (!existsSync('/proc/pressure/memory')) throw new Error('no /proc/pressure/memory (a kernel without CONFIG_PSI)');
    const r = await inChild('libsystemd', `const h = l.onMemoryPressure(() => {}); out({ active: h.active }); h.close();`, { MEMORY_PRESSURE_WATCH: '/proc/pressure/memory' });
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ active: true });
  });

  it("a real PSI event reaches the handler through the addon's POLLPRI watch (CPU pressure: the same file format and trigger)", async () => {
    // 4 busy processes on this machine's cores: runnable tasks wait, "some" CPU stall well over
    // the default trigger (200 ms per 2 s window). Files run one at a time, so no timing test is disturbed.
    const r = await inChild('libsystemd', `let calls = 0; const h = l.onMemoryPressure(() => { calls++; });
      const { spawn } = require('child_process');
      const busy = Array.from({ length: 4 }, () => spawn(process.execPath, ['-e', 'const e = Date.now() + 2500; while (Date.now() < e);']));
      await Promise.all(busy.map((c) => new Promise((r) => c.on('exit', r))));
      await new Promise((r) => setTimeout(r, 300)); h.close(); out({ active: h.active, calls });`, { MEMORY_PRESSURE_WATCH: '/proc/pressure/cpu' });
    expect(r.stderr).toBe('');
    expect(r.json.active).toBe(true);
    expect(r.json.calls).toBeGreaterThanOrEqual(1);
  });

  it('bad input: handlers, options, ids and pids are refused with stable codes', async () => {
    const r = await inChild('libsystemd', `const codes = []; const t = (f) => { try { f(); codes.push('accepted'); } catch (e) { codes.push(e.code); } };
      t(() => l.onReload('x')); t(() => l.onReload(() => {}, { signal: 'SIGKILL' })); t(() => l.onReload(() => {}, { signal: 'NOPE' }));
      t(() => l.onShutdown(() => {}, { timeoutMs: -1 })); t(() => l.onShutdown(() => {}, { signals: [] }));
      t(() => l.exitWhenIdle({}, {})); t(() => l.exitWhenIdle(require('net').createServer(), { idleMs: 0 }));
      t(() => l.machineId({ app: 'xyz' })); t(() => l.bootId({ app: 42 })); t(() => l.unitOf(-1));
      process.env.INVOCATION_ID = 'bad'; t(() => l.invocationId());
      out(codes);`);
    expect(r.stderr).toBe('');
    // timeoutMs -1, idleMs 0 and unitOf(-1): numbers out of range (ERR_OUT_OF_RANGE, as Node says it).
    expect(r.json).toEqual(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'EINVAL']);
  });

  it('exitWhenIdle does nothing (active: false) when the process was not socket-activated', async () => {
    const r = await inChild('libsystemd', `const s = require('net').createServer().listen(0, '127.0.0.1'); const h = l.exitWhenIdle(s, { idleMs: 50 }); await new Promise((r) => setTimeout(r, 200)); out({ active: h.active, listening: s.listening }); s.close();`);
    expect(r.json).toEqual({ active: false, listening: true });
  });
});

