/**
 * libsystemd/winston: a winston 3 transport into the journal, accepting winston-journald3's
 * options (`identifier`). npm and syslog levels map to their real priorities (warn → 4, not
 * the debug priority winston-journald3 wrote), multi-line messages stay one entry, and Errors
 * keep their stack (and cause chain) as in createLogger.
 */
import TransportStream = require('winston-transport');
import { flushThen, resolveLevelMap, transportLosses, serializedErrorFields, type LevelMap } from './integrations';
import { errorFields, flatten, mergeDefaults, objectFields, PRIORITY_TEXT, sanitizeName, type FieldList } from './journal/sanitize';
import { scriptName } from './logger';

/** npm and syslog levels, by name. */
const LEVELS: Readonly<Record<string, number>> = {
  emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, warn: 4, notice: 5, info: 6, http: 6, verbose: 7, debug: 7, silly: 7,
};
const LEVEL = Symbol.for('level');
const SKIP = new Set(['level', 'message', 'stack', 'name', 'cause']);

class JournaldTransport extends TransportStream {
  private readonly journalIdentifier: string;
  // Not `levels`: winston sets that property on its transports.
  private readonly levelPriorities: Map<string, number>;
  private readonly defaultFields: FieldList = [];
  private readonly counter = transportLosses('winston');

  constructor(options: JournaldTransport.Options = {}) {
    super(options);
    this.journalIdentifier = options.identifier ?? scriptName();
    this.levelPriorities = resolveLevelMap(options.levelMap);
    objectFields(options.fields, this.defaultFields);
  }

  /** logger.end(): 'finish' once every entry is in the journal (or reported by the exit drain). */
  override _final(callback: (error?: Error | null) => void): void {
    flushThen(() => callback());
  }

  /** Entries that could not be handed to journald. */
  get lost(): number {
    return this.counter.lost;
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    setImmediate(() => this.emit('logged', info));
    // The raw level (formats may have colourised info.level).
    const name = String(info[LEVEL] ?? info.level);
    const priority = this.levelPriorities.get(name) ?? LEVELS[name] ?? 6;
    const list: FieldList = [];
    const message = info.message;
    list.push(['MESSAGE', typeof message === 'string' ? message : message instanceof Error ? message.message : String(message ?? '')]);
    list.push(['PRIORITY', PRIORITY_TEXT[priority]!]);
    list.push(['SYSLOG_IDENTIFIER', this.journalIdentifier]);
    // logger.error(err) (with or without format.errors()): the info carries the error itself.
    if (info instanceof Error) errorFields(info, list, false);
    else if (typeof info.stack === 'string') serializedErrorFields({ name: info.name, stack: info.stack, code: info.code, errno: info.errno, cause: info.cause }, list, false);
    else if (message instanceof Error) errorFields(message, list, false);
    for (const key of Object.keys(info)) {
      if (SKIP.has(key) || (info instanceof Error && (key === 'code' || key === 'errno'))) continue;
      const v = info[key];
      if (v instanceof Error) serializedErrorFields(v, list, false);
      else flatten(sanitizeName(key), v, list);
    }
    mergeDefaults(list, this.defaultFields);
    this.counter.send(list, this.journalIdentifier);
    callback();
  }
}

namespace JournaldTransport {
  export interface Options extends TransportStream.TransportStreamOptions {
    /** SYSLOG_IDENTIFIER; default the script's name (winston-journald3's option). */
    readonly identifier?: string;
    /** Fields added to every entry. */
    readonly fields?: Readonly<Record<string, unknown>>;
    /** Level name → priority 0-7 or a syslog level name, for custom levels. */
    readonly levelMap?: LevelMap;
  }
}

export = JournaldTransport;
