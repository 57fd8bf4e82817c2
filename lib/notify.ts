/**
 * Readiness, status and watchdog: the sd_notify vocabulary. Every message is validated and
 * encoded once, for both backends, by protocol/notify.ts; the backend sends it.
 */
import { constants } from 'node:os';
import { check, invalidType, invalidValue, outOfRange } from './errors';
import { impl } from './backends/select';
import type { NotifyQueueOptions, NotifyStats } from './backends/contract';
import { encodeState, NOTIFY_MAX_FDS, type NotifyState, type NotifyValue } from './protocol/notify';
import { checkInt, U64_MAX, USEC_MAX } from './protocol/numbers';
import { checkDuration, longInterval } from './timers';

export type { NotifyQueueOptions, NotifyStats } from './backends/contract';
export { encodeState, NOTIFY_MAX_BYTES, NOTIFY_MAX_FDS, type NotifyState, type NotifyValue } from './protocol/notify';

export interface NotifyOptions {
  /** fds to pass with SCM_RIGHTS (the fd store takes them with `FDSTORE=1`); at most 253. */
  readonly fds?: readonly number[];
  /** Send on behalf of another process (needs privilege; otherwise sent as this process). */
  readonly pid?: number;
  /** Remove NOTIFY_SOCKET from the environment afterwards. Default `false`. */
  readonly unsetEnvironment?: boolean;
}

function checkFds(fds: unknown, name = 'options.fds'): readonly number[] {
  if (fds === undefined) return [];
  if (!Array.isArray(fds)) throw invalidType(name, 'an array of fds', fds);
  if (fds.length > NOTIFY_MAX_FDS) throw invalidValue(name, `has ${fds.length} fds; at most ${NOTIFY_MAX_FDS} can be passed`);
  // Each one a C int >= 0: the addon would take 2 ** 32 as fd 0 (stdin).
  fds.forEach((fd: unknown, i) => checkInt(`${name}[${i}]`, fd, 'fd'));
  return fds as number[];
}

let warned = false;

/** On the node transport a datagram cannot be sent from Node itself: say so, once. */
function warnNodeTransport(): void {
  if (warned || impl.transport !== 'node' || process.env.NOTIFY_SOCKET === undefined) return;
  warned = true;
  process.emitWarning(
    'libsystemd: the native addon is not loaded, so sd_notify messages are sent through systemd-notify(1); ' +
      'as a non-root user PID 1 accepts them only with NotifyAccess=all. See backend.loadError.',
    { code: 'LIBSYSTEMD_NOTIFY_UNAVAILABLE' },
  );
}

/**
 * Sends a notification to the service manager (sd_notify / sd_pid_notify_with_fds).
 * @param state `'READY=1\nSTATUS=x'` or `{ READY: 1, STATUS: 'x' }`; object values have their
 *   backslashes escaped so PID 1 reads them back exactly.
 * @returns `true` when the datagram was sent, or queued because the manager is not reading its
 *   socket (sent in order as soon as it reads again, never blocking the event loop: see
 *   `notifyStats()`), `false` when there is no NOTIFY_SOCKET.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` before anything is sent, for a value with `\n`, `\r`
 *   or NUL, a line that is not KEY=VALUE, a message over 4096 bytes, more than 253 fds.
 * @throws SystemdError when sending fails (`ENOENT`, `ECONNREFUSED`, `EINVAL` for a bad NOTIFY_SOCKET, …),
 *   `EAGAIN` when `maxQueued` messages already wait for a manager that does not read (`configureNotify`).
 * Fallback: without the addon, systemd-notify(1) sends it (one warning, no fds).
 */
