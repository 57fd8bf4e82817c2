/**
 * libsystemd/auto under a real systemd PID 1, on unmodified apps (test/fixtures/auto): plain
 * node:http (ESM, --import), Express (CJS, -r), Fastify (ESM, NODE_OPTIONS=--import) and NestJS
 * (CJS on Express, NODE_OPTIONS=-r), and a Next.js standalone build (-r; Next.js handles uncaught
 * errors itself, so there they are logged whole and the service goes on), each a
 * Type=notify service behind a .socket on ANOTHER port than the app asks for: active only once
 * the app listens, served through the activated socket with the app's own port closed,
 * `systemctl stop` during a 2 s request ends Result=success with the request answered,
 * console.error at PRIORITY=3, an uncaught exception as ONE entry holding its cause at
 * PRIORITY=2, and a blocked event loop ended by the watchdog (Result=watchdog).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureApp, ensureNextStandalone } from '../helpers/apps';
import { describeWith } from '../helpers/env';
import { checkOutput, commands, testBlocks } from '../helpers/readme';
import { CHECKOUT, RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

interface App {
  readonly name: string;
  /** The script, as the unit sees it. */
  readonly script: string;
  readonly exec: (script: string) => string;
  readonly env: string;
  /** The app's path for one of the fixtures' routes (/, /slow, /error, /throw, /reject, /block). */
  readonly route: (r: string) => string;
  /** SYSLOG_IDENTIFIER of its console entries (the script's name). */
  readonly identifier: string;
  /** `exit`: an uncaught error ends the process (Node's default); `logged`: the framework handles it itself (Next.js logs it and goes on). */
  readonly fatal: 'exit' | 'logged';
}
const fixture = (f: string): string => `${UNIT_CHECKOUT}/test/fixtures/auto/${f}`;
const plain = (r: string): string => r;
const APPS: readonly App[] = [
  { name: 'http', script: fixture('http.mjs'), exec: (f) => `${process.execPath} --import ${UNIT_CHECKOUT}/dist/auto.mjs ${f}`, env: 'Environment=LISTEN_DELAY_MS=1500\n', route: plain, identifier: 'http', fatal: 'exit' },
  { name: 'express', script: fixture('express.cjs'), exec: (f) => `${process.execPath} -r ${UNIT_CHECKOUT}/dist/auto.js ${f}`, env: '', route: plain, identifier: 'express', fatal: 'exit' },
  { name: 'fastify', script: fixture('fastify.mjs'), exec: (f) => `${process.execPath} ${f}`, env: `Environment="NODE_OPTIONS=--import ${UNIT_CHECKOUT}/dist/auto.mjs"\n`, route: plain, identifier: 'fastify', fatal: 'exit' },
  // NestJS's packages come from helpers/apps.ts (.cache/apps/nest in the checkout), found through NODE_PATH.
  { name: 'nest', script: fixture('nest.cjs'), exec: (f) => `${process.execPath} ${f}`, env: `Environment="NODE_OPTIONS=-r ${UNIT_CHECKOUT}/dist/auto.js" NODE_PATH=${UNIT_CHECKOUT}/${relative(CHECKOUT, ensureApp('nest'))}\n`, route: plain, identifier: 'nest', fatal: 'exit' },
  // Next.js standalone output (built by helpers/apps.ts). NEXT_MANUAL_SIG_HANDLE=true leaves SIGTERM to
  // the preload's drain (Next's own handler would keep control otherwise, as any app's handler does).
  {
    name: 'next',
    script: `${UNIT_CHECKOUT}/${relative(CHECKOUT, ensureNextStandalone())}/server.js`,
    exec: (f) => `${process.execPath} -r ${UNIT_CHECKOUT}/dist/auto.js ${f}`,
    env: 'Environment=NEXT_MANUAL_SIG_HANDLE=true HOSTNAME=127.0.0.1 NEXT_TELEMETRY_DISABLED=1\n',
    route: (r) => (r === '/' ? '/api/hello' : `/api/hello?${r.slice(1)}=1`),
    identifier: 'server',
    fatal: 'logged',
  },
];

/** GET from inside the container; status, the connection header and the body. */
const CLIENT = `const [port, path] = process.argv.slice(1); const t0 = Date.now();
require('node:http').get({ host: '127.0.0.1', port: Number(port), path, agent: new (require('node:http').Agent)({ keepAlive: true }) }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => { console.log(JSON.stringify({ status: r.statusCode, connection: r.headers.connection, body: b, ms: Date.now() - t0 })); process.exit(0); }); }).on('error', (e) => console.log(JSON.stringify({ error: e.code })));`;

