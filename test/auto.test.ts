/**
 * libsystemd/auto, the zero-code preload, on unmodified apps (test/fixtures/auto: node:http as
 * ESM, Express as CommonJS, Fastify as ESM), each preloaded another way (--import, -r,
 * NODE_OPTIONS):
 * (NestJS too, CJS on Express with NODE_OPTIONS=-r, and a Next.js standalone build with -r, their
 * packages installed and built by helpers/apps.ts):
 * (a) under systemd-socket-activate on ANOTHER port than the app asks for, with a real notify
 *     receiver: served through the activated socket, the app's own port closed, READY=1 after
 *     listening, a 2 s request in flight during SIGTERM completes with Connection: close, an idle
 *     kept-alive connection is closed, STOPPING=1, exit 0;
 * (b) plain `node app` with the preload: the app's own port, no output, SIGTERM ends it as
 *     without the preload.
 * Plus the listen() overloads and the readiness edge cases (unclaimed fd, never listening).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get, type IncomingMessage } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseListenArgs, parseNames } from '../lib/auto/sockets';
import { parseSpanMs } from '../lib/auto/preload';
import { ensureApp, ensureNextStandalone } from './helpers/apps';
import { FIXTURES, ROOT } from './helpers/child';
import { describeWith, which } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';
import { cleanEnv, port, startProc, type Proc } from './helpers/procs';

const AUTO_CJS = join(ROOT, 'dist', 'auto.js');
const AUTO_ESM = pathToFileURL(join(ROOT, 'dist', 'auto.mjs')).href;

interface App {
  readonly name: string;
  /** The script (absolute). */
  readonly file: string;
  /** How the preload is given: node flags and extra environment. */
  readonly nodeArgs: readonly string[];
  readonly env: Record<string, string>;
  /** The app's path for the fixtures' `/` and `/slow`. */
  readonly route: (r: string) => string;
  /** The app prints start-up lines of its own (Next.js): then only the preload's silence is checked. */
  readonly talks?: boolean;
  /** How SIGTERM ends it without systemd, preload or not: Node's default, or the framework's own handler. */
  readonly sigterm: { code: number | null; signal: NodeJS.Signals | null };
}
const fixture = (f: string): string => join(FIXTURES, 'auto', f);
const plain = (r: string): string => r;
const killed = { code: null, signal: 'SIGTERM' } as const;
const APPS: readonly App[] = [
  { name: 'node:http (ESM, --import)', file: fixture('http.mjs'), nodeArgs: ['--import', AUTO_ESM], env: {}, route: plain, sigterm: killed },
  { name: 'Express (CJS, -r)', file: fixture('express.cjs'), nodeArgs: ['-r', AUTO_CJS], env: {}, route: plain, sigterm: killed },
  { name: 'Fastify (ESM, NODE_OPTIONS=--import)', file: fixture('fastify.mjs'), nodeArgs: [], env: { NODE_OPTIONS: `--import ${join(ROOT, 'dist', 'auto.mjs')}` }, route: plain, sigterm: killed },
  { name: 'NestJS (CJS on Express, NODE_OPTIONS=-r)', file: fixture('nest.cjs'), nodeArgs: [], env: { NODE_OPTIONS: `-r ${AUTO_CJS}`, NODE_PATH: ensureApp('nest') }, route: plain, sigterm: killed },
  // NEXT_MANUAL_SIG_HANDLE=true leaves SIGTERM to the preload (Next's own handler would keep control);
  // without systemd the preload is inert and that variable unset, so Next's handler exits 0.
  {
    name: 'Next.js standalone (-r)',
    file: join(ensureNextStandalone(), 'server.js'),
    nodeArgs: ['-r', AUTO_CJS],
    env: { HOSTNAME: '127.0.0.1', NEXT_TELEMETRY_DISABLED: '1' },
    route: (r) => (r === '/' ? '/api/hello' : `/api/hello?${r.slice(1)}=1`),
    talks: true,
    sigterm: { code: 0, signal: null },
  },
];

