/**
 * A graceful stop: on SIGTERM (what `systemctl stop` sends) or SIGINT, STOPPING=1, the handler
 * (close servers, finish requests), the journal flushed, exit 0; after `timeoutMs` exit 1 with the
 * reason on stderr. EXTEND_TIMEOUT_USEC= tells systemd to wait for the handler that long, so its
 * TimeoutStopSec= does not SIGKILL a handler that is within its own time.
 */
import { writeSync } from 'node:fs';
import { invalidType, invalidValue } from '../errors';
import { checkDuration, longTimeout, type LongTimer } from '../timers';
import { journal } from '../journal';
import { extendTimeout, stopping } from '../notify';
import { ServiceError } from './errors';

export interface ShutdownOptions {
  /** How long the handler may take before the process exits 1. Default 10 s. */
  readonly timeoutMs?: number;
  /** The signals that stop the service. Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
}

export interface ShutdownHandle {
  /** Stops the service now, as the signal would. */
  shutdown(reason?: string): Promise<never>;
  /** Removes the signal handlers. */
  close(): void;
}

let installed: ShutdownHandle | undefined;

function say(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr is gone: the exit code says it
  }
}

/**
 * Runs `handler(signal)` when the service is asked to stop, then exits 0 (1 when the handler
 * fails or takes longer than `timeoutMs`). A second signal while stopping exits 1 at once.
 * @throws ServiceError `ERR_LIBSYSTEMD_ALREADY_INSTALLED` for a second onShutdown().
 */
export function onShutdown(handler: (signal: string) => unknown, options: ShutdownOptions = {}): ShutdownHandle {
  if (typeof handler !== 'function') throw invalidType('handler', 'a function', handler);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const timeoutMs = checkDuration('options.timeoutMs', options.timeoutMs ?? 10_000);
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string' || !/^SIG[A-Z0-9]+$/.test(s) || s === 'SIGKILL' || s === 'SIGSTOP')) throw invalidValue('options.signals', 'must be a non-empty array of signal names that can be handled');
  if (installed) throw new ServiceError('ERR_LIBSYSTEMD_ALREADY_INSTALLED', 'onShutdown() is already installed: close() the first handle before installing another');

  let stoppingNow: Promise<never> | undefined;
  const shutdown = (reason = 'shutdown()'): Promise<never> => {
    if (stoppingNow) {
      say(`libsystemd: ${reason} while stopping: exiting now`);
      process.exit(1);
    }
    stoppingNow = (async (): Promise<never> => {
      const quietly = (fn: () => unknown): void => {
        try {
          fn();
        } catch {
          // without a service manager there is nobody to tell
        }
      };
      quietly(() => stopping());
      // Room for the handler and the journal's flush, so TimeoutStopSec= does not cut them short.
      quietly(() => extendTimeout(timeoutMs + 3000));
      let code = 0;
      let timer: LongTimer | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => handler(reason)),
          new Promise((_, reject) => {
            // Any length (setTimeout alone would exit 1 at once for 2 ** 31 ms or more).
            timer = longTimeout(timeoutMs, () => reject(new Error(`the shutdown handler did not finish within ${timeoutMs} ms`)));
          }),
        ]);
      } catch (err) {
        code = 1;
        say(`libsystemd: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        timer?.cancel();
      }
      await journal.flush(3000).catch(() => undefined);
      process.exit(code);
    })();
    return stoppingNow;
  };
  const listeners = signals.map((s) => [s, () => void shutdown(s)] as const);
  for (const [s, l] of listeners) process.on(s, l);
  const handle: ShutdownHandle = {
    shutdown,
    close() {
      for (const [s, l] of listeners) process.off(s, l);
      if (installed === handle) installed = undefined;
    },
  };
  installed = handle;
  return handle;
}
