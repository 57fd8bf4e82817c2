/**
 * Structured journal logging: `journal.send()` and `journal.print()` (fields byte-exact,
 * never blocking the event loop), `journal.stream()` (sd_journal_stream_fd), and the
 * $JOURNAL_STREAM checks. Validation happens here once, for every backend and transport.
 */
import type { Writable } from 'node:stream';
import { check, invalidType } from '../errors';
import { checkDuration } from '../timers';
import { impl } from '../backends/select';
import { JOURNAL_QUEUE_DEFAULTS, type JournalQueueOptions, type JournalStats as SinkStats } from '../backends/contract';
import { checkIdentifier, encodeFields, EntryWriter, fdIsJournal, invocationShortName, JOURNAL_MAX_FIELDS, lastLargest, type JournalFields } from '../protocol/journal';
import { DATA_SIZE_MAX, ENTRY_SIZE_MAX, journalFileSizeLimit } from '../protocol/journald-limits';
import { writeAllSync } from '../protocol/write-all';
import { toPriority, type PriorityName } from '../protocol/levels';
import type { JournalEntry, JournalQueryOptions } from './reader';

export type { JournalFields, JournalValue } from '../protocol/journal';
export { PRIORITIES, toPriority, type PriorityName } from '../protocol/levels';
export type { JournalEntry, JournalReader, JournalEntryFields, JournalFieldValue, JournalOpenOptions, JournalQueryOptions, JournalTime } from './reader';

// The reader is loaded on the first query (a process that only logs never compiles it).
const reader = (): typeof import('./reader') => require('./reader') as typeof import('./reader');

/** The queue's figures, and the entries journald is known not to store (see checkSize). */
export interface JournalStats extends SinkStats {
  /**
   * Entries larger than journald stores (a field above DATA_SIZE_MAX, an entry above
   * ENTRY_SIZE_MAX, or above the journal file size journald is configured with): sent, but
   * journald drops them unless compression brings them under its file size. Warned once.
   */
  readonly oversized: number;
}

let oversized = 0;
let oversizedWarned = false;
/** The file size cap is read (journald.conf) only when an entry is big enough for it to matter. */
const SIZE_CHECK_FROM = 1 << 20;

/**
 * Counts (and warns once about) an entry of `bytes` whose largest value has `largest` bytes, when
 * journald will not store it. A check of two numbers for all but entries of a mebibyte or more.
 */
function tooLarge(bytes: number, largest: number): string | undefined {
  if (bytes < SIZE_CHECK_FROM) return undefined;
  if (largest > DATA_SIZE_MAX) return `a field of ${largest} bytes is above journald's DATA_SIZE_MAX (${DATA_SIZE_MAX}): journald drops it`;
  if (bytes > ENTRY_SIZE_MAX) return `${bytes} bytes is above journald's ENTRY_SIZE_MAX (${ENTRY_SIZE_MAX}): journald drops it`;
  const limit = journalFileSizeLimit();
  if (bytes > limit.bytes) return `${bytes} bytes is larger than a journal file may grow (${limit.source}, ${limit.bytes} bytes): journald drops it unless it compresses below that`;
  return undefined;
}

function checkSize(bytes: number, largest: number): void {
  const why = tooLarge(bytes, largest);
  if (why === undefined) return;
  oversized++;
  if (oversizedWarned) return;
  oversizedWarned = true;
  process.emitWarning(`libsystemd: a journal entry is too large for journald (${why}); such entries are counted in journal.stats().oversized`, { code: 'LIBSYSTEMD_JOURNAL_OVERSIZED' });
}

const withOversized = (s: SinkStats): JournalStats => ({ ...s, oversized });

/** Where a logger's fields beyond journald's limit go: one field, JSON of name → value(s). */
export const FOLDED_FIELD = 'LIBSYSTEMD_FOLDED_FIELDS';
/** How many fields were folded into FOLDED_FIELD. */
export const FOLDED_COUNT = 'LIBSYSTEMD_FOLDED_COUNT';
/** Fields a logger's entry keeps as they are: journald's limit less the two above and SYSLOG_IDENTIFIER's room. */
const KEEP_FIELDS = JOURNAL_MAX_FIELDS - 3;
let foldWarned = false;

type List = readonly (readonly [string, string | Buffer])[];