export function notify(state: NotifyState, options: NotifyOptions = {}): boolean {
  const buf = encodeState(state);
  const fds = checkFds(options.fds);
  const pid = checkInt('options.pid', options.pid ?? 0, 'pid_t');
  const unset = options.unsetEnvironment ?? false;
  if (typeof unset !== 'boolean') throw invalidType('options.unsetEnvironment', 'a boolean', unset);
  warnNodeTransport();
  return check(impl.notify(pid, unset, buf, fds), fds.length > 0 || pid !== 0 ? 'sd_pid_notify_with_fds' : 'sd_notify') > 0;
}

function withStatus(state: Record<string, NotifyValue>, status: string | undefined): Record<string, NotifyValue> {
  if (status !== undefined) {
    if (typeof status !== 'string') throw invalidType('status', 'a string', status);
    state.STATUS = status;
  }
  return state;
}

/** Microseconds from milliseconds, exactly (bigint; no float formatting on the wire): a finite uint64 usec. */
function usecFromMs(ms: number | bigint, name: string): bigint {
  if (typeof ms === 'bigint') {
    if (ms < 0n || ms * 1000n > USEC_MAX) throw outOfRange(name, `>= 0n && <= ${USEC_MAX / 1000n}n`, ms);
    return ms * 1000n;
  }
  // Whole ms and the fraction apart: ms * 1000 as a double loses usec past 2^53 / 1000 ms.
  const whole = Math.trunc(checkDuration(name, ms, { zero: true }));
  return BigInt(whole) * 1000n + BigInt(Math.round((ms - whole) * 1000));
}

/** CLOCK_MONOTONIC in microseconds (Node's hrtime is CLOCK_MONOTONIC on Linux). */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** `READY=1` (and `STATUS=`): start-up (or a reload) is complete. */
export function ready(status?: string): boolean {
  return notify(withStatus({ READY: 1 }, status));
}

/** `RELOADING=1` with `MONOTONIC_USEC=` (required by Type=notify-reload); send `ready()` when done. */
export function reloading(status?: string): boolean {
  return notify(withStatus({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec() }, status));
}

/** `STOPPING=1`: shutdown has begun. */
export function stopping(status?: string): boolean {
  return notify(withStatus({ STOPPING: 1 }, status));
}

/** `STATUS=`: the one-line status `systemctl status` shows (an empty string clears it). */
export function status(text: string): boolean {
  if (typeof text !== 'string') throw invalidType('text', 'a string', text);
  return notify({ STATUS: text });
}

/** `MAINPID=`: the service's main process is now `pid`. */
export function mainPid(pid: number): boolean {
  return notify({ MAINPID: checkInt('pid', pid, 'pid_t', 1) });
}

/** `ERRNO=`: why the service failed, as a number or an errno name (`'ENOENT'`). */
export function errno(code: number | string): boolean {
  if (typeof code === 'string') {
    const n = (constants.errno as Record<string, number>)[code];
    if (n === undefined) throw invalidValue('code', `must be an errno number or name, received ${JSON.stringify(code)}`);
    return notify({ ERRNO: n });
  }
  return notify({ ERRNO: checkInt('code', code, 'int', 0) });
}

/** `BUSERROR=`: the failure as a D-Bus error name (e.g. `org.freedesktop.DBus.Error.TimedOut`). */
export function busError(name: string): boolean {
  if (typeof name !== 'string') throw invalidType('name', 'a string', name);
  return notify({ BUSERROR: name });
}

/** `EXTEND_TIMEOUT_USEC=`: "send another message within this many ms" (relative to now). */
export function extendTimeout(ms: number | bigint): boolean {
  return notify({ EXTEND_TIMEOUT_USEC: usecFromMs(ms, 'ms') });
}

const WATCHDOG_PING = Buffer.from('WATCHDOG=1');
const WATCHDOG_TRIGGER = Buffer.from('WATCHDOG=trigger');

/** `WATCHDOG=1`: the keep-alive ping. */
export function watchdog(): boolean {
  warnNodeTransport();
  return check(impl.notify(0, false, WATCHDOG_PING, []), 'sd_notify') > 0;
}

