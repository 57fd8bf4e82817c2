/**
 * `libsystemd serve` without PID 1: an unmodified node:http app (test/fixtures/serve/http-app.js)
 * in 2 workers under systemd-socket-activate (TCP and a unix socket), with a real notify receiver:
 * both workers answer; READY=1 once both listen; under keep-alive load (autocannon, 20
 * connections) through 3 SIGHUP reloads nothing fails, every worker pid is new and the main pid
 * the same; a SIGSTOPped worker is replaced; an app that throws at start is retried with a
 * backoff and serve exits 1 with the reason; SIGTERM drains a request in flight, exit 0; not
 * activated, the workers share the app's own port (node:cluster). Every process group started
 * here (serve's, and each worker's: workers get their own) is killed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../lib/cli/serve';
import { withoutAutoPreload } from '../lib/serve/cluster';
import { FIXTURES, ROOT } from './helpers/child';
import { describeWith, which } from './helpers/env';
import { NotifyReceiver } from './helpers/notify';
import { cleanEnv, killGroupAfterTest, port, startProc, type Proc } from './helpers/procs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{ errors: number; timeouts: number; non2xx: number; requests: { total: number; average: number }; '2xx': number; resets: number }>;

const CLI = join(ROOT, 'dist', 'cli.js');
const APP = join(FIXTURES, 'serve', 'http-app.js');
const THROWS = join(FIXTURES, 'serve', 'throws-app.js');
const dirs: string[] = [];

/** serve, with the worker pids it names (each worker has a process group of its own) killed after the test. */
function start(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  return startProc(cmd, args, env, (d) => {
    for (const m of d.matchAll(/pids? ([\d, ]+)/g)) for (const p of m[1]!.split(/[ ,]+/)) if (p) killGroupAfterTest(Number(p));
  });
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function request(target: { port?: number; socketPath?: string }, agent?: Agent): Promise<{ status: number; pid: number; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', ...target, path: '/', agent: agent ?? false, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        const pid = Number(body.trim());
        killGroupAfterTest(pid);
        resolve({ status: res.statusCode!, pid, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 30_000, output?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${output ? `: ${output().slice(-1500)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Distinct worker pids answering `rounds` rounds of 8 concurrent requests (the app answers after 30 ms). */
async function answering(target: { port?: number; socketPath?: string }, rounds = 10): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < rounds && pids.size < 2; i++) {
    for (const r of await Promise.all(Array.from({ length: 8 }, () => request(target)))) {
      expect(r.status).toBe(200);
      pids.add(r.pid);
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('libsystemd serve: the command line', () => {
  it('reads the options; mistakes are one line and exit 2', async () => {
    expect(parseServeArgs(['--workers', '2', 'app.js', '--port', '1'])).toMatchObject({ script: 'app.js', args: ['--port', '1'], workers: 2 });
    expect(parseServeArgs(['-w', 'max', '--stuck-after', '2s', '--', 'app.js'])).toMatchObject({ script: 'app.js', workers: 'max', stuckMs: 2000 });
    expect(parseServeArgs(['--workers=3', 'app.js'])).toMatchObject({ workers: 3 });
    // A unit written for the preload keeps its NODE_OPTIONS: the workers load libsystemd/auto once, themselves.
    expect(withoutAutoPreload('--import libsystemd/auto --max-old-space-size=512')).toBe('--max-old-space-size=512');
    expect(withoutAutoPreload('-r /opt/app/node_modules/libsystemd/dist/auto.js --enable-source-maps')).toBe('--enable-source-maps');
    expect(withoutAutoPreload('--import=/x/dist/auto.mjs')).toBe('');
    expect(withoutAutoPreload('--require ./tracing.js --import libsystemd/auto')).toBe('--require ./tracing.js');
    for (const [args, text] of [
      [[], /the app to run is missing/],
      [['--workers', '0', 'app.js'], /--workers 0: a number from 1 to 1024, or max/],
      [['--bogus', 'app.js'], /unknown option --bogus/],
      [['--stuck-after', '0', 'app.js'], /--stuck-after 0: must be above 0/],
      [['--workers', '2', '/nonexistent/app.js'], /does not exist/],
    ] as const) {
      const p = start(process.execPath, [CLI, 'serve', ...args], cleanEnv({}));
      const end = await p.exited;
      expect(end.code).toBe(2);
      expect(p.output()).toMatch(text);
      expect(p.output().trim().split('\n')).toHaveLength(1);
    }
  });
});

describeWith({ linux: true, bins: ['systemd-socket-activate'] }, 'libsystemd serve under systemd-socket-activate', () => {
  const ssa = which('systemd-socket-activate')!;
  const serveUnder = (listen: string, receiver: NotifyReceiver, serveArgs: readonly string[], env: Record<string, string> = {}): Proc =>
    start(ssa, ['-l', listen, '--fdname=http', '-E', `NOTIFY_SOCKET=${receiver.address}`, ...Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]), '--', process.execPath, CLI, 'serve', ...serveArgs], cleanEnv({}));
  /** serve on 2 workers behind a fresh loopback socket, started by a first request, READY=1 sent. */
  const readyServe = async (receiver: NotifyReceiver, serveArgs: readonly string[]): Promise<{ p: number; proc: Proc }> => {
    const p = port();
    const proc = serveUnder(`127.0.0.1:${p}`, receiver, serveArgs);
    await waitFor('systemd-socket-activate to listen', () => proc.output().includes('Listening on'), 10_000, proc.output);
    await request({ port: p });
    await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)), 30_000, proc.output);
    return { p, proc };
  };

  it('2 workers on one TCP socket: READY=1 once both listen, both answer; 3 SIGHUP reloads under keep-alive load fail nothing, new worker pids, same main pid', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const p = port();
      // systemd-socket-activate starts serve on the first connection; the request waits in the backlog.
      const proc = serveUnder(`127.0.0.1:${p}`, receiver, ['--workers', '2', APP], { APP_DELAY_MS: '5' });
      await waitFor('systemd-socket-activate to listen', () => proc.output().includes('Listening on'), 10_000, proc.output);
      const first = await request({ port: p });
      expect(first.status).toBe(200);
      const ready = await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)), 30_000, proc.output);
      expect(ready.text).toMatch(/^STATUS=2\/2 workers ready, \d+ req\/s, 0 restart\(s\)$/m);
      expect(ready.pid).toBe(proc.pid); // systemd-socket-activate execs serve: serve is the main pid
      const before = await answering({ port: p });
      expect(before.size).toBe(2);
      expect(before.has(proc.pid!)).toBe(false);

      // Keep-alive load through 3 rolling restarts.
      receiver.take();
      const load = autocannon({ url: `http://127.0.0.1:${p}/`, connections: 20, duration: 12, timeout: 10 });
      const reloads: number[] = [];
      const statuses: string[] = [];
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        process.kill(proc.pid!, 'SIGHUP');
        await waitFor(`READY=1 after reload ${i + 1}`, () => {
          const all = receiver.messages;
          const at = all.findIndex((m) => /^RELOADING=1$/m.test(m.text));
          return at >= 0 && all.slice(at + 1).find((m) => /^READY=1$/m.test(m.text)) ? all : undefined;
        }, 60_000, proc.output);
        reloads.push(Date.now() - t0);
        const texts = receiver.take().map((m) => m.text);
        statuses.push(...texts);
        expect(texts.find((t) => /^RELOADING=1$/m.test(t))).toMatch(/^MONOTONIC_USEC=\d+$/m);
        // READY=1 ends the reload: its status no longer says reloading.
        expect(texts.find((t) => /^READY=1$/m.test(t))).toMatch(/^STATUS=2\/2 workers ready, \d+ req\/s, 0 restart\(s\), \d+ reload\(s\)$/m);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const result = await load;
      // The requests the workers served show up in STATUS= (per second, summed over the workers).
      expect(statuses.some((t) => /^STATUS=2\/2 workers ready, [1-9]\d* req\/s/m.test(t))).toBe(true);
      console.log(`serve: ${result.requests.total} requests, ${result.requests.average} req/s, reloads took ${reloads.join(', ')} ms; errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, resets ${result.resets}`);
      expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
      expect(result['2xx']).toBeGreaterThan(1000);

      const after = await answering({ port: p });
      expect(after.size).toBe(2);
      for (const pid of after) expect(before.has(pid)).toBe(false);
      for (const pid of before) expect(alive(pid)).toBe(false);
      expect(proc.output()).toMatch(/reload done in \d+ ms/);
      // The main pid never changed: it still answers the notify socket.
      expect(proc.exitCode).toBe(null);
      process.kill(proc.pid!, 'SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      for (const pid of after) expect(alive(pid)).toBe(false);
    } finally {
      receiver.close();
    }
  }, 120_000);

  it('a unix socket: both workers accept on it (what node:cluster cannot); SIGTERM drains a request in flight, STOPPING=1, exit 0', async () => {
    const receiver = NotifyReceiver.open('path');
    const dir = mkdtempSync(join(tmpdir(), 'libsystemd-serve-'));
    dirs.push(dir);
    try {
      const path = join(dir, 'app.sock');
      // The app asks for port 3000; the unit's socket named http is a unix socket.
      const proc = serveUnder(path, receiver, ['-w', '2', APP], { APP_DELAY_MS: '30', LIBSYSTEMD_AUTO_NAMES: 'http=3000' });
      await waitFor('systemd-socket-activate to listen', () => proc.output().includes('Listening on'), 10_000, proc.output);
      await request({ socketPath: path });
      await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)), 30_000, proc.output);
      expect((await answering({ socketPath: path })).size).toBe(2);

      const slow = new Promise<{ status: number; ms: number }>((resolve, reject) => {
        const t0 = Date.now();
        // The app answers /slow after 1.5 s.
        const req = get({ socketPath: path, path: '/slow', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, ms: Date.now() - t0 }));
        });
        req.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 300));
      process.kill(proc.pid!, 'SIGTERM');
      const done = await slow;
      expect(done.status).toBe(200);
      expect(done.ms).toBeGreaterThanOrEqual(1400);
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      expect(receiver.take().some((m) => /^STOPPING=1$/m.test(m.text))).toBe(true);
    } finally {
      receiver.close();
    }
  }, 60_000);

  it('a SIGSTOPped worker is replaced (its loop sends no health report) and the restart is counted in STATUS=', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const { p, proc } = await readyServe(receiver, ['--workers', '2', '--stuck-after', '2s', APP]);
      const pids = await waitFor('the worker pids', () => /ready: pids (\d+), (\d+)/.exec(proc.output()), 5000, proc.output);
      const stopped = Number(pids[1]);
      const t0 = Date.now();
      process.kill(stopped, 'SIGSTOP');
      await waitFor('the replacement', () => /worker \d+ \(pid \d+\) listening/.test(proc.output()), 30_000, proc.output);
      const took = Date.now() - t0;
      console.log(`serve: SIGSTOPped worker replaced after ${took} ms (--stuck-after 2s)`);
      expect(proc.output()).toContain(`(pid ${stopped}) sent no health report`);
      expect(alive(stopped)).toBe(false);
      await waitFor('STATUS= with 1 restart', () => receiver.messages.find((m) => /^STATUS=2\/2 workers ready, \d+ req\/s, 1 restart\(s\)$/m.test(m.text)), 10_000, proc.output);
      const now = await answering({ port: p });
      expect(now.has(stopped)).toBe(false);
      expect(now.size).toBe(2);
      expect(proc.exitCode).toBe(null);
      process.kill(proc.pid!, 'SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  }, 60_000);

  it.each([
    ['Express (CommonJS)', 'express.cjs', {}],
    ['Fastify (ESM), NODE_OPTIONS=-r libsystemd/auto left from a preload unit', 'fastify.mjs', { NODE_OPTIONS: `-r ${join(ROOT, 'dist', 'auto.js')}`, JOURNAL_STREAM: '0:0' }],
  ])('%s, unmodified, on another port than it asks for: both workers answer; a SIGHUP reload gives new workers; SIGTERM exits 0', async (_name, file, env: Record<string, string>) => {
    const receiver = NotifyReceiver.open('path');
    try {
      const p = port();
      const proc = serveUnder(`127.0.0.1:${p}`, receiver, ['--workers', '2', join(FIXTURES, 'auto', file)], { PORT: String(port()), ...env });
      await waitFor('systemd-socket-activate to listen', () => proc.output().includes('Listening on'), 10_000, proc.output);
      const pidOf = (): Promise<number> =>
        new Promise((resolve, reject) => {
          get({ host: '127.0.0.1', port: p, path: '/', agent: false }, (res) => {
            let b = '';
            res.setEncoding('utf8').on('data', (d: string) => (b += d));
            res.on('end', () => {
              const pid = JSON.parse(b).pid as number;
              killGroupAfterTest(pid);
              resolve(pid);
            });
          }).on('error', reject);
        });
      await pidOf();
      await waitFor('READY=1', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)), 30_000, proc.output);
      const distinct = async (): Promise<Set<number>> => {
        const set = new Set<number>();
        for (let i = 0; i < 20 && set.size < 2; i++) for (const pid of await Promise.all(Array.from({ length: 8 }, pidOf))) set.add(pid);
        return set;
      };
      const before = await distinct();
      expect(before.size).toBe(2);
      receiver.take();
      process.kill(proc.pid!, 'SIGHUP');
      await waitFor('READY=1 after the reload', () => receiver.messages.find((m) => /^READY=1$/m.test(m.text)), 60_000, proc.output);
      const after = await distinct();
      expect(after.size).toBe(2);
      for (const pid of after) expect(before.has(pid)).toBe(false);
      if (env.NODE_OPTIONS) expect(proc.output()).toContain('libsystemd/auto is preloaded into serve itself (NODE_OPTIONS?)');
      process.kill(proc.pid!, 'SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  }, 90_000);

  it('serve killed with SIGKILL: the orphaned workers drain and exit by themselves', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const { proc } = await readyServe(receiver, ['--workers', '2', APP]);
      const m = await waitFor('the worker pids', () => /ready: pids (\d+), (\d+)/.exec(proc.output()), 5000, proc.output);
      const workers = [Number(m[1]), Number(m[2])];
      process.kill(proc.pid!, 'SIGKILL');
      await waitFor('the workers to exit', () => workers.every((w) => !alive(w)), 20_000, proc.output);
    } finally {
      receiver.close();
    }
  }, 60_000);

  it('a worker that crashes is replaced at once; the restart is counted', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const { p, proc } = await readyServe(receiver, ['--workers', '2', APP]);
      const crashed = await new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port: p, path: '/crash', agent: false }, (res) => {
          res.setEncoding('utf8').on('data', (d: string) => resolve(Number(d.trim())));
        }).on('error', reject);
      });
      await waitFor('the replacement', () => /worker \d+ \(pid \d+\) listening/.test(proc.output()), 30_000, proc.output);
      expect(proc.output()).toContain('a bug on /crash');
      expect(proc.output()).toMatch(new RegExp(`\\(pid ${crashed}\\) ended with exit code 1: replacing it \\(1 restart\\(s\\), 1 in the last 60 s\\)`));
      await waitFor('STATUS= with 1 restart', () => receiver.messages.find((m) => /^STATUS=2\/2 workers ready, \d+ req\/s, 1 restart\(s\)$/m.test(m.text)), 10_000, proc.output);
      const now = await answering({ port: p });
      expect(now.size).toBe(2);
      expect(now.has(crashed)).toBe(false);
      process.kill(proc.pid!, 'SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      receiver.close();
    }
  }, 60_000);

  it('an app that throws at start: retried with a backoff, then serve exits 1 with the reason', async () => {
    const receiver = NotifyReceiver.open('path');
    try {
      const p = port();
      const proc = serveUnder(`127.0.0.1:${p}`, receiver, ['--workers', '1', '--max-start-failures', '3', THROWS]);
      await waitFor('systemd-socket-activate to listen', () => proc.output().includes('Listening on'), 10_000, proc.output);
      const t0 = Date.now();
      // The connection that activates serve; nobody ever answers it.
      const c = connect({ host: '127.0.0.1', port: p });
      c.on('error', () => undefined);
      const end = await proc.exited;
      const took = Date.now() - t0;
      c.destroy();
      expect(end.code).toBe(1);
      const out = proc.output();
      expect(out).toContain('boom: the database is not there');
      expect(out).toMatch(/start 1 of 3 failed, retrying in 200 ms/);
      expect(out).toMatch(/start 2 of 3 failed, retrying in 400 ms/);
      expect(out).toMatch(/workers failed to start 3 times in a row \(last: worker 3, pid \d+, exit code 1\)/);
      expect(took).toBeGreaterThanOrEqual(600);
      const texts = receiver.take().map((m) => m.text);
      expect(texts.some((t) => /^STATUS=failed: workers failed to start 3 times in a row/m.test(t))).toBe(true);
      expect(texts.some((t) => /^READY=1$/m.test(t))).toBe(false);
    } finally {
      receiver.close();
    }
  }, 60_000);
});

