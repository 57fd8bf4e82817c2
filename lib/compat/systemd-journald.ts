/**
 * Drop-in for `systemd-journald` 1.5 (jue89/node-systemd-journald): `new Journald(defaults)`
 * with emerg, alert, crit, err, warning, notice, info and debug on the instance and on the
 * constructor, and its field rules: keys upper-cased, nested objects flattened with `_`,
 * Buffers as hex, null as 'null', undefined skipped, a top-level `priority` ignored, call fields
 * over defaults, an Error as MESSAGE + STACK_TRACE + its CODE_FILE/CODE_LINE/CODE_FUNC, and an
 * undefined message throws. Unlike the original it installs everywhere, never blocks on a
 * stalled journald, cleans keys journald would drop, and reads ES module frames.
 */
import { fileURLToPath } from 'node:url';
import { sendList } from '../journal';
import { sanitizeName } from '../journal/sanitize';
import { validFieldName } from '../protocol/journal';
import { LEVEL_NAMES, PRIORITY_TEXT } from '../protocol/levels';

type Fields = Record<string, unknown>;

function key(k: string): string {
  const upper = k.toUpperCase();
  return validFieldName(upper) ? upper : sanitizeName(k);
}

function flatten(prefix: string, value: unknown, out: Map<string, Buffer>): void {
  if (value === undefined) return;
  if (Buffer.isBuffer(value)) out.set(prefix, Buffer.from(value.toString('hex')));
  else if (value === null) out.set(prefix, Buffer.from('null'));
  else if (typeof value === 'object' && !(value instanceof Date) && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Fields)) flatten(key(`${prefix}_${k}`), v, out);
  } else out.set(prefix, Buffer.from(String(value)));
}

function fieldsOf(obj: unknown, out: Map<string, Buffer>): void {
  if (obj === null || typeof obj !== 'object') return;
  for (const [k, v] of Object.entries(obj as Fields)) {
    if (k === 'priority') continue;
    flatten(key(k), v, out);
  }
}

/** CODE_* from the first frame of an Error's stack ("at fn (file:line:col)" or "at file:line:col"). */
function codeFields(err: Error, out: Map<string, Buffer>): void {
  const frame = (err.stack ?? '').split('\n')[1] ?? '';
  const m = /^\s*at (?:(.+?) \()?(.+):(\d+):\d+\)?$/.exec(frame);
  if (!m) return;
  let file = m[2]!;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // keep the URL
    }
  }
  out.set('CODE_FILE', Buffer.from(file));
  out.set('CODE_LINE', Buffer.from(m[3]!));
  if (m[1]) out.set('CODE_FUNC', Buffer.from(m[1]));
}

function log(priority: number, defaults: Fields | undefined, message: unknown, fields?: Fields): void {
  if (message === undefined) throw new Error('Please specify a message');
  const out = new Map<string, Buffer>();
  fieldsOf(defaults, out);
  fieldsOf(fields, out);
  if (message instanceof Error) {
    out.set('MESSAGE', Buffer.from(message.message));
    out.set('STACK_TRACE', Buffer.from(message.stack ?? ''));
    codeFields(message, out);
  } else {
    out.set('MESSAGE', Buffer.from(String(message)));
  }
  out.set('PRIORITY', Buffer.from(PRIORITY_TEXT[priority]!));
  try {
    sendList([...out.entries()], true);
  } catch {
    // The original ignored sd_journal_sendv's result.
  }
}

type Level = (typeof LEVEL_NAMES)[number];
type LevelFn = (message: unknown, fields?: Fields) => void;

interface Journald extends Record<Level, LevelFn> {}
interface JournaldConstructor extends Record<Level, LevelFn> {
  new (defaultFields?: Fields): Journald;
  (defaultFields?: Fields): Journald;
}

const Journald = function (this: { defaults?: Fields } | undefined, defaultFields?: Fields) {
  if (!(this instanceof Journald)) return new (Journald as unknown as new (d?: Fields) => Journald)(defaultFields);
  (this as { defaults?: Fields }).defaults = defaultFields;
  return this;
} as unknown as JournaldConstructor;

LEVEL_NAMES.forEach((name, priority) => {
  (Journald.prototype as Record<string, LevelFn>)[name] = function (this: { defaults?: Fields }, message, fields) {
    log(priority, this.defaults, message, fields);
  };
  (Journald as unknown as Record<string, LevelFn>)[name] = (message, fields) => log(priority, undefined, message, fields);
});

export = Journald;
