/**
 * Reloading without a restart: Type=notify-reload (systemd 253+) or ExecReload=kill -HUP $MAINPID.
 * On the signal: RELOADING=1 with MONOTONIC_USEC=, the handler, then READY=1 (and its STATUS=).
 * Reloads never overlap: a signal during a reload runs one more afterwards.
 */
import { constants } from 'node:os';
import { invalidType, invalidValue } from '../errors';
import { notify, reloading } from '../notify';
import { ServiceError } from './errors';

export interface ReloadOptions {
  /** The signal that asks for a reload (Type=notify-reload's ReloadSignal=). Default SIGHUP. */
  readonly signal?: NodeJS.Signals;
}

export interface ReloadHandle {
  /** Runs a reload now, as the signal would (resolves when it is done). */
  reload(): Promise<void>;
  /** Removes the signal handler (the signal's default applies again). */
  close(): void;
}

let installed: ReloadHandle | undefined;

function errnoOf(err: unknown): number | undefined {
  const e = (err as { errno?: unknown; code?: unknown }) ?? {};
  if (typeof e.errno === 'number' && e.errno !== 0) return Math.abs(e.errno);
  if (typeof e.code === 'string') return (constants.errno as Record<string, number>)[e.code];
  return undefined;
}

/**
 * Reloads with `handler` on `signal`. The handler may return a status line (STATUS=). A handler
 * that throws or rejects leaves the service running: READY=1 with `STATUS=reload failed: …` and
 * `ERRNO=` when the error has one.
 * @throws ServiceError `ERR_LIBSYSTEMD_ALREADY_INSTALLED` for a second onReload() (close() the first).
 */
export function onReload(handler: () => unknown, options: ReloadOptions = {}): ReloadHandle {
  if (typeof handler !== 'function') throw invalidType('handler', 'a function', handler);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const signal = options.signal ?? 'SIGHUP';
  if (typeof signal !== 'string' || !(signal in constants.signals) || signal === 'SIGKILL' || signal === 'SIGSTOP') throw invalidValue('options.signal', `must be a signal a process can handle (e.g. 'SIGHUP', 'SIGUSR1'), received ${JSON.stringify(signal)}`);
  if (installed) throw new ServiceError('ERR_LIBSYSTEMD_ALREADY_INSTALLED', 'onReload() is already installed: close() the first handle before installing another');

  let running: Promise<void> | undefined;
  let again = false;
  const once = async (): Promise<void> => {
    reloading();
    try {
      const status = await handler();
      notify({ READY: 1, STATUS: typeof status === 'string' ? status : undefined });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      notify({ READY: 1, STATUS: `reload failed: ${message.split('\n')[0]!.slice(0, 200)}`, ERRNO: errnoOf(err) });
    }
  };
  const reload = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await once();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const listener = (): void => void reload();
  process.on(signal, listener);
  const handle: ReloadHandle = {
    reload,
    close() {
      process.off(signal, listener);
      if (installed === handle) installed = undefined;
    },
  };
  installed = handle;
  return handle;
}
