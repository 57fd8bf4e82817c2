/**
 * The notify-queue scenario (test/fixtures/notify-queue.cjs) run in its own network namespace
 * with net.unix.max_dgram_qlen set there, and its checks: shared by the main suite (Node) and the
 * runtime matrix (Bun, Deno).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MODES, ROOT, run, type ChildResult, type Mode } from './child';

export const NOTIFY_QUEUE_FIXTURE = join(ROOT, 'test', 'fixtures', 'notify-queue.cjs');

/** `cmd` (a runtime and its arguments) runs the fixture's `phase` inside `unshare --net` at that queue length. */
export async function inNetns(cmd: readonly string[], qlen: number, mode: Mode, phase: 'order' | 'drops'): Promise<ChildResult> {
  // The receiver's socket lives here; removed whatever happens to the child (even SIGKILL at the timeout).
  const dir = mkdtempSync(join(tmpdir(), 'libsystemd-notify-queue-'));
  try {
    // The new netns starts with the kernel default (10); set it there, then exec the service.
    return await run('unshare', ['--net', 'sh', '-c', `sysctl -qw net.unix.max_dgram_qlen=${qlen} && exec "$@"`, 'sh', ...cmd, NOTIFY_QUEUE_FIXTURE, phase], {
      env: { ...MODES[mode], QLEN: String(qlen), QUEUE_DIR: dir, NOTIFY_SOCKET: undefined },
      timeoutMs: 60_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether `sub` appears in `all` in the same order (every element used once). */
function isSubsequence(sub: readonly string[], all: readonly string[]): boolean {
  let i = 0;
  for (const x of all) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

/** The manager stopped reading, then read again: the loop kept ticking, nothing but what may be coalesced is missing, all in order. */
export function checkOrder(r: ChildResult, qlen: number): void {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const o = r.json;
  // Measured: 40-200 ms on this 2-core machine (Node, Bun, Deno); the floor is generous for a busy one.
  expect(o.maxGap).toBeLessThan(1500);
  expect(o.callMs).toBeLessThan(1500);
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
}

/** The manager never reads: the stall drop (a queued barrier fails), the bound, the exit report. */
export function checkDrops(r: ChildResult, qlen: number): void {
  expect(r.code, r.stderr).toBe(0);
  const o = r.json;
  expect(o.maxGap).toBeLessThan(1500);
  // The kernel takes qlen datagrams, or qlen + 1 on some versions, before a send would block.
  expect([qlen + 1, qlen + 2]).toContain(o.fills);
  expect(o.queued).toBe(20);
  expect(o.barrier).toBe('ETIMEDOUT');
  expect(o.afterStall).toMatchObject({ queued: 0, dropped: 21 });
  expect(o.codes).toEqual(['EAGAIN']);
  expect(o.afterBound).toMatchObject({ queued: 50, dropped: 22 });
  expect(o.warnings).toEqual(['LIBSYSTEMD_NOTIFY_DROPPED', 'LIBSYSTEMD_NOTIFY_DROPPED']);
  expect(r.stderr).toContain('libsystemd: 50 sd_notify message(s) not delivered at exit');
}
