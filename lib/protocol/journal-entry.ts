/**
 * A journal entry as the reader gives it back, and journalctl's export format
 * (docs/JOURNAL_EXPORT_FORMATS.md): `NAME=value\n`, or `NAME\n` + 64-bit little-endian length +
 * bytes + `\n` for a value that is not printable text, an empty line after each entry, and the
 * `__CURSOR`, `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP` (and newer `__SEQNUM…`) metadata.
 */
import { isUtf8 } from 'node:buffer';

/** A field's value: text when it is valid UTF-8, else the bytes. */
export type JournalFieldValue = string | Buffer;
/** Field names to values; a field that repeats in the entry gives an array, in order. */
export type JournalEntryFields = Record<string, JournalFieldValue | JournalFieldValue[]>;

/** One journal entry, byte-exact: what journal.send wrote, the reader gives back. */
export class JournalEntry {
  constructor(
    /** Where the entry is (sd_journal_get_cursor): resume after it with `{ afterCursor }`. */
    readonly cursor: string,
    /** CLOCK_REALTIME of the entry in µs, as a number (exact below 2^53 µs, the year 2255). */
    readonly realtimeUsecNumber: number,
    /** CLOCK_MONOTONIC of the entry in µs, within its boot. */
    readonly monotonicUsecNumber: number,
    /** The boot the monotonic time belongs to (32 hex digits). */
    readonly bootId: string,
    readonly fields: JournalEntryFields,
  ) {}

  /** When journald stored the entry. */
  get realtime(): Date {
    return new Date(Math.floor(this.realtimeUsecNumber / 1000));
  }

  get realtimeUsec(): bigint {
    return BigInt(this.realtimeUsecNumber);
  }

  get monotonicUsec(): bigint {
    return BigInt(this.monotonicUsecNumber);
  }

  /** MESSAGE as text (Buffers decoded, repeated values joined), or '' without one. */
  get message(): string {
    const m = this.fields.MESSAGE;
    if (m === undefined) return '';
    return (Array.isArray(m) ? m : [m]).map((v) => (typeof v === 'string' ? v : v.toString())).join('\n');
  }

  toJSON(): Record<string, unknown> {
    return { cursor: this.cursor, realtime: this.realtime.toISOString(), realtimeUsec: String(this.realtimeUsecNumber), monotonicUsec: String(this.monotonicUsecNumber), bootId: this.bootId, fields: this.fields };
  }
}

/** Adds one value, turning a repeated field into an array. */
export function addField(fields: JournalEntryFields, name: string, value: JournalFieldValue): void {
  const had = fields[name];
  if (had === undefined) fields[name] = value;
  else if (Array.isArray(had)) had.push(value);
  else fields[name] = [had, value];
}

/** A value's bytes as text when valid UTF-8, else a copy of the bytes. */
export function fieldValue(buf: Buffer, start: number, end: number): JournalFieldValue {
  const v = buf.subarray(start, end);
  return isUtf8(v) ? v.toString('utf8') : Buffer.from(v);
}

/**
 * Incremental parser of journalctl's export format: feed it chunks of stdout, take the complete
 * entries. Fields starting with `__` are metadata (cursor, timestamps), not fields.
 */
export class ExportParser {
  private buf: Buffer = Buffer.alloc(0);
  private fields: JournalEntryFields = {};
  private cursor = '';
  private realtime = 0;
  private monotonic = 0;
  private count = 0;
  readonly entries: JournalEntry[] = [];

  feed(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const buf = this.buf;
    let off = 0;
    for (;;) {
      const nl = buf.indexOf(10, off);
      if (nl < 0) break;
      if (nl === off) {
        // The empty line after an entry.
        if (this.count > 0) this.finish();
        off = nl + 1;
        continue;
      }
      const eq = buf.indexOf(61, off);
      if (eq >= 0 && eq < nl) {
        this.field(buf.toString('latin1', off, eq), buf, eq + 1, nl);
        off = nl + 1;
        continue;
      }
      // Binary: NAME\n, u64 LE length, bytes, \n.
      if (nl + 9 > buf.length) break;
      const len = Number(buf.readBigUInt64LE(nl + 1));
      const start = nl + 9;
      if (start + len + 1 > buf.length) break;
      this.field(buf.toString('latin1', off, nl), buf, start, start + len);
      off = start + len + 1;
    }
    this.buf = off >= buf.length ? Buffer.alloc(0) : buf.subarray(off);
  }

  /** The cursor of the unfinished entry (its fields so far), or undefined. */
  get partialCursor(): string | undefined {
    return this.count > 0 && this.cursor !== '' ? this.cursor : undefined;
  }

  /** Forgets the unfinished entry (journalctl stopped in the middle of it). */
  dropPartial(): void {
    this.buf = Buffer.alloc(0);
    this.fields = {};
    this.cursor = '';
    this.realtime = 0;
    this.monotonic = 0;
    this.count = 0;
  }

  /** Whether bytes of an unfinished entry are left (a stream cut in the middle). */
  get partial(): boolean {
    return this.buf.length > 0 || this.count > 0;
  }

  private field(name: string, buf: Buffer, start: number, end: number): void {
    this.count++;
    if (name.startsWith('__')) {
      if (name === '__CURSOR') this.cursor = buf.toString('utf8', start, end);
      else if (name === '__REALTIME_TIMESTAMP') this.realtime = Number(buf.toString('latin1', start, end));
      else if (name === '__MONOTONIC_TIMESTAMP') this.monotonic = Number(buf.toString('latin1', start, end));
      return;
    }
    addField(this.fields, name, fieldValue(buf, start, end));
  }

  private finish(): void {
    const boot = this.fields._BOOT_ID;
    this.entries.push(new JournalEntry(this.cursor, this.realtime, this.monotonic, typeof boot === 'string' ? boot : '', this.fields));
    this.fields = {};
    this.cursor = '';
    this.realtime = 0;
    this.monotonic = 0;
    this.count = 0;
  }
}

/** The fields journald adds itself (trusted, `_`-prefixed) are kept; nothing is filtered here. */
export const JOURNAL_OPEN_FLAGS = Object.freeze({ LOCAL_ONLY: 1, RUNTIME_ONLY: 2, SYSTEM: 4, CURRENT_USER: 8 });
