/**
 * A journal reader in a worker_thread that is terminated mid-read and mid-follow: the whole
 * process must live on (no C++ exception may escape into a terminating environment: that is
 * `terminate called after throwing an instance of 'Napi::Error'` and SIGABRT). 100 workers per
 * run, in parallel batches, against a real isolated journald holding entries to read.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES, MODES } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

describeWith(JOURNALD_NEEDS, 'journal readers in terminated workers', () => {
  let j: Journald;
  const id = `reader-terminate-${process.pid}`;
  beforeAll(async () => {
    j = await Journald.start();
    const r = await j.exec(process.execPath, [join(FIXTURES, 'run.cjs'), `for (let i = 0; i < 20000; i++) l.journal.send({ MESSAGE: 'entry ' + i, TEST_ID: '${id}', PAD: 'p'.repeat(200) }); await l.journal.flush(10000); out(true)`], { env: { ...MODES.libsystemd }, timeoutMs: 120_000 });
    expect(r.json).toBe(true);
  }, 180_000);
  afterAll(() => j?.stop());

  it('100 readers (query and follow) in workers terminated at random points: 0 crashes', async () => {
    // Two processes of 50 workers each, 10 at a time: a crash of either fails the run.
    const runs = await Promise.all([0, 1].map(() => j.exec(process.execPath, [join(FIXTURES, 'reader-terminate.cjs'), '50', '10'], { env: { ...MODES.libsystemd, TEST_ID: id }, timeoutMs: 170_000 })));
    for (const r of runs) {
      // Most were stopped with their reader at work, not before it opened.
      expect(r.stderr).not.toMatch(/terminate called|Napi::Error|FATAL/);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.json.runs).toBe(50);
      // terminate() resolves 1 for a worker that was running.
      expect(r.json.exits.every((c: number) => c === 1 || c === 0)).toBe(true);
      expect(r.json.reading).toBeGreaterThan(10);
      console.log(`terminated workers: ${r.json.runs}, ${r.json.reading} of them with entries read`);
    }
  }, 180_000);
});
