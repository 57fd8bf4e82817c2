/**
 * The one C-shaped contract both backends satisfy. Every method returns libsystemd's
 * convention (n >= 0 or -errno); the public API validates arguments before calling and turns
 * negative values into SystemdError, so neither backend builds errors of its own.
 */

export type BackendKind = 'libsystemd' | 'js';
export type Transport = 'native' | 'node';

export interface Backend {
  readonly kind: BackendKind;
  readonly transport: Transport;

  /** sd_listen_fds: n, 0 when not for us, or -errno. */
  listenFds(unset: boolean): number;
  /** sd_listen_fds_with_names: one name per fd, or -errno (0 fds gives []). */
  listenFdsWithNames(unset: boolean): string[] | number;

  /** sd_is_fifo. */
  isFifo(fd: number, path: string | null): number;
  /** sd_is_socket (listening: -1 means not checked). */
  isSocket(fd: number, family: number, type: number, listening: number): number;
  /** sd_is_socket_inet. */
  isSocketInet(fd: number, family: number, type: number, listening: number, port: number): number;
  /** sd_is_socket_unix; `path` holds the exact bytes (a leading NUL for abstract names). */
  isSocketUnix(fd: number, type: number, listening: number, path: Buffer | null): number;

  /** sd_watchdog_enabled: [rc, usec]. */
  watchdogEnabled(unset: boolean): [number, bigint];
  /** sd_booted. */
  booted(): number;

  /** sd_pid_notify_with_fds: 1 sent, 0 no NOTIFY_SOCKET, or -errno. pid 0 is this process. */
  notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number;
  /** sd_notify_barrier, without blocking the event loop: 1, 0, or -errno (-ETIMEDOUT). */
  notifyBarrier(unset: boolean, timeoutUsec: bigint): Promise<number>;

  /** sd_journal_sendv over "NAME=value" fields: 0 (also when journald is absent), or -errno. Blocking. */
  journalSendv(fields: readonly Buffer[]): number;
  /** sd_journal_stream_fd: a write-only stream fd with the header written, or -errno. */
  journalStreamFd(identifier: string | null, priority: number, levelPrefix: boolean): number;
}

/** Linux constants the contract uses. */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_ACCEPTCONN = 30;
export const SO_PASSCRED = 16;
export const SO_SNDBUF = 7;
export const SO_SNDBUFFORCE = 32;
