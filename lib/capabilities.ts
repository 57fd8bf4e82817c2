/**
 * capabilities(): which features work in the current mode, so callers can check instead of
 * guess. Derived from the backend report and the sd_* symbols that resolved.
 */
import { impl } from './backends/select';

export interface Capabilities {
  /** LISTEN_FDS parsing and fd adoption (every mode). */
  readonly listenFds: boolean;
  /** FD_CLOEXEC is set on passed fds (the node transport relies on Node's start-up instead). */
  readonly listenFdsCloexec: boolean;
  /** isSocket*() can check type, family, port, path and listening state; `false`: only fstat. */
  readonly fdChecks: boolean;
  /** sd_notify datagrams can be sent (not from pure Node). */
  readonly notify: boolean;
  /** fds can be attached to notify messages (fd store). */
  readonly notifyFds: boolean;
  /** The journal native protocol with structured fields (not from pure Node). */
  readonly journalFields: boolean;
  /** How the journal is read: `native` (libsystemd's reader, on a thread per reader) or `journalctl` (`journalctl -o export`). */
  readonly journalRead: 'native' | 'journalctl';
  /** The sd_* symbols resolved from libsystemd.so.0 (empty on the js backend). */
  readonly symbols: readonly string[];
}

export function capabilities(): Capabilities {
  const native = impl.transport === 'native';
  return Object.freeze({
    listenFds: true,
    listenFdsCloexec: native,
    fdChecks: native,
    notify: native,
    notifyFds: native,
    journalFields: native,
    journalRead: impl.journalRead,
    symbols: impl.symbols(),
  });
}
