/**
 * The `libsystemd` backend: each contract method is one sd_* call through the addon.
 */
import type { Backend } from './backend';
import type { NativeBinding } from './native';

export function createLibsystemdBackend(n: NativeBinding): Backend {
  return {
    kind: 'libsystemd',
    transport: 'native',
    listenFds: (unset) => n.listen_fds(unset),
    listenFdsWithNames: (unset) => n.listen_fds_with_names(unset),
    isFifo: (fd, path) => n.is_fifo(fd, path),
    isSocket: (fd, family, type, listening) => n.is_socket(fd, family, type, listening),
    isSocketInet: (fd, family, type, listening, port) => n.is_socket_inet(fd, family, type, listening, port),
    isSocketUnix: (fd, type, listening, path) => n.is_socket_unix(fd, type, listening, path),
    watchdogEnabled: (unset) => n.watchdog_enabled(unset),
    booted: () => n.booted(),
    notify: (pid, unset, state, fds) => n.notify(pid, unset, state, fds.length ? fds : null),
    notifyBarrier: (unset, timeoutUsec) => n.notify_barrier(unset, timeoutUsec),
    journalSendv: (fields) => n.journal_sendv(fields),
    journalStreamFd: (identifier, priority, levelPrefix) => n.journal_stream_fd(identifier, priority, levelPrefix),
  } satisfies Backend;
}
