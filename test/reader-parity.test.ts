/**
 * The reader follows journalctl's rules, the same way on both ways of reading (libsystemd's reader:
 * the `libsystemd` mode; `journalctl -o export`: the `js/native` mode), against a real isolated
 * journald: unit names as `journalctl -u` mangles and globs them, the same codes for the same bad
 * options, journalctl's errors for a user who may read no journal file (a real unprivileged
 * user: setpriv --reuid=nobody), and `libsystemd logs` wording its refusals as a command line.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

const RUN = join(FIXTURES, 'run.cjs');
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const READERS: readonly Mode[] = ['libsystemd', 'js/native'];
const NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

describeWith({ ...JOURNALD_NEEDS, bins: [...(JOURNALD_NEEDS.bins ?? []), 'setpriv'] }, 'the reader follows journalctl\'s rules', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  const inJournal = (mode: Mode, code: string, wrap: readonly string[] = []) =>
    j.exec(wrap.length ? wrap[0]! : process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), RUN, code], { env: { ...MODES[mode] }, timeoutMs: 60_000 });
  const tag = (what: string) => `${what}-${process.pid}-${Date.now()}`;
  async function write(code: string): Promise<void> {
    const r = await inJournal('libsystemd', `${code}; await l.journal.flush(5000); out(true)`);
    expect(r.stderr).toBe('');
    expect(r.json).toBe(true);
  }
  const journalctl = async (...args: string[]) => {
    const r = await j.exec('journalctl', ['--no-pager', '-o', 'cat', ...args]);
    return { code: r.code, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
  };

  it('unit names as journalctl -u: a bare name is NAME.service, globs match the units the journal holds, a glob matching nothing is ENODATA', async () => {
    const t = tag('units');
    // As root, OBJECT_SYSTEMD_UNIT is one of the fields `journalctl -u` matches (messages about a unit).
    await write(`for (const [u, m] of [['${t}.service', 'plain'], ['${t}@1.service', 'one'], ['${t}@2.service', 'two'], ['${t}-other.service', 'other'], ['${t}.socket', 'socket']])
      l.journal.send({ MESSAGE: m, OBJECT_SYSTEMD_UNIT: u, TEST_ID: '${t}' })`);
    const asks = [t, `${t}.service`, `${t}@*`, `${t}@?.service`, `${t}.socket`, `${t}*`];
    const expected: string[][] = [];
    for (const a of asks) {
      const r = await journalctl('-u', a, `TEST_ID=${t}`);
      expect(r.code).toBe(0);
      expected.push(r.lines);
    }
    expect(expected[0]).toEqual(['plain']);
    expect(expected[2]).toEqual(['one', 'two']);
    const none = await journalctl('-u', `${t}-nothing@*`);
    expect(none.code).toBe(1);
    for (const mode of READERS) {
      const r = await inJournal(mode, `const res = []; for (const u of ${JSON.stringify(asks)}) { const m = []; for await (const e of l.journal.query({ unit: u, match: { TEST_ID: '${t}' } })) m.push(e.fields.MESSAGE); res.push(m); }
        let none; try { for await (const e of l.journal.query({ unit: '${t}-nothing@*' })) void e; none = 'accepted'; } catch (e) { none = e.code; }
        out({ res, none });`);
      expect(r.stderr, mode).toBe('');
      expect(r.json.res, mode).toEqual(expected);
      expect(r.json.none, mode).toBe('ENODATA');
    }
    // libsystemd logs -u NAME finds NAME.service, as journalctl -u does.
    const cli = await j.exec(process.execPath, [CLI, 'logs', '-u', t, `TEST_ID=${t}`, '-o', 'cat']);
    expect(cli.stdout).toBe('plain\n');
  });

  it('--user-unit / userUnit: the same rules (bare name, globs), as journalctl --user-unit', async () => {
    const t = tag('uunits');
    // As root (uid 0), OBJECT_SYSTEMD_USER_UNIT with _UID=0 is one of the fields `journalctl --user-unit` matches.
    await write(`for (const [u, m] of [['${t}.service', 'plain'], ['${t}@a.service', 'a'], ['${t}@b.service', 'b'], ['${t}.timer', 'timer']])
      l.journal.send({ MESSAGE: m, OBJECT_SYSTEMD_USER_UNIT: u, TEST_ID: '${t}' })`);
    const asks = [t, `${t}@*`, `${t}.timer`];
    const expected: string[][] = [];
    for (const a of asks) expected.push((await journalctl('--user-unit', a, `TEST_ID=${t}`)).lines);
    expect(expected).toEqual([['plain'], ['a', 'b'], ['timer']]);
    for (const mode of READERS) {
      const r = await inJournal(mode, `const res = []; for (const u of ${JSON.stringify(asks)}) { const m = []; for await (const e of l.journal.query({ userUnit: u, match: { TEST_ID: '${t}' } })) m.push(e.fields.MESSAGE); res.push(m); } out(res);`);
      expect(r.stderr, mode).toBe('');
      expect(r.json, mode).toEqual(expected);
    }
    const cli = await j.exec(process.execPath, [CLI, 'logs', '--user-unit', `${t}@*`, `TEST_ID=${t}`, '-o', 'cat']);
    expect(cli.stdout).toBe('a\nb\n');
  });

  it('journalctl\'s stdout cut anywhere (every chunk size from 1 byte) parses to the same entries: no entry lost or cut at a chunk boundary', async () => {
    const t = tag('chunks');
    await write(`for (let i = 0; i < 40; i++) l.journal.send({ MESSAGE: 'chunk ' + i + (i % 3 ? '' : '\\nsecond line'), TEST_ID: '${t}', BIN: Buffer.from([0, 10, 61, i]), EQ: 'a=b=c', BIG: 'x'.repeat(i * 97) })`);
    const r = await inJournal('libsystemd', `const { ExportParser } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'protocol', 'journal-entry.js'))});
      const whole = require('child_process').execFileSync('journalctl', ['-o', 'export', '--all', '--no-pager', 'TEST_ID=${t}'], { maxBuffer: 64 << 20 });
      const parse = (size) => { const p = new ExportParser(); for (let o = 0; o < whole.length; o += size) p.feed(whole.subarray(o, o + size)); return { n: p.entries.length, partial: p.partial, json: JSON.stringify(p.entries.map((e) => [e.cursor, e.realtimeUsecNumber, Object.entries(e.fields).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v])])) }; };
      const ref = parse(whole.length); const bad = [];
      for (const size of [1, 2, 3, 7, 8, 9, 13, 64, 100, 4095, 4096, 65536]) { const x = parse(size); if (x.json !== ref.json || x.partial) bad.push(size); }
      out({ n: ref.n, bad });`);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ n: 40, bad: [] });
  });

  it('both readers answer the same bad options with the same codes; unknown options are refused, naming the close one', async () => {
    const cases = `[{ lines: 2 ** 31 - 1, match: { TEST_ID: 'none' } }, { lines: 2 ** 31 }, { lines: -1 }, { lines: 1.5 }, { match: { A: 'x\\0y' } }, { match: ['A=x\\0y'] }, { unit: 'a\\0b' }, { identifier: 'x\\0' }, { cursor: 's=\\0' },
      { directory: '/x\\0' }, { dataThreshold: -1 }, { prio: 'err' }, { untill: 5 }, { priority: 'errr' }]`;
    const code = `const res = []; for (const o of ${cases}) { try { for await (const e of l.journal.query(o)) break; res.push('accepted'); } catch (e) { res.push([e.code, e.message]); } }
      let r; try { new l.JournalReader({ lines: 5 }); r = 'accepted'; } catch (e) { r = e.code; }
      out({ res, reader: r });`;
    const [a, b] = await Promise.all(READERS.map((m) => inJournal(m, code)));
    expect(a!.stderr).toBe('');
    expect(b!.json).toEqual(a!.json);
    const codes = (a!.json.res as [string, string][]).map((x) => x[0]);
    // The largest `lines` is accepted by both (libsystemd's skip and journalctl's -n are C ints).
    expect(a!.json.res[0]).toBe('accepted');
    expect(codes.slice(1)).toEqual(['ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE']);
    const msgs = (a!.json.res as [string, string][]).map((x) => x[1]);
    expect(msgs[11]).toMatch(/options\.prio is not an option \(did you mean priority\?\)/);
    expect(msgs[12]).toMatch(/did you mean until\?/);
    // A reader positions itself: `lines` is not one of its options.
    expect(a!.json.reader).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('libsystemd logs words refusals as a command line: one line, exit 2, the flag named', async () => {
    for (const [args, line] of [
      [['-p', 'errr'], /^libsystemd logs: --priority errr: 0-7 or emerg.*\(did you mean err\?\)/],
      [['-n', String(2 ** 31)], /^libsystemd logs: --lines 2147483648: /],
      [['-S', 'yesterday-ish'], /^libsystemd logs: --since: must be a valid time/],
      [['-c', 'a', '--after-cursor', 'b'], /^libsystemd logs: the options: takes cursor or afterCursor, not both/],
    ] as const) {
      const r = await j.exec(process.execPath, [CLI, 'logs', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(line);
      expect(r.stderr).not.toMatch(/The options/);
    }
  });

  describe('as a user who may not read the journal (nobody)', () => {
    let dir: string;
    beforeAll(async () => {
      await write(`l.journal.send({ MESSAGE: 'perm', TEST_ID: 'perm' })`);
      await j.exec('journalctl', ['--rotate']);
      // A directory with one file nobody may read and one it may (journal files are 0640 root).
      dir = mkdtempSync(join(tmpdir(), 'libsystemd-reader-perm-'));
      chmodSync(dir, 0o755);
      const src = `/proc/${j.pid}/root/run/log/journal`;
      const mid = readdirSync(src)[0]!;
      const archived = readdirSync(join(src, mid)).filter((f) => f.startsWith('system@'));
      mkdirSync(join(dir, 'some'), { mode: 0o755 });
      mkdirSync(join(dir, 'none'), { mode: 0o755 });
      mkdirSync(join(dir, 'empty'), { mode: 0o755 });
      copyFileSync(join(src, mid, archived[0]!), join(dir, 'some', 'system@a.journal'));
      copyFileSync(join(src, mid, archived[0]!), join(dir, 'some', 'system@b.journal'));
      copyFileSync(join(src, mid, archived[0]!), join(dir, 'none', 'system@c.journal'));
      chmodSync(join(dir, 'some', 'system@a.journal'), 0o644);
      chmodSync(join(dir, 'some', 'system@b.journal'), 0o600);
      chmodSync(join(dir, 'none', 'system@c.journal'), 0o600);
      chmodSync(dir, 0o755);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(READERS)('%s: no readable file: SystemdError EACCES with journalctl\'s message; some: one warning with its hint; none at all: "No journal files were found."', async (mode) => {
      const code = `const w = []; process.on('warning', (x) => w.push([x.code, x.message]));
        const q = async (o) => { try { let n = 0; for await (const e of l.journal.query({ ...o, match: { TEST_ID: 'perm' } })) n++; return n; } catch (e) { return [e.name, e.code, e.message]; } };
        const res = { system: await q({}), none: await q({ directory: '${dir}/none' }), some: await q({ directory: '${dir}/some' }), some2: await q({ directory: '${dir}/some' }), empty: await q({ directory: '${dir}/empty' }) };
        await new Promise((r) => setImmediate(r));
        out({ ...res, w });`;
      const r = await inJournal(mode, code, NOBODY);
      const ctl = await j.exec(NOBODY[0]!, [...NOBODY.slice(1), 'journalctl', '--no-pager']);
      expect(ctl.code).toBe(1);
      expect(ctl.stderr).toMatch(/No journal files were opened due to insufficient permissions/);
      const denied = ['SystemdError', 'EACCES', expect.stringMatching(/No journal files were opened due to insufficient permissions\.$/)];
      expect(r.json).toMatchObject({ system: denied, none: denied, some: 1, some2: 1, empty: 0 });
      expect(r.json.w).toEqual([
        ['LIBSYSTEMD_JOURNAL_PARTIAL_ACCESS', expect.stringMatching(/systemd-journal/)],
        ['LIBSYSTEMD_JOURNAL_NO_FILES', 'No journal files were found.'],
      ]);
    });

    it('libsystemd logs as nobody: journalctl\'s line, exit 1', async () => {
      const r = await j.exec(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, CLI, 'logs']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('libsystemd logs: No journal files were opened due to insufficient permissions.\n');
      const some = await j.exec(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, CLI, 'logs', '-D', `${dir}/some`, 'TEST_ID=perm', '-o', 'cat']);
      expect(some.code).toBe(0);
      expect(some.stdout).toBe('perm\n');
      expect(some.stderr).toMatch(/^libsystemd logs: Hint: .*systemd-journal.*\n$/);
    });
  });
});
