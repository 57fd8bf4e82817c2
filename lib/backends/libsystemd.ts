/**
 * The `libsystemd` backend: the sd-daemon calls are libsystemd's own, through the addon
 * (sd_listen_fds, sd_is_*, sd_watchdog_enabled, sd_booted, sd_pid_notify_with_fds,
 * sd_notify_barrier, sd_journal_stream_fd). Two hot paths are deliberately not:
 * - journal entries: sd_journal_sendv blocks the calling thread while journald is busy, so the
 *   entries are framed in TypeScript (protocol/journal.ts, byte-identical: the parity tests
 *   compare with sd_journal_sendv) and sent through the addon's non-blocking queue;
 * - notify messages and barriers to a path or abstract NOTIFY_SOCKET: sd_notify blocks the
 *   calling thread while the manager's queue is full and sd_notify_barrier holds a pool thread
 *   while it waits, so they go through one kept non-blocking socket with an ordered queue
 *   (backends/notifier.ts), with the same bytes, fds and credentials on the wire. Anything else
 *   (vsock addresses a newer libsystemd knows, a NOTIFY_SOCKET that does not parse, whose error
 *   code differs between versions) goes to libsystemd.
 */
import type { NativeBinding } from '../addon';
import { E } from '../errors';
import { appSpecific } from '../protocol/id128';
import type { Backend, JournalSink } from './contract';
import { journalDatagramSender } from './journal-datagram';
import { datagramNotifier } from './notifier';
import { socketCalls, socketOnFd } from './os';

// The readers are loaded when a journal is first read (most processes never read one).
const nativeReader = (): typeof import('./journal-native') => require('./journal-native') as typeof import('./journal-native');
const journalctlReader = (): typeof import('./journalctl') => require('./journalctl') as typeof import('./journalctl');

export function createLibsystemdBackend(n: NativeBinding): Backend {
  const kept = datagramNotifier(n);
  let journal: JournalSink | undefined;
  let symbols: readonly string[] | undefined;
  return {
    kind: 'libsystemd',
    transport: 'native',
    listenFds: () => n.listen_fds(false),
    listenFdsWithNames: () => n.listen_fds_with_names(false),
    isFifo: (fd, path) => n.is_fifo(fd, path),
    isSocket: (fd, family, type, listening) => n.is_socket(fd, family, type, listening),
    isSocketInet: (fd, family, type, listening, port) => n.is_socket_inet(fd, family, type, listening, port),
    isSocketUnix: (fd, type, listening, path) => n.is_socket_unix(fd, type, listening, path),
    socketName: (fd) => n.getsockname(fd),
    watchdogEnabled: (unset) => n.watchdog_enabled(unset),
    booted: () => n.booted(),
    // sd_pid_notify_with_fds blocks while the manager's queue is full, and sd_notify_barrier
    // holds a pool thread while it waits: every AF_UNIX NOTIFY_SOCKET goes through the kept
    // non-blocking socket and its queue (same bytes, fds and credentials on the wire), and the
    // barrier's pipe is watched on the event loop. libsystemd keeps the addresses only it knows.
    notify: (pid, unset, state, fds) => (kept.sendable() ? kept.notify(pid, unset, state, fds) : n.notify(pid, unset, state, fds.length ? fds : null)),
    notifyBarrier: (timeoutUsec) => (kept.sendable() ? kept.notifyBarrier(timeoutUsec) : n.notify_barrier(false, timeoutUsec)),
    notifyStats: kept.notifyStats,
    configureNotify: kept.configureNotify,
    get journal(): JournalSink {
      return (journal ??= journalDatagramSender(n));
    },
    journalStream(identifier, priority, levelPrefix) {
      const fd = n.journal_stream_fd(identifier, priority, levelPrefix);
      return fd < 0 ? fd : socketOnFd(fd);
    },
    // libsystemd's reader when the library has it (every supported version does), else journalctl.
    get journalRead() {
      return this.symbols().includes('sd_journal_open') ? ('native' as const) : ('journalctl' as const);
    },
    openJournal(open, filter) {
      return this.journalRead === 'native' ? nativeReader().NativeJournalSource.open(n, open, filter) : new (journalctlReader().JournalctlSource)(open, filter);
    },
    id128(kind, app) {
      const r = n.id128(kind, app);
      // libsystemd before v250 derives app-specific ids with the kernel's crypto API (AF_ALG) and
      // fails with EOPNOTSUPP (= ENOTSUP on Linux) where that is not available (containers,
      // minimal kernels); the derivation itself (HMAC-SHA256, as a v4 UUID) is the same, and the
      // js backend's: done here then.
      if (!app || (r !== -E.ENOTSUP && r !== -E.ENOSYS)) return r;
      const base = n.id128(kind, null);
      return typeof base === 'number' ? base : appSpecific(Buffer.from(base, 'hex'), app);
    },
    pidUnit: (pid, kind) => n.pid_unit(pid, kind),
    symbols: () => (symbols ??= Object.freeze(n.libsystemd_symbols())),
    sockets: socketCalls(n),
  } satisfies Backend;
}