/** Nothing the preload would print: no warning, no libsystemd line. */
function preloadSilent(output: string): string[] {
  return output.split('\n').filter((l) => /libsystemd|\(node:\d+\)|Warning/.test(l));
}

const start = startProc;

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
  readonly socketClosed: Promise<void>;
}

function request(p: number, path: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: p, path, agent, timeout: 20_000 }, (res) => {
      let body = '';
      const socketClosed = new Promise<void>((r) => res.socket.once('close', () => r()));
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(body), socketClosed }));
    });
    req.on('error', reject);
  });
}

function refused(p: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port: p });
    c.on('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the port accepts a connection (the app listens) or the process ends. */
async function accepting(p: number, proc: Proc): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await refused(p)) !== 'connected') {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`nothing accepts on ${p}: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('listen() arguments as Node reads them', () => {
  it('reads every overload', () => {
    const cb = (): void => {};
    expect(parseListenArgs([])).toEqual({ kind: 'inet', port: 0 });
    expect(parseListenArgs([cb])).toEqual({ kind: 'inet', port: 0 });
    expect(parseListenArgs([3000])).toEqual({ kind: 'inet', port: 3000 });
    expect(parseListenArgs(['3000', cb])).toEqual({ kind: 'inet', port: 3000 });
    expect(parseListenArgs([3000, '127.0.0.1', 511, cb])).toEqual({ kind: 'inet', port: 3000, host: '127.0.0.1' });
    expect(parseListenArgs([3000, 511, cb])).toEqual({ kind: 'inet', port: 3000 });
    expect(parseListenArgs(['/run/app.sock', 511, cb])).toEqual({ kind: 'unix', path: '/run/app.sock' });
    expect(parseListenArgs([{ port: 8080, host: '::', backlog: 10 }, cb])).toEqual({ kind: 'inet', port: 8080, host: '::' });
    expect(parseListenArgs([{ host: 'localhost' }])).toEqual({ kind: 'inet', port: 0, host: 'localhost' });
    expect(parseListenArgs([{ path: '/run/a.sock', readableAll: true }])).toEqual({ kind: 'unix', path: '/run/a.sock' });
    expect(parseListenArgs([{ fd: 3 }])).toEqual({ kind: 'fd', fd: 3 });
    expect(parseListenArgs([{ _handle: {} }])).toEqual({ kind: 'handle' });
    expect(parseListenArgs([{ handle: {} }, cb])).toEqual({ kind: 'handle' });
  });

  it('reads LIBSYSTEMD_AUTO_NAMES and time spans', () => {
    expect([...parseNames('http=3000, admin=/run/admin.sock')]).toEqual([['http', 3000], ['admin', '/run/admin.sock']]);
    expect(parseSpanMs('90', 1, 'X')).toBe(90_000);
    expect(parseSpanMs('1min 30s', 1, 'X')).toBe(90_000);
    expect(parseSpanMs('500ms', 1, 'X')).toBe(500);
    expect(parseSpanMs(undefined, 7, 'X')).toBe(7);
    // Past what a timer can be given (2^53 ms): the default, with a warning.
    expect(parseSpanMs('99999999999999999h', 7, 'X')).toBe(7);
  });
});

describeWith({ linux: true, bins: ['systemd-socket-activate'] }, 'libsystemd/auto under systemd-socket-activate', () => {
  describe.each(APPS)('$name', (app) => {
    it('serves through the activated socket on another port, READY=1 after listening, drains a 2 s request on SIGTERM, exit 0', async () => {
      const receiver = NotifyReceiver.open('path');
      try {
        const [activated, own] = [port(), port()];
        const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${activated}`, '--fdname=http', '-E', `NOTIFY_SOCKET=${receiver.address}`, ...Object.entries(app.env).flatMap(([k, v]) => ['-E', `${k}=${v}`]), '-E', 'NEXT_MANUAL_SIG_HANDLE=true', '-E', `PORT=${own}`, '--', process.execPath, ...app.nodeArgs, app.file], cleanEnv({}));
        await waitFor('systemd-socket-activate to listen', () => ssa.output().includes('Listening on'));
        // systemd-socket-activate execs the app on the first connection.
        const first = await request(activated, app.route('/'));
        expect(first.status).toBe(200);
        expect(first.body.pid).toBe(ssa.pid);
        const ready = await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)));
        expect(ready.text).toContain(`STATUS=serving on 127.0.0.1:${activated} (http)`);
        expect(await refused(own)).toBe('ECONNREFUSED');

        // An idle kept-alive connection, and a slow request on another kept-alive connection.
        const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
        const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
        const idle = await request(activated, app.route('/'), idleAgent);
        expect(idle.headers.connection).toBe('keep-alive');
        const slowStarted = Date.now();
        const slow = request(activated, app.route('/slow'), busyAgent);
        await new Promise((r) => setTimeout(r, 300));
        process.kill(ssa.pid!, 'SIGTERM');
        await idle.socketClosed; // closed by the drain, not by the client
        const done = await slow;
        expect(done.status).toBe(200);
        expect(done.body).toMatchObject({ slow: true });
        expect(Date.now() - slowStarted).toBeGreaterThanOrEqual(1900);
        expect(done.headers.connection).toBe('close');
        const end = await ssa.exited;
        expect(end).toEqual({ code: 0, signal: null });
        const texts = receiver.take().map((m) => m.text);
        expect(texts.some((t) => /^STOPPING=1$/m.test(t) && /^EXTEND_TIMEOUT_USEC=\d+$/m.test(t))).toBe(true);
        // While the request is in flight, systemd is told so and kept waiting, about every second.
        expect(texts.some((t) => /^STATUS=stopping: 1 request\(s\) in flight on \d+ connection\(s\)$/m.test(t) && /^EXTEND_TIMEOUT_USEC=\d+$/m.test(t))).toBe(true);
        // Nothing from the preload on the terminal: only systemd-socket-activate's own lines.
        if (app.talks) expect(preloadSilent(ssa.output())).toEqual([]);
        else expect(ssa.output().split('\n').filter((l) => l && !/^(Listening on|Communication attempt|Execing|Received SIG)/.test(l))).toEqual([]);
        idleAgent.destroy();
        busyAgent.destroy();
      } finally {
        receiver.close();
      }
    });
  });

  it('two activated sockets: each server gets the fd bound to its own port; READY=1 only once both listen', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const [a, b] = [port(), port()];
      const code = `const http = require('node:http');
const one = http.createServer((q, s) => s.end('one')).listen(${a}, '127.0.0.1');
setTimeout(() => http.createServer((q, s) => s.end('two')).listen({ port: ${b}, host: '127.0.0.1' }), 700);`;
      const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${b}`, '-l', `127.0.0.1:${a}`, '-E', `NOTIFY_SOCKET=${receiver.address}`, '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
      await waitFor('listening', () => ssa.output().includes('Listening on'));
      const c = connect({ host: '127.0.0.1', port: a }); // starts the app
      c.on('error', () => {});
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.messages.some((m) => /^READY=1$/m.test(m.text))).toBe(false);
      const ready = await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)));
      expect(ready.text).toMatch(new RegExp(`STATUS=serving on 127.0.0.1:${b}, 127.0.0.1:${a}|STATUS=serving on 127.0.0.1:${a}, 127.0.0.1:${b}`));
      c.destroy();
      const body = async (p: number): Promise<string> => new Promise((resolve, reject) => get({ host: '127.0.0.1', port: p }, (r) => { let s = ''; r.on('data', (d) => (s += d)); r.on('end', () => resolve(s)); }).on('error', reject));
      expect(await body(a)).toBe('one');
      expect(await body(b)).toBe('two');
      process.kill(ssa.pid!, 'SIGTERM');
      expect(await ssa.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  });

  it('an fd left unclaimed and a second listen without an fd are reported once, with what to change; READY=1 still comes', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const [a, b, own] = [port(), port(), port()];
      // Two activated TCP sockets, neither on the app's port: ambiguous, so the app binds its own and says why.
      const code = `require('node:http').createServer((q, s) => s.end('x')).listen(${own}, '127.0.0.1');`;
      const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${a}`, '-l', `127.0.0.1:${b}`, '--fdname=web:admin', '-E', `NOTIFY_SOCKET=${receiver.address}`, '-E', 'LIBSYSTEMD_AUTO_UNCLAIMED_GRACE=300ms', '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
      await waitFor('listening', () => ssa.output().includes('Listening on'));
      const c = connect({ host: '127.0.0.1', port: a });
      c.on('error', () => {});
      const ready = await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)));
      expect(ready.text).toContain(`not served: 127.0.0.1:${a}, 127.0.0.1:${b}`);
      c.destroy();
      const out = ssa.output();
      expect(out).toContain(`the app listens on port ${own}, which matches none of the 2 unclaimed TCP sockets ("web" 127.0.0.1:${a}, "admin" 127.0.0.1:${b}); bind one of them to port ${own} in the .socket, or set LIBSYSTEMD_AUTO_NAMES=<name>=${own}`);
      expect(out).toContain('2 activated socket(s) not used by any server');
      expect(out.match(/LIBSYSTEMD_AUTO_UNMATCHED/g)).toHaveLength(1);
      process.kill(ssa.pid!, 'SIGTERM');
      expect(await ssa.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  });

  it('listen({ port, signal }) on the activated socket: aborting the signal closes the server, as Node does', async () => {
    const [activated, own] = [port(), port()];
    const code = `const ac = new AbortController(); const s = require('node:http').createServer((q, r) => { r.end('x'); setTimeout(() => ac.abort(), 10); });
s.on('close', () => console.log(JSON.stringify({ closed: true }))); s.listen({ port: ${own}, signal: ac.signal }, () => console.log(JSON.stringify({ port: s.address().port })));`;
    const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${activated}`, '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
    await waitFor('listening', () => ssa.output().includes('Listening on'));
    const body = await new Promise<string>((resolve, reject) => get({ host: '127.0.0.1', port: activated }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => resolve(b)); }).on('error', reject));
    expect(body).toBe('x');
    await waitFor('the close', () => ssa.output().includes('{"closed":true}'));
    expect(ssa.output()).toContain(`{"port":${activated}}`);
    expect(await ssa.exited).toEqual({ code: 0, signal: null });
  });

  it('LIBSYSTEMD_AUTO_NAMES picks the named fd; LIBSYSTEMD_AUTO_STRICT=1 fails an unmatched listen with ERR_LIBSYSTEMD_NO_SOCKET', async () => {
    const [a, b, own, other] = [port(), port(), port(), port()];
    const code = `const http = require('node:http');
http.createServer((q, s) => s.end('admin')).listen(${own}, '127.0.0.1', () => {
  http.createServer().on('error', (e) => console.log(JSON.stringify({ code: e.code }))).listen(${other});
});`;
    const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${a}`, '-l', `127.0.0.1:${b}`, '--fdname=web:admin', '-E', `LIBSYSTEMD_AUTO_NAMES=admin=${own}`, '-E', 'LIBSYSTEMD_AUTO_STRICT=1', '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
    await waitFor('listening', () => ssa.output().includes('Listening on'));
    const r = await new Promise<string>((resolve, reject) => get({ host: '127.0.0.1', port: b }, (res) => { let s = ''; res.on('data', (d) => (s += d)); res.on('end', () => resolve(s)); }).on('error', reject));
    expect(r).toBe('admin');
    await waitFor('the error', () => ssa.output().includes('ERR_LIBSYSTEMD_NO_SOCKET'));
    expect(await refused(own)).toBe('ECONNREFUSED');
    expect(await refused(other)).toBe('ECONNREFUSED');
    process.kill(ssa.pid!, 'SIGTERM');
    expect(await ssa.exited).toEqual({ code: 0, signal: null });
  });

  it('a request still running when the drain budget (LIBSYSTEMD_AUTO_STOP_TIMEOUT) is spent is cut, counted, and the exit is 1', async () => {
    const [activated, own] = [port(), port()];
    const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${activated}`, '-E', 'LIBSYSTEMD_AUTO_STOP_TIMEOUT=500ms', '-E', 'SLOW_MS=5000', '-E', `PORT=${own}`, '--', process.execPath, '--import', AUTO_ESM, join(FIXTURES, 'auto', 'http.mjs')], cleanEnv({}));
    await waitFor('listening', () => ssa.output().includes('Listening on'));
    const slow = request(activated, '/slow').catch((e: NodeJS.ErrnoException) => e.code);
    await waitFor('the app', () => ssa.output().includes('Execing'));
    await new Promise((r) => setTimeout(r, 500));
    process.kill(ssa.pid!, 'SIGTERM');
    expect(await slow).toBe('ECONNRESET');
    expect(await ssa.exited).toEqual({ code: 1, signal: null });
    expect(ssa.output()).toContain('the drain budget (LIBSYSTEMD_AUTO_STOP_TIMEOUT, 500 ms) ran out: closed 1 connection(s), 1 with a request in flight');
  });

  it('Type=simple (only JOURNAL_STREAM set): no sockets and no readiness, but SIGTERM still drains a request in flight, exit 0', async () => {
    const own = port();
    const p = start(process.execPath, ['-r', AUTO_CJS, join(FIXTURES, 'auto', 'express.cjs')], cleanEnv({ JOURNAL_STREAM: '0:0', PORT: String(own), SLOW_MS: '1500' }));
    await accepting(own, p);
    const slow = request(own, '/slow');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p.pid!, 'SIGTERM');
    expect((await slow).body).toMatchObject({ slow: true });
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output()).toBe('');
  });

  it('an app that never listens says why in STATUS= and a warning instead of hanging silently', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const p = start(process.execPath, ['-r', AUTO_CJS, '-e', 'setTimeout(() => {}, 5000)'], cleanEnv({ NOTIFY_SOCKET: receiver.address, LIBSYSTEMD_AUTO_LISTEN_TIMEOUT: '300ms' }));
      const why = await waitFor('STATUS', () => receiver.messages.find((m) => m.text.includes('has not called listen()')));
      expect(why.text).toBe('STATUS=the app has not called listen() after 0.3 s: READY=1 is sent when it listens (a worker without a server should not use libsystemd/auto with Type=notify)');
      await waitFor('the warning', () => p.output().includes('LIBSYSTEMD_AUTO_NOT_LISTENING'));
      expect(receiver.messages.some((m) => /^READY=1$/m.test(m.text))).toBe(false);
      process.kill(p.pid!, 'SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  });

  it('LIBSYSTEMD_AUTO_LISTEN_TIMEOUT of 30 days waits 30 days (a plain setTimeout would report after 1 ms)', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const p = start(process.execPath, ['-r', AUTO_CJS, '-e', 'setTimeout(() => {}, 5000)'], cleanEnv({ NOTIFY_SOCKET: receiver.address, LIBSYSTEMD_AUTO_LISTEN_TIMEOUT: '720h' }));
      await waitFor('the starting STATUS=', () => receiver.messages.find((m) => m.text.startsWith('STATUS=starting')));
      await new Promise((r) => setTimeout(r, 1500));
      expect(receiver.messages.some((m) => m.text.includes('has not called listen()'))).toBe(false);
      expect(p.output()).not.toContain('LIBSYSTEMD_AUTO_NOT_LISTENING');
      process.kill(p.pid!, 'SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  });

  it('an app with its own SIGTERM handler keeps control: STOPPING=1 is sent, the app decides the rest', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const own = port();
      const code = `const s = require('node:http').createServer((q, r) => r.end('x')).listen(${own}, '127.0.0.1');
process.on('SIGTERM', () => { console.log('app handler'); s.close(() => process.exit(3)); });`;
      const p = start(process.execPath, ['-r', AUTO_CJS, '-e', code], cleanEnv({ NOTIFY_SOCKET: receiver.address }));
      await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)));
      process.kill(p.pid!, 'SIGTERM');
      expect(await p.exited).toEqual({ code: 3, signal: null });
      expect(p.output()).toBe('app handler\n');
      expect(receiver.take().some((m) => m.text.includes("STOPPING=1\nSTATUS=stopping on SIGTERM (the app's handler)"))).toBe(true);
    } finally {
      receiver.close();
    }
  });
});

describeWith({ linux: true, bins: ['systemd-socket-activate'] }, 'libsystemd/auto: unix sockets and http2', () => {
  it('a listen() on a unix path takes the activated unix socket bound there; address() is its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'libsystemd-auto-'));
    try {
      const sock = join(dir, 'app.sock');
      // The app unlinks nothing and binds nothing: the path is systemd's socket.
      const code = `const s = require('node:http').createServer((q, r) => r.end(JSON.stringify({ address: s.address() }))); s.listen(${JSON.stringify(sock)}, () => console.log(JSON.stringify({ listening: s.address() })));`;
      const ssa = start(which('systemd-socket-activate')!, ['-l', sock, '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
      await waitFor('listening', () => ssa.output().includes('Listening on'));
      const body = await new Promise<string>((resolve, reject) => get({ socketPath: sock, path: '/' }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => resolve(b)); }).on('error', reject));
      expect(JSON.parse(body)).toEqual({ address: sock });
      expect(ssa.output()).toContain(`{"listening":${JSON.stringify(sock)}}`);
      process.kill(ssa.pid!, 'SIGTERM');
      expect(await ssa.exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an http2 server is adopted too, and a stream in flight at SIGTERM completes (GOAWAY, then exit 0)', async () => {
    const [activated, own] = [port(), port()];
    // address() is read at listening time: after close() Node reports null, preload or not.
    const code = `let port; const s = require('node:http2').createServer((q, r) => setTimeout(() => r.end(JSON.stringify({ h2: true, port })), q.url === '/slow' ? 1500 : 0)); s.listen(${own}, () => (port = s.address().port));`;
    const ssa = start(which('systemd-socket-activate')!, ['-l', `127.0.0.1:${activated}`, '--', process.execPath, '-r', AUTO_CJS, '-e', code], cleanEnv({}));
    await waitFor('listening', () => ssa.output().includes('Listening on'));
    const client = http2Connect(`http://127.0.0.1:${activated}`);
    try {
      const h2get = (path: string): Promise<any> =>
        new Promise((resolve, reject) => {
          const req = client.request({ ':path': path });
          let b = '';
          req.setEncoding('utf8').on('data', (d: string) => (b += d));
          req.on('end', () => resolve(JSON.parse(b)));
          req.on('error', reject);
        });
      expect(await h2get('/')).toEqual({ h2: true, port: activated });
      const slow = h2get('/slow');
      await new Promise((r) => setTimeout(r, 300));
      process.kill(ssa.pid!, 'SIGTERM');
      expect(await slow).toEqual({ h2: true, port: activated });
      expect(await ssa.exited).toEqual({ code: 0, signal: null });
      expect(await refused(own)).toBe('ECONNREFUSED');
    } finally {
      client.destroy();
    }
  });
});

