/**
 * Socket activation: the fds systemd passes (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), and the
 * sd_is_* checks on them. Validation and errors live here; the backends only return ints.
 */
import type { Socket as DgramSocket } from 'node:dgram';
import { readFileSync, readlinkSync } from 'node:fs';
import type { ListenOptions, Server as NetServer, Socket as NetSocket } from 'node:net';
import { impl } from './backends/select';
import { check, E, invalidType, invalidValue, SystemdError } from './errors';
import { checkInt } from './protocol/numbers';
import { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from './protocol/linux';
import { LISTEN_FDS_START, LISTEN_VARIABLES } from './protocol/listen';

export { LISTEN_FDS_START } from './protocol/listen';

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
  for (const v of LISTEN_VARIABLES) delete process.env[v];
}

/** Reads the environment once per process (per thread) and remembers the outcome. */
function activation(unset: boolean): Activation {
  if (!cached) {
    const n = impl.listenFds();
    if (n < 0) {
      cached = { fdsError: new SystemdError(n, 'sd_listen_fds'), namedError: new SystemdError(n, 'sd_listen_fds') };
    } else {
      const fds = Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
      const names = n === 0 ? [] : impl.listenFdsWithNames();
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

/** A C int (-1 gives EBADF, as libsystemd's sd_is_*; 2 ** 32 would become fd 0 in the addon). */
function checkFd(fd: unknown): number {
  return checkInt('fd', fd, 'int');
}

export type SocketFamily = 'inet' | 'inet6' | 'unix' | number;
export type SocketType = 'stream' | 'dgram' | 'seqpacket' | number;

const FAMILIES: Record<string, number> = { inet: AF_INET, inet6: AF_INET6, unix: AF_UNIX };
const TYPES: Record<string, number> = { stream: SOCK_STREAM, dgram: SOCK_DGRAM, seqpacket: SOCK_SEQPACKET };

function family(v: SocketFamily | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return checkInt('options.family', v, 'int');
  // (JSON.stringify below throws on a bigint)
  if (typeof v !== 'string') throw invalidType('options.family', "'inet', 'inet6', 'unix' or a number", v);
  if (typeof v === 'string' && v in FAMILIES) return FAMILIES[v]!;
  throw invalidValue('options.family', `must be 'inet', 'inet6', 'unix' or a number, received ${JSON.stringify(v)}`);
}

function sockType(v: SocketType | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return checkInt('options.type', v, 'int');
  // (JSON.stringify below throws on a bigint)
  if (typeof v !== 'string') throw invalidType('options.type', "'stream', 'dgram', 'seqpacket' or a number", v);
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
  const port = checkInt('options.port', options.port ?? 0, 'uint16');
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

/** `net.ListenOptions`, plus the `{ fd }` form `server.listen()` takes for an inherited socket. */
export interface ActivatedListenOptions extends ListenOptions {
  readonly fd?: number;
}

/** An error the activation helpers throw when neither an activated socket nor a fallback exists. */
export class ActivationError extends Error {
  /**
   * `ERR_LIBSYSTEMD_NO_SOCKET`: neither an activated socket nor a fallback.
   * `ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME`: this runtime cannot serve an inherited socket with that kind of server.
   */
  readonly code: 'ERR_LIBSYSTEMD_NO_SOCKET' | 'ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME';
  constructor(message: string, code: ActivationError['code'] = 'ERR_LIBSYSTEMD_NO_SOCKET') {
    super(message);
    this.name = 'ActivationError';
    this.code = code;
  }
}

function describeSelector(selector: string | number | undefined): string {
  return selector === undefined ? 'the first socket' : typeof selector === 'number' ? `socket #${selector}` : `the socket named ${JSON.stringify(selector)}`;
}

/**
 * Finds an activated fd by name or index (default: the first). Returns undefined when the
 * process was not socket-activated; throws when it was but the selector matches nothing.
 */
function findActivated(selector: string | number | undefined): NamedFd | undefined {
  if (selector !== undefined && typeof selector !== 'string' && !(typeof selector === 'number' && Number.isInteger(selector) && selector >= 0)) {
    throw invalidType('selector', 'a name or a non-negative integer index', selector);
  }
  // Names are only needed to select by name; a broken LISTEN_FDNAMES must not hide fds by index.
  const list: readonly NamedFd[] =
    typeof selector === 'string' ? listenFdsWithNames() : listenFds().map((fd) => ({ fd, name: 'unknown' }));
  if (list.length === 0) return undefined;
  const found = typeof selector === 'string' ? list.find((n) => n.name === selector) : list[selector ?? 0];
  if (!found) {
    const names = typeof selector === 'string' ? ` (passed: ${list.map((n) => JSON.stringify(n.name)).join(', ')})` : ` (${list.length} passed)`;
    throw new ActivationError(`socket-activated, but ${describeSelector(selector)} was not passed${names}`);
  }
  return found;
}

/**
 * Listen options for an activated socket: `{ fd }` of the socket with that name (or index;
 * default the first), or `fallback` when the process was not socket-activated. Use it as
 * `server.listen(listenArgs('web', { port: 8080 }))` to run the same code under systemd and on
 * a laptop.
 * @throws ActivationError (`ERR_LIBSYSTEMD_NO_SOCKET`) when there is neither a matching socket nor a fallback.
 * @throws SystemdError for a malformed environment (see `listenFds`).
 */
export function listenArgs(selector?: string | number, fallback?: ActivatedListenOptions | number): ActivatedListenOptions {
  // A port number is the fallback people write first: listenArgs('http', 8080) means { port: 8080 }.
  if (fallback !== undefined && typeof fallback !== 'object' && typeof fallback !== 'number') throw invalidType('fallback', 'listen options (e.g. { port: 8080 }) or a port number', fallback);
  if (fallback === null) throw invalidType('fallback', 'listen options (e.g. { port: 8080 }) or a port number', fallback);
  if (typeof fallback === 'number') checkInt('fallback', fallback, 'uint16');
  const found = findActivated(selector);
  if (found) return { fd: found.fd };
  if (typeof fallback === 'number') return { port: fallback };
  if (fallback !== undefined) return fallback;
  throw new ActivationError(`not socket-activated (no LISTEN_FDS for this process) and no fallback given for ${describeSelector(selector)}`);
}

/**
 * Listens on the activated socket (or the fallback), like `server.listen(listenArgs(…), cb)`,
 * and makes `server.address()` report the path of an activated AF_UNIX socket (Node leaves it
 * `null` for servers adopted by fd).
 */
export function listenOn<S extends NetServer>(server: S, selector?: string | number, fallback?: ActivatedListenOptions | number, callback?: () => void): S {
  const args = listenArgs(selector, fallback);
  if (args.fd !== undefined && process.versions.bun !== undefined && bunServe(server, args.fd, callback)) return server;
  server.listen(args, callback);
  if (args.fd !== undefined && !args.path) {
    const path = unixPath(args.fd);
    if (path !== undefined) (server as unknown as { _pipeName?: string })._pipeName = path;
  }
  return server;
}

/**
 * Bun (1.4) ignores `{ fd }` in http.Server.listen(): it binds a fresh socket on a random port and
 * reports listening, and the activated socket is never served. Its net.Server does adopt the fd,
 * and its http.Server serves the connections handed to it: a net.Server listens on the fd and
 * passes each connection on ('connection'), and address() reports the activated socket. TLS
 * (https, http2) cannot be served that way: refused with ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME.
 * Returns false for a net.Server, which listens on the fd itself.
 */
function bunServe(server: NetServer, fd: number, callback?: () => void): boolean {
  const net = require('node:net') as typeof import('node:net');
  // Typed as what Bun's http.Server is (an EventEmitter that is not a net.Server).
  const obj = server as unknown as import('node:events').EventEmitter;
  if (obj instanceof net.Server) return false;
  const http = require('node:http') as typeof import('node:http');
  const tls = [require('node:https').Server, require('node:http2').Http2SecureServer, require('node:http2').Http2Server].some((c) => typeof c === 'function' && obj instanceof c);
  if (!(obj instanceof http.Server) || tls) {
    throw new ActivationError(`Bun ${process.versions.bun} cannot serve an activated socket with this kind of server (${obj.constructor?.name ?? typeof server}): its listen() ignores { fd }; use an http.Server or a net.Server, or terminate TLS in front`, 'ERR_LIBSYSTEMD_UNSUPPORTED_RUNTIME');
  }
  const carrier = net.createServer((socket) => obj.emit('connection', socket));
  carrier.on('error', (err) => obj.emit('error', err));
  const s = obj as unknown as { address: () => ReturnType<NetServer['address']>; close: (cb?: (err?: Error) => void) => unknown };
  // Bun reports {} for a unix socket adopted by fd: the path, as listenOn makes Node report it.
  s.address = () => {
    const a = carrier.address();
    return a !== null && typeof a === 'object' && 'port' in a ? a : (unixPath(fd) ?? a);
  };
  s.close = (cb?: (err?: Error) => void) => {
    carrier.close((err) => {
      obj.emit('close');
      cb?.(err);
    });
    return server;
  };
  carrier.listen({ fd }, () => {
    obj.emit('listening');
    callback?.();
  });
  return true;
}

/**
 * The sun_path of an AF_UNIX socket fd (`@name` for abstract ones): getsockname through the
 * backend, or the kernel's /proc/net/unix table (by the socket's inode) without the addon.
 */
function unixPath(fd: number): string | undefined {
  const sa = impl.socketName(fd);
  if (sa !== -E.ENOTSUP) {
    if (typeof sa === 'number' || sa.length < 3 || sa.readUInt16LE(0) !== AF_UNIX) return undefined;
    const sun = sa.subarray(2);
    if (sun[0] === 0) return `@${sun.subarray(1).toString('latin1')}`;
    const nul = sun.indexOf(0);
    return sun.subarray(0, nul < 0 ? sun.length : nul).toString();
  }
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (!inode) return undefined;
    // Columns: Num RefCount Protocol Flags Type St Inode Path
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[6] === inode) return cols[7];
    }
  } catch {
    // no /proc: address() stays null, as Node leaves it
  }
  return undefined;
}

/**
 * Binds a `dgram` socket to the activated datagram socket (`ListenDatagram=`) with that name or
 * index, and returns it. Returns `undefined` (leaving the socket unbound) when the process was
 * not socket-activated.
 * @throws ActivationError when activated but the selector matches nothing; `SystemdError`
 *   `EPROTOTYPE` when the fd is not a datagram socket.
 */
export function bindDatagram(socket: DgramSocket, selector?: string | number, callback?: () => void): DgramSocket | undefined {
  const found = findActivated(selector);
  if (!found) return undefined;
  // The type can only be checked with getsockopt (native transport); Node's bind() reports the rest.
  if (impl.transport === 'native' && !isSocket(found.fd, { type: 'dgram' })) {
    throw new SystemdError(-E.EPROTOTYPE, 'sd_is_socket', `fd ${found.fd} (${found.name}) is not a datagram socket`);
  }
  socket.bind({ fd: found.fd }, callback);
  return socket;
}


/**
 * For `Accept=yes` (inetd-style) services: fd 3 as a connected `net.Socket`, or `undefined`
 * when the process was not started for one connection (not activated, or fd 3 is a listener).
 * @throws SystemdError for a malformed environment.
 */
export function acceptedConnection(): NetSocket | undefined {
  const fds = listenFds();
  if (fds.length === 0) return undefined;
  const fd = fds[0]!;
  if (!isSocket(fd)) return undefined;
  if (impl.transport === 'native' && (isSocket(fd, { listening: true }) || !isSocket(fd, { type: 'stream' }))) return undefined;
  // node:net is loaded here, not at start-up: most services never take an inetd connection.
  const { Socket } = require('node:net') as typeof import('node:net');
  return new Socket({ fd, readable: true, writable: true });
}
