/**
 * The journal reader against a real, isolated journald: entries written by the tests with
 * journal.send and read back with journal.query / journal.follow / JournalReader, on both ways
 * of reading (libsystemd's reader on its own thread: the `libsystemd` backend; `journalctl -o
 * export`: the `js/native` backend), and the two compared entry by entry, byte by byte.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

const RUN = join(FIXTURES, 'run.cjs');
/** How each mode reads: libsystemd's reader, or journalctl. */
const READERS: readonly Mode[] = ['libsystemd', 'js/native'];

/** Prints entries with Buffers as { hex } so two processes' outputs compare exactly. */
const DUMP = `const dump = (e) => ({ cursor: e.cursor, realtime: e.realtimeUsecNumber, monotonic: e.monotonicUsecNumber, bootId: e.bootId,
  fields: Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? { hex: x.toString('hex') } : x))])) });
const all = async (it) => { const out = []; for await (const e of it) out.push(dump(e)); return out; };`;

describeWith(JOURNALD_NEEDS, 'journal reader with a real journald', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  const inJournal = (mode: Mode, code: string, env: Record<string, string | undefined> = {}) => j.exec(process.execPath, [RUN, `${DUMP}\n${code}`], { env: { ...MODES[mode], ...env }, timeoutMs: 120_000 });
  const tag = (what: string) => `${what}-${process.pid}-${Date.now()}`;

  /** Writes entries (the fields' code, evaluated in the child) and waits until they are stored. */
  async function write(code: string): Promise<void> {
    const r = await inJournal('libsystemd', `${code}; await l.journal.flush(5000); out(true)`);
    expect(r.stderr).toBe('');
    expect(r.json).toBe(true);
  }

  describe.each(READERS)('%s', (mode) => {
    it('reads back what journal.send wrote, byte-exactly: multi-line, invalid UTF-8, binary, empty, repeated, 1 MiB', async () => {
      const t = tag('exact');
      await write(`l.journal.send({ MESSAGE: 'line one\\nline two', TEST_ID: '${t}', BAD: Buffer.from([0x61, 0xff, 0x62]), BIN: Buffer.from([0, 1, 10, 255]), EMPTY: '', REP: ['a', 'b\\nc', Buffer.from([0xfe])], BIG: Buffer.alloc(1 << 20, 'z'), UNI: 'żółw 🐢' })`);
      const r = await inJournal(mode, `const es = []; for await (const e of l.journal.query({ match: { TEST_ID: '${t}' } })) es.push(e);
        const e = es[0]; out({ n: es.length, via: l.capabilities().journalRead, message: e.fields.MESSAGE, bad: e.fields.BAD.toString('hex'), bin: e.fields.BIN.toString('hex'), empty: e.fields.EMPTY,
          rep: e.fields.REP.map((x) => Buffer.isBuffer(x) ? x.toString('hex') : x), big: e.fields.BIG.length, bigOk: e.fields.BIG === 'z'.repeat(1 << 20), uni: e.fields.UNI,
          cursor: typeof e.cursor, date: e.realtime instanceof Date, usec: typeof e.realtimeUsec, boot: e.bootId === require('fs').readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '') });`);
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ n: 1, via: mode === 'libsystemd' ? 'native' : 'journalctl', message: 'line one\nline two', bad: '61ff62', bin: '00010aff', empty: '', rep: ['a', 'b\nc', 'fe'], big: 1 << 20, bigOk: true, uni: 'żółw 🐢', cursor: 'string', date: true, usec: 'bigint', boot: true });
    });
  });

  it('both ways of reading give the same entries, byte for byte, for the same queries', async () => {
    const t = tag('parity');
    await write(`for (let i = 0; i < 300; i++) l.journal.send({ MESSAGE: 'parity ' + i, TEST_ID: '${t}', PRIORITY: i % 8, N: i, SYSLOG_IDENTIFIER: i % 3 ? 'parity-a' : 'parity-b', BLOB: Buffer.from([i & 255, 0xff, 10]), REP: ['x', String(i)] })`);
    const queries = [
      { match: { TEST_ID: t } },
      { match: { TEST_ID: t }, identifier: 'parity-b' },
      { match: { TEST_ID: t }, priority: 'warning' },
      { match: { TEST_ID: t }, lines: 7 },
      { match: { TEST_ID: t }, reverse: true, lines: 5 },
      { match: [`TEST_ID=${t}`, '+', `TEST_ID=${t}-none`], fields: ['MESSAGE', 'N'] },
      { match: { TEST_ID: t, N: ['3', '30', '299'] } },
      { match: { TEST_ID: t }, boot: true, identifier: ['parity-a', 'parity-b'], priority: 3 },
    ];
    const code = `const qs = ${JSON.stringify(queries)}; const res = []; for (const q of qs) res.push(await all(l.journal.query(q))); out(res);`;
    const [native, ctl] = await Promise.all([inJournal('libsystemd', code), inJournal('js/native', code)]);
    expect(native.stderr).toBe('');
    expect(ctl.stderr).toBe('');
    const counts = (native.json as unknown[][]).map((x) => x.length);
    expect(counts[0]).toBe(300);
    expect(counts[1]).toBe(100);
    expect(counts[2]).toBe(Array.from({ length: 300 }, (_, i) => i % 8).filter((p) => p <= 4).length);
    expect(counts[3]).toBe(7);
    expect(counts[4]).toBe(5);
    expect(counts[6]).toBe(3);
    expect(ctl.json).toEqual(native.json);
  });
});