describeWith(SYSTEM_NEEDS, 'libsystemd/auto under a real systemd', () => {
  let sd: RealSystemd;
  beforeAll(async () => {
    sd = await RealSystemd.start();
  });
  afterAll(async () => {
    await sd?.stop();
  });

  const get = async (port: number, path: string): Promise<any> => {
    const r = await sd.exec(process.execPath, '-e', CLIENT, String(port), path);
    return JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  };

  describe.each(APPS.map((a, i) => ({ ...a, i })))('$name', (app) => {
    const unit = `auto-${app.name}`;
    const activated = 8300 + app.i;
    const own = 3100 + app.i;

    beforeAll(async () => {
      await sd.install({
        [`${unit}.socket`]: `[Socket]\nListenStream=127.0.0.1:${activated}\nFileDescriptorName=http\n`,
        [`${unit}.service`]: `[Service]\nType=notify\nExecStart=${app.exec(app.script)}\nEnvironment=PORT=${own}\n${app.env}WatchdogSec=3\nTimeoutStopSec=20\n`,
      });
      expect((await sd.systemctl('start', `${unit}.socket`)).code).toBe(0);
    });

    it('active only once the app listens; served through the activated socket; its own port closed', async () => {
      await sd.systemctl('start', '--no-block', `${unit}.service`);
      if (app.name === 'http') {
        // This app listens 1.5 s after start: systemd must wait for it.
        await sd.waitFor(`${unit}.service`, 'StatusText', /^starting: waiting for the app to listen \(1 activated socket\(s\)\)$/, 5000);
        expect(await sd.prop(`${unit}.service`, 'ActiveState')).toBe('activating');
      }
      await sd.waitFor(`${unit}.service`, 'ActiveState', /^active$/, 20_000);
      expect(await sd.prop(`${unit}.service`, 'StatusText')).toBe(`serving on 127.0.0.1:${activated} (http)`);
      const r = await get(activated, app.route('/'));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).pid).toBe(Number(await sd.prop(`${unit}.service`, 'MainPID')));
      expect(await get(own, app.route('/'))).toEqual({ error: 'ECONNREFUSED' });
    });

    it('console.error is one entry at PRIORITY=3', async () => {
      expect((await get(activated, app.route('/error'))).status).toBe(200);
      const deadline = Date.now() + 10_000;
      let entries: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        entries = (await sd.journal('-u', `${unit}.service`)).filter((e) => e.MESSAGE === 'something failed: disk full');
        if (entries.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ PRIORITY: '3', SYSLOG_IDENTIFIER: app.identifier });
    });

    it('systemctl stop during a 2 s request: the request completes with Connection: close, Result=success', async () => {
      const slow = get(activated, app.route('/slow'));
      await new Promise((r) => setTimeout(r, 500));
      const stop = await sd.systemctl('stop', `${unit}.service`);
      expect(stop.code).toBe(0);
      const r = await slow;
      expect(r).toMatchObject({ status: 200, connection: 'close' });
      expect(JSON.parse(r.body)).toMatchObject({ slow: true });
      expect(r.ms).toBeGreaterThanOrEqual(1900);
      expect(await sd.prop(`${unit}.service`, 'Result')).toBe('success');
      expect(await sd.prop(`${unit}.service`, 'ExecMainStatus')).toBe('0');
    });

    /** The one entry that mentions either text (waits for it), and how many there are. */
    const fatalEntries = async (a: string, b: string): Promise<Record<string, unknown>[]> => {
      const deadline = Date.now() + 10_000;
      let entries: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        entries = (await sd.journal('-u', `${unit}.service`)).filter((e) => String(e.MESSAGE).includes(a) || String(e.MESSAGE).includes(b));
        if (entries.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return entries;
    };

    it(`an uncaught exception ${app.fatal === 'exit' ? 'is ONE entry holding its cause at PRIORITY=2, and the service fails with exit code 1' : 'is logged by Next.js itself, each console.error a whole entry holding the cause (PRIORITY=3), and it keeps serving'}`, async () => {
      expect((await sd.systemctl('start', `${unit}.service`)).code).toBe(0);
      await get(activated, app.route('/throw'));
      if (app.fatal === 'exit') {
        await sd.waitFor(`${unit}.service`, 'ActiveState', /^(failed|inactive)$/, 15_000);
        expect(await sd.prop(`${unit}.service`, 'Result')).toBe('exit-code');
        expect(await sd.prop(`${unit}.service`, 'ExecMainStatus')).toBe('1');
      }
      const entries = await fatalEntries('request handler exploded', 'the database is gone');
      // Next.js itself logs it twice (its server's handler and its router's "⨯ uncaughtException:"):
      // each of its console.error calls is one whole entry, never a stack split over lines.
      if (app.fatal === 'exit') expect(entries).toHaveLength(1);
      for (const e of entries) expect(e.MESSAGE).toMatch(/request handler exploded[\s\S]*the database is gone/);
      expect(entries[0]!.MESSAGE).toContain('[cause]: Error: the database is gone');
      expect(entries[0]!.STACK_TRACE).toContain('Caused by: Error: the database is gone');
      if (app.fatal === 'exit') {
        expect(entries[0]).toMatchObject({ PRIORITY: '2', ERROR_NAME: 'Error' });
        expect(entries[0]!.MESSAGE).toMatch(/^Uncaught exception: Error: request handler exploded\n\s+at /);
        await sd.systemctl('reset-failed', `${unit}.service`);
      } else {
        expect(entries[0]).toMatchObject({ PRIORITY: '3', ERROR_NAME: 'Error' });
        expect(await sd.prop(`${unit}.service`, 'ActiveState')).toBe('active');
        expect((await get(activated, app.route('/'))).status).toBe(200);
        await sd.systemctl('stop', `${unit}.service`);
      }
    });

    it(`an unhandled rejection ${app.fatal === 'exit' ? 'is ONE entry holding its cause at PRIORITY=2, exit code 1' : 'is logged by Next.js itself in whole entries holding the cause (PRIORITY=3)'}`, async () => {
      expect((await sd.systemctl('start', `${unit}.service`)).code).toBe(0);
      await get(activated, app.route('/reject'));
      if (app.fatal === 'exit') {
        await sd.waitFor(`${unit}.service`, 'ActiveState', /^(failed|inactive)$/, 15_000);
        expect(await sd.prop(`${unit}.service`, 'ExecMainStatus')).toBe('1');
      }
      const entries = await fatalEntries('nobody awaited me', 'root cause here');
      if (app.fatal === 'exit') expect(entries).toHaveLength(1);
      for (const e of entries) expect(e.MESSAGE).toMatch(/nobody awaited me[\s\S]*root cause here/);
      expect(entries[0]!.MESSAGE).toContain('[cause]: RangeError: root cause here');
      if (app.fatal === 'exit') {
        expect(entries[0]).toMatchObject({ PRIORITY: '2', ERROR_NAME: 'TypeError' });
        expect(entries[0]!.MESSAGE).toMatch(/^Unhandled rejection: TypeError: nobody awaited me\n/);
        await sd.systemctl('reset-failed', `${unit}.service`);
      } else {
        expect(entries[0]).toMatchObject({ PRIORITY: '3', ERROR_NAME: 'TypeError' });
        await sd.systemctl('stop', `${unit}.service`);
      }
    });

    it('a blocked event loop is ended by the watchdog (Result=watchdog)', async () => {
      expect((await sd.systemctl('start', `${unit}.service`)).code).toBe(0);
      // Healthy, it outlives WatchdogSec=3 (the preload pings): only the blocked loop ends it.
      await new Promise((r) => setTimeout(r, 4500));
      expect(await sd.prop(`${unit}.service`, 'ActiveState')).toBe('active');
      expect((await get(activated, app.route('/'))).status).toBe(200);
      await get(activated, app.route('/block'));
      await sd.waitFor(`${unit}.service`, 'Result', /^watchdog$/, 20_000);
      await sd.waitFor(`${unit}.service`, 'ActiveState', /^(failed|inactive)$/, 20_000);
      await sd.systemctl('reset-failed', `${unit}.service`);
    });
  });
});

