/**
 * createLogger(): the eight syslog levels as methods, each writing one journal entry with
 * MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, the caller's CODE_FILE/CODE_LINE/CODE_FUNC, default
 * fields and sanitised per-call fields. A logger never throws for a transport failure: it
 * counts the loss and warns once.
 */
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidType } from './errors';
import { invocationShortName } from './journal/fields';
import { errorFields, mergeDefaults, objectFields, PRIORITY_TEXT, type FieldList } from './journal/sanitize';
import { LossCounter } from './integrations';

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

/** The running script's name, as a user would call the service. */
export function scriptName(): string {
  const script = process.argv[1];
  if (!script) return invocationShortName;
  const b = basename(script);
  return b.slice(0, b.length - extname(b).length) || b;
}

interface Location {
  file?: string;
  line?: number;
  func?: string;
}

/** The first stack frame above `below` (V8 CallSites; file:// URLs of ES modules become paths). */
function callerLocation(below: Function): Location {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.prepareStackTrace = (_e, cs) => cs;
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, below);
    const site = holder.stack?.[0];
    if (!site) return {};
    let file = site.getFileName() ?? undefined;
    if (file?.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep the URL
      }
    }
    // The type and method names only when there is no function name (each getter costs).
    const fn = site.getFunctionName();
    let func = fn ?? undefined;
    if (func === undefined) {
      const method = site.getMethodName();
      const type = method ? site.getTypeName() : null;
      func = method ? `${type ? `${type}.` : ''}${method}` : undefined;
    }
    return { file, line: site.getLineNumber() ?? undefined, func };
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** Appends CODE_FILE, CODE_LINE and CODE_FUNC of the caller of `below` (those it can tell). */
export function pushCallerLocation(list: FieldList, below: Function): void {
  const loc = callerLocation(below);
  if (loc.file) list.push(['CODE_FILE', loc.file]);
  if (loc.line) list.push(['CODE_LINE', String(loc.line)]);
  if (loc.func) list.push(['CODE_FUNC', loc.func]);
}

const LEVELS = [
  ['emerg', 0],
  ['alert', 1],
  ['crit', 2],
  ['critical', 2],
  ['error', 3],
  ['err', 3],
  ['warning', 4],
  ['warn', 4],
  ['notice', 5],
  ['info', 6],
  ['debug', 7],
] as const;

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
      const list: FieldList = [];
      if (message instanceof Error) errorFields(message, list);
      else list.push(['MESSAGE', typeof message === 'string' ? message : String(message)]);
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
      losses.send(list, identifier);
    };
    (logger as unknown as Record<string, LogMethod>)[name] = method;
  }
  return logger;
}
