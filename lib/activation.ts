/**
 * Socket activation: the fds systemd passes (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), and the
 * sd_is_* checks on them. Validation and errors live here; the backends only return ints.
 */
import { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from './backend';
import { check, invalidType, invalidValue, SystemdError } from './errors';
import { impl } from './select';

/** The first passed fd (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export interface ListenFdsOptions {
  /** Remove LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES (and LISTEN_PIDFDID) so children never
   * inherit them. Default `true`. */
  readonly unsetEnvironment?: boolean;
}

/** One passed fd and its name (`FileDescriptorName=`, `FDNAME=`, `connection`, `stored`, or `unknown`). */
export interface NamedFd {
  readonly fd: number;
  readonly name: string;
}

interface Activation {
  readonly fds?: readonly number[];
  readonly fdsError?: SystemdError;
  readonly named?: readonly NamedFd[];
  readonly namedError?: SystemdError;
}

let cached: Activation | undefined;

function unsetOption(options: ListenFdsOptions | undefined): boolean {
  if (options === undefined || options === null) return true;
  if (typeof options !== 'object') throw invalidType('options', 'an object', options);
  const u = options.unsetEnvironment;
  if (u === undefined) return true;
  if (typeof u !== 'boolean') throw invalidType('options.unsetEnvironment', 'a boolean', u);
  return u;
}

function clearEnv(): void {
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_FDNAMES;
  delete process.env.LISTEN_PIDFDID;
}

/** Reads the environment once per process (per thread) and remembers the outcome. */
function activation(unset: boolean): Activation {
  if (!cached) {
    const n = impl.listenFds(false);
    if (n < 0) {
      cached = { fdsError: new SystemdError(n, 'sd_listen_fds'), namedError: new SystemdError(n, 'sd_listen_fds') };
    } else {
      const fds = Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
      const names = n === 0 ? [] : impl.listenFdsWithNames(false);
      cached =
        typeof names === 'number'
          ? { fds, namedError: new SystemdError(names, 'sd_listen_fds_with_names', 'LISTEN_FDNAMES does not match LISTEN_FDS') }
          : { fds, named: names.map((name, i) => Object.freeze({ fd: fds[i]!, name })) };
    }
  }
  if (unset) clearEnv();
  return cached;
}

/**
 * The fds passed by socket activation (3, 4, …), or `[]` when the process was not activated
 * (no LISTEN_PID, or one of another process). The first call reads the environment and sets
 * FD_CLOEXEC on the fds; later calls return the same list.
 * @throws SystemdError `EINVAL`/`ERANGE` for malformed variables, `EBADF` when a passed fd is not open.
 * Fallback: on the node transport FD_CLOEXEC is left to Node's start-up, which already sets it.
 */
export function listenFds(options?: ListenFdsOptions): number[] {
  const a = activation(unsetOption(options));
  if (a.fdsError) throw a.fdsError;
  return [...a.fds!];
}

/**
 * The passed fds with their names. Names are `unknown` when LISTEN_FDNAMES is absent.
 * @throws SystemdError `EINVAL` when the number of names differs from LISTEN_FDS, plus
 *   everything `listenFds()` throws.
 */
export function listenFdsWithNames(options?: ListenFdsOptions): NamedFd[] {
  const a = activation(unsetOption(options));
  if (a.namedError) throw a.namedError;
  return [...a.named!];
}

function checkFd(fd: unknown): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd)) throw invalidType('fd', 'an integer', fd);
  return fd;
}

export type SocketFamily = 'inet' | 'inet6' | 'unix' | number;
export type SocketType = 'stream' | 'dgram' | 'seqpacket' | number;

const FAMILIES: Record<string, number> = { inet: AF_INET, inet6: AF_INET6, unix: AF_UNIX };
const TYPES: Record<string, number> = { stream: SOCK_STREAM, dgram: SOCK_DGRAM, seqpacket: SOCK_SEQPACKET };

