/**
 * `libsystemd logs [options] [FIELD=value…]`: journalctl's common flags over journal.query /
 * journal.follow, for scripts and as the reader's demo. Output: short (journalctl's), json
 * (one object per line, journalctl's shape), export (binary-safe) or cat (MESSAGE only).
 */
import { hostname } from 'node:os';
import { NO_PERMISSION } from '../journal/access';
import { closest, follow, plan, query, type JournalEntry, type JournalQueryOptions } from '../journal/reader';
import { PRIORITIES } from '../protocol/levels';

/** The flag each option comes from, to word the API's refusals as the command line's. */
const FLAGS: Record<string, string> = {
  unit: '--unit', userUnit: '--user-unit', identifier: '--identifier', priority: '--priority', boot: '--boot', since: '--since', until: '--until',
  cursor: '--cursor', afterCursor: '--after-cursor', lines: '--lines', fields: '--output-fields', directory: '--directory', files: '--file', namespace: '--namespace', match: 'FIELD=value', options: 'the options',
};

/** An API refusal (`The options.since must be …`) in the command line's words (`--since: must be …`). */
function cliWording(err: unknown): Error {
  const m = (err as Error).message;
  const a = /^The (?:value of ")?options(?:\.([A-Za-z]+))?[.\w]*"? (.*)$/s.exec(m);
  if (!a) return err as Error;
  const flag = FLAGS[a[1] ?? 'options'] ?? 'the options';
  return new Error(`${flag}: ${a[2]!.split('\n')[0]!.replace(/^is /, '')}`);
}

export const LOGS_USAGE = `libsystemd logs [options] [FIELD=value ... [+ FIELD=value ...]]
  -u, --unit UNIT        a system unit's entries (repeatable)
  --user-unit UNIT       a user unit's entries (repeatable)
  -t, --identifier ID    SYSLOG_IDENTIFIER (repeatable)
  -p, --priority LEVEL   this priority or more important (0-7 or emerg … debug)
  -b, --boot [ID]        this boot, or the boot with that id
  -S, --since TIME       from this time (ISO 8601, or relative: -1h, -30min, -2d)
  -U, --until TIME       up to this time
  -c, --cursor CURSOR    from the entry with this cursor
  --after-cursor CURSOR  after the entry with this cursor
  -n, --lines N          the last N entries
  -r, --reverse          newest first
  -f, --follow           keep printing new entries (Ctrl-C ends)
  -o, --output FORMAT    short (default), json, export or cat
  --output-fields A,B    only these fields (json, export)
  -D, --directory DIR    read the journal files in DIR
  --file FILE            read this journal file (repeatable)
  --namespace NAME       a journal namespace
  --system, --user       only the system's, or only this user's, journal files
  --help                 this text`;

type Output = 'short' | 'json' | 'export' | 'cat';

export interface LogsArgs {
  readonly options: JournalQueryOptions;
  readonly follow: boolean;
  readonly output: Output;
}

/** Parses the flags; a mistake throws an Error whose message is the one line to print. */
export function parseLogsArgs(argv: readonly string[]): LogsArgs {
  const o: Record<string, unknown> = {};
  const push = (k: string, v: string): void => {
    ((o[k] ??= []) as string[]).push(v);
  };
  const matches: string[] = [];
  let followMode = false;
  let output: Output = 'short';
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let inline: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-u': case '--unit': push('unit', value()); break;
      case '--user-unit': push('userUnit', value()); break;
      case '-t': case '--identifier': push('identifier', value()); break;
      case '-p': case '--priority': {
        const v = value();
        if (/^[0-7]$/.test(v)) o.priority = Number(v);
        else if (Object.hasOwn(PRIORITIES, v)) o.priority = v;
        else {
          const near = closest(v, Object.keys(PRIORITIES));
          throw new Error(`--priority ${v}: 0-7 or ${Object.keys(PRIORITIES).join(', ')}${near ? ` (did you mean ${near}?)` : ''}`);
        }
        break;
      }
      case '-b': case '--boot': {
        const next = inline ?? argv[i + 1];
        if (next !== undefined && /^[0-9a-f]{32}$|^[0-9a-f-]{36}$/i.test(next)) {
          o.boot = next;
          if (inline === undefined) i++;
        } else o.boot = true;
        break;
      }
      case '-S': case '--since': o.since = value(); break;
      case '-U': case '--until': o.until = value(); break;
      case '-c': case '--cursor': o.cursor = value(); break;
      case '--after-cursor': o.afterCursor = value(); break;
      case '-n': case '--lines': {
        const v = value();
        // At most INT_MAX (what sd_journal_previous_skip takes): a usage error, like a non-number.
        if (!/^\d+$/.test(v) || Number(v) > 2 ** 31 - 1) throw new Error(`--lines ${v}: a number of entries from 0 to 2147483647`);
        o.lines = Number(v);
        break;
      }
      case '-r': case '--reverse': o.reverse = true; break;
      case '-f': case '--follow': followMode = true; break;
      case '-o': case '--output': {
        const v = value();
        if (v !== 'short' && v !== 'json' && v !== 'export' && v !== 'cat') throw new Error(`--output ${v}: short, json, export or cat`);
        output = v;
        break;
      }
      case '--output-fields': o.fields = value().split(',').filter((f) => f !== ''); break;
      case '-D': case '--directory': o.directory = value(); break;
      case '--file': push('files', value()); break;
      case '--namespace': o.namespace = value(); break;
      case '--system': o.system = true; break;
      case '--user': o.user = true; break;
      default:
        if (a === '+' || /^[A-Z0-9_]+=/.test(a)) matches.push(argv[i]!);
        else throw new Error(`unknown option ${a}`);
    }
  }
  if (matches.length) o.match = matches;
  if (followMode && o.reverse) throw new Error('--follow and --reverse exclude each other');
  if (followMode && o.lines === undefined && o.cursor === undefined && o.afterCursor === undefined && o.since === undefined) o.lines = 10;
  // The API's checks, worded for the command line (one line, exit 2).
  try {
    plan(o as JournalQueryOptions);
  } catch (err) {
    throw cliWording(err);
  }
  return { options: o as JournalQueryOptions, follow: followMode, output };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const text = (v: unknown): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? text(v[0]) : Buffer.isBuffer(v) ? v.toString() : String(v));
