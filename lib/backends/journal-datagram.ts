/**
 * The journal sender: a thin layer over the addon's queue (src/journal_queue.cc). Each call is
 * one non-blocking sendmsg; what journald cannot take yet waits in an ordered native queue that
 * libuv drains without entering JavaScript. Past the memory bound the call waits for room while
 * journald makes progress (as C's sd_journal_send blocks); only a journald that accepts nothing
 * for `maxBlockMs` costs entries, counted and warned once per episode. At every exit path (natural
 * end, process.exit(), an uncaught exception, a worker's end or terminate()) the addon drains the
 * queue synchronously, for up to `exitTimeoutMs` without progress, and reports what is left.
 */
import type { NativeBinding } from '../addon';
import { E, SystemdError } from '../errors';
import { JOURNAL_SOCKET } from '../protocol/journal';
import { JOURNAL_QUEUE_DEFAULTS, type JournalQueueOptions, type JournalSink, type JournalStats } from './contract';
import { writeReadable } from './journal-text';
import { longTimeout, type LongTimer } from '../timers';

interface NativeStats extends JournalStats {
  readonly accepted: number;
  readonly done: number;
}

interface Waiter {
  readonly target: number;
  readonly resolve: (stats: JournalStats) => void;
  timer?: LongTimer;
}

const EVENT_DONE = 1;
const EVENT_GAVE_UP = 2;
const DROPPED_WARN = 2;
const QUEUED = 3;
/** How often JavaScript pumps the queue where the runtime's Node-API has no working libuv. */
const PUMP_MS = 5;

/**
 * Bun's Node-API has no libuv poll handles (it aborts), and Deno's never delivers their events:
 * there JavaScript drives the same native queue with a timer.
 */
export const RUNTIME_HAS_LIBUV = !(process.versions as Record<string, string | undefined>).bun && !(process.versions as Record<string, string | undefined>).deno;

export class JournalDatagramSender implements JournalSink {
  private readonly waiters: Waiter[] = [];
  private pumping: NodeJS.Timeout | undefined;
  readonly options: JournalQueueOptions = { ...JOURNAL_QUEUE_DEFAULTS };

  constructor(private readonly n: NativeBinding) {
    n.jq_init(Buffer.from(JOURNAL_SOCKET), (kind, value) => this.onEvent(kind, value), RUNTIME_HAS_LIBUV);
    // Node drains at exit from native code (the cleanup hook, atexit), after every 'exit'
    // listener; Bun's process.exit() runs no atexit handler, so there the drain is a listener.
    if (!RUNTIME_HAS_LIBUV) process.once('exit', () => n.jq_exit_drain());
  }

  /** Many framed entries in order (see JournalSink.sendMany): runs of them go out with one sendmmsg. */
  sendMany(entries: Buffer, ends: Uint32Array, count: number, orStderr: boolean): number {
    const r = this.n.jq_send_many(entries, ends, count);
    if (typeof r === 'number') return 0;
    let failed = 0;
    for (let i = 0; i < r.length; i++) {
      if (r[i] === 0 && orStderr) writeReadable(entries.subarray(i === 0 ? 0 : ends[i - 1], ends[i]));
      if (this.result(r[i]!) < 0) failed++;
    }
    return failed;
  }

  /**
   * Sends or queues one framed entry (a reused buffer is fine: a queued entry is copied): 1 handed
   * over, queued or counted, 0 no journal socket (ENOENT, as libsystemd), -errno otherwise.
   */
  send(entry: Buffer, orStderr: boolean): number {
    const rc = this.n.jq_send(entry);
    if (rc === 0 && orStderr) writeReadable(entry);
    return rc === 1 ? rc : this.result(rc);
  }

