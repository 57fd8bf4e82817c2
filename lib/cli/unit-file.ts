/**
 * Writing values into systemd unit files by systemd's own parsing rules (pure functions, no I/O).
 * `libsystemd unit` writes every value through one of these; nothing is quoted anywhere else.
 *
 * How systemd reads a line (src/shared/conf-parser.c, src/core/load-fragment.c, v252):
 * - A unit file is lines; `KEY=VALUE` with the value stripped of leading and trailing
 *   whitespace. A line that ends in an odd number of backslashes continues on the next line. A
 *   line longer than LONG_LINE_MAX (1 MiB) fails the whole file. A newline in a value would start
 *   a new setting (or a new `[Section]`): nothing here ever writes a raw control character.
 * - Specifiers (`%h`, `%n`, …) are expanded in nearly every setting, after unquoting: a literal
 *   `%` is `%%` everywhere (systemd.unit(5), "Specifiers").
 * - `ExecStart=` (config_parse_exec) and `Environment=` (config_parse_environ) split words with
 *   extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE): "double quotes" group a word, and a
 *   backslash starts a C escape inside or outside quotes (cunescape_one: \\ \" \n \t \xHH …;
 *   \x00 is refused). An unknown escape is kept with a warning, so `\$` is not `$`.
 * - `ExecStart=` arguments are expanded again when the command runs (replace_env_argv): `$VAR`
 *   and `${VAR}` become the variable, `$$` a `$`. `Environment=` values are not.
 * - The executable itself must pass string_is_safe(): no control characters, quotes or
 *   backslashes; its first characters `@ - : + !` are prefixes (after unquoting), so it is always
 *   written as an absolute path.
 * - Settings that take a value as written (Description=, WorkingDirectory=, User=,
 *   ListenStream= paths, FileDescriptorName=, LoadCredential= paths) have no quoting at all: a
 *   value with a control character, leading or trailing whitespace, or an odd run of trailing
 *   backslashes cannot be written there, and is refused.
 * - A NUL cannot be in any value, and systemd reads only valid UTF-8 (a lone surrogate in a
 *   JavaScript string has no UTF-8 form; unichar_is_valid() also refuses the noncharacters
 *   U+FDD0–U+FDEF and U+xFFFE/U+xFFFF: "String is not UTF-8 clean, ignoring assignment").
 */
import { invalidValue, InvalidArgumentError } from '../errors';

/** conf-parser's LONG_LINE_MAX: a longer line fails the whole unit file. */
export const LONG_LINE_MAX = 1024 * 1024;
/** The kernel's MAX_ARG_STRLEN (32 pages) less the NUL: a longer argument or environment string fails exec with E2BIG. */
export const MAX_ARG_STRLEN = 32 * 4096 - 1;

/** A value as it appears in an error message: JSON-quoted unless it is plain, so a newline never cuts the message. */
export function shown(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./~^-]+$/.test(value) ? value : JSON.stringify(value);
}

/** A refused value: `ERR_INVALID_ARG_VALUE`, one line (`--flag "value": reason`), exit 2 in the CLI. */
export class UnitValueError extends InvalidArgumentError {
  constructor(what: string, value: string, reason: string) {
    super('ERR_INVALID_ARG_VALUE', '', '');
    this.message = `${what} ${shown(value)}: ${reason}`;
  }
}

/** Refuses what no setting can hold: a NUL, text that is not valid Unicode (no UTF-8 form). */
function checkText(what: string, value: string): void {
  if (value.includes('\0')) throw new UnitValueError(what, value, 'a NUL byte cannot be written into a unit file');
  if (!isWellFormed(value)) throw new UnitValueError(what, value, 'not valid Unicode (a lone surrogate has no UTF-8 form; systemd reads UTF-8)');
  const nonchar = noncharacter(value);
  if (nonchar !== undefined) throw new UnitValueError(what, value, `U+${nonchar.toString(16).toUpperCase()} is a Unicode noncharacter, which systemd refuses as not UTF-8 clean (unichar_is_valid)`);
}

/** The first code point systemd's unichar_is_valid() refuses: U+FDD0–U+FDEF and U+xFFFE/U+xFFFF of every plane. */
export function noncharacter(value: string): number | undefined {
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return cp;
  }
  return undefined;
}

function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is Node 20+; the same test by hand for older runtimes.
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === 'function') return f.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** `%` → `%%`: systemd expands specifiers in the setting. */
export function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * A value for a setting that takes it as written (Description=, WorkingDirectory=, User=,
 * paths, names): specifiers escaped; refused when the line could not hold it exactly.
 */
