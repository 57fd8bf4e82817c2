/**
 * What the pino and winston transports share: level → priority maps, Error objects (live or
 * serialised by pino) → the logger's error fields, and loss accounting that warns once.
 */
import { journal, logList, toPriority, type PriorityName } from './journal';
import { errorFields, flatten, stackChain, type FieldList } from './journal/sanitize';

/** The loss counter of the pino or winston transport. */
export function transportLosses(who: string): LossCounter {
  return new LossCounter((reason) => `libsystemd (${who}): an entry could not be sent to the journal (${reason}); losses are counted`);
}

export type LevelMap = Readonly<Record<string | number, number | PriorityName>>;

/** Resolves a user's level map once: every value checked as a priority. */
export function resolveLevelMap(map: LevelMap | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(map ?? {})) out.set(String(k), toPriority(v, `levelMap.${k}`));
  return out;
}

/** A serialised error (pino's { type, message, stack, code, cause }) or a live Error as fields. */
export function serializedErrorFields(err: unknown, out: FieldList, withMessage: boolean): void {
  if (err instanceof Error) {
    errorFields(err, out, withMessage);
    return;
  }
  if (err === null || typeof err !== 'object') {
    flatten('ERR', err, out);
    return;
  }
  const e = err as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown; code?: unknown; errno?: unknown; cause?: unknown };
  if (withMessage && e.message !== undefined) out.push(['MESSAGE', String(e.message)]);
  const name = e.type ?? e.name;
  if (name !== undefined) out.push(['ERROR_NAME', String(name)]);
  if (e.code !== undefined && e.code !== null) out.push(['ERROR_CODE', String(e.code)]);
  if (typeof e.errno === 'number' && e.errno !== 0) out.push(['ERRNO', String(Math.abs(e.errno))]);
  let stack = typeof e.stack === 'string' ? e.stack : `${String(name ?? 'Error')}: ${String(e.message ?? '')}`;
  // pino's serializer may already have appended the causes ("caused by: …"); otherwise add them.
  if (e.cause !== undefined && !/caused by:/i.test(stack)) {
    const cause = e.cause instanceof Error ? stackChain(e.cause) : typeof (e.cause as { stack?: unknown })?.stack === 'string' ? (e.cause as { stack: string }).stack : JSON.stringify(e.cause);
    stack += `\nCaused by: ${cause}`;
  }
  out.push(['STACK_TRACE', stack]);
}

/** Sends an entry for a logger or transport; a failure is counted and reported once, never thrown. */
export class LossCounter {
  lost = 0;
  /**
   * @param warning the warning's text for the failure's reason.
   * @param once shared by counters that warn once between them (default: this counter alone).
   */
  constructor(
    private readonly warning: (reason: string) => string,
    private readonly once = { warned: false },
  ) {}

  send(list: FieldList, identifier: string): void {
    try {
      if (logList(list, identifier) < 0) throw new Error('journald refused the entry');
    } catch (err) {
      this.lost++;
      if (!this.once.warned) {
        this.once.warned = true;
        process.emitWarning(this.warning((err as Error).message), { code: 'LIBSYSTEMD_JOURNAL_LOST' });
      }
    }
  }
}

/**
 * For a transport's end: calls `done` once every entry handed over so far has left the process
 * (journal.flush), or after `timeoutMs` (the exit drain then delivers or reports the rest).
 */
export function flushThen(done: () => void, timeoutMs = 5000): void {
  journal.flush(timeoutMs).then(
    () => done(),
    () => done(),
  );
}
