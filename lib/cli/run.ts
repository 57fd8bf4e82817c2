/**
 * `libsystemd run [options] -- COMMAND...`: starts COMMAND the way systemd would, to develop and
 * test services without systemd: sockets passed as fds 3… (LISTEN_FDS, LISTEN_FDNAMES, a
 * LISTEN_PID equal to the child's pid), a private NOTIFY_SOCKET whose messages are shown as
 * they arrive, a watchdog that kills with SIGABRT when the pings stop, a start timeout, restarts
 * that hand stored fds (FDSTORE=1) back, and signals forwarded.
 *
 * It never leaves its command behind, however it ends: as systemd does, each command runs in a
 * session (process group) of its own, and a stop signal goes to the whole group; SIGHUP (a closed
 * terminal) stops it like SIGTERM; the end of the process that started `run` (a killed
 * `npx`/`npm` wrapper, whose `sh -c` does not pass signals on) stops it too; and when `run`
 * itself is killed with SIGKILL, a small watcher (REAPER) that holds the other end of a pipe
 * sees it close, ends the groups (SIGTERM, SIGKILL 5 s later) and removes the temp directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LISTEN_VARIABLES, WATCHDOG_VARIABLES } from '../protocol/listen';
import { parseListens, type ListenSpec } from './listen';
import { RunSockets } from './sockets';
import { DURATION_MAX_MS, longTimeout, type LongTimer } from '../timers';

export interface RunOptions {
  listen: ListenSpec[];
  accept: boolean;
  lazy: boolean;
  notify: boolean;
  readyTimeoutMs?: number;
  watchdogMs?: number;
  restart: 'no' | 'on-failure' | 'always';
  json: boolean;
  command: string[];
  /** --reload-signal: the signal a SIGHUP to `run` is forwarded as (the service's onReload signal). */
  reloadSignal?: NodeJS.Signals;
  /** --credential NAME=FILE: files given to the command as credentials. */
  credentials: { name: string; file: string }[];
  /** --memory-pressure: a MEMORY_PRESSURE_WATCH socket; SIGUSR2 to `run` sends a pressure event. */
  memoryPressure: boolean;
  /** --stop-timeout: how long a stopped command may take before SIGKILL (TimeoutStopSec=, 90 s). */
  stopTimeoutMs: number;
}

export const RUN_USAGE = `libsystemd run [options] -- COMMAND [ARGS...]
  -l, --listen [NAME=]ADDR
                         pass a socket (repeatable): 8080, 127.0.0.1:8080, [::1]:8080, /path.sock,
                         udp:8125 (LISTEN_FDS, LISTEN_PID of the child). NAME is its LISTEN_FDNAMES
                         entry (default: http for the first, socket2, socket3… for the others, as
                         libsystemd unit names them)
  --fdname A:B           names for the --listen sockets, in order (instead of NAME=)
  --accept               inetd style: one COMMAND per connection, fd 3 is the connection
  --lazy                 start COMMAND on the first connection or datagram, like a .socket unit
  --notify               a private NOTIFY_SOCKET; shows READY, STATUS, WATCHDOG, FDSTORE… as they come
  --ready-timeout TIME   fail when READY=1 has not come (like TimeoutStartSec=)
  --stop-timeout TIME    SIGKILL a stopped command that has not exited after TIME (like
                         TimeoutStopSec=; default 90s)
  --watchdog TIME        WATCHDOG_USEC; SIGABRT when the pings stop (like WatchdogSec=)
  --restart POLICY       no, on-failure or always; stored fds (FDSTORE=1) are handed back
  --reload-signal SIG    a SIGHUP to run is forwarded as SIG (what the service's onReload() waits
                         for; e.g. SIGHUP); RELOADING=1 … READY=1 are shown as reloading/reloaded
  --credential NAME=FILE give FILE to the command as credential NAME ($CREDENTIALS_DIRECTORY, as
                         LoadCredential=; repeatable)
  --memory-pressure      a MEMORY_PRESSURE_WATCH socket for onMemoryPressure(); each SIGUSR2 to
                         run sends one pressure event
  --json                 one JSON event per line on stdout (the command's stdout goes to stderr)
  --help                 this text
TIME: 500ms, 2s, 1min, or seconds.`;