/**
 * A logger's entry with more fields than journald keeps (it drops the whole entry above
 * JOURNAL_MAX_FIELDS): the first KEEP_FIELDS fields as they are (the loggers put MESSAGE,
 * PRIORITY, SYSLOG_IDENTIFIER, the caller and the error first), the rest folded into one field
 * (JSON, name → value or values; bytes as base64) with their count. Nothing is lost; warned once.
 */
function capFields(list: List): List {
  if (list.length <= KEEP_FIELDS) return list;
  const rest: Record<string, string | string[]> = {};
  for (let i = KEEP_FIELDS; i < list.length; i++) {
    const [name, value] = list[i]!;
    const v = typeof value === 'string' ? value : `base64:${value.toString('base64')}`;
    const had = rest[name];
    rest[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  const folded = list.length - KEEP_FIELDS;
  if (!foldWarned) {
    foldWarned = true;
    process.emitWarning(`libsystemd: a log entry had ${list.length} fields; journald drops entries with more than ${JOURNAL_MAX_FIELDS}, so the last ${folded} were folded into its ${FOLDED_FIELD} field (JSON) with their count in ${FOLDED_COUNT}`, { code: 'LIBSYSTEMD_JOURNAL_FIELDS' });
  }
  return [...list.slice(0, KEEP_FIELDS), [FOLDED_COUNT, String(folded)], [FOLDED_FIELD, JSON.stringify(rest)]];
}

/** Names and original sizes of the values a logger's entry had cut to fit journald (NAME:bytes,…). */
export const TRUNCATED_FIELD = 'LIBSYSTEMD_TRUNCATED';
let truncateWarned = false;

/** The first `max` bytes of a text as text (never a split character or a lone surrogate). */
function cutText(s: string, max: number): string {
  let t = s.slice(0, max);
  while (Buffer.byteLength(t) > max) t = t.slice(0, Math.max(0, t.length - Math.ceil((Buffer.byteLength(t) - max) / 3)));
  const last = t.charCodeAt(t.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? t.slice(0, -1) : t;
}

/**
 * A logger's entry too large for journald (see tooLarge): its largest values are cut, largest
 * first, until the entry is at most half the journal file size (the file also holds its header
 * and hash tables) and under the per-field and per-entry maximums; TRUNCATED_FIELD names each
 * with its original size. A logger keeps the line instead of losing it whole; warned once.
 */
function fitEntry(list: List, bytes: number): List {
  const target = Math.min(journalFileSizeLimit().bytes / 2, DATA_SIZE_MAX, ENTRY_SIZE_MAX / 2);
  const sizes = list.map(([, v]) => (typeof v === 'string' ? Buffer.byteLength(v) : v.length));
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]!);
  const out = list.slice() as (readonly [string, string | Buffer])[];
  const cut: string[] = [];
  let over = bytes - target;
  for (const i of order) {
    if (over <= 0) break;
    const size = sizes[i]!;
    const keep = Math.max(0, size - over);
    const [name, value] = out[i]!;
    out[i] = [name, typeof value === 'string' ? cutText(value, keep) : value.subarray(0, keep)];
    cut.push(`${name}:${size}`);
    over -= size - keep;
  }
  out.push([TRUNCATED_FIELD, cut.join(',')]);
  if (!truncateWarned) {
    truncateWarned = true;
    process.emitWarning(`libsystemd: a log entry of ${bytes} bytes was too large for journald; its largest values were cut to fit (${cut.join(', ')}; original sizes in its ${TRUNCATED_FIELD} field)`, { code: 'LIBSYSTEMD_JOURNAL_TRUNCATED' });
  }
  return out;
}

const writer = new EntryWriter();
let writing = false;

/**
 * Sends fields whose names are valid (the loggers build them so): 1 handed over (or queued
 * behind a stalled journald), 0 no journal, or -errno. `orStderr`: with no journal at all the
 * entry is written to stderr as a readable line instead of vanishing (the loggers' choice;
 * journal.send itself returns false there, as sd_journal_send does). Above journald's field
 * limit the extra fields are folded (capFields); above its size limits the entry is counted.
 */
export function sendList(list: List, orStderr = false): number {
  // The values are plain strings and Buffers (no getter runs while framing), but a warning
  // listener could log: then it gets a writer of its own.
  const w = writing ? new EntryWriter() : writer.reset();
  writing = true;
  try {
    const fields = capFields(list);
    for (const [name, value] of fields) w.value(name, value);
    let entry = w.finish();
    if (tooLarge(entry.length, w.largest) !== undefined) {
      w.reset();
      for (const [name, value] of fitEntry(fields, entry.length)) w.value(name, value);
      entry = w.finish();
    }
    checkSize(entry.length, w.largest);
    return impl.journal.send(entry, orStderr);
  } finally {
    if (w === writer) writing = false;
  }
}

const batchWriter = new EntryWriter();
let batchEnds = new Uint32Array(256);

/**
 * Sends many field lists (each as sendList would) in order, many to one system call where the
 * backend can: how many of them failed. For transports that receive records in chunks (pino).
 */
export function sendLists(lists: readonly List[], orStderr = false): number {
  const sink = impl.journal;
  if (!sink.sendMany || lists.length < 2 || writing) {
    let failed = 0;
    for (const list of lists) if (sendList(list, orStderr) < 0) failed++;
    return failed;
  }
  writing = true;
  try {
    const w = batchWriter.reset();
    if (batchEnds.length < lists.length) batchEnds = new Uint32Array(lists.length * 2);
    let start = 0;
    for (let i = 0; i < lists.length; i++) {
      w.largest = 0;
      const fields = capFields(lists[i]!);
      for (const [name, value] of fields) w.value(name, value);
      let end = w.next();
      if (tooLarge(end - start, w.largest) !== undefined) {
        // Framed again in place, cut to fit (rare: an entry of a mebibyte or more).
        w.rewind(start);
        w.largest = 0;
        for (const [name, value] of fitEntry(fields, end - start)) w.value(name, value);
        end = w.next();
      }
      batchEnds[i] = end;
      checkSize(end - start, w.largest);
      start = end;
    }
    return sink.sendMany(w.all(), batchEnds, lists.length, orStderr);
  } finally {
    writing = false;
  }
}

function send(fields: JournalFields): boolean {
  // Frames while validating, in one pass into a reused buffer (a getter that sends gets its own).
  const entry = encodeFields(fields);
  checkSize(entry.length, lastLargest);
  return check(impl.journal.send(entry, false), 'sd_journal_sendv') > 0;
}

function print(priority: number | PriorityName, message: string, fields: JournalFields = {}): boolean {
  const p = toPriority(priority);
  if (typeof message !== 'string') throw invalidType('message', 'a string', message);
  return send({ ...fields, MESSAGE: message, PRIORITY: p });
}

export interface StreamOptions {
  /** SYSLOG_IDENTIFIER of every line; default the program name. */
  readonly identifier?: string;
  /** Priority of lines without a `<N>` prefix; default 6 (info). */
  readonly priority?: number | PriorityName;
  /** Interpret `<0>`…`<7>` at the start of a line as its priority; default true. */
  readonly levelPrefix?: boolean;
}

let streamWarned = false;
/** journal.stream() sockets still open: at exit, bytes they could not hand over are reported. */
const openStreams = new Set<Writable>();
let streamExitHook = false;

function trackStream(s: Writable): void {
  openStreams.add(s);
  s.once('close', () => openStreams.delete(s));
  if (streamExitHook) return;
  streamExitHook = true;
  process.once('exit', () => {
    let bytes = 0;
    for (const x of openStreams) bytes += x.writableLength;
    if (bytes > 0) writeAllSync(2, `libsystemd: ${bytes} bytes written to journal.stream() had not reached journald at exit and are lost (end() the stream and wait for 'finish' before exiting)\n`);
  });
}

/** A stream whose journald went away must not crash the service: report it once instead. */
function guard<T extends Writable>(s: T): T {
  s.on('error', (err: Error) => {
    if (streamWarned) return;
    streamWarned = true;
    process.emitWarning(`libsystemd: a journal stream failed (${(err as NodeJS.ErrnoException).code ?? err.message}); lines written to it are lost`, { code: 'LIBSYSTEMD_JOURNAL_STREAM' });
  });
  return s;
}

function stream(options: StreamOptions = {}): Writable {
  const identifier = checkIdentifier(options.identifier ?? invocationShortName);
  const priority = toPriority(options.priority ?? 6, 'options.priority');
  const levelPrefix = options.levelPrefix ?? true;
  if (typeof levelPrefix !== 'boolean') throw invalidType('options.levelPrefix', 'a boolean', levelPrefix);
  const s = impl.journalStream(identifier, priority, levelPrefix);
  if (typeof s === 'number') check(s, 'sd_journal_stream_fd');
  const sock = guard(s as Writable);
  trackStream(sock);
  return sock;
}

export interface JournalOptions extends Partial<JournalQueueOptions> {}

async function flush(timeoutMs?: number): Promise<JournalStats> {
  return withOversized(await impl.journal.flush(timeoutMs === undefined ? undefined : checkDuration('timeoutMs', timeoutMs, { zero: true, infinite: true })));
}

/** The journal: structured entries (native protocol) and streams (stdout protocol). */
export const journal = Object.freeze({
  /**
   * Sends one entry. `fields` maps names (A-Z, 0-9, _, not starting with _ or a digit, at most
   * 64 bytes) to a value or an array of values (repeated fields, in order); values are
   * byte-exact (strings as UTF-8; Buffers as is: newlines, NUL, invalid UTF-8, binary).
   * Large entries go through a sealed memfd. While journald does not accept entries they wait,
   * in order, in a bounded native queue drained without JavaScript (journal.stats()); past the
   * bound a call waits for room while journald makes progress (as sd_journal_send would), and
   * drops (counted, warned) only when journald accepts nothing for `maxBlockMs`. Whatever is
   * queued at exit is delivered before the process goes, or counted and reported.
   * @returns `true` when handed to journald (or queued for it), `false` when there is no journal.
   * @throws TypeError `ERR_INVALID_ARG_VALUE` naming the field, before anything is sent.
   * @throws SystemdError for other failures (e.g. `ECONNREFUSED`: a socket without journald).
   * Fallback: without the addon the entry goes to journald's stream socket (or stderr) as text,
   *   with the fields appended as KEY=value; `capabilities().journalFields` is then false.
   */
  send,
  /** `send({ ...fields, MESSAGE: message, PRIORITY })`; priority 0-7 or a level name. */
  print,
  /**
   * A Writable whose lines become journal entries (sd_journal_stream_fd), e.g. for a child
   * process's output. If journald goes away, writes fail with EPIPE: the stream reports it once
   * (warning LIBSYSTEMD_JOURNAL_STREAM, and 'error' for your own listeners) instead of crashing.
   * @throws SystemdError `ENOENT` when journald's stream socket is missing.
   */
  stream,
  /** Whether stderr is connected to the journal ($JOURNAL_STREAM compared with fstat). */
  stderrIsJournal: (): boolean => fdIsJournal(2),
  /** Whether stdout is connected to the journal. */
  stdoutIsJournal: (): boolean => fdIsJournal(1),
  /** Entries sent, queued (journald busy or stalled), dropped, sent through a memfd, and waits at the bound. */
  stats: (): JournalStats => withOversized(impl.journal.stats()),
  /**
   * Resolves (with the stats) once every entry sent so far has left the process: delivered to
   * journald, or dropped and counted. Never blocks the event loop.
   * @throws SystemdError `ETIMEDOUT` (rejects) after `timeoutMs`, with the count still queued.
   */
  flush,
  /**
   * Sets the queue bound (`maxQueueBytes`, default 16 MiB), how long a call at the bound waits
   * for journald's progress before dropping (`maxBlockMs`, 1 s), how long a stalled queue is
   * kept (`maxStallMs`, 30 s), and how long the exit drain waits without progress (`exitTimeoutMs`, 5 s).
   */
  /**
   * The entries that match `options` (unit, identifier, priority, boot, since/until, cursor,
   * lines, raw matches…), oldest first, as an async iterable. Read on a thread of the reader's
   * own (or by `journalctl -o export` without libsystemd: `capabilities().journalRead`); never
   * blocks the event loop. Values are byte-exact: text when valid UTF-8, else a Buffer.
   * @throws TypeError `ERR_INVALID_ARG_*` for bad options, before anything is opened.
   * @throws SystemdError when the journal cannot be opened or read (e.g. `EACCES`).
   */
  query: (options?: JournalQueryOptions): AsyncIterable<JournalEntry> & AsyncIterator<JournalEntry> => reader().query(options),
  /** Like query(), then each new entry as it is written, until `options.signal` aborts or the loop ends. */
  follow: (options?: JournalQueryOptions): AsyncIterable<JournalEntry> & AsyncIterator<JournalEntry> => reader().follow(options),
  configure(options: JournalOptions): void {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
    const next: Partial<JournalQueueOptions> = {};
    for (const k of Object.keys(JOURNAL_QUEUE_DEFAULTS) as (keyof JournalQueueOptions)[]) {
      const v = options[k];
      if (v === undefined) continue;
      // Durations and a byte bound, each a double in the addon: finite or Infinity ("no limit"), never NaN or negative.
      next[k] = checkDuration(`options.${k}`, v, { zero: true, infinite: true });
    }
    impl.journal.configure(next);
  },
});
