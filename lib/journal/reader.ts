/**
 * Reading the journal: `journal.query()` (entries as an async iterable), `journal.follow()` (the
 * same, then new entries as they arrive) and `JournalReader` for lower-level use. Options are
 * validated here, once, for both ways of reading (libsystemd's reader on its own thread, or
 * `journalctl -o export` without libsystemd).
 */
import { impl } from '../backends/select';
import type { JournalBatch, JournalFilter, JournalOpen, JournalSeek, JournalSource } from '../backends/contract';
import { check, E, invalidType, invalidValue, SystemdError } from '../errors';
import { checkInt } from '../protocol/numbers';
import { checkDuration } from '../timers';
import { validFieldName } from '../protocol/journal';
import type { JournalEntry, JournalFieldValue } from '../protocol/journal-entry';
import { JOURNAL_OPEN_FLAGS } from '../protocol/journal-entry';
import { toPriority, type PriorityName } from '../protocol/levels';
import { isGlob, mangleUnitName } from '../protocol/unit-name';
import { checkAccess } from './access';

export { JournalEntry, type JournalEntryFields, type JournalFieldValue } from '../protocol/journal-entry';

/** A time: a Date, milliseconds since the epoch, or relative to now (`'-1h'`, `'-30min'`, `'-2d'`, `'-10s'`). */
export type JournalTime = Date | number | string;
type MatchValue = string | number | Buffer;

export interface JournalOpenOptions {
  /** A journal namespace (`LogNamespace=`). */
  readonly namespace?: string;
  /** Read the journal files in this directory instead. */
  readonly directory?: string;
  /** Read exactly these journal files. */
  readonly files?: readonly string[];
  /** Only the system's journal files, or only the current user's. */
  readonly system?: boolean;
  readonly user?: boolean;
  /** Only files of this machine / only /run (volatile) files. */
  readonly localOnly?: boolean;
  readonly runtimeOnly?: boolean;
  /** Largest value kept, in bytes (0, the default: every byte of every value). */
  readonly dataThreshold?: number;
}

export interface JournalQueryOptions extends JournalOpenOptions {
  /**
   * Field matches: `{ _SYSTEMD_UNIT: 'a.service', PRIORITY: [0, 1, 2, 3] }` (an array is OR, fields
   * are AND), or journalctl's list: `['_SYSTEMD_UNIT=a.service', '+', '_PID=1']`.
   */
  readonly match?: Readonly<Record<string, MatchValue | readonly MatchValue[]>> | readonly string[];
  /** A system unit's entries, as `journalctl -u` (its coredumps and PID 1's messages about it included). */
  readonly unit?: string | readonly string[];
  /** A user unit's, as `journalctl --user-unit`. */
  readonly userUnit?: string | readonly string[];
  /** SYSLOG_IDENTIFIER, as `journalctl -t`. */
  readonly identifier?: string | readonly string[];
  /** Entries at this priority or more important (0-7 or a name), as `journalctl -p`. */
  readonly priority?: number | PriorityName;
  /** `true`: this boot; a boot id: that boot. */
  readonly boot?: boolean | string;
  readonly since?: JournalTime;
  readonly until?: JournalTime;
  /** Start at the entry with this cursor (included). */
  readonly cursor?: string;
  /** Start after the entry with this cursor (a cursor saved from the last entry processed). */
  readonly afterCursor?: string;
  /** Only the last `lines` entries (then, when following, the new ones). */
  readonly lines?: number;
  /** Newest first. */
  readonly reverse?: boolean;
  /** Only these fields of each entry. */
  readonly fields?: readonly string[];
  /** Ends the iteration (and closes the reader). */
  readonly signal?: AbortSignal;
}

/** Entries per read: decoding one batch is one slice of the event loop's time (128: about 1-3 ms on a busy core). */
const BATCH = 128;

/**
 * Entries already read (a batch, journalctl's buffered output) are handed over in microtasks,
 * which never give the event loop a turn: a backlog of 100,000 entries would hold it for as long
 * as the consumer takes over a whole batch or more. Every TURN_MS of handing over, the reader
 * waits one turn of the event loop (setImmediate), so timers and I/O keep running.
 */
const TURN_MS = 4;
const now = (): number => performance.now();
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The options each way of reading takes; anything else is a mistake (`prio` for `priority`). */
const OPEN_KEYS = ['namespace', 'directory', 'files', 'system', 'user', 'localOnly', 'runtimeOnly', 'dataThreshold'];
const FILTER_KEYS = ['match', 'unit', 'userUnit', 'identifier', 'priority', 'boot', 'fields'];
const QUERY_KEYS = new Set([...OPEN_KEYS, ...FILTER_KEYS, 'since', 'until', 'cursor', 'afterCursor', 'lines', 'reverse', 'signal']);
const READER_KEYS = new Set([...OPEN_KEYS, ...FILTER_KEYS]);

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