/**
 * The watcher: `sh -c REAPER sh DIR...`, in a session of its own (no group signal reaches it),
 * ignoring the signals a terminal sends. It reads `+ PID` / `- PID` lines (a command's process
 * group started / ended) on stdin, which only `run` holds open; at end of input, `run` is gone:
 * SIGTERM to each group still listed, the DIRs removed, SIGKILL to what remains after 5 s.
 */
const REAPER = `trap '' INT TERM HUP QUIT TSTP TTIN TTOU
pids=
while read -r op pid; do
  case $op in
    +) pids="$pids $pid" ;;
    -) rest=; for p in $pids; do [ "$p" = "$pid" ] || rest="$rest $p"; done; pids=$rest ;;
  esac
done
for p in $pids; do kill -TERM "-$p" 2>/dev/null; done
for d in "$@"; do chmod -R u+rwx "$d" 2>/dev/null; rm -rf -- "$d"; done
i=0
while [ -n "$pids" ] && [ $i -lt 50 ]; do
  rest=; for p in $pids; do kill -0 "-$p" 2>/dev/null && rest="$rest $p"; done; pids=$rest
  [ -n "$pids" ] && sleep 0.1; i=$((i+1))
done
for p in $pids; do kill -KILL "-$p" 2>/dev/null; done
`;

/** How often `run` checks that the process that started it is still there (process.ppid). */
const PARENT_POLL_MS = 250;

export function parseTime(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(v);
  if (!m) throw new Error(`${flag} ${v}: a time such as 500ms, 2s or 1min`);
  const n = Number(m[1]);
  const ms = Math.round(m[2] === 'ms' ? n : m[2] === 'min' ? n * 60_000 : n * 1000);
  if (!(ms <= DURATION_MAX_MS)) throw new Error(`${flag} ${v}: at most ${DURATION_MAX_MS}ms`);
  return ms;
}

export function parseRunArgs(argv: readonly string[]): RunOptions {
  const listen: string[] = [];
  const fdnames: string[] = [];
  const o: RunOptions = { listen: [], accept: false, lazy: false, notify: false, restart: 'no', json: false, command: [], credentials: [], memoryPressure: false, stopTimeoutMs: 90_000 };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    switch (a) {
      case '-l':
      case '--listen': listen.push(value(i++, a)); break;
      case '--fdname': fdnames.push(...value(i++, a).split(':')); break;
      case '--accept': o.accept = true; break;
      case '--lazy': o.lazy = true; break;
      case '--notify': o.notify = true; break;
      case '--ready-timeout': o.readyTimeoutMs = parseTime(value(i++, a), a); break;
      case '--stop-timeout': o.stopTimeoutMs = parseTime(value(i++, a), a); break;
      case '--watchdog': o.watchdogMs = parseTime(value(i++, a), a); break;
      case '--restart': {
        const v = value(i++, a);
        if (v !== 'no' && v !== 'on-failure' && v !== 'always') throw new Error(`--restart ${v}: no, on-failure or always`);
        o.restart = v;
        break;
      }
      case '--json': o.json = true; break;
      case '--reload-signal': {
        const v = value(i++, a);
        if (!/^SIG[A-Z0-9]+$/.test(v) || !(v in constants.signals) || v === 'SIGKILL' || v === 'SIGSTOP') throw new Error(`--reload-signal ${v}: a signal name such as SIGHUP or SIGUSR1`);
        o.reloadSignal = v as NodeJS.Signals;
        break;
      }
      case '--credential': {
        const v = value(i++, a);
        const eq = v.indexOf('=');
        const name = eq > 0 ? v.slice(0, eq) : '';
        if (!/^[A-Za-z0-9_.@-]+$/.test(name) || name === '.' || name === '..' || eq === v.length - 1) throw new Error(`--credential ${v}: NAME=FILE`);
        o.credentials.push({ name, file: v.slice(eq + 1) });
        break;
      }
      case '--memory-pressure': o.memoryPressure = true; break;
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
        o.command = argv.slice(i) as string[];
        i = argv.length;
    }
  }
  if (o.command.length === 0) o.command = argv.slice(i) as string[];
  if (o.command.length === 0) throw new Error('no COMMAND given (put it after --)');
  if (fdnames.length && fdnames.length !== listen.length) throw new Error(`--fdname has ${fdnames.length} names for ${listen.length} sockets`);
  if (fdnames.length && listen.some((l) => l.includes('='))) throw new Error('--fdname and --listen NAME=ADDR exclude each other');
  o.listen = parseListens(listen.map((l, k) => (fdnames[k] !== undefined ? `${fdnames[k]}=${l}` : l)));
  if (o.accept && o.listen.length !== 1) throw new Error('--accept takes exactly one --listen');
  if (o.accept && (o.notify || o.watchdogMs !== undefined || o.lazy)) throw new Error('--accept runs one COMMAND per connection: --notify, --watchdog and --lazy do not apply');
  return o;
}

