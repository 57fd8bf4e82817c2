/**
 * Threads: the addon loaded in the main thread and several workers at once, logging
 * concurrently into a real journald, and workers terminated while sending. No crash, and no
 * entry lost from a worker that finished normally.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES, MODES, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { join } from 'node:path';

describeWith(JOURNALD_NEEDS, 'main thread and workers logging at once', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  it.each(['libsystemd', 'js/native'] as Mode[])('%s: every entry of the finished workers and the main thread is stored; terminated workers crash nothing', async (mode) => {
    const id = `threads-${mode.replace('/', '-')}-${process.pid}`;
    const n = 2000;
    const r = await j.exec(process.execPath, [join(FIXTURES, 'threads.cjs'), String(n)], { env: { ...MODES[mode], TEST_ID: id }, timeoutMs: 60_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    const { results, exits } = r.json;
    // terminate() ends a worker with code 1 (0 when it had not started running yet): never a crash.
    expect(exits.every((c: number) => c === 0 || c === 1)).toBe(true);
    for (const w of results) expect(w).toMatchObject({ sent: n, lost: 0, stats: { dropped: 0 }, kind: mode === 'libsystemd' ? 'libsystemd' : 'js' });
    const stored = await j.entries(`SYSLOG_IDENTIFIER=${id}`);
    const byWriter = new Map<string, string[]>();
    for (const e of stored) {
      const k = String(e.W);
      if (!byWriter.has(k)) byWriter.set(k, []);
      byWriter.get(k)!.push(String(e.MESSAGE));
    }
    for (const w of ['0', '1', '2', '3']) expect(byWriter.get(w), `worker ${w}`).toEqual(Array.from({ length: n }, (_, i) => `w${w} ${i}`));
    expect(byWriter.get('main')).toEqual(Array.from({ length: n }, (_, i) => `main ${i}`));
  });
});
