/**
 * `libsystemd run --json` driving the examples the way systemd would: the activated HTTP
 * example on two named sockets, the notify example's readiness and status, a child whose event
 * loop blocks past --watchdog killed and restarted with its stored fd, a child that never gets
 * ready failing after --ready-timeout, --lazy and --accept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ROOT, run } from './helpers/child';
import { describeWith } from './helpers/env';
import { project } from './helpers/readme';

const CLI = join(ROOT, 'dist', 'cli.js');
type Event = { t: number; event: string; [k: string]: any };

class Run {
  readonly events: Event[] = [];
  readonly exit: Promise<number | null>;
  private child: ChildProcess;
  stderr = '';

  constructor(args: string[], env: Record<string, string> = {}) {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete e.NODE_OPTIONS;
    // A process group of its own: whatever happens, the test ends all of it (stop()).
    this.child = spawn(process.execPath, [CLI, 'run', '--json', ...args], { env: e, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as Event);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exit = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  async waitFor(pred: (e: Event) => boolean, what: string, timeoutMs = 15_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} event; got ${JSON.stringify(this.events.map((e) => e.event))}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal to the supervisor (by its pid). */
  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM (forwarded to the command), then the supervisor's exit code; SIGKILL after 10 s. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(this.child.pid!), 10_000);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

const port = (): number => 20000 + Math.floor(Math.random() * 30000);

function httpJson(opts: { port?: number; socketPath?: string }): Promise<any> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', path: '/', ...opts }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(JSON.parse(b)));
    }).on('error', reject);
  });
}