/** The known option closest to `key` (a prefix or a few edits away), if any. */
export function closest(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = k.toLowerCase().startsWith(key.toLowerCase()) && key.length >= 2 ? 0.5 : distance(key, k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function knownKeys(o: object, known: ReadonlySet<string>): void {
  for (const k of Object.keys(o)) {
    if (known.has(k)) continue;
    const near = closest(k, known);
    throw invalidValue(`options.${k}`, `is not an option${near ? ` (did you mean ${near}?)` : ''}; the options are ${[...known].join(', ')}`);
  }
}

/** A NUL cannot travel in journalctl's arguments nor in libsystemd's C strings: refused on both readers. */
function noNul(s: string, name: string): string {
  if (s.includes('\0')) throw invalidValue(name, `must not contain a NUL character, received ${JSON.stringify(s)}`);
  return s;
}

function strings(v: unknown, name: string): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const s of list) {
    if (typeof s !== 'string' || s === '') throw invalidType(name, 'a non-empty string or an array of them', s);
    noNul(s, name);
  }
  return list as string[];
}

function bool(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidType(name, 'a boolean', v);
  return v;
}

const UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A JournalTime as µs since the epoch. */
export function toUsec(t: unknown, name: string): number {
  let ms: number;
  if (t instanceof Date) ms = t.getTime();
  else if (typeof t === 'number') ms = t;
  else if (typeof t === 'string') {
    const m = /^([+-])(\d+(?:\.\d+)?)\s*(us|ms|s|sec|m|min|h|d|w)$/.exec(t.trim());
    if (m) ms = Date.now() + (m[1] === '-' ? -1 : 1) * Number(m[2]) * UNITS[m[3]!]!;
    else if (t === 'now') ms = Date.now();
    else ms = Date.parse(t);
  } else throw invalidType(name, "a Date, milliseconds since the epoch, or a time such as '-1h'", t);
  if (Number.isNaN(ms)) throw invalidValue(name, `must be a valid time, received ${JSON.stringify(t)}`);
  // A uint64 of usec in the addon: never negative, never past 2^53 ms (a cast would be undefined).
  checkDuration(name, ms, { zero: true });
  return Math.round(ms * 1000);
}

function bootId(v: unknown): string | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) {
    const id = impl.id128(1, null);
    if (typeof id === 'number') throw new SystemdError(id, 'sd_id128_get_boot');
    return id;
  }
  if (typeof v === 'string' && /^[0-9a-f]{32}$/i.test(v.replace(/-/g, ''))) return v.replace(/-/g, '').toLowerCase();
  throw invalidValue('options.boot', `must be true or a boot id (32 hex digits), received ${JSON.stringify(v)}`);
}

function matches(m: JournalQueryOptions['match']): string[] {
  if (m === undefined) return [];
  if (Array.isArray(m)) {
    for (const t of m) {
      if (t === '+') continue;
      if (typeof t !== 'string' || t.indexOf('=') < 1 || !validFieldName(t.slice(0, t.indexOf('=')))) throw invalidValue('options.match', `has ${JSON.stringify(t)}; each item is FIELD=value or '+'`);
      noNul(t, 'options.match');
    }
    return [...m];
  }
  if (m === null || typeof m !== 'object') throw invalidType('options.match', 'an object or an array of FIELD=value strings', m);
  const out: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (!validFieldName(k)) throw invalidValue('options.match', `has an invalid field name ${JSON.stringify(k)}`);
    for (const x of Array.isArray(v) ? v : [v]) {
      if (typeof x !== 'string' && typeof x !== 'number' && !Buffer.isBuffer(x)) throw invalidType(`options.match.${k}`, 'a string, number or Buffer (or an array of them)', x);
      out.push(noNul(`${k}=${Buffer.isBuffer(x) ? x.toString('latin1') : String(x)}`, `options.match.${k}`));
    }
  }
  return out;
}

/** Validated options: what to open, which entries, where to start. */
export interface Plan {
  readonly open: JournalOpen;
  readonly filter: JournalFilter;
  readonly seek: JournalSeek;
  readonly direction: 1 | -1;
  readonly limitUsec: number;
  readonly sinceUsec: number;
  readonly count: number;
  readonly fields?: readonly string[];
}

