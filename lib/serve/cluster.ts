/**
 * `libsystemd serve`: the unit's main process runs N workers of one app (puma's cluster mode with
 * its systemd plugin is the model) and stays the main pid for its whole life.
 *
 * - Sockets: activated fds are handed to every worker as fds 3, 4, … (each worker's preload makes
 *   them its own LISTEN_FDS), so every worker accepts on the same sockets, unix sockets included.
 *   Not activated, the workers are node:cluster workers and share the app's port through it.
 * - READY=1 once all N workers listen; STATUS= every second (workers ready, requests/s, restarts).
 * - Health: every worker reports its event loop over IPC twice a second; the watchdog is pinged
 *   only while the supervisor and every worker are healthy; a worker silent for `stuckMs` (a
 *   blocked loop, SIGSTOP) is killed and replaced; a crashed worker is replaced with a backoff;
 *   `maxStartFailures` workers in a row that exit before listening end the service (exit 1) with
 *   the reason.
 * - SIGHUP (systemctl reload with Type=notify-reload, or ExecReload=kill -HUP $MAINPID): a
 *   rolling restart, one worker at a time (the new one listens, then the old one drains and
 *   exits), between RELOADING=1 and READY=1.
 * - SIGTERM/SIGINT: STOPPING=1, every worker drains (the zero-code preload's drain), exit 0.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, fstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { listenFdsWithNames, type NamedFd } from '../activation';
import { invalidType, invalidValue } from '../errors';
import { checkInt } from '../protocol/numbers';
import { checkDuration, longTimeout, type LongTimer } from '../timers';
import * as sd from '../notify';
import type { WorkerMessage } from './worker';

export interface ServeOptions {
  /** The app's entry file. */
  readonly script: string;
  /** Its arguments. */
  readonly args?: readonly string[];
  /** Number of workers, or 'max' (os.availableParallelism()). Default 'max'. */
  readonly workers?: number | 'max';
  /** Extra node options for the workers (before the preloads). Default: this process's execArgv. */
  readonly execArgv?: readonly string[];
  /** Environment of the workers. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** A worker that sends no health report for this long is killed and replaced. Default 5000 ms. */
  readonly stuckMs?: number;
  /** Workers in a row that exit before listening before the service ends. Default 5. */
  readonly maxStartFailures?: number;
  /** A worker that does not listen within this long counts as a failed start. Default 60 000 ms. */
  readonly startTimeoutMs?: number;
  /** The drain budget of a worker (LIBSYSTEMD_AUTO_STOP_TIMEOUT); after it + 5 s it is killed. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
  /**
   * Lines about workers (start, replacement, reload) with a syslog priority (3 error, 4 warning,
   * 6 info). Default: stderr, with a `<N>` prefix when stderr is the journal (systemd reads it as
   * the entry's PRIORITY=).
   */
  readonly log?: (line: string, priority: 3 | 4 | 6) => void;
}

interface Worker {
  readonly id: number;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly started: number;
  ready: boolean;
  retiring: boolean;
  lastReport: number;
  lagMs: number;
  exited: Promise<void>;
  readyPromise: Promise<boolean>;
}

