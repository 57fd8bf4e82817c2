/**
 * The `js` backend: systemd's client protocols written in TypeScript, matching the newest
 * libsystemd (262) result for result (the parity tests hold it to that, and to the older
 * releases' known differences), over the addon's system calls
 * (`native` transport: libsystemd.so.0 is absent) or pure Node (`node`: no addon).
 */
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import type { Socket } from 'node:net';
import type { NativeBinding } from '../addon';
import { E, errnoOf } from '../errors';
import { STDOUT_SOCKET, streamHeader } from '../protocol/journal';
import { appSpecific, cgroupPath, cgroupRoot, cgroupUnits, shiftCgroup } from '../protocol/id128';
import { AF_INET, AF_INET6, AF_UNIX, SHUT_RD, SOCK_STREAM } from '../protocol/linux';
import { LISTEN_FDS_START, namesForFds, parseListenFdNames, parseListenFds, parseWatchdog, WATCHDOG_VARIABLES } from '../protocol/listen';
import type { Backend, JournalSink } from './contract';
import { journalDatagramSender } from './journal-datagram';
import { connectStream, JournalTextSink } from './journal-text';
import { datagramNotifier, helperNotifier } from './notifier';
import { access, incSndbuf, socketCalls, socketOnFd, type SystemCalls } from './os';

// The readers are loaded when a journal is first read (most processes never read one).
const journalctlReader = (): typeof import('./journalctl') => require('./journalctl') as typeof import('./journalctl');

const env = process.env;

/** sockaddr family (first two bytes, host order) of a getsockname() result. */
function familyOf(sa: Buffer): number {
  return sa.length >= 2 ? sa.readUInt16LE(0) : -1;
}