function openOptions(o: JournalOpenOptions): JournalOpen {
  let flags = 0;
  if (bool(o.localOnly, 'options.localOnly')) flags |= JOURNAL_OPEN_FLAGS.LOCAL_ONLY;
  if (bool(o.runtimeOnly, 'options.runtimeOnly')) flags |= JOURNAL_OPEN_FLAGS.RUNTIME_ONLY;
  if (bool(o.system, 'options.system')) flags |= JOURNAL_OPEN_FLAGS.SYSTEM;
  if (bool(o.user, 'options.user')) flags |= JOURNAL_OPEN_FLAGS.CURRENT_USER;
  const t = o.dataThreshold ?? 0;
  checkInt('options.dataThreshold', t, 'size');
  const where = [o.namespace, o.directory, o.files].filter((x) => x !== undefined).length;
  if (where > 1) throw invalidValue('options', 'takes at most one of namespace, directory and files');
  if (o.namespace !== undefined && typeof o.namespace !== 'string') throw invalidType('options.namespace', 'a string', o.namespace);
  if (o.directory !== undefined && typeof o.directory !== 'string') throw invalidType('options.directory', 'a string', o.directory);
  if (o.namespace !== undefined) noNul(o.namespace, 'options.namespace');
  if (o.directory !== undefined) noNul(o.directory, 'options.directory');
  const files = o.files === undefined ? undefined : strings(o.files, 'options.files');
  return { flags, namespace: o.namespace, directory: o.directory, files, dataThreshold: t };
}

export function plan(options: JournalQueryOptions = {}, known: ReadonlySet<string> = QUERY_KEYS): Plan {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  knownKeys(options, known);
  const o = options;
  const open = openOptions(o);
  const filter: JournalFilter = {
    matches: matches(o.match),
    // journalctl -u's rules: `app` is app.service, `app@*` a pattern.
    units: strings(o.unit, 'options.unit').map(mangleUnitName),
    userUnits: strings(o.userUnit, 'options.userUnit').map(mangleUnitName),
    identifiers: strings(o.identifier, 'options.identifier'),
    priority: o.priority === undefined ? undefined : toPriority(o.priority, 'options.priority'),
    boot: bootId(o.boot),
  };
  const reverse = bool(o.reverse, 'options.reverse');
  const since = o.since === undefined ? 0 : toUsec(o.since, 'options.since');
  const until = o.until === undefined ? 0 : toUsec(o.until, 'options.until');
  if (o.cursor !== undefined && o.afterCursor !== undefined) throw invalidValue('options', 'takes cursor or afterCursor, not both');
  const cursor = o.cursor ?? o.afterCursor;
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) throw invalidType(o.cursor !== undefined ? 'options.cursor' : 'options.afterCursor', 'a cursor string', cursor);
  if (cursor !== undefined) noNul(cursor, o.cursor !== undefined ? 'options.cursor' : 'options.afterCursor');
  const lines = o.lines;
  // sd_journal_previous_skip() takes at most INT_MAX (-ERANGE): refused here the same for both readers.
  if (lines !== undefined) checkInt('options.lines', lines, 'int', 0);
  let fields: string[] | undefined;
  if (o.fields !== undefined) {
    fields = strings(o.fields, 'options.fields');
    for (const f of fields) if (!validFieldName(f) && !/^_[A-Z0-9_]+$/.test(f)) throw invalidValue('options.fields', `has an invalid field name ${JSON.stringify(f)}`);
  }
  let seek: JournalSeek;
  if (cursor !== undefined) seek = { to: 'cursor', cursor, after: o.afterCursor !== undefined };
  else if (reverse) seek = until ? { to: 'realtime', usec: until } : { to: 'tail' };
  else if (lines !== undefined) seek = { to: 'lines', n: lines };
  else if (since) seek = { to: 'realtime', usec: since };
  else seek = { to: 'head' };
  return {
    open,
    filter,
    seek,
    direction: reverse ? -1 : 1,
    // Forward reads stop after `until`, backward ones before `since`.
    limitUsec: reverse ? since : until,
    sinceUsec: since,
    count: reverse && lines !== undefined ? lines : Infinity,
    fields,
  };
}

function source(p: Plan): JournalSource {
  // journalctl's access check: EACCES when no file may be read, a warning when some may not.
  checkAccess(p.open);
  const s = impl.openJournal(p.open, p.filter);
  if (typeof s === 'number') throw new SystemdError(s, 'sd_journal_open');
  return s;
}

/**
 * Fields skipped as corrupted (a data object without '='): the first is warned at once, with the
 * entry's cursor; a read that skipped more warns their total when it ends. Code
 * LIBSYSTEMD_JOURNAL_CORRUPT. Both ways of reading report the same skips.
 */
