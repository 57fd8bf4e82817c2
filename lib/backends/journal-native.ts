/**
 * Reading the journal with libsystemd's reader, on a thread of its own per reader (src/reader.cc):
 * commands are queued in order and answered with batches of entries in one Buffer each, decoded
 * here. The event loop never waits on the journal.
 */
import type { NativeBinding, ReaderHandle } from '../addon';
import { E } from '../errors';
import { addField, fieldValue, JournalEntry, type JournalEntryFields, type JournalFieldValue } from '../protocol/journal-entry';
import { CONJUNCTION, DISJUNCTION, matchOperations } from '../protocol/journal-match';
import { globMatch, isGlob, SYSTEM_UNIT_FIELDS, USER_UNIT_FIELDS } from '../protocol/unit-name';
import type { JournalBatch, JournalFilter, JournalOpen, JournalSeek, JournalSource, JournalWake } from './contract';
import { TIMEOUT_MAX } from '../timers';

const enum Op {
  AddMatch = 0,
  Disjunction = 1,
  Conjunction = 2,
  SeekHead = 4,
  SeekTail = 5,
  SeekRealtime = 6,
  SeekCursor = 7,
  Read = 8,
  Skip = 9,
  Cursor = 10,
  TestCursor = 11,
  Unique = 12,
  Fields = 13,
  Usage = 14,
  Wait = 15,
  Close = 16,
}

const WAKES: readonly JournalWake[] = ['nop', 'append', 'invalidate', 'interrupted'];

type Slice = (this: Buffer, start: number, end: number) => string;
const proto = Buffer.prototype as unknown as { latin1Slice?: Slice; utf8Slice?: Slice };
const latin1: Slice = proto.latin1Slice ?? function (this: Buffer, s, e) { return this.toString('latin1', s, e); };
const utf8: Slice = proto.utf8Slice ?? function (this: Buffer, s, e) { return this.toString('utf8', s, e); };

const KIND_ASCII = 0;
const KIND_UTF8 = 1;
const LEN_MASK = 0x3fffffff;

/** Field names seen before (most entries repeat the same few dozen): one string each, used as property keys again and again. */
const names = new Map<string, string>();

/** Decodes one batch (layout: src/reader.cc AppendEntry). */
export function decodeBatch(buf: Buffer): JournalBatch {
  const count = buf.readUInt32LE(0);
  const end = buf.readUInt32LE(4) === 1;
  const entries: JournalEntry[] = new Array(count);
  let off = 8;
  let skipped = 0;
  let firstSkipped: string | undefined;
  for (let i = 0; i < count; i++) {
    const clen = buf.readUInt32LE(off);
    off += 4;
    const cursor = latin1.call(buf, off, off + clen);
    off += clen;
    const realtime = buf.readDoubleLE(off);
    const monotonic = buf.readDoubleLE(off + 8);
    off += 16;
    const boot = latin1.call(buf, off, off + 32);
    off += 32;
    const word = buf.readUInt32LE(off);
    off += 4;
    const n = word & 0xfffff;
    const bad = word >>> 20;
    if (bad > 0) {
      skipped += bad;
      firstSkipped ??= cursor;
    }
    const fields: JournalEntryFields = {};
    for (let k = 0; k < n; k++) {
      const h = buf.readUInt32LE(off);
      off += 4;
      const len = h & LEN_MASK;
      const kind = h >>> 30;
      const stop = off + len;
      // Never past the field's own bytes (the reader thread only sends fields with a name and '=').
      const eq = buf.indexOf(61, off);
      if (eq < 0 || eq >= stop) {
        skipped++;
        firstSkipped ??= cursor;
        off = stop;
        continue;
      }
      const raw = latin1.call(buf, off, eq);
      let name = names.get(raw);
      if (name === undefined) {
        name = raw;
        if (names.size < 10_000) names.set(raw, raw);
      }
      const value: JournalFieldValue = kind === KIND_ASCII ? latin1.call(buf, eq + 1, stop) : kind === KIND_UTF8 ? utf8.call(buf, eq + 1, stop) : Buffer.from(buf.subarray(eq + 1, stop));
      if (fields[name] === undefined) fields[name] = value;
      else addField(fields, name, value);
      off = stop;
    }
    entries[i] = new JournalEntry(cursor, realtime, monotonic, boot, fields);
  }
  return skipped > 0 ? { entries, end, skipped, firstSkipped } : { entries, end };
}

