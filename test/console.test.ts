/**
 * libsystemd/console under a real journald: with stdout/stderr connected to the journal (as
 * systemd connects a service's), each console call is one entry at its priority, stack traces and
 * multi-line text kept whole; outside systemd the console is untouched.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES, runFixture } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

const RUN = join(FIXTURES, 'run.cjs');
const CODE = `const c = require('libsystemd/console');
const installed = c.installConsole();
console.error(new Error('broken', { cause: new Error('root cause') }));
console.warn('careful');
console.log('first line\\nsecond line');
console.info('info %d', 42);
console.debug('details', { a: 1 });
c.uninstall();
console.log('after uninstall: ' + installed);`;

describeWith({ ...JOURNALD_NEEDS, bins: [...(JOURNALD_NEEDS.bins ?? []), 'systemd-cat', 'stat'] }, 'installConsole() with a real journald', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  it('one entry per console call at its priority, the whole stack in one entry; uninstall() restores', async () => {
    const id = `console-${process.pid}`;
    const r = await j.exec('systemd-cat', ['-t', id, '/bin/sh', '-c', 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" "$@"', process.execPath, RUN, CODE]);
    expect(r.code).toBe(0);
    // The console's entries carry the script's name (as createLogger's do); stdout lines the tag.
    const script = await j.entries('SYSLOG_IDENTIFIER=run', '_TRANSPORT=journal');
    const entries = await j.entries(`SYSLOG_IDENTIFIER=${id}`);
    expect(script.map((e) => e.PRIORITY)).toEqual(['3', '4', '6', '6', '7']);
    const err = script[0]!;
    expect(err.MESSAGE).toMatch(/^Error: broken\n {4}at /);
    expect(err.STACK_TRACE).toMatch(/^Error: broken\n[\s\S]*\nCaused by: Error: root cause\n/);
    expect(err.ERROR_NAME).toBe('Error');
    expect(script.slice(1).map((e) => e.MESSAGE)).toEqual(['careful', 'first line\nsecond line', 'info 42', 'details { a: 1 }']);
    // Back to plain stdout after uninstall(): a stream line, as any service's output.
    expect(entries.filter((e) => e._TRANSPORT === 'stdout').map((e) => e.MESSAGE)).toEqual(['after uninstall: true']);
  });
});

describeWith({ linux: true }, 'installConsole() outside systemd', () => {
  it('leaves the console untouched and says so', async () => {
    const r = await runFixture('run.cjs', [CODE], { env: { JOURNAL_STREAM: undefined } });
    expect(r.stdout).toContain('first line\nsecond line\ninfo 42\n');
    expect(r.stdout).toContain('after uninstall: false');
    expect(r.stderr).toContain('Error: broken');
    expect(r.stderr).toContain('careful');
  });
});
