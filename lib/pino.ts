/**
 * libsystemd/pino: a pino (v8 and later) transport into the journal, usable as
 * `pino({ transport: { target: 'libsystemd/pino', options } })` (in pino's worker thread) and as
 * a destination stream in the main thread: `pino(build(options))`. Every record becomes one
 * entry with its level as PRIORITY, `msg` as MESSAGE, its properties as sanitised fields, `err`
 * as the error fields of createLogger, and pino's `time` as PINO_TIME (journald keeps its own
 * timestamp); `pid` and `hostname` are dropped (journald records trusted ones).
 */
import { Writable } from 'node:stream';
import { journal } from './journal';
import { scriptName } from './journal/caller';
import { flushThen, resolveLevelMap, transportLosses, unbuildable, type LevelMap } from './journal/log-sink';
import { flatten, mergeDefaults, objectFields, sanitizeName, serializedErrorFields, type FieldList } from './journal/sanitize';
import { pinoNearestPriority, pinoPriority, PRIORITY_TEXT } from './protocol/levels';
const DROPPED = new Set(['level', 'msg', 'time', 'pid', 'hostname', 'err', 'v']);

function build(options: build.Options = {}): Writable {
  const identifier = options.identifier ?? scriptName();
  const levels = resolveLevelMap(options.levelMap);
  const defaults: FieldList = [];
  objectFields(options.fields, defaults);
  const counter = transportLosses('pino');
  const messageKey = options.messageKey ?? 'msg';
  journal.configure({ maxQueueBytes: options.maxQueueBytes, maxStallMs: options.maxStallMs, exitTimeoutMs: options.exitTimeoutMs });

  function priority(level: unknown): number {
    const own = levels.get(String(level));
    if (own !== undefined) return own;
    const std = pinoPriority(String(level));
    if (std !== undefined) return std;
    // A custom numeric level without a mapping: the nearest standard level below it.
    if (typeof level === 'number') return pinoNearestPriority(level);
    return 6;
  }

  /** One pino line as the entry's fields (undefined: not a record); never throws. */
  function record(line: string): FieldList | undefined {
    try {
      return fields(line);
    } catch (err) {
      return unbuildable(err, '6', identifier);
    }
  }

  function fields(line: string): FieldList | undefined {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return [['MESSAGE', line], ['PRIORITY', '6'], ['SYSLOG_IDENTIFIER', identifier]];
    }
    if (rec === null || typeof rec !== 'object') return undefined;
    const list: FieldList = [];
    const msg = rec[messageKey];
    if (msg !== undefined) list.push(['MESSAGE', typeof msg === 'string' ? msg : JSON.stringify(msg)]);
    list.push(['PRIORITY', PRIORITY_TEXT[priority(rec.level)]!]);
    list.push(['SYSLOG_IDENTIFIER', identifier]);
    if (rec.err !== undefined) serializedErrorFields(rec.err, list, msg === undefined);
    else if (msg === undefined) list.push(['MESSAGE', '']);
    if (rec.time !== undefined) list.push(['PINO_TIME', String(rec.time)]);
    for (const key of Object.keys(rec)) {
      if (DROPPED.has(key) || key === messageKey) continue;
      flatten(sanitizeName(key), rec[key], list);
    }
    mergeDefaults(list, defaults);
    if (options.keepJson) list.push(['JSON', line]);
    return list;
  }

  const batch: FieldList[] = [];
  /** The records of whole lines so far, sent together (one system call for many, where the backend can). */
  function send(): void {
    if (batch.length > 0) counter.sendMany(batch);
    batch.length = 0;
  }

  let pending = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, done) {
      const text = pending + (typeof chunk === 'string' ? chunk : chunk.toString());
      let from = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', from)) >= 0) {
        const line = text.slice(from, nl);
        from = nl + 1;
        if (line.trim() === '') continue;
        const list = record(line);
        if (list) batch.push(list);
        if (batch.length === 256) send();
      }
      pending = text.slice(from);
      send();
      done();
    },
    // pino's worker ends the stream when the main thread ends (and waits for 'close'): the
    // records are in the journal by then, or reported by the exit drain.
    final(done) {
      if (pending.trim() !== '') {
        const list = record(pending);
        if (list) batch.push(list);
        send();
      }
      pending = '';
      flushThen(() => done(), options.exitTimeoutMs);
    },
  });
  return Object.assign(stream, { get lost() { return counter.lost; } });
}

namespace build {
  export interface Options {
    /** SYSLOG_IDENTIFIER; default the script's name. */
    readonly identifier?: string;
    /** Fields added to every entry (a record's own properties win). */
    readonly fields?: Readonly<Record<string, unknown>>;
    /** Also store the original JSON line in a `JSON` field. */
    readonly keepJson?: boolean;
    /**
     * Level → priority 0-7 or a syslog level name, for custom levels. Keys are pino's level
     * numbers (`{ 35: 'notice' }`), or labels when `formatters.level` writes labels.
     */
    readonly levelMap?: LevelMap;
    /** pino's messageKey, when not `msg`. */
    readonly messageKey?: string;
    /** The journal queue's memory bound while journald is not accepting entries (default 16 MiB). */
    readonly maxQueueBytes?: number;
    /** How long a stalled journald is waited for before queued entries are dropped (default 30 s). */
    readonly maxStallMs?: number;
    /** At the end, how long to wait for journald without progress before reporting the rest lost (default 5 s). */
    readonly exitTimeoutMs?: number;
  }
}

export = build;
