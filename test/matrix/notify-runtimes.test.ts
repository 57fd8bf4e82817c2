/**
 * The notify queue and the barrier on Bun and Deno (Node runs them in test/notify-queue.test.ts):
 * a manager that stops reading does not stall the loop, every message arrives in order once it
 * reads again, drops are counted and warned, at both queue lengths (each in its own netns); a
 * barrier resolves when the manager closes its fd and times out when it does not. Their Node-API
 * has no working libuv poll handle, so the queue's timer and the barrier's timer-read are the
 * paths checked here. And onMemoryPressure, which needs a poll handle for a PSI file.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODES, ROOT, run, type Mode } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { NotifyReceiver } from '../helpers/notify';
import { checkDrops, checkOrder, inNetns } from '../helpers/notify-queue';
import { runtimes } from './support';

const RUN = join(ROOT, 'test', 'fixtures', 'run.cjs');
const RUNTIMES: Record<string, () => string[]> = {
  bun: () => [runtimes.ensure('bun')],
  deno: () => [runtimes.ensure('deno'), 'run', '-A'],
};
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];
const cases = Object.keys(RUNTIMES).flatMap((rt) => BACKENDS.map((mode) => [rt, mode] as const));

describeWith({ linux: true, root: true, bins: ['unshare', 'sysctl'] }, 'the notify queue and the barrier on Bun and Deno', () => {
  describe.each([10, 512])('net.unix.max_dgram_qlen %i', (qlen) => {
    it.each(cases)('%s, %s backend: the loop keeps ticking; every message arrives in order once the manager reads', async (rt, mode) => {
      checkOrder(await inNetns(RUNTIMES[rt]!(), qlen, mode, 'order'), qlen);
    });
    it.each(cases)('%s, %s backend: stall drop, bound, exit report: counted and warned', async (rt, mode) => {
      checkDrops(await inNetns(RUNTIMES[rt]!(), qlen, mode, 'drops'), qlen);
    });
  });

  it.each(cases)('%s, %s backend: barrier() resolves when the manager closes the fd, times out when it keeps it', async (rt, mode) => {
    for (const answer of [true, false]) {
      const rx = NotifyReceiver.open('path', !answer);
      try {
        const cmd = RUNTIMES[rt]!();
        const r = await run(cmd[0]!, [...cmd.slice(1), RUN, `out(await settle(l.barrier(1500)))`], { env: { ...MODES[mode], NOTIFY_SOCKET: rx.address }, cwd: ROOT, timeoutMs: 30_000 });
        expect(r.stderr).toBe('');
        expect(r.json).toEqual(answer ? { ok: true } : expect.objectContaining({ error: 'ETIMEDOUT' }));
      } finally {
        rx.close();
      }
    }
  });

  it.each(Object.keys(RUNTIMES))('%s: onMemoryPressure on a PSI file is inactive with the reason (no libuv poll handle there), never a crash; nothing written', async (rt) => {
    const cmd = RUNTIMES[rt]!();
    const r = await run(cmd[0]!, [...cmd.slice(1), RUN, `const h = l.onMemoryPressure(() => {}); h.close(); out({ active: h.active, reason: h.reason })`], { env: { MEMORY_PRESSURE_WATCH: '/proc/pressure/cpu' }, cwd: ROOT, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.active).toBe(false);
    expect(r.json.reason).toContain('cannot watch a file for POLLPRI');
  });
});
