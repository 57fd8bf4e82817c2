/**
 * Units written by `libsystemd unit` (run inside the container, as a user types it) under a real
 * systemd PID 1, with hostile values in every option that reaches a unit (issue 25, class 1):
 * the process receives exactly the argv, environment, working directory and socket names that
 * were passed; `systemctl show` reports exactly the Description= and Environment= passed; an
 * injected `ExecStartPre=` never runs. And the README's resume.mjs (issue 26) runs under the
 * generated unit with a writable state directory (ProtectSystem=strict), resuming from its
 * cursor after a restart.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_ARG_STRLEN } from '../../lib/cli/unit-file';
import { describeWith } from '../helpers/env';
import { anyText, asPath, asWritten, fileName, HOSTILE } from '../helpers/hostile';
import { testBlocks } from '../helpers/readme';
import { showEnvironment } from '../helpers/unit-file-oracle';
import { RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const CLI = `${UNIT_CHECKOUT}/dist/cli.js`;
const APPS = '/run/lsd-unit';
/** The app: what it received, written into its state directory (the rest of the file system is read-only under ProtectSystem=strict). */
const ECHO = `const { writeFileSync } = require('node:fs');
writeFileSync(process.env.STATE_DIRECTORY + '/out.json', JSON.stringify({ argv: process.argv.slice(1), cwd: process.cwd(), K: process.env.K, fdnames: process.env.LISTEN_FDNAMES, fds: process.env.LISTEN_FDS }));
`;
/** Injections whose payload would show in the unit's journal if it ran. */
const INJECTIONS = ['x\nExecStartPre=/bin/echo INJECTED', '"\nExecStartPre=/bin/echo INJECTED\n"', '\\\nExecStartPre=/bin/echo INJECTED', 'a\\\\\n[Service]\nExecStartPost=/bin/echo INJECTED'];
/** Random strings heavy in what systemd treats specially (seeded: the same 25 every run). */
const RANDOM = fc.sample(fc.string({ unit: fc.constantFrom('%', '$', '{', '}', '\\', '"', "'", ';', ' ', '\t', '\n', '\r', '\x01', '\x7f', '#', '[', ']', '=', 'a', 'n', 'x', '0', 'é', '😀', '\u00a0', '\u2028'), minLength: 1, maxLength: 30 }), { numRuns: 25, seed: 20261204 });
/** Values argv can carry (no NUL, no lone surrogate) that an argument or environment string can hold. */
const VALUES = [...HOSTILE, ...INJECTIONS, ...RANDOM].filter((v) => anyText(v) && Buffer.byteLength(`K=${v}`) <= MAX_ARG_STRLEN);
const FDNAME = /^[\x21-\x39\x3b-\x3c\x3e-\x7e]{1,255}$/;

interface Case {
  readonly i: number;
  readonly v: string;
  readonly args: string[];
  readonly script: string;
  readonly description?: string;
  readonly sockets: { name: string; path: string; unit: string }[];
}