interface Passed {
  fd: number;
  name: string;
}

export class Supervisor {
  private readonly n: RunSockets;
  private readonly t0 = Date.now();
  private sockets: Passed[] = [];
  private stored: Passed[] = [];
  private child: ChildProcess | undefined;
  private notifyDir: string | undefined;
  private notifyPath: string | undefined;
  private notifyFd = -1;
  private notifyWatch: number | undefined;
  private readyTimer: LongTimer | undefined;
  private watchdogTimer: LongTimer | undefined;
  private watchdogMs: number | undefined;
  private startedAt = 0;
  private acceptServer: import('node:net').Server | undefined;
  private ready = false;
  private reloading = false;
  private credentialsDir: string | undefined;
  private pressure: { path: string; server: import('node:net').Server; clients: Set<Socket> } | undefined;
  private result = 'success';
  private stopping = false;
  private done!: (code: number) => void;
  /** The watcher's stdin, and the process groups (each command's pid) it knows about. */
  private reaper: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private parentWatch: NodeJS.Timeout | undefined;
  private stopTimer: LongTimer | undefined;

  constructor(private readonly o: RunOptions) {
    this.n = new RunSockets();
    this.watchdogMs = o.watchdogMs;
  }

  private emit(event: string, data: Record<string, unknown> = {}): void {
    const t = (Date.now() - this.t0) / 1000;
    if (this.o.json) {
      process.stdout.write(`${JSON.stringify({ t, event, ...data })}\n`);
      return;
    }
    const detail = Object.entries(data)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    process.stdout.write(`[+${t.toFixed(3)}s] ${event}${detail ? ` ${detail}` : ''}\n`);
  }