class Skips {
  private total = 0;
  private warned = 0;
  note(b: JournalBatch): void {
    if (!b.skipped) return;
    this.total += b.skipped;
    if (this.warned === 0) {
      this.warned = 1;
      process.emitWarning(`skipped a corrupted field (a journal data object without '=') in the entry ${b.firstSkipped ?? '?'}; the entry is given without it`, { code: 'LIBSYSTEMD_JOURNAL_CORRUPT' });
    }
  }
  done(): void {
    if (this.total > this.warned) process.emitWarning(`skipped ${this.total} corrupted fields (journal data objects without '=') in all in this read`, { code: 'LIBSYSTEMD_JOURNAL_CORRUPT' });
    this.warned = this.total;
  }
}

/** A failed call as a SystemdError; unit patterns that matched no unit say so (journalctl: "Failed to add filter for units"). */
function failure(p: Plan, rc: number, syscall: string): SystemdError {
  const patterns = [...p.filter.units, ...p.filter.userUnits].filter(isGlob);
  if (rc === -E.ENODATA && patterns.length > 0) return new SystemdError(rc, 'sd_journal_add_match', `no unit in the journal matches ${patterns.join(', ')}`);
  return new SystemdError(rc, syscall);
}

async function* entries(p: Plan, signal: AbortSignal | undefined, follow: boolean): AsyncGenerator<JournalEntry, void, undefined> {
  if (signal?.aborted) return;
  const src = source(p);
  const onAbort = (): void => src.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  const skips = new Skips();
  try {
    const sought = await src.seek(p.seek);
    if (sought < 0) throw failure(p, sought, 'sd_journal_seek');
    let left = p.count;
    let since = now();
    for (;;) {
      while (left > 0 && !signal?.aborted) {
        const b = await src.read(Math.min(BATCH, left), p.direction, p.limitUsec, p.fields);
        if (typeof b === 'number') throw failure(p, b, 'sd_journal_next');
        skips.note(b);
        for (const e of b.entries) {
          // A forward read from a cursor or `lines` can start before `since`.
          if (p.direction > 0 && p.sinceUsec && e.realtimeUsecNumber < p.sinceUsec) continue;
          left--;
          yield e;
          if (signal?.aborted) return;
          if (now() - since > TURN_MS) {
            await turn();
            since = now();
          }
        }
        if (b.end) break;
      }
      if (!follow || left <= 0 || signal?.aborted) return;
      const w = await src.wait(-1);
      if (typeof w === 'number') throw failure(p, w, 'sd_journal_wait');
      if (signal?.aborted) return;
    }
  } finally {
    skips.done();
    signal?.removeEventListener('abort', onAbort);
    await src.close();
  }
}

/** The entries that match, oldest first (or newest first with `reverse`). Closes its reader when done or abandoned. */
export function query(options?: JournalQueryOptions): AsyncIterable<JournalEntry> & AsyncIterator<JournalEntry> {
  // Validated now, not at the first iteration: a mistake throws where the call is.
  return entries(plan(options), signalOf(options), false);
}

function signalOf(options: JournalQueryOptions | undefined): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('options.signal', 'an AbortSignal', signal);
  return signal;
}

/** Like query(), then every new matching entry as it is written, until `signal` aborts or the loop ends. */
export function follow(options?: JournalQueryOptions): AsyncIterable<JournalEntry> & AsyncIterator<JournalEntry> {
  if (options?.reverse) throw invalidValue('options.reverse', 'cannot be combined with follow()');
  return entries(plan(options), signalOf(options), true);
}

/**
 * A journal opened for reading, for code that positions itself: next()/previous() one entry at
 * a time (read in batches underneath), seek*(), cursors, unique values, field names, disk usage.
 * Close it (or `await using`) when done: it holds a thread and the journal's files.
 */
export class JournalReader {
  private readonly src: JournalSource;
  private readonly fields?: readonly string[];
  private buf: JournalEntry[] = [];
  private dir: 1 | -1 = 1;
  private last: JournalEntry | undefined;
  private closed = false;
  private readonly skips = new Skips();
  private since = now();

  constructor(options: JournalOpenOptions & Pick<JournalQueryOptions, 'match' | 'unit' | 'userUnit' | 'identifier' | 'priority' | 'boot' | 'fields'> = {}) {
    const p = plan(options, READER_KEYS);
    this.src = source(p);
    this.fields = p.fields;
  }

  /** How entries are read: `native` (libsystemd) or `journalctl`. */
  get via(): 'native' | 'journalctl' {
    return this.src.via;
  }

