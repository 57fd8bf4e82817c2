/**
 * The socket-activation and watchdog variables, read as the newest libsystemd reads them
 * (sd_listen_fds, sd_listen_fds_with_names, sd_watchdog_enabled; LISTEN_PIDFDID as systemd 259
 * added it): results in libsystemd's convention (n >= 0 or -errno), no side effects.
 */
import { E } from '../errors';
import { INT_MAX, parsePid, safeAtoi, safeAtou64, splitFdNames, U64_MAX } from './numbers';

/** The first passed fd (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * Every variable of the protocol, to clear so children never inherit them (LISTEN_PIDFDID:
 * systemd 259, whose sd_listen_fds ignores fds whose pidfd id does not match).
 */
export const LISTEN_VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID'] as const;

/** The watchdog's variables. */
export const WATCHDOG_VARIABLES = ['WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The number of fds passed to `pid`: 0 when none (or another process's), or -errno.
 * `pidfdId` gives this process's pidfd inode id, or -errno when it cannot be had (no pidfs):
 * LISTEN_PIDFDID is then only parsed, as libsystemd does (systemd 259 sets it, so that a process
 * that reuses the pid of the one the fds were meant for does not take them).
 */
export function parseListenFds(env: Env, pid: number = process.pid, pidfdId: () => bigint | number = () => -E.ENOTSUP): number {
  const e = env.LISTEN_PID;
  if (e === undefined) return 0;
  const [r, p] = parsePid(e);
  if (r < 0) return r;
  if (p !== pid) return 0;
  const id = env.LISTEN_PIDFDID;
  if (id !== undefined) {
    const [r1, want] = safeAtou64(id);
    if (r1 < 0) return r1;
    const own = pidfdId();
    if (typeof own === 'bigint' && own !== want) return 0;
  }
  const f = env.LISTEN_FDS;
  if (f === undefined) return 0;
  const [r2, n] = safeAtoi(f);
  if (r2 < 0) return r2;
  if (n <= 0 || n > INT_MAX - LISTEN_FDS_START) return -E.EINVAL;
  return n;
}

/** LISTEN_FDNAMES split (backslash escapes kept literal), undefined when unset, or -errno. */
export function parseListenFdNames(env: Env): string[] | undefined | number {
  const e = env.LISTEN_FDNAMES;
  return e === undefined ? undefined : splitFdNames(e);
}

/** One name per fd for `n` passed fds: the names, `unknown` without LISTEN_FDNAMES, or -EINVAL when the counts differ. */
export function namesForFds(names: string[] | undefined, n: number): string[] | number {
  if (names === undefined) return new Array<string>(n).fill('unknown');
  return names.length === n ? names : -E.EINVAL;
}

/** sd_watchdog_enabled's reading: [1, usec] when on for `pid`, [0, 0n] when off or another process's, [-errno, 0n]. */
export function parseWatchdog(env: Env, pid: number = process.pid): [number, bigint] {
  const s = env.WATCHDOG_USEC;
  if (s === undefined) return [0, 0n];
  const [r1, u] = safeAtou64(s);
  if (r1 < 0) return [r1, 0n];
  if (u === 0n || u === U64_MAX) return [-E.EINVAL, 0n];
  const p = env.WATCHDOG_PID;
  if (p !== undefined) {
    const [r2, wp] = parsePid(p);
    if (r2 < 0) return [r2, 0n];
    if (wp !== pid) return [0, 0n];
  }
  return [1, u];
}