describe('libsystemd serve, not activated', () => {
  it.each(['SIGTERM to serve', 'SIGINT to the process group (Ctrl-C)'])("the workers share the app's own port (node:cluster); %s stops them all, exit 0", async (how) => {
    const p = port();
    const proc = start(process.execPath, [CLI, 'serve', '--workers', '2', APP], cleanEnv({ PORT: String(p), APP_DELAY_MS: '30' }));
    await waitFor('the workers', () => /2 worker\(s\) ready: pids (\d+), (\d+)/.exec(proc.output()), 30_000, proc.output);
    expect((await answering({ port: p })).size).toBe(2);
    if (how.startsWith('SIGTERM')) process.kill(proc.pid!, 'SIGTERM');
    else process.kill(-proc.pid!, 'SIGINT'); // serve and its cluster workers at once, as a terminal does
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).not.toMatch(/exiting now|stopped with/);
  }, 60_000);

  it('the programmatic form, serve({ script, workers }): the same workers; cluster.done after SIGTERM', async () => {
    const p = port();
    const proc = start(process.execPath, [join(FIXTURES, 'serve', 'programmatic.js'), join(ROOT, 'dist'), APP], cleanEnv({ PORT: String(p), APP_DELAY_MS: '30' }));
    await waitFor('the workers', () => /^ready pids \d+, \d+$/m.test(proc.output()), 30_000, proc.output);
    expect((await answering({ port: p })).size).toBe(2);
    process.kill(proc.pid!, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/^done 0$/m);
    expect(proc.output()).toMatch(/^\[serve\] 2 worker\(s\) ready/m);
  }, 60_000);
});

