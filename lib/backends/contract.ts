/**
 * The contract both backends satisfy, and the only thing the public areas see of them.
 *
 *   public areas   activation  notify  journal  loggers (pino, winston, console)  compat  cli
 *        │ validate arguments, build errors; import the contract, the floor, each other
 *   contract       Backend (this file), chosen once per thread by select.ts
 *        │
 *   backends       libsystemd.ts: sd_* through the addon      js.ts: the protocols in TypeScript
 *                  shared by both: journal-datagram.ts (the addon's queue), notify-datagram.ts
 *                  (the kept notify socket), journal-text.ts (no addon), os.ts (system calls)
 *        │
 *   addon.ts       finds and loads the compiled addon (src/), opens libsystemd.so.0
 *   floor          protocol/ (framing, stream header, socket paths, notify encoding, LISTEN_*,
 *                  levels, libsystemd's number parsing, Linux constants) and errors.ts
 *
 * Every method returns libsystemd's convention (n >= 0 or -errno); the public areas turn
 * negative values into SystemdError, so no backend builds errors of its own. Each backend owns
 * everything it sends: the journal queue and the kept notify socket live behind this contract.
 */
import type { Socket } from 'node:net';
import type { JournalEntry, JournalFieldValue } from '../protocol/journal-entry';
import type { MatchGroups } from '../protocol/journal-match';

export type BackendKind = 'libsystemd' | 'js';
/** `native`: the addon's system calls are available. `node`: pure Node only. */
export type Transport = 'native' | 'node';

/** Counters a caller can read with journal.stats(). */
export interface JournalStats {
  /** Entries handed to journald. */
  readonly sent: number;
  /** Entries waiting in memory for journald to accept them. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Entries lost: journald accepted nothing while the queue was full, or for maxStallMs, or at exit. */
  readonly dropped: number;
  /** Entries that went through a sealed memfd (too large for one datagram). */
  readonly viaMemfd: number;
  /** Calls that waited for room at the queue bound (a burst faster than journald), and how long in all. */
  readonly blockedCalls: number;
  readonly blockedMs: number;
}

export interface JournalQueueOptions {
  /** Memory bound of the queue (bytes of entries). Default 16 MiB. */
  maxQueueBytes: number;
  /** Give up a queue that made no progress for this long (ms). Default 30 s. */
  maxStallMs: number;
  /** At the bound, how long a call waits for journald's progress before dropping (ms). Default 1 s. */
  maxBlockMs: number;
  /** At exit, how long the drain waits without progress before reporting the rest lost (ms). Default 5 s. */
  exitTimeoutMs: number;
}

export const JOURNAL_QUEUE_DEFAULTS: Readonly<JournalQueueOptions> = Object.freeze({ maxQueueBytes: 16 << 20, maxStallMs: 30_000, maxBlockMs: 1000, exitTimeoutMs: 5000 });

/** Counters of the notify queue (notifyStats()). */
export interface NotifyStats {
  /** Messages handed to the manager's socket. */
  readonly sent: number;
  /** Messages waiting for the manager to read its socket again. */
  readonly queued: number;
  /** Queued messages the protocol lets go, replaced by a newer one: a `STATUS=` alone, a repeated `WATCHDOG=1`. */
  readonly coalesced: number;
  /** Messages lost: refused at maxQueued (the call threw EAGAIN), given up after maxStallMs, failed while queued, or left at exit. */
  readonly dropped: number;
}

export interface NotifyQueueOptions {
  /** Messages queued at most while the manager does not read its socket; beyond, notify() throws EAGAIN. Default 512. */
  maxQueued: number;
  /** Give up (drop, count, warn) a queue that made no progress for this long (ms). Default 30 s. */
  maxStallMs: number;
  /** At exit, how long the rest of the queue may still be sent (ms). Default 1 s. */
  exitTimeoutMs: number;
}

export const NOTIFY_QUEUE_DEFAULTS: Readonly<NotifyQueueOptions> = Object.freeze({ maxQueued: 512, maxStallMs: 30_000, exitTimeoutMs: 1000 });