const host = hostname();

/** journalctl's short format: `Nov 27 13:25:33 host ident[pid]: message`. */
function short(e: JournalEntry): string {
  const d = e.realtime;
  const p = (n: number) => String(n).padStart(2, '0');
  const f = e.fields;
  const ident = text(f.SYSLOG_IDENTIFIER) ?? text(f._COMM) ?? 'unknown';
  const pid = text(f.SYSLOG_PID) ?? text(f._PID);
  const msg = Buffer.isBuffer(f.MESSAGE) ? `[${f.MESSAGE.length}B blob data]` : (text(f.MESSAGE) ?? '');
  return `${MONTHS[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${text(f._HOSTNAME) ?? host} ${ident}${pid ? `[${pid}]` : ''}: ${msg}\n`;
}

/** journalctl's json format: strings, byte arrays for binary values, arrays for repeated fields. */
function json(e: JournalEntry): string {
  const o: Record<string, unknown> = { __CURSOR: e.cursor, __REALTIME_TIMESTAMP: String(e.realtimeUsecNumber), __MONOTONIC_TIMESTAMP: String(e.monotonicUsecNumber) };
  const one = (v: string | Buffer): unknown => (Buffer.isBuffer(v) ? [...v] : v);
  for (const [k, v] of Object.entries(e.fields)) o[k] = Array.isArray(v) ? v.map(one) : one(v);
  return `${JSON.stringify(o)}\n`;
}

/** The export format (binary-safe). */
function exportFormat(e: JournalEntry): Buffer {
  const parts: Buffer[] = [Buffer.from(`__CURSOR=${e.cursor}\n__REALTIME_TIMESTAMP=${e.realtimeUsecNumber}\n__MONOTONIC_TIMESTAMP=${e.monotonicUsecNumber}\n`)];
  for (const [k, v] of Object.entries(e.fields)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      const b = Buffer.isBuffer(x) ? x : Buffer.from(x);
      const printable = !b.includes(10) && !Buffer.isBuffer(x);
      if (printable) parts.push(Buffer.from(`${k}=`), b, Buffer.from('\n'));
      else {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(b.length));
        parts.push(Buffer.from(`${k}\n`), len, b, Buffer.from('\n'));
      }
    }
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Prints the entries; resolves with the exit code. */
export async function logs(args: LogsArgs): Promise<number> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let broken = false;
  process.stdout.on('error', () => {
    // `libsystemd logs | head`: the reader went away
    broken = true;
    ac.abort();
  });
  const format = args.output === 'json' ? json : args.output === 'export' ? exportFormat : args.output === 'cat' ? (e: JournalEntry) => `${text(e.fields.MESSAGE) ?? ''}\n` : short;
  // The reader's warnings (journalctl's hint about the systemd-journal group, "No journal files
  // were found.") as this command's lines, not Node's "(node:PID) Warning:".
  process.removeAllListeners('warning');
  process.on('warning', (w) => process.stderr.write(`libsystemd logs: ${w.message}\n`));
  try {
    const it = (args.follow ? follow : query)({ ...args.options, signal: ac.signal });
    for await (const e of it) {
      if (broken) break;
      if (!process.stdout.write(format(e))) await new Promise((r) => {
        process.stdout.once('drain', r);
        process.stdout.once('error', r);
      });
    }
  } catch (err) {
    // journalctl's own line for a user who may read no journal file (exit 1).
    if ((err as { code?: string }).code === 'EACCES' && (err as Error).message.includes(NO_PERMISSION)) throw Object.assign(new Error(NO_PERMISSION), { code: 'EACCES' });
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
