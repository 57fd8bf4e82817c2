/**
 * Reading the journal without libsystemd: `journalctl -o export --all` (binary-safe, every byte
 * of every value; `-o json` turns long values into null and binary ones into arrays), parsed as
 * it streams. One process per position and direction, read lazily (its pipe applies
 * backpressure); following is `journalctl -f` after the last cursor read.
 */
import type { ChildProcess } from 'node:child_process';
import { E } from '../errors';
import { addField, ExportParser, fieldValue, JournalEntry, type JournalEntryFields, type JournalFieldValue } from '../protocol/journal-entry';
import type { JournalBatch, JournalFilter, JournalOpen, JournalSeek, JournalSource, JournalWake } from './contract';
import { longTimeout } from '../timers';

const JOURNALCTL = process.env.LIBSYSTEMD_JOURNALCTL || 'journalctl';
/** Entries parsed ahead of the reader before journalctl's pipe is paused. */
const HIGH_WATER = 4096;

const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

/** `@seconds.micro` for --since/--until. */
function at(usec: number): string {
  return `@${Math.floor(usec / 1e6)}.${String(usec % 1e6).padStart(6, '0')}`;
}

interface Stream {
  proc: ChildProcess;
  readonly parser: ExportParser;
  readonly direction: 1 | -1;
  readonly follow: boolean;
  ended: boolean;
  error?: number;
  /** Called when entries arrive or the process ends. */
  notify?: () => void;
  /** The first entry is the cursor's own and must be dropped (a backward `--after-cursor`). */
  dropCursor?: string;
  /** Entries read again without a corrupted field (journalctl: "Invalid field."), not yet reported. */
  skipped: number;
  firstSkipped?: string;
  /** Entries already read again that way (the same one failing twice is an error, not a loop). */
  readonly recovered: Set<string>;
}

/** The first line journalctl prints for `args` (it is stopped then), or undefined. */
function firstLine(args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const p = childProcess().spawn(JOURNALCTL, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v: string | undefined): void => {
      if (done) return;
      done = true;
      if (p.exitCode === null) p.kill('SIGTERM');
      resolve(v);
    };
    p.stdout!.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const nl = buf.indexOf(10);
      if (nl >= 0) finish(buf.toString('utf8', 0, nl));
    });
    p.on('error', () => finish(undefined));
    p.on('close', () => finish(buf.length > 0 ? buf.toString('utf8') : undefined));
  });
}

/** One entry of journalctl's `-o json --all` (strings, byte arrays, arrays of either). */
function fromJson(line: string): JournalEntry | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const one = (v: unknown): JournalFieldValue => (typeof v === 'string' ? v : fieldValue(Buffer.from(v as number[]), 0, (v as number[]).length));
  const fields: JournalEntryFields = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('__') || v === null) continue;
    // An array of numbers is one binary value; an array of values is a repeated field.
    if (Array.isArray(v) && v.length > 0 && typeof v[0] !== 'number') for (const x of v) addField(fields, k, one(x));
    else addField(fields, k, one(v));
  }
  const boot = fields._BOOT_ID;
  return new JournalEntry(String(o.__CURSOR), Number(o.__REALTIME_TIMESTAMP), Number(o.__MONOTONIC_TIMESTAMP), typeof boot === 'string' ? boot : '', fields);
}

/** journalctl's failure (its stderr) as -errno, the codes libsystemd's reader gives for the same cause. */
function errorOf(stderr: string): number {
  if (/Failed to add filter for units/i.test(stderr)) return -E.ENODATA;
  if (/ermission|access/i.test(stderr)) return -E.EACCES;
  if (/cursor/i.test(stderr)) return -E.EINVAL;
  return -E.EIO;
}

export class JournalctlSource implements JournalSource {
  readonly via = 'journalctl';
  private stream: Stream | undefined;
  private pos: JournalSeek = { to: 'head' };
  private last: string | undefined;
  private interrupted: (() => void) | undefined;
  private interruptPending = false;
  private closed = false;

