/**
 * `libsystemd serve` under a real systemd PID 1: an unmodified node:http app
 * (test/fixtures/serve/http-app.js) in 2 workers, a Type=notify-reload service (Type=notify with
 * ExecReload=kill -HUP before systemd 253) behind a .socket, KillMode=mixed (SIGTERM to serve
 * only: it drains the workers), WatchdogSec=:
 * - ActiveState=active only once both workers listen (they take 1.5 s), both answer;
 * - under keep-alive load (autocannon, 20 connections, run inside the container) through 3
 *   `systemctl reload`s and 2 `systemctl restart`s: 0 failed requests, 0 non-2xx, 0 timeouts;
 *   MainPID the same across the reloads, every worker pid new;
 * - a SIGSTOPped worker is replaced while the service stays active with NRestarts=0;
 * - an app that throws at start: retried with a backoff, then the unit fails with the reason.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/env';
import { RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const FIX = `${UNIT_CHECKOUT}/test/fixtures/serve`;
const SERVE = `${process.execPath} ${UNIT_CHECKOUT}/dist/cli.js serve`;

describeWith(SYSTEM_NEEDS, 'libsystemd serve under a real systemd', () => {
  let sd: RealSystemd;
  let version = 0;
  beforeAll(async () => {
    sd = await RealSystemd.start();
    version = Number(/systemd (\d+)/.exec((await sd.systemctl('--version')).stdout)?.[1] ?? 0);
    const reload = version >= 253 ? 'Type=notify-reload\n' : 'Type=notify\nExecReload=/bin/kill -HUP $MAINPID\n';
    await sd.install({
      'serve-app.socket': '[Socket]\nListenStream=127.0.0.1:8400\nFileDescriptorName=http\n',
      'serve-app.service':
        `[Service]\n${reload}ExecStart=${SERVE} --workers 2 ${FIX}/http-app.js\n` +
        // --stuck-after defaults to 5 s here (half of WatchdogSec=): a worker busy under load is not "stuck".
        'Environment=APP_DELAY_MS=2 APP_LISTEN_DELAY_MS=1500\nKillMode=mixed\nWatchdogSec=10\nTimeoutStopSec=20\n',
      'serve-cg.socket': '[Socket]\nListenStream=127.0.0.1:8401\nFileDescriptorName=http\n',
      // systemd's default KillMode=control-group: PID 1 signals the workers too.
      'serve-cg.service': `[Service]\nType=notify\nExecStart=${SERVE} --workers 2 ${FIX}/http-app.js\nTimeoutStopSec=20\n`,
      // Not activated (node:cluster shares the app's port), and a watchdog.
      'serve-wd.service': `[Service]\nType=notify\nExecStart=${SERVE} --workers 2 ${FIX}/http-app.js\nEnvironment=PORT=3300\nWatchdogSec=2\nKillMode=mixed\n`,
      'serve-bad.service': `[Service]\nType=notify\nExecStart=${SERVE} --workers 2 --max-start-failures 3 ${FIX}/throws-app.js\n`,
    });
    expect((await sd.systemctl('start', 'serve-app.socket')).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await sd?.stop();
  });

  const pids = async (): Promise<number[]> => JSON.parse((await sd.exec(process.execPath, `${FIX}/pids.js`, '8400')).stdout.trim().split('\n').pop()!);
  const mainPid = async (): Promise<number> => Number(await sd.prop('serve-app.service', 'MainPID'));

  it('active only once both workers listen; both answer', async () => {
    const t0 = Date.now();
    await sd.systemctl('start', '--no-block', 'serve-app.service');
    await sd.waitFor('serve-app.service', 'StatusText', /^starting 2 worker\(s\) on 1 activated socket\(s\)$/, 10_000);
    expect(await sd.prop('serve-app.service', 'ActiveState')).toBe('activating');
    await sd.waitFor('serve-app.service', 'ActiveState', /^active$/, 30_000);
    console.log(`serve (PID 1): active ${Date.now() - t0} ms after start (the app listens after 1.5 s)`);
    // READY=1 carries the status it was sent with: both workers listened.
    expect(await sd.prop('serve-app.service', 'StatusText')).toMatch(/^2\/2 workers ready, \d+ req\/s, 0 restart\(s\)$/);
    const answering = await pids();
    expect(answering).toHaveLength(2);
    expect(answering).not.toContain(await mainPid());
  }, 60_000);

  it('3 reloads and 2 restarts under keep-alive load: 0 failed requests; MainPID kept across reloads, worker pids new', async () => {
    const before = await pids();
    const main = await mainPid();
    const load = sd.exec(process.execPath, `${FIX}/load.js`, 'http://127.0.0.1:8400/', '20', '30');
    await new Promise((r) => setTimeout(r, 2000));
    const reloadMs: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const t0 = Date.now();
      expect((await sd.systemctl('reload', 'serve-app.service')).code).toBe(0);
      await sd.waitFor('serve-app.service', 'StatusText', new RegExp(`^2/2 workers ready, \\d+ req/s, 0 restart\\(s\\), ${i} reload\\(s\\)$`), 30_000);
      reloadMs.push(Date.now() - t0);
      expect(await sd.prop('serve-app.service', 'ActiveState')).toBe('active');
      expect(await mainPid()).toBe(main);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const reloaded = await pids();
    expect(reloaded).toHaveLength(2);
    for (const p of reloaded) expect(before).not.toContain(p);
    const restartMs: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      expect((await sd.systemctl('restart', 'serve-app.service')).code).toBe(0);
      restartMs.push(Date.now() - t0);
      expect(await sd.prop('serve-app.service', 'ActiveState')).toBe('active');
      await new Promise((r) => setTimeout(r, 1500));
    }
    const r = JSON.parse((await load).stdout.trim().split('\n').pop()!);
    console.log(`serve (PID 1): ${r.total} requests (${r.average} req/s) through 3 reloads (${reloadMs.join(', ')} ms to READY) and 2 restarts (${restartMs.join(', ')} ms); errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}, p99 ${r.latencyP99} ms`);
    expect({ errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
    expect(r.ok).toBeGreaterThan(1000);
    expect(await sd.prop('serve-app.service', 'NRestarts')).toBe('0');
    const after = await pids();
    for (const p of after) expect([...before, ...reloaded]).not.toContain(p);
  }, 120_000);

  it('a SIGSTOPped worker is replaced; the service stays active with NRestarts=0', async () => {
    const main = await mainPid();
    const [stopped] = await pids();
    const t0 = Date.now();
    await sd.exec('kill', '-STOP', String(stopped));
    await sd.waitFor('serve-app.service', 'StatusText', /^2\/2 workers ready, \d+ req\/s, 1 restart\(s\)/, 40_000);
    console.log(`serve (PID 1): SIGSTOPped worker replaced, STATUS= says so ${Date.now() - t0} ms later (--stuck-after 5 s, half of WatchdogSec=10)`);
    expect(await sd.prop('serve-app.service', 'ActiveState')).toBe('active');
    expect(await sd.prop('serve-app.service', 'NRestarts')).toBe('0');
    expect(await mainPid()).toBe(main);
    const now = await pids();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(stopped);
    const entry = (await sd.journal('-u', 'serve-app.service')).find((e) => String(e.MESSAGE).includes(`(pid ${stopped}) sent no health report`));
    // A warning in the journal (serve writes `<4>` when stderr is the journal).
    expect(entry?.PRIORITY).toBe('4');
  }, 60_000);

  it('stop drains, Result=success', async () => {
    expect((await sd.systemctl('stop', 'serve-app.service')).code).toBe(0);
    expect(await sd.prop('serve-app.service', 'Result')).toBe('success');
  }, 60_000);

  it('KillMode=control-group (the default): a request in flight during systemctl stop is answered, Result=success', async () => {
    expect((await sd.systemctl('start', 'serve-cg.socket', 'serve-cg.service')).code).toBe(0);
    const slow = sd.exec(process.execPath, '-e', `const t0 = Date.now(); require('node:http').get({ host: '127.0.0.1', port: 8401, path: '/slow' }, (r) => { r.resume(); r.on('end', () => console.log(JSON.stringify({ status: r.statusCode, ms: Date.now() - t0 }))); }).on('error', (e) => console.log(JSON.stringify({ error: e.code })));`);
    await new Promise((r) => setTimeout(r, 400));
    expect((await sd.systemctl('stop', 'serve-cg.service')).code).toBe(0);
    const r = JSON.parse((await slow).stdout.trim().split('\n').pop()!);
    const journal = (await sd.journal('-u', 'serve-cg.service')).map((e) => String(e.MESSAGE));
    expect(r.status, `${JSON.stringify(r)} ${journal.join('\n')}`).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(1400);
    expect(await sd.prop('serve-cg.service', 'Result')).toBe('success');
    expect(await sd.prop('serve-cg.service', 'ExecMainStatus')).toBe('0');
    const log = (await sd.journal('-u', 'serve-cg.service')).map((e) => String(e.MESSAGE));
    expect(log.filter((m) => /stopped with|exiting now/.test(m))).toEqual([]);
  }, 60_000);

  it('not activated: the workers share the app\'s port; serve itself stopped: the watchdog fires (Result=watchdog), no worker left', async () => {
    expect((await sd.systemctl('start', 'serve-wd.service')).code).toBe(0);
    const answering = JSON.parse((await sd.exec(process.execPath, `${FIX}/pids.js`, '3300')).stdout.trim().split('\n').pop()!) as number[];
    expect(answering).toHaveLength(2);
    // Healthy workers keep it running past WatchdogSec=.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await sd.prop('serve-wd.service', 'ActiveState')).toBe('active');
    const main = await sd.prop('serve-wd.service', 'MainPID');
    await sd.exec('kill', '-STOP', main);
    await sd.waitFor('serve-wd.service', 'Result', /^watchdog$/, 20_000);
    await sd.waitFor('serve-wd.service', 'ActiveState', /^(failed|inactive)$/, 20_000);
    const left = await sd.exec('sh', '-c', `for p in ${answering.join(' ')}; do kill -0 $p 2>/dev/null && echo $p; done; true`);
    expect(left.stdout.trim()).toBe('');
  }, 60_000);

  it('an app that throws at start: retried with a backoff, then the unit fails with the reason', async () => {
    const r = await sd.systemctl('start', 'serve-bad.service');
    expect(r.code).not.toBe(0);
    await sd.waitFor('serve-bad.service', 'ActiveState', /^failed$/, 30_000);
    expect(await sd.prop('serve-bad.service', 'Result')).toBe('exit-code');
    expect(await sd.prop('serve-bad.service', 'ExecMainStatus')).toBe('1');
    const log = (await sd.journal('-u', 'serve-bad.service')).map((e) => String(e.MESSAGE));
    expect(log.some((m) => /start 1 of 3 failed, retrying in 200 ms/.test(m))).toBe(true);
    const reason = (await sd.journal('-u', 'serve-bad.service')).find((e) => /workers failed to start 3 times in a row/.test(String(e.MESSAGE)));
    expect(reason?.PRIORITY).toBe('3');
    expect(log.some((m) => m.includes('boom: the database is not there'))).toBe(true);
  }, 60_000);
});
