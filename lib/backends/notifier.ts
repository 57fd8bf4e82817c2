/**
 * The sd_notify protocol in TypeScript (the newest libsystemd's sd_pid_notify_with_fds and
 * sd_notify_barrier, AF_UNIX addresses) over the addon: NOTIFY_SOCKET resolution, one datagram
 * on a non-blocking socket kept open per thread (libsystemd opens one per call, and blocks when
 * the manager's queue is full) with SCM_RIGHTS fds and, for a foreign pid, SCM_CREDENTIALS
 * (retried without them when the kernel refuses); an ordered queue when the manager does not
 * read; the barrier as a pipe whose hang-up is awaited on the event loop. Without the addon:
 * systemd-notify(1).
 */
import type * as ChildProcess from 'node:child_process';
import { closeSync, constants as fsc, openSync, readSync, writeSync } from 'node:fs';
import type { NativeBinding } from '../addon';
import { E, errnoOf } from '../errors';
import { notifyAddress } from '../protocol/notify';
import { U64_MAX } from '../protocol/numbers';
import { longTimeout, type LongTimer } from '../timers';
import { NOTIFY_QUEUE_DEFAULTS, type NotifyQueueOptions, type NotifyStats } from './contract';
import { datagramSocket } from './os';

const env = process.env;

export interface NotifyImpl {
  notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number;
  notifyBarrier(timeoutUsec: bigint): Promise<number>;
  notifyStats(): NotifyStats;
  configureNotify(options: Partial<NotifyQueueOptions>): void;
}

/** The kept socket, which also says whether it can send to NOTIFY_SOCKET as it is now. */
export interface DatagramNotifier extends NotifyImpl {
  /** NOTIFY_SOCKET is set and is an AF_UNIX address this notifier sends to. */
  sendable(): boolean;
}

let kept: DatagramNotifier | undefined;
/** Over the addon's AF_UNIX primitives, with one socket kept per thread (whichever backend asks). */
export function datagramNotifier(n: NativeBinding): DatagramNotifier {
  return (kept ??= makeDatagramNotifier(n));
}

/** A message waiting for the manager to read its socket (it owns duplicates of its fds). */
interface Pending {
  readonly addr: Buffer;
  readonly state: Buffer;
  readonly fds: number[];
  readonly creds: [number, number, number] | null;
  /** `STATUS=` alone (only the newest matters) or `WATCHDOG=1` alone (one pending ping is enough). */
  readonly kind: 'status' | 'ping' | 'other';
  /** Called when the message is dropped (a barrier then fails instead of seeing its pipe closed). */
  readonly onDrop?: () => void;
}

/** As journal-datagram.ts: Bun's Node-API has no libuv poll handles (it aborts), Deno's never delivers their events. */
const RUNTIME_HAS_LIBUV = !(process.versions as Record<string, string | undefined>).bun && !(process.versions as Record<string, string | undefined>).deno;

/**
 * The notify socket is non-blocking: when the manager does not read it (its queue holds
 * net.unix.max_dgram_qlen datagrams: 10 on a bare kernel, 512 under systemd), a message is
 * queued in order instead of blocking the event loop (libsystemd's sd_notify blocks there) and
 * sent by a timer as soon as the socket takes it again. Only what the protocol lets go is
 * coalesced: a queued `STATUS=`-only message is replaced by a newer one, a second `WATCHDOG=1`
 * ping is not queued behind a pending one; READY=1, STOPPING=1, FDSTORE=1 (with its fds) and
 * every other message are kept, in order. The queue is bounded (maxQueued: beyond it the call
 * fails with EAGAIN) and gives up after maxStallMs without progress; both drops are counted in
 * notifyStats() and warned about (LIBSYSTEMD_NOTIFY_DROPPED), and what is still queued at exit
 * is sent within exitTimeoutMs or reported on stderr.
 */