export function createJsBackend(t: SystemCalls): Backend {
  const n = t.binding;
  const notifier = n ? datagramNotifier(n) : helperNotifier();
  let journal: JournalSink | undefined;

  /** sd_listen_fds(0): the count, after FD_CLOEXEC on every passed fd. */
  function listenFds(): number {
    const count = parseListenFds(env, process.pid, t.pidfdId);
    if (count <= 0) return count;
    for (let fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + count; fd++) {
      const rc = t.setCloexec(fd);
      if (rc < 0) return rc;
    }
    return count;
  }

  /** is_socket_internal(): fstat, then SO_TYPE and SO_ACCEPTCONN when asked. */
  function isSocketInternal(fd: number, type: number, listening: number): number {
    if (fd < 0) return -E.EBADF;
    if (type < 0) return -E.EINVAL;
    const st = t.stat(fd);
    if (typeof st === 'number') return st;
    if (!st.isSocket()) return 0;
    if (type !== 0) {
      const other = t.socketType(fd);
      if (other < 0) return other;
      if (other !== type) return 0;
    }
    if (listening >= 0) {
      const acc = t.acceptsConnections(fd);
      if (acc < 0) return acc;
      if (!acc !== !listening) return 0;
    }
    return 1;
  }

  function nameOf(fd: number): Buffer | number {
    const sa = t.socketName(fd);
    if (typeof sa === 'number') return sa;
    return sa.length < 2 ? -E.EINVAL : sa;
  }

  return {
    kind: 'js',
    transport: t.name,
    listenFds,

    listenFdsWithNames() {
      const names = parseListenFdNames(env);
      if (typeof names === 'number') return names;
      const count = listenFds();
      if (count <= 0) return count === 0 ? [] : count;
      return namesForFds(names, count);
    },

    socketName: (fd) => t.socketName(fd),

    isFifo(fd, path) {
      if (fd < 0) return -E.EBADF;
      const st = t.stat(fd);
      if (typeof st === 'number') return st;
      if (!st.isFIFO()) return 0;
      if (path === null) return 1;
      let sp: Stats;
      try {
        sp = statSync(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return 0;
        return (err as NodeJS.ErrnoException).errno ?? -E.EINVAL;
      }
      return sp.dev === st.dev && sp.ino === st.ino ? 1 : 0;
    },

    isSocket(fd, family, type, listening) {
      if (fd < 0) return -E.EBADF;
      if (family < 0) return -E.EINVAL;
      const r = isSocketInternal(fd, type, listening);
      if (r <= 0) return r;
      if (family > 0) {
        const sa = nameOf(fd);
        if (typeof sa === 'number') return sa;
        return familyOf(sa) === family ? 1 : 0;
      }
      return 1;
    },

    isSocketInet(fd, family, type, listening, port) {
      if (fd < 0) return -E.EBADF;
      if (family !== 0 && family !== AF_INET && family !== AF_INET6) return -E.EINVAL;
      const r = isSocketInternal(fd, type, listening);
      if (r <= 0) return r;
      const sa = nameOf(fd);
      if (typeof sa === 'number') return sa;
      const f = familyOf(sa);
      if (f !== AF_INET && f !== AF_INET6) return 0;
      if (family !== 0 && f !== family) return 0;
      if (port > 0) return sa.length >= 4 && sa.readUInt16BE(2) === port ? 1 : 0;
      return 1;
    },

    isSocketUnix(fd, type, listening, path) {
      if (fd < 0) return -E.EBADF;
      const r = isSocketInternal(fd, type, listening);
      if (r <= 0) return r;
      const sa = nameOf(fd);
      if (typeof sa === 'number') return sa;
      if (familyOf(sa) !== AF_UNIX) return 0;
      if (path === null) return 1;
      const sun = sa.subarray(2);
      const length = path.length;
      if (length === 0) return sa.length === 2 ? 1 : 0;
      if (path[0] !== 0) {
        if (sa.length < 2 + length + 1) return 0;
        return sun.subarray(0, length).equals(path.subarray(0, length)) && sun[length] === 0 ? 1 : 0;
      }
      return sa.length === 2 + length && sun.equals(path.subarray(0, length)) ? 1 : 0;
    },

    watchdogEnabled(unset) {
      const r = parseWatchdog(env);
      if (unset) for (const v of WATCHDOG_VARIABLES) delete env[v];
      return r;
    },

    notify: notifier.notify,
    notifyBarrier: notifier.notifyBarrier,
    notifyStats: notifier.notifyStats,
    configureNotify: notifier.configureNotify,
    get journal(): JournalSink {
      return (journal ??= n ? journalDatagramSender(n) : new JournalTextSink());
    },
    journalStream(identifier, priority, levelPrefix) {
      if (n) return streamSocket(n, identifier, priority, levelPrefix);
      // Pure Node speaks the stream protocol itself (connecting asynchronously).
      return existsSync(STDOUT_SOCKET) ? connectStream(identifier, priority, levelPrefix) : -E.ENOENT;
    },
    journalRead: 'journalctl',
    openJournal: (open, filter) => new (journalctlReader().JournalctlSource)(open, filter),
    id128(kind, app) {
      let id: string;
      try {
        id = kind === 0 ? readFileSync('/etc/machine-id', 'latin1').trim() : readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replace(/-/g, '');
      } catch (err) {
        return errnoOf(err);
      }
      // An empty or "uninitialized" /etc/machine-id (first boot) is no id: libsystemd says ENOMEDIUM.
      if (!/^[0-9a-f]{32}$/.test(id)) return -E.ENOMEDIUM;
      return app ? appSpecific(Buffer.from(id, 'hex'), app) : id;
    },
    pidUnit(pid, kind) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid === 0 ? 'self' : pid}/cgroup`, 'latin1');
      } catch (err) {
        return errnoOf(err);
      }
      const path = cgroupPath(text);
      if (path === undefined) return -E.ENODATA;
      // Shifted by the root of PID 1's tree, as cg_pid_get_path_shifted() does.
      let root = '/';
      try {
        root = cgroupRoot(cgroupPath(readFileSync('/proc/1/cgroup', 'latin1')) ?? '/');
      } catch {
        // PID 1's cgroup is not readable here: paths are taken as they are
      }
      const u = cgroupUnits(shiftCgroup(path, root));
      const v = kind === 0 ? u.unit : kind === 1 ? u.userUnit : u.slice;
      return v ?? -E.ENODATA;
    },
    symbols: () => [],
    sockets: n ? socketCalls(n) : undefined,

    booted() {
      const r = access('/run/systemd/system/');
      if (r === 0) return 1;
      return r === -E.ENOENT ? 0 : r;
    },
  } satisfies Backend;
}

/** sd_journal_stream_fd over the addon: connect, SHUT_RD, the header; a Socket over the fd, or -errno. */
function streamSocket(n: NativeBinding, identifier: string, priority: number, levelPrefix: boolean): Socket | number {
  if (priority < 0 || priority > 7) return -E.EINVAL;
  const s = n.unix_socket(SOCK_STREAM, false);
  if (s < 0) return s;
  let rc = n.unix_connect(s, Buffer.from(STDOUT_SOCKET));
  if (rc === 0) rc = n.shutdown(s, SHUT_RD);
  if (rc === 0) incSndbuf(n, s);
  if (rc === 0) {
    // Through the addon, not fs.writeSync: a raw socket fd is not a file to every runtime
    // (Deno's fs refuses it). A fresh blocking socket takes the short header whole.
    const header = streamHeader(identifier, priority, levelPrefix);
    const sent = n.unix_sendmsg(s, null, header, null);
    rc = sent < 0 ? sent : sent === header.length ? 0 : -E.EIO;
  }
  if (rc < 0) {
    n.close(s);
    return rc;
  }
  return socketOnFd(s);
}
