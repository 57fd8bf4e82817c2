/**
 * The one priority table: syslog's eight levels, the names people use for them, and the
 * other loggers' vocabularies (pino, winston, the console) as names of this table.
 */
import { invalidValue, outOfRange } from '../errors';

/** Level names by priority 0-7, as journalctl and syslog(3) spell them. */
export const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

/** Every accepted level name (the syslog names and their usual aliases) and its priority. */
export const PRIORITIES: Readonly<Record<string, number>> = Object.freeze({
  emerg: 0,
  alert: 1,
  crit: 2,
  critical: 2,
  err: 3,
  error: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
});
export type PriorityName = 'emerg' | 'alert' | 'crit' | 'critical' | 'err' | 'error' | 'warning' | 'warn' | 'notice' | 'info' | 'debug';

/** The PRIORITY= field's text for 0-7 (no number formatting per entry). */
export const PRIORITY_TEXT: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7'];

/** Upper-case level labels (for readable lines without a journal). */
export const PRIORITY_LABELS: readonly string[] = LEVEL_NAMES.map((n) => n.toUpperCase());

/** winston's npm levels that are not syslog names, as syslog names. */
const WINSTON_EXTRA: Readonly<Record<string, PriorityName>> = { http: 'info', verbose: 'debug', silly: 'debug' };
/** pino's levels (numbers and labels), as syslog names. */
const PINO: Readonly<Record<string, PriorityName>> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warning', 50: 'err', 60: 'crit', trace: 'debug', debug: 'debug', info: 'info', warn: 'warning', error: 'err', fatal: 'crit' };
/** console methods, as syslog names. */
const CONSOLE: Readonly<Record<'error' | 'warn' | 'info' | 'log' | 'debug', PriorityName>> = { error: 'err', warn: 'warning', info: 'info', log: 'info', debug: 'debug' };

/** A priority for a syslog name or alias, else undefined. */
export function priorityOf(name: string): number | undefined {
  return Object.hasOwn(PRIORITIES, name) ? PRIORITIES[name] : undefined;
}

/** winston's level names (npm and syslog): its priority, else undefined. */
export function winstonPriority(level: string): number | undefined {
  return priorityOf(Object.hasOwn(WINSTON_EXTRA, level) ? WINSTON_EXTRA[level]! : level);
}

/** pino's standard levels (number or label): its priority, else undefined. */
export function pinoPriority(level: string): number | undefined {
  return Object.hasOwn(PINO, level) ? PRIORITIES[PINO[level]!] : undefined;
}

/** A custom numeric pino level without a mapping: the nearest standard level below it. */
export function pinoNearestPriority(level: number): number {
  const std = [60, 50, 40, 30].find((l) => level >= l);
  return std === undefined ? PRIORITIES.debug! : pinoPriority(String(std))!;
}

export type ConsoleMethod = keyof typeof CONSOLE;
/** The console methods the console integration replaces, each with its PRIORITY= text. */
export const CONSOLE_PRIORITIES: Readonly<Record<ConsoleMethod, string>> = Object.freeze(
  Object.fromEntries(Object.entries(CONSOLE).map(([m, n]) => [m, PRIORITY_TEXT[PRIORITIES[n]!]!])) as Record<ConsoleMethod, string>,
);

/** 0-7 from a number (else ERR_OUT_OF_RANGE) or a level name (else ERR_INVALID_ARG_VALUE), naming `name`. */
export function toPriority(p: unknown, name = 'priority'): number {
  if (typeof p === 'number') {
    if (Number.isInteger(p) && p >= 0 && p <= 7) return p;
    throw outOfRange(name, '>= 0 && <= 7, or a level name', p);
  }
  const n = typeof p === 'string' ? priorityOf(p) : undefined;
  if (n !== undefined) return n;
  // Never JSON.stringify a bigint or a cyclic object here: the refusal itself would throw, uncoded.
  const shown = typeof p === 'string' ? JSON.stringify(p) : typeof p === 'bigint' ? `${p}n` : p !== null && typeof p === 'object' ? 'an object' : String(p);
  throw invalidValue(name, `must be 0-7 or a level name (${Object.keys(PRIORITIES).join(', ')}), received ${shown}`);
}
