/**
 * The sd_notify protocol in TypeScript (the newest libsystemd's sd_pid_notify_with_fds and
 * sd_notify_barrier, AF_UNIX addresses) over the addon: NOTIFY_SOCKET resolution, one datagram
 * on a socket kept open per thread (libsystemd opens one per call) with SCM_RIGHTS fds and, for a foreign pid,
 * SCM_CREDENTIALS (retried without them when the kernel refuses), and the barrier as a pipe
 * whose hang-up is awaited without blocking the event loop. Without the addon: systemd-notify(1).
 */
import type * as ChildProcess from 'node:child_process';
import type * as Net from 'node:net';
import type { NativeBinding } from '../addon';
import { E } from '../errors';
import { notifyAddress } from '../protocol/notify';
import { U64_MAX } from '../protocol/numbers';
import { longTimeout, type LongTimer } from '../timers';
import { datagramSocket } from './os';

const env = process.env;

export interface NotifyImpl {
  notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number;
  notifyBarrier(timeoutUsec: bigint): Promise<number>;
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

function makeDatagramNotifier(n: NativeBinding): DatagramNotifier {
  let sock = -1;
  // The last NOTIFY_SOCKET value and its address bytes (it rarely changes).
  let lastValue: string | undefined;
  let lastAddr: Buffer | number = 0;
  const uid = process.getuid!();
  const gid = process.getgid!();
  // A process's real and effective ids only change through setuid() & co. (not from Node).
  const idsDiffer = uid !== process.geteuid!() || gid !== process.getegid!();

  function socket(): number {
    if (sock >= 0) return sock;
    const fd = datagramSocket(n, false);
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

  function send(pid: number, state: Buffer, fds: readonly number[]): number {
    const e = env.NOTIFY_SOCKET;
    if (e === undefined) return 0;
    const addr = address(e);
    if (typeof addr === 'number') return addr;
    const fd = socket();
    if (fd < 0) return fd;
    const sendCreds = (pid !== 0 && pid !== process.pid) || idsDiffer;
    const creds: [number, number, number] | null = sendCreds ? [pid !== 0 ? pid : process.pid, uid, gid] : null;
    let rc = n.unix_sendmsg(fd, addr, state, fds.length ? fds : null, creds);
    // The kernel refuses faked credentials without privilege: then send as ourselves.
    if (rc < 0 && creds) rc = n.unix_sendmsg(fd, addr, state, fds.length ? fds : null, null);
    return rc < 0 ? rc : 1;
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
    const rc = notify(0, false, Buffer.from('BARRIER=1'), [w]);
    n.close(w);
    if (rc <= 0) {
      n.close(r);
      return rc;
    }
    return waitForHangup(r, timeoutUsec);
  }

  return { notify, notifyBarrier, sendable };
}

// Loaded when first needed: most processes never wait on a barrier or run without the addon,
// and these modules cost milliseconds at start-up.
const net = (): typeof Net => require('node:net') as typeof Net;
const childProcess = (): typeof ChildProcess => require('node:child_process') as typeof ChildProcess;

/** Resolves 1 when every writer of the pipe `fd` has closed it, -ETIMEDOUT after the timeout. */
function waitForHangup(fd: number, timeoutUsec: bigint): Promise<number> {
  return new Promise((resolve) => {
    // libuv watches the pipe: no thread and no blocking read is tied up while waiting.
    const s = new (net().Socket)({ fd, readable: true, writable: false });
    let timer: LongTimer | undefined;
    const done = (rc: number) => {
      timer?.cancel();
      s.destroy();
      resolve(rc);
    };
    s.on('end', () => done(1));
    s.on('close', () => done(1));
    s.on('error', () => done(1));
    s.resume();
    // Any length (setTimeout alone fires 2 ** 31 ms at once).
    if (timeoutUsec !== U64_MAX) timer = longTimeout(Number(timeoutUsec / 1000n), () => done(-E.ETIMEDOUT));
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
  return { notify, notifyBarrier };
}
