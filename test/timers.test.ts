/**
 * Durations of any length. Node's setTimeout/setInterval take at most 2^31 - 1 ms and turn
 * anything longer into 1 ms (TimeoutOverflowWarning). The helper (lib/timers.ts) chains steps of
 * at most that, checked here with fake time and by the delays it schedules; then every API that
 * makes a timer from a user's or the environment's duration, in a real process on both native
 * backends: a 60-day WatchdogSec= pings at half of it (30 days), not 840 times a second;
 * exitWhenIdle and onShutdown with 30 days; barrier(2^31) on the js backend; journal.flush(2^31)
 * against a paused journald; `libsystemd run --watchdog` of 28 days.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkDuration, DURATION_MAX_MS, longInterval, longTimeout, TIMEOUT_MAX } from '../lib/timers';
import { load } from './helpers/addon';
import { FIXTURES, lineFrom, MODES, ROOT, run, type ChildOptions, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { NotifyReceiver } from './helpers/notify';
import { SOCK_STREAM } from '../lib/protocol/linux';

const DAY = 24 * 3600 * 1000;
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];
const RUN = join(FIXTURES, 'run.cjs');

describe('the timer helper (fake time)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  /** Every delay handed to setTimeout while `fn` runs and the fake clock advances. */
  function delaysOf(fn: () => void, advanceMs: number): number[] {
    const delays: number[] = [];
    const real = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((cb: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return real(cb, ms);
    }) as typeof setTimeout);
    fn();
    vi.advanceTimersByTime(advanceMs);
    return delays;
  }

  it.each([2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 30 * DAY, 60 * DAY, 400 * DAY])('longTimeout(%d) fires exactly then, never before, through steps of at most 2^31 - 1 ms', (ms) => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let fired = 0;
    const delays = delaysOf(() => longTimeout(ms, () => fired++), ms - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10 * ms);
    expect(fired).toBe(1);
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(TIMEOUT_MAX);
    expect(delays.reduce((a, b) => a + b, 0)).toBe(ms);
    expect(delays.length).toBe(Math.ceil(ms / TIMEOUT_MAX));
  });

  it('longInterval(30 days) ticks every 30 days; cancel() stops it; unref()/ref() pass through', () => {
    vi.useFakeTimers();
    let ticks = 0;
    const t = longInterval(30 * DAY, () => ticks++).unref();
    expect(t.hasRef()).toBe(false);
    vi.advanceTimersByTime(30 * DAY - 1);
    expect(ticks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(ticks).toBe(1);
    vi.advanceTimersByTime(60 * DAY);
    expect(ticks).toBe(3);
    t.ref();
    expect(t.hasRef()).toBe(true);
    t.cancel();
    expect(t.pending).toBe(false);
    vi.advanceTimersByTime(90 * DAY);
    expect(ticks).toBe(3);
  });

  it('a cancelled long timeout never fires, in any step of its chain', () => {
    vi.useFakeTimers();
    let fired = 0;
    const t = longTimeout(3 * TIMEOUT_MAX, () => fired++);
    vi.advanceTimersByTime(TIMEOUT_MAX + 5);
    t.cancel();
    vi.advanceTimersByTime(10 * TIMEOUT_MAX);
    expect(fired).toBe(0);
    expect(t.pending).toBe(false);
  });

  it('checkDuration: negative, NaN, 0 (unless allowed), Infinity (unless "no limit") and past 2^53 - 1 are ERR_OUT_OF_RANGE; non-numbers ERR_INVALID_ARG_TYPE', () => {
    const code = (v: unknown, rules = {}) => {
      try {
        return checkDuration('ms', v, rules);
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect([-1, NaN, -Infinity, Infinity, 0, DURATION_MAX_MS + 2, -0.5].map((v) => code(v))).toEqual(Array(7).fill('ERR_OUT_OF_RANGE'));
    expect(['5', 5n, null, undefined, {}].map((v) => code(v))).toEqual(Array(5).fill('ERR_INVALID_ARG_TYPE'));
    expect([0.5, 2 ** 31, 2 ** 32 + 1, DURATION_MAX_MS].map((v) => code(v))).toEqual([0.5, 2 ** 31, 2 ** 32 + 1, DURATION_MAX_MS]);
    expect(code(0, { zero: true })).toBe(0);
    expect(code(Infinity, { infinite: true })).toBe(Infinity);
    expect(code(-1, { zero: true, infinite: true })).toBe('ERR_OUT_OF_RANGE');
    expect(() => checkDuration('options.idleMs', -1)).toThrow('The value of "options.idleMs" is out of range. It must be > 0 && <= 9007199254740991. Received -1');
  });
});

describeWith({ linux: true }, 'durations of 2^31 ms or more, in real processes', () => {
  const inChild = (mode: Mode, code: string, env: Record<string, string | undefined> = {}, opts: ChildOptions = {}) =>
    run(process.execPath, [RUN, code], { env: { ...MODES[mode], ...env }, timeoutMs: 30_000, ...opts });

  describe.each(BACKENDS)('%s', (mode) => {
    it('WatchdogSec=60d: startWatchdog() pings once, then every 30 days (no ping in the next 3 s, no TimeoutOverflowWarning; the first step scheduled is 2^31 - 1 ms)', async () => {
      const rx = NotifyReceiver.open();
      try {
        const r = await inChild(
          mode,
          `const delays = []; const real = globalThis.setTimeout;
          globalThis.setTimeout = (f, ms, ...a) => { delays.push(ms); return real(f, ms, ...a); };
          const h = l.startWatchdog();
          globalThis.setTimeout = real;
          await new Promise((r) => setTimeout(r, 3000));
          out({ intervalMs: h.intervalMs, delays });`,
          { NOTIFY_SOCKET: rx.address, WATCHDOG_USEC: String(60 * DAY * 1000), WATCHDOG_PID: undefined },
        );
        expect(r.stderr).toBe('');
        expect(r.json).toEqual({ intervalMs: 30 * DAY, delays: [TIMEOUT_MAX] });
        const got = await rx.wait(2, 500);
        expect(got.map((m) => m.text)).toEqual(['WATCHDOG=1']);
      } finally {
        rx.close();
      }
    });

    it('exitWhenIdle({ idleMs: 30 days }) keeps a socket-activated service running (it exited after 3 ms)', async () => {
      const n = load.binding!;
      const fd = n.inet_listen(4, '127.0.0.1', 0, SOCK_STREAM, 16);
      expect(fd).toBeGreaterThan(0);
      const rx = NotifyReceiver.open();
      try {
        const r = await run(
          process.execPath,
          [
            RUN,
            `const s = require('net').createServer().listen(l.listenArgs());
            await new Promise((r) => s.once('listening', r));
            const h = l.exitWhenIdle(s, { idleMs: 30 * 24 * 3600 * 1000 });
            await new Promise((r) => setTimeout(r, 1500));
            out({ active: h.active, alive: true }); h.close(); s.close();`,
          ],
          { env: { ...MODES[mode], LISTEN_FDS: '1', NOTIFY_SOCKET: rx.address }, fds: [fd], listenPidSelf: true, timeoutMs: 30_000 },
        );
        expect(r.stderr).toBe('');
        expect(r.json).toEqual({ active: true, alive: true });
        expect(await rx.wait(1, 300)).toEqual([]);
      } finally {
        n.close(fd);
        rx.close();
      }
    });

    it('onShutdown({ timeoutMs: 30 days }) waits for the handler and exits 0 (it exited 1 at once)', async () => {
      const rx = NotifyReceiver.open();
      try {
        const r = await inChild(
          mode,
          `l.onShutdown(async (s) => { await new Promise((r) => setTimeout(r, 500)); process.stdout.write('handled ' + s + '\\n'); }, { timeoutMs: 30 * 24 * 3600 * 1000 });
          setInterval(() => {}, 1000); setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);`,
          { NOTIFY_SOCKET: rx.address },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('handled SIGTERM\n');
        expect((await rx.wait(2)).map((m) => m.text)).toEqual(['STOPPING=1', `EXTEND_TIMEOUT_USEC=${(30 * DAY + 3000) * 1000}`]);
      } finally {
        rx.close();
      }
    });

    it('barrier(2 ** 31) waits for the manager (it timed out in milliseconds on the js backend), and resolves once the manager closes the fd', async () => {
      const rx = NotifyReceiver.open('path', true);
      try {
        const r = await inChild(
          mode,
          `const p = l.barrier(2 ** 31);
          const early = await Promise.race([p.then(() => 'resolved', (e) => e.code), new Promise((r) => setTimeout(() => r('pending'), 1500))]);
          process.stdout.write('early ' + early + '\\n');
          out({ early, result: await settle(p) });`,
          { NOTIFY_SOCKET: rx.address },
          {
            interact: (c) =>
              void lineFrom(c, 'early pending').then(
                () => {
                  for (const m of rx.take()) for (const f of m.fds) load.binding!.close(f);
                },
                () => {},
              ),
          },
        );
        expect(r.stderr).toBe('');
        expect(r.json).toEqual({ early: 'pending', result: { ok: true } });
      } finally {
        rx.close();
      }
    });
  });

  it('compat sd-notify startWatchdogMode(30 days) does not ping every millisecond', async () => {
    const rx = NotifyReceiver.open();
    try {
      const r = await inChild(
        'libsystemd',
        `const sd = require('libsystemd/compat/sd-notify'); sd.startWatchdogMode(30 * 24 * 3600 * 1000);
        await new Promise((r) => setTimeout(r, 1000)); sd.stopWatchdogMode(); out({ done: true });`,
        { NOTIFY_SOCKET: rx.address },
      );
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ done: true });
      expect(await rx.wait(1, 300)).toEqual([]);
    } finally {
      rx.close();
    }
  });

  it('libsystemd run --watchdog 40000min (27.8 days): one ping keeps the service alive (the watchdog fired after 1 ms); a child\'s EXTEND_TIMEOUT_USEC=abc is ignored, not a crash', async () => {
    const service = `const l = require(${JSON.stringify(ROOT)}); l.notify('EXTEND_TIMEOUT_USEC=abc'); l.ready(); l.watchdog(); setTimeout(() => process.exit(0), 1500);`;
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', '--json', '--notify', '--ready-timeout', '10s', '--watchdog', '40000min', '--', process.execPath, '-e', service], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 20_000);
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    clearTimeout(timer);
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string });
    expect(stderr).not.toContain('TimeoutOverflowWarning');
    expect(events.filter((e) => e.event === 'watchdog').length).toBe(1);
    expect(events.filter((e) => e.event.endsWith('timeout'))).toEqual([]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
  });
});

