/**
 * journald's protocols: field rules and the native protocol's framing
 * (docs/JOURNAL_NATIVE_PROTOCOL.md, libsystemd v252 sd_journal_sendv): `NAME=value\n`, or for a
 * value with a newline `NAME\n` + 64-bit little-endian length + value + `\n`; the socket paths;
 * the stdout stream protocol's header; $JOURNAL_STREAM. Names are validated as journald does, so
 * nothing is silently dropped by journald and nothing can corrupt the framing.
 */
import { fstatSync } from 'node:fs';
import { basename } from 'node:path';
import { invalidType, invalidValue, type InvalidArgumentError } from '../errors';

/** A journal value: text (UTF-8) or raw bytes. */
export type JournalValue = string | number | bigint | boolean | Buffer | Uint8Array;
/** Field names to a value, or an array of values (an array repeats the field, in order). */
export type JournalFields = Readonly<Record<string, JournalValue | readonly JournalValue[] | undefined>>;

/** journald's limit on fields per entry (more: the whole entry is dropped). */
export const JOURNAL_MAX_FIELDS = 1024;

const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/** journald's journal_field_valid(): A-Z, 0-9, _; not starting with a digit or _; 1-64 bytes. */
export function validFieldName(name: string): boolean {
  return NAME.test(name);
}

function checkFields(fields: JournalFields): void {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw invalidType('fields', 'an object', fields);
}

function invalidName(name: string): InvalidArgumentError {
  return invalidValue(`field name ${JSON.stringify(name)}`, 'is not a valid journal field name (A-Z, 0-9 and _, not starting with _ or a digit, at most 64 bytes)');
}

/** journald keeps entries of 1 to JOURNAL_MAX_FIELDS fields. */
function checkCount(count: number): void {
  if (count === 0) throw invalidValue('fields', 'must hold at least one field');
  if (count > JOURNAL_MAX_FIELDS) throw invalidValue('fields', `has ${count} fields; journald drops entries with more than ${JOURNAL_MAX_FIELDS}`);
}

function valueBytes(name: string, v: JournalValue): Buffer {
  const s = checked(name, v);
  if (typeof s === 'string') return Buffer.from(s);
  return Buffer.isBuffer(s) ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength);
}

