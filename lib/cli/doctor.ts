/**
 * `libsystemd doctor`: what this process sees of systemd and why, with advice for every problem.
 * Each check is OK, INFO, WARN or FAIL; a FAIL makes the command exit non-zero.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { listenFdsWithNames, isSocket } from '../activation';
import { capabilities } from '../capabilities';
import { journal } from '../journal';
import { booted, watchdogUsec } from '../notify';
import { credentials, invocationId, unitOf } from '../service';
import { backend } from '../backends/select';
import { fdIsJournal, JOURNAL_SOCKET, STDOUT_SOCKET } from '../protocol/journal';
import { notifyAddress } from '../protocol/notify';
import { E, SystemdError } from '../errors';

export type Status = 'OK' | 'INFO' | 'WARN' | 'FAIL';

export interface Check {
  readonly name: string;
  readonly status: Status;
  readonly detail: string;
  readonly advice?: string;
  /** The items a detail counts (the sd_* functions): in --json always, in the text with --verbose. */
  readonly list?: readonly string[];
}

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
}

function backendCheck(): Check {
  const where = backend.addonPath ? ` (addon ${backend.addonPath})` : '';
  if (backend.kind === 'libsystemd') return { name: 'backend', status: 'OK', detail: `libsystemd/native${where}` };
  const why = (backend.loadError as Error & { attempts?: readonly string[] } | undefined)?.attempts?.join('; ') ?? '';
  if (backend.transport === 'native') {
    return { name: 'backend', status: 'OK', detail: `js/native${where}: libsystemd.so.0 is not installed; every feature works through the addon (${why})` };
  }
  return {
    name: 'backend',
    status: 'WARN',
    detail: `js/node: the native addon did not load (${why})`,
    advice:
      'Without the addon, notify messages go through systemd-notify(1), which PID 1 only accepts from the service\'s main process when run as root, so a Type=notify unit needs NotifyAccess=all; ' +
      'journal fields are written as text. Rebuild the addon with `npm rebuild libsystemd` (needs only a C++ compiler), or reinstall on linux-x64 to get the prebuild.',
  };
}

function systemdCheck(): Check {
  let isBooted: boolean | string;
  try {
    isBooted = booted();
  } catch (err) {
    isBooted = errorText(err);
  }
  const invocation = process.env.INVOCATION_ID;
  const detail = `booted with systemd: ${isBooted === true ? 'yes' : isBooted === false ? 'no' : isBooted}; ${invocation ? `running as a service (INVOCATION_ID=${invocation})` : 'not started by systemd (no INVOCATION_ID)'}`;
  return { name: 'systemd', status: 'INFO', detail };
}

function notifyCheck(): Check {
  const e = process.env.NOTIFY_SOCKET;
  if (e === undefined) return { name: 'NOTIFY_SOCKET', status: 'INFO', detail: 'not set: ready()/status() return false (systemd sets it for Type=notify services and when WatchdogSec= is used)' };
  const advice = 'NOTIFY_SOCKET is set by systemd; an inherited or hand-made value breaks readiness. Do not set it yourself; remove it from Environment= lines and from parent processes (`unsetEnvironment: true` on notify stops children from inheriting it).';
  const addr = notifyAddress(e);
  if (addr === -E.EAFNOSUPPORT) {
    // A VM's manager listening on vsock: libsystemd sends there (257 and 262 do; 247 and 252
    // refuse with EINVAL); this library's own sender speaks AF_UNIX only.
    const lib = backend.kind === 'libsystemd';
    return { name: 'NOTIFY_SOCKET', status: lib ? 'INFO' : 'FAIL', detail: `${e} is an AF_VSOCK address: ${lib ? 'messages go through libsystemd, which sends there from systemd 257 on (247 and 252 refuse it with EINVAL)' : 'the js backend cannot send there (it needs libsystemd 257 or later)'}`, advice: lib ? undefined : advice };
  }
  if (typeof addr === 'number') return { name: 'NOTIFY_SOCKET', status: 'FAIL', detail: `${JSON.stringify(e)} is not an absolute path or @abstract name (sd_notify would fail with ${new SystemdError(addr, 'sd_notify').code})`, advice };
  if (e.startsWith('/')) {
    try {
      if (!lstatSync(e).isSocket()) return { name: 'NOTIFY_SOCKET', status: 'FAIL', detail: `${e} is not a socket (sd_notify would fail with ECONNREFUSED)`, advice };
    } catch (err) {
      return { name: 'NOTIFY_SOCKET', status: 'FAIL', detail: `${e}: ${errorText(err)}`, advice };
    }
  }
  if (!capabilities().notify) {
    let helper = true;
    try {
      execFileSync('systemd-notify', ['--help'], { stdio: 'ignore' });
    } catch {
      helper = false;
    }
    return {
      name: 'NOTIFY_SOCKET',
      status: helper ? 'WARN' : 'FAIL',
      detail: `${e}: without the addon messages go through systemd-notify(1)${helper ? '' : ', which is not installed'}`,
      advice: 'On the node transport a Type=notify unit needs NotifyAccess=all unless the service runs as root; fds (fdStore) cannot be passed. Get the addon loading to fix both (see backend).',
    };
  }
  return { name: 'NOTIFY_SOCKET', status: 'OK', detail: `${e}: a socket${e.startsWith('@') ? ' (abstract)' : ''}, messages can be sent` };
}