/** Error codes of a supervisor that gave up. */
export class ServeError extends Error {
  constructor(
    readonly code: 'ERR_LIBSYSTEMD_SERVE_CRASH_LOOP' | 'ERR_LIBSYSTEMD_SERVE_START',
    message: string,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

const WORKER_PRELOAD = join(__dirname, 'worker.js');
/** Crashes of listening workers within CRASH_WINDOW_MS that end the service (a crash loop). */
const CRASH_LIMIT = 10;
const CRASH_WINDOW_MS = 60_000;

function positiveMs(value: unknown, name: string, fallback: number): number {
  return value === undefined ? fallback : checkDuration(name, value);
}

export function workerCount(value: unknown): number {
  if (value === undefined || value === 'max') return availableParallelism();
  if (typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);
  if (typeof value !== 'number') throw invalidType('workers', "a positive integer or 'max'", value);
  return checkInt('workers', value, 'int', 1, 1024);
}

export class Cluster {
  readonly count: number;
  readonly script: string;
  private readonly args: readonly string[];
  private readonly execArgv: readonly string[];
  private readonly env: NodeJS.ProcessEnv;
  private stuckMs: number;
  private readonly stuckGiven: boolean;
  /** Times of recent crashes of listening workers (the crash-loop window). */
  private crashes: number[] = [];
  private readonly maxStartFailures: number;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly logLine: (line: string, priority: 3 | 4 | 6) => void;
  private fds: NamedFd[] = [];
  private readonly workers = new Map<number, Worker>();
  private nextId = 1;
  private startFailures = 0;
  /** Workers replaced after a crash or a stuck loop (not reloads). */
  restarts = 0;
  reloads = 0;
  private requests = 0;
  private rps = 0;
  private ready = false;
  private stopping = false;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  /** A rolling restart is under way (between RELOADING=1 and READY=1). */
  private inReload = false;
  private timers: NodeJS.Timeout[] = [];
  private watchdog: sd.WatchdogHandle | undefined;
  private finish!: (code: number) => void;
  /** Resolves with the exit code once every worker is gone (after a stop, or a crash loop). */
  readonly done: Promise<number>;
  /** Why the service ended, when it failed. */
  reason: string | undefined;
  private readonly notifying = process.env.NOTIFY_SOCKET !== undefined;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];
  private clusterMod: typeof import('node:cluster').default | undefined;

  constructor(options: ServeOptions) {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'an object ({ script, workers, args })', options);
    if (typeof options.script !== 'string' || options.script === '') throw invalidType('options.script', 'a path to the app', options.script);
    this.script = resolve(options.script);
    if (!existsSync(this.script)) throw invalidValue('options.script', `${this.script} does not exist`);
    this.args = [...(options.args ?? [])];
    this.count = workerCount(options.workers);
    this.execArgv = [...(options.execArgv ?? process.execArgv)];
    this.env = options.env ?? process.env;
    this.stuckMs = positiveMs(options.stuckMs, 'options.stuckMs', 5000);
    this.stuckGiven = options.stuckMs !== undefined;
    this.startTimeoutMs = positiveMs(options.startTimeoutMs, 'options.startTimeoutMs', 60_000);
    this.stopTimeoutMs = positiveMs(options.stopTimeoutMs, 'options.stopTimeoutMs', 10_000);
    this.maxStartFailures = checkInt('options.maxStartFailures', options.maxStartFailures ?? 5, 'int', 1);
    const prefix = stderrIsJournal();
    this.logLine = options.log ?? ((line, priority) => process.stderr.write(`${prefix ? `<${priority}>` : ''}libsystemd serve: ${line}\n`));
    this.done = new Promise((r) => (this.finish = r));
  }

  private log(line: string, priority: 3 | 4 | 6 = 6): void {
    this.logLine(line, priority);
  }

  private notify(fn: () => unknown): void {
    if (!this.notifying) return;
    try {
      fn();
    } catch (err) {
      this.log(`sd_notify failed: ${(err as Error).message}`, 4);
    }
  }

  /** Starts the workers; resolves once all of them listen (READY=1 sent), rejects if they cannot start. */
  async start(): Promise<void> {
    this.fds = listenFdsWithNames();
    for (const f of this.fds) if (!this.isOpen(f.fd)) throw invalidValue('LISTEN_FDS', `fd ${f.fd} is not open`);
    this.notify(() => sd.status(`starting ${this.count} worker(s)${this.fds.length ? ` on ${this.fds.length} activated socket(s)` : ''}`));
    this.onSignal('SIGTERM', () => void this.stop('SIGTERM'));
    this.onSignal('SIGINT', () => void this.stop('SIGINT'));
    this.onSignal('SIGHUP', () => void this.reload());
    const healthTimer = setInterval(() => this.checkHealth(), 250);
    const statusTimer = setInterval(() => this.tickStatus(), 1000);
    this.timers.push(healthTimer, statusTimer);
    // A stuck worker must be replaced before PID 1's watchdog fires (the pings stop meanwhile).
    const wdMs = this.notifying ? Number(sd.watchdogUsec() ?? 0n) / 1000 : 0;
    if (wdMs > 0) {
      if (!this.stuckGiven) this.stuckMs = Math.max(1000, Math.min(this.stuckMs, wdMs / 2));
      else if (this.stuckMs >= wdMs) this.log(`--stuck-after (${this.stuckMs} ms) is not below WatchdogSec= (${wdMs} ms): a stuck worker stops the pings long enough for systemd to restart the whole service`, 4);
    }
    // libsystemd/auto preloaded into serve itself (NODE_OPTIONS of a unit written for the preload)
    // would have started a watchdog that ignores the workers: replace it with ours.
    if (autoPreloadedHere()) {
      this.log('libsystemd/auto is preloaded into serve itself (NODE_OPTIONS?): remove it from the unit; serve preloads it into each worker', 4);
      sd.startWatchdog().stop();
    }
    this.watchdog = sd.startWatchdog({ healthCheck: () => this.healthy() });
    for (let i = 0; i < this.count; i++) this.spawnWorker();
    const ok = await Promise.race([new Promise<boolean>((r) => (this.allReady = () => r(true))), this.done.then(() => false)]);
    if (!ok || this.stopping) {
      await this.done;
      throw new ServeError('ERR_LIBSYSTEMD_SERVE_START', this.reason ?? 'stopped before the workers listened');
    }
    this.ready = true;
    this.notify(() => sd.ready(this.statusLine()));
    this.log(`${this.count} worker(s) ready: pids ${this.pids().join(', ')}`);
  }

