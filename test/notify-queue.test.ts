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
import { checkDrops, checkOrder, inNetns } from './helpers/notify-queue';
import { describeWith } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'notify-queue.cjs');
const RUN = join(ROOT, 'test', 'fixtures', 'run.cjs');
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];

describeWith({ linux: true, root: true, bins: ['unshare', 'sysctl'] }, 'the notify queue', () => {
  describe.each([10, 512])('net.unix.max_dgram_qlen %i', (qlen) => {
    it.each(BACKENDS)('%s: the loop keeps ticking while the manager does not read; every message arrives in order once it does', async (mode) => {
      checkOrder(await inNetns([process.execPath], qlen, mode, 'order'), qlen);
    });

    it.each(BACKENDS)('%s: a queue without progress is dropped after maxStallMs (a queued barrier fails), the bound refuses with EAGAIN; counted, warned, and the rest reported at exit', async (mode) => {
      checkDrops(await inNetns([process.execPath], qlen, mode, 'drops'), qlen);
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