describe('libsystemd serve under libsystemd run (the README: locally, reload by kill -HUP)', () => {
  it('run --listen --notify --reload-signal SIGHUP -- libsystemd serve: ready, served, a SIGHUP to run is a rolling reload with new worker pids, SIGTERM ends it all with exit 0', async () => {
    const p = port();
    const proc = start(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${p}`, '--notify', '--reload-signal', 'SIGHUP', '--', process.execPath, CLI, 'serve', '--workers', '2', APP], cleanEnv({}));
    const m = await waitFor('the workers', () => /ready: pids (\d+), (\d+)/.exec(proc.output()), 30_000, proc.output);
    await waitFor('run to see READY=1', () => /\] ready pid=/.test(proc.output()), 30_000, proc.output);
    const before = [Number(m[1]), Number(m[2])];
    expect(before).toContain((await request({ port: p })).pid);
    process.kill(proc.pid!, 'SIGHUP');
    const after = await waitFor('the reload', () => /reload done in \d+ ms: pids (\d+), (\d+)/.exec(proc.output()), 30_000, proc.output);
    await waitFor('run to see READY=1 again', () => /\] reloaded pid=/.test(proc.output()), 30_000, proc.output);
    const pids = [Number(after[1]), Number(after[2])];
    for (const pid of pids) expect(before).not.toContain(pid);
    expect(pids).toContain((await request({ port: p })).pid);
    process.kill(proc.pid!, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/exit pid=\d+ code=0 signal=null result=success/);
  }, 90_000);
});
