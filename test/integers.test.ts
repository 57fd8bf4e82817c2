/**
 * Integers that cross into C, at their boundaries, on both native backends, against a real
 * datagram receiver: every public call that hands a number to the addon (fds, pids, errno, ports,
 * socket families and types, usec) refuses 2^31, 2^32, 2^32 + 1, -1, 1.5, NaN, 2^53, ±Infinity
 * with Node's ERR_OUT_OF_RANGE (a bigint where a number is expected: ERR_INVALID_ARG_TYPE), and
 * nothing reaches the receiver. Then the addon itself, called directly: it throws the same
 * RangeError instead of truncating (Int32Value() took 2^32 as fd 0 and 2^32 + 1 as PID 1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { MODES, ROOT, run, runFixture, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';

const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];

/** The hostile values, as JavaScript source (the child evaluates them). */
const VALUES = ['2 ** 31', '2 ** 32', '2 ** 32 + 1', '-1', '1.5', 'NaN', '2 ** 53', 'Infinity', '-Infinity', '2n ** 32n'] as const;
const OOR = 'ERR_OUT_OF_RANGE';
const TYPE = 'ERR_INVALID_ARG_TYPE';

/** Each crossing: the call, and the codes that differ from "ERR_OUT_OF_RANGE, bigint: ERR_INVALID_ARG_TYPE". */
const CROSSINGS: Record<string, { call: string; except?: Partial<Record<(typeof VALUES)[number], string>> }> = {
  fdStore: { call: 'l.fdStore([v])' },
  fdStoreNamed: { call: "l.fdStore([1, v], { name: 'x' })" },
  notifyFds: { call: "l.notify('READY=1', { fds: [v] })" },
  notifyPid: { call: "l.notify('READY=1', { pid: v })" },
  mainPid: { call: 'l.mainPid(v)' },
  errno: { call: 'l.errno(v)' },
  // fd -1 is a C int: libsystemd answers EBADF, and so does the js backend.
  isSocket: { call: 'l.isSocket(v)', except: { '-1': 'EBADF' } },
  isFifo: { call: 'l.isFifo(v)', except: { '-1': 'EBADF' } },
  isSocketInet: { call: 'l.isSocketInet(v)', except: { '-1': 'EBADF' } },
  isSocketUnix: { call: 'l.isSocketUnix(v)', except: { '-1': 'EBADF' } },
  port: { call: 'l.isSocketInet(0, { port: v })' },
  family: { call: 'l.isSocket(0, { family: v })', except: { '-1': 'EINVAL' } },
  type: { call: 'l.isSocket(0, { type: v })', except: { '-1': 'EINVAL' } },
  unitOf: { call: 'l.unitOf(v)' },
  listenArgsPort: { call: "l.listenArgs('http', v)" },
  // A priority is 0-7 or a level name: a bigint is neither (ERR_INVALID_ARG_VALUE, as for 'loud').
  printPriority: { call: "l.journal.print(v, 'x')", except: { '2n ** 32n': 'ERR_INVALID_ARG_VALUE' } },
  streamPriority: { call: 'l.journal.stream({ priority: v })', except: { '2n ** 32n': 'ERR_INVALID_ARG_VALUE' } },
  queryLines: { call: 'l.journal.query({ lines: v })' },
  queryThreshold: { call: 'l.journal.query({ dataThreshold: v })', except: { '2 ** 31': 'accepted', '2 ** 32': 'accepted', '2 ** 32 + 1': 'accepted' } },
};

function expected(except: Partial<Record<string, string>> = {}): string[] {
  return VALUES.map((v) => except[v] ?? (v.endsWith('n') ? TYPE : OOR));
}

