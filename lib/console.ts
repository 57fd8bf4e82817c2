/**
 * libsystemd/console: when the process runs under systemd (stdout or stderr is the journal),
 * `installConsole()` sends console.error/warn/info/log/debug to the journal as one entry per
 * call at their priorities (error 3, warn 4, info/log 6, debug 7): multi-line output and stack
 * traces stay whole instead of being split into one entry per line. Elsewhere the console is
 * left untouched. `uninstall()` restores it.
 */
import { formatWithOptions } from 'node:util';
import { capabilities } from './capabilities';
import { journal, sendList } from './journal';
import { pushCallerLocation, scriptName } from './journal/caller';
import { errorFields, type FieldList } from './journal/sanitize';
import { CONSOLE_PRIORITIES as PRIORITIES, type ConsoleMethod as Method } from './protocol/levels';

export interface ConsoleOptions {
  /** SYSLOG_IDENTIFIER; default the script's name. */
  readonly identifier?: string;
  /** Install even when stdout/stderr are not the journal (e.g. to test). Default false. */
  readonly force?: boolean;
  /** Add CODE_FILE/CODE_LINE/CODE_FUNC of the console call. Default true. */
  readonly captureLocation?: boolean;
}

let saved: Partial<Record<Method, (...args: unknown[]) => void>> | undefined;

/**
 * Routes the console to the journal when the process runs under systemd. Returns whether it did.
 * Needs the journal's native protocol (the addon): on the node transport every line would still
 * become its own entry, so the console is left as it is there.
 */
export function installConsole(options: ConsoleOptions = {}): boolean {
  if (saved) return true;
  const underJournal = journal.stderrIsJournal() || journal.stdoutIsJournal();
  if (!(options.force || underJournal) || !capabilities().journalFields) return false;
  const identifier = options.identifier ?? scriptName();
  const capture = options.captureLocation ?? true;
  saved = {};
  for (const method of Object.keys(PRIORITIES) as Method[]) {
    const original = console[method];
    saved[method] = original;
    const replacement = function (...args: unknown[]): void {
      try {
        const list: FieldList = [['MESSAGE', formatWithOptions({ colors: false }, ...args)], ['PRIORITY', PRIORITIES[method]], ['SYSLOG_IDENTIFIER', identifier]];
        const err = args.find((a): a is Error => a instanceof Error);
        if (err) errorFields(err, list, false);
        if (capture) pushCallerLocation(list, replacement);
        // 1: in the journal; 0: no journal, the entry went to stderr as a readable line.
        if (sendList(list, true) >= 0) return;
      } catch {
        // fall through: a console call must never throw, and the text must not be lost
      }
      original.apply(console, args);
    };
    console[method] = replacement;
  }
  return true;
}

/** Restores the console methods installConsole() replaced. */
export function uninstall(): void {
  if (!saved) return;
  for (const [method, fn] of Object.entries(saved)) if (fn) console[method as Method] = fn;
  saved = undefined;
}
