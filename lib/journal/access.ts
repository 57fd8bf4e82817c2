/**
 * journalctl's access check (journalctl.c access_check), done before either way of reading opens
 * the journal, so both answer alike: no journal file may be read → SystemdError EACCES with
 * journalctl's message; some may not → a warning (once) with journalctl's hint about the
 * systemd-journal group; no journal file at all → a warning (once): "No journal files were found."
 * libsystemd's reader skips files it may not open without a word (the errors stay inside
 * sd_journal), so the files are looked at here, as sd_journal_open would find them.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalOpen } from '../backends/contract';
import { E, SystemdError } from '../errors';
import { JOURNAL_OPEN_FLAGS } from '../protocol/journal-entry';

export const NO_PERMISSION = 'No journal files were opened due to insufficient permissions.';
export const NO_FILES = 'No journal files were found.';
export const HINT = "Hint: You are currently not seeing messages from other users and the system. Users in the 'systemd-journal' group can see all messages.";

const warned = new Set<string>();
function warnOnce(message: string, code: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { code });
}

interface Count {
  readable: number;
  denied: number;
}

const isJournal = (f: string): boolean => f.endsWith('.journal') || f.endsWith('.journal~');
const MACHINE_DIR = /^[0-9a-f]{32}(\.[^/]+)?$/;

function file(path: string, c: Count): void {
  try {
    accessSync(path, constants.R_OK);
    c.readable++;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EPERM') c.denied++;
  }
}

function list(dir: string, c: Count): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') c.denied++;
    return undefined;
  }
}

function wantedFile(name: string, flags: number, uid: number): boolean {
  const system = name.startsWith('system.') || name.startsWith('system@');
  const user = name.startsWith(`user-${uid}.`) || name.startsWith(`user-${uid}@`);
  if (flags & JOURNAL_OPEN_FLAGS.SYSTEM && !(flags & JOURNAL_OPEN_FLAGS.CURRENT_USER)) return system;
  if (flags & JOURNAL_OPEN_FLAGS.CURRENT_USER && !(flags & JOURNAL_OPEN_FLAGS.SYSTEM)) return user;
  return true;
}

function directory(dir: string, c: Count, flags: number, uid: number, sub: (name: string) => boolean): void {
  const names = list(dir, c);
  if (!names) return;
  for (const n of names) {
    const p = join(dir, n);
    if (isJournal(n)) {
      if (wantedFile(n, flags, uid)) file(p, c);
    } else if (sub(n)) {
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        // gone meanwhile
      }
      if (isDir) directory(p, c, flags, uid, () => false);
    }
  }
}

function machineId(): string | undefined {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Throws EACCES or warns, as journalctl does, for the files `open` would read. */
export function checkAccess(open: JournalOpen): void {
  const uid = process.getuid?.() ?? 0;
  const c: Count = { readable: 0, denied: 0 };
  if (open.files !== undefined) {
    for (const f of open.files) file(f, c);
  } else if (open.directory !== undefined) {
    directory(open.directory, c, 0, uid, (n) => MACHINE_DIR.test(n));
  } else {
    const mid = machineId();
    const local = (open.flags & JOURNAL_OPEN_FLAGS.LOCAL_ONLY) !== 0;
    const ns = open.namespace;
    const sub = (n: string): boolean => {
      if (!MACHINE_DIR.test(n)) return false;
      const [id, suffix] = [n.slice(0, 32), n.slice(33)];
      if (local && mid !== undefined && id !== mid) return false;
      return ns === undefined ? suffix === '' : suffix === ns;
    };
    const roots = open.flags & JOURNAL_OPEN_FLAGS.RUNTIME_ONLY ? ['/run/log/journal'] : ['/run/log/journal', '/var/log/journal'];
    for (const r of roots) directory(r, c, open.flags, uid, sub);
  }
  if (c.denied > 0 && c.readable === 0) throw new SystemdError(-E.EACCES, 'sd_journal_open', NO_PERMISSION);
  if (c.denied > 0 && uid !== 0) warnOnce(HINT, 'LIBSYSTEMD_JOURNAL_PARTIAL_ACCESS');
  if (c.denied === 0 && c.readable === 0 && open.files === undefined) warnOnce(NO_FILES, 'LIBSYSTEMD_JOURNAL_NO_FILES');
}
