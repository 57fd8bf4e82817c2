/**
 * The journal without datagrams: $JOURNAL_STREAM detection, the stdout stream protocol header,
 * and the node transport's fallback (journald's stream socket with <N> prefixes, <N>-prefixed
 * stderr when stderr already is the journal, readable lines when there is no journal). Custom
 * fields are appended to the text as KEY=value, so nothing is lost without a trace.
 */
import { existsSync, fstatSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { invalidValue } from '../errors';

export const STDOUT_SOCKET = '/run/systemd/journal/stdout';

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

/** Validates an identifier for the stream header (journald ends the stream at a newline or NUL; lines are at most 255 bytes). */
export function checkIdentifier(identifier: string): string {
  if (/[\n\0]/.test(identifier) || Buffer.byteLength(identifier) > 254) {
    throw invalidValue('identifier', `must be at most 254 bytes without newline or NUL, received ${JSON.stringify(identifier.slice(0, 80))}`);
  }
  return identifier;
}

/** The stdout stream protocol header, byte for byte as sd_journal_stream_fd writes it. */
export function streamHeader(identifier: string | null, priority: number, levelPrefix: boolean): Buffer {
  return Buffer.from(`${identifier ?? ''}\n\n${priority}\n${levelPrefix ? 1 : 0}\n0\n0\n0\n`);
}

/**
 * A connection to journald's stream socket. journald shuts down its sending side at once; with
 * Node's default (allowHalfOpen: false) that EOF would make Node end our side too, and every
 * later write would fail with EPIPE.
 */
export function connectStream(): Socket {
  // node:net is loaded on first use (it costs start-up time most processes do not need to pay).
  const { createConnection } = require('node:net') as typeof import('node:net');
  return createConnection({ path: STDOUT_SOCKET, allowHalfOpen: true });
}

/** A value for the text of a line: printable as is, quoted when it has spaces, hex when binary. */
function textValue(v: Buffer): string {
  const s = v.toString('utf8');
  if (!Buffer.from(s).equals(v) || /[\x00-\x08\x0e-\x1f]/.test(s)) return `0x${v.toString('hex')}`;
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

const NAMES = ['EMERG', 'ALERT', 'CRIT', 'ERR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];

/** Where entries go when no datagram can be sent, chosen once (and again if it breaks). */
export class StreamFallback {
  private sockets = new Map<string, Socket>();
  private pending = 0;
  private idle: (() => void)[] = [];
  /** Readable lines of entries not yet confirmed written to journald's socket. */
  private unconfirmed = new Map<number, string>();
  private nextId = 0;
  private exitHook = false;

  /** Resolves once every line written so far has been handed to journald's socket. */
  flush(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** Writes one entry as text. Returns true when journald will store it. */
  write(list: readonly [string, Buffer][], defaultIdentifier: string): boolean {
    let message = '';
    let priority = 6;
    let identifier = defaultIdentifier;
    const extra: string[] = [];
    for (const [name, value] of list) {
      if (name === 'MESSAGE') message = value.toString();
      else if (name === 'PRIORITY' && /^[0-7]$/.test(value.toString())) priority = Number(value.toString());
      else if (name === 'SYSLOG_IDENTIFIER') identifier = value.toString();
      else extra.push(`${name}=${textValue(value)}`);
    }
    const body = [message.replace(/\n+$/, ''), ...extra].filter((s) => s !== '').join(' ');
    if (fdIsJournal(2)) {
      process.stderr.write(prefixLines(body, priority));
      return true;
    }
    // A line for a person (the caller's source location left out): stderr's when there is no
    // journal at all, and the exit fallback's for entries that never reached journald.
    const readable = [message.replace(/\n+$/, ''), ...extra.filter((f) => !/^CODE_(FILE|LINE|FUNC)=/.test(f))].filter((x) => x !== '').join(' ');
    const line = `${NAMES[priority]} ${identifier}: ${readable.replace(/\n/g, '\n  ')}\n`;
    if (existsSync(STDOUT_SOCKET)) {
      const s = this.socket(identifier.replace(/[\n\0]/g, ' ').slice(0, 254));
      // Held open while a write is pending, so a process that ends naturally delivers it first;
      // what is still unconfirmed at exit goes to stderr, synchronously (see watchExit).
      this.pending++;
      const id = this.nextId++;
      this.unconfirmed.set(id, line);
      this.watchExit();
      s.ref();
      s.write(prefixLines(body, priority), () => {
        this.unconfirmed.delete(id);
        if (--this.pending > 0) return;
        for (const x of this.sockets.values()) x.unref();
        for (const done of this.idle.splice(0)) done();
      });
      return true;
    }
    process.stderr.write(line);
    return false;
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
      try {
        writeSync(2, `libsystemd: ${lines.length} journal entries had not reached journald's stream socket at exit; here they are on stderr:\n${lines.join('')}`);
      } catch {
        // stderr is gone too: nothing left to write to
      }
    });
  }

  private socket(identifier: string): Socket {
    let s = this.sockets.get(identifier);
    if (!s || s.destroyed) {
      s = connectStream();
      s.on('error', () => this.sockets.delete(identifier));
      s.write(streamHeader(identifier, 6, true));
      // Never keep a process alive just for logging.
      s.unref();
      this.sockets.set(identifier, s);
    }
    return s;
  }
}

/** `<N>` before every line (journald splits a stream at newlines). */
function prefixLines(text: string, priority: number): string {
  return `${text.split('\n').map((l) => `<${priority}>${l}`).join('\n')}\n`;
}
