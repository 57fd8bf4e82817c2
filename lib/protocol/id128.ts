/**
 * systemd's 128-bit ids (sd-id128): the app-specific derivation (HMAC-SHA256 of the app id keyed
 * with the machine or boot id, made a v4 UUID), and the unit of a process read from its cgroup
 * path as libsystemd's cg_path_get_unit/_user_unit/_slice read it.
 */
import { createHmac } from 'node:crypto';
import { invalidValue } from '../errors';

/** 32 hex digits, or a UUID with dashes, as 16 bytes; else ERR_INVALID_ARG_VALUE. */
export function id128Bytes(id: unknown, name: string): Buffer {
  const hex = typeof id === 'string' ? id.replace(/-/g, '') : '';
  if (typeof id !== 'string' || !/^[0-9a-fA-F]{32}$/.test(hex) || (id.includes('-') && !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id))) {
    throw invalidValue(name, `must be a 128-bit id: 32 hex digits or a UUID (systemd-id128 new), received ${JSON.stringify(id)}`);
  }
  return Buffer.from(hex, 'hex');
}

/** sd_id128_get_app_specific(base, app): HMAC-SHA256(key base, message app), first 16 bytes, as a v4 UUID. */
export function appSpecific(base: Buffer, app: Buffer): string {
  const h = createHmac('sha256', base).update(app).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return h.toString('hex');
}

const UNIT = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|scope|slice|mount|automount|swap|target|path|timer|device)$/;

/**
 * The systemd cgroup path of a process from /proc/PID/cgroup: the unified hierarchy's, as
 * libsystemd reads it from 258 on (and before, wherever systemd runs on cgroup v2); else
 * name=systemd's (a pure cgroup v1 machine).
 */
export function cgroupPath(procCgroup: string): string | undefined {
  const lines = procCgroup.split('\n');
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified) return unified.slice(3);
  const named = lines.find((l) => /^\d+:name=systemd:/.test(l));
  return named?.slice(named.indexOf(':', named.indexOf(':') + 1) + 1);
}

/**
 * cg_get_root_path(): the root of the tree PID 1 manages, from PID 1's own cgroup path without
 * its unit (`/init.scope`; `/system.slice` and `/system` of old layouts). A process outside the
 * manager's cgroup namespace (a container's systemd seen from its host, `nsenter` without
 * `--cgroup`) sees that prefix on every path.
 */
export function cgroupRoot(pid1Path: string): string {
  for (const suffix of ['/init.scope', '/system.slice', '/system']) if (pid1Path.endsWith(suffix)) return pid1Path.slice(0, -suffix.length);
  return pid1Path;
}

/** cg_shift_path(): `path` relative to `root` when it lies below it, else unchanged. */
export function shiftCgroup(path: string, root: string): string {
  if (root === '' || root === '/') return path;
  return path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}

export interface CgroupUnits {
  /** The system unit (a service, scope…), or undefined when the process is in none. */
  readonly unit?: string;
  /** The unit inside a user manager (user@UID.service), if any. */
  readonly userUnit?: string;
  /** The slice the system unit is in (`-.slice` at the root). */
  readonly slice: string;
}

/** Which units a cgroup path belongs to. */
export function cgroupUnits(path: string): CgroupUnits {
  const parts = path.split('/').filter((p) => p !== '');
  let i = 0;
  let slice = '-.slice';
  while (i < parts.length && parts[i]!.endsWith('.slice')) slice = parts[i++]!;
  const unit = i < parts.length && UNIT.test(parts[i]!) && !parts[i]!.endsWith('.slice') ? parts[i] : undefined;
  let userUnit: string | undefined;
  if (unit && /^user@\d+\.service$/.test(unit)) {
    let k = i + 1;
    while (k < parts.length && parts[k]!.endsWith('.slice')) k++;
    if (k < parts.length && UNIT.test(parts[k]!)) userUnit = parts[k];
  }
  return { unit, userUnit, slice };
}
