/**
 * `libsystemd unit`: writes a .service (and one .socket per --listen) for a Node application,
 * with the readiness, watchdog, restart and hardening settings a newcomer would otherwise look
 * up one by one, and prints the commands to run next.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, extname, join, posix, resolve } from 'node:path';
import { parseListens, type ListenSpec } from './listen';
import { commandLine, environmentAssignment, line, pathValue, plainValue, shellWord, shown, UnitValueError, unitNamePart } from './unit-file';

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
  /** --state-dir NAME: StateDirectory=NAME (writable under ProtectSystem=strict; $STATE_DIRECTORY). */
  stateDir?: string;
  /** --working-dir DIR: WorkingDirectory= instead of the app's directory. */
  workingDir?: string;
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
                         ('node server.js --port 8080'); which one was taken is printed.
                         'npm start' (yarn, pnpm, npm run NAME) becomes the script's own node
                         command when it is a plain 'node FILE …'; other wrappers (npx, a shell
                         script…) are warned about: systemd's sockets and NOTIFY_SOCKET would be theirs
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
  --env KEY=VALUE        an Environment= line (repeatable); the value is taken literally
  --state-dir NAME       StateDirectory=NAME: a directory the service may write (/var/lib/NAME,
                         kept across restarts, writable under ProtectSystem=strict); the
                         service finds its path in $STATE_DIRECTORY
  --working-dir DIR      WorkingDirectory=DIR (default: the script's directory)
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
      case '--name': o.name = value(i++, a); if (o.name === '') throw new UnitValueError('--name', '', 'an empty unit name'); break;
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
      case '--state-dir': o.stateDir = value(i++, a); break;
      case '--working-dir': o.workingDir = value(i++, a); break;
      case '--print': o.print = true; break;
      case '--dir': o.dir = value(i++, a); break;
      default: throw new Error(`unknown option ${shown(a)}`);
    }
  }
  if (!o.exec) throw new Error('--exec FILE is required');
  if (!(RESTART_VALUES as readonly string[]).includes(o.restart)) throw new UnitValueError('--restart', o.restart, `one of ${RESTART_VALUES.join(', ')}`);
  if (o.dynamicUser && o.runAs !== undefined) throw new Error('--dynamic-user and --run-as exclude each other');
  if (o.user && (o.dynamicUser || o.runAs !== undefined)) throw new Error('a --user unit runs as that user: --dynamic-user and --run-as do not apply');
  if (o.watchdog !== undefined && !/^\d+(\.\d+)?(us|ms|s|min|h)?$/.test(o.watchdog)) throw new UnitValueError('--watchdog', o.watchdog, 'a time such as 10s or 500ms');
  for (const e of o.env) environmentAssignment(e);
  for (const c of o.credentials) {
    const [name, path] = [c.split(':')[0]!, c.includes(':') ? c.slice(c.indexOf(':') + 1) : undefined];
    if (!/^[A-Za-z0-9_.@-]+$/.test(name) || name === '.' || name === '..') throw new UnitValueError('--credential', c, 'NAME (letters, digits, _.@-) or NAME:/absolute/path');
    if (path !== undefined) {
      if (!path.startsWith('/')) throw new UnitValueError('--credential', c, 'the PATH must be absolute');
      pathValue('--credential', path);
      if (posix.normalize(path) !== path.replace(/(.)\/$/, '$1')) throw new UnitValueError('--credential', c, `the PATH must be normalized (systemd refuses //, /./ and /../): ${shown(posix.normalize(path))}`);
    }
  }
  if (o.description !== undefined) plainValue('--description', o.description);
  if (o.stateDir !== undefined) {
    checkStateDir(o.stateDir);
    o.notes.push(`--state-dir ${o.stateDir}: StateDirectory=${o.stateDir}, writable by the service (${o.user ? 'under ~/.config or ~/.local/state, by systemd version' : `/var/lib/${o.stateDir}`}) and kept across restarts; the service finds its path in $STATE_DIRECTORY`);
  }
  if (o.workingDir !== undefined) {
    if (!o.workingDir.startsWith('/')) throw new UnitValueError('--working-dir', o.workingDir, 'an absolute path');
    pathValue('--working-dir', o.workingDir);
  }
  if (o.reload) {
    o.systemdVersion = localSystemdVersion();
    o.notes.push(o.systemdVersion >= 253 ? `--reload: Type=notify-reload (systemd ${o.systemdVersion})` : `--reload: Type=notify with ExecReload=/bin/kill -HUP $MAINPID (systemd ${o.systemdVersion || 'unknown'} has no Type=notify-reload; it came in 253)`);
  }
  o.listen = parseListens(listen);
  for (const l of o.listen) {
    if (l.path !== undefined) plainValue('--listen', l.path);
    plainValue('--listen', l.name);
  }
  if (o.runAs !== undefined) checkRunAs(o.runAs);
  const wrapper = unwrapPackageScript(o, cwd);
  const script = resolveExec(o, cwd);
  if (wrapper) o.notes.push(wrapper);
  else warnIfWrapper(o, script);
  if (o.workingDir !== undefined) o.workdir = o.workingDir;
  if (!o.name) {
    const from = script ?? o.command[0]!;
    o.name = basename(from, extname(from));
    if (!/^[A-Za-z0-9:_.-]+$/.test(o.name)) throw new UnitValueError('--exec', o.exec, `the unit would be named after the script, ${shown(o.name)}, which is not a unit name: give --name NAME (letters, digits and :_.-)`);
  }
  if (!/^[A-Za-z0-9:_.\\-]+$/.test(o.name)) throw new UnitValueError('--name', o.name, 'use letters, digits and :_.-\\ only');
  if (o.name.length > 200) throw new UnitValueError('--name', o.name, 'at most 200 characters (systemd unit names are at most 255, with the socket name and .socket)');
  checkSandbox(o, script);
  o.exec = script ?? o.command.join(' ');
  // Every value is checked where it is written: a value systemd could not read back exactly is
  // refused here, before anything is written.
  generateUnits(o);
  return o;
}

