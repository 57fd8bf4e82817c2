#!/usr/bin/env node
/**
 * The `libsystemd` command: `doctor` (what this process sees of systemd, and advice), `run`
 * (start a command as systemd would), `unit` (.service and .socket units for a Node
 * application) and `logs` (read and follow the journal).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doctor, formatChecks } from './cli/doctor';
import { logs, LOGS_USAGE, parseLogsArgs } from './cli/logs';
import { parseRunArgs, RUN_USAGE, Supervisor } from './cli/run';
import { parseServeArgs, runServe, SERVE_USAGE } from './cli/serve';
import { generateUnits, parseUnitArgs, UNIT_USAGE } from './cli/unit';

const DOCTOR_USAGE = `libsystemd doctor [--json] [--verbose]
  --json                 the checks as JSON (exit 1 when one FAILs)
  --verbose              list every sd_* function resolved, not only their count
  --help                 this text`;

const USAGE = `usage: libsystemd COMMAND [options]

  doctor   what this process sees of systemd (backend, sockets, notify, journal), with advice
  run      run a command as systemd would: sockets, NOTIFY_SOCKET, watchdog, restarts
  serve    run an app on N workers sharing its sockets: rolling reloads, no failed request
  unit     write .service and .socket units for a Node application
  logs     read and follow the journal, as journalctl does

  libsystemd COMMAND --help   the options of one command
  libsystemd --version        the version of this package (also -V, -v)`;

function version(): string {
  // dist/cli.js, next to the package's package.json
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** A mistake in the command line: one line on stderr, exit 2. */
class UsageError extends Error {}

/** One line on stderr: a mistake in the command line exits 2, a system error (with a code, e.g. EADDRINUSE) 1. */
function fail(cmd: string, err: unknown): number {
  const code = (err as { code?: unknown }).code;
  const usage = err instanceof UsageError || !(err instanceof Error && 'code' in err) || (typeof code === 'string' && code.startsWith('ERR_INVALID_ARG'));
  process.stderr.write(`libsystemd ${cmd}: ${(err as Error).message.split('\n')[0]}${usage ? ` (libsystemd ${cmd} --help)` : ''}\n`);
  return usage ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const help = rest.includes('--help') || rest.includes('-h');
  if (cmd === 'doctor') {
    if (help) return say(DOCTOR_USAGE);
    const bad = rest.find((a) => a !== '--json' && a !== '--verbose');
    if (bad !== undefined) return fail('doctor', new UsageError(`unknown option ${bad}`));
    const checks = await doctor();
    const failed = checks.some((c) => c.status === 'FAIL');
    if (rest.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
    else process.stdout.write(`${formatChecks(checks, { verbose: rest.includes('--verbose') })}\n`);
    return failed ? 1 : 0;
  }
  if (cmd === 'run') {
    // --help only before the command: after it, it is the command's own.
    const dd = rest.indexOf('--');
    if ((dd < 0 ? rest : rest.slice(0, dd)).some((a) => a === '--help' || a === '-h')) return say(RUN_USAGE);
    let supervisor;
    try {
      supervisor = new Supervisor(parseRunArgs(rest));
    } catch (err) {
      return fail('run', err);
    }
    let code: number;
    try {
      code = await supervisor.run();
    } catch (err) {
      // e.g. a port already in use: one line, no stack
      return fail('run', err);
    }
    // A supervisor is done when its command is: nothing it opened may keep the process alive.
    process.exit(code);
  }
  if (cmd === 'serve') {
    // --help only before the app: after it, it is the app's own.
    const app = rest.findIndex((a) => a === '--' || !a.startsWith('-'));
    if ((app < 0 ? rest : rest.slice(0, app)).some((a) => a === '--help' || a === '-h')) return say(SERVE_USAGE);
    let options;
    try {
      options = parseServeArgs(rest);
    } catch (err) {
      return fail('serve', new UsageError((err as Error).message));
    }
    let code: number;
    try {
      code = await runServe(options);
    } catch (err) {
      return fail('serve', err);
    }
    process.exit(code);
  }
  if (cmd === 'unit') {
    if (help) return say(UNIT_USAGE);
    let o;
    try {
      o = parseUnitArgs(rest);
    } catch (err) {
      return fail('unit', err);
    }
    for (const note of o.notes) process.stderr.write(`libsystemd unit: ${note}\n`);
    const { files, dir, next } = generateUnits(o);
    if (o.print) {
      for (const [name, text] of Object.entries(files)) process.stdout.write(`# ${name}\n${text}\n`);
      return 0;
    }
    try {
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        writeFileSync(join(dir, name), text);
        process.stdout.write(`wrote ${join(dir, name)}\n`);
      }
    } catch (err) {
      process.stderr.write(`libsystemd unit: cannot write the units: ${(err as Error).message}${(err as NodeJS.ErrnoException).code === 'EACCES' ? ' (run it with sudo, or use --user, --dir DIR or --print)' : ''}\n`);
      return 1;
    }
    process.stdout.write(`\nnext:\n${next.map((l) => `  ${l}`).join('\n')}\n`);
    return 0;
  }
  if (cmd === 'logs') {
    if (help) return say(LOGS_USAGE);
    let args;
    try {
      args = parseLogsArgs(rest);
    } catch (err) {
      return fail('logs', err);
    }
    try {
      return await logs(args);
    } catch (err) {
      return fail('logs', err);
    }
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return say(USAGE);
  if (cmd === '--version' || cmd === '-V' || cmd === '-v') return say(version());
  process.stderr.write(`libsystemd: unknown ${cmd.startsWith('-') ? `option ${cmd}` : `command ${JSON.stringify(cmd)}`} (libsystemd --help)\n`);
  return 2;
}

function say(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Never a stack trace for a user: one line (NODE_DEBUG=libsystemd shows the stack).
    process.stderr.write(`libsystemd: ${(err as Error).message.split('\n')[0]}\n`);
    if (/\blibsystemd\b/.test(process.env.NODE_DEBUG ?? '')) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  },
);
