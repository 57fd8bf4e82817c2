/**
 * A test oracle: systemd's reading of a unit file, transcribed from its source (v252:
 * src/shared/conf-parser.c config_parse/parse_line, src/basic/extract-word.c
 * extract_first_word, src/basic/escape.c cunescape_one, src/shared/specifier.c
 * specifier_printf, src/core/load-fragment.c config_parse_exec/config_parse_environ,
 * src/basic/env-util.c replace_env). Used only to check the generator's output; the real
 * systemd (systemd-analyze verify, PID 1 in test/system) checks the same output.
 *
 * Every function throws an OracleError where systemd would warn, ignore, or expand something.
 */

export class OracleError extends Error {}

const WHITESPACE = ' \t\n\r';
const LONG_LINE_MAX = 1024 * 1024;

/** The settings of a unit file: section → [key, raw value] in order (continuations joined, values stripped). */
export function parseUnitFile(text: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  let section: string | undefined;
  let continued: string | undefined;
  for (const physical of text.split('\n')) {
    if (Buffer.byteLength(physical) >= LONG_LINE_MAX) throw new OracleError('line too long');
    let l = continued === undefined ? physical : `${continued}${physical}`;
    // An odd run of backslashes at the end: the backslash becomes a space and the next line joins.
    let escaped = false;
    for (const c of l) escaped = escaped ? false : c === '\\';
    if (escaped) {
      continued = `${l.slice(0, -1)} `;
      continue;
    }
    continued = undefined;
    l = strip(l);
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    if (l.startsWith('[')) {
      if (!l.endsWith(']')) throw new OracleError(`bad section ${JSON.stringify(l)}`);
      section = l.slice(1, -1);
      if (!out.has(section)) out.set(section, []);
      continue;
    }
    const eq = l.indexOf('=');
    if (eq < 0 || section === undefined) throw new OracleError(`not an assignment: ${JSON.stringify(l)}`);
    out.get(section)!.push([strip(l.slice(0, eq)), strip(l.slice(eq + 1))]);
  }
  if (continued !== undefined) throw new OracleError('file ends in a continuation');
  return out;
}

function strip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && WHITESPACE.includes(s[a]!)) a++;
  while (b > a && WHITESPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** The values of one key in one section. */
export function values(unit: Map<string, [string, string][]>, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** cunescape_one: the escape after a backslash at s[i]; returns [text, length consumed]. */
function cunescapeOne(s: string, i: number): [string, number] {
  const c = s[i];
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };
  if (c !== undefined && c in simple) return [simple[c]!, 1];
  if (c === 'x') {
    const h = s.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(h) || h === '00') throw new OracleError(`bad escape \\x${h}`);
    return [String.fromCharCode(parseInt(h, 16)), 3];
  }
  if (c === 'u' || c === 'U') {
    const n = c === 'u' ? 4 : 8;
    const h = s.slice(i + 1, i + 1 + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h) || parseInt(h, 16) === 0) throw new OracleError(`bad escape \\${c}${h}`);
    return [String.fromCodePoint(parseInt(h, 16)), n + 1];
  }
  if (c !== undefined && /[0-7]/.test(c)) {
    const o = s.slice(i, i + 3);
    if (!/^[0-3][0-7]{2}$/.test(o) || o === '000') throw new OracleError(`bad escape \\${o}`);
    return [String.fromCharCode(parseInt(o, 8)), 3];
  }
  throw new OracleError(`unknown escape \\${c ?? ''} (systemd keeps it with a warning)`);
}

/**
 * extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) with whitespace separators: the first
 * word and the rest, or undefined at the end.
 */
export function extractWord(p: string): [string, string] | undefined {
  let i = 0;
  while (i < p.length && WHITESPACE.includes(p[i]!)) i++;
  if (i >= p.length) return undefined;
  let word = '';
  let quote: string | undefined;
  for (; i < p.length; ) {
    const c = p[i]!;
    if (c === '\\') {
      if (i + 1 >= p.length) throw new OracleError('trailing backslash');
      const [t, n] = cunescapeOne(p, i + 1);
      word += t;
      i += 1 + n;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
      i++;
    } else if (c === '"' || c === "'") {
      quote = c;
      i++;
    } else if (WHITESPACE.includes(c)) {
      break;
    } else {
      word += c;
      i++;
    }
  }
  if (quote) throw new OracleError('unbalanced quoting');
  return [word, p.slice(i)];
}

