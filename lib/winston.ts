/**
 * libsystemd/winston: a winston 3 transport into the journal, accepting winston-journald3's
 * options (`identifier`). npm and syslog levels map to their real priorities (warn → 4, not
 * the debug priority winston-journald3 wrote), multi-line messages stay one entry, and Errors
 * keep their stack (and cause chain) as in createLogger.
 */
import TransportStream = require('winston-transport');
import { scriptName } from './journal/caller';
import { flushThen, resolveLevelMap, transportLosses, unbuildable, type LevelMap } from './journal/log-sink';
import { errorFields, flatten, mergeDefaults, objectFields, safeGet, safeString, sanitizeName, serializedErrorFields, type FieldList } from './journal/sanitize';
import { PRIORITY_TEXT, winstonPriority } from './protocol/levels';
const LEVEL = Symbol.for('level');
const SKIP = new Set(['level', 'message', 'stack', 'name', 'cause', 'errors']);

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

  /**
   * One record as one entry. Never throws and always calls back: a record that cannot be read
   * (a message without a prototype, a throwing getter or Proxy) still becomes an entry; a throw
   * here would stop winston's stream for good (every later record lost, 'finish' never emitted).
   */
  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    setImmediate(() => this.emit('logged', info));
    let priority = 6;
    let list: FieldList;
    try {
      // The raw level (formats may have colourised info.level).
      const name = safeString(safeGet(info, LEVEL as unknown as string) ?? safeGet(info, 'level'));
      priority = this.levelPriorities.get(name) ?? winstonPriority(name) ?? 6;
      list = this.fields(info, priority);
    } catch (err) {
      list = unbuildable(err, PRIORITY_TEXT[priority]!, this.journalIdentifier);
    }
    this.counter.send(list);
    callback();
  }

  private fields(info: Record<string | symbol, unknown>, priority: number): FieldList {
    const list: FieldList = [];
    const message = safeGet(info, 'message');
    list.push(['MESSAGE', message instanceof Error ? safeString(safeGet(message, 'message')) : message === undefined || message === null ? '' : safeString(message)]);
    list.push(['PRIORITY', PRIORITY_TEXT[priority]!]);
    list.push(['SYSLOG_IDENTIFIER', this.journalIdentifier]);
    // logger.error(err) (with or without format.errors()): the info carries the error itself.
    const stack = safeGet(info, 'stack');
    if (info instanceof Error) errorFields(info, list, false);
    else if (typeof stack === 'string') serializedErrorFields({ name: safeGet(info, 'name'), stack, code: safeGet(info, 'code'), errno: safeGet(info, 'errno'), cause: safeGet(info, 'cause'), errors: safeGet(info, 'errors') }, list, false);
    else if (message instanceof Error) errorFields(message, list, false);
    for (const key of Object.keys(info)) {
      if (SKIP.has(key) || (info instanceof Error && (key === 'code' || key === 'errno'))) continue;
      const v = safeGet(info, key);
      if (v instanceof Error) serializedErrorFields(v, list, false);
      else flatten(sanitizeName(key), v, list);
    }
    mergeDefaults(list, this.defaultFields);
    return list;
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