  constructor(
    private readonly open: JournalOpen,
    private readonly filter: JournalFilter,
  ) {}

  private args(): string[] {
    const o = this.open;
    const a = ['-o', 'export', '--all', '--no-pager', '-q'];
    if (o.flags & 4 && !(o.flags & 8)) a.push('--system');
    if (o.flags & 8 && !(o.flags & 4)) a.push('--user');
    if (o.namespace !== undefined) a.push(`--namespace=${o.namespace}`);
    if (o.directory !== undefined) a.push(`--directory=${o.directory}`);
    for (const f of o.files ?? []) a.push(`--file=${f}`);
    const f = this.filter;
    for (const u of f.units) a.push(`--unit=${u}`);
    for (const u of f.userUnits) a.push(`--user-unit=${u}`);
    for (const t of f.identifiers) a.push(`--identifier=${t}`);
    if (f.priority !== undefined) a.push(`--priority=${f.priority}`);
    if (f.boot !== undefined) a.push(`--boot=${f.boot}`);
    return a;
  }

  /** journalctl's arguments for a read from `pos`; `drop`: the first entry is the cursor's own and must be dropped. */
  private argsFrom(pos: JournalSeek, direction: 1 | -1, follow: boolean, limitUsec: number, fields?: readonly string[]): { args: string[]; drop?: string } {
    const a = this.args();
    if (fields?.length) a.push(`--output-fields=${fields.join(',')}`);
    let drop: string | undefined;
    if (direction < 0) a.push('--reverse');
    switch (pos.to) {
      case 'head':
        if (direction < 0) a.push('--lines=0');
        break;
      case 'tail':
        if (direction > 0) a.push('--lines=0');
        break;
      case 'lines':
        a.push(`--lines=${pos.n}`);
        break;
      case 'realtime':
        a.push(direction > 0 ? `--since=${at(pos.usec)}` : `--until=${at(pos.usec)}`);
        break;
      case 'cursor':
        if (direction > 0) a.push(pos.after ? `--after-cursor=${pos.cursor}` : `--cursor=${pos.cursor}`);
        else {
          a.push(`--cursor=${pos.cursor}`);
          if (pos.after) drop = pos.cursor;
        }
        break;
    }
    if (limitUsec > 0) a.push(direction > 0 ? `--until=${at(limitUsec)}` : `--since=${at(limitUsec)}`);
    // Following from a place (not the tail or the last lines) shows everything after it.
    if (follow) a.push('--follow', ...(pos.to === 'tail' || pos.to === 'lines' ? [] : ['--no-tail']));
    return { args: [...a, ...this.filter.matches], drop };
  }

  private start(direction: 1 | -1, follow: boolean, limitUsec: number, fields?: readonly string[]): Stream {
    const pos: JournalSeek = this.last !== undefined ? { to: 'cursor', cursor: this.last, after: true } : this.pos;
    const { args, drop } = this.argsFrom(pos, direction, follow, limitUsec, fields);
    const s: Stream = { proc: undefined as unknown as ChildProcess, parser: new ExportParser(), direction, follow, ended: false, dropCursor: drop, skipped: 0, recovered: new Set() };
    this.spawnInto(s, args, limitUsec, fields);
    return s;
  }

