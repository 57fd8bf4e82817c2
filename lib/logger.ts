/**
 * createLogger(): the eight syslog levels as methods, each writing one journal entry with
 * MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, the caller's CODE_FILE/CODE_LINE/CODE_FUNC, default
 * fields and sanitised per-call fields. A logger never throws for a transport failure: it
 * counts the loss and warns once.
 */
import { invalidType } from './errors';
import { pushCallerLocation, scriptName } from './journal/caller';
import { LossCounter, unbuildable } from './journal/log-sink';
import { errorFields, mergeDefaults, objectFields, safeString, type FieldList } from './journal/sanitize';
import { PRIORITIES, PRIORITY_TEXT } from './protocol/levels';

export interface LoggerOptions {
  /** SYSLOG_IDENTIFIER; default the script's name (`server` for `node server.js`), not `node`. */
  readonly identifier?: string;
  /** Fields merged into every entry (per-call fields win). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Add CODE_FILE, CODE_LINE and CODE_FUNC of the calling JavaScript (ESM included). Default true. */
  readonly captureLocation?: boolean;
}

export type LogMethod = (message: string | Error, fields?: Readonly<Record<string, unknown>>) => void;

export interface Logger {
  emerg: LogMethod;
  alert: LogMethod;
  crit: LogMethod;
  critical: LogMethod;
  error: LogMethod;
  err: LogMethod;
  warning: LogMethod;
  warn: LogMethod;
  notice: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** Entries that could not be handed to journald (transport failures). */
  readonly lost: number;
}

/** Each method's priority: the syslog names and their aliases (`err` and `error`, …). */
const LEVELS = Object.entries(PRIORITIES);

const RESERVED = new Set(['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER']);
// One warning for all loggers of the process.
const loggersWarned = { warned: false };

export function createLogger(options: LoggerOptions = {}): Logger {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const identifier = options.identifier ?? scriptName();
  if (typeof identifier !== 'string') throw invalidType('options.identifier', 'a string', identifier);
  const capture = options.captureLocation ?? true;
  const defaults: FieldList = [];
  objectFields(options.fields, defaults);
  const losses = new LossCounter((reason) => `libsystemd: a log entry could not be sent to the journal (${reason}); losses are counted in logger.lost`, loggersWarned);

  const logger = { get lost() { return losses.lost; } } as Logger;
  for (const [name, priority] of LEVELS) {
    const method: LogMethod = function (message, fields) {
      let list: FieldList = [];
      try {
        if (message instanceof Error) errorFields(message, list);
        else list.push(['MESSAGE', safeString(message)]);
        list.push(['PRIORITY', PRIORITY_TEXT[priority]!]);
        list.push(['SYSLOG_IDENTIFIER', identifier]);
        if (capture) pushCallerLocation(list, method);
        // The call's own fields, then the defaults it does not override; MESSAGE, PRIORITY and
        // SYSLOG_IDENTIFIER come from the call itself.
        const fixed = list.length;
        objectFields(fields, list);
        if (list.length > fixed) {
          for (let i = list.length - 1; i >= fixed; i--) if (RESERVED.has(list[i]![0])) list.splice(i, 1);
        }
        mergeDefaults(list, defaults);
      } catch (err) {
        // A value no rule could turn into text (e.g. a Proxy that throws on every trap): the
        // entry is still written, saying so.
        list = unbuildable(err, PRIORITY_TEXT[priority]!, identifier);
      }
      losses.send(list);
    };
    (logger as unknown as Record<string, LogMethod>)[name] = method;
  }
  return logger;
}
