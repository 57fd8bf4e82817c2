/**
 * The addon (src/): its exports' types, and the loader that finds it, checks its
 * BINDING_VERSION and opens libsystemd through it. The search: `bindings` finds a compiled
 * build among the build locations it knows (build/Release, build/Debug, out/…); then the
 * prebuild for this platform (prebuilds/linux-<arch>/, prebuildify's naming, which `bindings`
 * does not know). The loader never throws (unless LIBSYSTEMD_REQUIRE_NATIVE=1): every failure
 * is collected into `loadError`, and the caller falls back to the pure-JS backend.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { debuglog } from 'node:util';

const debug = debuglog('libsystemd');

/** The BINDING_VERSION this TypeScript layer was written against (src/addon.cc). */
export const BINDING_VERSION = 10;

/** Raw exports of the addon (src/*.cc). All return ints in libsystemd's convention. */
export interface NativeBinding {
  readonly BINDING_VERSION: number;
  libsystemd_open(soname: string): string | null;
  libsystemd_symbols(): string[];
  // sd-daemon (daemon.cc)
  listen_fds(unset: boolean): number;
  listen_fds_with_names(unset: boolean): string[] | number;
  notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[] | null): number;
  notify_barrier(unset: boolean, timeoutUsec: bigint): Promise<number>;
  watchdog_enabled(unset: boolean): [number, bigint];
  booted(): number;
  is_fifo(fd: number, path: string | null): number;
  is_socket(fd: number, family: number, type: number, listening: number): number;
  is_socket_inet(fd: number, family: number, type: number, listening: number, port: number): number;
  is_socket_unix(fd: number, type: number, listening: number, path: Buffer | null): number;
  // sd-journal (journal.cc)
  journal_sendv(fields: Buffer | readonly Buffer[]): number;
  journal_stream_fd(identifier: string | null, priority: number, levelPrefix: boolean): number;
  // the journal sender (journal_queue.cc): one per environment
  jq_init(path: Buffer, events: (kind: number, value: number) => void, useLibuv: boolean): void;
  /** 1 sent, queued or counted; 2 dropped, first of a stall episode; 3 queued (without libuv: pump); 0 no journal socket; -errno. */
  jq_send(entry: Buffer): number;
  /** Entries framed back to back (entry i ends at ends[i]): 1 when all were accepted, else each one's jq_send result. */
  jq_send_many(entries: Buffer, ends: Uint32Array, count: number): number | number[];
  jq_stats(): Record<'sent' | 'queued' | 'queuedBytes' | 'dropped' | 'viaMemfd' | 'blockedCalls' | 'blockedMs' | 'accepted' | 'done', number>;
  /** A negative value keeps the current setting. */
  jq_configure(maxQueueBytes: number, maxStallMs: number, maxBlockMs: number, exitTimeoutMs: number): void;
  /** true: `done` already reached target; else events(1, done) once it does. 0 cancels. */
  jq_notify_at(target: number): boolean;
  /** Without libuv: one wake's worth of flushing and the stall check: [queued, droppedNow, done]. */
  jq_pump(): [number, number, number];
  /** The exit drain (delivered, or counted and reported on stderr), for an 'exit' listener. */
  jq_exit_drain(): void;
  // raw primitives for the js backend (unix.cc)
  unix_socket(type: number, nonblock: boolean): number;
  unix_bind(fd: number, path: Buffer): number;
  unix_sendmsg(fd: number, path: Buffer | null, data: Buffer | readonly Buffer[], fds: readonly number[] | null, creds?: readonly [number, number, number] | null): number;
  /** Never waits: -EAGAIN when no datagram is there (watch the fd with poll_start). */
  unix_recvmsg(fd: number, maxBytes: number): [Buffer, number[], number, number, number, boolean] | number;
  unix_connect(fd: number, path: Buffer): number;
  inet_listen(family: 4 | 6, host: string, port: number, type: number, backlog: number): number;
  listen_fd(fd: number, backlog: number): number;
  shutdown(fd: number, how: number): number;
  setsockopt_int(fd: number, level: number, name: number, value: number): number;
  getsockopt_int(fd: number, level: number, name: number): number;
  getsockname(fd: number): Buffer | number;
  close(fd: number): number;
  set_cloexec(fd: number): number;
  get_cloexec(fd: number): number;
  memfd_sealed(name: string, data: Buffer | readonly Buffer[]): number;
  pipe(): [number, number] | number;
  /** A close-on-exec duplicate of fd, or -errno (absent from an addon built before it). */
  dup_cloexec?(fd: number): number;
  fd_stat(fd: number): [mode: number, dev: number, ino: number] | number;
  /** This process's pidfd inode id (LISTEN_PIDFDID), -EOPNOTSUPP without pidfs, or -errno. */
  pidfd_self_id(): bigint | number;
  // the journal reader (reader.cc): one thread per reader
  /** A reader id (> 0), or -errno (-ENOSYS without libsystemd's reader). */
  reader_open(flags: number, namespace: string | null, directory: string | null, files: readonly string[] | null, threshold: number): ReaderHandle | number;
  /** Queues one command on the reader's thread: its result, or -errno. */
  reader_call(reader: ReaderHandle, op: number, text: string | Buffer | null, a?: number, b?: number, c?: number, d?: number, only?: readonly string[] | null): Promise<unknown>;
  /** Ends a pending wait (it resolves 3). */
  reader_interrupt(reader: ReaderHandle): void;
  // ids and the unit of a process (id128.cc)
  /** kind 0 machine, 1 boot; app: 16 bytes for the app-specific id. 32 hex digits, or -errno. */
  id128(kind: 0 | 1, app: Buffer | null): string | number;
  /** kind 0 unit, 1 user unit, 2 slice: the name, or -errno (-ENODATA: not in one). */
  pid_unit(pid: number, kind: 0 | 1 | 2): string | number;
  // libuv poll watcher (poll.cc)
  /** events: 1 readable, 2 writable, 8 prioritized (POLLPRI). A watcher id (> 0), or a negative uv error. */
  poll_start(fd: number, events: number, callback: (events: number) => void): number;
  poll_stop(watcher: PollWatcher): void;
}