describe('libsystemd/auto on Bun and Deno', () => {
  const runtimes = require('../scripts/runtimes.js') as { ensure(name: string): string };
  it.each([
    ['bun', (bin: string) => [bin, '--preload', AUTO_CJS]],
    ['deno', (bin: string) => [bin, 'run', '-A', '--preload', join(ROOT, 'dist', 'auto.mjs')]],
  ] as const)('%s: refused under systemd with ERR_LIBSYSTEMD_AUTO_RUNTIME (never a socket reported served that is not); nothing outside it', async (name, cmd) => {
    const [bin, ...args] = cmd(runtimes.ensure(name));
    const under = start(bin!, [...args, join(FIXTURES, 'auto', 'http.mjs')], cleanEnv({ NOTIFY_SOCKET: '/run/libsystemd-test-nobody.sock', PORT: String(port()) }));
    const end = await under.exited;
    expect(end.code).not.toBe(0);
    expect(under.output()).toContain('libsystemd/auto runs on Node.js only');
    if (name === 'bun') expect(under.output()).toContain('ERR_LIBSYSTEMD_AUTO_RUNTIME');
    const own = port();
    const outside = start(bin!, [...args, join(FIXTURES, 'auto', 'http.mjs')], cleanEnv({ PORT: String(own) }));
    await accepting(own, outside);
    expect((await request(own, '/')).body).toMatchObject({ app: 'http' });
    expect(outside.output()).toBe('');
  }, 120_000);
});

