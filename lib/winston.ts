/**
 * libsystemd/winston: a winston 3 transport into the journal, accepting winston-journald3's
 * options (`identifier`). npm and syslog levels map to their real priorities (warn → 4, not
 * the debug priority winston-journald3 wrote), multi-line messages stay one entry, and Errors
 * keep their stack (and cause chain) as in createLogger.
 */
import TransportStream = require('winston-transport');
import { scriptName } from './journal/caller';
import { flushThen, resolveLevelMap, transportLosses, type LevelMap } from './journal/log-sink';
import { errorFields, flatten, mergeDefaults, objectFields, sanitizeName, serializedErrorFields, type FieldList } from './journal/sanitize';
import { PRIORITY_TEXT, winstonPriority } from './protocol/levels';
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
    const priority = this.levelPriorities.get(name) ?? winstonPriority(name) ?? 6;
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
    this.counter.send(list);
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