  /** What one entry's result from the addon means here (pumping, the drop warning). */
  private result(rc: number): number {
    if (rc === QUEUED) {
      this.startPump();
      return 1;
    }
    if (rc === DROPPED_WARN) {
      process.emitWarning(`libsystemd: journald accepted nothing for ${this.options.maxBlockMs} ms while the journal queue was full (${this.options.maxQueueBytes} bytes); entries are being dropped and counted (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
      return 1;
    }
    return rc;
  }

  configure(options: Partial<JournalQueueOptions>): void {
    Object.assign(this.options, options);
    const o = this.options;
    this.n.jq_configure(o.maxQueueBytes, o.maxStallMs, o.maxBlockMs, o.exitTimeoutMs);
  }

  /** Without libuv: flushes one wake's worth every PUMP_MS while entries wait (unref'd unless a flush waits). */
  private startPump(): void {
    if (this.pumping) return;
    this.pumping = setInterval(() => {
      const [queued, lost, done] = this.n.jq_pump();
      if (lost > 0) this.onEvent(EVENT_GAVE_UP, lost);
      this.settle(done);
      if (queued === 0 && this.pumping) {
        clearInterval(this.pumping);
        this.pumping = undefined;
      }
    }, PUMP_MS);
    if (this.waiters.length === 0) this.pumping.unref();
  }

  /** Resolves once every entry accepted so far has left the process (delivered, or dropped and counted). */
  flush(timeoutMs?: number): Promise<JournalStats> {
    const { accepted: target, done } = this.rawStats();
    if (done >= target) return Promise.resolve(this.stats());
    if (this.waiters.length === 0 && this.n.jq_notify_at(target)) return Promise.resolve(this.stats());
    return new Promise((resolve, reject) => {
      const w: Waiter = { target, resolve };
      this.waiters.push(w);
      // Where JavaScript pumps, the pump keeps the process alive while someone waits.
      if (!RUNTIME_HAS_LIBUV) {
        this.startPump();
        this.pumping?.ref();
      }
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        // Any length: setTimeout would fire 2 ** 31 ms at once.
        w.timer = longTimeout(timeoutMs, () => {
          this.remove(w);
          const { queued } = this.stats();
          reject(new SystemdError(-E.ETIMEDOUT, 'journal.flush', `${queued} entries still queued after ${timeoutMs} ms`));
        });
      }
    });
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    this.rearm();
  }

  /** Points the addon at the oldest waiter's target (0: nobody waits, the loop may end). */
  private rearm(): void {
    while (this.waiters.length > 0) {
      if (!this.n.jq_notify_at(this.waiters[0]!.target)) return;
      this.settle(this.rawStats().done);
    }
    this.n.jq_notify_at(0);
  }

  private settle(done: number): void {
    let resolved = false;
    while (this.waiters.length > 0 && this.waiters[0]!.target <= done) {
      const w = this.waiters.shift()!;
      w.timer?.cancel();
      w.resolve(this.stats());
      resolved = true;
    }
    if (resolved) this.rearm();
    if (this.waiters.length === 0) this.pumping?.unref();
  }

  private onEvent(kind: number, value: number): void {
    if (kind === EVENT_DONE) this.settle(value);
    else if (kind === EVENT_GAVE_UP) {
      process.emitWarning(`libsystemd: journald accepted nothing for ${this.options.maxStallMs} ms; ${value} queued entries dropped (journal.stats().dropped)`, { code: 'LIBSYSTEMD_JOURNAL_DROPPED' });
      this.settle(this.rawStats().done);
    }
  }

  private rawStats(): NativeStats {
    return this.n.jq_stats() as NativeStats;
  }

  stats(): JournalStats {
    const { sent, queued, queuedBytes, dropped, viaMemfd, blockedCalls, blockedMs } = this.rawStats();
    return { sent, queued, queuedBytes, dropped, viaMemfd, blockedCalls, blockedMs };
  }
}

let sender: JournalDatagramSender | undefined;
/** The thread's one sender (the addon keeps one queue per environment), made on first use. */
export function journalDatagramSender(n: NativeBinding): JournalDatagramSender {
  return (sender ??= new JournalDatagramSender(n));
}
