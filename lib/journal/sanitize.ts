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

function scalar(v: unknown): Buffer | string {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (typeof v === 'string') return v;
  if (v === null) return 'null';
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}

/** A field value: text (UTF-8; lone surrogates become U+FFFD, the logger never rejects) or bytes. */
export type FieldValue = string | Buffer;
export type FieldList = [string, FieldValue][];

const text = (s: string): string => s;

/** Appends `value` under `name` (flattening plain objects) to `out`. */
export function flatten(name: string, value: unknown, out: FieldList, seen?: Set<object>, depth = 0): void {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return;
  if (value instanceof Error) {
    out.push([name, text(`${value.name}: ${value.message}`)]);
    return;
  }
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array) && !(value instanceof Date) && !Array.isArray(value)) {
    // The cycle guard is made only for objects: most fields are scalars (no allocation per field).
    seen ??= new Set();
    if (seen.has(value)) {
      out.push([name, text('[Circular]')]);
      return;
    }
    if (depth >= MAX_DEPTH) {
      out.push([name, text(scalarSafe(value))]);
      return;
    }
    seen.add(value);
    for (const [k, v] of Object.entries(value)) flatten(sanitizeName(`${name}_${sanitizeName(k)}`), v, out, seen, depth + 1);
    seen.delete(value);
    return;
  }
  out.push([name, Array.isArray(value) ? scalarSafe(value) : scalar(value)]);
}

function scalarSafe(v: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(v, (_k, x) => {
      if (typeof x === 'bigint') return x.toString();
      if (x !== null && typeof x === 'object') {
        if (seen.has(x)) return '[Circular]';
        seen.add(x);
      }
      return x;
    });
  } catch {
    return String(v);
  }
}

/** Every top-level key of `fields` as sanitised, flattened journal fields. */
export function objectFields(fields: unknown, out: FieldList): void {
  if (fields === null || fields === undefined || typeof fields !== 'object') return;
  for (const [k, v] of Object.entries(fields)) {
    // An already valid name is kept as is (MESSAGE_ID, CODE_FILE…); others are cleaned.
    flatten(validFieldName(k) ? k : sanitizeName(k), v, out);
  }
}

/** The stack of an Error and of every `cause` after it ("Caused by: …"), cycles cut. */
export function stackChain(err: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    e = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join('\nCaused by: ');
}

/** MESSAGE, ERROR_NAME, ERROR_CODE, ERRNO and STACK_TRACE of an Error. */
export function errorFields(err: Error, out: FieldList, withMessage = true): void {
  if (withMessage) out.push(['MESSAGE', text(err.message)]);
  out.push(['ERROR_NAME', text(err.name)]);
  const code = (err as { code?: unknown }).code;
  if (code !== undefined && code !== null) out.push(['ERROR_CODE', text(String(code))]);
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno === 'number' && Number.isFinite(errno) && errno !== 0) out.push(['ERRNO', text(String(Math.abs(errno)))]);
  out.push(['STACK_TRACE', text(stackChain(err))]);
}

/** Appends the default fields whose names the entry does not have yet. */
export function mergeDefaults(list: FieldList, defaults: FieldList): void {
  if (defaults.length === 0) return;
  const given = new Set(list.map(([n]) => n));
  for (const d of defaults) if (!given.has(d[0])) list.push(d);
}

/** A serialised error (pino's { type, message, stack, code, cause }) or a live Error as fields. */
export function serializedErrorFields(err: unknown, out: FieldList, withMessage: boolean): void {
  if (err instanceof Error) {
    errorFields(err, out, withMessage);
    return;
  }
  if (err === null || typeof err !== 'object') {
    flatten('ERR', err, out);
    return;
  }
  const e = err as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown; code?: unknown; errno?: unknown; cause?: unknown };
  if (withMessage && e.message !== undefined) out.push(['MESSAGE', String(e.message)]);
  const name = e.type ?? e.name;
  if (name !== undefined) out.push(['ERROR_NAME', String(name)]);
  if (e.code !== undefined && e.code !== null) out.push(['ERROR_CODE', String(e.code)]);
  if (typeof e.errno === 'number' && e.errno !== 0) out.push(['ERRNO', String(Math.abs(e.errno))]);
  let stack = typeof e.stack === 'string' ? e.stack : `${String(name ?? 'Error')}: ${String(e.message ?? '')}`;
  // pino's serializer may already have appended the causes ("caused by: …"); otherwise add them.
  if (e.cause !== undefined && !/caused by:/i.test(stack)) {
    const cause = e.cause instanceof Error ? stackChain(e.cause) : typeof (e.cause as { stack?: unknown })?.stack === 'string' ? (e.cause as { stack: string }).stack : JSON.stringify(e.cause);
    stack += `\nCaused by: ${cause}`;
  }
  out.push(['STACK_TRACE', stack]);
}
