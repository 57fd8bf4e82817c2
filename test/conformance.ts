/**
 * The backend conformance suite: the same expectations, taken from libsystemd v252 (SPEC 1.1,
 * 1.2, 1.4, 1.5 and checklist 2.1, 2.2, 2.4, 2.5), run once against every backend. Expected
 * values are libsystemd's results; the js backend must reproduce them exactly.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NativeBinding } from '../lib/addon';
import type { Backend } from '../lib/backends/contract';
import { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../lib/protocol/linux';

const EINVAL = -22;
const ERANGE = -34;
const EBADF = -9;
const ENOTSUP = -95;

const VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

function setEnv(vars: Partial<Record<(typeof VARS)[number], string>>): void {
  for (const v of VARS) delete process.env[v];
  Object.assign(process.env, vars);
}

function envLeft(): string[] {
  return VARS.filter((v) => process.env[v] !== undefined);
}

const me = String(process.pid);
/** A pid that is certainly not ours. */
const other = String(process.pid === 1 ? 2 : 1);

/** Opens placeholder fds until fds 3..top are all open (open() takes the lowest free number). */
function fillFds(top: number): number[] {
  const opened: number[] = [];
  for (;;) {
    const fd = openSync('/dev/null', 'r');
    opened.push(fd);
    if (fd >= top) return opened;
  }
}

export interface ConformanceOptions {
  /** The node transport cannot read SO_TYPE, SO_ACCEPTCONN or getsockname. */
  readonly fdChecks: boolean;
  /** The addon, to create AF_UNIX datagram sockets the suite then checks. */
  readonly binding?: NativeBinding;
}