/** A reader dropped without close(): its thread is stopped and its files closed when it is collected. */
const unclosed = new FinalizationRegistry<{ n: NativeBinding; h: ReaderHandle }>(({ n, h }) => void n.reader_call(h, Op.Close, null));

export class NativeJournalSource implements JournalSource {
  readonly via = 'native';
  private readonly ready: Promise<number>;
  /** The next batch, already asked for while the last one is decoded (the reader thread works meanwhile). */
  private ahead: { readonly key: string; readonly result: Promise<unknown> } | undefined;
  /** A read in this direction starts with the current entry (after a seek that landed on one); 0: none, 2: either. */
  private current: -1 | 0 | 1 | 2 = 0;

  private constructor(
    private readonly n: NativeBinding,
    private readonly h: ReaderHandle,
    filter: JournalFilter,
  ) {
    unclosed.register(this, { n, h }, this);
    this.ready = this.filter(filter);
  }

  /**
   * journalctl's add_units: unit patterns (`app@*`) become the unit names the journal holds that
   * match them (the values of the unit fields, as journalctl enumerates them); patterns that
   * match no unit at all, with no plain name beside them, are ENODATA (journalctl: "Failed to add
   * filter for units"), never a filter that lets everything through.
   */
  private async filter(filter: JournalFilter): Promise<number> {
    const expand = async (names: readonly string[], fields: readonly string[]): Promise<string[] | number> => {
      const patterns = names.filter(isGlob);
      const out = names.filter((u) => !isGlob(u));
      if (patterns.length === 0) return out;
      const found = new Set<string>();
      for (const f of fields) {
        const r = (await this.call(Op.Unique, f)) as Buffer[] | number;
        if (typeof r === 'number') return r;
        for (const b of r) {
          const v = b.toString('utf8');
          if (patterns.some((p) => globMatch(p, v))) found.add(v);
        }
      }
      return [...out, ...[...found].sort()];
    };
    let units = filter.units;
    let userUnits = filter.userUnits;
    if ([...units, ...userUnits].some(isGlob)) {
      const a = await expand(units, SYSTEM_UNIT_FIELDS);
      if (typeof a === 'number') return a;
      const b = await expand(userUnits, USER_UNIT_FIELDS);
      if (typeof b === 'number') return b;
      if (a.length + b.length === 0) return -E.ENODATA;
      units = a;
      userUnits = b;
    }
    const ops = matchOperations({ ...filter, units, userUnits, uid: process.getuid?.() ?? 0 });
    const calls = ops.map((o) => (o === DISJUNCTION ? this.call(Op.Disjunction) : o === CONJUNCTION ? this.call(Op.Conjunction) : this.call(Op.AddMatch, Buffer.from(o))));
    // The open's own error comes back on the first call.
    calls.push(this.call(Op.Cursor).then((r) => (r === -E.EADDRNOTAVAIL || typeof r === 'string' ? 0 : (r as number))));
    const rcs = (await Promise.all(calls)) as number[];
    return rcs.find((r) => typeof r === 'number' && r < 0) ?? 0;
  }

  static open(n: NativeBinding, open: JournalOpen, filter: JournalFilter): NativeJournalSource | number {
    const h = n.reader_open(open.flags, open.namespace ?? null, open.directory ?? null, open.files ?? null, open.dataThreshold);
    if (h < 0) return h;
    return new NativeJournalSource(n, h, filter);
  }

  private call(op: Op, text: string | Buffer | null = null, a = 0, b = 0, c = 0, d = 0, only: readonly string[] | null = null): Promise<unknown> {
    return this.n.reader_call(this.h, op, text, a, b, c, d, only);
  }