describeWith({ linux: true }, 'integers crossing into C', () => {
  let rx: NotifyReceiver | undefined;
  afterEach(() => {
    rx?.close();
    rx = undefined;
  });

  describe.each(BACKENDS)('%s', (mode) => {
    it('every crossing refuses 2^31, 2^32, 2^32+1, -1, 1.5, NaN, 2^53 and ±Infinity with ERR_OUT_OF_RANGE; nothing is sent', async () => {
      rx = NotifyReceiver.open();
      const r = await runFixture(
        'run.cjs',
        [
          `const V = [${VALUES.join(', ')}];
          const calls = { ${Object.entries(CROSSINGS)
            .map(([k, c]) => `${k}: (v) => ${c.call}`)
            .join(', ')} };
          const codes = {};
          for (const [k, f] of Object.entries(calls)) codes[k] = V.map((v) => { const a = attempt(() => f(v)); return a.error ?? 'accepted'; });
          const fd = attempt(() => l.fdStore([2 ** 32]));
          const pid = attempt(() => l.notify('READY=1', { pid: 2 ** 32 + 1 }));
          const frac = attempt(() => l.mainPid(1.5));
          // The control: the receiver does get what is valid.
          const ready = l.ready();
          out({ codes, fd, pid, frac, ready });`,
        ],
        { env: { ...MODES[mode], NOTIFY_SOCKET: rx.address } },
      );
      expect(r.stderr).toBe('');
      for (const [k, c] of Object.entries(CROSSINGS)) expect([k, r.json.codes[k]]).toEqual([k, expected(c.except)]);
      // Node's message shape (as fs.read(2 ** 32) says it), digits grouped past 2^32 as Node does.
      expect(r.json.fd).toEqual({ error: OOR, name: 'RangeError', message: 'The value of "fds[0]" is out of range. It must be >= 0 && <= 2147483647. Received 4294967296' });
      expect(r.json.pid.message).toBe('The value of "options.pid" is out of range. It must be >= 0 && <= 2147483647. Received 4_294_967_297');
      expect(r.json.frac.message).toBe('The value of "pid" is out of range. It must be an integer. Received 1.5');
      expect(r.json.ready).toBe(true);
      // Nothing but the control arrived: no fd 0 sent, nothing "from PID 1".
      const got = await rx.wait(2, 1000);
      expect(got.map((m) => m.text)).toEqual(['READY=1']);
      expect(got[0]!.fds).toEqual([]);
      expect(got[0]!.pid).not.toBe(1);
    });

    it('durations in usec (extendTimeout, setWatchdogTimeout, barrier) refuse negative, NaN, non-numbers and what overflows a uint64 of usec; large valid ones go out exactly', async () => {
      rx = NotifyReceiver.open();
      const r = await runFixture(
        'run.cjs',
        [
          `const bad = [-1, NaN, -Infinity, Infinity, '5', null, -1n, 18446744073709552n, 2n ** 64n, 2 ** 53];
          const codes = {
            extendTimeout: bad.map((v) => attempt(() => l.extendTimeout(v)).error),
            setWatchdogTimeout: bad.map((v) => attempt(() => l.setWatchdogTimeout(v)).error),
            barrier: (await Promise.all([-1, NaN, -Infinity, '5', 2 ** 53].map((v) => settle(l.barrier(v))))).map((x) => x.error),
          };
          const sent = [l.extendTimeout(2 ** 31), l.extendTimeout(2 ** 53 - 1), l.extendTimeout(18446744073709551n), l.setWatchdogTimeout(2 ** 32 + 0.5)];
          out({ codes, sent });`,
        ],
        { env: { ...MODES[mode], NOTIFY_SOCKET: rx.address } },
      );
      expect(r.stderr).toBe('');
      const numbers = [OOR, OOR, OOR, OOR, TYPE, TYPE, OOR, OOR, OOR, OOR];
      expect(r.json.codes).toEqual({ extendTimeout: numbers, setWatchdogTimeout: numbers, barrier: [OOR, OOR, OOR, TYPE, OOR] });
      expect(r.json.sent).toEqual([true, true, true, true]);
      expect((await rx.wait(4)).map((m) => m.text)).toEqual([
        'EXTEND_TIMEOUT_USEC=2147483648000',
        'EXTEND_TIMEOUT_USEC=9007199254740991000',
        // 2^64 - 2 rounded down to whole ms: the largest finite usec (2^64 - 1 is USEC_INFINITY).
        'EXTEND_TIMEOUT_USEC=18446744073709551000',
        'WATCHDOG_USEC=4294967296500',
      ]);
    });
  });

  it('the addon itself refuses out-of-range numbers (RangeError ERR_OUT_OF_RANGE) instead of truncating them; nothing is sent', async () => {
    rx = NotifyReceiver.open();
    const r = await runFixture(
      'run.cjs',
      [
        `const n = require(l.backend.addonPath);
        const state = Buffer.from('READY=1');
        const addr = Buffer.from(process.env.NOTIFY_SOCKET);
        const s = n.unix_socket(2, false);
        const raw = (f) => { try { return { ok: f() }; } catch (e) { return { name: e.name, error: e.code, message: e.message }; } };
        const results = {
          notifyFd: raw(() => n.notify(0, false, state, [2 ** 32])),
          notifyPid: raw(() => n.notify(2 ** 32 + 1, false, state, null)),
          notifyPidFraction: raw(() => n.notify(0.5, false, state, null)),
          sendmsgFd: raw(() => n.unix_sendmsg(s, addr, state, [2 ** 32])),
          sendmsgSocket: raw(() => n.unix_sendmsg(s + 2 ** 32, addr, state, null)),
          sendmsgCredsPid: raw(() => n.unix_sendmsg(s, addr, state, null, [2 ** 32 + 1, 0, 0])),
          sendmsgCredsUid: raw(() => n.unix_sendmsg(s, addr, state, null, [process.pid, 2 ** 32, 0])),
          sendmsgNaN: raw(() => n.unix_sendmsg(NaN, addr, state, null)),
          isSocketInetPort: raw(() => n.is_socket_inet(0, 0, 0, -1, 65536 + 80)),
          inetListenPort: raw(() => n.inet_listen(4, '127.0.0.1', 65536, 1, 16)),
          closeBig: raw(() => n.close(2 ** 32 + 1)),
          pidUnit: raw(() => n.pid_unit(2 ** 32 + 1, 0)),
          barrier: await Promise.resolve().then(() => n.notify_barrier(false, -1n)).then((ok) => ({ ok }), (e) => ({ name: e.name, error: e.code })),
        };
        const control = n.unix_sendmsg(s, addr, Buffer.from('X_CONTROL=1'), null);
        // A size the primitive allocates: refused past 64 MiB (-EINVAL) instead of allocating 2 GiB.
        const recvHuge = n.unix_recvmsg(s, 2 ** 31 - 1);
        out({ results, control, recvHuge });`,
      ],
      { env: { ...MODES.libsystemd, NOTIFY_SOCKET: rx.address } },
    );
    expect(r.stderr).toBe('');
    for (const [k, v] of Object.entries(r.json.results as Record<string, { name: string; error: string }>)) expect([k, v.name, v.error]).toEqual([k, 'RangeError', OOR]);
    expect(r.json.results.notifyFd.message).toBe('The value of "fds[0]" is out of range. It must be >= 0 && <= 2147483647. Received 4294967296');
    expect(r.json.control).toBe(11);
    expect(r.json.recvHuge).toBe(-22);
    expect((await rx.wait(2, 1000)).map((m) => m.text)).toEqual(['X_CONTROL=1']);
  });

  it.each([
    [['logs', '-n', '99999999999'], '--lines 99999999999: a number of entries from 0 to 2147483647'],
    [['run', '--watchdog', '99999999999999999999min', '--', 'true'], '--watchdog 99999999999999999999min: at most 9007199254740991ms'],
    [['run', '--notify', '--ready-timeout', `${'9'.repeat(30)}s`, '--', 'true'], `--ready-timeout ${'9'.repeat(30)}s: at most 9007199254740991ms`],
  ])('the CLI: %j is a usage error (one line, exit 2), not an ERR_OUT_OF_RANGE trace or a timer that fires at once', async (args, line) => {
    const r = await run(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(line);
  });
});
