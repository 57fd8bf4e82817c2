/**
 * Writing all of a text to a file descriptor synchronously, whatever the descriptor is: a pipe
 * that libuv made non-blocking answers a big write with a partial count and then EAGAIN, and a
 * process about to exit has no event loop left to finish the write. Used for the loggers'
 * stderr fallback (no journal at all) and the reports written at exit.
 */
import { writeSync } from 'node:fs';

/** How long one write waits for a reader that takes nothing at all before giving up (bounded). */
export const WRITE_ALL_PATIENCE_MS = 10_000;

let sleeper: Int32Array | undefined;
/** Sleeps `ms` without an event loop (Atomics.wait works on every thread, the main one included). */
function sleep(ms: number): void {
  try {
    sleeper ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(sleeper, 0, 0, ms);
  } catch {
    // A runtime that refuses Atomics.wait here: spin for the same short while.
    const until = Date.now() + ms;
    while (Date.now() < until);
  }
}

/**
 * Writes every byte of `data` to `fd`: loops on partial writes, and on EAGAIN waits (1 ms, then
 * up to 20 ms between tries) for the reader, giving up only after `patienceMs` without any
 * progress. Returns the bytes written (less than the length only when the reader took nothing
 * for `patienceMs`, or the descriptor failed, e.g. EPIPE: nobody reads any more).
 */
export function writeAllSync(fd: number, data: string | Buffer, patienceMs = WRITE_ALL_PATIENCE_MS): number {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  let waitMs = 1;
  let stalledSince = 0;
  while (off < buf.length) {
    let n: number;
    try {
      n = writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') return off;
      n = 0;
    }
    if (n > 0) {
      off += n;
      waitMs = 1;
      stalledSince = 0;
      continue;
    }
    const now = Date.now();
    if (stalledSince === 0) stalledSince = now;
    else if (now - stalledSince >= patienceMs) return off;
    sleep(waitMs);
    waitMs = Math.min(waitMs * 2, 20);
  }
  return off;
}
