/**
 * The preload's socket side: what each activated fd is bound to, and the patched
 * `net.Server.prototype.listen` that gives every listening server its activated fd.
 *
 * Matching, for a `listen()` on port P (any host) or unix path X:
 *   1. LIBSYSTEMD_AUTO_NAMES maps fd names to what the app asks for (`http=3000,admin=/run/a.sock`):
 *      the fd of that name;
 *   2. the fd bound to the same port P, or the same path X;
 *   3. otherwise, for the app's first listen() only, the one unclaimed fd of that kind (TCP for a
 *      port, unix for a path) when there is exactly one (the app that listens once, on any port,
 *      behind a .socket on another).
 * An unmatched listen binds as the app asked (reported once with what to change), or with
 * LIBSYSTEMD_AUTO_STRICT=1 fails with ERR_LIBSYSTEMD_NO_SOCKET on the server's 'error' event.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { isSocket, listenFdsWithNames, listenOn, type NamedFd } from '../activation';
import { impl } from '../backends/select';
import { E } from '../errors';
import { AF_INET, AF_INET6, AF_UNIX } from '../protocol/linux';

/** An activated fd and what it is bound to. */
export interface ActivatedFd extends NamedFd {
  readonly index: number;
  /** `inet`: TCP (v4 or v6); `unix`: AF_UNIX stream; `other`: datagram, FIFO, … (never adopted). */
  readonly kind: 'inet' | 'unix' | 'other';
  readonly port?: number;
  readonly path?: string;
  /** e.g. `127.0.0.1:8080`, `/run/app.sock`. */
  readonly label: string;
  server?: NetServer;
  listening: boolean;
}

/** What the app asked listen() for. */
export type ListenRequest = { readonly kind: 'inet'; readonly port: number; readonly host?: string } | { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'fd'; readonly fd: number } | { readonly kind: 'handle' };

function inodeOf(fd: number): string | undefined {
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return undefined;
  }
}

/** /proc/net/{tcp,tcp6,unix}: the socket with that inode, when the backend has no getsockname. */
function fromProc(fd: number): Pick<ActivatedFd, 'kind' | 'port' | 'path' | 'label'> {
  const inode = inodeOf(fd);
  if (!inode) return { kind: 'other', label: `fd ${fd} (not a socket)` };
  for (const file of ['tcp', 'tcp6']) {
    try {
      for (const line of readFileSync(`/proc/net/${file}`, 'latin1').split('\n')) {
        const cols = line.trim().split(/\s+/);
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        if (cols[9] === inode) {
          const port = parseInt(cols[1]!.split(':')[1]!, 16);
          return { kind: 'inet', port, label: `port ${port}` };
        }
      }
    } catch {
      // no such table (no IPv6)
    }
  }
  try {
    // Num RefCount Protocol Flags Type St Inode Path; Type 0001 is SOCK_STREAM
    for (const line of readFileSync('/proc/net/unix', 'latin1').split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[6] === inode) return cols[4] === '0001' ? { kind: 'unix', path: cols[7], label: cols[7] ?? '(unnamed unix socket)' } : { kind: 'other', label: `${cols[7] ?? 'unix'} (not a stream socket)` };
    }
  } catch {
    // no /proc
  }
  return { kind: 'other', label: `fd ${fd} (not a TCP or unix stream socket)` };
}