/** The names of the caller's fields, in order, each with its value bytes (validated). */
export function fieldList(fields: JournalFields): [string, Buffer][] {
  checkFields(fields);
  const out: [string, Buffer][] = [];
  for (const name of Object.keys(fields)) {
    const v = fields[name];
    if (v === undefined) continue;
    if (!validFieldName(name)) throw invalidName(name);
    if (Array.isArray(v)) for (const item of v as readonly JournalValue[]) out.push([name, valueBytes(name, item)]);
    else out.push([name, valueBytes(name, v as JournalValue)]);
  }
  checkCount(out.length);
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

/** libsystemd adds SYSLOG_IDENTIFIER=program_invocation_short_name if string_is_safe() (no control characters, quotes, backslash or DEL). */
const implicitIdentifier = /[\x01-\x1f"'\\\x7f]/.test(invocationShortName) ? undefined : Buffer.from(invocationShortName);

type Utf8Write = (this: Buffer, s: string, offset: number) => number;
/** Buffer#utf8Write (what Buffer#write calls for 'utf8' after parsing its arguments), if present. */
const rawUtf8Write = (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write;
function utf8Write(buf: Buffer, s: string, offset: number): number {
  return rawUtf8Write ? rawUtf8Write.call(buf, s, offset) : buf.write(s, offset, 'utf8');
}

/**
 * Writes one entry in the native protocol's framing, as sd_journal_sendv does, into a reused
 * buffer: text form `NAME=value\n`, binary form `NAME\n` + u64 LE length + value + `\n` when
 * the value holds a newline. Names are trusted here (validated by the callers).
 */
export class EntryWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private off = 0;
  private identified = false;
  count = 0;
  /** Bytes of the largest value of the entry framed so far (journald's DATA_SIZE_MAX is per field). */
  largest = 0;

  reset(): this {
    this.off = 0;
    this.identified = false;
    this.count = 0;
    this.largest = 0;
    return this;
  }

  /** Drops what was framed after `offset` (an entry of a batch framed again). */
  rewind(offset: number): void {
    this.off = offset;
    this.identified = false;
    this.count = 0;
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** A text value (UTF-8). */
  string(name: string, value: string): void {
    const [eq, nl] = nameBytes(name);
    if (name === 'SYSLOG_IDENTIFIER') this.identified = true;
    this.count++;
    const len = value.length;
    this.ensure(nl.length + 10 + len * 3);
    const buf = this.buf;
    // Short ASCII values (most of them) are copied in JS: cheaper than a call into C++.
    if (len <= 256) {
      let ascii = true;
      let newline = false;
      for (let i = 0; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        if (c === 10) newline = true;
      }
      if (ascii) {
        let off = this.off;
        if (newline) {
          buf.set(nl, off);
          off += nl.length;
          buf.writeUInt32LE(len, off);
          buf.writeUInt32LE(0, off + 4);
          off += 8;
        } else {
          buf.set(eq, off);
          off += eq.length;
        }
        for (let i = 0; i < len; i++) buf[off + i] = value.charCodeAt(i);
        off += len;
        if (len > this.largest) this.largest = len;
        buf[off++] = 10;
        this.off = off;
        return;
      }
    }
    if (value.indexOf('\n') === -1) {
      buf.set(eq, this.off);
      this.off += eq.length;
      const n = utf8Write(buf, value, this.off);
      this.off += n;
      if (n > this.largest) this.largest = n;
    } else {
      buf.set(nl, this.off);
      this.off += nl.length;
      const lenAt = this.off;
      this.off += 8;
      const n = utf8Write(buf, value, this.off);
      buf.writeBigUInt64LE(BigInt(n), lenAt);
      this.off += n;
      if (n > this.largest) this.largest = n;
    }
    buf[this.off++] = 10;
  }

  /** A binary value, byte for byte. */
  bytes(name: string, value: Uint8Array): void {
    const [eq, nl] = nameBytes(name);
    if (name === 'SYSLOG_IDENTIFIER') this.identified = true;
    this.count++;
    this.ensure(nl.length + 10 + value.length);
    if (value.indexOf(10) === -1) {
      this.buf.set(eq, this.off);
      this.off += eq.length;
    } else {
      this.buf.set(nl, this.off);
      this.off += nl.length;
      this.buf.writeBigUInt64LE(BigInt(value.length), this.off);
      this.off += 8;
    }
    this.buf.set(value, this.off);
    this.off += value.length;
    if (value.length > this.largest) this.largest = value.length;
    this.buf[this.off++] = 10;
  }

  value(name: string, v: string | Uint8Array): void {
    if (typeof v === 'string') this.string(name, v);
    else this.bytes(name, v);
  }

  /** The framed entry (a view of the writer's buffer, valid until its next use). */
  finish(): Buffer {
    this.next();
    return this.all();
  }

  /**
   * Batches: ends the entry framed so far and starts the next one after it in the same buffer;
   * returns where the ended entry stops (the entries are `all()`, entry i ending at the i-th
   * offset returned).
   */
  next(): number {
    if (!this.identified && implicitIdentifier) this.bytes('SYSLOG_IDENTIFIER', implicitIdentifier);
    this.identified = false;
    this.count = 0;
    return this.off;
  }

  /** Every entry of a batch (a view, valid until the writer's next use). */
  all(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

const shared = new EntryWriter();
/** encodeFields calls in progress: a getter of the fields may itself call journal.send. */
let encoding = 0;

/**
 * journal.send's fast path: validates `fields` (as fieldList does) while framing them. Re-entrant:
 * a getter or Proxy trap that sends an entry of its own while this one is being framed gets a
 * writer of its own (the shared buffer holds the outer entry's half-written fields).
 * Returns the framed entry (a view, valid until the next call) and its largest value's size.
 */
export function encodeFields(fields: JournalFields): Buffer {
  checkFields(fields);
  const w = encoding === 0 ? shared.reset() : new EntryWriter();
  encoding++;
  try {
    for (const name of Object.keys(fields)) {
      const v = fields[name];
      if (v === undefined) continue;
      if (!nameCache.has(name) && !validFieldName(name)) throw invalidName(name);
      if (Array.isArray(v)) for (const item of v as readonly JournalValue[]) w.value(name, checked(name, item));
      else w.value(name, checked(name, v as JournalValue));
    }
    checkCount(w.count);
    lastLargest = w.largest;
    return w.finish();
  } finally {
    encoding--;
  }
}

/** The largest value of the entry encodeFields returned last (journald's per-field limit). */
export let lastLargest = 0;

/** A value as scalar() gives it, PRIORITY checked as journald reads it (one digit 0-7). */
function checked(name: string, v: JournalValue): string | Uint8Array {
  const s = scalar(name, v);
  if (name === 'PRIORITY') checkPriority(s);
  return s;
}

/**
 * journald stores any PRIORITY= as given, but reads only a single digit 0-7 (anything else makes
 * the entry's priority unknown to `journalctl -p` and to every reader): refused, as print() does.
 */
function checkPriority(s: string | Uint8Array): void {
  const ok = typeof s === 'string' ? s.length === 1 && s >= '0' && s <= '7' : s.length === 1 && s[0]! >= 0x30 && s[0]! <= 0x37;
  if (!ok) throw invalidValue('field PRIORITY', `must be a syslog priority 0-7 (a number, or a single digit), received ${typeof s === 'string' ? JSON.stringify(s.slice(0, 40)) : `<Buffer of ${s.length} bytes>`}`);
}

/** One value as a string or bytes (validated as valueBytes does). */
function scalar(name: string, v: JournalValue): string | Uint8Array {
  if (typeof v === 'string') {
    if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) {
      throw invalidValue(`field ${name}`, 'is not well-formed Unicode (a lone surrogate); pass a Buffer for arbitrary bytes');
    }
    return v;
  }
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw invalidType(`field ${name}`, 'a string, number, bigint, boolean, Buffer or Uint8Array', v);
}

/** The framing of a validated [name, bytes] list. */
export function frame(list: readonly [string, Buffer][]): Buffer {
  const w = new EntryWriter();
  for (const [name, value] of list) w.bytes(name, value);
  return Buffer.from(w.finish());
}

/**
 * The fields of a framed entry (the inverse of EntryWriter): [name, value] in order, or
 * undefined for bytes that are not a well-formed entry.
 */
export function unframe(entry: Uint8Array): [string, Buffer][] | undefined {
  const buf = Buffer.isBuffer(entry) ? entry : Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
  const out: [string, Buffer][] = [];
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(10, off);
    if (nl < 0) return undefined;
    const eq = buf.indexOf(61, off);
    if (eq >= 0 && eq < nl) {
      out.push([buf.toString('latin1', off, eq), buf.subarray(eq + 1, nl)]);
      off = nl + 1;
      continue;
    }
    if (nl + 9 > buf.length) return undefined;
    const len = buf.readBigUInt64LE(nl + 1);
    const start = nl + 9;
    if (len > BigInt(buf.length - start - 1)) return undefined;
    const end = start + Number(len);
    if (buf[end] !== 10) return undefined;
    out.push([buf.toString('latin1', off, nl), buf.subarray(start, end)]);
    off = end + 1;
  }
  return out;
}

/** journald's datagram socket (the native protocol). */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket';
/** journald's stream socket (the stdout protocol). */
export const STDOUT_SOCKET = '/run/systemd/journal/stdout';

/** The stdout stream protocol header, byte for byte as sd_journal_stream_fd writes it. */
export function streamHeader(identifier: string | null, priority: number, levelPrefix: boolean): Buffer {
  return Buffer.from(`${identifier ?? ''}\n\n${priority}\n${levelPrefix ? 1 : 0}\n0\n0\n0\n`);
}

/** Validates an identifier for the stream header (journald ends the stream at a newline or NUL; lines are at most 255 bytes). */
export function checkIdentifier(identifier: string): string {
  if (/[\n\0]/.test(identifier) || Buffer.byteLength(identifier) > 254) {
    throw invalidValue('identifier', `must be at most 254 bytes without newline or NUL, received ${JSON.stringify(identifier.slice(0, 80))}`);
  }
  return identifier;
}

/** `<N>` before every line of a stream write (journald splits a stream at newlines). */
export function prefixLines(text: string, priority: number): string {
  return `${text.split('\n').map((l) => `<${priority}>${l}`).join('\n')}\n`;
}

/** Whether `fd` is the stream $JOURNAL_STREAM describes ("dev:ino", compared as bigints). */
export function fdIsJournal(fd: number): boolean {
  const v = process.env.JOURNAL_STREAM;
  if (v === undefined) return false;
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}