function listenCheck(): Check {
  const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = process.env;
  if (LISTEN_PID === undefined && LISTEN_FDS === undefined) return { name: 'LISTEN_FDS', status: 'INFO', detail: 'not socket-activated (no LISTEN_PID/LISTEN_FDS); listenArgs() uses its fallback' };
  const raw = `LISTEN_PID=${LISTEN_PID ?? ''} LISTEN_FDS=${LISTEN_FDS ?? ''}${LISTEN_FDNAMES !== undefined ? ` LISTEN_FDNAMES=${LISTEN_FDNAMES}` : ''}`;
  let named;
  try {
    named = listenFdsWithNames({ unsetEnvironment: false });
  } catch (err) {
    return { name: 'LISTEN_FDS', status: 'FAIL', detail: `${raw}: ${errorText(err)}`, advice: 'The socket-activation variables are malformed; they are set by systemd (or systemd-socket-activate) and must not be edited by hand.' };
  }
  if (named.length === 0) {
    return {
      name: 'LISTEN_FDS',
      status: 'FAIL',
      detail: `${raw}, but this process is ${process.pid}: the sockets were passed to another process`,
      advice: 'systemd hands the sockets to the process it starts. If ExecStart= runs a shell, npm or another wrapper, make it exec node (e.g. ExecStart=/usr/bin/node /srv/app/server.js), so node is that process.',
    };
  }
  const kinds = named.map(({ fd, name }) => {
    let kind = 'not a socket';
    try {
      kind = isSocket(fd) ? (isSocket(fd, { listening: true }) ? 'listening socket' : 'socket') : kind;
    } catch (err) {
      kind = errorText(err);
    }
    return `fd ${fd} "${name}" (${kind})`;
  });
  return { name: 'LISTEN_FDS', status: 'OK', detail: kinds.join(', ') };
}

function watchdogCheck(): Check {
  const { WATCHDOG_USEC, WATCHDOG_PID } = process.env;
  if (WATCHDOG_USEC === undefined) return { name: 'WATCHDOG_USEC', status: 'INFO', detail: 'watchdog off (no WatchdogSec=)' };
  let usec;
  try {
    usec = watchdogUsec();
  } catch (err) {
    return { name: 'WATCHDOG_USEC', status: 'FAIL', detail: `WATCHDOG_USEC=${WATCHDOG_USEC}: ${errorText(err)}`, advice: 'WATCHDOG_USEC is set by systemd from WatchdogSec=; do not set it by hand.' };
  }
  if (usec === undefined) {
    return { name: 'WATCHDOG_USEC', status: 'WARN', detail: `WATCHDOG_PID=${WATCHDOG_PID} is another process (this is ${process.pid})`, advice: 'The watchdog belongs to the main process; make ExecStart= exec node directly so the pings come from it.' };
  }
  return { name: 'WATCHDOG_USEC', status: 'OK', detail: `${Number(usec) / 1e6} s; startWatchdog() pings every ${Number(usec) / 2e6} s` };
}

function journalStreamCheck(): Check {
  const v = process.env.JOURNAL_STREAM;
  if (v === undefined) return { name: 'JOURNAL_STREAM', status: 'INFO', detail: 'not set: stdout/stderr are not connected to the journal' };
  const err = fdIsJournal(2);
  const out = fdIsJournal(1);
  if (err || out) return { name: 'JOURNAL_STREAM', status: 'OK', detail: `${v}: ${[err && 'stderr', out && 'stdout'].filter(Boolean).join(' and ')} connected to the journal` };
  return { name: 'JOURNAL_STREAM', status: 'INFO', detail: `${v} is inherited but stdout/stderr were redirected elsewhere` };
}