/** --state-dir NAME: a relative path systemd accepts in StateDirectory= (no .., not private/). */
function checkStateDir(name: string): void {
  pathValue('--state-dir', name);
  const parts = name.split('/');
  if (name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9_.@+-]+$/.test(p))) {
    throw new UnitValueError('--state-dir', name, 'a name under /var/lib such as myapp or myapp/cache (letters, digits and _.@+-, no ., .. or empty parts)');
  }
  if (parts[0] === 'private') throw new UnitValueError('--state-dir', name, 'private/ is systemd\'s own (DynamicUser= keeps state there)');
}

/** --run-as USER: a user of this machine; an empty name says why (an unset $USER, e.g. as root on Debian). */
function checkRunAs(user: string): void {
  if (user === '') throw new UnitValueError('--run-as', user, 'an empty user name (was $USER empty? It is unset for root on some systems, e.g. under sudo on Debian: give the name, e.g. --run-as "$(id -un)" or --run-as www-data)');
  plainValue('--run-as', user);
  if (spawnSync('id', ['-u', user], { stdio: 'ignore' }).status !== 0) throw new UnitValueError('--run-as', user, 'no such user on this machine');
}

/** Programs that run the app as their child: systemd's sockets, NOTIFY_SOCKET and signals would be theirs. */
const WRAPPERS = new Set(['npm', 'npx', 'yarn', 'pnpm', 'pnpx', 'corepack', 'nodemon', 'pm2', 'pm2-runtime', 'forever', 'ts-node-dev', 'sh', 'bash', 'dash', 'zsh', 'ksh', 'fish', 'sudo', 'su', 'runuser', 'tsx']);

/**
 * `npm start`, `npm run start`, `yarn start`, `pnpm start` (and `run NAME`): when package.json's
 * script is a plain `node FILE [args]` (or there is none and server.js exists, npm's default),
 * the unit runs that node command directly. Returns the note, or undefined when it did not.
 */
