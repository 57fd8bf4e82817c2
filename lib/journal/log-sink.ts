/**
 * The loggers' send path (createLogger, pino, winston, the console): entries that never throw
 * (a failure is counted and warned once), user level maps, serialised errors as fields, and the
 * flush at a transport's end.
 */
import { journal, sendList, sendLists } from './index';
import { toPriority, type PriorityName } from '../protocol/levels';
import { safeString, type FieldList } from './sanitize';

/**
 * The entry for a record no rule could turn into fields (a Proxy that throws on every trap, a
 * value whose every conversion throws): the line is still written, saying why, at its priority.
 */
export function unbuildable(err: unknown, priority: string, identifier: string): FieldList {
  let why: string;
  try {
    why = err instanceof Error ? `${safeString(err.name)}: ${safeString(err.message)}` : safeString(err);
  } catch {
    why = 'unknown error';
  }
  return [
    ['MESSAGE', `[a log record could not be converted to journal fields: ${why}]`],
    ['PRIORITY', priority],
    ['SYSLOG_IDENTIFIER', identifier],
  ];
}

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

  send(list: FieldList): void {
    try {
      if (sendList(list, true) < 0) throw new Error('journald refused the entry');
    } catch (err) {
      this.count(1, err as Error);
    }
  }

  /** Sends many entries in order (see sendLists); failures counted as send() counts them. */
  sendMany(lists: readonly FieldList[]): void {
    try {
      const failed = sendLists(lists, true);
      if (failed > 0) this.count(failed, new Error('journald refused the entry'));
    } catch (err) {
      this.count(lists.length, err as Error);
    }
  }

  private count(n: number, err: Error): void {
    this.lost += n;
    if (!this.once.warned) {
      this.once.warned = true;
      process.emitWarning(this.warning(err.message), { code: 'LIBSYSTEMD_JOURNAL_LOST' });
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
