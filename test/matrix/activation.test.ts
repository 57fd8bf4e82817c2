/**
 * Socket activation as a user runs it, on every runtime: `systemd-socket-activate` holds the
 * socket, starts the service on the first connection, and the service serves it through
 * listenOn(). The request is real and must be answered by the service on that socket (Bun 1.4's
 * http.Server.listen({ fd }) used to bind a random port and report listening while the activated
 * socket was never served). What a runtime cannot serve is refused with a stable code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MODES, ROOT } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { runtimes } from './support';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'serve-activated.cjs');

const RUNTIMES: Record<string, () => string[]> = {
  node: () => [process.execPath],
  bun: () => [runtimes.ensure('bun')],
  deno: () => [runtimes.ensure('deno'), 'run', '-A'],
};

/** A TCP port free right now on 127.0.0.1 (systemd-socket-activate needs a number). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** GET `path` through the activated socket, retried while systemd-socket-activate is not listening yet. */
async function get(target: { port?: number; socketPath?: string }, path: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', ...target, path, timeout: 15_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        });
        req.on('timeout', () => req.destroy(new Error('timed out: the activated socket was not served')));
        req.on('error', reject);
        req.end();
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** systemd-socket-activate -l LISTEN <runtime> fixture KIND, in its own process group. */
function activate(listen: string, cmd: string[], kind: string, mode: keyof typeof MODES) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...MODES[mode] };
  delete env.NODE_OPTIONS;
  delete env.LIBSYSTEMD_FORCE_JS;
  const child = spawn('systemd-socket-activate', ['-l', listen, ...cmd, FIXTURE, kind], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    exited,
    output: () => ({ stdout, stderr }),
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

describeWith({ linux: true, bins: ['systemd-socket-activate'] }, 'an activated socket answers a real request on every runtime', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-activate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases = Object.keys(RUNTIMES).flatMap((rt) => (['libsystemd', 'js/native'] as const).flatMap((mode) => (['tcp http', 'unix http', 'tcp net'] as const).map((c) => [rt, mode, c] as const)));

  it.each(cases)('%s, %s backend, %s: listenOn serves the activated socket', async (rt, mode, c) => {
    const [transport, kind] = c.split(' ') as ['tcp' | 'unix', 'http' | 'net'];
    const port = transport === 'tcp' ? await freePort() : 0;
    const socketPath = join(dir, `${rt}-${mode.replace('/', '-')}-${kind}.sock`);
    const p = activate(transport === 'tcp' ? `127.0.0.1:${port}` : socketPath, RUNTIMES[rt]!(), kind, mode);
    try {
      const target = transport === 'tcp' ? { port } : { socketPath };
      if (kind === 'http') {
        expect(await get(target, '/probe')).toMatch(new RegExp(`^http /probe on ${rt} `));
      } else {
        // A raw net.Server: the reply is not HTTP, so read it from a plain connection.
        const { connect } = await import('node:net');
        const deadline = Date.now() + 20_000;
        let body = '';
        for (;;) {
          try {
            body = await new Promise<string>((resolve, reject) => {
              const s = connect(transport === 'tcp' ? { host: '127.0.0.1', port } : { path: socketPath });
              let got = '';
              s.setEncoding('utf8').on('data', (d: string) => (got += d));
              s.on('end', () => resolve(got));
              s.on('error', reject);
              s.setTimeout(15_000, () => s.destroy(new Error('timed out: the activated socket was not served')));
            });
            break;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        expect(body).toMatch(new RegExp(`^net on ${rt} `));
      }
      expect(await p.exited, p.output().stderr).toBe(0);
      const lines = p.output().stdout.split('\n');
      expect(lines[0]).toBe('listening');
      // address() reports the activated socket, not a socket of the runtime's own choosing.
      const address = JSON.parse(lines[1]!).address;
      if (transport === 'tcp') expect(address).toMatchObject({ address: '127.0.0.1', port });
      else expect(address).toBe(socketPath);
    } finally {
      p.kill();
    }
  });

  it('bun: a TLS server cannot be given the activated socket: refused with ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME, never reported listening', async () => {
    const socketPath = join(dir, 'bun-https.sock');
    const p = activate(socketPath, RUNTIMES.bun!(), 'https', 'libsystemd');
    try {
      // The first connection starts the service.
      const { connect } = await import('node:net');
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = connect({ path: socketPath });
          s.on('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        });
        if (ok || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await p.exited).toBe(0);
      const out = JSON.parse(p.output().stdout.trim().split('\n').pop()!);
      expect(out.error).toBe('ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME');
      expect(p.output().stdout).not.toContain('listening');
    } finally {
      p.kill();
    }
  });
});