describeWith({ linux: true }, 'libsystemd/auto under libsystemd run', () => {
  describe.each(APPS)('$name', (app) => {
    it('run --listen --notify --watchdog: ready after listening, served on the passed socket, SIGTERM drains a 2 s request, result success', async () => {
      const [activated, own] = [port(), port()];
      const run = start(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', '-l', `127.0.0.1:${activated}`, '--notify', '--watchdog', '3s', '--json', '--', process.execPath, ...app.nodeArgs, app.file], cleanEnv({ ...app.env, NEXT_MANUAL_SIG_HANDLE: 'true', PORT: String(own) }));
      const events = (): any[] => run.output().split('\n').filter((l) => l.startsWith('{"t"')).map((l) => JSON.parse(l));
      const ready = await waitFor('ready', () => events().find((e) => e.event === 'ready'));
      expect(events().find((e) => e.event === 'status' && e.text.startsWith('serving'))?.text).toBe(`serving on 127.0.0.1:${activated} (http)`);
      const r = await request(activated, app.route('/'));
      expect(r.body.pid).toBe(ready.pid);
      expect(await refused(own)).toBe('ECONNREFUSED');
      // Longer than the 3 s watchdog: the preload's pings keep it alive.
      await new Promise((r) => setTimeout(r, 3500));
      expect(events().some((e) => e.event === 'exit')).toBe(false);
      const slow = request(activated, app.route('/slow'), new Agent({ keepAlive: true }));
      await new Promise((r) => setTimeout(r, 300));
      process.kill(run.pid!, 'SIGTERM');
      const done = await slow;
      expect(done.body).toMatchObject({ slow: true });
      expect(done.headers.connection).toBe('close');
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(events().find((e) => e.event === 'exit')).toMatchObject({ code: 0, result: 'success' });
    });
  });
});

describeWith({ linux: true }, 'libsystemd/auto outside systemd', () => {
  describe.each(APPS)('$name', (app) => {
    it('listens on its own port, prints nothing, and SIGTERM ends it as it would without the preload', async () => {
      const own = port();
      const p = start(process.execPath, [...app.nodeArgs, app.file], cleanEnv({ ...app.env, PORT: String(own) }));
      await accepting(own, p);
      const r = await request(own, app.route('/'));
      expect(r.body).toMatchObject({ pid: p.pid });
      const keep = new Agent({ keepAlive: true });
      expect((await request(own, app.route('/'), keep)).headers.connection).toBe('keep-alive');
      keep.destroy();
      process.kill(p.pid!, 'SIGTERM');
      expect(await p.exited).toEqual(app.sigterm);
      if (app.talks) expect(preloadSilent(p.output())).toEqual([]);
      else expect(p.output()).toBe('');
    });
  });
});
