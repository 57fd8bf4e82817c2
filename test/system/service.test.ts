/**
 * The service toolkit under a real systemd PID 1 (systemd 252 here), with the example service
 * (examples/service-toolkit): reload (RELOADING=1 → the handler → READY=1; a failing handler
 * leaves it running with the error in StatusText), a graceful stop whose flushed entry is in the
 * journal, credentials read back exactly, ids and the unit of a process against systemd's own
 * answers, and exit-when-idle across 20+ socket-activated restarts with every request answered.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mode } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { modeEnvironment, RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const SERVER = `${UNIT_CHECKOUT}/examples/service-toolkit/server.js`;
/** The backends that run a service: libsystemd's calls, and the TypeScript protocols over the addon. */
const BACKENDS: readonly Mode[] = ['libsystemd', 'js/native'];

/**
 * A unit for the example server. Reloads: systemd 253+ has Type=notify-reload (it sends SIGHUP
 * itself and follows RELOADING=1 … READY=1); before, Type=notify with ExecReload=kill -HUP, which
 * systemd follows the same way. From 253 on, a Type=notify unit is "reloading" only while its
 * ExecReload= runs (libsystemd unit --reload picks by version for that reason).
 */
function unit(mode: Mode, extra: string, systemd = 0): string {
  const reload = systemd >= 253 ? 'Type=notify-reload\n' : 'Type=notify\nExecReload=/bin/kill -HUP $MAINPID\n';
  return `[Unit]\nDescription=toolkit test\n\n[Service]\n${reload}${modeEnvironment(mode)}ExecStart=${process.execPath} ${SERVER}\n${extra}\n`;
}