  private isOpen(fd: number): boolean {
    try {
      fstatSync(fd);
      return true;
    } catch {
      return false;
    }
  }

  private onSignal(signal: NodeJS.Signals, fn: () => void): void {
    process.on(signal, fn);
    this.signalHandlers.push([signal, fn]);
  }

  /** Pids of the live, not retiring workers. */
  pids(): number[] {
    return [...this.workers.values()].filter((w) => !w.retiring).map((w) => w.pid);
  }

  /** Set while start() waits for all N workers to listen. */
  private allReady: (() => void) | undefined;

  private workerEnv(id: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.env };
    // The supervisor talks to PID 1; a worker's notifications and watchdog go nowhere else.
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    env.LIBSYSTEMD_SERVE_WORKER = String(id);
    // The worker preload starts libsystemd/auto itself, after adopting the handed fds; one loaded
    // earlier through NODE_OPTIONS (a unit written for the preload) would start without them.
    if (env.NODE_OPTIONS) env.NODE_OPTIONS = withoutAutoPreload(env.NODE_OPTIONS);
    if (env.LIBSYSTEMD_AUTO_STOP_TIMEOUT === undefined) env.LIBSYSTEMD_AUTO_STOP_TIMEOUT = `${this.stopTimeoutMs}ms`;
    if (this.fds.length) {
      env.LIBSYSTEMD_SERVE_FDS = String(this.fds.length);
      env.LIBSYSTEMD_SERVE_FDNAMES = this.fds.map((f) => f.name).join(':');
    }
    return env;
  }

  private spawnWorker(): Worker {
    const id = this.nextId++;
    const env = this.workerEnv(id);
    const execArgv = [...this.execArgv, '-r', WORKER_PRELOAD];
    let child: ChildProcess;
    if (this.fds.length) {
      // fds 3.. are the activated sockets (same numbers as ours), the IPC channel after them.
      const stdio: StdioOptions = ['inherit', 'inherit', 'inherit', ...this.fds.map((f) => f.fd), 'ipc'];
      child = spawn(process.execPath, [...execArgv, this.script, ...this.args], { env, stdio, detached: true });
    } else {
      // Not activated: node:cluster shares the app's own port between the workers.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cluster = (this.clusterMod ??= require('node:cluster') as typeof import('node:cluster').default);
      cluster.setupPrimary({ exec: this.script, args: [...this.args], execArgv, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
      child = cluster.fork(env).process;
    }
    let resolveReady!: (ok: boolean) => void;
    let resolveExit!: () => void;
    const w: Worker = {
      id,
      child,
      pid: child.pid ?? -1,
      started: Date.now(),
      ready: false,
      retiring: false,
      lastReport: Date.now(),
      lagMs: 0,
      exited: new Promise<void>((r) => (resolveExit = r)),
      readyPromise: new Promise<boolean>((r) => (resolveReady = r)),
    };
    this.workers.set(id, w);
    // Any length (--start-timeout 30d): setTimeout alone fires 2 ** 31 ms at once.
    const startTimer = longTimeout(this.startTimeoutMs, () => {
      if (w.ready) return;
      this.log(`worker ${id} (pid ${w.pid}) did not listen within ${this.startTimeoutMs} ms: killing it`, 4);
      child.kill('SIGKILL');
    }).unref();
    child.on('message', (m: WorkerMessage) => {
      if (!m || typeof m !== 'object' || !('libsystemdServe' in m)) return;
      w.lastReport = Date.now();
      if (m.libsystemdServe === 'ready' && !w.ready) {
        w.ready = true;
        startTimer.cancel();
        this.startFailures = 0;
        resolveReady(true);
        if (this.allReady && [...this.workers.values()].filter((x) => x.ready && !x.retiring).length >= this.count) {
          this.allReady();
          this.allReady = undefined;
        }
      } else if (m.libsystemdServe === 'health') {
        w.lagMs = m.lagMs;
        this.requests += m.requests;
      }
    });
    child.on('error', (err) => this.log(`worker ${id}: ${err.message}`, 4));
    child.once('exit', (code, signal) => {
      startTimer.cancel();
      this.workers.delete(id);
      resolveReady(false);
      resolveExit();
      this.onExit(w, code, signal);
    });
    return w;
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.stopping) {
      if (code !== 0) this.log(`worker ${w.id} (pid ${w.pid}) stopped with ${how}`, 4);
      if (this.workers.size === 0) this.end(this.reason ? 1 : 0);
      return;
    }
    if (w.retiring) return;
    if (!w.ready) {
      this.startFailures++;
      if (this.startFailures >= this.maxStartFailures) {
        return this.fail(`workers failed to start ${this.startFailures} time${this.startFailures === 1 ? '' : 's'} in a row (last: worker ${w.id}, pid ${w.pid}, ${how}); see its output above`);
      }
      const delay = Math.min(200 * 2 ** (this.startFailures - 1), 10_000);
      this.log(`worker ${w.id} (pid ${w.pid}) exited before listening (${how}): start ${this.startFailures} of ${this.maxStartFailures} failed, retrying in ${delay} ms`, 4);
      this.notify(() => sd.status(`worker failed to start (${how}); retry ${this.startFailures} of ${this.maxStartFailures - 1} in ${delay} ms`));
      this.later(delay, () => this.replace());
      return;
    }
    this.restarts++;
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const recent = this.crashes.length;
    if (recent >= CRASH_LIMIT) {
      return this.fail(`workers crashed ${recent} times in ${CRASH_WINDOW_MS / 1000} s (last: worker ${w.id}, pid ${w.pid}, ${how}); see its output above`);
    }
    // The first crash is replaced at once; crashes in a row wait longer each time.
    const delay = recent <= 1 ? 0 : Math.min(200 * 2 ** (recent - 2), 10_000);
    this.log(`worker ${w.id} (pid ${w.pid}) ended with ${how}: replacing it${delay ? ` in ${delay} ms` : ''} (${this.restarts} restart(s), ${recent} in the last ${CRASH_WINDOW_MS / 1000} s)`, 4);
    if (delay) this.later(delay, () => this.replace());
    else this.replace();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== t);
      fn();
    }, ms);
    this.timers.push(t);
  }

  private replace(): void {
    if (this.stopping) return;
    const w = this.spawnWorker();
    void w.readyPromise.then((ok) => {
      if (ok) this.log(`worker ${w.id} (pid ${w.pid}) listening`);
    });
  }

  /**
   * The watchdog's health check: this loop runs (or there would be no call) and every listening
   * worker reported within stuckMs (a silent one is killed and replaced by checkHealth()).
   */
  healthy(): boolean {
    const now = Date.now();
    for (const w of this.workers.values()) if (w.ready && !w.retiring && now - w.lastReport > this.stuckMs) return false;
    return true;
  }

  private checkHealth(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const w of this.workers.values()) {
      if (!w.ready || w.child.exitCode !== null || w.child.signalCode !== null) continue;
      if (now - w.lastReport > this.stuckMs) {
        this.log(`worker ${w.id} (pid ${w.pid}) sent no health report for ${now - w.lastReport} ms (event loop stuck or process stopped): killing it`, 4);
        w.lastReport = Infinity; // once
        w.child.kill('SIGKILL');
      }
    }
  }

  private statusLine(): string {
    const ready = [...this.workers.values()].filter((w) => w.ready && !w.retiring).length;
    const parts = [`${ready}/${this.count} workers ready`, `${this.rps} req/s`, `${this.restarts} restart(s)`];
    if (this.reloads) parts.push(`${this.reloads} reload(s)`);
    if (this.inReload) parts.push('reloading');
    return parts.join(', ');
  }

  private tickStatus(): void {
    this.rps = this.requests;
    this.requests = 0;
    if (this.ready && !this.stopping) this.notify(() => sd.status(this.statusLine()));
  }

  /** Rolling restart: one worker at a time, the new one listens before the old one drains. */
  reload(): Promise<void> {
    if (this.stopping || !this.ready) return Promise.resolve();
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    const run = async (): Promise<void> => {
      do {
        this.reloadAgain = false;
        this.inReload = true;
        const t0 = Date.now();
        this.notify(() => sd.reloading(`reloading: rolling restart of ${this.count} worker(s)`));
        this.log(`reload: rolling restart of ${this.count} worker(s)`);
        const old = [...this.workers.values()].filter((w) => !w.retiring);
        let failed = false;
        for (const o of old) {
          if (this.stopping) return;
          const n = this.spawnWorker();
          if (!(await n.readyPromise)) {
            failed = true;
            this.log(`reload: the new worker ${n.id} did not listen; keeping the old worker ${o.id} (pid ${o.pid})`, 4);
            break;
          }
          o.retiring = true;
          this.drain(o);
          await this.exitWithin(o);
        }
        this.reloads++;
        this.inReload = false;
        this.log(`reload ${failed ? 'stopped early' : 'done'} in ${Date.now() - t0} ms: pids ${this.pids().join(', ')}`);
        this.notify(() => sd.ready(this.statusLine()));
      } while (this.reloadAgain && !this.stopping);
    };
    this.reloading = run().finally(() => {
      this.reloading = undefined;
      this.inReload = false;
    });
    return this.reloading;
  }

  /**
   * Asks a worker to drain: over IPC once it listens (its preload then drains as on SIGTERM, unless
   * it is already draining: with KillMode=control-group PID 1 has signalled it too, and a second
   * SIGTERM would mean "exit now"), by SIGTERM before that.
   */
  private drain(w: Worker): void {
    if (w.ready && w.child.connected) {
      try {
        w.child.send({ libsystemdServe: 'drain' });
        return;
      } catch {
        // the channel just closed: the signal below
      }
    }
    w.child.kill('SIGTERM');
  }

  /** Waits for a draining worker's exit; kills it after the drain budget + 5 s. */
  private async exitWithin(w: Worker): Promise<void> {
    let t: LongTimer | undefined;
    await Promise.race([
      w.exited,
      new Promise<void>((r) => {
        t = longTimeout(this.stopTimeoutMs + 5000, () => {
          this.log(`worker ${w.id} (pid ${w.pid}) still draining after ${this.stopTimeoutMs + 5000} ms: killing it`, 4);
          w.child.kill('SIGKILL');
          r();
        });
      }),
    ]);
    t?.cancel();
    await w.exited;
  }

  /** Every worker drains, then `done` resolves (0, or 1 after a failure). */
  async stop(signal: NodeJS.Signals | 'stop' = 'stop'): Promise<number> {
    if (!this.stopping) {
      this.stopping = true;
      const live = [...this.workers.values()];
      this.notify(() => sd.notify({ STOPPING: 1, STATUS: `stopping on ${signal}: draining ${live.length} worker(s)`, EXTEND_TIMEOUT_USEC: BigInt(this.stopTimeoutMs + 8000) * 1000n }));
      for (const t of this.timers) clearTimeout(t);
      if (live.length === 0) this.end(this.reason ? 1 : 0);
      for (const w of live) this.drain(w);
      await Promise.all(live.map((w) => this.exitWithin(w)));
    }
    return this.done;
  }

  private fail(reason: string): void {
    this.reason = reason;
    this.log(reason, 3);
    this.notify(() => sd.status(`failed: ${reason}`));
    void this.stop();
  }

  private end(code: number): void {
    for (const t of this.timers) clearTimeout(t);
    this.watchdog?.stop();
    for (const [s, fn] of this.signalHandlers) process.removeListener(s, fn);
    this.finish(code);
  }
}

/** Whether libsystemd/auto was loaded into this process (a preload: nothing of serve imports it). */
function autoPreloadedHere(): boolean {
  try {
    return require.cache[require.resolve('../auto')] !== undefined;
  } catch {
    return false;
  }
}

/** NODE_OPTIONS without `--import`/`--require`/`-r` of libsystemd/auto (by package name or dist path). */
export function withoutAutoPreload(options: string): string {
  return options
    .replace(/(?:^|\s)(?:--import|--require|-r)(?:=|\s+)(?:"[^"]*"|'[^']*'|\S+)/g, (m) => (/libsystemd\/auto(?:\.m?js)?\b|[\\/]dist[\\/]auto\.m?js\b/.test(m) ? '' : m))
    .trim();
}

/** JOURNAL_STREAM names stderr's device:inode (systemd's StandardError=journal). */
function stderrIsJournal(): boolean {
  const m = /^(\d+):(\d+)$/.exec(process.env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(2, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/**
 * Runs `script` in N workers (see the module comment). Resolves once every worker listens
 * (READY=1 sent); `cluster.done` resolves with the exit code after a stop.
 */
export async function serve(options: ServeOptions): Promise<Cluster> {
  const c = new Cluster(options);
  await c.start();
  return c;
}
