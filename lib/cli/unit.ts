/**
 * `libsystemd unit`: writes a .service (and one .socket per --listen) for a Node application,
 * with the readiness, watchdog, restart and hardening settings a newcomer would otherwise look
 * up one by one, and prints the commands to run next.
 */
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';

export interface UnitOptions {
  name: string;
  exec: string;
  args: string[];
  user: boolean;
  listen: { name: string; address: string }[];
  notify: boolean;
  watchdog?: string;
  restart: string;
  dynamicUser: boolean;
  runAs?: string;
  env: string[];
  description?: string;
  print: boolean;
  dir?: string;
}

export const UNIT_USAGE = `libsystemd unit --exec FILE [options]
  --exec FILE            the script node runs (required)
  --name NAME            unit name (default: the script's name)
  --arg ARG              an argument for the script (repeatable)
  --user                 a user unit (~/.config/systemd/user) instead of a system unit
  --listen [NAME=]ADDR   a socket-activated socket (repeatable): 8080, 127.0.0.1:8080, [::1]:8080,
                         /run/app.sock, udp:8125; NAME is its FileDescriptorName= (default http)
  --notify               Type=notify: the service calls ready() when it is up
  --watchdog TIME        WatchdogSec= (e.g. 10s): call startWatchdog() in the service
  --restart POLICY       Restart= (default on-failure)
  --dynamic-user         run as a transient user (DynamicUser=yes)
  --run-as USER          run as USER
  --env KEY=VALUE        an Environment= line (repeatable)
  --description TEXT     Description=
  --print                print the units instead of writing them
  --dir DIR              write the units into DIR`;

export function parseUnitArgs(argv: readonly string[]): UnitOptions {
  const o: UnitOptions = { name: '', exec: '', args: [], user: false, listen: [], notify: false, restart: 'on-failure', dynamicUser: false, env: [], print: false };
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
      case '--listen': {
        const v = value(i++, a);
        // Addresses never contain '=': anything before one is the name.
        const m = /^([^=]+)=(.+)$/.exec(v);
        o.listen.push(m ? { name: m[1]!, address: m[2]! } : { name: o.listen.length === 0 ? 'http' : `socket${o.listen.length + 1}`, address: v });
        break;
      }
      case '--notify': o.notify = true; break;
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
  o.exec = resolve(o.exec);
  if (!o.name) o.name = basename(o.exec, extname(o.exec));
  if (!/^[A-Za-z0-9:_.\\-]+$/.test(o.name)) throw new Error(`--name ${o.name}: use letters, digits and :_.-\\ only`);
  if (o.dynamicUser && o.runAs) throw new Error('--dynamic-user and --run-as exclude each other');
  if (o.user && (o.dynamicUser || o.runAs)) throw new Error('a --user unit runs as that user: --dynamic-user and --run-as do not apply');
  if (o.watchdog !== undefined && !/^\d+(\.\d+)?(us|ms|s|min|h)?$/.test(o.watchdog)) throw new Error(`--watchdog ${o.watchdog}: a time such as 10s or 500ms`);
  for (const e of o.env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw new Error(`--env ${e}: KEY=VALUE`);
  for (const l of o.listen) {
    if (!/^[\x21-\x39\x3b-\x7e]{1,255}$/.test(l.name)) throw new Error(`--listen ${l.name}=…: a name without ':' or spaces`);
    if (!/^(udp:)?(\d{1,5}|\d{1,3}(\.\d{1,3}){3}:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5}|\/\S+)$/.test(l.address)) {
      throw new Error(`--listen ${l.address}: a port, IPv4:port, [IPv6]:port, /socket/path or udp:PORT`);
    }
  }
  return o;
}

/** Quotes a word for a unit file's command line when it needs it. */
function word(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$])/g, '\\$1')}"`;
}

function socketUnit(o: UnitOptions, l: { name: string; address: string }): string {
  const udp = l.address.startsWith('udp:');
  return [
    '[Unit]',
    `Description=${o.description ?? o.name} (socket "${l.name}")`,
    '',
    '[Socket]',
    `${udp ? 'ListenDatagram' : 'ListenStream'}=${udp ? l.address.slice(4) : l.address}`,
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
  lines.push('', '[Service]', `Type=${o.notify ? 'notify' : 'simple'}`);
  lines.push(`ExecStart=${[process.execPath, o.exec, ...o.args].map(word).join(' ')}`);
  lines.push(`WorkingDirectory=${dirname(o.exec)}`);
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
      'PrivateTmp=yes',
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
