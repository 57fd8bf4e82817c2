/**
 * Sends framed journal entries without ever blocking the event loop: a non-blocking AF_UNIX
 * datagram socket, and on EAGAIN (journald's queue is full, e.g. while it is stopped) an ordered
 * in-memory queue, bounded, flushed by a timer. Entries too large for one datagram go through a
 * sealed memfd, as libsystemd does. Past the bound, losses are counted and reported once per
 * episode, never silently.
 */
import { writeSync } from 'node:fs';
import { E } from '../errors';
import { datagramSocket } from '../js/transport';
import type { NativeBinding, PollWatcher } from '../native';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';
const ADDR = Buffer.from(JOURNAL_SOCKET);

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

/** A framed entry waiting for journald (our own copy). */
type Pending = Buffer;

export class NativeJournalSender {
  /** Non-blocking, connected to journald's socket: poll()ing it for POLLOUT tracks journald's queue. */
  private fd = -1;
  private readonly queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private watcher: PollWatcher | undefined;
  private retry: NodeJS.Timeout | undefined;
  private giveUp: NodeJS.Timeout | undefined;
  private lastProgress = 0;
  private exitHook = false;
  private warnedEpisode = false;
  private counters = { sent: 0, dropped: 0, viaMemfd: 0 };
  /** journald accepted an entry from us before: a vanished socket then means a restart. */
  private everSent = false;
  readonly options: SenderOptions = { maxQueueBytes: 16 << 20, maxStallMs: 30_000 };

  constructor(private readonly n: NativeBinding) {}

  private connect(): number {
    if (this.fd >= 0) return this.fd;
    const fd = datagramSocket(this.n, true);
    if (fd < 0) return fd;
    const rc = this.n.unix_connect(fd, ADDR);
    if (rc < 0) {
      this.n.close(fd);
      return rc;
    }
    this.fd = fd;
    return fd;
  }

  /** Forgets the connection (journald went away; its next socket is a new one). */
  private disconnect(): void {
    this.unwatch();
    if (this.fd >= 0) this.n.close(this.fd);
    this.fd = -1;
  }

  private sendmsg(entry: Buffer | readonly Buffer[], fds: readonly number[] | null): number {
    let fd = this.connect();
    if (fd < 0) return fd;
    let rc = this.n.unix_sendmsg(fd, null, entry, fds);
    if (rc === -E.ECONNREFUSED || rc === -E.ENOTCONN) {
      // journald restarted: connect to the socket that is there now.
      this.disconnect();
      fd = this.connect();
      if (fd < 0) return fd;
      rc = this.n.unix_sendmsg(fd, null, entry, fds);
    }
    return rc;
  }

  /** One attempt: >= 0 sent, -EAGAIN to retry later, other -errno final. */
  private attempt(entry: Buffer): number {
    const rc = this.sendmsg(entry, null);
    if (rc >= 0 || (rc !== -E.EMSGSIZE && rc !== -E.ENOBUFS)) return rc;
    // Too large for a datagram: the same bytes in a sealed memfd, passed as the only content.
    const mfd = this.n.memfd_sealed('journal-entry', entry);
    if (mfd < 0) return mfd;
    try {
      const r = this.sendmsg([], [mfd]);
      if (r >= 0) this.counters.viaMemfd++;
      return r;
    } finally {
      this.n.close(mfd);
    }
  }

  /**
   * Sends or queues one framed entry (it may be a reused buffer: it is copied if queued): 1 handed over or queued, 0 no journal socket (ENOENT,
   * as libsystemd), -errno for a failure the caller should see (e.g. ECONNREFUSED).
   */
  send(entry: Buffer): number {
    if (this.queue.length > this.head) return this.enqueue(entry);
    const rc = this.attempt(entry);
    if (rc >= 0) {
      this.counters.sent++;
      this.everSent = true;
      return 1;
    }
    if (rc === -E.EAGAIN) return this.enqueue(entry);
    // journald was there and is gone (restarting): keep the entry for the new one. A journald
    // that never comes back is given up after maxStallMs, counted and reported once.
    if (this.everSent && (rc === -E.ENOENT || rc === -E.ECONNREFUSED)) {
      this.disconnect();
      return this.enqueue(entry);
    }
    if (rc === -E.ENOENT) return 0;
    return rc;
  }

