/**
 * Who and where this service is: the machine and boot ids (plain, or app-specific so they can
 * be shown without leaking the real ones), the invocation id systemd gave this run, and the unit
 * a process belongs to.
 */
import { impl } from '../backends/select';
import { check, E, invalidType, SystemdError } from '../errors';
import { checkInt } from '../protocol/numbers';
import { id128Bytes } from '../protocol/id128';

export interface IdOptions {
  /** An application id (32 hex digits or a UUID, e.g. from `systemd-id128 new`): derive an app-specific id. */
  readonly app?: string;
}

function id(kind: 0 | 1, options: IdOptions | undefined, syscall: string): string {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidType('options', 'an object', options);
  const app = options?.app === undefined ? null : id128Bytes(options.app, 'options.app');
  const r = impl.id128(kind, app);
  if (typeof r === 'number') throw new SystemdError(r, syscall);
  return r;
}

/** /etc/machine-id as 32 hex digits, or with `app` the id derived for that application (sd_id128_get_machine_app_specific). */
export function machineId(options?: IdOptions): string {
  return id(0, options, options?.app ? 'sd_id128_get_machine_app_specific' : 'sd_id128_get_machine');
}

/** This boot's id, or with `app` the id derived for that application (sd_id128_get_boot_app_specific). */
export function bootId(options?: IdOptions): string {
  return id(1, options, options?.app ? 'sd_id128_get_boot_app_specific' : 'sd_id128_get_boot');
}

/**
 * $INVOCATION_ID (set by systemd for each run of a unit) as 32 hex digits, or undefined outside a unit.
 * @throws SystemdError `EINVAL` when it is set but malformed.
 */
export function invocationId(): string | undefined {
  const v = process.env.INVOCATION_ID;
  if (v === undefined) return undefined;
  if (!/^[0-9a-f]{32}$/.test(v)) throw new SystemdError(-E.EINVAL, 'sd_id128_get_invocation', `INVOCATION_ID=${JSON.stringify(v.slice(0, 40))} is not 32 hex digits`);
  return v;
}

export interface UnitOf {
  /** The system unit (e.g. `app.service`, `session-2.scope`), undefined when in none. */
  readonly unit?: string;
  /** Inside a user manager: the user unit (e.g. `app.service` of `user@1000.service`). */
  readonly userUnit?: string;
  /** The slice of the system unit (`system.slice`, `user-1000.slice`, `-.slice`). */
  readonly slice?: string;
}

/**
 * Which unit a process runs in (sd_pid_get_unit, sd_pid_get_user_unit, sd_pid_get_slice; the js
 * backend reads /proc/PID/cgroup the same way).
 * @throws SystemdError `ESRCH`/`ENOENT` when there is no such process.
 */
export function unitOf(pid: number = process.pid): UnitOf {
  checkInt('pid', pid, 'pid_t');
  const get = (kind: 0 | 1 | 2, syscall: string): string | undefined => {
    const r = impl.pidUnit(pid, kind);
    if (r === -E.ENODATA || r === -E.ENXIO) return undefined;
    return typeof r === 'number' ? (check(r, syscall) as never) : r;
  };
  return { unit: get(0, 'sd_pid_get_unit'), userUnit: get(1, 'sd_pid_get_user_unit'), slice: get(2, 'sd_pid_get_slice') };
}
