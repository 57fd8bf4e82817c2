/**
 * journalctl's rules for `-u`/`--user-unit` arguments (systemd src/basic/unit-name.c
 * unit_name_mangle with UNIT_NAME_MANGLE_GLOB, and journalctl's add_units): a valid unit name is
 * kept; a glob made of valid characters is kept as a pattern; anything else is escaped (`/`
 * becomes `-`, other characters `\xNN`) and, when it has no unit type suffix, gets `.service`.
 * Patterns are matched (fnmatch without escapes) against the unit names the journal holds.
 */

const TYPES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];
const VALID = /^[A-Za-z0-9:\-_.\\]$/;
const VALID_AT = /^[A-Za-z0-9:\-_.\\@]$/;
const VALID_GLOB = /^[A-Za-z0-9:\-_.\\@[\]!*?]$/;
const UNIT_NAME_MAX = 256;

/** A glob: has `*`, `?` or `[` (string_is_glob). */
export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

function typeOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return undefined;
  const t = name.slice(dot + 1);
  return TYPES.includes(t) ? t : undefined;
}

/** unit_name_is_valid(name, UNIT_NAME_ANY): plain, template or instance names with a known type. */
export function isValidUnitName(name: string): boolean {
  if (name === '' || name.length > UNIT_NAME_MAX) return false;
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || typeOf(name) === undefined) return false;
  const stem = name.slice(0, dot);
  const at = stem.indexOf('@');
  if (at === 0) return false;
  const prefix = at < 0 ? stem : stem.slice(0, at);
  for (const c of prefix) if (!VALID.test(c)) return false;
  if (at >= 0) for (const c of stem.slice(at + 1)) if (!VALID_AT.test(c)) return false;
  return true;
}

function isDevicePath(s: string): boolean {
  return s.startsWith('/dev/') || s.startsWith('/sys/');
}

/** unit_name_path_escape + suffix (unit_name_from_path), enough for /dev and mount paths. */
function fromPath(path: string, suffix: string): string {
  const p = path.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  if (p === '') return `-${suffix}`;
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '/') out += '-';
    else if ((c === '.' && i === 0) || !/[A-Za-z0-9:_.]/.test(c)) out += escapeChar(c);
    else out += c;
  }
  return out + suffix;
}

function escapeChar(c: string): string {
  return [...Buffer.from(c)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** unit_name_mangle(name, UNIT_NAME_MANGLE_GLOB): the name journalctl -u looks for (or a pattern). */
export function mangleUnitName(name: string): string {
  if (isValidUnitName(name)) return name;
  if (isGlob(name) && [...name].every((c) => VALID_GLOB.test(c))) return name;
  if (isDevicePath(name)) return fromPath(name, '.device');
  if (name.startsWith('/')) return fromPath(name, '.mount');
  let s = '';
  for (const c of name) s += c === '/' ? '-' : VALID_GLOB.test(c) ? c : escapeChar(c);
  if (!isGlob(s) && typeOf(s) === undefined) s += '.service';
  return s;
}

/** fnmatch(pattern, s, FNM_NOESCAPE): `*`, `?` and bracket expressions (`[a-z]`, `[!x]`). */
export function globMatch(pattern: string, s: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!' || pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j);
        const neg = body.startsWith('!') || body.startsWith('^');
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^')}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(s);
}

/** The fields whose values are the unit names `-u` patterns are matched against (journalctl's SYSTEM_UNITS / USER_UNITS). */
export const SYSTEM_UNIT_FIELDS = ['_SYSTEMD_UNIT', 'UNIT', 'OBJECT_SYSTEMD_UNIT', 'COREDUMP_UNIT', '_SYSTEMD_SLICE'] as const;
export const USER_UNIT_FIELDS = ['_SYSTEMD_USER_UNIT', 'USER_UNIT', 'OBJECT_SYSTEMD_USER_UNIT', 'COREDUMP_USER_UNIT', '_SYSTEMD_USER_SLICE'] as const;