export function conformance(name: string, make: () => Backend, opts: ConformanceOptions): void {
  describe(`backend conformance: ${name}`, () => {
    let b: Backend;
    let placeholders: number[] = [];
    beforeAll(() => {
      b = make();
      placeholders = fillFds(12);
    });
    afterAll(() => {
      for (const fd of placeholders) closeSync(fd);
      setEnv({});
    });
    afterEach(() => setEnv({}));

    describe('listenFds (2.1)', () => {
      it('returns 0 without LISTEN_* and with LISTEN_PID but no LISTEN_FDS', () => {
        setEnv({});
        expect(b.listenFds()).toBe(0);
        setEnv({ LISTEN_PID: me });
        expect(b.listenFds()).toBe(0);
      });

      it("returns 0 for another process's LISTEN_PID, and leaves the variables alone", () => {
        setEnv({ LISTEN_PID: other, LISTEN_FDS: '1', LISTEN_FDNAMES: 'x' });
        expect(b.listenFds()).toBe(0);
        expect(envLeft()).toEqual(['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']);
      });

      it.each([
        ['', EINVAL],
        ['abc', EINVAL],
        ['0', ERANGE],
        ['-5', ERANGE],
        ['99999999999', ERANGE],
        ['1x', EINVAL],
      ])('LISTEN_PID=%j gives %i', (pid, rc) => {
        setEnv({ LISTEN_PID: pid, LISTEN_FDS: '1' });
        expect(b.listenFds()).toBe(rc);
        expect(envLeft().length).toBeGreaterThan(0);
      });

      it.each([
        ['0', EINVAL],
        ['-1', EINVAL],
        ['abc', EINVAL],
        ['2 ', EINVAL],
        ['1e2', EINVAL],
        ['', EINVAL],
        ['2147483647', EINVAL],
        ['2147483644', EBADF],
        ['99999999999', ERANGE],
        ['9999999999999999999999', ERANGE],
      ])('LISTEN_FDS=%j gives %i', (fds, rc) => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: fds });
        expect(b.listenFds()).toBe(rc);
        expect(envLeft().length).toBeGreaterThan(0);
      });

      it.each([
        [' 2', 2],
        ['+2', 2],
        ['0x2', 2],
        ['02', 2],
        ['010', 8],
        ['\t3', 3],
      ])('parses LISTEN_FDS=%j leniently, as libsystemd does, to %i', (fds, n) => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: fds });
        expect(b.listenFds()).toBe(n);
      });

      it('accepts a lenient LISTEN_PID (" pid", "+pid")', () => {
        setEnv({ LISTEN_PID: ` ${me}`, LISTEN_FDS: '1' });
        expect(b.listenFds()).toBe(1);
        setEnv({ LISTEN_PID: `+${me}`, LISTEN_FDS: '1' });
        expect(b.listenFds()).toBe(1);
      });

      it('fails with EBADF when LISTEN_FDS goes past the open fds', () => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: '5000' });
        expect(b.listenFds()).toBe(EBADF);
        expect(envLeft().length).toBeGreaterThan(0);
      });

      it('keeps the variables (the public layer clears them), and answers the same again', () => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: '2' });
        expect(b.listenFds()).toBe(2);
        expect(b.listenFds()).toBe(2);
        expect(envLeft()).toEqual(['LISTEN_PID', 'LISTEN_FDS']);
      });
    });

    describe('listenFdsWithNames (2.1)', () => {
      it.each([
        [undefined, '2', ['unknown', 'unknown']],
        ['a:b', '2', ['a', 'b']],
        ['a::b', '3', ['a', '', 'b']],
        ['a:', '2', ['a', '']],
        ['', '1', ['']],
        ['a\\:b', '1', ['a:b']],
        ['web:app.socket', '2', ['web', 'app.socket']],
      ])('LISTEN_FDNAMES=%j with LISTEN_FDS=%s gives %j', (names, n, want) => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: n, ...(names === undefined ? {} : { LISTEN_FDNAMES: names }) });
        expect(b.listenFdsWithNames()).toEqual(want);
        expect(envLeft().length).toBeGreaterThan(0);
      });

      it.each([
        ['a', '2'],
        ['a:b:c', '2'],
        ['a\\', '1'],
      ])('LISTEN_FDNAMES=%j with LISTEN_FDS=%s is EINVAL', (names, n) => {
        setEnv({ LISTEN_PID: me, LISTEN_FDS: n, LISTEN_FDNAMES: names });
        expect(b.listenFdsWithNames()).toBe(EINVAL);
        expect(envLeft().length).toBeGreaterThan(0);
      });

      it('gives [] when not activated', () => {
        setEnv({ LISTEN_PID: other, LISTEN_FDS: '1', LISTEN_FDNAMES: 'a' });
        expect(b.listenFdsWithNames()).toEqual([]);
      });
    });

    describe('watchdogEnabled (2.4)', () => {
      it.each([
        [{}, 0, 0n],
        [{ WATCHDOG_USEC: '3000000' }, 1, 3_000_000n],
        [{ WATCHDOG_USEC: '3000000', WATCHDOG_PID: me }, 1, 3_000_000n],
        [{ WATCHDOG_USEC: '3000000', WATCHDOG_PID: other }, 0, 0n],
        [{ WATCHDOG_USEC: '3000000', WATCHDOG_PID: 'abc' }, EINVAL, 0n],
        [{ WATCHDOG_USEC: '3000000', WATCHDOG_PID: '0' }, ERANGE, 0n],
        [{ WATCHDOG_USEC: '0' }, EINVAL, 0n],
        [{ WATCHDOG_USEC: '18446744073709551615' }, EINVAL, 0n],
        [{ WATCHDOG_USEC: '18446744073709551616' }, ERANGE, 0n],
        [{ WATCHDOG_USEC: '-1' }, ERANGE, 0n],
        [{ WATCHDOG_USEC: 'abc' }, EINVAL, 0n],
        [{ WATCHDOG_USEC: ' 5' }, 1, 5n],
        [{ WATCHDOG_USEC: '0x10' }, 1, 16n],
        [{ WATCHDOG_USEC: '9007199254740993' }, 1, 9007199254740993n],
        [{ WATCHDOG_USEC: '18446744073709551614' }, 1, 18446744073709551614n],
      ])('%j gives %i', (vars, rc, usec) => {
        setEnv(vars);
        const [r, u] = b.watchdogEnabled(true);
        expect(r).toBe(rc);
        if (rc > 0) expect(u).toBe(usec);
        expect(envLeft()).toEqual([]);
      });

      it('leaves the variables in place without unset', () => {
        setEnv({ WATCHDOG_USEC: '100', WATCHDOG_PID: me });
        expect(b.watchdogEnabled(false)[0]).toBe(1);
        expect(envLeft()).toEqual(['WATCHDOG_USEC', 'WATCHDOG_PID']);
      });
    });

    describe('booted (2.5)', () => {
      it('is true exactly when /run/systemd/system exists', () => {
        expect(b.booted()).toBe(existsSync('/run/systemd/system') ? 1 : 0);
      });
    });

    describe('fd checks (2.2)', () => {
      let server: Server;
      let dir: string;
      let tcpFd: number;
      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), 'libsystemd-conf-'));
        server = createServer();
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        tcpFd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      });
      afterAll(() => {
        server.close();
        rmSync(dir, { recursive: true, force: true });
      });

      it('refuses negative and closed fds with EBADF', () => {
        expect(b.isSocket(-1, 0, 0, -1)).toBe(EBADF);
        expect(b.isFifo(-1, null)).toBe(EBADF);
        const fd = openSync('/dev/null', 'r');
        closeSync(fd);
        expect(b.isSocket(fd, 0, 0, -1)).toBe(EBADF);
        expect(b.isFifo(fd, null)).toBe(EBADF);
        expect(b.isSocketInet(fd, 0, 0, -1, 0)).toBe(EBADF);
        expect(b.isSocketUnix(fd, 0, -1, null)).toBe(EBADF);
      });

      it('recognises a FIFO, by path too (a missing path is "no", not an error)', () => {
        const path = join(dir, 'fifo');
        execFileSync('mkfifo', [path]);
        const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
        try {
          expect(b.isFifo(fd, null)).toBe(1);
          expect(b.isFifo(fd, path)).toBe(1);
          expect(b.isFifo(fd, '/dev/null')).toBe(0);
          expect(b.isFifo(fd, join(dir, 'missing'))).toBe(0);
          expect(b.isFifo(fd, '/dev/null/not-a-dir')).toBe(0);
          expect(b.isSocket(fd, 0, 0, -1)).toBe(0);
        } finally {
          closeSync(fd);
        }
      });

      it('rejects negative family/type and non-inet families with EINVAL', () => {
        expect(b.isSocket(tcpFd, -1, 0, -1)).toBe(EINVAL);
        expect(b.isSocket(tcpFd, 0, -1, -1)).toBe(EINVAL);
        expect(b.isSocketInet(tcpFd, AF_UNIX, 0, -1, 0)).toBe(EINVAL);
      });

      it('answers "is a socket" and "is not" with fstat alone', () => {
        expect(b.isSocket(tcpFd, 0, 0, -1)).toBe(1);
        const fd = openSync('/dev/null', 'r');
        try {
          expect(b.isSocket(fd, 0, 0, -1)).toBe(0);
          expect(b.isFifo(fd, null)).toBe(0);
        } finally {
          closeSync(fd);
        }
      });

      // Registered per backend (not skipped): each backend has exactly one of these two tests.
      if (!opts.fdChecks) it('says ENOTSUP for checks that need getsockopt/getsockname', () => {
        expect(b.isSocket(tcpFd, AF_INET, 0, -1)).toBe(ENOTSUP);
        expect(b.isSocket(tcpFd, 0, SOCK_STREAM, -1)).toBe(ENOTSUP);
        expect(b.isSocket(tcpFd, 0, 0, 1)).toBe(ENOTSUP);
        expect(b.isSocketInet(tcpFd, 0, 0, -1, 0)).toBe(ENOTSUP);
      });

      else it('checks type, family, listening state and port of a TCP listener', () => {
        const port = (server.address() as { port: number }).port;
        expect(b.isSocket(tcpFd, AF_INET, SOCK_STREAM, 1)).toBe(1);
        expect(b.isSocket(tcpFd, AF_INET6, SOCK_STREAM, 1)).toBe(0);
        expect(b.isSocket(tcpFd, 0, SOCK_DGRAM, -1)).toBe(0);
        expect(b.isSocket(tcpFd, 0, 0, 0)).toBe(0);
        expect(b.isSocketInet(tcpFd, AF_INET, SOCK_STREAM, 1, port)).toBe(1);
        expect(b.isSocketInet(tcpFd, 0, 0, -1, port === 65535 ? 1 : port + 1)).toBe(0);
        expect(b.isSocketInet(tcpFd, AF_INET6, 0, -1, 0)).toBe(0);
        expect(b.isSocketUnix(tcpFd, 0, -1, null)).toBe(0);
      });

      if (opts.fdChecks && opts.binding) {
        const n = opts.binding;
        const unixSocket = (type: number, addr?: Buffer): number => {
          const fd = n.unix_socket(type, false);
          expect(fd).toBeGreaterThan(2);
          if (addr) expect(n.unix_bind(fd, addr)).toBe(0);
          return fd;
        };

        it('matches AF_UNIX datagram and seqpacket sockets by type and by exact path', () => {
          const path = Buffer.from(join(dir, 'dgram.sock'));
          const dg = unixSocket(SOCK_DGRAM, path);
          const sp = unixSocket(SOCK_SEQPACKET, Buffer.from(join(dir, 'seq.sock')));
          try {
            expect(b.isSocket(dg, AF_UNIX, SOCK_DGRAM, -1)).toBe(1);
            expect(b.isSocket(dg, 0, SOCK_DGRAM, 1)).toBe(0);
            expect(b.isSocket(dg, 0, SOCK_DGRAM, 0)).toBe(1);
            expect(b.isSocket(sp, AF_UNIX, SOCK_SEQPACKET, 0)).toBe(1);
            expect(b.isSocketUnix(dg, SOCK_DGRAM, -1, path)).toBe(1);
            expect(b.isSocketUnix(dg, 0, -1, Buffer.from(`${path}x`))).toBe(0);
            expect(b.isSocketUnix(dg, 0, -1, path.subarray(0, path.length - 1))).toBe(0);
            expect(b.isSocketUnix(dg, SOCK_STREAM, -1, path)).toBe(0);
            expect(b.isSocketInet(dg, 0, 0, -1, 0)).toBe(0);
          } finally {
            n.close(dg);
            n.close(sp);
          }
        });

        it('matches abstract names with their exact length, and unnamed sockets', () => {
          const name = Buffer.from(`\0libsystemd-test-${process.pid}`);
          const ab = unixSocket(SOCK_DGRAM, name);
          const unnamed = unixSocket(SOCK_DGRAM);
          try {
            expect(b.isSocketUnix(ab, 0, -1, name)).toBe(1);
            expect(b.isSocketUnix(ab, 0, -1, Buffer.concat([name, Buffer.from([0])]))).toBe(0);
            expect(b.isSocketUnix(ab, 0, -1, name.subarray(0, name.length - 1))).toBe(0);
            expect(b.isSocketUnix(ab, 0, -1, Buffer.alloc(0))).toBe(0);
            expect(b.isSocketUnix(unnamed, 0, -1, Buffer.alloc(0))).toBe(1);
            expect(b.isSocketUnix(unnamed, 0, -1, name)).toBe(0);
          } finally {
            n.close(ab);
            n.close(unnamed);
          }
        });
      }
    });
  });
}
