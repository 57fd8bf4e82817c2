/**
 * Drop-in for `sd-notify` 2.8 (systemd/node-sd-notify): the same exports and results, plus
 * real ESM named exports and types that accept every call `@types/sd-notify` allows. Its known
 * bugs are fixed, not copied: the watchdog timer no longer leaks on a second start, a status
 * can no longer inject assignments with a newline, array-typed calls do something sane (never
 * PRIORITY=0), and log entries carry the JavaScript caller as CODE_*, not a C file.
 * Like the original, these functions never throw and return undefined.
 */
import { watchdog as ping, notify, ready as sdReady, stopping as sdStopping, watchdogUsec } from '../notify';
import { sendList } from '../journal';
import { pushCallerLocation, scriptName } from '../journal/caller';
import type { FieldList } from '../journal/sanitize';
import { PRIORITIES, PRIORITY_TEXT, type PriorityName } from '../protocol/levels';
import { DURATION_MAX_MS, longInterval, type LongTimer } from '../timers';

function quietly(fn: () => unknown): undefined {
  try {
    fn();
  } catch {
    // sd-notify 2.8 reported nothing; neither does its drop-in.
  }
  return undefined;
}

/** READY=1. */
export function ready(): void {
  quietly(() => sdReady());
}

/** STOPPING=1 (the pid argument of the original is accepted and, as there, not needed). */
export function stopping(_pid?: number): void {
  quietly(() => sdStopping());
}

/** WATCHDOG=1. */
export function watchdog(): void {
  quietly(() => ping());
}

/** The watchdog timeout in whole milliseconds, or 0 when off (or meant for another process). */
export function watchdogInterval(): number {
  try {
    const usec = watchdogUsec();
    return usec === undefined ? 0 : Number(usec / 1000n);
  } catch {
    return 0;
  }
}

/** A raw state; an array (the @types/sd-notify shape) is one assignment per element. */
export function sendState(state: string | readonly string[]): void {
  quietly(() => notify(Array.isArray(state) ? state.join('\n') : String(state)));
}

/** STATUS=; newlines become spaces instead of starting new assignments. */
export function sendStatus(status: string): void {
  quietly(() => notify({ STATUS: String(status).replace(/[\r\n]+/g, ' ') }));
}

let timer: LongTimer | undefined;

/** Pings every `interval` ms (default 3000). A second call replaces the first timer. */
export function startWatchdogMode(interval?: number): void {
  stopWatchdogMode();
  // Kept ref'd, as in the original: a service that relies on it to stay alive still does.
  // Lenient as the original (anything unusable is 3000), but any length: a day-long interval is not 1 ms.
  const ms = Number(interval);
  timer = longInterval(ms > 0 && ms <= DURATION_MAX_MS ? ms : 3000, watchdog);
}

export function stopWatchdogMode(): void {
  timer?.cancel();
  timer = undefined;
}

const identifier = scriptName();

function print(priority: number, parts: readonly unknown[], below: Function): void {
  quietly(() => {
    const message = parts.length === 1 && Array.isArray(parts[0]) ? (parts[0] as unknown[]).join(' ') : parts.map(String).join(' ');
    const list: FieldList = [
      ['MESSAGE', message],
      ['PRIORITY', PRIORITY_TEXT[priority]!],
      ['SYSLOG_IDENTIFIER', identifier],
    ];
    pushCallerLocation(list, below);
    sendList(list, true);
  });
}

/**
 * A journal entry at `level` (0-7). With an array as the first argument (the @types/sd-notify
 * shape) its elements are the message, at INFO: never the EMERG the original wrote.
 */
export function journalPrint(level: number | readonly string[], ...message: unknown[]): void {
  if (typeof level === 'number' && Number.isInteger(level) && level >= 0 && level <= 7) print(level, message, journalPrint);
  else print(6, Array.isArray(level) ? [level] : [level, ...message], journalPrint);
}

type LogFn = (...args: unknown[]) => void;

function level(priority: number): LogFn {
  const fn: LogFn = (...args) => print(priority, args, fn);
  return fn;
}

type LevelName = PriorityName | 'emergency';

/** The twelve level names of sd-notify (the syslog names, their aliases and `emergency`), each joining its arguments with spaces. */
export const log: Readonly<Record<LevelName, LogFn>> = Object.freeze(
  Object.fromEntries([...Object.entries(PRIORITIES), ['emergency', PRIORITIES.emerg!] as const].map(([name, p]) => [name, level(p)])) as Record<LevelName, LogFn>,
);
