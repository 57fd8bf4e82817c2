/**
 * `libsystemd unit`: writes a .service (and one .socket per --listen) for a Node application,
 * with the readiness, watchdog, restart and hardening settings a newcomer would otherwise look
 * up one by one, and prints the commands to run next.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, extname, join, resolve } from 'node:path';
import { parseListens, type ListenSpec } from './listen';

export interface UnitOptions {
  name: string;
  exec: string;
  args: string[];
  user: boolean;
  listen: ListenSpec[];
  notify: boolean;
  watchdog?: string;
  restart: string;
  dynamicUser: boolean;
  runAs?: string;
  env: string[];
  description?: string;
  print: boolean;
  dir?: string;
  /** What --exec was taken as, resolved: the command line and the directory it runs in. */
  command: string[];
  workdir: string;
  /** Lines for stderr: what was taken, and what the sandbox changes. */
  notes: string[];
  /** PrivateTmp=yes can be set (the app is not under /tmp or /var/tmp). */
  privateTmp: boolean;
  /** --reload: reloads with onReload() (Type=notify-reload on systemd 253+, else Type=notify + ExecReload=). */
  reload: boolean;
  /** --credential NAME[:PATH]: LoadCredential= lines. */
  credentials: string[];
  /** The systemd version the units are for (for Type=notify-reload), 0 when unknown. */
  systemdVersion: number;
}

/** The version of the systemd on this machine (`systemctl --version`), 0 when there is none. */
function localSystemdVersion(): number {
  const r = spawnSync('systemctl', ['--version'], { encoding: 'utf8' });
  const m = /^systemd (\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : 0;
}

/** Restart= values systemd accepts. */
export const RESTART_VALUES = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'] as const;

export const UNIT_USAGE = `libsystemd unit --exec FILE|'COMMAND LINE' [options]
  --exec FILE            the script node runs (required), or a command line in quotes
                         ('node server.js --port 8080'); which one was taken is printed
  --name NAME            unit name (default: the script's name)
  --arg ARG              an argument for the script (repeatable)
  --user                 a user unit (~/.config/systemd/user) instead of a system unit
  --listen [NAME=]ADDR   a socket-activated socket (repeatable): 8080, 127.0.0.1:8080, [::1]:8080,
                         /run/app.sock, udp:8125; NAME is its FileDescriptorName= (default: http
                         for the first, socket2, socket3… for the others, as libsystemd run)
  --notify               Type=notify: the service calls ready() when it is up
  --reload               systemctl reload runs onReload(): Type=notify-reload (systemd 253+) or
                         Type=notify with ExecReload=kill -HUP (older, decided by this machine's systemd)
  --credential NAME[:PATH]
                         LoadCredential=NAME:PATH (repeatable); without PATH, systemd looks in
                         /etc/credstore and /run/credstore; the service reads it with credential(NAME)
  --watchdog TIME        WatchdogSec= (e.g. 10s): call startWatchdog() in the service
  --restart POLICY       Restart= (default on-failure): ${RESTART_VALUES.join(', ')}
  --dynamic-user         run as a transient user (DynamicUser=yes)
  --run-as USER          run as USER
  --env KEY=VALUE        an Environment= line (repeatable)
  --description TEXT     Description=
  --print                print the units instead of writing them
  --dir DIR              write the units into DIR
  --help                 this text`;

export function parseUnitArgs(argv: readonly string[], cwd: string = process.cwd()): UnitOptions {
  const o: UnitOptions = { name: '', exec: '', args: [], user: false, listen: [], notify: false, restart: 'on-failure', dynamicUser: false, env: [], print: false, command: [], workdir: cwd, notes: [], privateTmp: true, reload: false, credentials: [], systemdVersion: 0 };
  const listen: string[] = [];
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--exec': o.exec = value(i++, a); break;
      case '--name': o.name = value(i++, a); break;
      case '--arg': o.args.push(value(i++, a)); break;
      case '--user': o.user = true; break;
      case '--listen': listen.push(value(i++, a)); break;
      case '--notify': o.notify = true; break;
      case '--reload': o.reload = true; break;
      case '--credential': o.credentials.push(value(i++, a)); break;
      case '--watchdog': o.watchdog = value(i++, a); break;
      case '--restart': o.restart = value(i++, a); break;
      case '--dynamic-user': o.dynamicUser = true; break;
      case '--run-as': o.runAs = value(i++, a); break;
      case '--env': o.env.push(value(i++, a)); break;
      case '--description': o.description = value(i++, a); break;
      case '--print': o.print = true; break;
      case '--dir': o.dir = value(i++, a); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.exec) throw new Error('--exec FILE is required');
  if (!(RESTART_VALUES as readonly string[]).includes(o.restart)) throw new Error(`--restart ${o.restart}: one of ${RESTART_VALUES.join(', ')}`);
  if (o.dynamicUser && o.runAs) throw new Error('--dynamic-user and --run-as exclude each other');
  if (o.user && (o.dynamicUser || o.runAs)) throw new Error('a --user unit runs as that user: --dynamic-user and --run-as do not apply');
  if (o.watchdog !== undefined && !/^\d+(\.\d+)?(us|ms|s|min|h)?$/.test(o.watchdog)) throw new Error(`--watchdog ${o.watchdog}: a time such as 10s or 500ms`);
  for (const e of o.env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw new Error(`--env ${e}: KEY=VALUE`);
  for (const c of o.credentials) {
    const [name, path] = [c.split(':')[0]!, c.includes(':') ? c.slice(c.indexOf(':') + 1) : undefined];
    if (!/^[A-Za-z0-9_.@-]+$/.test(name) || name === '.' || name === '..') throw new Error(`--credential ${c}: NAME (letters, digits, _.@-) or NAME:/absolute/path`);
    if (path !== undefined && !path.startsWith('/')) throw new Error(`--credential ${c}: the PATH must be absolute`);
  }
  if (o.reload) {
    o.systemdVersion = localSystemdVersion();
    o.notes.push(o.systemdVersion >= 253 ? `--reload: Type=notify-reload (systemd ${o.systemdVersion})` : `--reload: Type=notify with ExecReload=/bin/kill -HUP $MAINPID (systemd ${o.systemdVersion || 'unknown'} has no Type=notify-reload; it came in 253)`);
  }
  o.listen = parseListens(listen);
  if (o.runAs !== undefined && spawnSync('id', ['-u', o.runAs], { stdio: 'ignore' }).status !== 0) throw new Error(`--run-as ${o.runAs}: no such user on this machine`);
  const script = resolveExec(o, cwd);
  if (!o.name) o.name = basename(script ?? o.command[0]!, extname(script ?? o.command[0]!));
  if (!/^[A-Za-z0-9:_.\\-]+$/.test(o.name)) throw new Error(`--name ${o.name}: use letters, digits and :_.-\\ only`);
  checkSandbox(o, script);
  o.exec = script ?? o.command.join(' ');
  return o;
}

/** Splits a command line into words: spaces separate, '…' and "…" quote, \\ escapes. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quote) throw new Error(`--exec ${line}: unbalanced ${quote}`);
  if (started) out.push(cur);
  return out;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A program name as an absolute path: `node` is this Node; others are looked up in PATH. */
function findProgram(program: string, cwd: string): string {
  if (program === 'node') return process.execPath;
  if (program.includes('/')) {
    const p = resolve(cwd, program);
    if (!isFile(p)) throw new Error(`--exec: ${program}: no such file`);
    return p;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      if (isFile(p)) return p;
    } catch {
      // not here
    }
  }
  throw new Error(`--exec: ${program}: not found in PATH`);
}