  private live(): void {
    if (this.closed) throw new SystemdError(-E.EBADF, 'sd_journal', 'the reader is closed');
  }

  private async step(dir: 1 | -1): Promise<JournalEntry | undefined> {
    this.live();
    if (dir !== this.dir) {
      // Entries read ahead belong to the other direction: go back to the last one returned.
      this.buf = [];
      this.dir = dir;
      if (this.last) check(await this.src.seek({ to: 'cursor', cursor: this.last.cursor, after: true }), 'sd_journal_seek_cursor');
    }
    if (this.buf.length === 0) {
      const b = await this.src.read(BATCH, dir, 0, this.fields);
      if (typeof b === 'number') throw new SystemdError(b, dir > 0 ? 'sd_journal_next' : 'sd_journal_previous');
      this.skips.note(b);
      this.buf = b.entries;
    }
    const e = this.buf.shift();
    if (e) this.last = e;
    return e;
  }

  /** The next entry, or undefined at the end. */
  next(): Promise<JournalEntry | undefined> {
    return this.step(1);
  }

  /** The previous entry, or undefined at the start. */
  previous(): Promise<JournalEntry | undefined> {
    return this.step(-1);
  }

  private async seek(to: JournalSeek): Promise<void> {
    this.live();
    this.buf = [];
    this.last = undefined;
    this.dir = 1;
    check(await this.src.seek(to), 'sd_journal_seek');
  }

  /** Before the first entry: next() gives the oldest. */
  seekHead(): Promise<void> {
    return this.seek({ to: 'head' });
  }

  /** After the last entry: previous() gives the newest. */
  seekTail(): Promise<void> {
    return this.seek({ to: 'tail' });
  }

  /** next() gives the first entry at or after `time`. */
  seekRealtime(time: JournalTime): Promise<void> {
    return this.seek({ to: 'realtime', usec: toUsec(time, 'time') });
  }

  /** next() gives the entry with this cursor (or the one after where it was), or with `after`, the one after it. */
  seekCursor(cursor: string, options: { readonly after?: boolean } = {}): Promise<void> {
    if (typeof cursor !== 'string' || cursor === '') throw invalidType('cursor', 'a cursor string', cursor);
    return this.seek({ to: 'cursor', cursor, after: bool(options.after, 'options.after') });
  }

  /** The cursor of the entry last returned, or undefined before any. */
  cursor(): string | undefined {
    return this.last?.cursor;
  }

  /** Whether the entry last returned has this cursor. */
  async testCursor(cursor: string): Promise<boolean> {
    this.live();
    return this.last !== undefined && this.last.cursor === cursor;
  }

  /** Every value a field has in the opened files (sd_journal_query_unique; matches do not apply). */
  async uniqueValues(field: string): Promise<JournalFieldValue[]> {
    this.live();
    if (typeof field !== 'string' || !/^[A-Z0-9_]+$/.test(field)) throw invalidValue('field', `must be a field name, received ${JSON.stringify(field)}`);
    const r = await this.src.uniqueValues(field);
    if (typeof r === 'number') throw new SystemdError(r, 'sd_journal_query_unique');
    return r;
  }

  /** Every field name used in the opened files. */
  async fieldNames(): Promise<string[]> {
    this.live();
    const r = await this.src.fieldNames();
    if (typeof r === 'number') throw new SystemdError(r, 'sd_journal_enumerate_fields');
    return r;
  }

  /** Bytes the opened journal files take on disk. */
  async usage(): Promise<number> {
    this.live();
    return check(await this.src.usage(), 'sd_journal_get_usage');
  }

  /** Resolves once the journal changed (`append`, `invalidate`), after `timeoutMs` (`nop`), or when close() is called. */
  async wait(timeoutMs = -1): Promise<'append' | 'invalidate' | 'nop' | 'interrupted'> {
    // -1 (the default) or Infinity: no limit; else any duration (never truncated to an int of ms).
    const ms = timeoutMs === -1 || timeoutMs === Infinity ? -1 : checkDuration('timeoutMs', timeoutMs, { zero: true });
    this.live();
    const w = await this.src.wait(ms);
    if (typeof w === 'number') throw new SystemdError(w, 'sd_journal_wait');
    return w;
  }

  /** Closes the journal and ends the reader's thread. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.skips.done();
    this.src.interrupt();
    await this.src.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<JournalEntry, void, undefined> {
    for (let e = await this.next(); e; e = await this.next()) {
      yield e;
      if (now() - this.since > TURN_MS) {
        await turn();
        this.since = now();
      }
    }
  }
}
