/**
 * The journal without datagrams (pure Node, no addon): entries as text on journald's stream
 * socket with <N> prefixes, <N>-prefixed stderr when stderr already is the journal, readable
 * lines on stderr when there is no journal. Custom fields are appended to the text as
 * KEY=value, so nothing is lost without a trace. Also the stream socket for journal.stream().
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { E, SystemdError } from '../errors';
import { PRIORITY_LABELS } from '../protocol/levels';
import { fdIsJournal, invocationShortName, prefixLines, STDOUT_SOCKET, streamHeader, unframe } from '../protocol/journal';
import { writeAllSync } from '../protocol/write-all';
import type { JournalSink, JournalStats } from './contract';
import { longTimeout } from '../timers';

/**
 * A connection to journald's stream socket, the header written. journald shuts down its
 * sending side at once; with Node's default (allowHalfOpen: false) that EOF would make Node end
 * our side too, and every later write would fail with EPIPE.
 */
export function connectStream(identifier: string, priority: number, levelPrefix: boolean): Socket {
  // node:net is loaded on first use (it costs start-up time most processes do not need to pay).
  const { createConnection } = require('node:net') as typeof import('node:net');
  const s = createConnection({ path: STDOUT_SOCKET, allowHalfOpen: true });
  s.write(streamHeader(identifier, priority, levelPrefix));
  return s;
}

/** A value for the text of a line: printable as is, quoted when it has spaces, hex when binary. */
function textValue(v: Buffer): string {
  const s = v.toString('utf8');
  if (!Buffer.from(s).equals(v) || /[\x00-\x08\x0e-\x1f]/.test(s)) return `0x${v.toString('hex')}`;
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** The fields of an entry as one readable line (the caller's source location left out). */
function readable(list: readonly [string, Buffer][]): { line: string; body: string; priority: number; identifier: string } {
  let message = '';
  let priority = 6;
  let identifier = invocationShortName;
  const extra: string[] = [];
  for (const [name, value] of list) {
    if (name === 'MESSAGE') message = value.toString();
    else if (name === 'PRIORITY' && /^[0-7]$/.test(value.toString())) priority = Number(value.toString());
    else if (name === 'SYSLOG_IDENTIFIER') identifier = value.toString();
    else extra.push(`${name}=${textValue(value)}`);
  }
  const body = [message.replace(/\n+$/, ''), ...extra].filter((s) => s !== '').join(' ');
  const text = [message.replace(/\n+$/, ''), ...extra.filter((f) => !/^CODE_(FILE|LINE|FUNC)=/.test(f))].filter((x) => x !== '').join(' ');
  return { line: `${PRIORITY_LABELS[priority]} ${identifier}: ${text.replace(/\n/g, '\n  ')}\n`, body, priority, identifier };
}

/**
 * A framed entry as a readable line on stderr (no journal at all: the loggers' last resort),
 * written whole and synchronously: process.stderr queues what a slow pipe does not take at once
 * (and in a worker thread hands everything to the main thread), and a process.exit() right
 * after would lose it.
 */
export function writeReadable(entry: Buffer): void {
  const list = unframe(entry);
  if (list) writeAllSync(2, readable(list).line);
}

const NO_STATS: JournalStats = Object.freeze({ sent: 0, queued: 0, queuedBytes: 0, dropped: 0, viaMemfd: 0, blockedCalls: 0, blockedMs: 0 });

/** Where entries go when no datagram can be sent (pure Node): text on journald's stream socket, or stderr. */
export class JournalTextSink implements JournalSink {
  private sockets = new Map<string, Socket>();
  private pending = 0;
  private idle: (() => void)[] = [];
  /** Readable lines of entries not yet confirmed written to journald's socket. */
  private unconfirmed = new Map<number, string>();
  private nextId = 0;
  private exitHook = false;

  /** Resolves once every line written so far has been handed to journald's socket. */
  flush(timeoutMs?: number): Promise<JournalStats> {
    if (this.pending === 0) return Promise.resolve(NO_STATS);
    const done = new Promise<JournalStats>((resolve) => this.idle.push(() => resolve(NO_STATS)));
    if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return done;
    return new Promise((resolve, reject) => {
      const t = longTimeout(timeoutMs, () => reject(new SystemdError(-E.ETIMEDOUT, 'journal.flush', `lines still pending after ${timeoutMs} ms`)));
      void done.then((v) => {
        t.cancel();
        resolve(v);
      });
    });
  }

  stats(): JournalStats {
    return NO_STATS;
  }

  configure(): void {
    // no queue of its own: Node's socket buffers the lines
  }

  /**
   * Writes one framed entry as text: 1 when journald will store it, 0 when there is no journal
   * (the line then goes to stderr, whatever `orStderr` says: pure Node has no other trace).
   */
  send(entry: Buffer): number {
    const list = unframe(entry);
    if (!list) return -E.EINVAL;
    const { line, body, priority, identifier } = readable(list);
    if (fdIsJournal(2)) {
      // Synchronously (as writeReadable): journald reads its streams at once, and an entry
      // queued in process.stderr would be lost to a process.exit() right after.
      writeAllSync(2, prefixLines(body, priority));
      return 1;
    }
    if (existsSync(STDOUT_SOCKET)) {
      const s = this.socket(identifier.replace(/[\n\0]/g, ' ').slice(0, 254));
      // Held open while a write is pending, so a process that ends naturally delivers it first;
      // what is still unconfirmed at exit goes to stderr, synchronously (see watchExit).
      this.pending++;
      const id = this.nextId++;
      this.unconfirmed.set(id, line);
      this.watchExit();
      s.ref();
      s.write(prefixLines(body, priority), (err) => {
        this.unconfirmed.delete(id);
        // journald's socket refused or dropped the connection (ECONNREFUSED, EPIPE): the line
        // goes to stderr as with no journal at all, never silently nowhere.
        if (err) writeAllSync(2, line);
        if (--this.pending > 0) return;
        for (const x of this.sockets.values()) x.unref();
        for (const done of this.idle.splice(0)) done();
      });
      return 1;
    }
    writeAllSync(2, line);
    return 0;
  }

  /**
   * At exit, entries whose write to journald's stream socket had not completed (pure Node
   * connects asynchronously: a process.exit() in the same tick never reaches journald) are
   * written to stderr synchronously rather than lost; under systemd stderr is usually the journal.
   */
  private watchExit(): void {
    if (this.exitHook) return;
    this.exitHook = true;
    process.once('exit', () => {
      if (this.unconfirmed.size === 0) return;
      const lines = [...this.unconfirmed.values()];
      this.unconfirmed.clear();
      // Every byte, however slowly stderr's reader takes them (one writeSync to a non-blocking
      // pipe writes what fits, ~64 KiB, and drops the rest).
      writeAllSync(2, `libsystemd: ${lines.length} journal entries had not reached journald's stream socket at exit; here they are on stderr:\n${lines.join('')}`);
    });
  }

  private socket(identifier: string): Socket {
    let s = this.sockets.get(identifier);
    if (!s || s.destroyed) {
      s = connectStream(identifier, 6, true);
      s.on('error', () => this.sockets.delete(identifier));
      // Never keep a process alive just for logging.
      s.unref();
      this.sockets.set(identifier, s);
    }
    return s;
  }
}