/** Where journal entries go: the native protocol, queued and never blocking. */
export interface JournalSink {
  /**
   * Sends one framed entry (protocol/journal.ts; a reused buffer is fine, it is copied when it
   * must wait): 1 handed over or queued, 0 no journal, or -errno. Never blocks the event loop
   * longer than the queue bound's wait. `orStderr`: with no journal at all, write the entry to
   * stderr as a readable line (the loggers' choice) instead of returning 0 silently.
   */
  send(entry: Buffer, orStderr: boolean): number;
  /**
   * Sends `count` entries framed back to back (entry i ends at `ends[i]`), in order, as `send`
   * does each (where it can, many to one system call): how many of them failed (-errno; none
   * is thrown). Entries with no journal at all go to stderr as readable lines when `orStderr`.
   */
  sendMany?(entries: Buffer, ends: Uint32Array, count: number, orStderr: boolean): number;
  /** Resolves once every entry sent so far has left the process; rejects with -ETIMEDOUT's SystemdError. */
  flush(timeoutMs?: number): Promise<JournalStats>;
  stats(): JournalStats;
  configure(options: Partial<JournalQueueOptions>): void;
}

/** The system calls `libsystemd run` and the service toolkit need, where the addon provides them (not on the node transport). */
export interface SocketCalls {
  /** An AF_UNIX socket (SOCK_STREAM or SOCK_DGRAM), close-on-exec: the fd or -errno. */
  unixSocket(type: number, nonblocking: boolean): number;
  bind(fd: number, path: Buffer): number;
  listen(fd: number, backlog: number): number;
  /** socket + SO_REUSEADDR + bind + listen (stream) for an IPv4/IPv6 address: the fd or -errno. */
  inetListen(family: 4 | 6, host: string, port: number, type: number, backlog: number): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** One datagram without waiting (-EAGAIN when none is there): data, fds, sender pid/uid/gid, truncated. */
  recvmsg(fd: number, maxBytes: number): [Buffer, number[], number, number, number, boolean] | number;
  close(fd: number): number;
  /** Calls `callback` on the event loop whenever `fd` is readable (or has `events`: 8 = POLLPRI): a watcher id (> 0) or -errno. */
  watch(fd: number, callback: () => void, events?: number): number;
  unwatch(watcher: number): void;
}

/** Which journal files a reader opens (sd_journal_open*). */
export interface JournalOpen {
  /** SD_JOURNAL_LOCAL_ONLY | RUNTIME_ONLY | SYSTEM | CURRENT_USER (0: all the caller may read). */
  readonly flags: number;
  readonly namespace?: string;
  readonly directory?: string;
  readonly files?: readonly string[];
  /** Bytes of a field value kept (0: all, byte-exact). */
  readonly dataThreshold: number;
}

/** Which entries a reader gives: journalctl's groups, ANDed (protocol/journal-match.ts); the uid of user units is the caller's. */
export type JournalFilter = Omit<MatchGroups, 'uid'>;

/** Where the next read starts. */
export type JournalSeek =
  | { readonly to: 'head' }
  | { readonly to: 'tail' }
  /** So that a forward read gives the last `n` entries (sd_journal_seek_tail + previous_skip). */
  | { readonly to: 'lines'; readonly n: number }
  | { readonly to: 'realtime'; readonly usec: number }
  /** At the entry with this cursor (or the next one), or just after it. */
  | { readonly to: 'cursor'; readonly cursor: string; readonly after: boolean };

export interface JournalBatch {
  readonly entries: JournalEntry[];
  /** No more entries in that direction for now. */
  readonly end: boolean;
  /** Fields skipped as corrupted (a data object without `=`) in these entries, and the first such entry's cursor. */
  readonly skipped?: number;
  readonly firstSkipped?: string;
}

/** wait()'s outcome: new entries, files rotated or vacuumed, nothing, or interrupt() was called. */
export type JournalWake = 'append' | 'invalidate' | 'nop' | 'interrupted';