describeWith(JOURNALD_NEEDS, 'journal.flush(2 ** 31) against a paused journald', () => {
  it.each(BACKENDS)('%s: still waiting after 1.5 s (it rejected ETIMEDOUT at once), resolves once journald resumes', async (mode) => {
    const j = await Journald.start();
    try {
      const id = `flush-long-${mode.replace('/', '-')}-${process.pid}`;
      j.pause();
      let r;
      try {
        r = await j.exec(
          process.execPath,
          [
            RUN,
            `for (let i = 0; i < 100; i++) l.journal.send({ MESSAGE: 'entry ' + i, SYSLOG_IDENTIFIER: '${id}' });
            const p = l.journal.flush(2 ** 31);
            const early = await Promise.race([p.then(() => 'resolved', (e) => e.code), new Promise((r) => setTimeout(() => r('pending'), 1500))]);
            process.stdout.write('early ' + early + '\\n');
            const done = await settle(p);
            out({ early, queued: done.ok && done.ok.queued, dropped: done.ok && done.ok.dropped });`,
          ],
          { env: { ...MODES[mode] }, cwd: FIXTURES, timeoutMs: 60_000, interact: (c) => void lineFrom(c, 'early pending').then(() => j.resume(), () => {}) },
        );
      } finally {
        j.resume();
      }
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ early: 'pending', queued: 0, dropped: 0 });
      expect((await j.messages(`SYSLOG_IDENTIFIER=${id}`)).length).toBe(100);
    } finally {
      j.stop();
    }
  });
});

