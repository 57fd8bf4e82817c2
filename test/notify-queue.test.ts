/**
 * A manager that stops reading its notify socket must not stall the event loop (sd_notify
 * blocks there): the messages wait in an ordered queue, only what the protocol lets go is
 * coalesced (STATUS=, a repeated WATCHDOG=1), and they all arrive once the manager reads again;
 * past the bound or the stall timeout they are dropped, counted and warned about. Run at both
 * queue lengths a kernel has (net.unix.max_dgram_qlen: 10 bare, 512 on a booted host), each in
 * its own network namespace (`unshare --net`: the sysctl is per netns, the host's is untouched).
 * Also: pending barriers hold no thread of the libuv pool.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODES, ROOT, run, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'notify-queue.cjs');
const RUN = join(ROOT, 'test', 'fixtures', 'run.cjs');
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];

function inNetns(qlen: number, mode: Mode, phase: string) {
  // The new netns starts with the kernel default (10); set it there, then exec the service.
  return run('unshare', ['--net', 'sh', '-c', `sysctl -qw net.unix.max_dgram_qlen=${qlen} && exec "$0" "$@"`, process.execPath, FIXTURE, phase], {
    env: { ...MODES[mode], QLEN: String(qlen), NOTIFY_SOCKET: undefined },
    timeoutMs: 60_000,
  });
}

/** Whether `sub` appears in `all` in the same order (every element used once). */
function isSubsequence(sub: readonly string[], all: readonly string[]): boolean {
  let i = 0;
  for (const x of all) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

describeWith({ linux: true, root: true, bins: ['unshare', 'sysctl'] }, 'the notify queue', () => {
  describe.each([10, 512])('net.unix.max_dgram_qlen %i', (qlen) => {
    it.each(BACKENDS)('%s: the loop keeps ticking while the manager does not read; every message arrives in order once it does', async (mode) => {
      const r = await inNetns(qlen, mode, 'order');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const o = r.json;
      // Measured: a few ms on an idle machine; the floor is generous for a busy 2-core one.
      expect(o.maxGap).toBeLessThan(1000);
      expect(o.callMs).toBeLessThan(1000);
      expect(o.receivedWhileStopped).toBe(0);
      expect(o.queuedWhileStopped).toBeGreaterThan(0);
      const got: string[] = o.received.map((m: { text: string }) => m.text);
      const keep = (t: string) => !t.startsWith('STATUS=') && t !== 'WATCHDOG=1';
      // Nothing but STATUS= and repeated pings may be coalesced; all the rest arrives once, in order.
      expect(got.filter(keep)).toEqual(o.sent.filter(keep));
      expect(isSubsequence(got, o.sent)).toBe(true);
      expect(got.filter((t) => t.startsWith('STATUS=')).pop()).toBe(`STATUS=step ${qlen + 99}`);
      expect(got).toContain('WATCHDOG=1');
      // The fd store got the pipe the caller closed right after the call.
      expect(o.received.find((m: { text: string }) => m.text.startsWith('FDSTORE=1')).ino).toEqual([o.pipeIno]);
      expect(o.stats).toMatchObject({ queued: 0, dropped: 0, sent: got.length });
      expect(o.stats.coalesced).toBe(o.sent.length - got.length);
      expect(o.stats.coalesced).toBeGreaterThan(0);
      expect(o.warnings).toEqual([]);
    });

    it.each(BACKENDS)('%s: a queue without progress is dropped after maxStallMs (a queued barrier fails), the bound refuses with EAGAIN; counted, warned, and the rest reported at exit', async (mode) => {
      const r = await inNetns(qlen, mode, 'drops');
      expect(r.code, r.stderr).toBe(0);
      const o = r.json;
      expect(o.maxGap).toBeLessThan(1000);
      expect([qlen + 1, qlen + 2]).toContain(o.fills);
      expect(o.queued).toBe(20);
      expect(o.barrier).toBe('ETIMEDOUT');
      expect(o.afterStall).toMatchObject({ queued: 0, dropped: 21 });
      expect(o.codes).toEqual(['EAGAIN']);
      expect(o.afterBound).toMatchObject({ queued: 50, dropped: 22 });
      expect(o.warnings).toEqual(['LIBSYSTEMD_NOTIFY_DROPPED', 'LIBSYSTEMD_NOTIFY_DROPPED']);
      expect(r.stderr).toContain('libsystemd: 50 sd_notify message(s) not delivered at exit');
    });
  });

  it.each(BACKENDS)('%s: six barriers waiting on a manager that never answers hold no pool thread: fs.readFile completes at once', async (mode) => {
    // The receiver keeps every barrier's pipe open: none of them completes before its timeout.
    const rx = NotifyReceiver.open('path', true);
    try {
      const r = await run(process.execPath, [RUN, `const fs = require('fs');
        const barriers = Array.from({ length: 6 }, () => l.barrier(4000).then(() => 'resolved', (e) => e.code));
        await new Promise((r) => setTimeout(r, 200));
        const t0 = performance.now(); await fs.promises.readFile(${JSON.stringify(FIXTURE)}); const readMs = performance.now() - t0;
        out({ readMs, barriers: await Promise.all(barriers) });`], { env: { ...MODES[mode], NOTIFY_SOCKET: rx.address, UV_THREADPOOL_SIZE: undefined }, timeoutMs: 30_000 });
      expect(r.stderr).toBe('');
      // Measured: about 1 ms; the pool of 4 threads held by barriers made it wait their 4 s timeout.
      expect(r.json.readMs).toBeLessThan(1500);
      expect(r.json.barriers).toEqual(Array(6).fill('ETIMEDOUT'));
    } finally {
      rx.close();
    }
  });
});
