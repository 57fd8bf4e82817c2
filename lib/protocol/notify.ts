/**
 * The sd_notify wire format: NOTIFY_SOCKET addresses (sockaddr_un_set_path) and the datagram's
 * text. Every state is validated and encoded here, once, for every backend: nothing that could
 * inject an extra assignment (a newline, a carriage return, a NUL, a trailing backslash) or that
 * PID 1 would silently drop (over 4096 bytes, more than 253 fds) is ever sent.
 */
import { E, invalidType, invalidValue } from '../errors';
import { SUN_PATH_MAX } from './linux';

/** The vsock forms of NOTIFY_SOCKET (libsystemd 257 and later send there; 247 and 252 do not). */
const VSOCK = /^vsock(-dgram|-seqpacket|-stream)?:/;

/**
 * NOTIFY_SOCKET as the newest libsystemd reads it: `/path` or `@abstract` (sockaddr_un_set_path:
 * at least 2 bytes, at most 107) as the sun_path bytes a sendmsg takes (a leading NUL for
 * abstract names), or -errno: EPROTO for a value of no known address family (libsystemd 247 and
 * 252 said EINVAL; 257 and later say EPROTO), EAFNOSUPPORT for a vsock address, which only
 * libsystemd itself can send to.
 */
export function notifyAddress(e: string): Buffer | number {
  if (e[0] !== '/' && e[0] !== '@') return VSOCK.test(e) ? -E.EAFNOSUPPORT : -E.EPROTO;
  const bytes = Buffer.from(e);
  if (bytes.length < 2) return -E.EINVAL;
  if (bytes.length > SUN_PATH_MAX - 1) return e[0] === '@' ? -E.EINVAL : -E.ENAMETOOLONG;
  if (e[0] === '@') bytes[0] = 0;
  return bytes;
}

/** A value in an object-form state: strings are sent as text, booleans as 1/0. */
export type NotifyValue = string | number | bigint | boolean;
/** A raw `KEY=VALUE` string (lines separated by `\n`) or an object of assignments. */
export type NotifyState = string | Readonly<Record<string, NotifyValue | undefined>>;

/** PID 1 reads at most this many bytes and ignores a longer message entirely. */
export const NOTIFY_MAX_BYTES = 4096;
/** SCM_MAX_FD. */
export const NOTIFY_MAX_FDS = 253;

const KEY = /^[A-Z][A-Z0-9_]*$/;

function wellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** One object value as PID 1 must read it back: backslashes escaped (PID 1 unescapes them). */
function encodeValue(key: string, v: NotifyValue): string {
  switch (typeof v) {
    case 'string':
      if (/[\n\r\0]/.test(v)) throw invalidValue(`state.${key}`, 'must not contain a newline, carriage return or NUL (it would inject assignments)');
      if (!wellFormed(v)) throw invalidValue(`state.${key}`, 'must be well-formed Unicode (PID 1 ignores invalid UTF-8)');
      return v.replace(/\\/g, '\\\\');
    case 'number':
      if (!Number.isFinite(v)) throw invalidValue(`state.${key}`, `must be a finite number, received ${v}`);
      return Number.isInteger(v) ? BigInt(v).toString() : String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? '1' : '0';
    default:
      throw invalidType(`state.${key}`, 'a string, number, bigint or boolean', v);
  }
}

/** Validates and encodes a state into the datagram's bytes. */
export function encodeState(state: NotifyState): Buffer {
  let text: string;
  if (typeof state === 'string') {
    if (/[\r\0]/.test(state)) throw invalidValue('state', 'must not contain a carriage return or NUL (PID 1 splits lines at \\r and drops messages with NUL)');
    if (!wellFormed(state)) throw invalidValue('state', 'must be well-formed Unicode');
    const lines = state.split('\n');
    if (lines[lines.length - 1] === '') lines.pop(); // one trailing newline is harmless
    if (lines.length === 0) throw invalidValue('state', 'must hold at least one KEY=VALUE line');
    for (const line of lines) {
      if (!/^[^=\s][^=]*=/.test(line)) throw invalidValue('state', `has a line that is not KEY=VALUE: ${JSON.stringify(line)}`);
      // An odd number of trailing backslashes escapes the newline: PID 1 would join the lines
      // (or drop the whole message at the end).
      if (/(^|[^\\])(\\\\)*\\$/.test(line)) throw invalidValue('state', `has a line ending in an unescaped backslash: ${JSON.stringify(line)}`);
    }
    text = state;
  } else if (state !== null && typeof state === 'object' && !Array.isArray(state)) {
    const lines: string[] = [];
    for (const [key, v] of Object.entries(state)) {
      if (v === undefined) continue;
      if (!KEY.test(key)) throw invalidValue('state', `has an invalid key ${JSON.stringify(key)} (A-Z, 0-9 and _, starting with a letter)`);
      lines.push(`${key}=${encodeValue(key, v)}`);
    }
    if (lines.length === 0) throw invalidValue('state', 'must hold at least one assignment');
    text = lines.join('\n');
  } else {
    throw invalidType('state', 'a string or an object', state);
  }
  const buf = Buffer.from(text);
  if (buf.length > NOTIFY_MAX_BYTES) throw invalidValue('state', `is ${buf.length} bytes; PID 1 ignores messages over ${NOTIFY_MAX_BYTES} bytes`);
  return buf;
}