/** An open journal: one reader's position and filter. Results are values or -errno. */
export interface JournalSource {
  /** `native`: sd_journal on a reader thread. `journalctl`: `journalctl -o export` (no libsystemd). */
  readonly via: 'native' | 'journalctl';
  seek(to: JournalSeek): Promise<number>;
  /**
   * Up to `max` entries in `direction` (1 forward, -1 backward), stopping before an entry beyond
   * `limitUsec` (later when forward, earlier when backward; 0: none); only `fields` when given.
   */
  read(max: number, direction: 1 | -1, limitUsec: number, fields?: readonly string[]): Promise<JournalBatch | number>;
  /** Waits until the journal changes (or `timeoutMs`, or interrupt()); never on the event loop's thread. */
  wait(timeoutMs: number): Promise<JournalWake | number>;
  interrupt(): void;
  uniqueValues(field: string): Promise<JournalFieldValue[] | number>;
  fieldNames(): Promise<string[] | number>;
  /** Bytes on disk of the opened files. */
  usage(): Promise<number>;
  close(): Promise<number>;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly transport: Transport;

  /** sd_listen_fds(0): n, 0 when not for us, or -errno (FD_CLOEXEC set on the fds). */
  listenFds(): number;
  /** sd_listen_fds_with_names(0): one name per fd, or -errno (0 fds gives []). */
  listenFdsWithNames(): string[] | number;

  /** sd_is_fifo. */
  isFifo(fd: number, path: string | null): number;
  /** sd_is_socket (listening: -1 means not checked). */
  isSocket(fd: number, family: number, type: number, listening: number): number;
  /** sd_is_socket_inet. */
  isSocketInet(fd: number, family: number, type: number, listening: number, port: number): number;
  /** sd_is_socket_unix; `path` holds the exact bytes (a leading NUL for abstract names). */
  isSocketUnix(fd: number, type: number, listening: number, path: Buffer | null): number;
  /** getsockname() as raw sockaddr bytes, or -errno (-ENOTSUP on the node transport). */
  socketName(fd: number): Buffer | number;

  /** sd_watchdog_enabled: [rc, usec]. */
  watchdogEnabled(unset: boolean): [number, bigint];
  /** sd_booted. */
  booted(): number;

  /** sd_pid_notify_with_fds: 1 sent, 0 no NOTIFY_SOCKET, or -errno. pid 0 is this process. */
  notify(pid: number, unset: boolean, state: Buffer, fds: readonly number[]): number;
  /** sd_notify_barrier(0, timeout), without blocking the event loop or holding a thread: 1, 0, or -errno (-ETIMEDOUT). */
  notifyBarrier(timeoutUsec: bigint): Promise<number>;
  /** The notify queue's counters (all 0 where nothing is queued: the node transport). */
  notifyStats(): NotifyStats;
  configureNotify(options: Partial<NotifyQueueOptions>): void;

  /** The journal's native protocol (made on first use). */
  readonly journal: JournalSink;
  /** sd_journal_stream_fd as a connected write-only socket with the header written, or -errno. */
  journalStream(identifier: string, priority: number, levelPrefix: boolean): Socket | number;

  /** How journals are read: `native` (libsystemd's reader) or `journalctl` (its export output). */
  readonly journalRead: 'native' | 'journalctl';
  /** Opens a journal for reading (the filter applied), or -errno. */
  openJournal(open: JournalOpen, filter: JournalFilter): JournalSource | number;

  /** sd_id128_get_machine/_boot (kind 0/1), app-specific when `app` (16 bytes) is given: 32 hex digits, or -errno. */
  id128(kind: 0 | 1, app: Buffer | null): string | number;
  /** sd_pid_get_unit / _user_unit / _slice (kind 0/1/2): the name, or -errno (-ENODATA: none). */
  pidUnit(pid: number, kind: 0 | 1 | 2): string | number;

  /** The sd_* symbols that resolved from libsystemd.so.0 (empty on the js backend). */
  symbols(): readonly string[];
  /** The system calls of `libsystemd run`, when the addon is loaded. */
  readonly sockets?: SocketCalls;
}