/** specifier_printf with no specifier but %%: a `%x` would expand (throws). */
export function unescapeSpecifiers(s: string): string {
  return s.replace(/%(.?)/gsu, (_, c: string) => {
    if (c === '%') return '%';
    throw new OracleError(`specifier %${c} would expand`);
  });
}

/** replace_env at exec time: $$ is $, and $NAME / ${NAME} would expand (throws). */
export function expandEnvironment(s: string): string {
  return s.replace(/\$(\$|\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)?/g, (m, rest: string | undefined) => {
    if (rest === '$') return '$';
    if (rest === undefined) return '$';
    throw new OracleError(`${m} would expand`);
  });
}

/** config_parse_exec + the exec-time expansion: the path and the argv the process receives. */
export function execCommand(raw: string): { path: string; argv: string[] } {
  const first = extractWord(raw);
  if (!first) throw new OracleError('empty ExecStart=');
  let [f, rest] = first;
  let separateArgv0 = false;
  while (/^[@\-:+!]/.test(f)) {
    if (f[0] === '@') separateArgv0 = true;
    else throw new OracleError(`prefix ${f[0]} in the executable`);
    f = f.slice(1);
  }
  const path = unescapeSpecifiers(f);
  // eslint-disable-next-line no-control-regex
  if (!path.startsWith('/') || /[\x00-\x1f\x7f"'\\]/.test(path)) throw new OracleError(`unsafe executable ${JSON.stringify(path)}`);
  const argv: string[] = [];
  if (!separateArgv0) argv.push(path);
  for (;;) {
    const t = rest.replace(/^[ \t\n\r]+/, '');
    if (t === '') break;
    if (/^;([ \t\n\r]|$)/.test(t)) throw new OracleError('a second command (;)');
    if (/^\\;([ \t\n\r]|$)/.test(t)) {
      argv.push(';');
      rest = t.slice(2);
      continue;
    }
    const w = extractWord(t);
    if (!w) break;
    argv.push(unescapeSpecifiers(w[0]));
    rest = w[1];
  }
  return { path, argv: argv.map(expandEnvironment) };
}

/** config_parse_environ: the assignments of one Environment= line. */
export function environment(raw: string): string[] {
  const out: string[] = [];
  let rest = raw;
  for (;;) {
    const w = extractWord(rest);
    if (!w) return out;
    const a = unescapeSpecifiers(w[0]);
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) throw new OracleError(`invalid environment assignment ${JSON.stringify(a)}`);
    out.push(a);
    rest = w[1];
  }
}

/** A setting taken as written (Description=, WorkingDirectory=, User=, paths): specifiers only. */
export function plain(raw: string): string {
  return unescapeSpecifiers(raw);
}

/**
 * `systemctl show -P Environment` (v252): assignments separated by spaces, each one in double
 * quotes with C escapes and \$ when it needs them. Parsed back to the assignments.
 */
export function showEnvironment(shown: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < shown.length) {
    if (shown[i] === ' ') {
      i++;
      continue;
    }
    // Bytes: \xHH and \ooo may be one byte of a UTF-8 sequence.
    const w: number[] = [];
    const text = (t: string) => w.push(...Buffer.from(t, 'utf8'));
    let quote = false;
    for (; i < shown.length; i++) {
      const c = shown[i]!;
      if (c === '\\') {
        const n = shown[i + 1]!;
        if (n === '$') {
          text('$');
          i++;
        } else if (n === 'x') {
          w.push(parseInt(shown.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (/^[0-7]{3}$/.test(shown.slice(i + 1, i + 4))) {
          // Octal: one byte (systemctl escapes the bytes of some UTF-8 sequences so).
          w.push(parseInt(shown.slice(i + 1, i + 4), 8));
          i += 3;
        } else {
          const [t, k] = cunescapeOne(shown, i + 1);
          text(t);
          i += k;
        }
      } else if (c === '"') quote = !quote;
      else if (c === ' ' && !quote) break;
      else {
        const ch = String.fromCodePoint(shown.codePointAt(i)!);
        text(ch);
        i += ch.length - 1;
      }
    }
    out.push(Buffer.from(w).toString('utf8'));
  }
  return out;
}
