/**
 * The isolated-journald helper that the journal tests build on: a private systemd-journald
 * receives entries (from systemd-cat and from libsystemd's sd_journal_sendv through the addon)
 * and gives them back with journalctl -o json; the host's /run is untouched.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';

describeWith({ ...JOURNALD_NEEDS, bins: [...(JOURNALD_NEEDS.bins ?? []), 'systemd-cat'] }, 'isolated journald helper', () => {
  let j: Journald;
  const hostHadSocket = existsSync('/run/systemd/journal/socket');
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  it('runs its own journald whose sockets only exist inside its namespace', () => {
    expect(existsSync(`/proc/${j.pid}/root/run/systemd/journal/socket`)).toBe(true);
    expect(existsSync('/run/systemd/journal/socket')).toBe(hostHadSocket);
  });

  it('stores what systemd-cat sends, with its priority and identifier', async () => {
    const id = `cat-${process.pid}-${Date.now()}`;
    const r = await j.exec('systemd-cat', ['-t', id, '-p', 'warning', 'echo', 'hello from systemd-cat']);
    expect(r.code).toBe(0);
    const entries = await j.entries(`SYSLOG_IDENTIFIER=${id}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ MESSAGE: 'hello from systemd-cat', PRIORITY: '4', _TRANSPORT: 'stdout' });
  });

  it('stores an sd_journal_sendv entry sent through the addon, multi-line and non-UTF-8 values intact', async () => {
    const id = `sendv-${process.pid}-${Date.now()}`;
    const code = `const b = require(${JSON.stringify(`${ROOT}/build/Release/systemd_native.node`)});
b.libsystemd_open('libsystemd.so.0');
const rc = b.journal_sendv([Buffer.from('MESSAGE=line one\\nline two'), Buffer.from('TEST_ID=${id}'), Buffer.concat([Buffer.from('BIN='), Buffer.from([0xff, 0x00, 0x41])])]);
console.log(JSON.stringify({ rc }));`;
    const r = await j.exec(process.execPath, ['-e', code]);
    expect(r.json).toEqual({ rc: 0 });
    const [e] = await j.entries(`TEST_ID=${id}`);
    expect(e).toMatchObject({ MESSAGE: 'line one\nline two', _TRANSPORT: 'journal', SYSLOG_IDENTIFIER: 'node' });
    expect(e!.BIN).toEqual([0xff, 0x00, 0x41]);
  });
});
