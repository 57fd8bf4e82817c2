/**
 * Hostile and unlucky input to the journal writers and the loggers (issues 25 and 26), each read
 * back from a real, isolated journald: entries with more fields than journald keeps, values no
 * rule can stringify, a getter that sends while its entry is being framed, entries above
 * journald's size limits, a PRIORITY journald cannot read, Errors whose getters throw,
 * AggregateError, Map and Set; pino's identifier in its worker thread, CODE_FILE through source
 * maps, and one wording for an error's cause.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, ROOT, type Mode } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS, type Entry } from './helpers/journald';

const RUN = join(FIXTURES, 'run.cjs');
const nativeModes: Mode[] = ['libsystemd', 'js/native'];
const warnings = (stderr: string, code: string) => stderr.match(new RegExp(`\\[${code}\\]`, 'g'))?.length ?? 0;

describeWith(JOURNALD_NEEDS, 'hostile input to the writers and loggers', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  const inJournal = (mode: Mode, code: string, args: string[] = []) => j.exec(process.execPath, [...args, RUN, code], { env: { ...MODES[mode] }, cwd: FIXTURES, timeoutMs: 120_000 });

  describe.each(nativeModes)('%s', (mode) => {
    const id = (what: string) => `${what}-${mode.replace('/', '-')}-${process.pid}`;

    it('a 2,000-key object through createLogger, pino and winston: stored with the first fields as they are, the rest folded into one field with the count, warned once each process', async () => {
      const t = id('fields');
      const r = await inJournal(
        mode,
        `const wide = {}; for (let i = 0; i < 2000; i++) wide['k' + i] = 'v' + i;
         const log = l.createLogger({ identifier: '${t}-logger', captureLocation: false });
         log.info('wide logger', wide); log.info('wide logger again', wide); log.info('narrow after');
         const winston = require('winston'); const Journald = require('libsystemd/winston');
         const w = winston.createLogger({ transports: [new Journald({ identifier: '${t}-winston' })] });
         w.info('wide winston', wide);
         await new Promise((res) => { w.on('finish', res); w.end(); });
         const pino = require('pino');
         const p = pino({ transport: { target: require.resolve('libsystemd/pino'), options: { identifier: '${t}-pino' } } });
         p.info(wide, 'wide pino'); p.info('narrow pino');
         await new Promise((res) => p.flush(res));
         out({ lost: log.lost, stats: l.journal.stats() });`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.lost).toBe(0);
      // One warning in the main thread (createLogger and winston), one in pino's worker.
      expect(warnings(r.stderr, 'LIBSYSTEMD_JOURNAL_FIELDS')).toBe(2);
      for (const who of ['logger', 'winston', 'pino']) {
        const entries = await j.entries(`SYSLOG_IDENTIFIER=${t}-${who}`);
        const wide = entries.filter((e) => String(e.MESSAGE).startsWith('wide'));
        expect(wide.length, who).toBe(who === 'logger' ? 2 : 1);
        for (const e of wide) {
          const kept = Object.keys(e).filter((k) => /^K\d+$/.test(k));
          const folded = JSON.parse(e.LIBSYSTEMD_FOLDED_FIELDS as string) as Record<string, string>;
          expect(Number(e.LIBSYSTEMD_FOLDED_COUNT), who).toBe(Object.keys(folded).length);
          // Every one of the 2,000 keys is in the entry, as a field or folded, with its value.
          const all = { ...Object.fromEntries(kept.map((k) => [k, e[k]])), ...folded };
          expect(Object.keys(all).length, who).toBe(2000);
          for (let i = 0; i < 2000; i += 199) expect(all[`K${i}`]).toBe(`v${i}`);
          expect(e.PRIORITY).toBe('6');
        }
        if (who !== 'winston') expect(entries.at(-1)!.MESSAGE).toMatch(/^narrow/);
      }
    });

    it('a getter that calls journal.send while its own entry is framed: both entries stored, each with its own fields', async () => {
      const t = id('reentrant');
      const r = await inJournal(
        mode,
        `const fields = { MESSAGE: 'outer', TEST_ID: '${t}', get INNER() { l.journal.send({ MESSAGE: 'inner', TEST_ID: '${t}', ONLY_INNER: 'i' }); return 'from getter'; }, OUTER_AFTER: 'o' };
         out(l.journal.send(fields));`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toBe(true);
      const entries = await j.entries(`TEST_ID=${t}`);
      const outer = entries.find((e) => e.MESSAGE === 'outer');
      const inner = entries.find((e) => e.MESSAGE === 'inner');
      expect(entries).toHaveLength(2);
      expect(outer).toMatchObject({ INNER: 'from getter', OUTER_AFTER: 'o' });
      expect(outer!.ONLY_INNER).toBeUndefined();
      expect(inner).toMatchObject({ ONLY_INNER: 'i' });
      expect(inner!.OUTER_AFTER).toBeUndefined();
    });

    it('PRIORITY must be a syslog priority 0-7: journal.send refuses anything else with ERR_INVALID_ARG_VALUE and sends nothing', async () => {
      const t = id('prio');
      const r = await inJournal(
        mode,
        `const bad = ['abc', '8', 8, -1, '', '33', 3.5, Buffer.from('9'), ['3', 'x']].map((p) => attempt(() => l.journal.send({ MESSAGE: 'bad', PRIORITY: p, TEST_ID: '${t}' })));
         const good = [0, '3', 7, Buffer.from('5')].map((p) => l.journal.send({ MESSAGE: 'good ' + String(p), PRIORITY: p, TEST_ID: '${t}' }));
         out({ bad: bad.map((b) => b.error), message: bad[0].message, good });`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.bad).toEqual(Array(9).fill('ERR_INVALID_ARG_VALUE'));
      expect(r.json.message).toMatch(/PRIORITY.*0-7.*"abc"/);
      expect(r.json.good).toEqual([true, true, true, true]);
      const entries = await j.entries(`TEST_ID=${t}`);
      expect(entries.map((e) => [e.MESSAGE, e.PRIORITY])).toEqual([['good 0', '0'], ['good 3', '3'], ['good 7', '7'], ['good 5', '5']]);
    });

    it("an entry larger than journald's journal file (RuntimeMaxFileSize=64M here): journal.send returns true, stats().oversized counts it, one warning, and journald indeed stores nothing of it; a logger cuts its largest values to fit and the line is stored", async () => {
      const t = id('oversized');
      const r = await inJournal(
        mode,
        `const big = require('node:crypto').randomBytes(80 << 20); // incompressible: journald cannot shrink it
         const sent = [l.journal.send({ MESSAGE: 'too big', TEST_ID: '${t}', VALUE: big }), l.journal.send({ MESSAGE: 'too big again', TEST_ID: '${t}', VALUE: big })];
         const log = l.createLogger({ captureLocation: false });
         log.info('too big from a logger', { TEST_ID: '${t}', value: big, text: 'x'.repeat(70 << 20) });
         l.journal.send({ MESSAGE: 'small after', TEST_ID: '${t}' });
         const stats = await l.journal.flush(60000);
         out({ sent, stats });`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.sent).toEqual([true, true]);
      expect(r.json.stats.oversized, r.stdout + r.stderr).toBe(2);
      expect(warnings(r.stderr, 'LIBSYSTEMD_JOURNAL_OVERSIZED')).toBe(1);
      expect(warnings(r.stderr, 'LIBSYSTEMD_JOURNAL_TRUNCATED')).toBe(1);
      expect(r.stderr).toContain('RuntimeMaxFileSize=64M');
      const entries = await j.entries(`TEST_ID=${t}`, '--output-fields=MESSAGE,LIBSYSTEMD_TRUNCATED');
      expect(entries.map((e) => e.MESSAGE)).toEqual(['too big from a logger', 'small after']);
      expect(entries[0]!.LIBSYSTEMD_TRUNCATED).toMatch(/^(VALUE:83886080,TEXT:73400320|TEXT:73400320,VALUE:83886080)$/);
    });

    it('values no rule can stringify never throw and never stop a writer: a throwing message getter, a null-prototype message, AggregateError, Map and Set', async () => {
      const t = id('values');
      const r = await inJournal(
        mode,
        `const hostileErr = new Error('real'); Object.defineProperty(hostileErr, 'message', { get() { throw new Error('getter exploded'); } });
         const nullProto = Object.assign(Object.create(null), { a: 1 });
         const agg = new AggregateError([new Error('first inner'), new TypeError('second inner', { cause: new Error('inner cause') })], 'many failed');
         const log = l.createLogger({ identifier: '${t}-logger', captureLocation: false });
         const threw = [];
         for (const f of [() => log.error(hostileErr), () => log.info(nullProto), () => log.error(agg), () => log.info('collections', { m: new Map([['a', 1], ['b', { c: 2 }]]), s: new Set([1, 'two']) }),
                          () => log.info('hostile fields', new Proxy({}, { ownKeys() { throw new Error('trap'); } }))]) {
           try { f(); } catch (e) { threw.push(String(e)); }
         }
         const winston = require('winston'); const Journald = require('libsystemd/winston');
         const w = winston.createLogger({ transports: [new Journald({ identifier: '${t}-winston' })] });
         w.info(nullProto); w.info('after null prototype'); w.error(agg); w.info('with map', { m: new Map([['k', 'v']]) }); w.info('last');
         const finished = await Promise.race([new Promise((res) => { w.on('finish', () => res(true)); w.end(); }), new Promise((res) => setTimeout(() => res(false), 10000).unref())]);
         out({ threw, finished, lost: log.lost });`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toEqual({ threw: [], finished: true, lost: 0 });
      const logged = await j.entries(`SYSLOG_IDENTIFIER=${t}-logger`);
      expect(logged).toHaveLength(5);
      expect(logged[0]!.MESSAGE).toMatch(/message could not be read: Error: getter exploded/);
      expect(logged[0]).toMatchObject({ ERROR_NAME: 'Error', PRIORITY: '3' });
      expect(logged[1]!.MESSAGE).toBe('{"a":1}');
      expect(logged[2]).toMatchObject({ MESSAGE: 'many failed', ERROR_NAME: 'AggregateError', ERROR_COUNT: '2' });
      expect(logged[2]!.STACK_TRACE).toMatch(/^AggregateError: many failed\n[\s\S]*\n {4}errors\[0\]: Error: first inner\n[\s\S]*\n {4}errors\[1\]: TypeError: second inner\n[\s\S]*\n {4}Caused by: Error: inner cause/);
      expect(logged[3]).toMatchObject({ MESSAGE: 'collections', M_A: '1', M_B_C: '2', S: '[1,"two"]' });
      expect(logged[4]).toMatchObject({ MESSAGE: 'hostile fields', FIELDS: '[unreadable object: Error: trap]' });
      const won = await j.entries(`SYSLOG_IDENTIFIER=${t}-winston`);
      expect(won.map((e) => e.MESSAGE)).toEqual(['{"a":1}', 'after null prototype', 'many failed', 'with map', 'last']);
      expect(won[2]!.STACK_TRACE).toMatch(/errors\[1\]: TypeError: second inner/);
      expect(won[3]).toMatchObject({ M_K: 'v' });
    });
  });

  it("pino's default SYSLOG_IDENTIFIER is the script's name (not `worker`, its transport thread's file), and an error's cause reads \"Caused by:\" as in createLogger", async () => {
    const r = await inJournal(
      'libsystemd',
      `const pino = require('pino');
       const p = pino({ transport: { target: 'libsystemd/pino' } });
       p.error({ err: new Error('outer ${process.pid}', { cause: new Error('inner') }) }, 'pino default identifier ${process.pid}');
       await new Promise((res) => p.flush(res));
       l.createLogger().error(new Error('logger outer ${process.pid}', { cause: new Error('inner') }));`,
    );
    expect(r.code, r.stderr).toBe(0);
    const [e] = await j.entries(`MESSAGE=pino default identifier ${process.pid}`);
    expect(e).toMatchObject({ SYSLOG_IDENTIFIER: 'run' });
    expect(e!.STACK_TRACE).toMatch(/\nCaused by: Error: inner\n/);
    const [fromLogger] = await j.entries(`MESSAGE=logger outer ${process.pid}`);
    expect(fromLogger!.SYSLOG_IDENTIFIER).toBe('run');
    expect(fromLogger!.STACK_TRACE).toMatch(/\nCaused by: Error: inner\n/);
  });

  it('CODE_FILE and CODE_LINE follow the source map when Node has source maps on (createLogger and the console), the compiled file otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'libsystemd-srcmap-'));
    try {
      const ts = require(join(ROOT, 'node_modules', 'typescript')) as typeof import('typescript');
      const src = `import { createLogger } from ${JSON.stringify(ROOT)};
import { installConsole } from ${JSON.stringify(join(ROOT, 'dist', 'console.js'))};

interface Unused { a: number }

const log = createLogger({ identifier: process.env.TEST_ID });
log.info('from typescript');
installConsole({ force: true, identifier: process.env.TEST_ID });
console.log('console from typescript');
`;
      const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: true }, fileName: 'app.ts' });
      writeFileSync(join(dir, 'app.ts'), src);
      writeFileSync(join(dir, 'app.js'), `${out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, '')}//# sourceMappingURL=app.js.map\n`);
      writeFileSync(join(dir, 'app.js.map'), out.sourceMapText!);
      for (const [flags, file, lines] of [
        [['--enable-source-maps'], 'app.ts', [7, 9]],
        [[], 'app.js', undefined],
      ] as const) {
        const t = `srcmap-${flags.length}-${process.pid}`;
        const r = await j.exec(process.execPath, [...flags, join(dir, 'app.js')], { env: { TEST_ID: t }, timeoutMs: 60_000 });
        expect(r.code, r.stderr).toBe(0);
        const entries: Entry[] = await j.entries(`SYSLOG_IDENTIFIER=${t}`);
        expect(entries.map((e) => e.MESSAGE)).toEqual(['from typescript', 'console from typescript']);
        for (const e of entries) expect(e.CODE_FILE).toBe(join(dir, file));
        if (lines) expect(entries.map((e) => Number(e.CODE_LINE))).toEqual(lines);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
