/**
 * The sizes above which journald does not store an entry, from systemd's source:
 * - src/libsystemd/sd-journal/journal-importer.h (every version since v240): ENTRY_SIZE_MAX
 *   770 MiB for a whole entry, DATA_SIZE_MAX 768 MiB for one field, ENTRY_FIELD_COUNT_MAX 1024
 *   fields (journald-native.c: "ignoring entry");
 * - journald-native.c: an fd that is not sealed is read only up to ENTRY_SIZE_MAX / 2 (ours are
 *   sealed memfds);
 * - journal-file.c: an entry is appended to one journal file, whose size is capped by
 *   SystemMaxFileSize= / RuntimeMaxFileSize= (journald.conf); unset, the cap is deduced from
 *   the file system and is at most 128 MiB (MAX_SIZE_UPPER). An entry whose objects (after
 *   journald's compression) do not fit one file is dropped ("Failed to write entry … ignoring")
 *   and the client is never told.
 * The file-size cap is read from journald's configuration as journald would (the main file, then
 * the drop-ins in order), once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ENTRY_SIZE_MAX = 770 * 1024 * 1024;
export const DATA_SIZE_MAX = 768 * 1024 * 1024;
/** journal-file.c MAX_SIZE_UPPER: the largest deduced journal file size (no *MaxFileSize= set). */
export const DEDUCED_FILE_SIZE_MAX = 128 * 1024 * 1024;

const MAIN = ['/etc/systemd/journald.conf', '/run/systemd/journald.conf', '/usr/local/lib/systemd/journald.conf', '/usr/lib/systemd/journald.conf'];
const DROPINS = ['/etc/systemd/journald.conf.d', '/run/systemd/journald.conf.d', '/usr/local/lib/systemd/journald.conf.d', '/usr/lib/systemd/journald.conf.d'];

/** journald's parse_size() with base 1024: `64M`, `1G`, `4096`, `1.5G`. */
export function parseJournaldSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)B?\s*$/i.exec(v);
  if (!m) return undefined;
  const exp = ' KMGTPE'.indexOf((m[2] || ' ').toUpperCase());
  return Math.floor(Number(m[1]) * 1024 ** exp);
}

/** The [Journal] settings of the configuration files, in journald's order (later wins). */
function settings(): Map<string, string> {
  const files: string[] = [];
  const main = MAIN.find((f) => existsSync(f));
  if (main) files.push(main);
  // Drop-ins: by file name across the directories; a name in an earlier directory masks later ones.
  const byName = new Map<string, string>();
  for (const dir of DROPINS) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
    } catch {
      continue;
    }
    for (const n of names) if (!byName.has(n)) byName.set(n, join(dir, n));
  }
  for (const n of [...byName.keys()].sort()) files.push(byName.get(n)!);
  const out = new Map<string, string>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        section = sec[1]!;
        continue;
      }
      const eq = line.indexOf('=');
      if (section === 'Journal' && eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
  }
  return out;
}

export interface FileSizeLimit {
  /** The largest journal file journald will write, in bytes. */
  readonly bytes: number;
  /** Where the figure comes from, for the warning (`RuntimeMaxFileSize=64M`, or the deduced bound). */
  readonly source: string;
}

let cached: FileSizeLimit | undefined;

/**
 * The journal file size cap that applies to this system's journald: RuntimeMaxFileSize= when
 * the journal is volatile (Storage=volatile, or no /var/log/journal with Storage=auto), else
 * SystemMaxFileSize=; unset, the deduced bound (128 MiB at most).
 */
export function journalFileSizeLimit(): FileSizeLimit {
  if (cached) return cached;
  let conf = new Map<string, string>();
  try {
    conf = settings();
  } catch {
    // unreadable configuration: the deduced bound
  }
  const storage = (conf.get('Storage') ?? 'auto').toLowerCase();
  const persistent = storage === 'persistent' || (storage === 'auto' && existsSync('/var/log/journal'));
  const key = persistent ? 'SystemMaxFileSize' : 'RuntimeMaxFileSize';
  const set = conf.get(key);
  const bytes = set === undefined ? undefined : parseJournaldSize(set);
  cached = bytes !== undefined && bytes > 0 ? { bytes, source: `${key}=${set}` } : { bytes: DEDUCED_FILE_SIZE_MAX, source: `journald's largest journal file without ${key}= (128 MiB)` };
  return cached;
}