export function plainValue(what: string, value: string, { specifiers = true }: { specifiers?: boolean } = {}): string {
  checkText(what, value);
  if (value === '') throw new UnitValueError(what, value, 'empty');
  // eslint-disable-next-line no-control-regex
  const cc = /[\x00-\x1f\x7f]/.exec(value);
  if (cc) throw new UnitValueError(what, value, `a control character (${JSON.stringify(cc[0])}) cannot be written into this setting: systemd takes it as written, and a newline would start a new line of the unit file`);
  // conf-parser strips WHITESPACE (" \t\n\r") around a value; other spaces (U+00A0…) stay.
  if (/^[ \t\n\r]|[ \t\n\r]$/.test(value)) throw new UnitValueError(what, value, 'leading or trailing whitespace cannot be written into this setting (systemd strips it)');
  if (/(^|[^\\])(\\\\)*\\$/.test(value)) throw new UnitValueError(what, value, 'a trailing backslash cannot be written into this setting (systemd would join the next line to it)');
  return specifiers ? escapeSpecifiers(value) : value;
}

/** PATH_MAX and NAME_MAX: systemd refuses a longer path ("Failed to resolve unit specifiers") or path component. */
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** A path for a setting that takes it as written (WorkingDirectory=, StateDirectory=, a credential's path). */
export function pathValue(what: string, value: string): string {
  const out = plainValue(what, value);
  if (Buffer.byteLength(value) >= PATH_MAX) throw new UnitValueError(what, `${value.slice(0, 40)}…`, `${Buffer.byteLength(value)} bytes: systemd refuses a path of ${PATH_MAX} bytes or more`);
  const long = value.split('/').find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined) throw new UnitValueError(what, `${value.slice(0, 40)}…`, `a path component of ${Buffer.byteLength(long)} bytes: at most ${NAME_MAX}`);
  return out;
}

/** C escapes systemd's cunescape_one() reads back; other control characters as \xHH. */
const C_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

/** Characters a word may hold without quotes (none that extract_first_word, specifiers or $ treat specially). */
const BARE = /^[A-Za-z0-9_@+=:,./^~-]+$/;

/**
 * One word for a quoted, C-unescaped list (an `ExecStart=` argument with `dollar: true`, an
 * `Environment=` assignment with `dollar: false`): as is when it holds only plain characters,
 * otherwise in double quotes with C escapes, `%` as `%%` and (`dollar`) `$` as `$$`.
 */
export function quotedWord(what: string, value: string, { dollar }: { dollar: boolean }): string {
  checkText(what, value);
  if (Buffer.byteLength(value) > MAX_ARG_STRLEN) throw new UnitValueError(what, `${value.slice(0, 40)}…`, `${Buffer.byteLength(value)} bytes: the kernel refuses one argument or environment string over ${MAX_ARG_STRLEN} bytes (E2BIG)`);
  if (BARE.test(value)) return value;
  // eslint-disable-next-line no-control-regex
  let s = value.replace(/[\\"\x00-\x1f\x7f]/g, (c) => C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  s = escapeSpecifiers(s);
  if (dollar) s = s.replace(/\$/g, '$$$$');
  return `"${s}"`;
}

/**
 * An `ExecStart=` command line: the executable (an absolute path systemd accepts) and its
 * arguments, every word exactly as the process receives it.
 */
export function commandLine(argv: readonly string[]): string {
  const [path, ...args] = argv;
  if (path === undefined) throw new UnitValueError('--exec', '', 'no command');
  checkText('--exec', path);
  if (!path.startsWith('/')) throw new UnitValueError('--exec', path, 'the program must be an absolute path');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f"'\\]/.test(path)) throw new UnitValueError('--exec', path, 'systemd refuses an executable path with quotes, backslashes or control characters; move or link it to a plain path');
  // The path is not $-expanded, but argv[0] (the path again, by default) is: then give argv[0] with @.
  const head = path.includes('$') ? `@${quotedWord('--exec', path, { dollar: false })} ${quotedWord('--exec', path, { dollar: true })}` : quotedWord('--exec', path, { dollar: false });
  return [head, ...args.map((a) => quotedWord('--arg', a, { dollar: true }))].join(' ');
}

/** One `Environment=` assignment `KEY=VALUE` (the value taken literally: no $ expansion there). */
export function environmentAssignment(assignment: string): string {
  checkText('--env', assignment);
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(assignment)) throw new UnitValueError('--env', assignment, 'KEY=VALUE (KEY: letters, digits and _, not starting with a digit)');
  return quotedWord('--env', assignment, { dollar: false });
}

/** `KEY=VALUE` as one line, refused when it would be longer than systemd reads. */
export function line(key: string, value: string): string {
  const text = `${key}=${value}`;
  if (Buffer.byteLength(text) >= LONG_LINE_MAX) throw invalidValue(`${key}= line`, `would be ${Buffer.byteLength(text)} bytes; systemd fails a unit file with a line of ${LONG_LINE_MAX} bytes or more`);
  return text;
}

/**
 * A unit name part (the file name of a .socket unit made from a socket's name): characters
 * systemd allows in unit names as they are, others as \xHH (as systemd-escape writes them).
 */
export function unitNamePart(name: string): string {
  return Array.from(Buffer.from(name, 'utf8'))
    .map((b) => (/[A-Za-z0-9:_.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
    .join('');
}

/** A word for a POSIX shell (the "next:" commands printed for the user to paste). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