function makeDatagramNotifier(n: NativeBinding): DatagramNotifier {
  let sock = -1;
  // The last NOTIFY_SOCKET value and its address bytes (it rarely changes).
  let lastValue: string | undefined;
  let lastAddr: Buffer | number = 0;
  const uid = process.getuid!();
  const gid = process.getgid!();
  // A process's real and effective ids only change through setuid() & co. (not from Node).
  const idsDiffer = uid !== process.geteuid!() || gid !== process.getegid!();

  const opts: NotifyQueueOptions = { ...NOTIFY_QUEUE_DEFAULTS };
  const queue: Pending[] = [];
  let sent = 0;
  let coalesced = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = 1;
  let lastProgress = 0;
  let warnedEpisode = false;
  let exitHooked = false;

  function socket(): number {
    if (sock >= 0) return sock;
    const fd = datagramSocket(n, true);
    if (fd < 0) return fd;
    sock = fd;
    return fd;
  }

  /** NOTIFY_SOCKET's address bytes or -errno (parsed again only when the value changes). */
  function address(e: string): Buffer | number {
    if (e !== lastValue) {
      lastValue = e;
      lastAddr = notifyAddress(e);
    }
    return lastAddr;
  }

  function sendable(): boolean {
    const e = env.NOTIFY_SOCKET;
    return e !== undefined && typeof address(e) !== 'number';
  }

  /** One sendmsg that never waits: bytes sent or -errno (-EAGAIN: the manager's queue is full). */
  function sendNow(fd: number, addr: Buffer, state: Buffer, fds: readonly number[], creds: [number, number, number] | null): number {
    let rc = n.unix_sendmsg(fd, addr, state, fds.length ? fds : null, creds);
    // The kernel refuses faked credentials without privilege: then send as ourselves.
    if (rc < 0 && rc !== -E.EAGAIN && creds) rc = n.unix_sendmsg(fd, addr, state, fds.length ? fds : null, null);
    return rc;
  }

  function warnDropped(count: number, why: string): void {
    if (warnedEpisode) return;
    warnedEpisode = true;
    process.emitWarning(`libsystemd: ${count} sd_notify message(s) dropped: ${why} (notifyStats().dropped counts them all)`, { code: 'LIBSYSTEMD_NOTIFY_DROPPED' });
  }

  function release(p: Pending, lost: boolean): void {
    if (lost) p.onDrop?.();
    for (const fd of p.fds) n.close(fd);
  }

  function send(pid: number, state: Buffer, fds: readonly number[], onDrop?: () => void): number {
    const e = env.NOTIFY_SOCKET;
    if (e === undefined) return 0;
    const addr = address(e);
    if (typeof addr === 'number') return addr;
    const fd = socket();
    if (fd < 0) return fd;
    const sendCreds = (pid !== 0 && pid !== process.pid) || idsDiffer;
    const creds: [number, number, number] | null = sendCreds ? [pid !== 0 ? pid : process.pid, uid, gid] : null;
    if (queue.length === 0) {
      const rc = sendNow(fd, addr, state, fds, creds);
      if (rc !== -E.EAGAIN) {
        if (rc >= 0) sent++;
        return rc < 0 ? rc : 1;
      }
    }
    return enqueue(addr, state, fds, creds, onDrop);
  }

  function kindOf(state: Buffer): Pending['kind'] {
    if (state.indexOf(0x0a) >= 0) return 'other';
    if (state.subarray(0, 7).toString('latin1') === 'STATUS=') return 'status';
    return state.length === 10 && state.toString('latin1') === 'WATCHDOG=1' ? 'ping' : 'other';
  }

  function enqueue(addr: Buffer, state: Buffer, fds: readonly number[], creds: [number, number, number] | null, onDrop?: () => void): number {
    const kind = kindOf(state);
    const same = (p: Pending) => p.kind === kind && p.addr.equals(addr) && (p.creds?.[0] ?? 0) === (creds?.[0] ?? 0);
    if (kind === 'ping' && queue.some(same)) {
      coalesced++;
      return 1;
    }
    if (kind === 'status') {
      for (let i = queue.length - 1; i >= 0; i--) {
        if (same(queue[i]!)) {
          queue.splice(i, 1);
          coalesced++;
        }
      }
    }
    if (queue.length >= opts.maxQueued) {
      dropped++;
      warnDropped(1, `the service manager has not read its notify socket and ${queue.length} messages are queued (maxQueued)`);
      return -E.EAGAIN;
    }
    const owned: number[] = [];
    for (const fd of fds) {
      const d = n.dup_cloexec ? n.dup_cloexec(fd) : -E.ENOSYS;
      if (d < 0) {
        for (const o of owned) n.close(o);
        return d;
      }
      owned.push(d);
    }
    if (queue.length === 0) lastProgress = Date.now();
    queue.push({ addr, state: Buffer.from(state), fds: owned, creds, kind, onDrop });
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', drainAtExit);
    }
    schedule();
    return 1;
  }

  function schedule(): void {
    if (timer) return;
    timer = setTimeout(pump, delayMs);
    // A queue alone does not keep the process alive: the exit drain sends what is left.
    timer.unref?.();
  }

  /** Sends what the socket takes now, in order: true when the queue is empty. */
  function flushSome(): boolean {
    while (queue.length > 0) {
      const p = queue[0]!;
      const rc = sendNow(socket(), p.addr, p.state, p.fds, p.creds);
      if (rc === -E.EAGAIN) return false;
      queue.shift();
      if (rc < 0) {
        // The manager went away (ECONNREFUSED, ENOENT…): nothing queued can reach it now.
        dropped++;
        warnDropped(1, `sending failed (errno ${-rc}) while messages were queued`);
        release(p, true);
      } else {
        sent++;
        lastProgress = Date.now();
        release(p, false);
      }
    }
    return true;
  }

  function pump(): void {
    timer = undefined;
    if (flushSome()) {
      delayMs = 1;
      warnedEpisode = false;
      return;
    }
    if (Date.now() - lastProgress >= opts.maxStallMs) {
      const lost = queue.splice(0);
      dropped += lost.length;
      warnDropped(lost.length, `the service manager read nothing from its notify socket for ${opts.maxStallMs} ms (maxStallMs)`);
      for (const p of lost) release(p, true);
      delayMs = 1;
      warnedEpisode = false;
      return;
    }
    // Back off up to 50 ms while the manager does not read (a few wake-ups a second, no spin).
    delayMs = Math.min(delayMs * 2, 50);
    schedule();
  }

  function drainAtExit(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const deadline = Date.now() + opts.exitTimeoutMs;
    const before = dropped;
    const wake = new Int32Array(new SharedArrayBuffer(4));
    // Synchronous: the loop has ended; 5 ms sleeps between attempts.
    while (!flushSome() && Date.now() < deadline) Atomics.wait(wake, 0, 0, 5);
    const lost = queue.splice(0);
    dropped += lost.length;
    for (const p of lost) release(p, true);
    if (dropped === before) return;
    // A warning would not be printed any more: straight to stderr.
    try {
      writeSync(2, `libsystemd: ${dropped - before} sd_notify message(s) not delivered at exit: the service manager did not read its notify socket within ${opts.exitTimeoutMs} ms, or went away\n`);
    } catch {
      // stderr closed: nothing else to tell
    }
  }

  function notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number {
    const had = env.NOTIFY_SOCKET !== undefined;
    const rc = send(pid, state, fds);
    if (unset && had) delete env.NOTIFY_SOCKET;
    return rc;
  }

  async function notifyBarrier(timeoutUsec: bigint): Promise<number> {
    const p = n.pipe();
    if (typeof p === 'number') return p;
    const [r, w] = p;
    let dropWait: ((rc: number) => void) | undefined;
    let droppedEarly = false;
    const rc = send(0, Buffer.from('BARRIER=1'), [w], () => {
      if (dropWait) dropWait(-E.ETIMEDOUT);
      else droppedEarly = true;
    });
    n.close(w);
    if (rc <= 0 || droppedEarly) {
      n.close(r);
      return rc <= 0 ? rc : -E.ETIMEDOUT;
    }
    return waitForHangup(n, r, timeoutUsec, (fail) => (dropWait = fail));
  }

  return {
    notify,
    notifyBarrier,
    sendable,
    notifyStats: () => ({ sent, queued: queue.length, coalesced, dropped }),
    configureNotify(o) {
      Object.assign(opts, o);
    },
  };
}

