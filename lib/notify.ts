/**
 * Readiness, status and watchdog (sd_notify family). This module grows with the notify work;
 * for now it holds the parts both backends already share.
 */
import { check, invalidType } from './errors';
import { impl } from './select';

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