/** `WATCHDOG=trigger`: act as if the watchdog expired (works without WatchdogSec=). */
export function watchdogTrigger(): boolean {
  warnNodeTransport();
  return check(impl.notify(0, false, WATCHDOG_TRIGGER, []), 'sd_notify') > 0;
}

/** `WATCHDOG_USEC=`: change the watchdog timeout at run time (not reflected in `watchdogUsec()`). */
export function setWatchdogTimeout(ms: number | bigint): boolean {
  return notify({ WATCHDOG_USEC: usecFromMs(ms, 'ms') });
}

/** Validates an FDNAME= the way PID 1 does (0x20-0x7E except `:`, at most 255 bytes). */
function fdName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw invalidType(what, 'a string', name);
  if (name.length === 0 || name.length > 255 || !/^[\x20-\x39\x3b-\x7e]+$/.test(name)) {
    throw invalidValue(what, `must be 1-255 printable ASCII characters without ':' (PID 1 ignores others), received ${JSON.stringify(name)}`);
  }
  return name;
}

export interface FdStoreOptions {
  /** FDNAME= for these fds (LISTEN_FDNAMES after a restart); default `stored`. */
  readonly name?: string;
  /** `false`: PID 1 does not drop the fds on POLLHUP/POLLERR (FDPOLL=0). */
  readonly poll?: boolean;
}

/**
 * `FDSTORE=1`: keeps `fds` in the service manager (needs FileDescriptorStoreMax=); they come
 * back through `listenFdsWithNames()` after a restart.
 */
export function fdStore(fds: readonly number[], options: FdStoreOptions = {}): boolean {
  if (!Array.isArray(fds) || fds.length === 0) throw invalidValue('fds', 'must be a non-empty array of fds');
  checkFds(fds, 'fds');
  const state: Record<string, NotifyValue> = { FDSTORE: 1 };
  if (options.name !== undefined) state.FDNAME = fdName(options.name, 'options.name');
  if (options.poll === false) state.FDPOLL = 0;
  return notify(state, { fds });
}

/** `FDSTOREREMOVE=1`: drops the stored fds with that name. */
export function fdStoreRemove(name: string): boolean {
  return notify({ FDSTOREREMOVE: 1, FDNAME: fdName(name, 'name') });
}

/**
 * Resolves once the service manager has processed every message sent before
 * (sd_notify_barrier), without blocking the event loop.
 * @returns `true` when synchronised, `false` when there is no NOTIFY_SOCKET.
 * @throws SystemdError `ETIMEDOUT` (rejects) when the manager did not answer in time.
 */
export async function barrier(timeoutMs: number = 5000): Promise<boolean> {
  const usec = timeoutMs === Infinity ? U64_MAX : usecFromMs(checkDuration('timeoutMs', timeoutMs, { zero: true, infinite: true }), 'timeoutMs');
  warnNodeTransport();
  return check(await impl.notifyBarrier(usec), 'sd_notify_barrier') > 0;
}

/**
 * Whether the system was booted with systemd (sd_booted: /run/systemd/system/ exists).
 * @throws SystemdError for an error other than ENOENT while checking.
 */
export function booted(): boolean {
  return check(impl.booted(), 'sd_booted') > 0;
}

export interface WatchdogOptions {
  /** Remove WATCHDOG_USEC and WATCHDOG_PID after reading. Default `false`. */
  readonly unsetEnvironment?: boolean;
}

/**
 * The watchdog timeout for this process in microseconds (WATCHDOG_USEC, honouring
 * WATCHDOG_PID), or `undefined` when the watchdog is off or meant for another process.
 * @throws SystemdError `EINVAL`/`ERANGE` for malformed WATCHDOG_USEC or WATCHDOG_PID.
 */
export function watchdogUsec(options: WatchdogOptions = {}): bigint | undefined {
  const unset = options.unsetEnvironment ?? false;
  if (typeof unset !== 'boolean') throw invalidType('options.unsetEnvironment', 'a boolean', unset);
  const [rc, usec] = impl.watchdogEnabled(unset);
  return check(rc, 'sd_watchdog_enabled') > 0 ? usec : undefined;
}