/**
 * --exec as a file (an existing script: node runs it) or as a command line (words, the program
 * looked up in PATH); fills o.command, o.workdir and a note saying which. Returns the script
 * the service runs, when there is one (for the sandbox checks).
 */
function resolveExec(o: UnitOptions, cwd: string): string | undefined {
  const asFile = resolve(cwd, o.exec);
  if (isFile(asFile)) {
    let executable = false;
    try {
      accessSync(asFile, constants.X_OK);
      executable = true;
    } catch {
      // a script node runs
    }
    const direct = executable && !/\.(c|m)?js$/.test(asFile);
    o.command = [...(direct ? [asFile] : [process.execPath, asFile]), ...o.args];
    o.workdir = dirname(asFile);
    o.notes.push(`--exec ${o.exec} is a file: ExecStart=${o.command.map(word).join(' ')}`);
    return asFile;
  }
  const w = words(o.exec);
  if (w.length < 2) {
    throw new Error(`--exec ${o.exec}: no such file (give the script, e.g. --exec server.js, or a command line in quotes, e.g. --exec 'node server.js')`);
  }
  o.command = [findProgram(w[0]!, cwd), ...w.slice(1), ...o.args];
  o.workdir = cwd;
  // The script the command runs: its first argument that is a file (node's options come first).
  const script = w.slice(1).map((x) => resolve(cwd, x)).find((x) => !x.startsWith('-') && isFile(x));
  const named = w.slice(1).find((x) => !x.startsWith('-'));
  if (script === undefined && named !== undefined && /\.(c|m)?js$/.test(named)) throw new Error(`--exec ${o.exec}: ${named}: no such file`);
  o.notes.push(`--exec ${JSON.stringify(o.exec)} is a command line: ExecStart=${o.command.map(word).join(' ')}, WorkingDirectory=${o.workdir}`);
  return script;
}

/** Whether "others" can reach `file` (x on every directory above it, r on the file). */
function othersCanRead(file: string): string | undefined {
  const parts = file.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    if ((statSync(dir).mode & 0o001) === 0) return dir;
  }
  if ((statSync(file).mode & 0o004) === 0) return file;
  return undefined;
}

/**
 * What the unit's sandbox does to the app: a system unit gets PrivateTmp= (the app under /tmp
 * or /var/tmp would be invisible: status=200/CHDIR), ProtectHome=read-only (fine for reading),
 * and DynamicUser= runs as a transient user who must be able to read the script.
 */
