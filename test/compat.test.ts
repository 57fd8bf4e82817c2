/**
 * The drop-in entry points for sd-notify and systemd-journald, against a real receiving socket
 * and a real journald: same exports and results, the originals' bugs fixed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ROOT, run as runCmd, runFixture } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { NotifyReceiver } from './helpers/notify';

describeWith({ linux: true }, 'compat/sd-notify', () => {
  let rx: NotifyReceiver;
  afterEach(() => rx?.close());
  const run = (code: string, env: Record<string, string | undefined> = {}) =>
    runFixture('run.cjs', [`const sd = require('libsystemd/compat/sd-notify'); ${code}`], { env: { NOTIFY_SOCKET: rx.address, ...env } });

  it('has sd-notify 2.8 exports and results (undefined), and no newline injection', async () => {
    rx = NotifyReceiver.open();
    const r = await run(`out([sd.ready(), sd.stopping(123), sd.watchdog(), sd.sendState(['READY=1', 'STATUS=x']), sd.sendState('X_RAW=1'),
      sd.sendStatus('evil\\nREADY=1'), sd.sendStatus('ok'), sd.sendState('bad\\nline'), Object.keys(sd).sort()])`);
    expect(r.stderr).toBe('');
    expect(r.json.slice(0, 8)).toEqual([null, null, null, null, null, null, null, null]);
    expect(r.json[8]).toEqual(['journalPrint', 'log', 'ready', 'sendState', 'sendStatus', 'startWatchdogMode', 'stopWatchdogMode', 'stopping', 'watchdog', 'watchdogInterval']);
    expect(rx.take().map((m) => m.text)).toEqual(['READY=1', 'STOPPING=1', 'WATCHDOG=1', 'READY=1\nSTATUS=x', 'X_RAW=1', 'STATUS=evil READY=1', 'STATUS=ok']);
  });

  it('watchdogInterval in ms honours WATCHDOG_PID; startWatchdogMode does not leak a second timer', async () => {
    rx = NotifyReceiver.open();
    const r = await run(
      `const a = sd.watchdogInterval(); sd.startWatchdogMode(50); sd.startWatchdogMode(50);
       setTimeout(() => { sd.stopWatchdogMode(); out({ a }); }, 275);`,
      { WATCHDOG_USEC: '2500500' },
    );
    expect(r.json).toEqual({ a: 2500 });
    const pings = rx.take().length;
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(pings).toBeLessThanOrEqual(6);
    const other = await run(`out(sd.watchdogInterval())`, { WATCHDOG_USEC: '2500500', WATCHDOG_PID: '1' });
    expect(other.json).toBe(0);
  });

  it('is a silent no-op without NOTIFY_SOCKET, and ESM named imports work', async () => {
    rx = NotifyReceiver.open();
    const dir = mkdtempSync(join(tmpdir(), 'libsystemd-compat-'));
    try {
      const file = join(dir, 'esm.mjs');
      writeFileSync(file, `import sd, { ready, watchdogInterval, log } from ${JSON.stringify(join(ROOT, 'dist', 'compat', 'sd-notify.mjs'))};\nconsole.log(JSON.stringify([ready(), watchdogInterval(), typeof log.warn, sd.ready === ready]));\n`);
      const r = await runCmd(process.execPath, [file], { env: { NOTIFY_SOCKET: undefined } });
      expect(r.stderr).toBe('');
      expect(r.json).toEqual([null, 0, 'function', true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(JOURNALD_NEEDS, 'compat journal APIs with a real journald', () => {
  let j: Journald;
  let dir: string;
  beforeAll(async () => {
    j = await Journald.start();
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-compat-j-'));
  });
  afterAll(() => {
    j?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sd-notify journalPrint/log.*: the DT array shape logs at INFO, and CODE_* is the JavaScript caller', async () => {
    const file = join(dir, 'sdlog.cjs');
    writeFileSync(file, `const sd = require(${JSON.stringify(join(ROOT, 'dist', 'compat', 'sd-notify.js'))});\nsd.journalPrint(['OK', 'But']);\nsd.journalPrint(3, 'level three');\nsd.log.warn('joined', 42, 'words');\n`);
    await j.exec(process.execPath, [file]);
    const entries = await j.entries('SYSLOG_IDENTIFIER=sdlog');
    expect(entries.map((e) => [e.MESSAGE, e.PRIORITY, e.CODE_FILE, e.CODE_LINE])).toEqual([
      ['OK But', '6', file, '2'],
      ['level three', '3', file, '3'],
      ['joined 42 words', '4', file, '4'],
    ]);
  });

  it('systemd-journald: constructor and static methods with its field rules', async () => {
    const file = join(dir, 'sj.cjs');
    writeFileSync(
      file,
      `const Journald = require(${JSON.stringify(join(ROOT, 'dist', 'compat', 'systemd-journald.js'))});
const log = new Journald({ syslog_identifier: 'sjtest', obj: { nested: 1 }, shared: 'default' });
log.warning('instance', { buf: Buffer.from('hi'), nul: null, undef: undefined, priority: 1, 'my-key': 'x', shared: 'call' });
function failing() { Journald.err(new Error('static error'), { syslog_identifier: 'sjtest' }); }
failing();
let thrown; try { log.info(undefined); } catch (e) { thrown = e.message; }
Journald.info('thrown: ' + thrown, { syslog_identifier: 'sjtest' });
`,
    );
    const r = await j.exec(process.execPath, [file]);
    expect(r.stderr).toBe('');
    const entries = await j.entries('SYSLOG_IDENTIFIER=sjtest');
    expect(entries[0]).toMatchObject({ MESSAGE: 'instance', PRIORITY: '4', OBJ_NESTED: '1', BUF: '6869', NUL: 'null', MY_KEY: 'x', SHARED: 'call' });
    expect(entries[0]!.UNDEF).toBeUndefined();
    expect(entries[1]).toMatchObject({ MESSAGE: 'static error', PRIORITY: '3', CODE_FILE: file, CODE_LINE: '4', CODE_FUNC: 'failing' });
    expect(entries[1]!.STACK_TRACE).toMatch(/^Error: static error\n/);
    expect(entries[2]).toMatchObject({ MESSAGE: 'thrown: Please specify a message', PRIORITY: '6' });
  });
});