function family(v: SocketFamily | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v in FAMILIES) return FAMILIES[v]!;
  throw invalidValue('options.family', `must be 'inet', 'inet6', 'unix' or a number, received ${JSON.stringify(v)}`);
}

function sockType(v: SocketType | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v in TYPES) return TYPES[v]!;
  throw invalidValue('options.type', `must be 'stream', 'dgram', 'seqpacket' or a number, received ${JSON.stringify(v)}`);
}

function listening(v: boolean | undefined): number {
  if (v === undefined) return -1;
  if (typeof v !== 'boolean') throw invalidType('options.listening', 'a boolean', v);
  return v ? 1 : 0;
}

export interface IsSocketOptions {
  readonly family?: SocketFamily;
  readonly type?: SocketType;
  /** `true`: must be listening; `false`: must not be; absent: not checked. */
  readonly listening?: boolean;
}

/**
 * Whether `fd` is a socket of the given family, type and listening state (sd_is_socket).
 * @throws SystemdError `EBADF` for a closed or negative fd, `EINVAL` for a negative family or type.
 * Fallback: on the node transport only "is a socket" can be checked; other constraints throw `ENOTSUP`.
 */
export function isSocket(fd: number, options: IsSocketOptions = {}): boolean {
  return check(impl.isSocket(checkFd(fd), family(options.family), sockType(options.type), listening(options.listening)), 'sd_is_socket') > 0;
}

export interface IsSocketInetOptions extends IsSocketOptions {
  readonly family?: 'inet' | 'inet6' | number;
  /** Local port to match; 0 or absent: any. */
  readonly port?: number;
}

/**
 * Whether `fd` is an IPv4/IPv6 socket, optionally of that family, type, state and port
 * (sd_is_socket_inet).
 * @throws SystemdError `EBADF`; `EINVAL` for a family other than inet/inet6.
 * Fallback: needs the native transport (`ENOTSUP` on the node transport).
 */
export function isSocketInet(fd: number, options: IsSocketInetOptions = {}): boolean {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidValue('options.port', `must be an integer 0-65535, received ${String(port)}`);
  return check(impl.isSocketInet(checkFd(fd), family(options.family), sockType(options.type), listening(options.listening), port), 'sd_is_socket_inet') > 0;
}

export interface IsSocketUnixOptions {
  readonly type?: SocketType;
  readonly listening?: boolean;
  /** Filesystem path, `@name` for an abstract socket, `''` for an unnamed one, or the exact sun_path bytes. */
  readonly path?: string | Buffer;
}

/**
 * Whether `fd` is an AF_UNIX socket, optionally of that type, state and path (sd_is_socket_unix).
 * @throws SystemdError `EBADF`.
 * Fallback: needs the native transport for anything beyond "is a socket".
 */
export function isSocketUnix(fd: number, options: IsSocketUnixOptions = {}): boolean {
  let path: Buffer | null = null;
  if (typeof options.path === 'string') {
    path = options.path.startsWith('@') ? Buffer.concat([Buffer.from([0]), Buffer.from(options.path.slice(1))]) : Buffer.from(options.path);
  } else if (Buffer.isBuffer(options.path)) {
    path = options.path;
  } else if (options.path !== undefined) {
    throw invalidType('options.path', 'a string or Buffer', options.path);
  }
  return check(impl.isSocketUnix(checkFd(fd), sockType(options.type), listening(options.listening), path), 'sd_is_socket_unix') > 0;
}

/**
 * Whether `fd` is a FIFO, optionally the one at `path` (sd_is_fifo).
 * @throws SystemdError `EBADF`.
 */
export function isFifo(fd: number, path?: string): boolean {
  if (path !== undefined && typeof path !== 'string') throw invalidType('path', 'a string', path);
  return check(impl.isFifo(checkFd(fd), path ?? null), 'sd_is_fifo') > 0;
}
