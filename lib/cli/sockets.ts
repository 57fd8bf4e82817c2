/**
 * The system calls `libsystemd run` makes, over the backend's SocketCalls, each failure a
 * SystemdError (code, syscall, what it was for) instead of a bare errno.
 */
import { unlinkSync } from 'node:fs';
import { impl } from '../backends/select';
import type { SocketCalls } from '../backends/contract';
import { SystemdError } from '../errors';
import { SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_PASSCRED } from '../protocol/linux';
import type { ListenSpec } from './listen';

function ok(rc: number, syscall: string, what: string): number {
  if (rc < 0) throw new SystemdError(rc, syscall, what);
  return rc;
}

/** A datagram received on the notify socket. */
export interface Datagram {
  readonly data: Buffer;
  readonly fds: number[];
  readonly pid: number;
}

export class RunSockets {
  private readonly c: SocketCalls;

  constructor() {
    const c = impl.sockets;
    if (!c) throw new Error('the native addon is not loaded, so nothing can be done here: --listen, --notify and --watchdog need its socket primitives (see `libsystemd doctor`)');
    this.c = c;
  }

  /** Binds one --listen address (and listens on a stream one) without ever accepting on it: the child does. */
  bindListen(l: ListenSpec): number {
    const type = l.datagram ? SOCK_DGRAM : SOCK_STREAM;
    if (l.path === undefined) return ok(this.c.inetListen(l.family!, l.host!, l.port!, type, 4096), 'listen', l.address);
    const fd = ok(this.c.unixSocket(type, false), 'socket', l.address);
    try {
      unlinkSync(l.path);
    } catch {
      // not there yet
    }
    try {
      ok(this.c.bind(fd, Buffer.from(l.path)), 'bind', l.address);
      if (!l.datagram) ok(this.c.listen(fd, 4096), 'listen', l.address);
    } catch (err) {
      this.c.close(fd);
      throw err;
    }
    return fd;
  }

  /** A non-blocking datagram socket bound at `path` that receives the senders' credentials (a NOTIFY_SOCKET). */
  notifySocket(path: string): number {
    const fd = ok(this.c.unixSocket(SOCK_DGRAM, true), 'socket', `notify socket ${path}`);
    try {
      ok(this.c.bind(fd, Buffer.from(path)), 'bind', `notify socket ${path}`);
      ok(this.c.setsockoptInt(fd, SOL_SOCKET, SO_PASSCRED, 1), 'setsockopt', `SO_PASSCRED on ${path}`);
    } catch (err) {
      this.c.close(fd);
      throw err;
    }
    return fd;
  }

  /** The next waiting datagram, or undefined when none is waiting. */
  receive(fd: number, maxBytes: number): Datagram | undefined {
    const r = this.c.recvmsg(fd, maxBytes);
    if (typeof r === 'number') return undefined;
    const [data, fds, pid] = r;
    return { data, fds, pid };
  }

  /** Calls `callback` on the event loop whenever `fd` is readable; returns the watcher to unwatch. */
  watch(fd: number, callback: () => void, what: string): number {
    return ok(this.c.watch(fd, callback), 'uv_poll_start', what);
  }

  unwatch(watcher: number): void {
    this.c.unwatch(watcher);
  }

  close(fd: number): void {
    this.c.close(fd);
  }
}
