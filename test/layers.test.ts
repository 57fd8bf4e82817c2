/**
 * The seam, checked on every run by reading the imports of lib/:
 *   errors.ts, timers.ts (durations of any length) and protocol/ are the floor: they import nothing of ours above them;
 *   addon.ts sits on the floor; backends/ on the addon and the floor, never on a public area;
 *   public areas (activation, notify, journal/, service/, auto/, loggers, compat/, cli/, capabilities, and
 *   index, the entry above them all)
 *   reach a backend only through backends/contract and backends/select, and never the addon;
 *   no import cycle between these units;
 * and the knowledge written once: one priority table, one list of LISTEN_* variables, one
 * LISTEN_FDS_START, errno numbers only in the E table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = join(__dirname, '..', 'lib');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** lib-relative path without extension, e.g. `backends/js`, `journal/index`. */
const SOURCES = new Map(files(LIB).map((f) => [relative(LIB, f).replace(/\.ts$/, ''), readFileSync(f, 'utf8')]));

/** Source without comments (so documentation may name anything). */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** The modules of ours a file imports (static, require, import() and type imports). */
function importsOf(mod: string): string[] {
  const src = code(SOURCES.get(mod)!);
  const out = new Set<string>();
  for (const m of src.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.[^'"]*)['"]/g)) {
    let target = posix.normalize(posix.join(posix.dirname(mod), m[1]!));
    if (!SOURCES.has(target) && SOURCES.has(`${target}/index`)) target = `${target}/index`;
    if (!SOURCES.has(target)) throw new Error(`${mod} imports ${m[1]}, which is not a module of lib/`);
    out.add(target);
  }
  return [...out];
}

const FOLDERS = new Set([...SOURCES.keys()].filter((m) => m.includes('/')).map((m) => m.split('/')[0]!));

/** The unit a module belongs to: its folder (lib/cli.ts, the entry of cli/, belongs to cli/), or `public` for the other top-level areas. */
function unit(mod: string): string {
  if (mod === 'errors' || mod === 'addon' || mod === 'timers') return mod;
  // The package's entry sits above every area (nothing imports it).
  if (mod === 'index') return 'entry';
  if (!mod.includes('/')) return FOLDERS.has(mod) ? mod : 'public';
  return mod.split('/')[0]!;
}

const PUBLIC_UNITS = new Set(['public', 'journal', 'compat', 'cli', 'service', 'auto', 'serve', 'entry']);
const ALLOWED: Record<string, (target: string) => boolean> = {
  errors: () => false,
  timers: (t) => t === 'errors',
  protocol: (t) => unit(t) === 'protocol' || t === 'errors',
  addon: () => false,
  backends: (t) => ['protocol', 'backends', 'errors', 'timers', 'addon'].includes(unit(t)),
  // Public areas: the contract, the floor and each other; never the addon or a backend's internals.
  public: (t) => PUBLIC_UNITS.has(unit(t)) || ['protocol', 'errors', 'timers'].includes(unit(t)) || t === 'backends/contract' || t === 'backends/select',
};

describe('the seam', () => {
  const edges = [...SOURCES.keys()].flatMap((m) => importsOf(m).map((t) => [m, t] as const));

  it('every import follows the layering', () => {
    const broken = edges.filter(([m, t]) => !(ALLOWED[unit(m)] ?? ALLOWED.public!)(t)).map(([m, t]) => `${m} -> ${t}`);
    expect(broken).toEqual([]);
  });

  it('no import cycle between units', () => {
    const graph = new Map<string, Set<string>>();
    for (const [m, t] of edges) {
      const [a, b] = [unit(m), unit(t)];
      if (a !== b) (graph.get(a) ?? graph.set(a, new Set()).get(a)!).add(b);
    }
    const cycles: string[] = [];
    const visit = (u: string, path: string[]): void => {
      if (path.includes(u)) {
        cycles.push([...path.slice(path.indexOf(u)), u].join(' -> '));
        return;
      }
      for (const v of graph.get(u) ?? []) visit(v, [...path, u]);
    };
    for (const u of graph.keys()) visit(u, []);
    expect(cycles).toEqual([]);
  });

  /** Modules whose code matches `re`. */
  const where = (re: RegExp): string[] => [...SOURCES].filter(([, src]) => re.test(code(src))).map(([m]) => m);

  it('one priority table: level names are mapped to priorities only in protocol/levels', () => {
    // name: number pairs, the ordered list of names, pino's numeric levels.
    expect(where(/\b(emerg|alert|crit|critical|err|error|warning|warn|notice|info|debug|fatal|trace|verbose|silly|http)['"]?\s*:\s*['"]?[0-7]['"]?\s*[,}]/)).toEqual(['protocol/levels']);
    expect(where(/['"]emerg['"]\s*,\s*['"]alert['"]|['"]EMERG['"]\s*,\s*['"]ALERT['"]/)).toEqual(['protocol/levels']);
    expect(where(/\b[1-6]0\s*:\s*['"]?(debug|info|warning|err|crit|[0-7])\b/)).toEqual(['protocol/levels']);
  });

  it('one list of LISTEN_* variables, one LISTEN_FDS_START, errno numbers only in the E table', () => {
    expect(where(/\[[^\]]*['"]LISTEN_\w+['"][^\]]*['"]LISTEN_\w+['"]/)).toEqual(['protocol/listen']);
    expect(where(/delete\s+[\w.]*env(\.|\[['"])LISTEN_/)).toEqual([]);
    expect(where(/LISTEN_FDS_START\s*=/)).toEqual(['protocol/listen']);
    // A negative errno written as a literal (return -22, rc === -2) instead of -E.EINVAL.
    expect(where(/(return|===|!==|=)\s*-(2|5|9|11|22|34|90|95|105|110|111)\b/)).toEqual([]);
  });

  it('nothing outside the addon loader and the backends touches the addon', () => {
    expect(where(/\.binding\b|load\.binding|NativeBinding/).filter((m) => unit(m) !== 'backends' && m !== 'addon')).toEqual([]);
  });
});