function checkSandbox(o: UnitOptions, script: string | undefined): void {
  if (o.user) return;
  const paths = [o.workdir, ...(script ? [script] : [])];
  const inTmp = paths.some((p) => /^\/(var\/)?tmp(\/|$)/.test(p));
  if (inTmp) {
    if (o.dynamicUser) throw new Error(`--exec: the app is under ${o.workdir.startsWith('/var') ? '/var/tmp' : '/tmp'}, which DynamicUser= hides from the service (it implies PrivateTmp=); move it (e.g. to /srv or /opt) or use --run-as USER`);
    o.privateTmp = false;
    o.notes.push(`warning: the app is under /tmp, so PrivateTmp= is left out (with it the service could not reach the app: status=200/CHDIR); move it to /srv or /opt for the full sandbox`);
  }
  if (o.dynamicUser && script) {
    const blocked = othersCanRead(script);
    if (blocked) throw new Error(`--dynamic-user: the transient user cannot read ${script} (${blocked} is closed to other users, mode ${(statSync(blocked).mode & 0o777).toString(8)}); use --run-as ${process.env.SUDO_USER ?? 'USER'}, or move the app (e.g. to /srv or /opt)`);
  }
}

/** Quotes a word for a unit file's command line when it needs it. */
function word(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$])/g, '\\$1')}"`;
}

function socketUnit(o: UnitOptions, l: ListenSpec): string {
  const address = l.datagram ? l.address.slice(4) : l.address;
  return [
    '[Unit]',
    `Description=${o.description ?? o.name} (socket "${l.name}")`,
    '',
    '[Socket]',
    `${l.datagram ? 'ListenDatagram' : 'ListenStream'}=${address}`,
    `FileDescriptorName=${l.name}`,
    `Service=${o.name}.service`,
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ].join('\n');
}

function serviceUnit(o: UnitOptions, sockets: string[]): string {
  const lines = ['[Unit]', `Description=${o.description ?? `${o.name} (Node.js)`}`];
  if (sockets.length) lines.push(`Requires=${sockets.join(' ')}`, `After=${sockets.join(' ')}`);
  else if (!o.user) lines.push('After=network.target');
  const notifyReload = o.reload && o.systemdVersion >= 253;
  lines.push('', '[Service]', `Type=${notifyReload ? 'notify-reload' : o.notify || o.reload ? 'notify' : 'simple'}`);
  lines.push(`ExecStart=${o.command.map(word).join(' ')}`);
  if (o.reload && !notifyReload) lines.push('ExecReload=/bin/kill -HUP $MAINPID');
  for (const c of o.credentials) lines.push(`LoadCredential=${c}`);
  lines.push(`WorkingDirectory=${o.workdir}`);
  lines.push('Environment=NODE_ENV=production', ...o.env.map((e) => `Environment=${word(e)}`));
  lines.push(`Restart=${o.restart}`, 'RestartSec=1s');
  if (o.watchdog) lines.push(`WatchdogSec=${o.watchdog}`);
  if (o.dynamicUser) lines.push('DynamicUser=yes');
  if (o.runAs) lines.push(`User=${o.runAs}`);
  lines.push('NoNewPrivileges=yes');
  if (!o.user) {
    // Sandboxing that costs a Node service nothing (no MemoryDenyWriteExecute=: V8's JIT needs it).
    lines.push(
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      ...(o.privateTmp ? ['PrivateTmp=yes'] : []),
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'RestrictRealtime=yes',
      'RestrictNamespaces=yes',
      'LockPersonality=yes',
      'SystemCallArchitectures=native',
    );
  }
  lines.push('', '[Install]', `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`, '');
  return lines.join('\n');
}

export interface GeneratedUnits {
  readonly files: Readonly<Record<string, string>>;
  readonly dir: string;
  readonly next: readonly string[];
}

export function generateUnits(o: UnitOptions): GeneratedUnits {
  const sockets = o.listen.map((l) => `${o.name}-${l.name}.socket`);
  const files: Record<string, string> = { [`${o.name}.service`]: serviceUnit(o, sockets) };
  o.listen.forEach((l, i) => (files[sockets[i]!] = socketUnit(o, l)));
  const dir = o.dir ?? (o.user ? join(homedir(), '.config', 'systemd', 'user') : '/etc/systemd/system');
  const ctl = o.user ? 'systemctl --user' : 'sudo systemctl';
  const start = sockets.length ? sockets.join(' ') : `${o.name}.service`;
  const next = [`${ctl} daemon-reload`, `${ctl} enable --now ${start}`];
  if (o.user) next.push('loginctl enable-linger "$USER"   # keep user services running after you log out');
  next.push(`${o.user ? 'systemctl --user' : 'systemctl'} status ${o.name}`, `journalctl ${o.user ? '--user-unit' : '-u'} ${o.name} -f`);
  if (!o.dynamicUser && !o.runAs && !o.user) next.push(`# runs as root: consider --dynamic-user or --run-as USER`);
  return { files, dir, next };
}