describeWith(SYSTEM_NEEDS, 'examples/zero-code as written, under a real systemd', () => {
  it('the app and its two unit files as written; every command of the README block answers what its comment says', async () => {
    // /srv is a private tmpfs of the container, where the README installs the app.
    const sd = await RealSystemd.start(['--tmpfs', '/srv']);
    try {
      const dir = join(CHECKOUT, 'examples', 'zero-code');
      await sd.sh(['put', join(dir, 'app.js'), '/srv/app/app.js', '0644']);
      // What `npm install libsystemd` leaves in /srv/app.
      const link = await sd.exec('/bin/sh', '-c', `mkdir -p /srv/app/node_modules && ln -s ${UNIT_CHECKOUT} /srv/app/node_modules/libsystemd`);
      expect(link.code, link.stderr).toBe(0);
      await sd.install({ 'hello.socket': readFileSync(join(dir, 'hello.socket'), 'utf8'), 'hello.service': readFileSync(join(dir, 'hello.service'), 'utf8') });
      for (const c of commands(...testBlocks('examples/zero-code/README.md', 'zero-code'))) {
        // The journal and the unit state settle a moment after the request that changed them.
        const deadline = Date.now() + 10_000;
        for (;;) {
          const r = await sd.exec('/bin/sh', '-c', c.cmd);
          try {
            checkOutput(c, r.stdout + r.stderr);
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await new Promise((res) => setTimeout(res, 200));
          }
        }
      }
    } finally {
      await sd.stop();
    }
  });
});