/** A native reader's id (reader_open's result when > 0). */
export type ReaderHandle = number;

/** The id of a native poll watcher (poll_start's result when > 0). */
export type PollWatcher = number;

/** What the loader found. */
export interface NativeLoad {
  /** The addon, when one loaded and had the right BINDING_VERSION. */
  readonly binding?: NativeBinding;
  /** The file that loaded. */
  readonly path?: string;
  /** Whether libsystemd.so.0 was opened by the addon. */
  readonly libsystemd: boolean;
  /** Every failure on the way, in order (one line each), for `backend.loadError`. */
  readonly attempts: readonly string[];
}

const ADDON_FILE = 'systemd_native.node';
/** prebuildify names a Node-API build after the package (older releases: node.napi.node). */
const PREBUILD_FILES = ['libsystemd.node', 'node.napi.node'];

/** The package root: dist/ sits one level below it. */
export const packageRoot = resolve(__dirname, '..');

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${code ? `${code}: ` : ''}${err.message.split('\n')[0]}`;
  }
  return String(err);
}

/**
 * The compiled build `bindings` finds under `root` (its own list of build locations), or the
 * line for `loadError` saying where it looked.
 */
function findBuild(root: string): { file: string } | { error: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bindings = require('bindings') as (opts: Record<string, unknown>) => string;
    return { file: bindings({ bindings: ADDON_FILE, module_root: root, path: true }) };
  } catch (err) {
    const e = err as Error;
    // bindings lists every location it tried, one per line: folded into one line here.
    const tried = e.message.split('\n').slice(1).map((l) => l.replace(/^\s*\S+\s+/, '')).filter((l) => l !== '');
    return { error: tried.length ? `no compiled build (bindings tried ${tried.join(', ')})` : `bindings: ${describe(err)}` };
  }
}

function candidates(root: string, attempts: string[]): string[] {
  const found = findBuild(root);
  const files: string[] = [];
  if ('file' in found) files.push(found.file);
  else attempts.push(found.error);
  const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return [...files, ...PREBUILD_FILES.map((f) => join(prebuildDir, f))];
}

/** Loads one addon file (process.dlopen through require). */
function loadFile(file: string): NativeBinding {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as NativeBinding;
}

/**
 * Finds and loads the addon, then opens libsystemd with it. Never throws unless
 * LIBSYSTEMD_REQUIRE_NATIVE=1 and no addon loaded.
 */
export function loadNative(env: NodeJS.ProcessEnv = process.env, root: string = packageRoot): NativeLoad {
  const attempts: string[] = [];
  if (env.LIBSYSTEMD_FORCE_JS === '1') {
    attempts.push('LIBSYSTEMD_FORCE_JS=1: native addon skipped');
    debug('LIBSYSTEMD_FORCE_JS=1: using the js backend on the node transport');
    return { libsystemd: false, attempts };
  }
  const files = env.LIBSYSTEMD_NATIVE_PATH ? [resolve(env.LIBSYSTEMD_NATIVE_PATH)] : candidates(root, attempts);
  let binding: NativeBinding | undefined;
  let path: string | undefined;
  for (const file of files) {
    if (!existsSync(file)) {
      attempts.push(`${file}: not found`);
      continue;
    }
    try {
      const b = loadFile(file);
      if (b.BINDING_VERSION !== BINDING_VERSION) {
        attempts.push(`${file}: BINDING_VERSION ${String(b.BINDING_VERSION)}, expected ${BINDING_VERSION} (stale build)`);
        continue;
      }
      binding = b;
      path = file;
      break;
    } catch (err) {
      attempts.push(`${file}: ${describe(err)}`);
    }
  }
  if (!binding) {
    debug('no addon loaded; using the js backend on the node transport. Attempts:\n  %s', attempts.join('\n  '));
    if (env.LIBSYSTEMD_REQUIRE_NATIVE === '1') {
      throw new Error(`libsystemd: LIBSYSTEMD_REQUIRE_NATIVE=1 but no native addon loaded:\n  ${attempts.join('\n  ')}`);
    }
    return { libsystemd: false, attempts };
  }
  const soname = env.LIBSYSTEMD_SONAME || 'libsystemd.so.0';
  const openError = binding.libsystemd_open(soname);
  if (openError !== null) {
    attempts.push(`dlopen(${soname}): ${openError}`);
    debug('addon %s loaded, but %s did not open (%s): js backend on the native transport', path, soname, openError);
    return { binding, path, libsystemd: false, attempts };
  }
  debug('addon %s loaded and %s opened: libsystemd backend', path, soname);
  return { binding, path, libsystemd: true, attempts };
}