  /** Runs journalctl for the stream `s` (again, after a corrupted field: see recover()). */
  private spawnInto(s: Stream, args: string[], limitUsec: number, fields?: readonly string[]): void {
    const proc = childProcess().spawn(JOURNALCTL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    s.proc = proc;
    let stderr = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      s.parser.feed(chunk);
      if (s.parser.entries.length >= HIGH_WATER) proc.stdout!.pause();
      s.notify?.();
    });
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('error', (err: NodeJS.ErrnoException) => {
      s.error = err.code === 'ENOENT' ? -E.ENOENT : -E.EIO;
      s.ended = true;
      s.notify?.();
    });
    proc.on('close', (code) => {
      if (s.proc !== proc) return;
      // journalctl -o export stops at a data object without '=' ("Invalid field."), in the middle
      // of its entry: that entry is read again without the bad field, and the read goes on after it.
      const cursor = s.parser.partialCursor;
      if (code !== 0 && code !== null && /Invalid field/.test(stderr) && cursor !== undefined && !s.recovered.has(cursor) && !this.closed && this.stream === s) {
        s.parser.dropPartial();
        void this.recover(s, cursor, limitUsec, fields);
        return;
      }
      // "No entries" and a killed follower are not errors.
      if (code !== 0 && code !== null && !/-- No entries --/.test(stderr) && s.error === undefined) s.error = errorOf(stderr);
      s.ended = true;
      s.notify?.();
    });
  }

  /** The entry at `cursor` through `-o json` (which leaves a field without '=' out), then the rest after it. */
  private async recover(s: Stream, cursor: string, limitUsec: number, fields?: readonly string[]): Promise<void> {
    const { args } = this.argsFrom({ to: 'cursor', cursor, after: false }, 1, false, 0, fields);
    const json = args.map((x) => (x === 'export' ? 'json' : x));
    const line = await firstLine(json);
    if (this.closed || this.stream !== s) return;
    const e = line === undefined ? undefined : fromJson(line);
    if (e === undefined || e.cursor !== cursor) {
      s.error = -E.EIO;
      s.ended = true;
      s.notify?.();
      return;
    }
    s.parser.entries.push(e);
    s.skipped++;
    s.firstSkipped ??= cursor;
    s.recovered.add(cursor);
    // After it, in the stream's direction (`--reverse --after-cursor` steps backward past it).
    const next = this.argsFrom({ to: 'cursor', cursor, after: true }, s.direction, s.follow, limitUsec, fields);
    if (next.drop !== undefined) next.args[next.args.indexOf(`--cursor=${cursor}`)] = `--after-cursor=${cursor}`;
    this.spawnInto(s, next.args, limitUsec, fields);
    s.notify?.();
  }

  private stop(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s && !s.ended) s.proc.kill('SIGTERM');
  }

  async seek(to: JournalSeek): Promise<number> {
    this.stop();
    this.pos = to;
    this.last = undefined;
    return 0;
  }

  async read(max: number, direction: 1 | -1, limitUsec: number, fields?: readonly string[]): Promise<JournalBatch | number> {
    if (this.closed) return -E.EBADF;
    let s = this.stream;
    if (s && s.direction !== direction) {
      this.stop();
      s = undefined;
    }
    if (!s) s = this.stream = this.start(direction, false, limitUsec, fields);
    // Wait for a full batch, the end of the process, or (following) whatever has arrived.
    while (s.parser.entries.length < max && !s.ended && !(s.follow && s.parser.entries.length > 0)) {
      await new Promise<void>((resolve) => {
        s!.notify = resolve;
        s!.proc.stdout!.resume();
      });
      s.notify = undefined;
    }
    if (s.error !== undefined && s.parser.entries.length === 0) return s.error;
    let entries = s.parser.entries.splice(0, max);
    if (s.dropCursor !== undefined) {
      if (entries[0]?.cursor === s.dropCursor) entries = entries.slice(1);
      s.dropCursor = undefined;
    }
    if (fields?.length) {
      // journalctl adds _BOOT_ID to --output-fields; only the fields asked for are given.
      const keep = new Set(fields);
      for (const e of entries) for (const k of Object.keys(e.fields)) if (!keep.has(k)) delete e.fields[k];
    }
    if (s.parser.entries.length < HIGH_WATER) s.proc.stdout!.resume();
    if (entries.length > 0) this.last = entries[entries.length - 1]!.cursor;
    // A journalctl that failed is not the end: its error is the next read's answer.
    const end = s.parser.entries.length === 0 && (s.ended || s.follow) && s.error === undefined;
    if (s.skipped > 0) {
      const skipped = s.skipped;
      const firstSkipped = s.firstSkipped;
      s.skipped = 0;
      s.firstSkipped = undefined;
      return { entries, end, skipped, firstSkipped };
    }
    return { entries, end };
  }

  async wait(timeoutMs: number): Promise<JournalWake | number> {
    if (this.closed) return -E.EBADF;
    let s = this.stream;
    if (!s || !s.follow) {
      this.stop();
      if (this.last === undefined && (this.pos.to === 'tail' || this.pos.to === 'lines')) {
        // Follow after the last matching entry, or from the head when none matches yet:
        // journalctl 247 `--lines=N --follow` never shows later entries when nothing matched.
        const last = await this.lastCursor();
        if (typeof last === 'number') return last;
        if (last === undefined) this.pos = { to: 'head' };
        else this.last = last;
      }
      s = this.stream = this.start(1, true, 0);
    }
    if (s.parser.entries.length > 0) return 'append';
    if (s.ended && s.follow && s.error === undefined && !this.closed) {
      // A follower that ended without an error (killed by someone else, journalctl giving up
      // after the files it followed were rotated away): follow again after the last entry read,
      // never a reader that silently stops receiving.
      s = this.stream = this.start(1, true, 0);
      if (s.parser.entries.length > 0) return 'append';
    }
    if (s.ended) return s.error ?? 'invalidate';
    if (this.interruptPending) {
      this.interruptPending = false;
      return 'interrupted';
    }
    return new Promise<JournalWake>((resolve) => {
      const done = (w: JournalWake): void => {
        timer?.cancel();
        s!.notify = undefined;
        this.interrupted = undefined;
        resolve(w);
      };
      const timer = timeoutMs >= 0 ? longTimeout(timeoutMs, () => done('nop')) : undefined;
      s!.notify = () => done('append');
      this.interrupted = () => done('interrupted');
    });
  }

  interrupt(): void {
    // Between waits (or while one looks for the last entry): the next wait returns at once.
    if (this.interrupted) this.interrupted();
    else this.interruptPending = true;
  }

  /** The cursor of the last entry that matches, undefined when none does, or -errno. */
  private async lastCursor(): Promise<string | undefined | number> {
    const r = await this.run([...this.args(), '--reverse', '--lines=1', ...this.filter.matches]);
    if (typeof r === 'number') return r;
    const parser = new ExportParser();
    parser.feed(r.stdout);
    return parser.entries[0]?.cursor;
  }

  /** The open and filter arguments without the export output (the -F/-N/--disk-usage calls). */
  private plainArgs(): string[] {
    return this.args().filter((a) => a !== '-o' && a !== 'export');
  }

  private run(args: string[]): Promise<{ code: number; stdout: Buffer } | number> {
    return new Promise((resolve) => {
      childProcess().execFile(JOURNALCTL, args, { encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve(-E.ENOENT);
        else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout });
      });
    });
  }

  async uniqueValues(field: string): Promise<JournalFieldValue[] | number> {
    const r = await this.run([...this.plainArgs(), `--field=${field}`]);
    if (typeof r === 'number') return r;
    const out: JournalFieldValue[] = [];
    let off = 0;
    const b = r.stdout;
    while (off < b.length) {
      const nl = b.indexOf(10, off);
      const end = nl < 0 ? b.length : nl;
      out.push(fieldValue(b, off, end));
      off = end + 1;
    }
    return out;
  }

  async fieldNames(): Promise<string[] | number> {
    const r = await this.run([...this.plainArgs(), '--fields']);
    if (typeof r === 'number') return r;
    return r.stdout.toString('latin1').split('\n').filter((x) => x !== '');
  }

  async usage(): Promise<number> {
    const r = await this.run([...this.plainArgs(), '--disk-usage']);
    if (typeof r === 'number') return r;
    const m = /take up ([\d.]+)([BKMGTP]?)/.exec(r.stdout.toString());
    if (!m) return -E.EIO;
    const unit = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 }[m[2] as 'B'] ?? 1;
    return Math.round(Number(m[1]) * unit);
  }

  async close(): Promise<number> {
    this.closed = true;
    this.interrupt();
    this.stop();
    return 0;
  }
}
