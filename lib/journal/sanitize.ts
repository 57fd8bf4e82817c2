/**
 * Turning arbitrary objects into journal fields without ever rejecting them: names are
 * upper-cased and cleaned (`userId` → `USER_ID`), nested objects flattened with `_`, other values
 * stringified; Errors become MESSAGE, ERROR_NAME, ERROR_CODE, ERRNO and STACK_TRACE with the
 * whole `cause` chain. Shared by the logger and the pino/winston transports.
 */
import { validFieldName } from '../protocol/journal';

const cache = new Map<string, string>();

/** A valid journal field name for any key, keeping it recognisable. */
export function sanitizeName(key: string): string {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let s = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .replace(/^_+/, '');
  if (s === '') s = 'FIELD';
  if (/^[0-9]/.test(s)) s = `F_${s}`;
  s = s.slice(0, 64);
  if (cache.size < 10_000) cache.set(key, s);
  return s;
}

const MAX_DEPTH = 8;

/**
 * Any value as text, never throwing: String() throws for an object without a prototype (no
 * toString), a throwing toString or Symbol.toPrimitive, a revoked Proxy. Objects go through JSON
 * (Maps and Sets included), then String(), then their tag.
 */
export function safeString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') {
    const json = scalarSafe(v);
    if (json !== undefined) return json;
  }
  try {
    return String(v);
  } catch {
    // no usable conversion
  }
  try {
    return Object.prototype.toString.call(v);
  } catch {
    return '[unprintable value]';
  }
}

/** A property read that never throws (a getter may): the value, or undefined and the reason. */
export function safeGet(o: unknown, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch (err) {
    return `[${key} could not be read: ${reason(err)}]`;
  }
}

/** What went wrong, for the text of a placeholder (an error whose own message may throw). */
function reason(err: unknown): string {
  try {
    return err instanceof Error ? `${String(err.name)}: ${String(err.message)}` : String(err);
  } catch {
    return 'unknown error';
  }
}

function scalar(v: unknown): Buffer | string {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  return safeString(v);
}

/** A field value: text (UTF-8; lone surrogates become U+FFFD, the logger never rejects) or bytes. */
export type FieldValue = string | Buffer;
export type FieldList = [string, FieldValue][];

const text = (s: string): string => s;

/** Appends `value` under `name` (flattening plain objects and Maps) to `out`; never throws. */
export function flatten(name: string, value: unknown, out: FieldList, seen?: Set<object>, depth = 0): void {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return;
  if (value instanceof Error) {
    out.push([name, text(`${safeString(safeGet(value, 'name'))}: ${safeString(safeGet(value, 'message'))}`)]);
    return;
  }
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array) && !(value instanceof Date) && !Array.isArray(value) && !(value instanceof Set)) {
    // The cycle guard is made only for objects: most fields are scalars (no allocation per field).
    seen ??= new Set();
    if (seen.has(value)) {
      out.push([name, text('[Circular]')]);
      return;
    }
    if (depth >= MAX_DEPTH) {
      out.push([name, text(safeString(value))]);
      return;
    }
    let entries: [unknown, unknown][];
    try {
      // A Map's entries are its fields (JSON would give {}); a getter or a Proxy may throw.
      entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    } catch (err) {
      out.push([name, text(`[unreadable object: ${reason(err)}]`)]);
      return;
    }
    seen.add(value);
    for (const [k, v] of entries) flatten(sanitizeName(`${name}_${sanitizeName(safeString(k))}`), v, out, seen, depth + 1);
    seen.delete(value);
    return;
  }
  out.push([name, Array.isArray(value) || value instanceof Set ? (scalarSafe(value) ?? safeString(value)) : scalar(value)]);
}

/** JSON of any value (bigints as text, cycles cut, Maps as objects, Sets as arrays), or undefined when it cannot be had. */
function scalarSafe(v: unknown): string | undefined {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return x.toString();
      if (x !== null && typeof x === 'object') {
        if (seen.has(x)) return '[Circular]';
        seen.add(x);
        if (x instanceof Map) return Object.fromEntries([...x.entries()].map(([k, y]) => [safeString(k), y]));
        if (x instanceof Set) return [...x];
      }
      return x;
    });
  } catch {
    return undefined;
  }
}

/** Every top-level key of `fields` as sanitised, flattened journal fields (never throws). */
export function objectFields(fields: unknown, out: FieldList): void {
  if (fields === null || fields === undefined || typeof fields !== 'object') return;
  let entries: [string, unknown][];
  try {
    entries = Object.entries(fields);
  } catch (err) {
    out.push(['FIELDS', `[unreadable object: ${reason(err)}]`]);
    return;
  }
  for (const [k, v] of entries) {
    // An already valid name is kept as is (MESSAGE_ID, CODE_FILE…); others are cleaned.
    flatten(validFieldName(k) ? k : sanitizeName(k), v, out);
  }
}

/** The one wording between an error and its cause, whichever logger wrote it. */
export const CAUSED_BY = '\nCaused by: ';

/**
 * The stack of an Error, of each of an AggregateError's `errors` ("errors[i]: …", indented), and
 * of every `cause` after it ("Caused by: …"), cycles cut; a throwing getter gives a placeholder.
 */
