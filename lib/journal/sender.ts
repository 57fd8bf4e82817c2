/**
 * Sends framed journal entries without ever blocking the event loop: a non-blocking AF_UNIX
 * datagram socket, and on EAGAIN (journald's queue is full, e.g. while it is stopped) an ordered
 * in-memory queue, bounded, flushed by a timer. Entries too large for one datagram go through a
 * sealed memfd, as libsystemd does. Past the bound, losses are counted and reported once per
 * episode, never silently.
 */
import { SOCK_DGRAM, SOL_SOCKET, SO_SNDBUF, SO_SNDBUFFORCE } from '../backend';
import { E } from '../errors';
import type { NativeBinding } from '../native';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';
const ADDR = Buffer.from(JOURNAL_SOCKET);
const EMSGSIZE = 90;
const ENOBUFS = 105;
const ECONNREFUSED = 111;

/** Counters a caller can read with journal.stats(). */
export interface JournalStats {
  /** Entries handed to journald. */
  readonly sent: number;
  /** Entries waiting in memory for journald to accept them. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Entries lost: the queue was full, or journald did not come back in time. */
  readonly dropped: number;
  /** Entries that went through a sealed memfd (too large for one datagram). */
  readonly viaMemfd: number;
}

export interface SenderOptions {
  /** Memory bound of the queue (bytes). Default 16 MiB. */
  maxQueueBytes: number;
  /** Give up on a queue that made no progress for this long (ms). Default 30 s. */
  maxStallMs: number;
}

interface Pending {
  readonly chunks: Buffer[];
  readonly bytes: number;
}

function total(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

export class NativeJournalSender {
  private fd = -1;
  private readonly queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastProgress = 0;
  private warnedEpisode = false;
  private counters = { sent: 0, dropped: 0, viaMemfd: 0 };
  readonly options: SenderOptions = { maxQueueBytes: 16 << 20, maxStallMs: 30_000 };

  constructor(private readonly n: NativeBinding) {}

  private socket(): number {
    if (this.fd >= 0) return this.fd;
    const fd = this.n.unix_socket(SOCK_DGRAM, true);
    if (fd < 0) return fd;
    // As libsystemd: a large send buffer lets big entries go in one datagram.
    if (this.n.setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20) < 0) this.n.setsockopt_int(fd, SOL_SOCKET, SO_SNDBUF, 8 << 20);
    this.fd = fd;
    return fd;
  }

  /** One attempt: >= 0 sent, -EAGAIN to retry later, other -errno final. */
  private attempt(chunks: readonly Buffer[]): number {
    const fd = this.socket();
    if (fd < 0) return fd;
    const rc = this.n.unix_sendmsg(fd, ADDR, chunks, null);
    if (rc >= 0) return rc;
    if (rc !== -EMSGSIZE && rc !== -ENOBUFS) return rc;
    // Too large for a datagram: the same bytes in a sealed memfd, passed as the only content.
    const mfd = this.n.memfd_sealed('journal-entry', chunks);
    if (mfd < 0) return mfd;
    try {
      const r = this.n.unix_sendmsg(fd, ADDR, [], [mfd]);
      if (r >= 0) this.counters.viaMemfd++;
      return r;
    } finally {
      this.n.close(mfd);
    }
  }

  /**
   * Sends or queues one framed entry: 1 handed over or queued, 0 no journal socket (ENOENT,
   * as libsystemd), -errno for a failure the caller should see (e.g. ECONNREFUSED).
   */
  send(chunks: Buffer[]): number {
    if (this.queue.length > this.head) return this.enqueue(chunks);
    const rc = this.attempt(chunks);
    if (rc >= 0) {
      this.counters.sent++;
      return 1;
    }
    if (rc === -E.EAGAIN) return this.enqueue(chunks);
    if (rc === -E.ENOENT) return 0;
    return rc;
  }

  private enqueue(chunks: Buffer[]): number {
    const bytes = total(chunks);
    if (this.queuedBytes + bytes > this.options.maxQueueBytes) {
      this.counters.dropped++;
      if (!this.warnedEpisode) {
        this.warnedEpisode = true;
        process.emitWarning(`libsystemd: journald is not accepting entries and the queue is full (${this.queuedBytes} bytes); entries are being dropped and counted (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
      }
      return 1;
    }
    // The caller may reuse its Buffers: keep our own copy of what is queued.
    this.queue.push({ chunks: [Buffer.concat(chunks, bytes)], bytes });
    this.queuedBytes += bytes;
    if (!this.timer) {
      this.lastProgress = Date.now();
      this.schedule(1);
    }
    return 1;
  }

  private schedule(ms: number): void {
    // Ref'd while entries wait, so a process that finishes normally still flushes them.
    this.timer = setTimeout(() => this.flush(), ms);
  }

  private flush(): void {
    this.timer = undefined;
    let progressed = false;
    while (this.head < this.queue.length) {
      const p = this.queue[this.head]!;
      const rc = this.attempt(p.chunks);
      if (rc === -E.EAGAIN || rc === -E.ENOENT || rc === -ECONNREFUSED) break; // journald busy, or restarting
      if (rc >= 0) this.counters.sent++;
      else this.counters.dropped++;
      this.queuedBytes -= p.bytes;
      this.head++;
      progressed = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.warnedEpisode = false;
      return;
    }
    const now = Date.now();
    if (progressed) this.lastProgress = now;
    if (now - this.lastProgress > this.options.maxStallMs) {
      const lost = this.queue.length - this.head;
      this.counters.dropped += lost;
      process.emitWarning(`libsystemd: journald accepted nothing for ${this.options.maxStallMs} ms; ${lost} queued entries dropped (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
      this.queue.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
      return;
    }
    this.schedule(progressed ? 1 : 10);
  }

  stats(): JournalStats {
    return { ...this.counters, queued: this.queue.length - this.head, queuedBytes: this.queuedBytes };
  }
}
