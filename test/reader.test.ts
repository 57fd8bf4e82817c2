/**
 * The journal reader against a real, isolated journald: entries written by the tests with
 * journal.send and read back with journal.query / journal.follow / JournalReader, on both ways
 * of reading (libsystemd's reader on its own thread: the `libsystemd` backend; `journalctl -o
 * export`: the `js/native` backend), and the two compared entry by entry, byte by byte.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { project, testBlocks } from './helpers/readme';

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
  async function write(code: string, into: Journald = j): Promise<void> {
    const r = await into.exec(process.execPath, [RUN, `${code}; const s = await l.journal.flush(30000); out(s.dropped)`], { env: { ...MODES.libsystemd }, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    // Sent, none dropped; then stored: flush() is the socket's, journald writes asynchronously
    // (on a busy machine a read right after a flush found nothing: the matrix's empty JSON).
    expect(r.json).toBe(0);
    await into.exec('journalctl', ['--sync']);
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

  describe.each(READERS)('options (%s)', (mode) => {
    it('unit, identifier, priority, boot, since/until, cursor and afterCursor resumed in another process, reverse, fields', async () => {
      const t = tag('opts');
      // As root, OBJECT_SYSTEMD_UNIT is what `journalctl -u` also shows (messages about a unit from privileged daemons).
      await write(`for (let i = 0; i < 10; i++) { l.journal.send({ MESSAGE: 'm' + i, TEST_ID: '${t}', N: i, PRIORITY: i % 8, SYSLOG_IDENTIFIER: i < 5 ? 'first' : 'second', OBJECT_SYSTEMD_UNIT: i === 4 ? '${t}.service' : 'other.service' }); await new Promise((r) => setTimeout(r, 5)); }`);
      const r = await inJournal(mode, `const q = async (o) => (await all(l.journal.query({ match: { TEST_ID: '${t}' }, ...o }))).map((e) => e.fields.N[0]);
        const every = await all(l.journal.query({ match: { TEST_ID: '${t}' } }));
        const mid = every[5].realtime;
        out({
          unit: await q({ unit: '${t}.service' }),
          identifier: await q({ identifier: 'second' }),
          priority: await q({ priority: 'err' }),
          boot: (await q({ boot: true })).length,
          since: await q({ since: new Date(Math.floor(mid / 1000)) }).then((x) => x.length >= 5),
          until: await q({ until: mid / 1000 - 1 }).then((x) => x.length <= 5 && x.length >= 4),
          cursor: await q({ cursor: every[7].cursor }),
          after: await q({ afterCursor: every[7].cursor }),
          reverse: await q({ reverse: true, lines: 3 }),
          lines: await q({ lines: 2 }),
          fields: Object.keys((await all(l.journal.query({ match: { TEST_ID: '${t}' }, fields: ['N'], lines: 1 })))[0].fields),
          saved: every[2].cursor,
        });`);
      expect(r.stderr).toBe('');
      const o = r.json;
      expect(o).toMatchObject({ unit: ['4'], identifier: ['5', '6', '7', '8', '9'], priority: ['0', '1', '2', '3', '8', '9'], boot: 10, since: true, until: true, cursor: ['7', '8', '9'], after: ['8', '9'], reverse: ['9', '8', '7'], lines: ['8', '9'], fields: ['N'] });
      // A cursor saved by one process resumes in another.
      const again = await inJournal(mode, `out((await all(l.journal.query({ afterCursor: ${JSON.stringify(o.saved)}, match: { TEST_ID: '${t}' } }))).map((e) => e.fields.N[0]))`);
      expect(again.json).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    });

    it('lines on an empty match, a one-entry match, and across a rotated journal', async () => {
      const t = tag('lines');
      await write(`l.journal.send({ MESSAGE: 'only', TEST_ID: '${t}-one' }); for (let i = 0; i < 5; i++) l.journal.send({ MESSAGE: 'r' + i, TEST_ID: '${t}-rot', N: i })`);
      await j.exec('journalctl', ['--rotate']);
      await write(`for (let i = 5; i < 8; i++) l.journal.send({ MESSAGE: 'r' + i, TEST_ID: '${t}-rot', N: i })`);
      const r = await inJournal(mode, `const q = async (o) => (await all(l.journal.query(o))).map((e) => e.fields.MESSAGE[0]);
        out([await q({ match: { TEST_ID: '${t}-none' }, lines: 10 }), await q({ match: { TEST_ID: '${t}-one' }, lines: 10 }), await q({ match: { TEST_ID: '${t}-one' }, lines: 1 }), await q({ match: { TEST_ID: '${t}-rot' }, lines: 4 }), await q({ match: { TEST_ID: '${t}-rot' }, lines: 0 })]);`);
      expect(r.stderr).toBe('');
      expect(r.json).toEqual([[], ['only'], ['only'], ['r4', 'r5', 'r6', 'r7'], []]);
    });

    it('follow() receives entries written after it started, and an AbortSignal ends it', async () => {
      const t = tag('follow');
      await write(`l.journal.send({ MESSAGE: 'before', TEST_ID: '${t}' })`);
      const r = await inJournal(mode, `const ac = new AbortController(); const got = [];
        const writer = setTimeout(async () => { for (let i = 0; i < 5; i++) { l.journal.send({ MESSAGE: 'after ' + i, TEST_ID: '${t}' }); await new Promise((r) => setTimeout(r, 20)); } }, 300);
        const start = Date.now();
        for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, lines: 1, signal: ac.signal })) { got.push(e.fields.MESSAGE); if (got.length === 6) setTimeout(() => ac.abort(), 50); }
        out({ got, ms: Date.now() - start });`);
      expect(r.stderr).toBe('');
      expect(r.json.got).toEqual(['before', 'after 0', 'after 1', 'after 2', 'after 3', 'after 4']);
    });

    // systemd 255+: a reader left at the tail with nothing found never finds later entries
    // (seen on 257 and 262: the follower waited for ever); every version must deliver them.
    it('a follower whose filter matches nothing when it starts receives the entries that match later (lines 0, lines 5, a reverse query)', async () => {
      const t = tag('late');
      await write(`l.journal.send({ MESSAGE: 'other', TEST_ID: '${t}-other' })`);
      const r = await inJournal(mode, `const got = { zero: [], five: [] };
        const follow = async (key, lines) => { const ac = new AbortController(); for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, lines, signal: ac.signal })) { got[key].push(e.fields.MESSAGE); if (got[key].length === 3) ac.abort(); } };
        const reverse = (await all(l.journal.query({ match: { TEST_ID: '${t}' }, reverse: true, lines: 3 }))).length;
        const done = Promise.all([follow('zero', 0), follow('five', 5)]);
        setTimeout(async () => { for (let i = 0; i < 3; i++) { l.journal.send({ MESSAGE: 'late ' + i, TEST_ID: '${t}' }); await new Promise((r) => setTimeout(r, 20)); } }, 300);
        await done;
        out({ ...got, reverse });`);
      expect(r.stderr).toBe('');
      expect(r.json).toEqual({ zero: ['late 0', 'late 1', 'late 2'], five: ['late 0', 'late 1', 'late 2'], reverse: 0 });
    });
  });

  it('libsystemd reader: dataThreshold 0 (the default) keeps every byte of a 100 kB value; a threshold is accepted', async () => {
    const t = tag('threshold');
    await write(`l.journal.send({ MESSAGE: 'big', TEST_ID: '${t}', BIG: Buffer.alloc(100000, 'q') })`);
    const r = await inJournal('libsystemd', `const f = async (o) => { for await (const e of l.journal.query({ match: { TEST_ID: '${t}' }, ...o })) return e.fields.BIG.length; };
      out([await f({}), await f({ dataThreshold: 1000 })]);`);
    expect(r.stderr).toBe('');
    expect(r.json[0]).toBe(100000);
    // sd_journal_set_data_threshold: compressed values are decompressed up to it; others may come whole.
    expect(r.json[1]).toBeLessThanOrEqual(100000);
    expect(r.json[1]).toBeGreaterThanOrEqual(1000);
  });

  it('JournalReader: next/previous, seeks, cursors, unique values, field names, usage, close', async () => {
    const t = tag('reader');
    await write(`for (let i = 0; i < 5; i++) l.journal.send({ MESSAGE: 'x' + i, TEST_ID: '${t}', N: i, KIND: i % 2 ? 'odd' : 'even' })`);
    const r = await inJournal('libsystemd', `const rd = new l.JournalReader({ match: { TEST_ID: '${t}' } });
      const a = await rd.next(), b = await rd.next(), back = await rd.previous();
      await rd.seekTail(); const last = await rd.previous();
      await rd.seekCursor(b.cursor); const atB = await rd.next();
      await rd.seekCursor(b.cursor, { after: true }); const afterB = await rd.next();
      const kinds = (await rd.uniqueValues('KIND')).sort();
      const names = await rd.fieldNames();
      const usage = await rd.usage();
      const same = await rd.testCursor(afterB.cursor);
      await rd.close(); await rd.close();
      let closed; try { await rd.next(); } catch (e) { closed = e.code; }
      out({ a: a.fields.N, b: b.fields.N, back: back.fields.N, last: last.fields.N, atB: atB.fields.N, afterB: afterB.fields.N, kinds, hasTestId: names.includes('TEST_ID'), usage: usage > 0, same, closed, via: rd.via });`);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ a: '0', b: '1', back: '0', last: '4', atB: '1', afterB: '2', kinds: expect.arrayContaining(['even', 'odd']), hasTestId: true, usage: true, same: true, closed: 'EBADF', via: 'native' });
  });

  it('1,000 readers opened and closed leave the fds and threads flat', async () => {
    const r = await inJournal('libsystemd', `const fds = () => require('fs').readdirSync('/proc/self/fd').length;
      const threads = () => require('fs').readdirSync('/proc/self/task').length;
      const before = [fds(), threads()];
      for (let i = 0; i < 1000; i++) { const rd = new l.JournalReader(); await rd.next(); await rd.close(); }
      await new Promise((r) => setTimeout(r, 100));
      out({ before, after: [fds(), threads()] });`);
    expect(r.stderr).toBe('');
    expect(r.json.after).toEqual(r.json.before);
  });

  it('readers dropped without close() stop their threads and close their files once collected', async () => {
    const r = await j.exec(process.execPath, ['--expose-gc', RUN, `const fds = () => require('fs').readdirSync('/proc/self/fd').length;
      const threads = () => require('fs').readdirSync('/proc/self/task').length;
      await (async () => { const rd = new l.JournalReader(); await rd.next(); await rd.close(); })();
      const before = [fds(), threads()];
      const during = await (async () => { for (let i = 0; i < 20; i++) { const rd = new l.JournalReader(); await rd.next(); } return threads(); })();
      for (let i = 0; i < 20 && threads() > before[1]; i++) { global.gc(); await new Promise((r) => setTimeout(r, 50)); }
      out({ before, during, after: [fds(), threads()] });`], { env: { ...MODES.libsystemd }, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.json.during).toBeGreaterThanOrEqual(r.json.before[1] + 20);
    expect(r.json.after).toEqual(r.json.before);
  });

  it('a follower through 50 rotations keeps receiving entries with fds flat', async () => {
    const t = tag('rotate');
    const follower = inJournal('libsystemd', `const fds = () => require('fs').readdirSync('/proc/self/fd').length;
      const ac = new AbortController(); let n = 0, first = 0; const samples = [];
      setTimeout(() => ac.abort(), 60000).unref();
      for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, signal: ac.signal })) {
        n++; if (n === 1) first = fds(); if (n % 10 === 0) samples.push(fds());
        if (e.fields.MESSAGE === 'last') break;
      }
      out({ n, first, last: fds(), max: Math.max(...samples) });`);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 50; i++) {
      await write(`l.journal.send({ MESSAGE: 'rot ${i}', TEST_ID: '${t}' })`);
      await j.exec('journalctl', ['--rotate']);
    }
    await write(`l.journal.send({ MESSAGE: 'last', TEST_ID: '${t}' })`);
    const r = await follower;
    expect(r.stderr).toBe('');
    expect(r.json.n).toBe(51);
    // Rotated files stay open while they hold entries the reader can reach; no growth per rotation beyond them.
    expect(r.json.last - r.json.first).toBeLessThan(60);
  }, 120_000);

  it('bad options are refused with a stable code before anything is opened', async () => {
    const r = await inJournal('libsystemd', `const codes = []; for (const o of [{ match: { 'bad name': 'x' } }, { match: ['NOEQUALS'] }, { priority: 'loud' }, { boot: 'nope' }, { since: 'yesterday-ish' }, { lines: -1 }, { cursor: 'a', afterCursor: 'b' }, { fields: ['lower'] }, { namespace: 'a', directory: '/x' }, { dataThreshold: -5 }, 5])
        { try { for await (const e of l.journal.query(o)) break; codes.push('accepted'); } catch (e) { codes.push(e.code); } }
        let f; try { l.journal.follow({ reverse: true }); } catch (e) { f = e.code; }
        out({ codes, f });`);
    expect(r.stderr).toBe('');
    // lines -1 and dataThreshold -5: a number out of its C type's range (ERR_OUT_OF_RANGE, as Node says it).
    expect(r.json.codes).toEqual(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE']);
    expect(r.json.f).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('a journal file truncated under the reader (SIGBUS) fails the read with EIO; the process lives on', async () => {
    const t = tag('sigbus');
    await write(`const pad = 'p'.repeat(2000); for (let i = 0; i < 6000; i++) l.journal.send({ MESSAGE: 'e' + i, TEST_ID: '${t}', PAD: pad + i })`);
    await j.exec('journalctl', ['--rotate']);
    const r = await inJournal('libsystemd', `const fs = require('fs'); const path = require('path');
      const dir = '/run/log/journal'; const mid = fs.readdirSync(dir)[0];
      // The entries may span several archived files (journald rotates at its size limit, which
      // depends on the size of /run): take one that holds at least 100 of them.
      const files = fs.readdirSync(path.join(dir, mid)).filter((f) => f.startsWith('system@')).map((f) => path.join(dir, mid, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
      const copy = '/run/sigbus-' + process.pid + '.journal';
      let rd, n = 0;
      for (const file of files) {
        fs.copyFileSync(file, copy);
        rd = new l.JournalReader({ files: [copy], match: { TEST_ID: '${t}' } });
        n = 0; for (let i = 0; i < 100; i++) if (await rd.next()) n++;
        if (n === 100) break;
        await rd.close();
      }
      fs.truncateSync(copy, 64 * 1024);
      let code; try { for (let e = await rd.next(); e; e = await rd.next()) n++; } catch (e) { code = e.code; }
      await rd.close();
      // The process and a fresh reader still work.
      let fresh = 0; for await (const e of l.journal.query({ match: { TEST_ID: '${t}' }, lines: 3 })) fresh++;
      out({ n, code, fresh, size: fs.statSync(copy).size });`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The next access past the new end faults (SIGBUS, contained: EIO) on every version run
    // (247, 252, 257, 262 in the systemd matrix); the process lives on and a fresh reader works.
    const libsystemdVersion = Number(/systemd (\d+)/.exec((await j.exec('journalctl', ['--version'])).stdout)?.[1] ?? 0);
    console.log(`truncated journal file (systemd ${libsystemdVersion}): ${r.json.code ?? 'the read ended'} after ${r.json.n} entries`);
    expect(r.json.code).toBe('EIO'); // checked on 252: without the handler the process dies
    expect(r.json.n).toBeGreaterThanOrEqual(100);
    expect(r.json.fresh).toBe(3);
  }, 120_000);

  /**
   * The event loop's gaps in a control process with a 1 ms interval, measured alongside (same
   * machine, same moment): what the machine's own load adds to any process. A stall bound
   * is that floor plus what the reader may add, never a fixed hope.
   */
  // Two measures per gap between two runs of a 1 ms interval: the wall time, and the main
  // thread's own time on a CPU (/proc/self/task/PID/schedstat, ns): the first is what a user
  // sees, the second what the process did with the event loop, whatever the machine's load.
  const GAP = `const schedstat = '/proc/self/task/' + process.pid + '/schedstat'; const oncpu = () => BigInt(require('fs').readFileSync(schedstat, 'latin1').split(' ')[0]);
    let last = process.hrtime.bigint(), lastCpu = oncpu(), maxGap = 0n, maxCpu = 0n, startGap = 0n, counting = false;
    const gap = setInterval(() => { const now = process.hrtime.bigint(), cpu = oncpu(); if (counting) { if (now - last > maxGap) maxGap = now - last; if (cpu - lastCpu > maxCpu) maxCpu = cpu - lastCpu; } else if (now - last > startGap) startGap = now - last; last = now; lastCpu = cpu; }, 1);
    const control = !process.env.GAP_FROM_FIRST_ENTRY; if (control) counting = true;
    const gaps = () => ({ maxGapMs: Number(maxGap) / 1e6, maxCpuMs: Number(maxCpu) / 1e6, startGapMs: Number(startGap) / 1e6 });`;
  // The control works as a reader does, 4 ms of CPU then a turn of the event loop: on a busy
  // machine a process that computes waits longer for a core than one that sleeps.
  // (4 ms of its own CPU time, whatever the load: the same slice on a quiet or a busy machine.)
  const WORK = (ms: number) => `const end = Date.now() + ${ms}; while (Date.now() < end) { const s = oncpu(); while (oncpu() - s < 4000000n); await new Promise((r) => setImmediate(r)); }`;
  const floor = (ms: number, into: Journald = j) => into.exec(process.execPath, [RUN, `${GAP} ${WORK(ms)} clearInterval(gap); out(gaps());`], { env: { ...MODES.libsystemd }, timeoutMs: 60_000 });
  /**
   * The bounds. What the reader does with the event loop is its main thread's CPU time between
   * two turns: at most the control's (a process working 4 ms slices of CPU, alongside: 8-12 ms) plus
   * 10 ms (measured with a turn every 4 ms and batches of 128: 4-10 ms; before, batches of 512
   * without a turn: 10-20 ms). The wall gap a user sees also holds the machine's load (at a load
   * of 10 on 2 cores, 30-180 ms in the control): it is bounded by three times the control's
   * plus 50 ms, a guard against a stall, not a measure of the reader.
   */
  const READER_STALL_MS = 10;
  // Under scripts/sanitize.sh the addon runs with ASan (measured 27 ms a turn against a bound of 18):
  // the instrumentation's cost, not the reader's, so the bound is three times as loose there.
  const SANITIZER = process.env.LIBSYSTEMD_SANITIZER === '1' ? 3 : 1;
  const cpuBound = (control: { maxCpuMs: number }): number => (control.maxCpuMs + READER_STALL_MS) * SANITIZER;
  const wallBound = (control: { maxGapMs: number }): number => control.maxGapMs * 3 + 50;

  describe.each(READERS)('load (%s)', (mode) => {
    it('following a journal that receives 10,000 entries/s misses nothing, and keeps the event loop within the measured floor (CPU time between turns, and wall time)', async () => {
      const t = tag('rate');
      const total = 30_000;
      const follower = inJournal(mode, `${GAP}
        const ac = new AbortController(); let n = 0;
        const stop = setTimeout(() => ac.abort(), 60000); stop.unref();
        process.stdout.write('ready\\n');
        for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, signal: ac.signal })) { counting = true; if (++n === ${total}) break; }
        clearInterval(gap);
        out({ n, ...gaps() });`, { GAP_FROM_FIRST_ENTRY: '1' });
      await new Promise((r) => setTimeout(r, 700));
      const control = floor(4000);
      // 10 entries every millisecond for 3 s.
      await write(`let i = 0; await new Promise((res) => { const tick = setInterval(() => { for (let k = 0; k < 50 && i < ${total}; k++) l.journal.send({ MESSAGE: 'rate ' + i++, TEST_ID: '${t}' }); if (i >= ${total}) { clearInterval(tick); res(); } }, 5); })`);
      const [r, c] = await Promise.all([follower, control]);
      expect(r.stderr).toBe('');
      // What journald stored is what the follower must have received: a shortfall is the reader's, never hidden.
      const stored = (await j.messages(`TEST_ID=${t}`)).length;
      console.log(`follow at 10,000/s (${mode}): ${r.json.n} of ${stored} stored entries, longest event-loop gap ${r.json.maxGapMs.toFixed(2)} ms, at most ${r.json.maxCpuMs.toFixed(2)} ms on a CPU between two turns (control alongside: ${c.json.maxGapMs.toFixed(2)} ms, ${c.json.maxCpuMs.toFixed(2)} ms; opening: ${r.json.startGapMs.toFixed(2)} ms)`);
      expect(stored).toBe(total);
      expect(r.json.n).toBe(stored);
      expect(r.json.maxCpuMs).toBeLessThan(cpuBound(c.json));
      expect(r.json.maxGapMs).toBeLessThan(wallBound(c.json));
    }, 120_000);
  });

  it('journalctl reader: a follower whose journalctl is ended by someone else follows again after the last entry read (nothing lost, no busy loop)', async () => {
    const t = tag('respawn');
    const r = await inJournal('js/native', `const fs = require('fs'); const ac = new AbortController(); const got = [];
      const stop = setTimeout(() => ac.abort(), 20000); stop.unref();
      // End this process's journalctl children (the follower's) from outside the reader.
      const kill = () => { for (const k of fs.readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim().split(' ').filter(Boolean)) process.kill(Number(k), 'SIGTERM'); };
      setTimeout(() => l.journal.send({ MESSAGE: 'one', TEST_ID: '${t}' }), 300);
      for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, signal: ac.signal })) {
        got.push(e.fields.MESSAGE);
        if (got.length === 1) { kill(); setTimeout(() => { l.journal.send({ MESSAGE: 'two', TEST_ID: '${t}' }); l.journal.send({ MESSAGE: 'three', TEST_ID: '${t}' }); }, 300); }
        if (got.length === 3) break;
      }
      out(got);`);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual(['one', 'two', 'three']);
  }, 60_000);

  describe('a 100,000-entry backlog', () => {
    let jb: Journald;
    const t = tag('backlog');
    const total = 100_000;
    beforeAll(async () => {
      jb = await Journald.start({ maxUseMb: 400 });
      await write(`for (let i = 0; i < ${total}; i++) { l.journal.send({ MESSAGE: 'backlog ' + i, TEST_ID: '${t}' }); if (i % 5000 === 4999) await new Promise((r) => setImmediate(r)); }`, jb);
      await jb.exec('journalctl', ['--sync']);
    }, 180_000);
    afterAll(() => jb?.stop());

    it.each(READERS)('%s: following it from the start gives every entry with the event loop within the measured floor (CPU time between turns, and wall time) (a turn every 4 ms)', async (mode) => {
      const follower = jb.exec(process.execPath, [RUN, `${DUMP}\n${GAP}
        const ac = new AbortController(); let n = 0; const start = Date.now();
        for await (const e of l.journal.follow({ match: { TEST_ID: '${t}' }, signal: ac.signal })) { counting = true; if (++n === ${total}) break; }
        clearInterval(gap);
        out({ n, ...gaps(), ms: Date.now() - start });`], { env: { ...MODES[mode], GAP_FROM_FIRST_ENTRY: '1' }, timeoutMs: 120_000 });
      const control = floor(2500, jb);
      const [r, c] = await Promise.all([follower, control]);
      expect(r.stderr).toBe('');
      console.log(`backlog of ${total} (${mode}): ${r.json.n} entries in ${r.json.ms} ms, longest event-loop gap ${r.json.maxGapMs.toFixed(2)} ms, at most ${r.json.maxCpuMs.toFixed(2)} ms on a CPU between two turns (control alongside: ${c.json.maxGapMs.toFixed(2)} ms, ${c.json.maxCpuMs.toFixed(2)} ms; opening: ${r.json.startGapMs.toFixed(2)} ms)`);
      expect(r.json.n).toBe(total);
      expect(r.json.maxCpuMs).toBeLessThan(cpuBound(c.json));
      expect(r.json.maxGapMs).toBeLessThan(wallBound(c.json));
    }, 150_000);
  });

  it('libsystemd logs: journalctl-like flags, json/export/cat/short output, -f, and one-line errors with exit 2', async () => {
    const t = tag('cli');
    await write(`for (let i = 0; i < 4; i++) l.journal.send({ MESSAGE: 'cli ' + i, TEST_ID: '${t}', SYSLOG_IDENTIFIER: 'clitool', PRIORITY: i === 3 ? 3 : 6, BIN: Buffer.from([0xff, i]) })`);
    const CLI = join(__dirname, '..', 'dist', 'cli.js');
    const json = await j.exec(process.execPath, [CLI, 'logs', '-t', 'clitool', `TEST_ID=${t}`, '-o', 'json']);
    expect(json.code).toBe(0);
    const rows = json.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.MESSAGE)).toEqual(['cli 0', 'cli 1', 'cli 2', 'cli 3']);
    expect(rows[1].BIN).toEqual([255, 1]);
    const cat = await j.exec(process.execPath, [CLI, 'logs', `TEST_ID=${t}`, '-p', 'err', '-o', 'cat']);
    expect(cat.stdout).toBe('cli 3\n');
    const short = await j.exec(process.execPath, [CLI, 'logs', `TEST_ID=${t}`, '-n', '1']);
    expect(short.stdout).toMatch(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ clitool\[\d+\]: cli 3\n$/);
    // The export output is what journalctl's is, field for field.
    const ours = await j.exec(process.execPath, [CLI, 'logs', `TEST_ID=${t}`, '-o', 'export']);
    const theirs = await j.exec('journalctl', [`TEST_ID=${t}`, '-o', 'export', '--all']);
    const fieldsOf = (s: string) => s.split('\n').filter((l) => !l.startsWith('__SEQNUM')).sort();
    expect(fieldsOf(ours.stdout)).toEqual(fieldsOf(theirs.stdout));
    // -f prints what comes, until SIGTERM (timeout(1) sends it to its own child) ends it with 0.
    const f = j.exec('timeout', ['--preserve-status', '-s', 'TERM', '2', process.execPath, CLI, 'logs', '-f', `TEST_ID=${t}-f`, '-o', 'cat'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 700));
    await write(`l.journal.send({ MESSAGE: 'followed', TEST_ID: '${t}-f' })`);
    const fr = await f;
    expect(fr.stdout).toBe('followed\n');
    expect(fr.code).toBe(0);
    for (const bad of [['--priority', 'loud'], ['--bogus'], ['-n', 'x'], ['-f', '-r'], ['--output', 'xml']]) {
      const r = await j.exec(process.execPath, [CLI, 'logs', ...bad]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^libsystemd logs: /);
    }
  }, 60_000);

  describe('README examples, as written (a journald of their own: the shipper reads everything)', () => {
    let jr: Journald;
    beforeAll(async () => {
      jr = await Journald.start();
    });
    afterAll(() => jr?.stop());
    const example = (name: string): string => {
      const [b] = testBlocks('README.md', name);
      expect(b, name).toBeDefined();
      return b!.text;
    };
    let dir: string;
    /** Runs `node FILE` in the project directory, in journald's namespace, for at most `seconds` (then SIGTERM). */
    const inProject = (file: string, seconds: number, env: Record<string, string> = {}) =>
      jr.exec('/bin/sh', ['-c', `cd "$0" && exec timeout --preserve-status -s TERM ${seconds} "$1" "$2"`, dir, process.execPath, file], { env, timeoutMs: 60_000 });
    beforeAll(() => {
      dir = project(mkdtempSync(join(tmpdir(), 'libsystemd-reader-readme-')));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the last 50 errors of a unit', async () => {
      writeFileSync(join(dir, 'errors.mjs'), example('reader-errors'));
      // As root, OBJECT_SYSTEMD_UNIT entries are what `journalctl -u billing.service` shows too.
      await write(`for (let i = 0; i < 60; i++) l.journal.send({ MESSAGE: 'charge failed ' + i, PRIORITY: i % 2 ? 3 : 6, SYSLOG_IDENTIFIER: 'billing', OBJECT_SYSTEMD_UNIT: 'billing.service' })`, jr);
      const r = await inProject('errors.mjs', 20);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(30);
      expect(lines[29]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z billing charge failed 59$/);
    });

    it('following from a saved cursor prints nothing twice across restarts', async () => {
      writeFileSync(join(dir, 'resume.mjs'), example('reader-resume'));
      const runFor = (ms: number) => inProject('resume.mjs', ms / 1000);
      await write(`for (let i = 0; i < 3; i++) l.journal.send({ MESSAGE: 'invoice ' + i, SYSLOG_IDENTIFIER: 'billing' })`, jr);
      const first = await runFor(4000);
      await write(`for (let i = 3; i < 5; i++) l.journal.send({ MESSAGE: 'invoice ' + i, SYSLOG_IDENTIFIER: 'billing' })`, jr);
      const second = await runFor(4000);
      const printed = [...first.stdout.trim().split('\n'), ...second.stdout.trim().split('\n')].filter((x) => x.startsWith('invoice'));
      expect(printed).toEqual(['invoice 0', 'invoice 1', 'invoice 2', 'invoice 3', 'invoice 4']);
      expect(first.code).toBe(0);
      expect(readFileSync(join(dir, 'billing.cursor'), 'utf8')).toMatch(/^s=/);
    }, 60_000);

    it('the shipper posts NDJSON batches and saves the cursor only after the endpoint accepted them', async () => {
      writeFileSync(join(dir, 'ship.mjs'), example('reader-shipper'));
      const t = tag('ship');
      const got: Record<string, unknown>[] = [];
      let fail = true;
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          // The first POST is refused: the shipper must not save its cursor, and must send it again.
          if (fail) {
            fail = false;
            res.writeHead(503).end();
            return;
          }
          for (const line of body.trim().split('\n')) got.push(JSON.parse(line));
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        await write(`for (let i = 0; i < 20; i++) l.journal.send({ MESSAGE: 'ship ' + i, PRIORITY: 6, TEST_ID: '${t}' })`, jr);
        const env = { SHIP_TO: `http://127.0.0.1:${port}/ingest` };
        // The refused batch ends the first run (exit 1, as under Restart=on-failure); the second ships.
        const first = await inProject('ship.mjs', 3, env);
        expect(first.code).not.toBe(0);
        const second = await inProject('ship.mjs', 3, env);
        expect(second.stderr).toBe('');
        const mine = got.filter((e) => e.TEST_ID === t).map((e) => e.MESSAGE);
        expect(mine).toEqual(Array.from({ length: 20 }, (_, i) => `ship ${i}`));
        expect(readFileSync(join(dir, 'ship.cursor'), 'utf8')).toMatch(/^s=/);
      } finally {
        server.close();
      }
    }, 60_000);
  });
});