describeWith(JOURNALD_NEEDS, 'JournalReader.wait(2 ** 31) on a live journal', () => {
  it.each(BACKENDS)('%s: no "nop" after 1.5 s (the journalctl reader said nop after 1 ms; the native poll() took 2^31 ms as INT_MIN), then "append" for a new entry', async (mode) => {
    const j = await Journald.start();
    try {
      const r = await j.exec(
        process.execPath,
        [
          RUN,
          `l.journal.send({ MESSAGE: 'first' }); await l.journal.flush(5000);
          const r = new l.JournalReader();
          while (await r.next()) {}
          // The first waits after opening report the files as they were found: drained first.
          for (let i = 0; i < 20 && (await r.wait(200)) !== 'nop'; i++) while (await r.next()) {}
          const t0 = Date.now();
          const p = r.wait(2 ** 31);
          const early = await Promise.race([p.then((w) => w, (e) => e.code), new Promise((res) => setTimeout(() => res('pending'), 1500))]);
          l.journal.send({ MESSAGE: 'wake up' }); await l.journal.flush(5000);
          const woke = await Promise.race([p, new Promise((res) => setTimeout(() => res('still waiting'), 20000))]);
          const ms = Date.now() - t0;
          await r.close();
          out({ via: r.via, early, woke, ms });`,
        ],
        { env: { ...MODES[mode] }, cwd: FIXTURES, timeoutMs: 60_000 },
      );
      expect(r.stderr).toBe('');
      // 'nop' is the timeout firing; journald's own writes may still wake the wait before 1.5 s.
      expect(['pending', 'append', 'invalidate']).toContain(r.json.early);
      expect(r.json.woke).toMatch(/^(append|invalidate)$/);
    } finally {
      j.stop();
    }
  });
});