function unwrapPackageScript(o: UnitOptions, cwd: string): string | undefined {
  let w: string[];
  try {
    w = words(o.exec);
  } catch {
    return undefined;
  }
  const program = basename(w[0] ?? '');
  if (!['npm', 'yarn', 'pnpm'].includes(program)) return undefined;
  const rest = w.slice(1);
  const name = rest.length === 1 && rest[0] === 'start' ? 'start' : rest.length === 2 && (rest[0] === 'run' || rest[0] === 'run-script') ? rest[1] : undefined;
  if (name === undefined) return undefined;
  let scripts: Record<string, unknown> = {};
  try {
    scripts = (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { scripts?: Record<string, unknown> }).scripts ?? {};
  } catch {
    return undefined;
  }
  let body = scripts[name];
  if (body === undefined && name === 'start' && isFile(join(cwd, 'server.js'))) body = 'node server.js';
  // Only a plain node command: no shell syntax, no pre/post scripts npm would also run.
  if (typeof body !== 'string' || !/^node(\s+[A-Za-z0-9_@%+=:,./-]+)+$/.test(body.trim()) || scripts[`pre${name}`] !== undefined || scripts[`post${name}`] !== undefined) return undefined;
  const was = o.exec;
  o.exec = body.trim();
  return `--exec ${shown(was)} runs package.json's "${name}" script, ${shown(o.exec)}: the unit runs that directly (under ${program}, the sockets, NOTIFY_SOCKET and SIGTERM would belong to ${program}, not to node)`;
}

/** A warning (before anything is written) when --exec runs a wrapper rather than node. */
function warnIfWrapper(o: UnitOptions, script: string | undefined): void {
  const program = basename(o.command[0]!);
  let shebang = '';
  if (script === o.command[0] && script !== undefined) {
    try {
      shebang = readFileSync(script, 'latin1').slice(0, 200).split('\n')[0]!;
    } catch {
      // unreadable: nothing to say
    }
  }
  const viaShell = /^#!\s*\S*\/(env\s+)?(ba|da|z|k)?sh\b/.test(shebang);
  if (!WRAPPERS.has(program) && !viaShell) return;
  const what = viaShell ? `${script} is a shell script` : `${program} is a wrapper`;
  o.notes.push(`warning: ${what}: systemd's sockets, NOTIFY_SOCKET and SIGTERM go to it, not to your node process (a service that listens fails with EADDRINUSE, a Type=notify one never becomes ready). Point --exec at the script (--exec server.js, or --exec 'node server.js'), or make the wrapper end with exec node … so node replaces it`);
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
  if (quote) throw new UnitValueError('--exec', line, `unbalanced ${quote}`);
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
    if (!isFile(p)) throw new UnitValueError('--exec', program, 'no such file');
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
  throw new UnitValueError('--exec', program, 'not found in PATH');
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
    o.notes.push(`--exec ${shown(o.exec)} is a file: ExecStart=${commandLine(o.command)}`);
    return asFile;
  }
  const w = words(o.exec);
  if (w.length < 2) {
    throw new UnitValueError('--exec', o.exec, `no such file (give the script, e.g. --exec server.js, or a command line in quotes, e.g. --exec 'node server.js')`);
  }
  o.command = [findProgram(w[0]!, cwd), ...w.slice(1), ...o.args];
  o.workdir = cwd;
  // The script the command runs: its first argument that is a file (node's options come first).
  const script = w.slice(1).map((x) => resolve(cwd, x)).find((x) => !x.startsWith('-') && isFile(x));
  const named = w.slice(1).find((x) => !x.startsWith('-'));
  if (script === undefined && named !== undefined && /\.(c|m)?js$/.test(named)) throw new UnitValueError('--exec', o.exec, `${shown(named)}: no such file`);
  o.notes.push(`--exec ${JSON.stringify(o.exec)} is a command line: ExecStart=${commandLine(o.command)}, WorkingDirectory=${o.workdir}`);
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
    if (blocked) throw new Error(`--dynamic-user: the transient user cannot read ${shown(script)} (${shown(blocked)} is closed to other users, mode ${(statSync(blocked).mode & 0o777).toString(8)}); use --run-as ${process.env.SUDO_USER ?? 'USER'}, or move the app (e.g. to /srv or /opt)`);
  }
}

