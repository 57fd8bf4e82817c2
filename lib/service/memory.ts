/**
 * Memory pressure (systemd 254+, MemoryPressureWatch=): systemd names a PSI file (the unit's
 * cgroup memory.pressure) or a socket in $MEMORY_PRESSURE_WATCH and the trigger to write to it in
 * $MEMORY_PRESSURE_WRITE (base64). The kernel (or the socket's peer) wakes us when tasks stall on
 * memory for more than the threshold within the window; the handler runs, at most once per window,
 * as sd_event_add_memory_pressure does. The PSI file is watched for POLLPRI by the addon's libuv
 * watcher; a socket by Node.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync, statfsSync, statSync, writeSync, type Stats } from 'node:fs';
import { impl } from '../backends/select';
import { errnoOf, invalidType, invalidValue, SystemdError } from '../errors';
import { ServiceError } from './errors';

/** As journal-datagram.ts: whether the runtime's Node-API has working libuv poll handles (not Bun, not Deno). */
const RUNTIME_HAS_LIBUV = !(process.versions as Record<string, string | undefined>).bun && !(process.versions as Record<string, string | undefined>).deno;
const UV_READABLE = 1;
const UV_PRIORITIZED = 8;
/** The file systems a PSI file lives on (PROC_SUPER_MAGIC, CGROUP2_SUPER_MAGIC). */
const PSI_FS = new Set([0x9fa0, 0x63677270]);
/** systemd's defaults (MEMORY_PRESSURE_DEFAULT_*): 200 ms of "some" stall per 2 s window. */
const DEFAULT_STALL_USEC = 200_000;
const DEFAULT_WINDOW_USEC = 2_000_000;

export interface MemoryPressureOptions {
  /** Override the trigger: `{ stallMs, windowMs }` ("some" stall time within each window). */
  readonly threshold?: { readonly stallMs: number; readonly windowMs?: number };
}

export interface MemoryPressureHandle {
  /** Whether pressure is being watched. */
  readonly active: boolean;
  /** Why not, when not active. */
  readonly reason?: string;
  close(): void;
}

function trigger(options: MemoryPressureOptions): { bytes: Buffer; windowMs: number } {
  const t = options.threshold;
  if (t !== undefined) {
    if (t === null || typeof t !== 'object') throw invalidType('options.threshold', 'an object ({ stallMs, windowMs })', t);
    const windowMs = t.windowMs ?? DEFAULT_WINDOW_USEC / 1000;
    if (typeof windowMs !== 'number' || !(windowMs >= 500 && windowMs <= 10_000)) throw invalidValue('options.threshold.windowMs', `must be 500-10000 ms (the kernel's PSI window limits), received ${String(windowMs)}`);
    if (typeof t.stallMs !== 'number' || !(t.stallMs > 0 && t.stallMs <= windowMs)) throw invalidValue('options.threshold.stallMs', `must be more than 0 and at most windowMs, received ${String(t.stallMs)}`);
    return { bytes: Buffer.from(`some ${Math.round(t.stallMs * 1000)} ${Math.round(windowMs * 1000)}\0`), windowMs };
  }
  const w = process.env.MEMORY_PRESSURE_WRITE;
  if (w !== undefined && w !== '') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(w)) throw new ServiceError('ERR_LIBSYSTEMD_MEMORY_PRESSURE', `MEMORY_PRESSURE_WRITE is not base64: ${JSON.stringify(w.slice(0, 60))}`);
    const bytes = Buffer.from(w, 'base64');
    const m = /^(?:some|full) \d+ (\d+)/.exec(bytes.toString('latin1'));
    return { bytes, windowMs: m ? Number(m[1]) / 1000 : DEFAULT_WINDOW_USEC / 1000 };
  }
  return { bytes: Buffer.from(`some ${DEFAULT_STALL_USEC} ${DEFAULT_WINDOW_USEC}\0`), windowMs: DEFAULT_WINDOW_USEC / 1000 };
}

/**
 * Calls `handler` when this service's memory is under pressure (free caches, shed load…).
 * Returns an inactive handle with the reason where systemd does not watch (before v254, or
 * MemoryPressureWatch=off), or where the runtime cannot watch a PSI file or FIFO (Bun, Deno: only a
 * socket) — nothing is thrown for that.
 * @throws ServiceError `ERR_LIBSYSTEMD_MEMORY_PRESSURE` for malformed MEMORY_PRESSURE_* variables, and for a
 *   MEMORY_PRESSURE_WATCH that is not a PSI file (procfs/cgroupfs), a FIFO, a character device or a socket
 *   (refused before anything is written, as sd_event_add_memory_pressure does).
 */