// Loaded when first needed: most processes never run without the addon, and this module costs
// milliseconds at start-up.
const childProcess = (): typeof ChildProcess => require('node:child_process') as typeof ChildProcess;

/**
 * Resolves 1 when every writer of the pipe `fd` has closed it, -ETIMEDOUT after the timeout.
 * No thread of the pool and no blocking read is tied up while waiting, whatever the runtime: on
 * Node the addon's libuv poll watcher waits for the hang-up on the event loop; Bun's and Deno's
 * Node-API have no working libuv poll handle, so there the pipe is opened again through
 * /proc/self/fd without blocking (it reads EAGAIN while a writer holds it, EOF once none does)
 * and read on a timer backing off to 50 ms. `onFail` receives the function that ends the wait
 * early (the queued BARRIER=1 was dropped).
 */
function waitForHangup(n: NativeBinding, fd: number, timeoutUsec: bigint, onFail: (fail: (rc: number) => void) => void): Promise<number> {
  return new Promise((resolve) => {
    let timer: LongTimer | undefined;
    let poll: NodeJS.Timeout | undefined;
    let watcher = 0;
    let nb = -1;
    let finished = false;
    const buf = Buffer.alloc(64);
    const done = (rc: number) => {
      if (finished) return;
      finished = true;
      timer?.cancel();
      if (poll) clearTimeout(poll);
      if (watcher > 0) n.poll_stop(watcher);
      if (nb >= 0) closeSync(nb);
      n.close(fd);
      resolve(rc);
    };
    onFail(done);
    // Any length (setTimeout alone fires 2 ** 31 ms at once).
    if (timeoutUsec !== U64_MAX) timer = longTimeout(Number(timeoutUsec / 1000n), () => done(-E.ETIMEDOUT));
    if (RUNTIME_HAS_LIBUV) {
      watcher = n.poll_start(fd, 1, (events) => {
        if (events < 0) return done(1);
        try {
          // Readable: the hang-up (EOF), or bytes nobody should write (ignored).
          if (readSync(fd, buf) === 0) done(1);
        } catch {
          done(1);
        }
      });
      if (watcher < 0) done(watcher);
      return;
    }
    try {
      nb = openSync(`/proc/self/fd/${fd}`, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch (err) {
      return done(errnoOf(err));
    }
    let delay = 1;
    const tick = (): void => {
      poll = undefined;
      try {
        if (readSync(nb, buf) === 0) return done(1);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return done(1);
      }
      delay = Math.min(delay * 2, 50);
      poll = setTimeout(tick, delay);
    };
    tick();
  });
}

/**
 * Pure Node cannot send AF_UNIX datagrams: hand the assignments to systemd-notify(1). As root it
 * sends with our pid (its parent) as the credentials; otherwise PID 1 accepts it only with
 * NotifyAccess=all. fds cannot be passed this way (-ENOTSUP).
 */
export function helperNotifier(): NotifyImpl {
  function args(state: Buffer): string[] {
    return state.toString().split('\n').filter((l) => l !== '');
  }
  function notify(_pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number {
    if (env.NOTIFY_SOCKET === undefined) return 0;
    let rc: number;
    if (fds.length > 0) {
      rc = -E.ENOTSUP;
    } else {
      const once = () => childProcess().spawnSync('systemd-notify', ['--', ...args(state)], { stdio: 'ignore', timeout: 30_000 });
      let r = once();
      // While PID 1 stops the unit it signals every process of the cgroup until none is left: a
      // helper started from a SIGTERM handler (stopping()) can be caught by that sweep. Once more.
      if (r.signal && !r.error) r = once();
      rc = r.error ? -((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? E.ENOENT : E.EIO) : r.status === 0 ? 1 : -E.EIO;
    }
    if (unset) delete env.NOTIFY_SOCKET;
    return rc;
  }
  function notifyBarrier(): Promise<number> {
    if (env.NOTIFY_SOCKET === undefined) return Promise.resolve(0);
    // systemd-notify waits for PID 1 to process its message (its own barrier) before exiting.
    const child = childProcess().spawn('systemd-notify', ['X_LIBSYSTEMD_BARRIER=1'], { stdio: 'ignore' });
    return new Promise((resolve) => {
      child.on('error', () => resolve(-E.ENOENT));
      child.on('exit', (code) => resolve(code === 0 ? 1 : -E.EIO));
    });
  }
  return { notify, notifyBarrier, notifyStats: () => ({ sent: 0, queued: 0, coalesced: 0, dropped: 0 }), configureNotify() {} };
}
