/**
 * The demo under a real systemd, with the units `libsystemd unit --notify --watchdog 5s
 * --listen 8080` generates: they pass systemd-analyze verify, the service starts on the first
 * connection, becomes active after readiness, serves the request on the activated socket, its
 * journal entries carry the request fields, and `libsystemd doctor` (ExecStartPre=) finds no
 * problem.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/env';
import { RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

describeWith(SYSTEM_NEEDS, 'demo with generated units under a real systemd', () => {
  let sd: RealSystemd;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-demo-units-'));
    sd = await RealSystemd.start();
  });
  afterAll(async () => {
    await sd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generated units verify, start on a connection, serve, log request fields, and doctor reports no problem', async () => {
    // `libsystemd unit` runs where the app is, as on a real machine: inside the container.
    const gen = await sd.exec(process.execPath, `${UNIT_CHECKOUT}/dist/cli.js`, 'unit', '--name', 'demo', '--exec', `${UNIT_CHECKOUT}/examples/demo/server.js`, '--notify', '--watchdog', '5s', '--listen', '8080', '--dir', '/etc/systemd/system');
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain('wrote /etc/systemd/system/demo.service\nwrote /etc/systemd/system/demo-http.socket\n');
    const dropIn = join(dir, 'doctor.conf');
    writeFileSync(dropIn, `[Service]\nExecStartPre=${process.execPath} ${UNIT_CHECKOUT}/dist/cli.js doctor\n`);
    await sd.sh(['put', dropIn, '/etc/systemd/system/demo.service.d/doctor.conf']);
    expect((await sd.systemctl('daemon-reload')).code).toBe(0);

    const verify = await sd.exec('systemd-analyze', 'verify', '/etc/systemd/system/demo.service', '/etc/systemd/system/demo-http.socket');
    expect(verify.stderr + verify.stdout).not.toMatch(/demo/);
    // systemd-analyze before v250 cannot set up its test manager in a cgroup namespace without
    // controllers ("Failed to determine supported controllers"): nothing about the units.
    if (!/Failed to determine supported controllers/.test(verify.stderr)) expect(verify.code).toBe(0);

    expect((await sd.systemctl('start', 'demo-http.socket')).code).toBe(0);
    expect(await sd.prop('demo.service', 'ActiveState')).toBe('inactive');
    const reply = await sd.httpGet(8080);
    expect(reply).toMatchObject({ hello: 'from libsystemd', served: 1 });
    await sd.waitFor('demo.service', 'ActiveState', /^active$/);
    expect(await sd.prop('demo.service', 'Type')).toBe('notify');
    expect(await sd.prop('demo.service', 'WatchdogUSec')).toBe('5s');
    await sd.waitFor('demo.service', 'StatusText', /^1 request\(s\) served$/);

    const requests = await sd.journal('-t', 'libsystemd-demo', 'PATH=/');
    expect(requests[0]).toMatchObject({ MESSAGE: 'GET / 200', METHOD: 'GET', PATH: '/', STATUS: '200', PRIORITY: '6', _SYSTEMD_UNIT: 'demo.service' });
    expect(requests[0]!.DURATION_MS).toMatch(/^\d+\.\d{3}$/);

    // ExecStartPre= gets what systemd gives every process of the unit (journal, JOURNAL_STREAM).
    const pre = (await sd.journal('-u', 'demo.service', '_COMM=node')).map((e) => String(e.MESSAGE));
    expect(pre).toContain('No problems found.');
    expect(pre.filter((l) => /^\s+(FAIL|WARN)/.test(l))).toEqual([]);
    expect(pre.some((l) => /^\s+OK\s+journald\s+a probe entry was stored and read back/.test(l))).toBe(true);
    expect(pre.some((l) => /^\s+OK\s+JOURNAL_STREAM/.test(l))).toBe(true);

    // As a main process (what NOTIFY_SOCKET, LISTEN_FDS and WATCHDOG_USEC are given to): a
    // oneshot sharing the demo's socket, with a watchdog. A FAIL would fail the unit.
    await sd.install({
      'doctor-check.service': `[Service]\nType=oneshot\nExecStart=${process.execPath} ${UNIT_CHECKOUT}/dist/cli.js doctor\nSockets=demo-http.socket\nWatchdogSec=30s\n`,
    });
    expect((await sd.systemctl('start', 'doctor-check.service')).code).toBe(0);
    const main = (await sd.journal('-u', 'doctor-check.service', '_COMM=node')).map((e) => String(e.MESSAGE));
    expect(main).toContain('No problems found.');
    for (const check of ['backend', 'NOTIFY_SOCKET', 'LISTEN_FDS', 'WATCHDOG_USEC', 'JOURNAL_STREAM', 'journald']) {
      expect(main.some((l) => new RegExp(`^\\s+OK\\s+${check}\\s`).test(l)), `${check}:\n${main.join('\n')}`).toBe(true);
    }
    expect(main.some((l) => /LISTEN_FDS\s+fd 3 "http" \(listening socket\)/.test(l))).toBe(true);
  });
});
