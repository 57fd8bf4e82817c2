/**
 * Corrupted journal files, made from a real journald's file with bytes flipped in one data object
 * (its `=` replaced): both ways of reading (libsystemd's reader, `journalctl -o export`) agree.
 * The bad field is skipped (never a name invented by reading into the next object, never a
 * RangeError), the entry and every entry after it are delivered, and the skip is counted and
 * warned once (code LIBSYSTEMD_JOURNAL_CORRUPT) - never a read that ends early as if it were the end.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES, MODES, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

const RUN = join(FIXTURES, 'run.cjs');
const READERS: readonly Mode[] = ['libsystemd', 'js/native'];

describeWith(JOURNALD_NEEDS, 'corrupted journal files', () => {
  let j: Journald;
  let dir: string;
  const t = `corrupt-${process.pid}`;
  beforeAll(async () => {
    j = await Journald.start();
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-reader-corrupt-'));
    const r = await j.exec(process.execPath, [RUN, `for (let i = 0; i < 200; i++) l.journal.send({ MESSAGE: 'entry ' + i, TEST_ID: '${t}', N: i, ...(i === 50 ? { BADFIELD: 'value-${t}-50' } : {}), ...(i === 120 ? { ZBAD: 'last-${t}-120' } : {}) }); await l.journal.flush(5000); out(true)`], { env: { ...MODES.libsystemd } });
    expect(r.json).toBe(true);
    await j.exec('journalctl', ['--rotate']);
    const src = `/proc/${j.pid}/root/run/log/journal`;
    const mid = readdirSync(src)[0]!;
    const archived = readdirSync(join(src, mid)).filter((f) => f.startsWith('system@')).map((f) => join(src, mid, f));
    const file = archived.find((f) => readFileSync(f).includes(Buffer.from(`value-${t}-50`)))!;
    copyFileSync(file, join(dir, 'good.journal'));
    const b = readFileSync(file);
    // The data object BADFIELD=value-…: its '=' becomes 'X' (no '=' left in the object).
    for (const needle of [`BADFIELD=value-${t}-50`, `ZBAD=last-${t}-120`]) {
      const at = b.indexOf(Buffer.from(needle));
      expect(at).toBeGreaterThan(0);
      expect(b.indexOf(Buffer.from(needle), at + 1)).toBe(-1);
      b[at + needle.indexOf('=')] = 0x58;
    }
    writeFileSync(join(dir, 'bad.journal'), b);
  }, 60_000);
  afterAll(() => {
    j?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (mode: Mode, file: string) =>
    j.exec(process.execPath, [RUN, `const w = []; process.on('warning', (x) => w.push([x.code, x.message]));
      const got = []; let error;
      try { for await (const e of l.journal.query({ files: ['${join(dir, file)}'], match: { TEST_ID: '${t}' } })) got.push({ n: e.fields.N, keys: Object.keys(e.fields).filter((k) => !k.startsWith('_')).sort() }); } catch (e) { error = [e.name, e.code, e.message]; }
      // Newest first, and a JournalReader stepping entry by entry: the same entries.
      const back = []; for await (const e of l.journal.query({ files: ['${join(dir, file)}'], match: { TEST_ID: '${t}' }, reverse: true })) back.push(e.fields.N);
      const rd = new l.JournalReader({ files: ['${join(dir, file)}'], match: { TEST_ID: '${t}' } }); let stepped = 0; for await (const e of rd) stepped++; await rd.close();
      await new Promise((r) => setImmediate(r));
      out({ n: got.length, e50: got[50], e120: got[120], last: got.at(-1)?.n, error, back: back.length, backLast: back.at(-1), stepped, w: w.slice(0, 2) });`], { env: { ...MODES[mode] } });

  it.each(READERS)('%s: the bad field is skipped, counted and warned; nothing else is lost', async (mode) => {
    const good = await read(mode, 'good.journal');
    expect(good.stderr).toBe('');
    expect(good.json).toMatchObject({ n: 200, last: '199', back: 200, stepped: 200, w: [] });
    const r = await read(mode, 'bad.journal');
    // Node prints the warnings; nothing else.
    expect(r.stderr.split('\n').filter((l) => l !== '' && !/LIBSYSTEMD_JOURNAL_CORRUPT|--trace-warnings/.test(l))).toEqual([]);
    expect(r.json.error).toBeUndefined();
    expect(r.json.n).toBe(200);
    expect(r.json.last).toBe('199');
    expect(r.json).toMatchObject({ back: 200, backLast: '0', stepped: 200 });
    expect(r.json.e50).toEqual({ n: '50', keys: ['MESSAGE', 'N', 'SYSLOG_IDENTIFIER', 'TEST_ID'] });
    expect(r.json.e120).toEqual({ n: '120', keys: ['MESSAGE', 'N', 'SYSLOG_IDENTIFIER', 'TEST_ID'] });
    // The first skip is warned at once (with its entry), the total when the read ends.
    expect(r.json.w).toEqual([
      ['LIBSYSTEMD_JOURNAL_CORRUPT', expect.stringMatching(/^skipped a corrupted field \(a journal data object without '='\) in the entry s=/)],
      ['LIBSYSTEMD_JOURNAL_CORRUPT', "skipped 2 corrupted fields (journal data objects without '=') in all in this read"],
    ]);
  });

  it('both readers give the same entries from the corrupted file', async () => {
    const [a, b] = await Promise.all(READERS.map((m) => read(m, 'bad.journal')));
    expect(b!.json).toEqual(a!.json);
  });
});
