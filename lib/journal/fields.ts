/**
 * Journal field rules and the native protocol's framing (docs/JOURNAL_NATIVE_PROTOCOL.md,
 * libsystemd v252 sd_journal_sendv): `NAME=value\n`, or for a value with a newline
 * `NAME\n` + 64-bit little-endian length + value + `\n`. Names are validated as journald does,
 * so nothing is silently dropped by journald and nothing can corrupt the framing.
 */
import { basename } from 'node:path';
import { invalidType, invalidValue } from '../errors';

/** A journal value: text (UTF-8) or raw bytes. */
export type JournalValue = string | number | bigint | boolean | Buffer | Uint8Array;
/** Field names to a value, or an array of values (an array repeats the field, in order). */
export type JournalFields = Readonly<Record<string, JournalValue | readonly JournalValue[] | undefined>>;

/** journald's limit on fields per entry (more: the whole entry is dropped). */
export const JOURNAL_MAX_FIELDS = 1024;

const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const NL = Buffer.from('\n');

/** journald's journal_field_valid(): A-Z, 0-9, _; not starting with a digit or _; 1-64 bytes. */
export function validFieldName(name: string): boolean {
  return NAME.test(name);
}

function valueBytes(name: string, v: JournalValue): Buffer {
  if (typeof v === 'string') {
    if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) {
      throw invalidValue(`field ${name}`, 'is not well-formed Unicode (a lone surrogate); pass a Buffer for arbitrary bytes');
    }
    return Buffer.from(v);
  }
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return Buffer.from(String(v));
  throw invalidType(`field ${name}`, 'a string, number, bigint, boolean, Buffer or Uint8Array', v);
}

/** The names of the caller's fields, in order, each with its value bytes (validated). */
export function fieldList(fields: JournalFields): [string, Buffer][] {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw invalidType('fields', 'an object', fields);
  const out: [string, Buffer][] = [];
  for (const name of Object.keys(fields)) {
    const v = fields[name];
    if (v === undefined) continue;
    if (!validFieldName(name)) {
      throw invalidValue(`field name ${JSON.stringify(name)}`, 'is not a valid journal field name (A-Z, 0-9 and _, not starting with _ or a digit, at most 64 bytes)');
    }
    if (Array.isArray(v)) for (const item of v as readonly JournalValue[]) out.push([name, valueBytes(name, item)]);
    else out.push([name, valueBytes(name, v as JournalValue)]);
  }
  if (out.length === 0) throw invalidValue('fields', 'must hold at least one field');
  if (out.length > JOURNAL_MAX_FIELDS) throw invalidValue('fields', `has ${out.length} fields; journald drops entries with more than ${JOURNAL_MAX_FIELDS}`);
  return out;
}

/** program_invocation_short_name: what libsystemd adds as SYSLOG_IDENTIFIER by default. */
export const invocationShortName = basename(process.argv0 || 'node');

const nameCache = new Map<string, [Buffer, Buffer]>();

/** `NAME=` and `NAME\n`, cached: the same few names are encoded again and again. */
function nameBytes(name: string): [Buffer, Buffer] {
  let b = nameCache.get(name);
  if (!b) {
    b = [Buffer.from(`${name}=`), Buffer.from(`${name}\n`)];
    if (nameCache.size < 4096) nameCache.set(name, b);
  }
  return b;
}

/**
 * The entry as sd_journal_sendv puts it on the wire: one chunk list (for sendmsg's iovecs),
 * SYSLOG_IDENTIFIER appended when the caller gave none.
 */
export function frame(list: readonly [string, Buffer][]): Buffer[] {
  const chunks: Buffer[] = [];
  let hasIdentifier = false;
  for (const [name, value] of list) {
    if (name === 'SYSLOG_IDENTIFIER') hasIdentifier = true;
    const [eq, nl] = nameBytes(name);
    if (value.includes(10)) {
      const len = Buffer.allocUnsafe(8);
      len.writeBigUInt64LE(BigInt(value.length));
      chunks.push(nl, len, value, NL);
    } else {
      chunks.push(eq, value, NL);
    }
  }
  // libsystemd's string_is_safe(): no control characters, quotes, backslash or DEL.
  if (!hasIdentifier && !/[\x01-\x1f"'\\\x7f]/.test(invocationShortName)) {
    chunks.push(nameBytes('SYSLOG_IDENTIFIER')[0], Buffer.from(invocationShortName), NL);
  }
  return chunks;
}

/**
 * sd_journal_sendv's own checks on "NAME=value" iovecs (used by the js backend's
 * journalSendv): -EINVAL for an empty list, a field of length <= 1, no '=', a leading '=', or
 * a newline in the name. Returns the split fields.
 */
export function splitIovecs(iov: readonly Buffer[]): [string, Buffer][] | number {
  if (iov.length === 0) return -22;
  const out: [string, Buffer][] = [];
  for (const f of iov) {
    if (f.length <= 1) return -22;
    const eq = f.indexOf(61);
    if (eq <= 0) return -22;
    const nl = f.indexOf(10);
    if (nl >= 0 && nl < eq) return -22;
    out.push([f.subarray(0, eq).toString('latin1'), f.subarray(eq + 1)]);
  }
  return out;
}