async function journaldCheck(): Promise<Check> {
  const id = randomBytes(8).toString('hex');
  let sent: boolean;
  try {
    sent = journal.send({ MESSAGE: 'libsystemd doctor probe', PRIORITY: 7, LIBSYSTEMD_DOCTOR: id });
  } catch (err) {
    return { name: 'journald', status: 'FAIL', detail: `${JOURNAL_SOCKET}: ${errorText(err)}`, advice: 'A journal socket exists but nothing receives on it: systemd-journald is not running (check `systemctl status systemd-journald`).' };
  }
  const underSystemd = process.env.INVOCATION_ID !== undefined;
  if (!sent) {
    return {
      name: 'journald',
      status: underSystemd ? 'FAIL' : 'WARN',
      detail: `no journal: ${capabilities().journalFields ? JOURNAL_SOCKET : STDOUT_SOCKET} does not exist, loggers write readable lines to stderr`,
      advice: 'journald is not running here (a container or a CI job without systemd is the usual reason). Under systemd, start systemd-journald; in a container, logging to stderr is expected.',
    };
  }
  // Read the probe back when journalctl can (root or the systemd-journal group).
  for (let i = 0; i < 20; i++) {
    try {
      const out = execFileSync('journalctl', ['-o', 'cat', '--no-pager', `LIBSYSTEMD_DOCTOR=${id}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      if (out.includes('libsystemd doctor probe')) return { name: 'journald', status: 'OK', detail: `a probe entry was stored and read back (LIBSYSTEMD_DOCTOR=${id})` };
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'journald', status: 'OK', detail: `a probe entry was handed to journald (not read back: journalctl cannot read the journal here)` };
}

/** How journal.query reads, and whether this user may read the system journal. */
function journalReadCheck(): Check {
  const via = capabilities().journalRead === 'native' ? "native (libsystemd's reader, a thread per reader)" : 'journalctl -o export (libsystemd is not loaded)';
  const uid = process.getuid?.() ?? 0;
  let groups: string[] = [];
  try {
    groups = execFileSync('id', ['-Gn'], { encoding: 'utf8' }).trim().split(/\s+/);
  } catch {
    // no id(1): say nothing about groups
  }
  if (uid === 0 || groups.some((g) => g === 'systemd-journal' || g === 'adm' || g === 'wheel')) return { name: 'journal read', status: 'OK', detail: via };
  return {
    name: 'journal read',
    status: 'INFO',
    detail: `${via}; as uid ${uid} without the systemd-journal group, journal.query sees only this user's own entries`,
    advice: 'To read the system journal (other units\' entries), add the user to the systemd-journal group (usermod -aG systemd-journal USER) or run as root.',
  };
}

/** The service toolkit's view: the unit, credentials, memory pressure, reload readiness. */
function serviceChecks(): Check[] {
  const out: Check[] = [];
  let unit: string | undefined;
  try {
    const u = unitOf();
    unit = u.unit;
    let inv: string | undefined;
    try {
      inv = invocationId();
    } catch (err) {
      out.push({ name: 'INVOCATION_ID', status: 'WARN', detail: errorText(err), advice: 'INVOCATION_ID is set by systemd; do not set it by hand.' });
    }
    out.push({ name: 'unit', status: 'INFO', detail: `${u.unit ?? 'not in a unit'}${u.userUnit ? ` (user unit ${u.userUnit})` : ''}, slice ${u.slice ?? '-'}${inv ? `, invocation ${inv}` : ''}` });
  } catch (err) {
    out.push({ name: 'unit', status: 'INFO', detail: `unknown: ${errorText(err)}` });
  }
  try {
    const names = credentials();
    out.push(process.env.CREDENTIALS_DIRECTORY
      ? { name: 'credentials', status: 'OK', detail: `${process.env.CREDENTIALS_DIRECTORY}: ${names.length ? names.join(', ') : 'empty'}` }
      : { name: 'credentials', status: 'INFO', detail: 'none ($CREDENTIALS_DIRECTORY is unset)', advice: 'credential(NAME) reads what LoadCredential=NAME:/path or SetCredential=NAME:value in the unit passes.' });
  } catch (err) {
    out.push({ name: 'credentials', status: 'FAIL', detail: errorText(err), advice: 'The credentials directory exists but cannot be read by this user.' });
  }
  const watch = process.env.MEMORY_PRESSURE_WATCH;
  out.push(watch && watch !== '/dev/null'
    ? { name: 'memory pressure', status: 'OK', detail: `MEMORY_PRESSURE_WATCH=${watch}${process.env.MEMORY_PRESSURE_WRITE ? ` trigger ${Buffer.from(process.env.MEMORY_PRESSURE_WRITE, 'base64').toString('latin1').replace(/\0+$/, '')}` : ''}` }
    : { name: 'memory pressure', status: 'INFO', detail: watch === '/dev/null' ? 'turned off by the unit (MemoryPressureWatch=off)' : 'not watched (MEMORY_PRESSURE_WATCH is unset: systemd 254+ sets it)', advice: 'onMemoryPressure() works where systemd passes MEMORY_PRESSURE_WATCH (254+, MemoryPressureWatch=auto with memory accounting, or =on).' });
  out.push(process.env.NOTIFY_SOCKET
    ? { name: 'reload', status: 'OK', detail: `onReload() can report RELOADING=1/READY=1${unit ? ` to ${unit}` : ''}` }
    : { name: 'reload', status: 'INFO', detail: 'no NOTIFY_SOCKET: systemctl reload cannot follow a reload', advice: 'Use Type=notify-reload (systemd 253+; libsystemd unit --reload picks it) or Type=notify with ExecReload=/bin/kill -HUP $MAINPID.' });
  return out;
}

export async function doctor(): Promise<Check[]> {
  const symbols = capabilities().symbols;
  return [
    backendCheck(),
    symbols.length
      ? { name: 'sd_* calls', status: 'INFO', detail: `${symbols.length} functions resolved from libsystemd.so.0`, list: [...symbols] }
      : { name: 'sd_* calls', status: 'INFO', detail: 'none (the js backend implements the protocols itself)' },
    systemdCheck(),
    notifyCheck(),
    listenCheck(),
    watchdogCheck(),
    journalStreamCheck(),
    await journaldCheck(),
    journalReadCheck(),
    ...serviceChecks(),
  ];
}

/** The sd_* functions by what they are for, in the order they resolved. */
export function symbolGroups(symbols: readonly string[]): [string, string[]][] {
  const area = (s: string): string =>
    /^sd_(listen_fds|is_)/.test(s) ? 'activation'
      : /^sd_(pid_)?notify|^sd_watchdog|^sd_booted/.test(s) ? 'notify'
        : /^sd_journal_(sendv|send|print|stream_fd)/.test(s) ? 'journal writing'
          : s.startsWith('sd_journal_') ? 'journal reading'
            : s.startsWith('sd_id128_') ? 'ids'
              : s.startsWith('sd_pid_get_') ? 'units'
                : 'other';
  const groups = new Map<string, string[]>();
  for (const s of symbols) {
    const a = area(s);
    groups.set(a, [...(groups.get(a) ?? []), s]);
  }
  return [...groups];
}

/** `words` joined by spaces in lines of at most `width` characters, each after `indent`. */
function wrap(words: readonly string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(indent + line);
  return lines;
}

export function formatChecks(checks: readonly Check[], options: { verbose?: boolean } = {}): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = [`libsystemd doctor (pid ${process.pid}, Node ${process.version})`, ''];
  const pad = `  ${' '.repeat(4)}  ${' '.repeat(width)}  `;
  for (const c of checks) {
    lines.push(`  ${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.list && options.verbose) {
      for (const [area, names] of symbolGroups(c.list)) {
        lines.push(`${pad}${area}:`);
        lines.push(...wrap(names, `${pad}  `, 100));
      }
    } else if (c.list) {
      // "area n" items are never split over two lines
      const counts = symbolGroups(c.list).map(([area, names], i, all) => `${area} ${names.length}${i < all.length - 1 ? ',' : ''}`);
      lines.push(...wrap([...counts, '(--verbose lists them)'], pad, 100));
    }
    if (c.advice) lines.push(`${pad}→ ${c.advice}`);
  }
  const broken = checks.filter((c) => c.status === 'FAIL').length;
  lines.push('', broken ? `${broken} problem(s) found.` : 'No problems found.');
  return lines.join('\n');
}
