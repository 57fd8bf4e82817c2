/**
 * Errors thrown by the public API. Backends return negative errno values; this module turns
 * them into one `SystemdError` shape, and builds Node-style argument errors.
 */
import { getSystemErrorMap } from 'node:util';

// Built on the first error: most processes never need it, and it costs start-up time.
let errnoNames: ReadonlyMap<number, [string, string]> | undefined;

/** An error reported by systemd's protocols or the system calls behind them. */
export class SystemdError extends Error {
  /** errno name, e.g. `ENOENT`, `EINVAL`, `ECONNREFUSED`. */
  readonly code: string;
  /** Negative errno number, as in Node's own system errors (e.g. -2 for ENOENT). */
  readonly errno: number;
  /** The libsystemd call the failure belongs to, e.g. `sd_listen_fds`. */
  readonly syscall: string;

  constructor(errno: number, syscall: string, detail?: string) {
    const neg = errno > 0 ? -errno : errno;
    errnoNames ??= getSystemErrorMap();
    const [code, text] = errnoNames.get(neg) ?? otherErrno(-neg);
    super(`${syscall}: ${text} (${code})${detail ? `: ${detail}` : ''}`);
    this.name = 'SystemdError';
    this.code = code;
    this.errno = neg;
    this.syscall = syscall;
  }
}

/**
 * An errno libuv has no name for (EBADMSG, EUCLEAN, ENOMEDIUM…, which libsystemd returns): from
 * this list of the ones libsystemd's calls return, else the name os.constants.errno knows.
 */
function otherErrno(n: number): [string, string] {
  const known = OTHER_ERRNO[n];
  if (known) return known;
  const { errno } = (require('node:os') as typeof import('node:os')).constants;
  return [Object.keys(errno).find((k) => errno[k as keyof typeof errno] === n) ?? `E${n}`, 'system error'];
}

const OTHER_ERRNO: Readonly<Record<number, [string, string]>> = {
  74: ['EBADMSG', 'bad message'],
  112: ['EHOSTDOWN', 'host is down'],
  117: ['EUCLEAN', 'structure needs cleaning'],
  123: ['ENOMEDIUM', 'no medium found'],
  126: ['ENOKEY', 'required key not available'],
  129: ['EKEYREJECTED', 'key was rejected by service'],
};

/** Throws a `SystemdError` for a negative return value, otherwise returns it unchanged. */
export function check(rc: number, syscall: string, detail?: string): number {
  if (rc < 0) throw new SystemdError(rc, syscall, detail);
  return rc;
}

/** Error codes Node uses for bad arguments; stable across releases. */
export type ArgErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE';

/** A `RangeError` with Node's `ERR_OUT_OF_RANGE` code and message shape (as `validateInteger` throws). */
export class OutOfRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE' as const;
  constructor(name: string, range: string, received: unknown) {
    super(`The value of "${name}" is out of range. It must be ${range}. Received ${shownReceived(received)}`);
    this.name = 'RangeError';
  }
}

/** Node's rendering of the received value in ERR_OUT_OF_RANGE (digits grouped by _ past 2^32). */
function shownReceived(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > 2 ** 32) return groupDigits(String(v));
  if (typeof v === 'bigint') return `${v > 2n ** 32n || v < -(2n ** 32n) ? groupDigits(String(v)) : String(v)}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  return String(v);
}

function groupDigits(s: string): string {
  let out = '';
  let i = s.length;
  const start = s[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) out = `_${s.slice(i - 3, i)}${out}`;
  return `${s.slice(0, i)}${out}`;
}

/** `ERR_OUT_OF_RANGE`: a number outside what its C type (or the API) can take. */
export function outOfRange(name: string, range: string, received: unknown): OutOfRangeError {
  return new OutOfRangeError(name, range, received);
}

/** A `TypeError` with Node's `ERR_INVALID_ARG_*` code, naming the argument or field. */
export class InvalidArgumentError extends TypeError {
  readonly code: ArgErrorCode;
  constructor(code: ArgErrorCode, name: string, reason: string) {
    super(`The ${name} ${reason}`);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** `ERR_INVALID_ARG_VALUE`: the argument has the right type but a value we must refuse. */
export function invalidValue(name: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError('ERR_INVALID_ARG_VALUE', name, reason);
}

/** `ERR_INVALID_ARG_TYPE`: the argument has the wrong type. */
export function invalidType(name: string, expected: string, got: unknown): InvalidArgumentError {
  const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got;
  return new InvalidArgumentError('ERR_INVALID_ARG_TYPE', name, `must be ${expected}, received ${shown}`);
}

/** A failed Node call (fs, net) as -errno (Node's own errno values are already negative). */
export function errnoOf(err: unknown): number {
  const n = (err as NodeJS.ErrnoException).errno;
  return typeof n === 'number' && n < 0 ? n : -E.EINVAL;
}

/** errno numbers the backends use by name (Linux values). */
export const E = {
  EBADF: 9,
  EINVAL: 22,
  ERANGE: 34,
  ENOENT: 2,
  ENOSYS: 38,
  ENOTSUP: 95,
  EAFNOSUPPORT: 97,
  ENAMETOOLONG: 36,
  E2BIG: 7,
  EAGAIN: 11,
  ETIMEDOUT: 110,
  EIO: 5,
  EPROTOTYPE: 91,
  EPROTO: 71,
  EMSGSIZE: 90,
  ENOBUFS: 105,
  ENOTCONN: 107,
  ECONNREFUSED: 111,
  EADDRNOTAVAIL: 99,
  EACCES: 13,
  ENODATA: 61,
  ENXIO: 6,
  ENOMEDIUM: 123,
  ESRCH: 3,
} as const;
