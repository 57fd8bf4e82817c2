/**
 * libsystemd's number parsing (parse-util.c, the same from 247 to 262), reproduced exactly so both backends read
 * LISTEN_*, WATCHDOG_* the same way: leading whitespace, a sign, C base prefixes
 * ("0x2", "010" is 8) and the "0b"/"0o" prefixes are accepted; trailing bytes are not.
 */
import { E, invalidType, outOfRange } from '../errors';

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);
const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/** C isspace() in the "C" locale (what strtol skips). */
function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  const k = c.charCodeAt(0);
  if (k >= 48 && k <= 57) return k - 48;
  if (k >= 97 && k <= 122) return k - 87;
  if (k >= 65 && k <= 90) return k - 55;
  return 99;
}

interface Strto {
  /** Index of the first unparsed character; 0 when nothing was converted (C sets endptr = s). */
  readonly end: number;
  readonly value: bigint;
  readonly erange: boolean;
}

/** glibc strtol (signed) / strtoull (unsigned) on a 64-bit platform. */
function strto(s: string, base: number, signed: boolean): Strto {
  let i = 0;
  while (isCSpace(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  if ((base === 0 || base === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    base = 16;
    i += 2;
  } else if (base === 0) {
    base = s[i] === '0' ? 8 : 10;
  }
  const start = i;
  let mag = 0n;
  const b = BigInt(base);
  while (digitValue(s[i]) < base) {
    mag = mag * b + BigInt(digitValue(s[i]));
    i++;
  }
  if (i === start) return { end: 0, value: 0n, erange: false };
  if (signed) {
    if (!neg && mag > I64_MAX) return { end: i, value: I64_MAX, erange: true };
    if (neg && mag > I64_MAX + 1n) return { end: i, value: -I64_MAX - 1n, erange: true };
    return { end: i, value: neg ? -mag : mag, erange: false };
  }
  if (mag > U64_MAX) return { end: i, value: U64_MAX, erange: true };
  // strtoull negates in unsigned arithmetic: "-5" is 2^64 - 5.
  return { end: i, value: neg ? (U64_MAX + 1n - mag) & U64_MAX : mag, erange: false };
}

/** systemd's WHITESPACE (strspn'd before the base prefixes are looked at). */
function skipSdWhitespace(s: string): string {
  let i = 0;
  while (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r') i++;
  return s.slice(i);
}

/** mangle_base(): Python-style "0b"/"0o" prefixes select base 2/8. */
function mangleBase(s: string): [string, number] {
  if (s.startsWith('0b') || s.startsWith('0B')) return [s.slice(2), 2];
  if (s.startsWith('0o') || s.startsWith('0O')) return [s.slice(2), 8];
  return [s, 0];
}

/** safe_atoi(): [0, value] or [-errno, 0]. */
export function safeAtoi(input: string): [number, number] {
  const [s, base] = mangleBase(skipSdWhitespace(input));
  const r = strto(s, base, true);
  if (r.erange) return [-E.ERANGE, 0];
  if (r.end === 0 || r.end !== s.length) return [-E.EINVAL, 0];
  if (r.value > BigInt(INT_MAX) || r.value < BigInt(INT_MIN)) return [-E.ERANGE, 0];
  return [0, Number(r.value)];
}

/** safe_atou64() / safe_atolu() on 64-bit: [0, value] or [-errno, 0n]. */
export function safeAtou64(input: string): [number, bigint] {
  const [s, base] = mangleBase(skipSdWhitespace(input));
  const r = strto(s, base, false);
  if (r.erange) return [-E.ERANGE, 0n];
  if (r.end === 0 || r.end !== s.length) return [-E.EINVAL, 0n];
  if (r.value !== 0n && s[0] === '-') return [-E.ERANGE, 0n];
  return [0, r.value];
}

/** parse_pid(): [0, pid] or [-errno, 0]; 0 and values beyond pid_t are -ERANGE. */
export function parsePid(input: string): [number, number] {
  const [r, v] = safeAtou64(input);
  if (r < 0) return [r, 0];
  if (v === 0n || v > BigInt(INT_MAX)) return [-E.ERANGE, 0];
  return [0, Number(v)];
}

/** INT_MAX, for LISTEN_FDS bounds. */
export { INT_MAX, U64_MAX };

/**
 * The C types a JavaScript number is handed to, with their ranges. The addon converts with
 * Int32Value()/Uint32Value() (modulo 2^32: 2^32 would become fd 0), so every integer is checked
 * here, in one place, before it reaches either backend.
 * - `int`: a C int. `fd`: an int >= 0. `pid_t`: >= 0 (0 means this process where the API says so).
 * - `uint32`: uid_t, gid_t. `uint16`: a port. `size`: a byte or item count (a safe integer).
 */
export type CIntType = 'int' | 'fd' | 'pid_t' | 'uint32' | 'uint16' | 'size';

const C_RANGES: Readonly<Record<CIntType, readonly [number, number]>> = {
  int: [INT_MIN, INT_MAX],
  fd: [0, INT_MAX],
  pid_t: [0, INT_MAX],
  uint32: [0, 2 ** 32 - 1],
  uint16: [0, 65535],
  size: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * `value` as an integer of C type `type` (narrowed by `min`/`max`), or Node's errors:
 * `ERR_INVALID_ARG_TYPE` for a non-number, `ERR_OUT_OF_RANGE` for a fraction, NaN, ±Infinity or
 * a value outside the range (the message names the range, as Node's validateInteger does).
 */
export function checkInt(name: string, value: unknown, type: CIntType, min?: number, max?: number): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number', value);
  const [lo0, hi0] = C_RANGES[type];
  const lo = min !== undefined && min > lo0 ? min : lo0;
  const hi = max !== undefined && max < hi0 ? max : hi0;
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < lo || value > hi) throw outOfRange(name, `>= ${lo} && <= ${hi}`, value);
  return value;
}

/** The largest finite uint64 usec value: systemd's USEC_INFINITY is 2^64 - 1. */
export const USEC_MAX = U64_MAX - 1n;

/**
 * A uint64 (`uint64`: up to 2^64 - 1) or a finite usec (`usec`: up to 2^64 - 2, as USEC_INFINITY
 * means "never") given as a bigint or a safe-integer number; returned as a bigint.
 */
export function checkU64(name: string, value: unknown, type: 'uint64' | 'usec'): bigint {
  const hi = type === 'usec' ? USEC_MAX : U64_MAX;
  if (typeof value === 'bigint') {
    if (value < 0n || value > hi) throw outOfRange(name, `>= 0n && <= ${hi}n`, value);
    return value;
  }
  if (typeof value !== 'number') throw invalidType(name, 'a number or a bigint', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw outOfRange(name, `>= 0 && <= ${Number.MAX_SAFE_INTEGER} (a larger value as a bigint)`, value);
  return BigInt(value);
}

/**
 * strv_split_full(LISTEN_FDNAMES, ":", EXTRACT_DONT_COALESCE_SEPARATORS): empty names kept,
 * a backslash takes the next character literally, a lone trailing backslash is -EINVAL.
 */
export function splitFdNames(s: string): string[] | number {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      if (i + 1 >= s.length) return -E.EINVAL;
      cur += s[++i];
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}
