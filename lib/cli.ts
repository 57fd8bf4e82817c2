#!/usr/bin/env node
/**
 * The `libsystemd` command: `doctor` (what this process sees of systemd, and advice) and `unit`
 * (a .service and .socket units for a Node application).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doctor, formatChecks } from './cli/doctor';
import { parseRunArgs, RUN_USAGE, Supervisor } from './cli/run';
import { generateUnits, parseUnitArgs, UNIT_USAGE } from './cli/unit';

const USAGE = `usage: libsystemd doctor [--json]
       ${RUN_USAGE.replace(/\n/g, '\n       ')}
       ${UNIT_USAGE.replace(/\n/g, '\n       ')}`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'doctor') {
    const checks = await doctor();
    const failed = checks.some((c) => c.status === 'FAIL');
    if (rest.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
    else process.stdout.write(`${formatChecks(checks)}\n`);
    return failed ? 1 : 0;
  }
  if (cmd === 'run') {
    let o;
    try {
      o = parseRunArgs(rest);
    } catch (err) {
      process.stderr.write(`libsystemd run: ${(err as Error).message}\n\n${RUN_USAGE}\n`);
      return 2;
    }
    let supervisor;
    try {
      supervisor = new Supervisor(o);
    } catch (err) {
      process.stderr.write(`libsystemd run: ${(err as Error).message}\n`);
      return 2;
    }
    // A supervisor is done when its command is: nothing it opened may keep the process alive.
    process.exit(await supervisor.run());
  }
  if (cmd === 'unit') {
    let o;
    try {
      o = parseUnitArgs(rest);
    } catch (err) {
      process.stderr.write(`libsystemd unit: ${(err as Error).message}\n\n${UNIT_USAGE}\n`);
      return 2;
    }
    const { files, dir, next } = generateUnits(o);
    if (o.print) {
      for (const [name, text] of Object.entries(files)) process.stdout.write(`# ${name}\n${text}\n`);
      return 0;
    }
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      process.stdout.write(`wrote ${join(dir, name)}\n`);
    }
    process.stdout.write(`\nnext:\n${next.map((l) => `  ${l}`).join('\n')}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`libsystemd: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  },
);