export function onMemoryPressure(handler: () => unknown, options: MemoryPressureOptions = {}): MemoryPressureHandle {
  if (typeof handler !== 'function') throw invalidType('handler', 'a function', handler);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const watch = process.env.MEMORY_PRESSURE_WATCH;
  const { bytes, windowMs } = trigger(options);
  if (watch === undefined || watch === '') return { active: false, reason: 'MEMORY_PRESSURE_WATCH is not set: systemd 254+ sets it for services (MemoryPressureWatch=auto on a cgroup with memory accounting)', close() {} };
  if (watch === '/dev/null') return { active: false, reason: 'MEMORY_PRESSURE_WATCH=/dev/null: the unit turned it off (MemoryPressureWatch=off)', close() {} };
  if (!watch.startsWith('/')) throw new ServiceError('ERR_LIBSYSTEMD_MEMORY_PRESSURE', `MEMORY_PRESSURE_WATCH must be an absolute path, received ${JSON.stringify(watch.slice(0, 80))}`);

  let last = 0;
  const fire = (): void => {
    const now = Date.now();
    if (now - last < windowMs) return;
    last = now;
    Promise.resolve()
      .then(handler)
      .catch((err: unknown) => process.emitWarning(`libsystemd: the memory pressure handler failed: ${err instanceof Error ? err.message : String(err)}`, { code: 'LIBSYSTEMD_MEMORY_PRESSURE' }));
  };

  // What sd_event_add_memory_pressure accepts: a socket (connected to), a FIFO or character
  // device (EPOLLIN), or a regular file on procfs or cgroupfs (a PSI file: EPOLLPRI). Anything
  // else is refused before a byte is written: a regular file elsewhere would be overwritten.
  let st: Stats;
  try {
    st = statSync(watch);
  } catch (err) {
    throw new SystemdError(errnoOf(err), 'stat', `MEMORY_PRESSURE_WATCH=${watch}`);
  }
  if (st.isSocket()) return socketWatch(watch, bytes, fire);
  refuseKind(st, watch);
  // Bun's Node-API aborts the process on a libuv poll handle and Deno's never delivers its events.
  if (!RUNTIME_HAS_LIBUV) return { active: false, reason: `${process.versions.bun !== undefined ? 'Bun' : 'Deno'} cannot watch a file for POLLPRI (its Node-API has no libuv poll handle): only a socket in MEMORY_PRESSURE_WATCH is watched there`, close() {} };
  let fd: number;
  try {
    fd = openSync(watch, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Replaced by a socket in between: connect to it instead.
    if (e.code === 'ENXIO' || e.code === 'EOPNOTSUPP') return socketWatch(watch, bytes, fire);
    throw new SystemdError(errnoOf(e), 'open', `MEMORY_PRESSURE_WATCH=${watch}`);
  }
  let psi: boolean;
  try {
    // Checked again on what was opened (the path may have changed in between).
    const opened = fstatSync(fd);
    refuseKind(opened, watch);
    psi = opened.isFile();
    if (psi && !PSI_FS.has(Number(statfsSync(`/proc/self/fd/${fd}`).type))) {
      throw new ServiceError('ERR_LIBSYSTEMD_MEMORY_PRESSURE', `MEMORY_PRESSURE_WATCH=${watch} is a regular file outside procfs and cgroupfs, not a PSI file: refused before writing the trigger to it (sd_event_add_memory_pressure says ENOTTY)`);
    }
  } catch (err) {
    closeSync(fd);
    if (err instanceof ServiceError) throw err;
    throw new SystemdError(errnoOf(err), 'fstat', `MEMORY_PRESSURE_WATCH=${watch}`);
  }
  // Write the trigger: for a PSI file the kernel then signals POLLPRI for each crossing; a FIFO
  // or character device signals readable whenever its peer writes.
  try {
    writeSync(fd, bytes);
  } catch (err) {
    closeSync(fd);
    const e = err as NodeJS.ErrnoException;
    throw new SystemdError(errnoOf(e), 'write', `the trigger to ${watch} (PSI needs a kernel with CONFIG_PSI and a writable pressure file)`);
  }
  const calls = impl.sockets;
  if (!calls) {
    closeSync(fd);
    return { active: false, reason: 'the native addon is not loaded: a PSI file can only be watched for POLLPRI through it', close() {} };
  }
  const drain = Buffer.alloc(512);
  const onEvent = psi
    ? fire
    : (): void => {
        // Level-triggered: read what the peer wrote (each wake-up is one event) until EAGAIN.
        try {
          while (readSync(fd, drain) > 0);
        } catch {
          // EAGAIN: drained
        }
        fire();
      };
  const w = calls.watch(fd, onEvent, psi ? UV_PRIORITIZED : UV_READABLE);
  if (w < 0) {
    closeSync(fd);
    throw new SystemdError(w, 'uv_poll_start', watch);
  }
  let open = true;
  return {
    active: true,
    close() {
      if (!open) return;
      open = false;
      calls.unwatch(w);
      closeSync(fd);
    },
  };
}

/** sd-event's rule: a directory (EISDIR) and anything but a regular file, FIFO or character device (EBADF) is refused. */
function refuseKind(st: Stats, watch: string): void {
  if (st.isFile() || st.isFIFO() || st.isCharacterDevice()) return;
  const kind = st.isDirectory() ? 'a directory' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket that changed while it was opened' : 'not a file';
  throw new ServiceError('ERR_LIBSYSTEMD_MEMORY_PRESSURE', `MEMORY_PRESSURE_WATCH=${watch} is ${kind}: systemd names a PSI file, a FIFO, a character device or a socket there`);
}

/** A socket in MEMORY_PRESSURE_WATCH: connect, write the trigger, and every byte that arrives is an event. */
function socketWatch(path: string, bytes: Buffer, fire: () => void): MemoryPressureHandle {
  const { createConnection } = require('node:net') as typeof import('node:net');
  const s = createConnection({ path });
  s.unref();
  s.write(bytes);
  s.on('data', fire);
  s.on('error', (err) => process.emitWarning(`libsystemd: MEMORY_PRESSURE_WATCH socket ${path}: ${err.message}`, { code: 'LIBSYSTEMD_MEMORY_PRESSURE' }));
  return {
    active: true,
    close() {
      s.destroy();
    },
  };
}