function describe(fd: number): Pick<ActivatedFd, 'kind' | 'port' | 'path' | 'label'> {
  const sa = impl.socketName(fd);
  if (sa === -E.ENOTSUP) return fromProc(fd);
  if (typeof sa === 'number' || sa.length < 2) return { kind: 'other', label: `fd ${fd} (not a socket)` };
  let stream = true;
  try {
    stream = isSocket(fd, { type: 'stream' });
  } catch {
    // node transport: only /proc can tell; a datagram fd fails in listen() with Node's own error
  }
  const family = sa.readUInt16LE(0);
  if (!stream) return { kind: 'other', label: `fd ${fd} (not a stream socket)` };
  if (family === AF_INET && sa.length >= 8) {
    const port = sa.readUInt16BE(2);
    return { kind: 'inet', port, label: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}:${port}` };
  }
  if (family === AF_INET6 && sa.length >= 24) {
    const port = sa.readUInt16BE(2);
    const groups: string[] = [];
    for (let i = 8; i < 24; i += 2) groups.push(sa.readUInt16BE(i).toString(16));
    return { kind: 'inet', port, label: `[${groups.join(':').replace(/\b(?:0:){2,}/, ':')}]:${port}` };
  }
  if (family === AF_UNIX) {
    const sun = sa.subarray(2);
    let path: string;
    if (sun.length === 0) path = '';
    else if (sun[0] === 0) path = `@${sun.subarray(1).toString('latin1')}`;
    else {
      const nul = sun.indexOf(0);
      path = sun.subarray(0, nul < 0 ? sun.length : nul).toString();
    }
    return { kind: 'unix', path, label: path || '(unnamed unix socket)' };
  }
  return { kind: 'other', label: `fd ${fd} (address family ${family})` };
}

/** The activated fds with what they are bound to ([] when not activated). */
export function activatedFds(): ActivatedFd[] {
  let named: NamedFd[];
  try {
    named = listenFdsWithNames();
  } catch (err) {
    warn(`socket activation ignored: ${(err as Error).message}`, 'LIBSYSTEMD_AUTO_ENV');
    return [];
  }
  return named.map((n, index) => ({ ...n, index, ...describe(n.fd), listening: false }));
}

/** `LIBSYSTEMD_AUTO_NAMES=http=3000,admin=/run/admin.sock`: fd name → port or path. */
export function parseNames(text: string | undefined): Map<string, number | string> {
  const out = new Map<string, number | string>();
  if (!text) return out;
  for (const part of text.split(/[,\s]+/)) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const target = part.slice(eq + 1);
    if (eq <= 0 || !target) {
      warn(`LIBSYSTEMD_AUTO_NAMES: ${JSON.stringify(part)} is not NAME=PORT or NAME=/path (ignored)`, 'LIBSYSTEMD_AUTO_ENV');
      continue;
    }
    out.set(name, /^\d+$/.test(target) ? Number(target) : target);
  }
  return out;
}

/** Node's own reading of listen()'s overloads (net.js normalizeArgs), reduced to what is bound. */
export function parseListenArgs(args: readonly unknown[]): ListenRequest {
  const a0 = args[0];
  const toPort = (v: unknown): number | false => {
    const n = Number(v);
    return n >= 0 ? n : false;
  };
  if (a0 !== null && typeof a0 === 'object') {
    const o = a0 as { fd?: unknown; handle?: unknown; _handle?: unknown; path?: unknown; port?: unknown; host?: unknown };
    if ('_handle' in o || o.handle !== undefined) return { kind: 'handle' };
    if (typeof o.fd === 'number') return { kind: 'fd', fd: o.fd };
    if (o.fd !== undefined && o.fd !== null) return { kind: 'handle' };
    if (typeof o.path === 'string' && o.path !== '') return { kind: 'unix', path: o.path };
    const port = o.port === undefined || o.port === null ? 0 : toPort(o.port);
    return port === false ? { kind: 'handle' } : { kind: 'inet', port, ...(typeof o.host === 'string' ? { host: o.host } : {}) };
  }
  if (typeof a0 === 'string' && toPort(a0) === false) return { kind: 'unix', path: a0 };
  if (a0 === undefined || a0 === null || typeof a0 === 'function') return { kind: 'inet', port: 0 };
  const port = toPort(a0);
  if (port === false) return { kind: 'handle' };
  return { kind: 'inet', port, ...(typeof args[1] === 'string' ? { host: args[1] } : {}) };
}

function normalPath(p: string): string {
  if (p.startsWith('\0')) return `@${p.slice(1)}`;
  if (p.startsWith('@')) return p;
  return resolvePath(p);
}

const warned = new Set<string>();

/** A warning, once per text (process.emitWarning: stderr, or the journal's stderr stream). */
export function warn(message: string, code: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(`libsystemd/auto: ${message}`, { code });
}

function describeRequest(r: ListenRequest): string {
  return r.kind === 'inet' ? (r.port === 0 ? 'a random port' : `port ${r.port}`) : r.kind === 'unix' ? r.path : 'a handle';
}

export interface SocketEvents {
  /** A server listens: on an activated fd, or (unmatched / not activated) where the app asked. */
  listening(server: NetServer, fd: ActivatedFd | undefined): void;
  /** A server began listening (tracked for the drain). */
  tracked(server: NetServer): void;
}

export class SocketRouter {
  readonly servers = new Set<NetServer>();
  private listens = 0;
  constructor(
    readonly fds: ActivatedFd[],
    private readonly names: Map<string, number | string>,
    private readonly strict: boolean,
    private readonly events: SocketEvents,
  ) {}

  unclaimed(): ActivatedFd[] {
    return this.fds.filter((f) => !f.server && f.kind !== 'other');
  }

  /** The fd for a listen() request, or undefined; `why` says what to change when none. */
  match(r: ListenRequest): { fd?: ActivatedFd; why?: string } {
    if (r.kind !== 'inet' && r.kind !== 'unix') return {};
    const free = this.unclaimed();
    const want = r.kind === 'inet' ? r.port : normalPath(r.path);
    for (const [name, target] of this.names) {
      if ((typeof target === 'number' ? target : normalPath(target)) !== want || (r.kind === 'inet' && r.port === 0)) continue;
      const fd = free.find((f) => f.name === name);
      if (fd) return { fd };
      const taken = this.fds.find((f) => f.name === name);
      return { why: taken ? `the socket named ${JSON.stringify(name)} (LIBSYSTEMD_AUTO_NAMES) is already used by another server` : `LIBSYSTEMD_AUTO_NAMES maps ${JSON.stringify(name)} to ${describeRequest(r)}, but no socket of that name was passed (passed: ${this.fds.map((f) => JSON.stringify(f.name)).join(', ')}); set FileDescriptorName=${name} in the .socket` };
    }
    const mapped = new Set(this.names.keys());
    const exact = free.find((f) => (r.kind === 'inet' ? f.kind === 'inet' && r.port !== 0 && f.port === r.port : f.kind === 'unix' && f.path !== undefined && normalPath(f.path) === want));
    if (exact) return { fd: exact };
    const sameKind = free.filter((f) => f.kind === r.kind && !mapped.has(f.name));
    // Only the app's first listen() takes "the one socket there is": a later server (metrics,
    // admin) silently taking a socket meant for something else would be worse than a warning.
    if (sameKind.length === 1 && this.listens === 1) return { fd: sameKind[0] };
    const kindName = r.kind === 'inet' ? 'TCP' : 'unix';
    if (sameKind.length > 1 || (sameKind.length === 1 && this.listens > 1)) {
      return { why: `the app listens on ${describeRequest(r)}, which matches none of the ${sameKind.length} unclaimed ${kindName} sockets (${sameKind.map((f) => `${JSON.stringify(f.name)} ${f.label}`).join(', ')}); bind one of them to ${describeRequest(r)} in the .socket, or set LIBSYSTEMD_AUTO_NAMES=<name>=${r.kind === 'inet' ? r.port : r.path}` };
    }
    const used = this.fds.filter((f) => f.server).length;
    return { why: `the app listens on ${describeRequest(r)} but no activated ${kindName} socket is left for it (${this.fds.length} passed, ${used} in use); add ListenStream=${r.kind === 'inet' ? r.port : r.path} to the .socket unit (and FileDescriptorName= with LIBSYSTEMD_AUTO_NAMES when it is not the same port)` };
  }

  /** The patched listen's body: returns true when it listened (on an fd) itself. */
  route(server: NetServer, args: unknown[], original: (this: NetServer, ...a: unknown[]) => unknown): unknown {
    const r = parseListenArgs(args);
    if (r.kind === 'fd') {
      // listenOn() below, or an app that adopts an fd itself: that fd is claimed.
      const fd = this.fds.find((f) => f.fd === r.fd);
      if (fd && !fd.server) fd.server = server;
      this.watch(server, fd);
      return original.apply(server, args);
    }
    if (r.kind === 'handle' || this.fds.length === 0) {
      this.watch(server, undefined);
      return original.apply(server, args);
    }
    this.listens++;
    const { fd, why } = this.match(r);
    if (!fd) {
      if (this.strict) {
        const err = Object.assign(new Error(`libsystemd/auto: ${why}`), { code: 'ERR_LIBSYSTEMD_NO_SOCKET' });
        process.nextTick(() => server.emit('error', err));
        return server;
      }
      warn(`${why}. Listening on ${describeRequest(r)} itself instead.`, 'LIBSYSTEMD_AUTO_UNMATCHED');
      this.watch(server, undefined);
      return original.apply(server, args);
    }
    fd.server = server;
    const cb = [...args].reverse().find((a) => typeof a === 'function') as (() => void) | undefined;
    listenOn(server, fd.index, undefined, cb);
    // listen({ signal }): aborting closes the server, as Node does for the address it binds.
    const signal = args[0] !== null && typeof args[0] === 'object' ? (args[0] as { signal?: AbortSignal }).signal : undefined;
    if (signal && typeof signal.addEventListener === 'function') {
      if (signal.aborted) server.close();
      else signal.addEventListener('abort', () => server.close(), { once: true });
    }
    return server;
  }

  private watch(server: NetServer, fd: ActivatedFd | undefined): void {
    if (!this.servers.has(server)) {
      this.servers.add(server);
      this.events.tracked(server);
    }
    server.once('listening', () => {
      if (fd) fd.listening = true;
      this.events.listening(server, fd);
    });
  }

  get listenCalls(): number {
    return this.listens;
  }
}