export function stackChain(err: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    parts.push(oneStack(e, seen, ''));
    e = e instanceof Error ? safeGet(e, 'cause') : undefined;
  }
  return parts.join(CAUSED_BY);
}

function oneStack(e: unknown, seen: Set<unknown>, indent: string): string {
  if (!(e instanceof Error)) return safeString(e);
  const stack = safeGet(e, 'stack');
  let s = typeof stack === 'string' ? stack : `${safeString(safeGet(e, 'name'))}: ${safeString(safeGet(e, 'message'))}`;
  const inner = safeGet(e, 'errors');
  if (Array.isArray(inner) && indent.length < 16) {
    inner.forEach((x, i) => {
      if (seen.has(x)) return;
      seen.add(x);
      const sub = indent + '    ';
      s += `\n${sub}errors[${i}]: ${oneStack(x, seen, sub).replace(/\n/g, `\n${sub}`)}`;
      // An inner error's own causes, under it.
      let c = x instanceof Error ? safeGet(x, 'cause') : undefined;
      while (c !== undefined && c !== null && !seen.has(c)) {
        seen.add(c);
        s += `\n${sub}Caused by: ${oneStack(c, seen, sub).replace(/\n/g, `\n${sub}`)}`;
        c = c instanceof Error ? safeGet(c, 'cause') : undefined;
      }
    });
  }
  return s;
}

/** MESSAGE, ERROR_NAME, ERROR_CODE, ERRNO, ERROR_COUNT (AggregateError) and STACK_TRACE of an Error; never throws. */
export function errorFields(err: Error, out: FieldList, withMessage = true): void {
  if (withMessage) out.push(['MESSAGE', text(safeString(safeGet(err, 'message')))]);
  out.push(['ERROR_NAME', text(safeString(safeGet(err, 'name')))]);
  const code = safeGet(err, 'code');
  if (code !== undefined && code !== null) out.push(['ERROR_CODE', text(safeString(code))]);
  const errno = safeGet(err, 'errno');
  if (typeof errno === 'number' && Number.isFinite(errno) && errno !== 0) out.push(['ERRNO', text(String(Math.abs(errno)))]);
  const inner = safeGet(err, 'errors');
  if (Array.isArray(inner)) out.push(['ERROR_COUNT', String(inner.length)]);
  out.push(['STACK_TRACE', text(stackChain(err))]);
}

/** Appends the default fields whose names the entry does not have yet. */
export function mergeDefaults(list: FieldList, defaults: FieldList): void {
  if (defaults.length === 0) return;
  const given = new Set(list.map(([n]) => n));
  for (const d of defaults) if (!given.has(d[0])) list.push(d);
}

/** A serialised error (pino's { type, message, stack, code, cause, aggregateErrors }) or a live Error as fields; never throws. */
export function serializedErrorFields(err: unknown, out: FieldList, withMessage: boolean): void {
  if (err instanceof Error) {
    errorFields(err, out, withMessage);
    return;
  }
  if (err === null || typeof err !== 'object') {
    flatten('ERR', err, out);
    return;
  }
  const get = (k: string): unknown => safeGet(err, k);
  const message = get('message');
  if (withMessage && message !== undefined) out.push(['MESSAGE', safeString(message)]);
  const name = get('type') ?? get('name');
  if (name !== undefined) out.push(['ERROR_NAME', safeString(name)]);
  const code = get('code');
  if (code !== undefined && code !== null) out.push(['ERROR_CODE', safeString(code)]);
  const errno = get('errno');
  if (typeof errno === 'number' && errno !== 0) out.push(['ERRNO', String(Math.abs(errno))]);
  const stackValue = get('stack');
  // pino's serializer writes its causes as "\ncaused by: …": one wording for every logger.
  let stack = typeof stackValue === 'string' ? stackValue.replace(/\ncaused by: /g, CAUSED_BY) : `${safeString(name ?? 'Error')}: ${safeString(message ?? '')}`;
  // pino-std-serializers keeps an AggregateError's errors as `aggregateErrors` (serialised).
  const inner = get('aggregateErrors') ?? get('errors');
  if (Array.isArray(inner)) {
    out.push(['ERROR_COUNT', String(inner.length)]);
    inner.forEach((x, i) => {
      const st = x instanceof Error ? stackChain(x) : typeof safeGet(x, 'stack') === 'string' ? (safeGet(x, 'stack') as string).replace(/\ncaused by: /g, CAUSED_BY) : safeString(x);
      stack += `\n    errors[${i}]: ${st.replace(/\n/g, '\n    ')}`;
    });
  }
  // pino's serializer may already have appended the causes; otherwise add them.
  const cause = get('cause');
  if (cause !== undefined && !stack.includes(CAUSED_BY)) {
    const c = cause instanceof Error ? stackChain(cause) : typeof safeGet(cause, 'stack') === 'string' ? (safeGet(cause, 'stack') as string) : safeString(cause);
    stack += `${CAUSED_BY}${c}`;
  }
  out.push(['STACK_TRACE', stack]);
}