  run(): Promise<number> {
    const result = new Promise<number>((resolve) => (this.done = resolve));
    this.o.listen.forEach((l, i) => {
      const fd = this.n.bindListen(l);
      this.sockets.push({ fd, name: l.name });
      // The fd the command gets (3, 4, …), not this process's own.
      this.emit('listen', { address: l.address, fd: 3 + i, name: l.name });
    });
    if (this.o.notify || this.o.watchdogMs !== undefined || this.o.reloadSignal) this.openNotifySocket();
    if (this.o.credentials.length) this.writeCredentials();
    if (this.o.memoryPressure) this.openMemoryPressure();
    // Its stdout may be a pipe whose reader (an npx wrapper) is gone: the stop must still happen.
    process.stdout.on('error', () => {});
    this.startReaper();
    if (this.o.reloadSignal) {
      const sig = this.o.reloadSignal;
      process.on('SIGHUP', () => {
        this.emit('reload', { signal: sig });
        if (running(this.child)) this.child!.kill(sig);
      });
    } else {
      // A closed terminal: the command is stopped as systemctl stop would (SIGTERM), since a
      // service may take SIGHUP for a reload and carry on.
      process.on('SIGHUP', () => {
        this.emit('signal', { signal: 'SIGHUP' });
        this.stop('SIGTERM');
      });
    }
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        this.emit('signal', { signal: sig });
        this.stop(sig);
      });
    }
    this.watchParent();
    if (this.o.accept) this.acceptLoop();
    else if (this.o.lazy && this.sockets.length) this.startOnTraffic();
    else this.start();
    return result;
  }

  /** Stops the command (its whole process group) with `sig`, or finishes when none runs. */
  private stop(sig: NodeJS.Signals): void {
    this.stopping = true;
    if (!running(this.child)) return this.finish(0);
    const child = this.child!;
    killGroup(child.pid!, sig);
    // As TimeoutStopSec=: a command that does not end is killed (once; the timer keeps no one alive).
    if (this.stopTimer) return;
    // Any length (--stop-timeout 30d): setTimeout alone fires 2 ** 31 ms at once.
    this.stopTimer = longTimeout(this.o.stopTimeoutMs, () => {
      if (!running(child)) return;
      this.result = 'timeout';
      this.emit('stop-timeout', { pid: child.pid, signal: 'SIGKILL' });
      killGroup(child.pid!, 'SIGKILL');
    });
    this.stopTimer.unref();
  }

  /**
   * The processes that started `run` are gone when the chain of its ancestors breaks: its own
   * parent changes (a shell, or the `sh -c` of an npm/npx wrapper, ended) or an ancestor's does
   * (the wrapper itself was killed, and its `sh -c` lives on, orphaned). `run` then stops as on
   * SIGTERM. Started by PID 1 (or already orphaned, e.g. `setsid -f`), there is nothing to watch.
   */
  private watchParent(): void {
    const chain = ancestors();
    if (chain.length === 0) return;
    this.parentWatch = setInterval(() => {
      const broken = process.ppid !== chain[0]!.pid ? chain[0] : chain.find((a) => parentOf(a.pid) !== a.parent);
      if (broken === undefined) return;
      clearInterval(this.parentWatch);
      this.emit('parent-exit', { pid: broken.pid });
      // Already stopping (a terminal's Ctrl-C reached run and its wrapper alike): no second signal.
      if (!this.stopping) this.stop('SIGTERM');
    }, PARENT_POLL_MS);
    this.parentWatch.unref();
  }

  private startReaper(): void {
    const dirs = [this.notifyDir, this.credentialsDir].filter((d): d is string => d !== undefined);
    const reaper = spawn('/bin/sh', ['-c', REAPER, 'sh', ...dirs], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => {});
    reaper.stdin!.on('error', () => {});
    reaper.unref();
    (reaper.stdin as unknown as { unref(): void }).unref();
    this.reaper = reaper;
  }

  /** A command started (as a session and process group of its own) or ended: the watcher is told. */
  private track(pid: number | undefined, started: boolean): void {
    if (pid === undefined) return;
    if (started) this.groups.add(pid);
    else this.groups.delete(pid);
    this.reaper?.stdin!.write(`${started ? '+' : '-'} ${pid}\n`);
  }

  private openNotifySocket(): void {
    this.notifyDir = mkdtempSync(join(tmpdir(), 'libsystemd-run-'));
    this.notifyPath = join(this.notifyDir, 'notify');
    const fd = this.n.notifySocket(this.notifyPath);
    this.notifyFd = fd;
    this.notifyWatch = this.n.watch(fd, () => this.readNotify(), 'the notify socket');
    this.emit('notify-socket', { path: this.notifyPath });
  }

  /** --credential: a private directory (0700, files 0400) the command finds in $CREDENTIALS_DIRECTORY. */
  private writeCredentials(): void {
    this.credentialsDir = mkdtempSync(join(tmpdir(), 'libsystemd-run-creds-'));
    for (const c of this.o.credentials) {
      const target = join(this.credentialsDir, c.name);
      writeFileSync(target, readFileSync(c.file), { mode: 0o400 });
    }
    chmodSync(this.credentialsDir, 0o500);
    this.emit('credentials', { directory: this.credentialsDir, names: this.o.credentials.map((c) => c.name) });
  }

  /** --memory-pressure: the socket protocol of MEMORY_PRESSURE_WATCH; SIGUSR2 sends an event. */
  private openMemoryPressure(): void {
    const dir = this.notifyDir ?? (this.notifyDir = mkdtempSync(join(tmpdir(), 'libsystemd-run-')));
    const path = join(dir, 'memory-pressure');
    const clients = new Set<Socket>();
    const server = createServer((c) => {
      clients.add(c);
      c.on('close', () => clients.delete(c));
      c.once('data', (d) => this.emit('memory-pressure-watch', { trigger: d.toString('latin1').replace(/\0+$/, '') }));
      c.on('error', () => clients.delete(c));
    });
    server.listen(path);
    server.unref();
    this.pressure = { path, server, clients };
    process.on('SIGUSR2', () => {
      for (const c of clients) c.write('!');
      this.emit('memory-pressure', { sent: clients.size });
    });
  }

  /** --lazy: starts the command when the first connection or datagram waits on any socket. */
  private startOnTraffic(): void {
    const watchers: number[] = [];
    const go = (): void => {
      for (const w of watchers.splice(0)) this.n.unwatch(w);
      this.emit('traffic');
      this.start();
    };
    for (const s of this.sockets) {
      watchers.push(this.n.watch(s.fd, go, `socket ${s.name}`));
    }
    this.emit('waiting', { for: 'the first connection' });
  }

  /** --accept: one command per connection, with the connection as fd 3 ("connection"). */
  private acceptLoop(): void {
    const server = createServer({ pauseOnConnect: true }, (conn: Socket) => {
      const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
      const child = this.spawnChild([{ fd, name: 'connection' }], { REMOTE_ADDR: conn.remoteAddress ?? '', REMOTE_PORT: String(conn.remotePort ?? '') });
      this.emit('connection', { remote: `${conn.remoteAddress}:${conn.remotePort}`, pid: child.pid });
      conn.destroy(); // the child has its own copy of the connection
      child.on('exit', (code, signal) => {
        this.ended(child.pid);
        this.emit('exit', { pid: child.pid, code, signal });
      });
    });
    server.listen({ fd: this.sockets[0]!.fd });
    this.acceptServer = server;
  }

  private spawnChild(fds: Passed[], extraEnv: Record<string, string> = {}): ChildProcess {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    for (const k of [...LISTEN_VARIABLES, ...WATCHDOG_VARIABLES, 'NOTIFY_SOCKET']) delete env[k];
    const exports: string[] = [];
    if (fds.length) {
      env.LISTEN_FDS = String(fds.length);
      if (fds.some((f) => f.name !== 'unknown')) env.LISTEN_FDNAMES = fds.map((f) => f.name).join(':');
      exports.push('LISTEN_PID');
    }
    if (this.notifyPath) env.NOTIFY_SOCKET = this.notifyPath;
    // As systemd: a fresh invocation id per start; LISTEN_PIDFDID (systemd 259) is never passed on,
    // since the child's pidfd id is not this process's to know: a stale one would hide the fds.
    env.INVOCATION_ID = randomBytes(16).toString('hex');
    if (this.credentialsDir) env.CREDENTIALS_DIRECTORY = this.credentialsDir;
    else delete env.CREDENTIALS_DIRECTORY;
    if (this.pressure) {
      env.MEMORY_PRESSURE_WATCH = this.pressure.path;
      env.MEMORY_PRESSURE_WRITE = Buffer.from('some 200000 2000000\0').toString('base64');
    } else {
      delete env.MEMORY_PRESSURE_WATCH;
      delete env.MEMORY_PRESSURE_WRITE;
    }
    if (this.watchdogMs !== undefined) {
      env.WATCHDOG_USEC = String(this.watchdogMs * 1000);
      exports.push('WATCHDOG_PID');
    }
    // The variables naming the child's own pid are set by a shell that then execs the command.
    const prelude = exports.map((v) => `${v}=$$; export ${v}; `).join('');
    const stdout = this.o.json ? 2 : 'inherit';
    // detached: a session and process group of its own, as systemd gives a service (setsid):
    // a stop reaches the processes it starts too, and a terminal's Ctrl-C reaches it once, from run.
    const child = spawn('/bin/sh', ['-c', `${prelude}exec "$@"`, 'sh', ...this.o.command], { env, detached: true, stdio: ['inherit', stdout, 'inherit', ...fds.map((f) => f.fd)] });
    this.track(child.pid, true);
    return child;
  }

  /** A command's main process exited: what it left in its process group is stopped too (as KillMode=control-group). */
  private ended(pid: number | undefined): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // nothing left in it (never the pid alone: it is reaped, and may be another's by now)
    }
    this.track(pid, false);
  }

  private start(): void {
    this.ready = false;
    this.result = 'success';
    this.startedAt = Date.now();
    const fds = [...this.sockets, ...this.stored];
    const child = this.spawnChild(fds);
    this.child = child;
    this.emit('start', { pid: child.pid, command: this.o.command.join(' '), fds: fds.map((f, i) => `${3 + i}:${f.name}`) });
    if (this.o.notify && this.o.readyTimeoutMs !== undefined) this.readyTimer = longTimeout(this.o.readyTimeoutMs, () => this.fail('timeout', 'SIGTERM'));
    if (!this.o.notify) this.armWatchdog(); // Type=simple: the watchdog runs from the start
    child.on('exit', (code, signal) => this.exited(code, signal));
  }

  private fail(result: string, signal: NodeJS.Signals): void {
    if (!this.child || this.child.exitCode !== null) return;
    this.result = result;
    this.emit(result === 'timeout' ? 'ready-timeout' : 'watchdog-timeout', { pid: this.child.pid, signal });
    this.child.kill(signal);
  }

  private armWatchdog(): void {
    if (this.watchdogMs === undefined) return;
    this.watchdogTimer?.cancel();
    // Any length (the child may set WATCHDOG_USEC= to days): setTimeout alone fires 2 ** 31 ms at once.
    this.watchdogTimer = longTimeout(this.watchdogMs, () => this.fail('watchdog', 'SIGABRT'));
  }

  private readNotify(): void {
    for (;;) {
      const d = this.n.receive(this.notifyFd, 4096);
      if (!d) return;
      this.message(d.data.toString(), d.fds, d.pid);
    }
  }

  private message(text: string, fds: number[], pid: number): void {
    const lines = text.split(/[\n\r]+/).filter((l) => l !== '');
    const get = (k: string): string | undefined => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
    const flag = (k: string): boolean => lines.includes(`${k}=1`);
    this.emit('notify', { pid, message: lines, fds: fds.length });
    let keptFds = false;
    if (flag('BARRIER')) this.emit('barrier');
    const status = get('STATUS');
    if (status !== undefined) this.emit('status', { text: status });
    if (flag('READY') && this.reloading) {
      this.reloading = false;
      this.emit('reloaded', { pid, ...(status !== undefined ? { status } : {}) });
    }
    if (flag('READY') && !this.ready) {
      this.ready = true;
      this.readyTimer?.cancel();
      this.emit('ready', { pid, afterMs: Date.now() - this.startedAt });
      this.armWatchdog();
    }
    if (flag('RELOADING')) {
      this.reloading = true;
      this.emit('reloading', { monotonicUsec: get('MONOTONIC_USEC') });
    }
    if (flag('STOPPING')) this.emit('stopping');
    if (flag('WATCHDOG')) {
      this.emit('watchdog');
      this.armWatchdog();
    }
    if (get('WATCHDOG') === 'trigger') this.fail('watchdog', 'SIGABRT');
    const newTimeout = get('WATCHDOG_USEC');
    if (newTimeout !== undefined && /^\d{1,20}$/.test(newTimeout) && BigInt(newTimeout) < 2n ** 64n - 1n) {
      this.watchdogMs = Number(BigInt(newTimeout) / 1000n);
      this.emit('watchdog-usec', { ms: this.watchdogMs });
      this.armWatchdog();
    }
    const extend = get('EXTEND_TIMEOUT_USEC');
    // As PID 1: only a decimal uint64 (a child's 'abc' must not throw here), at any length.
    if (extend !== undefined && /^\d{1,20}$/.test(extend) && BigInt(extend) < 2n ** 64n - 1n && this.readyTimer && !this.ready) {
      this.readyTimer.cancel();
      this.readyTimer = longTimeout(Number(BigInt(extend) / 1000n), () => this.fail('timeout', 'SIGTERM'));
      this.emit('extend-timeout', { ms: Number(BigInt(extend) / 1000n) });
    }
    for (const k of ['MAINPID', 'ERRNO', 'BUSERROR']) {
      const v = get(k);
      if (v !== undefined) this.emit(k.toLowerCase(), { value: v });
    }
    if (flag('FDSTORE') && fds.length) {
      const name = get('FDNAME') ?? 'stored';
      for (const fd of fds) this.stored.push({ fd, name });
      keptFds = true;
      this.emit('fdstore', { name, count: fds.length, stored: this.stored.map((s) => s.name) });
    }
    if (flag('FDSTOREREMOVE')) {
      const name = get('FDNAME');
      const [gone, kept] = [this.stored.filter((s) => s.name === name), this.stored.filter((s) => s.name !== name)];
      for (const s of gone) this.n.close(s.fd);
      this.stored = kept;
      this.emit('fdstore-remove', { name, removed: gone.length });
    }
    // As PID 1: fds a message does not store are closed (a barrier's pipe so, too).
    if (!keptFds) for (const fd of fds) this.n.close(fd);
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.ended(this.child?.pid);
    this.readyTimer?.cancel();
    this.watchdogTimer?.cancel();
    const failed = this.result !== 'success' || (code !== 0 && code !== null) || (signal !== null && !this.stopping);
    const result = this.result !== 'success' ? this.result : failed ? (signal ? 'signal' : 'exit-code') : 'success';
    this.emit('exit', { pid: this.child?.pid, code, signal, result });
    const restart = !this.stopping && (this.o.restart === 'always' || (this.o.restart === 'on-failure' && failed));
    if (restart) {
      this.emit('restart', { stored: this.stored.map((s) => s.name) });
      setTimeout(() => this.start(), 100);
      return;
    }
    // Stopped by a forwarded SIGTERM/SIGINT: a clean stop, as for systemctl stop.
    if (this.stopping && (code === 0 || signal === 'SIGTERM' || signal === 'SIGINT')) this.finish(0);
    else this.finish(code ?? (signal ? 128 : 1));
  }

  private finish(code: number): void {
    if (this.parentWatch) clearInterval(this.parentWatch);
    this.stopTimer?.cancel();
    // Commands still running (--accept's connections): stopped; the watcher, at the end of its
    // input, makes sure they are gone (SIGKILL after 5 s).
    for (const pid of this.groups) killGroup(pid, 'SIGTERM');
    this.acceptServer?.close();
    if (this.notifyWatch) this.n.unwatch(this.notifyWatch);
    this.notifyWatch = undefined;
    if (this.notifyDir) rmSync(this.notifyDir, { recursive: true, force: true });
    if (this.credentialsDir) {
      chmodSync(this.credentialsDir, 0o700);
      rmSync(this.credentialsDir, { recursive: true, force: true });
    }
    this.pressure?.server.close();
    this.reaper?.stdin!.end();
    this.done(code);
  }
}

/** The parent of `pid` (from /proc), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** This process's ancestors and their parents, parent first, up to (not including) PID 1. */
function ancestors(): { pid: number; parent: number }[] {
  const chain: { pid: number; parent: number }[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 64; ) {
    const parent = parentOf(pid);
    if (parent === undefined) break;
    chain.push({ pid, parent });
    pid = parent;
  }
  return chain;
}

function running(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** `sig` to the process group `pid` leads, or to `pid` alone when it leads none. */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}
