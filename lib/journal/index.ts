/**
 * Structured journal logging: `journal.send()` and `journal.print()` (fields byte-exact,
 * never blocking the event loop), `journal.stream()` (sd_journal_stream_fd), and the
 * $JOURNAL_STREAM checks. Validation happens here once, for every backend and transport.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { check, invalidType } from '../errors';
import { checkDuration } from '../timers';
import { impl } from '../backends/select';
import { JOURNAL_QUEUE_DEFAULTS, type JournalQueueOptions, type JournalStats } from '../backends/contract';
import { checkIdentifier, encodeFields, EntryWriter, fdIsJournal, invocationShortName, type JournalFields } from '../protocol/journal';
import { toPriority, type PriorityName } from '../protocol/levels';
import type { JournalEntry, JournalQueryOptions } from './reader';

export type { JournalFields, JournalValue } from '../protocol/journal';
export type { JournalStats } from '../backends/contract';
export { PRIORITIES, toPriority, type PriorityName } from '../protocol/levels';
export type { JournalEntry, JournalReader, JournalEntryFields, JournalFieldValue, JournalOpenOptions, JournalQueryOptions, JournalTime } from './reader';

// The reader is loaded on the first query (a process that only logs never compiles it).
const reader = (): typeof import('./reader') => require('./reader') as typeof import('./reader');

const writer = new EntryWriter();

/**
 * Sends fields whose names are valid (the loggers build them so): 1 handed over (or queued
 * behind a stalled journald), 0 no journal, or -errno. `orStderr`: with no journal at all the
 * entry is written to stderr as a readable line instead of vanishing (the loggers' choice;
 * journal.send itself returns false there, as sd_journal_send does).
 */
export function sendList(list: readonly (readonly [string, string | Buffer])[], orStderr = false): number {
  const w = writer.reset();
  for (const [name, value] of list) w.value(name, value);
  return impl.journal.send(w.finish(), orStderr);
}

const batchWriter = new EntryWriter();
let batchEnds = new Uint32Array(256);

/**
 * Sends many field lists (each as sendList would) in order, many to one system call where the
 * backend can: how many of them failed. For transports that receive records in chunks (pino).
 */
export function sendLists(lists: readonly (readonly (readonly [string, string | Buffer])[])[], orStderr = false): number {
  const sink = impl.journal;
  if (!sink.sendMany || lists.length < 2) {
    let failed = 0;
    for (const list of lists) if (sendList(list, orStderr) < 0) failed++;
    return failed;
  }
  const w = batchWriter.reset();
  if (batchEnds.length < lists.length) batchEnds = new Uint32Array(lists.length * 2);
  for (let i = 0; i < lists.length; i++) {
    for (const [name, value] of lists[i]!) w.value(name, value);
    batchEnds[i] = w.next();
  }
  return sink.sendMany(w.all(), batchEnds, lists.length, orStderr);
}

function send(fields: JournalFields): boolean {
  // Frames while validating, in one pass into a reused buffer.
  return check(impl.journal.send(encodeFields(fields), false), 'sd_journal_sendv') > 0;
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
    if (bytes > 0) writeSync(2, `libsystemd: ${bytes} bytes written to journal.stream() had not reached journald at exit and are lost (end() the stream and wait for 'finish' before exiting)\n`);
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
  return impl.journal.flush(timeoutMs === undefined ? undefined : checkDuration('timeoutMs', timeoutMs, { zero: true, infinite: true }));
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
  stats: (): JournalStats => impl.journal.stats(),
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