describeWith(SYSTEM_NEEDS, 'service toolkit under a real systemd', () => {
  let sd: RealSystemd;
  /** The version of the systemd booted (the host's, or a matrix root's). */
  let version = 0;
  beforeAll(async () => {
    sd = await RealSystemd.start();
    version = Number(/systemd (\d+)/.exec((await sd.sh(['systemctl', '--version'])).stdout)?.[1] ?? 0);
    await sd.exec('/bin/sh', '-c', 'mkdir -p /run/toolkit && echo hello > /run/toolkit/greeting && printf "s3cr\\001t\\n" > /run/toolkit/api-token');
  });
  afterAll(async () => {
    await sd?.stop();
  });

  describe.each(BACKENDS)('%s', (mode) => {
    const name = `toolkit-${mode.replace('/', '-')}`;
    const port = mode === 'libsystemd' ? 8191 : 8192;

    it('systemctl reload: reloading until the handler resolved, then active with its StatusText; a failing handler leaves it running', async () => {
      await sd.exec('/bin/sh', '-c', `echo hello > /run/toolkit/greeting; rm -f /run/toolkit/fail-${name}`);
      await sd.install({ [`${name}-reload.service`]: unit(mode, `Environment=PORT=${port} GREETING_FILE=/run/toolkit/greeting RELOAD_DELAY_MS=1500 RELOAD_FAIL_FILE=/run/toolkit/fail-${name}`, version) });
      expect((await sd.systemctl('start', `${name}-reload.service`)).code).toBe(0);
      expect(await sd.httpGet(port)).toMatchObject({ greeting: 'hello', reloads: 0 });
      await sd.exec('/bin/sh', '-c', 'echo bonjour > /run/toolkit/greeting');
      await sd.systemctl('reload', '--no-block', `${name}-reload.service`);
      await sd.waitFor(`${name}-reload.service`, 'ActiveState', /^reloading$/, 5000);
      // Still serving the old config while reloading.
      expect(await sd.httpGet(port)).toMatchObject({ greeting: 'hello' });
      await sd.waitFor(`${name}-reload.service`, 'ActiveState', /^active$/, 10_000);
      expect(await sd.prop(`${name}-reload.service`, 'StatusText')).toBe('serving; reloaded 1 time(s)');
      expect(await sd.httpGet(port)).toMatchObject({ greeting: 'bonjour', reloads: 1 });
      // A failing reload: the service stays up, with the reason shown.
      await sd.exec('/bin/sh', '-c', `touch /run/toolkit/fail-${name}`);
      await sd.systemctl('reload', `${name}-reload.service`);
      await sd.waitFor(`${name}-reload.service`, 'StatusText', /^reload failed: bad config/, 10_000);
      expect(await sd.prop(`${name}-reload.service`, 'ActiveState')).toBe('active');
      expect(await sd.httpGet(port)).toMatchObject({ greeting: 'bonjour', reloads: 1 });
      await sd.systemctl('stop', `${name}-reload.service`);
    });

    it('systemctl stop: STOPPING=1, the handler, the journal flushed, Result=success; a handler past its timeout exits 1', async () => {
      await sd.install({
        [`${name}-stop.service`]: unit(mode, `Environment=PORT=${port + 10} SHUTDOWN_DELAY_MS=800`),
        [`${name}-slow.service`]: unit(mode, `Environment=PORT=${port + 20} SHUTDOWN_DELAY_MS=3000 SHUTDOWN_TIMEOUT_MS=500`),
      });
      expect((await sd.systemctl('start', `${name}-stop.service`, `${name}-slow.service`)).code).toBe(0);
      await sd.systemctl('stop', '--no-block', `${name}-stop.service`);
      await sd.waitFor(`${name}-stop.service`, 'ActiveState', /^deactivating$/, 5000);
      await sd.waitFor(`${name}-stop.service`, 'ActiveState', /^inactive$/, 10_000);
      expect(await sd.prop(`${name}-stop.service`, 'Result')).toBe('success');
      const log = (await sd.journal('-u', `${name}-stop.service`)).map((e) => e.MESSAGE);
      expect(log).toContain('stopping on SIGTERM');
      expect(log).toContain('shutdown complete');
      await sd.systemctl('stop', `${name}-slow.service`);
      await sd.waitFor(`${name}-slow.service`, 'ActiveState', /^(inactive|failed)$/, 10_000);
      expect(await sd.prop(`${name}-slow.service`, 'Result')).toBe('exit-code');
      const slow = (await sd.journal('-u', `${name}-slow.service`)).map((e) => e.MESSAGE).join('\n');
      expect(slow).toContain('the shutdown handler did not finish within 500 ms');
    });

    it('LoadCredential= and SetCredential= values read back exactly; a missing one names the setting', async () => {
      const script = `const l = require('${UNIT_CHECKOUT}'); const h = (b) => require('crypto').createHash('sha256').update(b).digest('hex');
let missing; try { l.credential('nope'); } catch (e) { missing = e.code + ': ' + e.message; }
l.journal.send({ MESSAGE: 'creds', TEST: '${name}', NAMES: l.credentials().join(','), TOKEN: h(l.credential('api-token')), GREETING: l.credential('greeting', { encoding: 'utf8' }), MISSING: missing });
l.journal.flush().then(() => process.exit(0));`;
      await sd.install({ [`${name}-cred.service`]: `[Service]\nType=oneshot\n${modeEnvironment(mode)}ExecStart=${process.execPath} -e "${script.replace(/"/g, '\\"').replace(/\n/g, ' ')}"\nLoadCredential=api-token:/run/toolkit/api-token\nSetCredential=greeting:guten tag\n` });
      expect((await sd.systemctl('start', `${name}-cred.service`)).code).toBe(0);
      const [e] = await sd.journal(`TEST=${name}`);
      expect(e).toMatchObject({ NAMES: 'api-token,greeting', TOKEN: createHash('sha256').update('s3cr\x01t\n').digest('hex'), GREETING: 'guten tag' });
      expect(e!.MISSING).toMatch(/^ERR_LIBSYSTEMD_NO_CREDENTIAL: credential "nope" is not passed to this service: add LoadCredential=nope:/);
    });

    it('machineId({ app }), bootId, invocationId and unitOf agree with systemd inside a unit', async () => {
      const app = 'b1c4a7e2d3f94e6c8a0b1c2d3e4f5a6b';
      const script = `const l = require('${UNIT_CHECKOUT}'); l.journal.send({ MESSAGE: 'ids', TEST: '${name}-ids', MACHINE: l.machineId(), APP: l.machineId({ app: '${app}' }), BOOT: l.bootId(), BOOT_APP: l.bootId({ app: '${app}' }), INV: l.invocationId(), UNIT_OF: JSON.stringify(l.unitOf()) }); l.journal.flush().then(() => process.exit(0));`;
      await sd.install({ [`${name}-ids.service`]: `[Service]\nType=oneshot\nRemainAfterExit=yes\n${modeEnvironment(mode)}ExecStart=${process.execPath} -e "${script.replace(/"/g, '\\"')}"\n` });
      expect((await sd.systemctl('start', `${name}-ids.service`)).code).toBe(0);
      const [e] = await sd.journal(`TEST=${name}-ids`);
      // systemd-id128 of this root; before v250 its app-specific ids need the kernel's AF_ALG, which
      // a container may lack (EOPNOTSUPP): then the expected value is HMAC-SHA256 computed here.
      const want = async (args: string[]): Promise<string | undefined> => {
        const r = await sd.exec('systemd-id128', ...args);
        return r.code === 0 ? r.stdout.trim() : undefined;
      };
      const derive = (base: string): string => {
        const h = createHmac('sha256', Buffer.from(base, 'hex')).update(Buffer.from(app, 'hex')).digest().subarray(0, 16);
        h[6] = (h[6]! & 0x0f) | 0x40;
        h[8] = (h[8]! & 0x3f) | 0x80;
        return h.toString('hex');
      };
      const machine = (await want(['machine-id']))!;
      const boot = (await want(['boot-id']))!;
      // journald adds _SYSTEMD_INVOCATION_ID from the sender's cgroup, which it may no longer find
      // for a process that exited right after sending (seen under load): then the unit's own
      // (RemainAfterExit= keeps the unit active, and its InvocationID with it).
      const invocation = (e!._SYSTEMD_INVOCATION_ID as string | undefined) ?? (await sd.prop(`${name}-ids.service`, 'InvocationID'));
      expect(invocation).toMatch(/^[0-9a-f]{32}$/);
      expect(e).toMatchObject({
        MACHINE: machine,
        APP: (await want(['machine-id', `--app-specific=${app}`])) ?? derive(machine),
        BOOT: boot,
        BOOT_APP: (await want(['boot-id', `--app-specific=${app}`])) ?? derive(boot),
        INV: invocation,
      });
      expect(JSON.parse(e!.UNIT_OF as string)).toEqual({ unit: `${name}-ids.service`, slice: 'system.slice' });
    });
  });

  it('exitWhenIdle: 20+ exit/restart cycles under a client load spaced around the idle time, every request answered', async () => {
    await sd.install({
      'idle.socket': '[Socket]\nListenStream=127.0.0.1:8199\nFileDescriptorName=http\n',
      // Restarts come often here: systemd's default start limit (5 in 10 s) would fail the unit.
      'idle.service': `[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nType=notify\nExecStart=${process.execPath} ${SERVER}\nEnvironment=IDLE_MS=300 KEEPALIVE_MS=100\n`,
    });
    expect((await sd.systemctl('start', 'idle.socket')).code).toBe(0);
    // Requests 150-650 ms apart (idle time 300 ms): about half of the gaps let the service exit.
    const client = `const http = require('node:http'); const agent = new http.Agent({ keepAlive: false });
const get = () => new Promise((res) => { const t0 = Date.now(); http.get({ host: '127.0.0.1', port: 8199, path: '/', agent }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res({ ok: r.statusCode === 200, pid: JSON.parse(b).pid, ms: Date.now() - t0 })); }).on('error', (e) => res({ ok: false, error: e.code, ms: Date.now() - t0 })); });
(async () => { const out = []; let seed = 7; const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 90; i++) { out.push(await get()); await new Promise((r) => setTimeout(r, 150 + rnd() * 500)); }
  console.log(JSON.stringify(out)); })();`;
    const r = await sd.exec(process.execPath, '-e', client);
    const results = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; pid?: number; ms: number; error?: string }[];
    const failed = results.filter((x) => !x.ok);
    expect(failed).toEqual([]);
    // A new pid is a new start: the first request after each restart waited for it.
    const firstAfterRestart: number[] = [];
    for (let i = 1; i < results.length; i++) if (results[i]!.pid !== results[i - 1]!.pid) firstAfterRestart.push(results[i]!.ms);
    const restarts = new Set(results.map((x) => x.pid)).size - 1;
    const sorted = [...firstAfterRestart].sort((a, b) => a - b);
    console.log(`exitWhenIdle: ${results.length} requests, ${results.length - failed.length} answered, ${restarts} exit/restart cycles; first request after a restart: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`);
    expect(restarts).toBeGreaterThanOrEqual(20);
    const log = (await sd.journal('-u', 'idle.service')).map((e) => e.MESSAGE).join('\n');
    expect(log).not.toMatch(/Failed with result/);
  }, 180_000);
});
