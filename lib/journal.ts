/**
 * Structured journal logging: `journal.send()` and `journal.print()` (fields byte-exact,
 * never blocking the event loop), `journal.stream()` (sd_journal_stream_fd), and the
 * $JOURNAL_STREAM checks. Validation happens here once, for every backend and transport.
 */
import { existsSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { check, E, invalidType, invalidValue, SystemdError } from './errors';
import { encodeFields, EntryWriter, fieldList, invocationShortName, type JournalFields } from './journal/fields';
import { NativeJournalSender, SENDER_DEFAULTS, type JournalStats, type SenderOptions } from './journal/sender';
import { checkIdentifier, connectStream, fdIsJournal, STDOUT_SOCKET, StreamFallback, streamHeader } from './journal/stream';
import { impl, load } from './select';

export type { JournalFields, JournalValue } from './journal/fields';
export type { JournalStats } from './journal/sender';

/** syslog priorities by name (with the usual aliases). */
export const PRIORITIES: Readonly<Record<string, number>> = Object.freeze({
  emerg: 0,
  alert: 1,
  crit: 2,
  critical: 2,
  err: 3,
  error: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
});
export type PriorityName = 'emerg' | 'alert' | 'crit' | 'critical' | 'err' | 'error' | 'warning' | 'warn' | 'notice' | 'info' | 'debug';

/** 0-7 from a number or a level name, else ERR_INVALID_ARG_VALUE. */
export function toPriority(p: unknown, name = 'priority'): number {
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 7) return p;
  if (typeof p === 'string' && Object.hasOwn(PRIORITIES, p)) return PRIORITIES[p]!;
  throw invalidValue(name, `must be 0-7 or a level name (${Object.keys(PRIORITIES).join(', ')}), received ${JSON.stringify(p)}`);
}

// Created on first use: a process that never logs pays nothing for it.
let senderInstance: NativeJournalSender | undefined;
const getSender = (): NativeJournalSender | undefined => (load.binding ? (senderInstance ??= new NativeJournalSender(load.binding)) : undefined);
let fallbackInstance: StreamFallback | undefined;
const fallback = (): StreamFallback => (fallbackInstance ??= new StreamFallback());

const writer = new EntryWriter();

/**
 * Sends fields whose names are valid (the loggers build them so): 1 handed over (or queued
 * behind a stalled journald), 0 no journal, or -errno.
 */
export function sendList(list: readonly (readonly [string, string | Buffer])[], identifier?: string): number {
  const sender = getSender();
  if (sender) {
    const w = writer.reset();
    for (const [name, value] of list) w.value(name, value);
    return sender.send(w.finish());
  }
  return textFallback(list, identifier);
}

function textFallback(list: readonly (readonly [string, string | Buffer])[], identifier?: string): number {
  return fallback().write(list.map(([n, v]) => [n, typeof v === 'string' ? Buffer.from(v) : v]), identifier ?? invocationShortName) ? 1 : 0;
}

/**
 * For loggers: like sendList, but when there is no journal at all the entry is written to
 * stderr as a readable line instead of vanishing (journal.send itself returns false there, as
 * sd_journal_send does).
 */
export function logList(list: readonly (readonly [string, string | Buffer])[], identifier?: string): number {
  const rc = sendList(list, identifier);
  if (rc === 0 && load.binding) textFallback(list, identifier);
  return rc;
}

function send(fields: JournalFields): boolean {
  // The native transport frames while validating, in one pass into a reused buffer.
  const sender = getSender();
  if (sender) return check(sender.send(encodeFields(fields)), 'sd_journal_sendv') > 0;
  return check(sendList(fieldList(fields)), 'sd_journal_sendv') > 0;
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
  if (impl.transport === 'native') {
    const fd = check(impl.journalStreamFd(identifier, priority, levelPrefix), 'sd_journal_stream_fd');
    const { Socket } = require('node:net') as typeof import('node:net');
    const sock = guard(new Socket({ fd, readable: false, writable: true }));
    trackStream(sock);
    return sock;
  }
  // Pure Node speaks the stream protocol itself.
  if (!existsSync(STDOUT_SOCKET)) throw new SystemdError(-2, 'sd_journal_stream_fd', STDOUT_SOCKET);
  const s = connectStream();
  s.write(streamHeader(identifier, priority, levelPrefix));
  trackStream(s);
  return guard(s);
}

export interface JournalOptions extends Partial<SenderOptions> {}

const NO_STATS: JournalStats = Object.freeze({ sent: 0, queued: 0, queuedBytes: 0, dropped: 0, viaMemfd: 0, blockedCalls: 0, blockedMs: 0 });

async function flush(timeoutMs?: number): Promise<JournalStats> {
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) throw invalidValue('timeoutMs', `must be a non-negative number, received ${String(timeoutMs)}`);
  const sender = getSender();
  if (sender) return sender.flush(timeoutMs);
  if (!fallbackInstance) return NO_STATS;
  const done = fallbackInstance.flush().then(() => NO_STATS);
  if (timeoutMs === undefined) return done;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new SystemdError(-E.ETIMEDOUT, 'journal.flush', `lines still pending after ${timeoutMs} ms`)), timeoutMs);
    void done.then((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
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
  stats: (): JournalStats => getSender()?.stats() ?? NO_STATS,
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
  configure(options: JournalOptions): void {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
    const next: Partial<SenderOptions> = {};
    for (const k of Object.keys(SENDER_DEFAULTS) as (keyof SenderOptions)[]) {
      const v = options[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v >= 0)) throw invalidValue(`options.${k}`, `must be a non-negative number, received ${String(v)}`);
      next[k] = v;
    }
    getSender()?.configure(next);
  },
});