  private enqueue(entry: Buffer): number {
    const bytes = entry.length;
    if (this.queuedBytes + bytes > this.options.maxQueueBytes) {
      this.counters.dropped++;
      if (!this.warnedEpisode) {
        this.warnedEpisode = true;
        process.emitWarning(`libsystemd: journald is not accepting entries and the queue is full (${this.queuedBytes} bytes); entries are being dropped and counted (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
      }
      return 1;
    }
    // The entry may be a view of a reused buffer: keep our own copy of what is queued.
    this.queue.push(Buffer.from(entry));
    this.queuedBytes += bytes;
    if (this.queue.length - this.head === 1) {
      this.lastProgress = Date.now();
      this.wait();
    }
    return 1;
  }

  /**
   * Waits for journald to have room: libuv watches the connected socket for POLLOUT (no timer,
   * no thread); while there is no socket to watch (journald restarting) a short timer retries.
   * The watcher is ref'd while entries wait, so a finishing process flushes them to a slow
   * journald first; the timers are not, so a journald that is gone does not hold the process.
   * After maxStallMs without progress the queue is given up (counted, warned).
   */
  private wait(): void {
    if (!this.exitHook) {
      // Entries still waiting when the process exits are counted and reported.
      this.exitHook = true;
      process.once('exit', () => {
        const left = this.queue.length - this.head;
        if (left > 0) writeSync(2, `libsystemd: ${left} journal entries were still waiting for journald at exit and are lost\n`);
      });
    }
    // Unref'd: a finishing process waits for a slow journald (the poll watcher below is ref'd),
    // not for one that is gone.
    if (!this.giveUp) this.giveUp = setTimeout(() => this.checkStall(), this.options.maxStallMs).unref();
    if (this.fd >= 0 && !this.watcher) {
      const w = this.n.poll_start(this.fd, true, () => this.flush());
      if (w > 0) {
        this.watcher = w;
        return;
      }
    }
    if (!this.watcher && !this.retry) this.retry = setTimeout(() => ((this.retry = undefined), this.flush()), 20).unref();
  }

  private unwatch(): void {
    if (this.watcher) this.n.poll_stop(this.watcher);
    this.watcher = undefined;
  }

  private flush(): void {
    while (this.head < this.queue.length) {
      const p = this.queue[this.head]!;
      const rc = this.attempt(p);
      if (rc === -E.EAGAIN) {
        // Wait for room: the watcher may not exist yet (after a reconnect, on a new socket).
        this.wait();
        return;
      }
      if (rc === -E.ENOENT || rc === -E.ECONNREFUSED) {
        // journald is restarting: no socket to watch; retry shortly.
        this.disconnect();
        this.wait();
        return;
      }
      if (rc >= 0) {
        this.counters.sent++;
        this.everSent = true;
      } else this.counters.dropped++;
      this.queuedBytes -= p.length;
      this.head++;
      this.lastProgress = Date.now();
    }
    this.queue.length = 0;
    this.head = 0;
    this.warnedEpisode = false;
    this.unwatch();
    if (this.giveUp) clearTimeout(this.giveUp);
    this.giveUp = undefined;
  }

  private checkStall(): void {
    this.giveUp = undefined;
    if (this.head >= this.queue.length) return;
    const idle = Date.now() - this.lastProgress;
    if (idle < this.options.maxStallMs) {
      this.giveUp = setTimeout(() => this.checkStall(), this.options.maxStallMs - idle).unref();
      return;
    }
    const lost = this.queue.length - this.head;
    this.counters.dropped += lost;
    process.emitWarning(`libsystemd: journald accepted nothing for ${this.options.maxStallMs} ms; ${lost} queued entries dropped (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.unwatch();
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  stats(): JournalStats {
    return { ...this.counters, queued: this.queue.length - this.head, queuedBytes: this.queuedBytes };
  }
}