/** The .socket unit's name for a socket: its FileDescriptorName= with what unit names cannot hold as \\xHH. */
function socketUnitName(o: UnitOptions, l: ListenSpec): string {
  const n = `${o.name}-${unitNamePart(l.name)}.socket`;
  if (n.length > 255) throw new UnitValueError('--listen', l.name, `the socket unit ${shown(n)} would be longer than systemd's 255 characters: a shorter NAME or --name`);
  return n;
}

/** The Description= the units share. */
function description(o: UnitOptions): string {
  return o.description ?? `${o.name} (Node.js)`;
}

function socketUnit(o: UnitOptions, l: ListenSpec): string {
  const address = l.datagram ? l.address.slice(4) : l.address;
  return [
    '[Unit]',
    line('Description', plainValue('--description', `${o.description ?? o.name} (socket "${l.name}")`)),
    '',
    '[Socket]',
    line(l.datagram ? 'ListenDatagram' : 'ListenStream', plainValue('--listen', address)),
    line('FileDescriptorName', plainValue('--listen', l.name)),
    line('Service', `${o.name}.service`),
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ].join('\n');
}

function serviceUnit(o: UnitOptions, sockets: string[]): string {
  const lines = ['[Unit]', line('Description', plainValue('--description', description(o)))];
  if (sockets.length) lines.push(line('Requires', sockets.join(' ')), line('After', sockets.join(' ')));
  else if (!o.user) lines.push('After=network.target');
  const notifyReload = o.reload && o.systemdVersion >= 253;
  lines.push('', '[Service]', `Type=${notifyReload ? 'notify-reload' : o.notify || o.reload ? 'notify' : 'simple'}`);
  lines.push(line('ExecStart', commandLine(o.command)));
  if (o.reload && !notifyReload) lines.push('ExecReload=/bin/kill -HUP $MAINPID');
  for (const c of o.credentials) {
    const colon = c.indexOf(':');
    lines.push(line('LoadCredential', colon < 0 ? c : `${c.slice(0, colon)}:${pathValue('--credential', c.slice(colon + 1))}`));
  }
  lines.push(line('WorkingDirectory', pathValue(o.workingDir !== undefined ? '--working-dir' : '--exec (its directory)', o.workdir)));
  if (o.stateDir !== undefined) lines.push(line('StateDirectory', pathValue('--state-dir', o.stateDir)));
  lines.push('Environment=NODE_ENV=production', ...o.env.map((e) => line('Environment', environmentAssignment(e))));
  lines.push(line('Restart', o.restart), 'RestartSec=1s');
  if (o.watchdog) lines.push(line('WatchdogSec', o.watchdog));
  if (o.dynamicUser) lines.push('DynamicUser=yes');
  if (o.runAs !== undefined) lines.push(line('User', plainValue('--run-as', o.runAs)));
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
  const sockets = o.listen.map((l) => socketUnitName(o, l));
  const files: Record<string, string> = { [`${o.name}.service`]: serviceUnit(o, sockets) };
  o.listen.forEach((l, i) => (files[sockets[i]!] = socketUnit(o, l)));
  const dir = o.dir ?? (o.user ? join(homedir(), '.config', 'systemd', 'user') : '/etc/systemd/system');
  const ctl = o.user ? 'systemctl --user' : 'sudo systemctl';
  const start = sockets.length ? sockets.map(shellWord).join(' ') : `${o.name}.service`;
  const next = [`${ctl} daemon-reload`, `${ctl} enable --now ${start}`];
  if (o.user) next.push('loginctl enable-linger "$USER"   # keep user services running after you log out');
  next.push(`${o.user ? 'systemctl --user' : 'systemctl'} status ${shellWord(o.name)}`, `journalctl ${o.user ? '--user-unit' : '-u'} ${shellWord(o.name)} -f`);
  if (!o.dynamicUser && !o.runAs && !o.user) next.push(`# runs as root: consider --dynamic-user or --run-as USER`);
  return { files, dir, next };
}
