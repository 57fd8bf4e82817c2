/**
 * sd_notify against a real receiving socket (path and abstract), for every backend: exact bytes
 * for every helper, fds received and readable, credentials, every item of SPEC checklist 2.3
 * and 2.4, the barrier, the watchdog timer, and native-vs-js datagram parity.
 */
import { chmodSync, mkdtempSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { FIXTURES, MODES, ROOT, run, runFixture, type Mode } from './helpers/child';
import { describeWith, installedSystemd, missing } from './helpers/env';
import { load } from './helpers/addon';
import { NotifyReceiver } from './helpers/notify';

const nativeModes: Mode[] = ['libsystemd', 'js/native'];

/** Why this process cannot run the package as uid 65534 (needs root, setpriv, a readable checkout). */
const NOBODY_MISSING: string | undefined = (() => {
  const reason = missing({ root: true, bins: ['setpriv'] });
  if (reason) return reason;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require(${JSON.stringify(ROOT)})`]);
  return r.status === 0 ? undefined : 'uid 65534 cannot read the checkout';
})();

function inChild(mode: Mode, code: string, env: Record<string, string | undefined> = {}) {
  return runFixture('run.cjs', [code], { env: { ...MODES[mode], ...env } });
}

describeWith({ linux: true }, 'notify', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-notify-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each(nativeModes)('%s', (mode) => {
    let rx: NotifyReceiver;
    afterEach(() => rx?.close());

    it.each(['path', 'abstract'] as const)('puts the exact bytes of every helper on the wire (%s socket), from this pid', async (kind) => {
      rx = NotifyReceiver.open(kind);
      const r = await inChild(
        mode,
        `const calls = [
          () => l.ready(), () => l.ready('up'), () => l.stopping(), () => l.stopping('bye'), () => l.status('C:\\\\dir'),
          () => l.status(''), () => l.mainPid(4242), () => l.errno('ENOENT'), () => l.errno(5), () => l.busError('org.example.Error.Failed'),
          () => l.extendTimeout(1500), () => l.extendTimeout(2n ** 50n), () => l.watchdog(), () => l.watchdogTrigger(),
          () => l.setWatchdogTimeout(0.001), () => l.fdStoreRemove('http'),
          () => l.notify({ READY: 1, STATUS: 'x', X_MINE: 5, X_BIG: 2n ** 64n, X_TRUE: true, X_NO: false, X_SKIP: undefined }),
          () => l.notify('READY=1\\nSTATUS=raw \\\\ kept\\n'),
        ];
        out({ results: calls.map((c) => c()), pid: process.pid });`,
        { NOTIFY_SOCKET: rx.address },
      );
      expect(r.stderr).toBe('');
      expect(r.json.results.every((x: boolean) => x === true)).toBe(true);
      const got = await rx.wait(18);
      expect(got.map((m) => m.text)).toEqual([
        'READY=1',
        'READY=1\nSTATUS=up',
        'STOPPING=1',
        'STOPPING=1\nSTATUS=bye',
        'STATUS=C:\\\\dir',
        'STATUS=',
        'MAINPID=4242',
        'ERRNO=2',
        'ERRNO=5',
        'BUSERROR=org.example.Error.Failed',
        'EXTEND_TIMEOUT_USEC=1500000',
        `EXTEND_TIMEOUT_USEC=${(2n ** 50n * 1000n).toString()}`,
        'WATCHDOG=1',
        'WATCHDOG=trigger',
        'WATCHDOG_USEC=1',
        'FDSTOREREMOVE=1\nFDNAME=http',
        `READY=1\nSTATUS=x\nX_MINE=5\nX_BIG=${(2n ** 64n).toString()}\nX_TRUE=1\nX_NO=0`,
        'READY=1\nSTATUS=raw \\ kept\n', // raw strings go out byte for byte
      ]);
      expect(new Set(got.map((m) => m.pid))).toEqual(new Set([r.json.pid]));
      expect(got.every((m) => m.fds.length === 0 && m.uid === 0)).toBe(true);
    });

    it('reloading() carries MONOTONIC_USEC from CLOCK_MONOTONIC as an exact integer', async () => {
      rx = NotifyReceiver.open();
      const r = await inChild(mode, `const before = process.hrtime.bigint() / 1000n; l.reloading('reload'); out({ before, after: process.hrtime.bigint() / 1000n });`, { NOTIFY_SOCKET: rx.address });
      const [m] = await rx.wait(1);
      const match = /^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=reload$/.exec(m!.text);
      expect(match).not.toBeNull();
      const usec = BigInt(match![1]!);
      expect(usec >= BigInt(r.json.before.slice(0, -1)) && usec <= BigInt(r.json.after.slice(0, -1))).toBe(true);
    });

    it('passes fds that arrive open and readable on the other side (fd store)', async () => {
      rx = NotifyReceiver.open('path', true);
      const file = join(dir, `payload-${mode.replace('/', '-')}`);
      writeFileSync(file, 'stored payload');
      const r = await inChild(
        mode,
        `const fs = require('node:fs'); const a = fs.openSync(${JSON.stringify(file)}, 'r'); const b = fs.openSync(${JSON.stringify(file)}, 'r');
         out({ store: l.fdStore([a, b], { name: 'http', poll: false }), plain: l.notify('X_FDS=1', { fds: [a] }) });`,
        { NOTIFY_SOCKET: rx.address },
      );
      expect(r.json).toEqual({ store: true, plain: true });
      const [store, plain] = await rx.wait(2);
      expect(store!.text).toBe('FDSTORE=1\nFDNAME=http\nFDPOLL=0');
      expect(store!.fds).toHaveLength(2);
      expect(plain!.fds).toHaveLength(1);
      const buf = Buffer.alloc(64);
      const n = readSync(store!.fds[1]!, buf, 0, 64, 0);
      expect(buf.subarray(0, n).toString()).toBe('stored payload');
    });

    it('sends 253 fds, and refuses 254 before sending anything', async () => {
      rx = NotifyReceiver.open();
      const r = await inChild(
        mode,
        `const fd = require('node:fs').openSync('/dev/null', 'r');
         out({ ok: attempt(() => l.notify('X_MANY=1', { fds: Array(253).fill(fd) })), over: attempt(() => l.notify('X_MANY=2', { fds: Array(254).fill(fd) })) });`,
        { NOTIFY_SOCKET: rx.address },
      );
      expect(r.json.ok).toEqual({ ok: true });
      expect(r.json.over).toMatchObject({ error: 'ERR_INVALID_ARG_VALUE' });
      const got = await rx.wait(2, 500);
      expect(got.map((m) => [m.text, m.fds.length])).toEqual([['X_MANY=1', 253]]);
    });

    it('sends on behalf of another pid when privileged (SCM_CREDENTIALS), as libsystemd does', async () => {
      rx = NotifyReceiver.open();
      await inChild(mode, `out(l.notify('X_PID=1', { pid: 1 }))`, { NOTIFY_SOCKET: rx.address });
      const [m] = await rx.wait(1);
      expect(m!.pid).toBe(process.getuid!() === 0 ? 1 : expect.any(Number));
    });

    it.skipIf(!!NOBODY_MISSING)(`unprivileged: a pid override is retried as this process, and a 0600 socket of root gives EACCES${NOBODY_MISSING ? ` [skipped: ${NOBODY_MISSING}]` : ''}`, async () => {
      rx = NotifyReceiver.open('abstract');
      const asNobody = (code: string, address: string) =>
        run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(FIXTURES, 'run.cjs'), code], { env: { ...MODES[mode], NOTIFY_SOCKET: address } });
      const r = await asNobody(`out({ sent: l.notify('X_FAKE=1', { pid: 1 }), pid: process.pid })`, rx.address);
      expect(r.stderr).toBe('');
      expect(r.json.sent).toBe(true);
      const [m] = await rx.wait(1);
      expect(m).toMatchObject({ text: 'X_FAKE=1', pid: r.json.pid, uid: 65534 });
      const closed = NotifyReceiver.open('path');
      try {
        chmodSync(dirname(closed.address), 0o755);
        chmodSync(closed.address, 0o600);
        const denied = await asNobody(`out(attempt(() => l.ready()))`, closed.address);
        expect(denied.json).toMatchObject({ error: 'EACCES', name: 'SystemdError' });
      } finally {
        closed.close();
      }
    });

    it('refuses injection and oversize input before anything is sent (ERR_INVALID_ARG_VALUE)', async () => {
      rx = NotifyReceiver.open();
      const r = await inChild(
        mode,
        `out([
          attempt(() => l.status('ok\\nREADY=1')), attempt(() => l.status('ok\\rMAINPID=1')), attempt(() => l.status('nul\\0')),
          attempt(() => l.status('\\ud800')), attempt(() => l.notify({ STATUS: 'a\\r\\nREADY=1' })), attempt(() => l.notify('READY=1\\nnot an assignment')),
          attempt(() => l.notify('READY=1\\n\\nSTATUS=x')), attempt(() => l.notify('')), attempt(() => l.notify({})), attempt(() => l.notify({ lower: 1 })),
          attempt(() => l.notify({ 'A=B': 1 })), attempt(() => l.notify('STATUS=trailing\\\\')), attempt(() => l.notify('X=' + 'y'.repeat(4095))),
          attempt(() => l.fdStore([0], { name: 'a:b' })), attempt(() => l.fdStoreRemove('')), attempt(() => l.notify({ X: NaN })),
          attempt(() => l.mainPid(0)), attempt(() => l.extendTimeout(-1)), attempt(() => l.errno('ENOTANERRNO')),
          attempt(() => l.notify({ X: null })), attempt(() => l.notify(42)),
        ])`,
        { NOTIFY_SOCKET: rx.address },
      );
      // mainPid(0) and extendTimeout(-1): numbers out of range (ERR_OUT_OF_RANGE, as Node says it).
      expect(r.json.map((x: { error?: string }) => x.error)).toEqual([...Array(16).fill('ERR_INVALID_ARG_VALUE'), 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE']);
      expect(r.json[0].message).toContain('inject');
      expect(await rx.wait(1, 300)).toEqual([]);
    });

    it('accepts exactly 4096 bytes', async () => {
      rx = NotifyReceiver.open();
      const r = await inChild(mode, `out(l.notify('X=' + 'y'.repeat(4094)))`, { NOTIFY_SOCKET: rx.address });
      expect(r.json).toBe(true);
      const [m] = await rx.wait(1);
      expect(m!.data.length).toBe(4096);
    });

    it('returns false without NOTIFY_SOCKET, and unsetEnvironment removes it even on failure', async () => {
      const r = await inChild(
        mode,
        `const a = l.ready(); process.env.NOTIFY_SOCKET = '/nonexistent/notify';
         const b = attempt(() => l.notify('READY=1', { unsetEnvironment: true }));
         out({ a, b, left: process.env.NOTIFY_SOCKET === undefined })`,
        { NOTIFY_SOCKET: undefined },
      );
      expect(r.json).toMatchObject({ a: false, b: { error: 'ENOENT', name: 'SystemdError' }, left: true });
    });

    describe('bad NOTIFY_SOCKET values (the js backend: the newest libsystemd\'s codes; libsystemd: its own)', () => {
      let stale: string;
      let stream: Server;
      let streamPath: string;
      beforeAll(async () => {
        // A socket file nobody reads any more, a regular file and a stream socket.
        const r = NotifyReceiver.open();
        stale = r.address;
        r.closeSocket();
        writeFileSync(join(dir, 'regular'), '');
        streamPath = join(dir, `stream-${mode.replace('/', '-')}.sock`);
        stream = createServer();
        await new Promise<void>((res) => stream.listen(streamPath, res));
      });
      afterAll(() => stream.close());

      // [value, the newest libsystemd (262) and the js backend, libsystemd 257, 252, 247] where they differ.
      const version = installedSystemd();
      const old = (newest: string, v257: string, v252: string, v247: string): string => (mode !== 'libsystemd' || version >= 262 ? newest : version >= 257 ? v257 : version >= 252 ? v252 : v247);
      // vsock: js refuses it (AF_UNIX only); libsystemd 257+ tries it (this machine has no vsock).
      const vsock = mode !== 'libsystemd' ? ['EAFNOSUPPORT'] : version >= 257 ? ['ESOCKTNOSUPPORT', 'ENODEV', 'EAFNOSUPPORT'] : ['EINVAL'];
      it.each([
        ['', old('EPROTO', 'EPROTO', 'EINVAL', 'EINVAL')],
        ['relative/path', old('EPROTO', 'EPROTO', 'EINVAL', 'EINVAL')],
        ['foo:bar', old('EPROTO', 'EPROTO', 'EINVAL', 'EINVAL')],
        ['/', 'EINVAL'],
        ['@', 'EINVAL'],
        ['vsock:2:1234', vsock],
        [`/${'x'.repeat(106)}`, 'ENOENT'],
        [`/${'x'.repeat(107)}`, old('ENAMETOOLONG', 'ENAMETOOLONG', 'ENAMETOOLONG', 'EINVAL')],
        [`@${'x'.repeat(106)}`, 'ECONNREFUSED'],
        [`@${'x'.repeat(107)}`, 'EINVAL'],
        ['/nonexistent/dir/socket', 'ENOENT'],
      ])('%j gives %s', async (value, code) => {
        const r = await inChild(mode, `out(attempt(() => l.ready()))`, { NOTIFY_SOCKET: value });
        expect(r.json).toMatchObject({ name: 'SystemdError' });
        expect([code].flat()).toContain(r.json.error);
      });

      it('a stale socket file and a regular file give ECONNREFUSED, a stream socket EPROTOTYPE', async () => {
        for (const [value, code] of [
          [stale, 'ECONNREFUSED'],
          [join(dir, 'regular'), 'ECONNREFUSED'],
          [streamPath, 'EPROTOTYPE'],
        ]) {
          const r = await inChild(mode, `out(attempt(() => l.ready()))`, { NOTIFY_SOCKET: value });
          expect(r.json, value).toMatchObject({ error: code });
        }
      });

      it('an invalid fd gives EBADF', async () => {
        const r = await inChild(mode, `out(attempt(() => l.notify('FDSTORE=1', { fds: [9999] })))`, { NOTIFY_SOCKET: streamPath });
        expect(r.json).toMatchObject({ error: 'EBADF' });
      });
    });

    describe('barrier', () => {
      it('resolves true once the receiver closed the fd, without blocking the event loop', async () => {
        // The receiver holds the barrier's fd for HOLD_MS: a barrier that blocked the event loop
        // would stop it that long, while a busy machine's scheduling alone stops it far less
        // (longest gaps measured on this 2-core machine with one core kept busy and other work
        // running: 73, 89 and 511 ms). The bound, half the hold, leaves twice the worst of those.
        const HOLD_MS = 2000;
        rx = NotifyReceiver.open('path', true);
        const receiver = rx;
        const holder = (async () => {
          const [m] = await receiver.wait(1, 30_000);
          await new Promise((res) => setTimeout(res, HOLD_MS));
          for (const fd of m?.fds ?? []) load.binding!.close(fd);
          return m;
        })();
        const r = await inChild(
          mode,
          `let last = Date.now(), maxGap = 0; const t = setInterval(() => { const now = Date.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 1);
           const t0 = Date.now(); const res = await settle(l.barrier(30000)); const waited = Date.now() - t0; clearInterval(t);
           out({ res, waited, maxGap, none: await settle((delete process.env.NOTIFY_SOCKET, l.barrier())) });`,
          { NOTIFY_SOCKET: rx.address },
        );
        const m = await holder;
        expect(r.json.res).toEqual({ ok: true });
        expect(r.json.none).toEqual({ ok: false });
        // It resolved only once the fd was closed, and the loop kept turning meanwhile.
        expect(r.json.waited).toBeGreaterThanOrEqual(HOLD_MS - 50);
        expect(r.json.maxGap).toBeLessThan(HOLD_MS / 2);
        expect(m).toMatchObject({ text: 'BARRIER=1' });
        expect(m!.fds).toHaveLength(1);
      });

      it('rejects with ETIMEDOUT when the receiver keeps the fd, and the loop keeps running meanwhile', async () => {
        rx = NotifyReceiver.open('path', true);
        const r = await inChild(
          mode,
          `let ticks = 0; const t = setInterval(() => ticks++, 10); const start = Date.now();
           const res = await settle(l.barrier(300)); clearInterval(t); out({ res, ticks, ms: Date.now() - start });`,
          { NOTIFY_SOCKET: rx.address },
        );
        expect(r.json.res).toMatchObject({ error: 'ETIMEDOUT', name: 'SystemdError' });
        expect(r.json.ms).toBeGreaterThanOrEqual(290);
        expect(r.json.ticks).toBeGreaterThan(10);
      });
    });

    describe('watchdog', () => {
      it('startWatchdog pings every half of WATCHDOG_USEC, is idempotent, unref\'d, and honours a health check', async () => {
        rx = NotifyReceiver.open();
        const r = await inChild(
          mode,
          `const h = l.startWatchdog(); const same = l.startWatchdog() === h;
           await new Promise((res) => setTimeout(res, 520));
           out({ interval: h.intervalMs, same });`,
          { NOTIFY_SOCKET: rx.address, WATCHDOG_USEC: '200000', WATCHDOG_PID: undefined },
        );
        // The child exited on its own: the timer did not keep it alive.
        expect(r.code).toBe(0);
        expect(r.json).toEqual({ interval: 100, same: true });
        const pings = rx.take().filter((m) => m.text === 'WATCHDOG=1');
        expect(pings.length).toBeGreaterThanOrEqual(5);
        expect(pings.length).toBeLessThanOrEqual(7);

        const sick = await inChild(
          mode,
          `let calls = 0; l.startWatchdog({ healthCheck: async () => (++calls, false) }); await new Promise((res) => setTimeout(res, 250)); out({ calls });`,
          { NOTIFY_SOCKET: rx.address, WATCHDOG_USEC: '100000' },
        );
        expect(sick.json.calls).toBeGreaterThanOrEqual(3);
        expect(rx.take()).toEqual([]);
      });

      it('does nothing when the watchdog is off or meant for another process', async () => {
        rx = NotifyReceiver.open();
        for (const env of [{ WATCHDOG_USEC: undefined }, { WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' }]) {
          const r = await inChild(mode, `const h = l.startWatchdog(); await new Promise((res) => setTimeout(res, 150)); h.stop(); out({ interval: h.intervalMs, usec: l.watchdogUsec() })`, { NOTIFY_SOCKET: rx.address, ...env });
          expect(r.json).toEqual({ interval: 0 });
        }
        expect(rx.take()).toEqual([]);
      });

      it.each([
        [{ WATCHDOG_USEC: '3000000' }, { ok: '3000000n' }],
        [{ WATCHDOG_USEC: '9007199254740993' }, { ok: '9007199254740993n' }],
        [{ WATCHDOG_USEC: '0' }, { error: 'EINVAL' }],
        [{ WATCHDOG_USEC: '18446744073709551616' }, { error: 'ERANGE' }],
        [{ WATCHDOG_USEC: '5000', WATCHDOG_PID: 'abc' }, { error: 'EINVAL' }],
      ])('watchdogUsec() with %j gives %j', async (env, want) => {
        const r = await inChild(mode, `out(attempt(() => l.watchdogUsec()))`, env);
        expect(r.json).toMatchObject(want);
      });
    });
  });

  it('libsystemd and js put byte-identical datagrams on the wire (parity)', async () => {
    const code = `l.ready('parity ✓'); l.notify({ X_A: 1, STATUS: 'back\\\\slash' }); l.extendTimeout(12.5); l.fdStoreRemove('n');
      l.notify('FDSTORE=1', { fds: [0, 1] }); l.mainPid(7); l.notify('READY=1\\n');`;
    const seen: Record<string, string[]> = {};
    for (const mode of nativeModes) {
      const rx = NotifyReceiver.open('abstract');
      try {
        await inChild(mode, code, { NOTIFY_SOCKET: rx.address });
        seen[mode] = (await rx.wait(7)).map((m) => `${m.data.toString('hex')}/${m.fds.length}`);
      } finally {
        rx.close();
      }
    }
    expect(seen['js/native']).toHaveLength(7);
    expect(seen['js/native']).toEqual(seen.libsystemd);
  });

  describe('node transport (no addon)', () => {
    let rx: NotifyReceiver;
    afterEach(() => rx?.close());

    it('warns once (LIBSYSTEMD_NOTIFY_UNAVAILABLE) and still delivers through systemd-notify', async () => {
      rx = NotifyReceiver.open();
      const r = await inChild('js/node', `out({ a: l.ready('via helper'), b: l.status('second'), caps: l.capabilities().notify })`, { NOTIFY_SOCKET: rx.address });
      expect(r.json).toEqual({ a: true, b: true, caps: false });
      expect(r.stderr.match(/LIBSYSTEMD_NOTIFY_UNAVAILABLE/g)).toHaveLength(1);
      const texts = rx.take().map((m) => m.text);
      expect(texts.some((t) => /READY=1/.test(t) && /STATUS=via helper/.test(t))).toBe(true);
      expect(texts.some((t) => /STATUS=second/.test(t))).toBe(true);
    });

    it('stays silent without NOTIFY_SOCKET, and refuses fds with ENOTSUP', async () => {
      const quiet = await inChild('js/node', `out(l.ready())`, { NOTIFY_SOCKET: undefined });
      expect(quiet.json).toBe(false);
      expect(quiet.stderr).toBe('');
      rx = NotifyReceiver.open();
      const fds = await inChild('js/node', `out(attempt(() => l.fdStore([0])))`, { NOTIFY_SOCKET: rx.address });
      expect(fds.json).toMatchObject({ error: 'ENOTSUP' });
    });
  });
});