  async seek(to: JournalSeek): Promise<number> {
    const ready = await this.ready;
    if (ready < 0) return ready;
    this.current = 0;
    // A batch read ahead is void: the seek (queued after it) puts the position back.
    this.ahead = undefined;
    switch (to.to) {
      case 'head':
        return (await this.call(Op.SeekHead)) as number;
      case 'tail': {
        // Stand on the last entry: a forward read then gives only new entries and a backward one
        // starts with it. (seek_tail + next gave the last entry of every file before v254.)
        const rc = (await this.call(Op.SeekTail)) as number;
        if (rc < 0) return rc;
        const k = (await this.call(Op.Skip, null, -1)) as number;
        if (k < 0) return k;
        if (k > 0) this.current = -1;
        return k > 0 ? 0 : this.headWhenNothingMatched();
      }
      case 'realtime':
        return (await this.call(Op.SeekRealtime, null, to.usec)) as number;
      case 'lines': {
        if (to.n === 0) return this.seek({ to: 'tail' });
        const rc = (await this.call(Op.SeekTail)) as number;
        if (rc < 0) return rc;
        // seek_tail + previous_skip(n) lands on the n-th last entry on every systemd version
        // (unlike seek_tail + next, whose meaning changed in v254/v255).
        const k = (await this.call(Op.Skip, null, -to.n)) as number;
        if (k < 0) return k;
        if (k > 0) this.current = 1;
        return k > 0 ? 0 : this.headWhenNothingMatched();
      }
      case 'cursor': {
        const rc = (await this.call(Op.SeekCursor, to.cursor)) as number;
        if (rc < 0) return rc;
        const k = (await this.call(Op.Skip, null, 1)) as number;
        if (k <= 0) return k;
        const same = (await this.call(Op.TestCursor, to.cursor)) as number;
        if (!(to.after && same > 0)) this.current = 2;
        return 0;
      }
    }
  }

  /**
   * No entry matches yet: stand at the head instead of the tail. From systemd 255 on, a reader
   * left at the tail with nothing found never finds entries appended later (each file's search
   * starts again from the tail location, forever), so a follower whose filter matched nothing
   * at open would wait for ever. From the head, the next read finds exactly the entries that
   * match, which are all newer than this seek.
   */
  private async headWhenNothingMatched(): Promise<number> {
    return (await this.call(Op.SeekHead)) as number;
  }

  async read(max: number, direction: 1 | -1, limitUsec: number, fields?: readonly string[]): Promise<JournalBatch | number> {
    const ready = await this.ready;
    if (ready < 0) return ready;
    const current = this.current === 2 || this.current === direction;
    this.current = 0;
    const key = `${max}/${direction}/${limitUsec}/${fields?.join(',') ?? ''}`;
    const ahead = this.ahead;
    this.ahead = undefined;
    let r: unknown;
    if (ahead && ahead.key === key && !current) r = await ahead.result;
    else {
      if (ahead) {
        // Read ahead with other parameters: step back over what it read.
        const b = await ahead.result;
        if (typeof b !== 'number') {
          const n = (b as Buffer).readUInt32LE(0);
          if (n > 0) await this.call(Op.Skip, null, direction > 0 ? -n : n);
        }
      }
      r = await this.call(Op.Read, null, max, direction, current ? 1 : 0, limitUsec, fields ?? null);
    }
    if (typeof r === 'number') return r;
    const batch = decodeBatch(r as Buffer);
    if (!batch.end) this.ahead = { key, result: this.call(Op.Read, null, max, direction, 0, limitUsec, fields ?? null) };
    return batch;
  }

  async wait(timeoutMs: number): Promise<JournalWake | number> {
    // Never reached with a batch ahead: a wait follows a read that reached the end.
    // poll() takes an int of ms: a longer wait is a chain of waits of at most TIMEOUT_MAX ms.
    let left = timeoutMs;
    for (;;) {
      const step = left < 0 ? -1 : Math.min(left, TIMEOUT_MAX);
      const r = (await this.call(Op.Wait, null, step)) as number;
      if (r < 0) return r;
      const w = WAKES[r] ?? 'nop';
      if (w !== 'nop' || left < 0 || left === step) return w;
      left -= step;
    }
  }

  interrupt(): void {
    this.n.reader_interrupt(this.h);
  }

  async uniqueValues(field: string): Promise<JournalFieldValue[] | number> {
    const r = (await this.call(Op.Unique, field)) as Buffer[] | number;
    return typeof r === 'number' ? r : r.map((b) => fieldValue(b, 0, b.length));
  }

  async fieldNames(): Promise<string[] | number> {
    const r = (await this.call(Op.Fields)) as Buffer[] | number;
    return typeof r === 'number' ? r : r.map((b) => b.toString('latin1'));
  }

  async usage(): Promise<number> {
    return (await this.call(Op.Usage)) as number;
  }

  async close(): Promise<number> {
    unclosed.unregister(this);
    return (await this.call(Op.Close)) as number;
  }
}