export interface StartWatchdogOptions {
  /** Ping every `fraction` of the timeout; default 0.5 (systemd's recommendation). */
  readonly fraction?: number;
  /** Ping only while this returns (or resolves to) `true`. */
  readonly healthCheck?: () => boolean | Promise<boolean>;
}

export interface WatchdogHandle {
  /** The ping interval in ms (0 when the watchdog is off). */
  readonly intervalMs: number;
  stop(): void;
}

let running: WatchdogHandle | undefined;

/**
 * Pings the watchdog every `fraction` of WATCHDOG_USEC while the event loop runs (a blocked
 * loop stops the pings, and PID 1 restarts the service). Idempotent: a second call returns the
 * running handle. The timer is unref'd, so it never keeps a finished process alive. Does nothing
 * when the watchdog is off.
 */
export function startWatchdog(options: StartWatchdogOptions = {}): WatchdogHandle {
  // startWatchdog(5000) is a common guess: the interval comes from WATCHDOG_USEC, not from here.
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object ({ fraction, healthCheck }); the interval comes from WatchdogSec= (WATCHDOG_USEC)', options);
  if (running) return running;
  const fraction = options.fraction ?? 0.5;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) throw invalidValue('options.fraction', `must be between 0 and 1, received ${String(fraction)}`);
  const check = options.healthCheck;
  if (check !== undefined && typeof check !== 'function') throw invalidType('options.healthCheck', 'a function', check);
  const usec = watchdogUsec();
  if (usec === undefined) return { intervalMs: 0, stop() {} };
  // Any length: a WatchdogSec=60d pings every 30 days (longInterval chains Node's 24.8-day maximum).
  const intervalMs = Math.max(1, Math.floor((Number(usec) / 1000) * fraction));
  let busy = false;
  let reported = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      if (!check || (await check())) watchdog();
    } catch (err) {
      // A failing health check or ping means no ping: PID 1 acts on the missing ones.
      if (!reported) {
        reported = true;
        process.emitWarning(`libsystemd: watchdog ping skipped: ${(err as Error).message}`, { code: 'LIBSYSTEMD_WATCHDOG' });
      }
    } finally {
      busy = false;
    }
  };
  const timer = longInterval(intervalMs, () => void tick()).unref();
  void tick();
  const handle: WatchdogHandle = {
    intervalMs,
    stop() {
      timer.cancel();
      if (running === handle) running = undefined;
    },
  };
  running = handle;
  return handle;
}

/**
 * The notify queue's counters: messages sent, queued (the manager is not reading its socket),
 * coalesced (a `STATUS=` or `WATCHDOG=1` replaced by a newer one before it was sent) and
 * dropped (each drop is also warned about, LIBSYSTEMD_NOTIFY_DROPPED).
 */
export function notifyStats(): NotifyStats {
  return impl.notifyStats();
}

/**
 * Tunes the notify queue: `maxQueued` messages (default 512; beyond, a notify call throws
 * `EAGAIN`), `maxStallMs` without progress before the queue is dropped (default 30000),
 * `exitTimeoutMs` to send what is left at exit (default 1000).
 * @throws TypeError `ERR_INVALID_ARG_TYPE`; RangeError `ERR_OUT_OF_RANGE` for a value that is not a positive integer.
 */
export function configureNotify(options: Partial<NotifyQueueOptions>): void {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object ({ maxQueued, maxStallMs, exitTimeoutMs })', options);
  const o: Partial<NotifyQueueOptions> = {};
  for (const k of ['maxQueued', 'maxStallMs', 'exitTimeoutMs'] as const) {
    const v = options[k];
    if (v === undefined) continue;
    o[k] = checkInt(`options.${k}`, v, 'int', 1);
  }
  impl.configureNotify(o);
}
