/**
 * Child-process helpers: env and fds are process-global and a loaded .node cannot be unloaded,
 * so behaviour that depends on them runs in a fresh `node` with its own env and stdio array.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const FIXTURES = resolve(__dirname, '..', 'fixtures');

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's last line parsed as JSON, when it is JSON. */
  readonly json: any;
}

export interface ChildOptions {
  /** Variables to set; `undefined` removes one inherited from this process. */
  readonly env?: Record<string, string | undefined>;
  /** Extra fds for the child: fds[0] becomes fd 3, fds[1] fd 4, … (spawn's stdio array). */
  readonly fds?: readonly (number | 'ignore' | 'pipe')[];
  /** Set LISTEN_PID to the child's own pid (through `sh -c 'LISTEN_PID=$$ exec …'`). */
  readonly listenPidSelf?: boolean;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Prefix the command (e.g. nsenter into a journald's mount namespace). */
  readonly wrap?: readonly string[];
  /**
   * Talks to the running child (stdin is a pipe): e.g. waits for its own "ready" line before
   * acting, instead of guessing with a delay.
   */
  readonly interact?: (child: ChildProcess) => void;
}

/** Resolves when the child has printed `line` (a whole line) on stdout. */
export function lineFrom(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      if (seen.split('\n').includes(line)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', () => reject(new Error(`the child ended without printing ${JSON.stringify(line)}: ${seen.slice(-500)}`)));
  });
}

function buildEnv(extra: ChildOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Tests choose the backend per child; the parent's CI setting must not leak unless asked.
  delete env.LIBSYSTEMD_FORCE_JS;
  delete env.NODE_OPTIONS;
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** The process groups of the children running now: ended with this process, however a test ends. */
const groups = new Set<number>();
process.once('exit', () => {
  for (const pid of groups) killGroup(pid);
});

/** SIGKILL to the process group `pid` leads (started with `detached: true`); quiet when it is gone. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Runs `cmd args…` and collects its output. */
export function run(cmd: string, args: readonly string[], opts: ChildOptions = {}): Promise<ChildResult> {
  let file = cmd;
  let argv = [...args];
  if (opts.listenPidSelf) {
    argv = ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', file, ...argv];
    file = '/bin/sh';
  }
  if (opts.wrap && opts.wrap.length > 0) {
    argv = [...opts.wrap.slice(1), file, ...argv];
    file = opts.wrap[0]!;
  }
  const stdio: StdioOptions = [opts.input === undefined && !opts.interact ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.fds ?? [])];
  return new Promise((resolvePromise, reject) => {
    // A process group of its own: a timeout ends all it started, not just the wrapper in front
    // (npm, npx and `sh -c` do not pass a signal on), and nothing it left running outlives it.
    const child = spawn(file, argv, { env: buildEnv(opts.env), stdio, cwd: opts.cwd ?? ROOT, detached: true });
    if (child.pid !== undefined) groups.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => killGroup(child.pid), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // What it left in its group (a server started with `&`) goes with it.
      killGroup(child.pid);
      groups.delete(child.pid!);
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: unknown;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolvePromise({ code, signal, stdout, stderr, json });
    });
    if (opts.interact) {
      child.stdin!.on('error', () => {});
      opts.interact(child);
    }
    if (opts.input !== undefined) {
      // A child that exits without reading its input must not fail the test with EPIPE.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
  });
}

/** Runs a fixture script (test/fixtures/NAME) with node. */
export function runFixture(name: string, args: readonly string[] = [], opts: ChildOptions = {}): Promise<ChildResult> {
  return run(process.execPath, [resolve(FIXTURES, name), ...args], opts);
}

/** Runs `node -e CODE` where CODE can `require('libsystemd')` (the package root). */
export function runNode(code: string, opts: ChildOptions & { nodeArgs?: readonly string[] } = {}): Promise<ChildResult> {
  return run(process.execPath, [...(opts.nodeArgs ?? []), '-e', code], opts);
}

/** The three ways the library can run, as child-process environments. */
export const MODES = {
  libsystemd: {},
  'js/native': { LIBSYSTEMD_SONAME: 'libsystemd-hidden-by-test.so.0' },
  'js/node': { LIBSYSTEMD_FORCE_JS: '1' },
} as const satisfies Record<string, Record<string, string>>;
export type Mode = keyof typeof MODES;