describeWith(SYSTEM_NEEDS, 'libsystemd unit under a real systemd: hostile values', () => {
  let sd: RealSystemd;
  let scratch: string;
  const cases: Case[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'libsystemd-unit-sys-'));
    sd = await RealSystemd.start(['--tmpfs', '/var/lib']);
    writeFileSync(join(scratch, 'echo.cjs'), ECHO);
    await sd.sh(['put', join(scratch, 'echo.cjs'), `${APPS}/echo.cjs`, '0644']);
    // The app again in directories named with each value (where a file name can be).
    const dirs = VALUES.map((v, i) => (fileName(v) && asPath(`${APPS}/d${i}-${v}`) ? `${APPS}/d${i}-${v}` : undefined));
    const mk = `const fs = require('node:fs'); for (const d of ${JSON.stringify(dirs.filter(Boolean))}) { fs.mkdirSync(d); fs.copyFileSync(${JSON.stringify(`${APPS}/echo.cjs`)}, d + '/echo.cjs'); }`;
    const r = await sd.exec(process.execPath, '-e', mk);
    expect(r.code, r.stderr).toBe(0);
    VALUES.forEach((v, i) => {
      const dir = dirs[i];
      const script = `${dir ?? APPS}/echo.cjs`;
      const description = asWritten(v) && Buffer.byteLength(v) < 4096 ? v : undefined;
      const sockets: Case['sockets'] = [];
      const args = ['--exec', script, '--name', `t${i}`, '--state-dir', `t${i}`, '--arg', v, '--env', `K=${v}`];
      if (description !== undefined) args.push('--description', description);
      if (FDNAME.test(v) && asWritten(v)) {
        args.push('--listen', `${v}=/run/s${i}.sock`);
        sockets.push({ name: v, path: `/run/s${i}.sock`, unit: '' });
      }
      const path = `/run/p${i}-${v}.sock`;
      if (asWritten(v) && !/\s|=/.test(v) && Buffer.byteLength(path) <= 107) {
        args.push('--listen', path);
        sockets.push({ name: sockets.length ? 'socket2' : 'http', path, unit: '' });
      }
      cases.push({ i, v, args, script, description, sockets });
    });
  }, 120_000);

  afterAll(async () => {
    await sd?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('every value reaches the process exactly; systemctl show reports it; nothing injected runs', async () => {
    const generate = async (c: Case) => {
      const r = await sd.exec(process.execPath, CLI, 'unit', ...c.args, '--dir', '/run/systemd/system');
      expect(r.code, `${JSON.stringify(c.v).slice(0, 100)}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain('warning');
      const written = r.stdout.split('\n').filter((l) => l.startsWith('wrote ')).map((l) => l.slice('wrote /run/systemd/system/'.length));
      c.sockets.forEach((s, k) => (s.unit = written.filter((w) => w.endsWith('.socket'))[k]!));
    };
    for (let k = 0; k < cases.length; k += 4) await Promise.all(cases.slice(k, k + 4).map(generate));
    expect((await sd.systemctl('daemon-reload')).code).toBe(0);
    // The socket units' names are escaped (\xHH): given to systemctl as written.
    const start = await sd.systemctl('start', ...cases.map((c) => `t${c.i}.service`));
    expect(start.code, start.stderr).toBe(0);
    // 73 node processes start at once: on a busy 2-core machine the last may take a while.
    for (const c of cases) await sd.waitFor(`t${c.i}.service`, 'ActiveState', /^(inactive|failed)$/, 60_000);

    const outs = await sd.exec('/bin/sh', '-c', `for i in ${cases.map((c) => c.i).join(' ')}; do printf '%s ' $i; cat /var/lib/t$i/out.json || printf null; echo; done`);
    const byCase = new Map(outs.stdout.split('\n').filter(Boolean).map((l) => [Number(l.slice(0, l.indexOf(' '))), JSON.parse(l.slice(l.indexOf(' ') + 1)) as { argv: string[]; cwd: string; K: string; fdnames?: string } | null]));
    const got = cases.map((c) => byCase.get(c.i) ?? { argv: [], cwd: '', K: '', fdnames: 'no output' });
    let sawSockets = 0;
    const check = async (c: Case, k: number) => {
      const label = JSON.stringify(c.v).slice(0, 100);
      expect(got[k]!.argv, label).toEqual([c.script, c.v]);
      expect(got[k]!.K, label).toBe(c.v);
      expect(got[k]!.cwd, label).toBe(c.script.slice(0, c.script.lastIndexOf('/')));
      // The fds come in systemd's order of the socket units, not in --listen order: compared as sets.
      expect(got[k]!.fdnames?.split(':').sort(), label).toEqual(c.sockets.length ? c.sockets.map((s) => s.name).sort() : undefined);
      sawSockets += c.sockets.length;
      // systemctl show: Description= and Environment= as passed; no ExecStartPre=/Post= at all. One
      // line each (none of these can hold a raw newline), so they come in one call.
      const props = ['Result', 'Description', 'Environment', 'ExecStartPre', 'ExecStartPost', 'WorkingDirectory'];
      const shown = (await sd.sh(['systemctl', 'show', '--all', ...props.map((p) => `--property=${p}`), `t${c.i}.service`])).stdout.split('\n').filter(Boolean);
      const show = Object.fromEntries(shown.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      // (systemctl leaves an empty command list out even with --all.)
      expect({ ExecStartPre: '', ExecStartPost: '', ...show }, label).toEqual({ Result: 'success', Description: c.description ?? `t${c.i} (Node.js)`, Environment: show.Environment, ExecStartPre: '', ExecStartPost: '', WorkingDirectory: got[k]!.cwd });
      expect(showEnvironment(show.Environment!), label).toEqual(['NODE_ENV=production', `K=${c.v}`]);
      // The $ in an argument is $$ in the unit (systemd shows it before the exec-time expansion).
      const execStart = (await sd.sh(['systemctl', 'show', '-P', 'ExecStart', `t${c.i}.service`])).stdout;
      expect(execStart, label).toContain(`argv[]=${[process.execPath, c.script, c.v].map((x) => x.replace(/\$/g, '$$$$')).join(' ')} ;`);
      for (const s of c.sockets) {
        // systemctl shows the path C-escaped ("\"" for a quote): read back as the Environment= display is.
        expect(showEnvironment(await sd.sh(['systemctl', 'show', '-P', 'Listen', s.unit]).then((x) => x.stdout.trim())), label).toEqual([s.path, '(Stream)']);
        expect((await sd.exec('test', '-S', s.path)).code, `${label}: ${s.path}`).toBe(0);
      }
    };
    // Four at a time: each check is a few systemctl calls into the container.
    for (let k = 0; k < cases.length; k += 4) await Promise.all(cases.slice(k, k + 4).map((c, j) => check(c, k + j)));
    expect(sawSockets).toBeGreaterThan(20);
    const journal = (await sd.journal()).map((e) => String(e.MESSAGE));
    expect(journal.filter((m) => m.includes('INJECTED'))).toEqual([]);
    expect((await sd.exec('test', '-e', '/run/INJECTED')).code).not.toBe(0);
  }, 600_000);

  it('--dynamic-user --state-dir: the transient user writes its state directory (ProtectSystem=strict)', async () => {
    const r = await sd.exec(process.execPath, CLI, 'unit', '--exec', `${APPS}/echo.cjs`, '--name', 'dyn', '--dynamic-user', '--state-dir', 'dyn', '--arg', '50% $PATH', '--env', 'K=$HOME 100%', '--dir', '/run/systemd/system');
    expect(r.code, r.stderr).toBe(0);
    expect((await sd.systemctl('daemon-reload')).code).toBe(0);
    expect((await sd.systemctl('start', 'dyn.service')).code).toBe(0);
    await sd.waitFor('dyn.service', 'ActiveState', /^(inactive|failed)$/, 60_000);
    expect(await sd.prop('dyn.service', 'Result')).toBe('success');
    const out = JSON.parse((await sd.exec('cat', '/var/lib/private/dyn/out.json')).stdout) as { argv: string[]; K: string };
    expect(out).toMatchObject({ argv: [`${APPS}/echo.cjs`, '50% $PATH'], K: '$HOME 100%' });
    // Written by the transient user, not root.
    expect((await sd.exec('stat', '-c', '%u', '/var/lib/private/dyn/out.json')).stdout.trim()).not.toBe('0');
  });

  it('a refused value writes nothing and says why in one line', async () => {
    for (const v of INJECTIONS) {
      const r = await sd.exec(process.execPath, CLI, 'unit', '--exec', `${APPS}/echo.cjs`, '--name', 'refused', '--description', v, '--dir', '/run/systemd/system');
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')).toEqual([expect.stringContaining(`--description ${JSON.stringify(v)}: `), '']);
    }
    expect((await sd.exec('test', '-e', '/run/systemd/system/refused.service')).code).not.toBe(0);
  });
});

/**
 * The README's resume.mjs (it saves its cursor under $STATE_DIRECTORY, else in the current
 * directory) under the unit the generator writes: without a writable directory it fails (EROFS:
 * ProtectSystem=strict); with --state-dir it runs (alone, and with --working-dir set to the state
 * directory), and a restart resumes from the saved cursor: nothing printed twice.
 */
describeWith(SYSTEM_NEEDS, 'the README resume.mjs under the generated unit', () => {
  let sd: RealSystemd;
  let scratch: string;
  // Under /srv (a tmpfs of this container): ProtectSystem=strict makes it read-only for the service.
  // (Not /run: in this harness PID 1 leaves its /run writable under strict, unlike on a host.)
  const APP = '/srv/billing-app';
  const [readme] = testBlocks('README.md', 'reader-resume');

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'libsystemd-unit-resume-'));
    sd = await RealSystemd.start(['--tmpfs', '/var/lib', '--tmpfs', '/srv']);
    writeFileSync(join(scratch, 'resume.mjs'), readme!.text);
    writeFileSync(join(scratch, 'resume-state.mjs'), readme!.text);
    await sd.sh(['put', join(scratch, 'resume.mjs'), `${APP}/resume.mjs`, '0644']);
    await sd.sh(['put', join(scratch, 'resume-state.mjs'), `${APP}/resume-state.mjs`, '0644']);
    // What `npm install libsystemd` leaves.
    const r = await sd.exec('/bin/sh', '-c', `mkdir -p ${APP}/node_modules && ln -s ${UNIT_CHECKOUT} ${APP}/node_modules/libsystemd`);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await sd?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const billing = (msg: string) => sd.exec('/bin/sh', '-c', `echo ${msg} | systemd-cat -t billing`);
  /** What the service itself printed (not PID 1's lines about it). */
  const printed = async (unit: string) => (await sd.journal('-u', unit)).filter((e) => e._PID !== '1').map((e) => String(e.MESSAGE));
  const unit = async (...args: string[]) => {
    const r = await sd.exec('/bin/sh', '-c', `cd ${APP} && ${process.execPath} ${CLI} unit ${args.join(' ')} --dir /run/systemd/system`);
    expect(r.code, r.stderr).toBe(0);
    expect((await sd.systemctl('daemon-reload')).code).toBe(0);
  };
  const until = async (what: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('without a writable directory it crash-loops on EROFS (the trap the notes describe)', async () => {
    await unit('--exec', 'resume.mjs', '--name', 'resume-ro');
    await billing('first');
    await sd.systemctl('start', 'resume-ro.service');
    await until(async () => (await printed('resume-ro.service')).some((m) => /EROFS/.test(m))).catch(async (e) => {
      throw new Error(`${e}: ${JSON.stringify(await printed('resume-ro.service'))} ${JSON.stringify((await sd.journal('-u', 'resume-ro.service')).map((x) => x.MESSAGE))}`);
    });
    await sd.systemctl('stop', 'resume-ro.service');
  });

  it.each([
    ['as written, --state-dir billing --working-dir /var/lib/billing', 'resume.mjs', ['--state-dir', 'billing', '--working-dir', '/var/lib/billing'], '/var/lib/billing/billing.cursor'],
    ['as written, --state-dir billing2 alone (the cursor in $STATE_DIRECTORY)', 'resume-state.mjs', ['--state-dir', 'billing2'], '/var/lib/billing2/billing.cursor'],
  ])('%s: runs, saves its cursor, resumes after a restart with nothing printed twice', async (_, script, opts, cursor) => {
    const name = script.replace('.mjs', '');
    await unit('--exec', script, '--name', name, ...opts);
    const tag = `${name}-${Date.now()}`;
    await billing(`${tag}-one`);
    expect((await sd.systemctl('start', `${name}.service`)).code).toBe(0);
    await until(async () => (await printed(`${name}.service`)).includes(`${tag}-one`));
    expect((await sd.exec('test', '-s', cursor)).code).toBe(0);
    expect(await sd.prop(`${name}.service`, 'ActiveState')).toBe('active');
    // A restart: the next entry is printed, the earlier ones not again.
    expect((await sd.systemctl('stop', `${name}.service`)).code).toBe(0);
    await billing(`${tag}-two`);
    expect((await sd.systemctl('start', `${name}.service`)).code).toBe(0);
    await until(async () => (await printed(`${name}.service`)).includes(`${tag}-two`));
    const out = await printed(`${name}.service`);
    expect(out.filter((m) => m === `${tag}-one`)).toHaveLength(1);
    expect(out.filter((m) => m === `${tag}-two`)).toHaveLength(1);
    expect(out.filter((m) => /EROFS|Error/.test(m))).toEqual([]);
    await sd.systemctl('stop', `${name}.service`);
  }, 120_000);
});
