/**
 * The `js` backend: systemd's client protocols written in TypeScript, matching libsystemd
 * v252 result for result (the parity tests hold it to that), over a JsTransport.
 */
import { statSync, type Stats } from 'node:fs';
import { AF_INET, AF_INET6, AF_UNIX, type Backend } from '../backend';
import { E } from '../errors';
import { INT_MAX, parsePid, safeAtoi, safeAtou64, splitFdNames, U64_MAX } from './parse';
import { nativeJournal } from './journal';
import { helperNotify, nativeNotify } from './notify';
import { access, type JsTransport } from './transport';

const LISTEN_FDS_START = 3;
const env = process.env;

function unsetListenEnv(): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}

/** sockaddr family (first two bytes, host order) of a getsockname() result. */
function familyOf(sa: Buffer): number {
  return sa.length >= 2 ? sa.readUInt16LE(0) : -1;
}

export function createJsBackend(t: JsTransport): Backend {
  const notifier = t.binding ? nativeNotify(t.binding) : helperNotify();
  // Without the addon neither call can be made synchronously (the public API streams instead).
  const journal = t.binding ? nativeJournal(t.binding) : { journalSendv: () => -E.ENOTSUP, journalStreamFd: () => -E.ENOTSUP };

  function listenFdsInner(): number {
    const e = env.LISTEN_PID;
    if (e === undefined) return 0;
    const [r, pid] = parsePid(e);
    if (r < 0) return r;
    if (pid !== process.pid) return 0;
    const f = env.LISTEN_FDS;
    if (f === undefined) return 0;
    const [r2, n] = safeAtoi(f);
    if (r2 < 0) return r2;
    if (n <= 0 || n > INT_MAX - LISTEN_FDS_START) return -E.EINVAL;
    for (let fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++) {
      const rc = t.setCloexec(fd);
      if (rc < 0) return rc;
    }
    return n;
  }

  function listenFds(unset: boolean): number {
    const r = listenFdsInner();
    if (unset) unsetListenEnv();
    return r;
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

    listenFdsWithNames(unset) {
      let names: string[] | undefined;
      const e = env.LISTEN_FDNAMES;
      if (e !== undefined) {
        const split = splitFdNames(e);
        if (typeof split === 'number') {
          if (unset) unsetListenEnv();
          return split;
        }
        names = split;
      }
      const n = listenFds(unset);
      if (n <= 0) return n === 0 ? [] : n;
      if (names) return names.length === n ? names : -E.EINVAL;
      return new Array<string>(n).fill('unknown');
    },

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
      const s = env.WATCHDOG_USEC;
      let r = 0;
      let usec = 0n;
      done: if (s !== undefined) {
        const [r1, u] = safeAtou64(s);
        if (r1 < 0) {
          r = r1;
          break done;
        }
        if (u === 0n || u === U64_MAX) {
          r = -E.EINVAL;
          break done;
        }
        const p = env.WATCHDOG_PID;
        if (p !== undefined) {
          const [r2, pid] = parsePid(p);
          if (r2 < 0) {
            r = r2;
            break done;
          }
          if (pid !== process.pid) break done;
        }
        usec = u;
        r = 1;
      }
      if (unset) {
        delete env.WATCHDOG_USEC;
        delete env.WATCHDOG_PID;
      }
      return [r, usec];
    },

    notify: notifier.notify,
    notifyBarrier: notifier.notifyBarrier,
    journalSendv: journal.journalSendv,
    journalStreamFd: journal.journalStreamFd,

    booted() {
      const r = access('/run/systemd/system/');
      if (r === 0) return 1;
      return r === -E.ENOENT ? 0 : r;
    },
  } satisfies Backend;
}
