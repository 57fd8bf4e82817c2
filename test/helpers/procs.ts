/**
 * Long-running processes a test starts and talks to (apps, `libsystemd serve`): each in a process
 * group of its own, its output collected, and every group killed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { ROOT } from './child';

export type Proc = ChildProcess & { output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

/** A random loopback port for a test's own socket. */
export const port = (): number => 20000 + Math.floor(Math.random() * 30000);

/** A clean environment: none of the systemd variables of wherever the tests run. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['NOTIFY_SOCKET', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'JOURNAL_STREAM', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'NODE_OPTIONS', 'LIBSYSTEMD_FORCE_JS']) delete env[k];
  return { ...env, ...extra };
}

const started: Proc[] = [];
const groups = new Set<number>();

/** Also kill process group `pgid` after the test (processes the started ones made, e.g. workers). */
export function killGroupAfterTest(pgid: number): void {
  groups.add(pgid);
}

/** Starts `cmd` detached (its own process group), collecting stdout and stderr; `seen` gets every chunk. */
export function startProc(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, seen?: (chunk: string) => void): Proc {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, cwd: ROOT });
  let output = '';
  const on = (d: string): void => {
    output += d;
    seen?.(d);
  };
  child.stdout!.setEncoding('utf8').on('data', on);
  child.stderr!.setEncoding('utf8').on('data', on);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const p = Object.assign(child, { output: () => output, exited });
  started.push(p);
  return p;
}

afterEach(() => {
  for (const pgid of [...started.splice(0).map((p) => p.pid!), ...groups]) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
});