describeWith({ linux: true }, 'libsystemd run', () => {
  let dir: string;
  const runs: Run[] = [];
  const start = (args: string[], env?: Record<string, string>) => {
    const r = new Run(args, env);
    runs.push(r);
    return r;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-run-test-'));
  });
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.stop()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes named sockets: the activated HTTP example answers on both', async () => {
    const p = port();
    const sock = join(dir, 'admin.sock');
    const r = start(['-l', `127.0.0.1:${p}`, '-l', sock, '--fdname', 'web:admin', '--', process.execPath, join(ROOT, 'examples', 'socket-activated-http', 'server.js')]);
    const started = await r.waitFor((e) => e.event === 'start', 'start');
    expect(started.fds).toHaveLength(2);
    await new Promise((res) => setTimeout(res, 300));
    const web = await httpJson({ port: p });
    expect(web).toMatchObject({ socket: 'web', passed: ['web', 'admin'], address: { port: p }, pid: started.pid });
    const admin = await httpJson({ socketPath: sock });
    expect(admin).toMatchObject({ socket: 'admin', address: sock, pid: started.pid });
  });

  it('names an unnamed --listen "http" (as libsystemd unit does) and logs the fd the command gets', async () => {
    const p = port();
    const r = start(['-l', `127.0.0.1:${p}`, '-l', `api=127.0.0.1:${p + 1}`, '--', process.execPath, '-e', `const l = require(${JSON.stringify(ROOT)}); console.error(JSON.stringify(l.listenFdsWithNames())); setInterval(() => {}, 1000)`]);
    const listens = [await r.waitFor((e) => e.event === 'listen' && e.name === 'http', 'listen http'), await r.waitFor((e) => e.event === 'listen' && e.name === 'api', 'listen api')];
    expect(listens.map((e) => [e.fd, e.name])).toEqual([[3, 'http'], [4, 'api']]);
    expect((await r.waitFor((e) => e.event === 'start', 'start')).fds).toEqual(['3:http', '4:api']);
    for (let i = 0; i < 100 && !r.stderr.includes('['); i++) await new Promise((res) => setTimeout(res, 20));
    expect(JSON.parse(r.stderr.trim())).toEqual([{ fd: 3, name: 'http' }, { fd: 4, name: 'api' }]);
  });

  it('shows the notify example getting ready, its status and watchdog pings, and the time to ready', async () => {
    const p = port();
    const r = start(['--notify', '--watchdog', '1s', '--', process.execPath, join(ROOT, 'examples', 'notify-service', 'service.js')], { PORT: String(p), STARTUP_DELAY_MS: '200' });
    expect(await r.waitFor((e) => e.event === 'status', 'status')).toMatchObject({ text: 'starting' });
    const ready = await r.waitFor((e) => e.event === 'ready', 'ready');
    expect(ready.afterMs).toBeGreaterThanOrEqual(200);
    expect(r.events.some((e) => e.event === 'status' && e.text === `serving on ${p} (new socket)`)).toBe(true);
    expect(await r.waitFor((e) => e.event === 'fdstore', 'fdstore')).toMatchObject({ name: 'http', count: 1 });
    await r.waitFor((e) => e.event === 'watchdog', 'watchdog');
    await r.waitFor((e) => e.event === 'barrier', 'barrier');
  });

  it('kills a child whose event loop blocks past --watchdog (SIGABRT) and restarts it with its stored fd', async () => {
    const p = port();
    const r = start(['--notify', '--watchdog', '1s', '--restart', 'on-failure', '--', process.execPath, join(ROOT, 'examples', 'notify-service', 'service.js')], { PORT: String(p), HANG_AFTER_READY_MS: '300' });
    const first = await r.waitFor((e) => e.event === 'start', 'start');
    expect(await r.waitFor((e) => e.event === 'watchdog-timeout', 'watchdog-timeout')).toMatchObject({ pid: first.pid, signal: 'SIGABRT' });
    expect(await r.waitFor((e) => e.event === 'exit', 'exit')).toMatchObject({ signal: 'SIGABRT', result: 'watchdog' });
    expect(await r.waitFor((e) => e.event === 'restart', 'restart')).toMatchObject({ stored: ['http'] });
    const second = await r.waitFor((e) => e.event === 'start' && e.pid !== first.pid, 'second start');
    expect(second.fds.map((f: string) => f.split(':')[1])).toEqual(['http']);
    await r.waitFor((e) => e.event === 'status' && e.text === `serving on ${p} (socket from the fd store)`, 'status of the restarted child');
    expect(await httpJson({ port: p })).toMatchObject({ pid: second.pid, socket: 'from the fd store' });
  });

  it('fails a child that never reports ready after --ready-timeout', async () => {
    const r = start(['--notify', '--ready-timeout', '500ms', '--', process.execPath, '-e', 'setInterval(() => {}, 1000)']);
    expect(await r.waitFor((e) => e.event === 'ready-timeout', 'ready-timeout')).toMatchObject({ signal: 'SIGTERM' });
    expect(await r.waitFor((e) => e.event === 'exit', 'exit')).toMatchObject({ result: 'timeout', signal: 'SIGTERM' });
    expect(await r.exit).not.toBe(0);
  });

  it('--lazy starts the command on the first connection; --accept runs one per connection', async () => {
    const p = port();
    const lazy = start(['--lazy', '-l', `127.0.0.1:${p}`, '-l', join(dir, 'lazy-admin.sock'), '--fdname', 'web:admin', '--', process.execPath, join(ROOT, 'examples', 'socket-activated-http', 'server.js')]);
    await lazy.waitFor((e) => e.event === 'waiting', 'waiting');
    await new Promise((res) => setTimeout(res, 200));
    expect(lazy.events.some((e) => e.event === 'start')).toBe(false);
    const web = await httpJson({ port: p });
    expect(web).toMatchObject({ socket: 'web' });
    expect(lazy.events.map((e) => e.event)).toContain('start');

    const q = port();
    const inetd = start(['--accept', '-l', `127.0.0.1:${q}`, '--', process.execPath, '-e', `const c = require(${JSON.stringify(ROOT)}).acceptedConnection(); c.end(JSON.stringify({ pid: process.pid, names: require(${JSON.stringify(ROOT)}).listenFdsWithNames().map((n) => n.name) }))`]);
    await inetd.waitFor((e) => e.event === 'listen', 'listen');
    const read = () => new Promise<any>((resolve, reject) => {
      const c = connect(q, '127.0.0.1');
      let b = '';
      c.on('data', (d) => (b += d)).on('end', () => resolve(JSON.parse(b))).on('error', reject);
    });
    const [a, b] = [await read(), await read()];
    expect(a.names).toEqual(['connection']);
    expect(a.pid).not.toBe(b.pid);
    // SIGTERM ends both supervisors cleanly (the accept loop must not keep one alive).
    expect(await inetd.stop()).toBe(0);
    expect(await lazy.stop()).toBe(0);
  });

  it('says clearly that --notify needs the addon when it is not loaded', async () => {
    const r = await run(process.execPath, [CLI, 'run', '--notify', '--', 'true'], { env: { LIBSYSTEMD_FORCE_JS: '1', LIBSYSTEMD_REQUIRE_NATIVE: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the native addon is not loaded');
  });

  it('--reload-signal, --credential and --memory-pressure drive the toolkit example as systemd would', async () => {
    const token = join(dir, 'token');
    const greeting = join(dir, 'greeting');
    writeFileSync(token, 'tok\u0001en');
    writeFileSync(greeting, 'hello');
    const p = port();
    const r = start(['--listen', String(p), '--notify', '--reload-signal', 'SIGHUP', '--credential', `api-token=${token}`, '--memory-pressure', '--', process.execPath, join(ROOT, 'examples', 'service-toolkit', 'server.js')], { GREETING_FILE: greeting });
    await r.waitFor((e) => e.event === 'ready', 'ready');
    const first = await httpJson({ port: p });
    expect(first).toMatchObject({ greeting: 'hello', token: createHash('sha256').update('tok\u0001en').digest('hex').slice(0, 16), reloads: 0 });
    expect(first.invocation).toMatch(/^[0-9a-f]{32}$/);
    expect((await r.waitFor((e) => e.event === 'memory-pressure-watch', 'memory-pressure-watch')).trigger).toBe('some 200000 2000000');
    writeFileSync(greeting, 'bonjour');
    r.signal('SIGHUP');
    await r.waitFor((e) => e.event === 'reloading', 'reloading');
    expect(await r.waitFor((e) => e.event === 'reloaded', 'reloaded')).toMatchObject({ status: 'serving; reloaded 1 time(s)' });
    expect(await httpJson({ port: p })).toMatchObject({ greeting: 'bonjour', reloads: 1 });
    r.signal('SIGUSR2');
    expect(await r.waitFor((e) => e.event === 'memory-pressure', 'memory-pressure')).toMatchObject({ sent: 1 });
    expect(await r.stop()).toBe(0);
    expect(r.events.map((e) => e.event)).toContain('stopping');
  });
});

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Every way `libsystemd run` can be ended: a signal to the supervisor itself, to the `npx`
 * wrapper in front of it only (as a test harness or a script's `kill $!` does: npm passes SIGTERM
 * to its `sh -c`, which dies without passing it on; it dies of SIGHUP and SIGKILL and leaves its
 * `sh -c` orphaned; a SIGINT to npm alone it ignores, waiting for its child), to the wrapper's whole process group
 * (a terminal's Ctrl-C or hangup), and SIGKILL of either. The service and the supervisor's
 * notify directory must not outlive it.
 */
describeWith({ linux: true, bins: ['npx'] }, 'libsystemd run ends its command however it is ended', () => {
  let app: string;
  const started: ChildProcess[] = [];
  const services: number[] = [];
  beforeAll(() => {
    app = project(mkdtempSync(join(tmpdir(), 'libsystemd-run-ends-')));
  });
  afterEach(() => {
    // Whatever the test found, nothing it started outlives it.
    for (const c of started.splice(0)) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const pid of services.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  /** `libsystemd run --json --notify -- sleep`, through npx or directly; the ids of each process. */
  async function launch(via: 'npx' | 'node', command: string[] = ['sleep', '1000'], options: string[] = []) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
    const [file, args] = via === 'npx' ? ['npx', ['libsystemd', 'run', '--json', '--notify', ...options, '--', ...command]] : [process.execPath, [CLI, 'run', '--json', '--notify', ...options, '--', ...command]];
    // Its own process group, as a shell gives a job: the group stands for the terminal's.
    const wrapper = spawn(file as string, args as string[], { cwd: app, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(wrapper);
    const events: Event[] = [];
    let out = '';
    wrapper.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (const l of d.split('\n')) if (l.startsWith('{')) events.push(JSON.parse(l) as Event);
    });
    wrapper.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const deadline = Date.now() + 30_000;
    while (!events.some((e) => e.event === 'start')) {
      if (Date.now() > deadline || wrapper.exitCode !== null) throw new Error(`no start event: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const service = events.find((e) => e.event === 'start')!.pid as number;
    services.push(service);
    const supervisor = parentOf(service);
    const notifyDir = dirname(events.find((e) => e.event === 'notify-socket')!.path as string);
    return { wrapper: wrapper.pid!, supervisor, service, notifyDir, output: () => out };
  }

  it.each([
    ['the supervisor', 'SIGTERM', 'node'],
    ['the supervisor', 'SIGINT', 'node'],
    ['the supervisor', 'SIGHUP', 'node'],
    ['the supervisor', 'SIGKILL', 'node'],
    ['the supervisor under npx', 'SIGKILL', 'npx'],
    ['the npx wrapper only', 'SIGTERM', 'npx'],
    ['the npx wrapper only', 'SIGHUP', 'npx'],
    ['the npx wrapper only', 'SIGKILL', 'npx'],
    ["the npx wrapper's process group (Ctrl-C)", 'SIGINT', 'npx'],
    ["the npx wrapper's process group (hangup)", 'SIGHUP', 'npx'],
    ["the npx wrapper's process group", 'SIGTERM', 'npx'],
    ["the npx wrapper's process group", 'SIGKILL', 'npx'],
  ] as const)('%s, %s: the service and the notify directory go too', async (whom, sig, via) => {
    const p = await launch(via);
    if (via === 'npx') expect(p.supervisor, 'npx runs the supervisor under a wrapper').not.toBe(p.wrapper);
    const target = whom.startsWith('the supervisor') ? p.supervisor : whom.includes('group') ? -p.wrapper : p.wrapper;
    process.kill(target, sig);
    // Bounds from what they wait for, not speed: the supervisor notices a dead parent within a
    // second, and a service that ignores SIGTERM is killed 5 s after the supervisor itself died.
    expect(await gone(p.service, 20_000), `the service ${p.service} still runs\n${p.output()}`).toBe(true);
    expect(await gone(p.supervisor, 20_000), `the supervisor ${p.supervisor} still runs\n${p.output()}`).toBe(true);
    for (let i = 0; i < 100 && existsSync(p.notifyDir); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(p.notifyDir), `${p.notifyDir} is left behind`).toBe(false);
  });

  it("a terminal's Ctrl-C reaches the command once (through run), and run exits 0", async () => {
    const log = join(app, 'signals.log');
    // Records each signal, and exits a moment after the first: a second one would be recorded.
    const service = `const f = ${JSON.stringify(log)}; for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => { require('fs').appendFileSync(f, s + '\\n'); setTimeout(() => process.exit(0), 500); }); setInterval(() => {}, 1000); require('fs').writeFileSync(f, '')`;
    const p = await launch('npx', [process.execPath, '-e', service]);
    for (let i = 0; i < 200 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(-p.wrapper, 'SIGINT');
    expect(await gone(p.service, 20_000), p.output()).toBe(true);
    expect(await gone(p.supervisor, 20_000), p.output()).toBe(true);
    expect(readFileSync(log, 'utf8')).toBe('SIGINT\n');
    expect(p.output()).toMatch(/"event":"exit".*"signal":null/);
  });

  it('a command that ignores SIGTERM is killed after --stop-timeout (as TimeoutStopSec=), also when the npx wrapper was killed', async () => {
    const p = await launch('npx', ['sh', '-c', 'trap "" TERM INT HUP; while :; do sleep 0.2; done'], ['--stop-timeout', '1s']);
    process.kill(p.wrapper, 'SIGTERM');
    expect(await gone(p.service, 20_000), p.output()).toBe(true);
    expect(await gone(p.supervisor, 20_000), p.output()).toBe(true);
    expect(p.output()).toMatch(/"event":"parent-exit"/);
    expect(p.output()).toMatch(/"event":"stop-timeout".*"signal":"SIGKILL"/);
  });
});

