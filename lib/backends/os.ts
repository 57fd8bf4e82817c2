/**
 * The system calls the backends make, in two flavours: `native` (the addon's primitives) and
 * `node` (pure Node: no datagrams, no fcntl, no getsockopt). Methods return >= 0 or -errno like
 * the rest of the contract.
 */
import { accessSync, fstatSync, type Stats } from 'node:fs';
import type { NativeBinding } from '../addon';
import { E, errnoOf } from '../errors';
import { SOCK_DGRAM, SOL_SOCKET, SO_ACCEPTCONN, SO_SNDBUF, SO_SNDBUFFORCE, SO_TYPE, S_IFIFO, S_IFMT, S_IFSOCK } from '../protocol/linux';
import type { SocketCalls, Transport } from './contract';

export interface SystemCalls {
  readonly name: Transport;
  /** The Node-API primitives, on the native transport only. */
  readonly binding?: NativeBinding;
  /** fcntl(F_SETFD, FD_CLOEXEC); the node transport only checks that the fd is open. */
  setCloexec(fd: number): number;
  /** getsockopt(SOL_SOCKET, SO_TYPE); -ENOTSUP on the node transport. */
  socketType(fd: number): number;
  /** getsockopt(SOL_SOCKET, SO_ACCEPTCONN); -ENOTSUP on the node transport. */
  acceptsConnections(fd: number): number;
  /** getsockname() as raw sockaddr bytes; -ENOTSUP on the node transport. */
  socketName(fd: number): Buffer | number;
  /** fstat(fd): the addon's on the native transport (any runtime), Node's fs on the node one. */
  stat(fd: number): FdStat | number;
  /** This process's pidfd inode id (LISTEN_PIDFDID); -ENOTSUP on the node transport. */
  pidfdId(): bigint | number;
}

/** What the fd checks need of fstat(). */
export interface FdStat {
  isSocket(): boolean;
  isFIFO(): boolean;
  readonly dev: number;
  readonly ino: number;
}

/**
 * An AF_UNIX datagram socket with an 8 MiB send buffer, as libsystemd's fd_inc_sndbuf() sets
 * it (SO_SNDBUFFORCE when privileged, else SO_SNDBUF, best effort): large notify states,
 * many fds and big journal entries then fit in one datagram. The fd, or -errno.
 */
export function datagramSocket(n: NativeBinding, nonblocking: boolean): number {
  const fd = n.unix_socket(SOCK_DGRAM, nonblocking);
  if (fd < 0) return fd;
  incSndbuf(n, fd);
  return fd;
}

/** libsystemd's fd_inc_sndbuf(fd, 8 MiB): SO_SNDBUFFORCE (past net.core.wmem_max) when privileged, else SO_SNDBUF. */
export function incSndbuf(n: NativeBinding, fd: number): void {
  if (n.setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20) < 0) n.setsockopt_int(fd, SOL_SOCKET, SO_SNDBUF, 8 << 20);
}

/** fstat(fd) through Node, or -errno. */
export function fstat(fd: number): Stats | number {
  try {
    return fstatSync(fd);
  } catch (err) {
    return errnoOf(err);
  }
}

/** access(path) through Node: 0, or -errno. */
export function access(path: string): number {
  try {
    accessSync(path);
    return 0;
  } catch (err) {
    return errnoOf(err);
  }
}

export function addonSystemCalls(binding: NativeBinding): SystemCalls {
  return {
    name: 'native',
    binding,
    setCloexec: (fd) => binding.set_cloexec(fd),
    socketType: (fd) => binding.getsockopt_int(fd, SOL_SOCKET, SO_TYPE),
    acceptsConnections: (fd) => binding.getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN),
    socketName: (fd) => binding.getsockname(fd),
    stat: (fd) => {
      const r = binding.fd_stat(fd);
      if (typeof r === 'number') return r;
      const [mode, dev, ino] = r;
      return { isSocket: () => (mode & S_IFMT) === S_IFSOCK, isFIFO: () => (mode & S_IFMT) === S_IFIFO, dev, ino };
    },
    // A process keeps its pidfd id for life: asked until known (it costs four system calls).
    pidfdId: () => {
      if (pidfdId !== undefined) return pidfdId;
      const r = binding.pidfd_self_id();
      if (typeof r === 'bigint' || r === -E.ENOTSUP) pidfdId = r;
      return r;
    },
  };
}

let pidfdId: bigint | number | undefined;

export function nodeSystemCalls(): SystemCalls {
  return {
    name: 'node',
    // Node marks inherited descriptors close-on-exec at start-up (libuv's
    // uv_disable_stdio_inheritance), so only the fd's existence is checked here.
    setCloexec: (fd) => {
      const st = fstat(fd);
      return typeof st === 'number' ? st : 0;
    },
    socketType: () => -E.ENOTSUP,
    acceptsConnections: () => -E.ENOTSUP,
    socketName: () => -E.ENOTSUP,
    stat: fstat,
    pidfdId: () => -E.ENOTSUP,
  };
}

/** The addon's calls for `libsystemd run`, in the contract's shape. */
export function socketCalls(n: NativeBinding): SocketCalls {
  return {
    unixSocket: (type, nonblocking) => n.unix_socket(type, nonblocking),
    bind: (fd, path) => n.unix_bind(fd, path),
    listen: (fd, backlog) => n.listen_fd(fd, backlog),
    inetListen: (family, host, port, type, backlog) => n.inet_listen(family, host, port, type, backlog),
    setsockoptInt: (fd, level, name, value) => n.setsockopt_int(fd, level, name, value),
    recvmsg: (fd, maxBytes) => n.unix_recvmsg(fd, maxBytes),
    close: (fd) => n.close(fd),
    watch: (fd, callback, events = 1) => n.poll_start(fd, events, () => callback()),
    unwatch: (watcher) => n.poll_stop(watcher),
  };
}

/** A write-only net.Socket over a stream fd (node:net loaded on first use). */
export function socketOnFd(fd: number): import('node:net').Socket {
  const { Socket } = require('node:net') as typeof import('node:net');
  return new Socket({ fd, readable: false, writable: true });
}
