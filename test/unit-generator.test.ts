/**
 * `libsystemd unit` against hostile values (issue 25, class 1): every option that reaches a unit
 * file, with a table of values that could add a line, a section, a specifier or a $ expansion.
 * Each value is either written so that systemd reads back exactly what was passed (checked by
 * an oracle transcribed from systemd's parser and by the real `systemd-analyze verify`, which
 * must print nothing) or refused with ERR_INVALID_ARG_VALUE before anything is written, and the
 * CLI then says so in one line (the value JSON-quoted), exit 2. test/system/unit.test.ts starts
 * the same units under a real PID 1.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUnits, parseUnitArgs } from '../lib/cli/unit';
import { MAX_ARG_STRLEN, shown } from '../lib/cli/unit-file';
import { anyText, asPath, asWritten, CC, fileName, HOSTILE } from './helpers/hostile';
import { ROOT, run } from './helpers/child';
import { describeWith } from './helpers/env';
import { environment, execCommand, parseUnitFile, plain, values } from './helpers/unit-file-oracle';

const CLI = join(ROOT, 'dist', 'cli.js');

interface Option {
  /** The command line for value v, case i (the unit is named t<i> unless the option is the name). */
  args(v: string, i: number): string[] | undefined;
  /** Whether systemd can hold v there (the generator must accept it then, and refuse it otherwise). */
  ok(v: string, i: number): boolean;
  /** Reads v back from the generated files with the oracle. */
  check(files: Record<string, string>, v: string, i: number): void;
}

let base = '';
let app = '';
const service = (files: Record<string, string>, i: number) => parseUnitFile(files[`t${i}.service`]!);

const OPTIONS: Record<string, Option> = {
  '--arg': {
    args: (v) => ['--arg', v],
    ok: (v) => anyText(v) && Buffer.byteLength(v) <= MAX_ARG_STRLEN,
    check: (f, v, i) => expect(execCommand(values(service(f, i), 'Service', 'ExecStart')[0]!).argv).toEqual([process.execPath, app, v]),
  },
  '--env': {
    args: (v) => ['--env', `K=${v}`],
    ok: (v) => anyText(v) && Buffer.byteLength(`K=${v}`) <= MAX_ARG_STRLEN,
    check: (f, v, i) => expect(values(service(f, i), 'Service', 'Environment').flatMap(environment)).toEqual(['NODE_ENV=production', `K=${v}`]),
  },
  '--description': {
    args: (v) => ['--description', v, '--listen', '8080'],
    ok: (v) => asWritten(v),
    check: (f, v, i) => {
      expect(values(service(f, i), 'Unit', 'Description').map(plain)).toEqual([v]);
      expect(values(parseUnitFile(f[`t${i}-http.socket`]!), 'Unit', 'Description').map(plain)).toEqual([`${v} (socket "http")`]);
    },
  },
  '--exec (its directory)': {
    args: (v, i) => (fileName(v) ? ['--exec', join(base, `d${i}-${v}`, 'app.js')] : undefined),
    ok: (v, i) => asPath(join(base, `d${i}-${v}`)),
    check: (f, v, i) => {
      const s = service(f, i);
      expect(execCommand(values(s, 'Service', 'ExecStart')[0]!).argv).toEqual([process.execPath, join(base, `d${i}-${v}`, 'app.js')]);
      expect(values(s, 'Service', 'WorkingDirectory').map(plain)).toEqual([join(base, `d${i}-${v}`)]);
    },
  },
  '--exec (the program)': {
    args: (v, i) => (fileName(v) ? ['--exec', join(base, `x${i}${v}`)] : undefined),
    ok: (v) => !/[\x00-\x1f\x7f"'\\]/.test(v),
    check: (f, v, i) => expect(execCommand(values(service(f, i), 'Service', 'ExecStart')[0]!)).toEqual({ path: join(base, `x${i}${v}`), argv: [join(base, `x${i}${v}`)] }),
  },
  '--working-dir': {
    args: (v) => ['--working-dir', `/srv/${v}`],
    ok: (v) => asPath(`/srv/${v}`),
    check: (f, v, i) => expect(values(service(f, i), 'Service', 'WorkingDirectory').map(plain)).toEqual([`/srv/${v}`]),
  },
  '--credential': {
    args: (v) => ['--credential', `token:/etc/creds/${v}`],
    ok: (v) => asPath(`/etc/creds/${v}`) && !/^\.{0,2}$/.test(v),
    check: (f, v, i) => expect(values(service(f, i), 'Service', 'LoadCredential').map((x) => [x.slice(0, x.indexOf(':')), plain(x.slice(x.indexOf(':') + 1))])).toEqual([['token', `/etc/creds/${v}`]]),
  },
  '--listen (a path)': {
    args: (v) => ['--listen', `/run/${v}.sock`],
    ok: (v) => asWritten(`/run/${v}.sock`) && !/\s/.test(v) && !v.includes('=') && Buffer.byteLength(`/run/${v}.sock`) <= 107,
    check: (f, v, i) => expect(values(parseUnitFile(f[`t${i}-http.socket`]!), 'Socket', 'ListenStream').map(plain)).toEqual([`/run/${v}.sock`]),
  },
  '--listen (a name)': {
    args: (v) => ['--listen', `${v}=8080`],
    ok: (v) => /^[\x21-\x39\x3b-\x3c\x3e-\x7e]{1,255}$/.test(v) && asWritten(v),
    check: (f, v, i) => {
      const socket = Object.keys(f).find((n) => n.endsWith('.socket'))!;
      expect(socket).toMatch(/^[A-Za-z0-9:_.\\-]+\.socket$/);
      expect(values(parseUnitFile(f[socket]!), 'Socket', 'FileDescriptorName').map(plain)).toEqual([v]);
      expect(values(service(f, i), 'Unit', 'Requires')).toEqual([socket]);
    },
  },
  '--state-dir': {
    args: (v) => ['--state-dir', v],
    ok: (v) => /^[A-Za-z0-9_.@+-]{1,255}$/.test(v) && !/^\.\.?$/.test(v) && v !== 'private',
    check: (f, v, i) => expect(values(service(f, i), 'Service', 'StateDirectory').map(plain)).toEqual([v]),
  },
  '--name': {
    args: (v) => ['--name', v],
    ok: (v) => /^[A-Za-z0-9:_.\\-]{1,200}$/.test(v),
    check: (f, v) => expect(Object.keys(f)).toEqual([`${v}.service`]),
  },
};

describeWith({ linux: true, bins: ['systemd-analyze'] }, 'libsystemd unit: hostile values in every option', () => {
  beforeAll(() => {
    base = mkdtempSync('/run/libsystemd-unit-hostile-');
    chmodSync(base, 0o755);
    app = join(base, 'app.js');
    writeFileSync(app, '');
    HOSTILE.forEach((v, i) => {
      if (!fileName(v)) return;
      mkdirSync(join(base, `d${i}-${v}`));
      writeFileSync(join(base, `d${i}-${v}`, 'app.js'), '');
      writeFileSync(join(base, `x${i}${v}`), '#!/usr/bin/env node\n', { mode: 0o755 });
    });
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  for (const [option, o] of Object.entries(OPTIONS)) {
    it(`${option}: each value is written exactly (systemd-analyze verify silent) or refused in one line`, () => {
      const out = join(base, `units${option.replace(/\W/g, '')}`);
      mkdirSync(out);
      const accepted: string[] = [];
      HOSTILE.forEach((v, i) => {
        const args = o.args(v, i);
        if (!args) return;
        const argv = ['--exec', app, '--name', `t${i}`, ...args];
        const want = o.ok(v, i);
        let files: Record<string, string>;
        try {
          files = { ...generateUnits(parseUnitArgs(argv, base)).files };
        } catch (err) {
          const e = err as Error & { code?: string };
          expect({ value: v.slice(0, 80), refused: e.message }).toEqual({ value: v.slice(0, 80), refused: want ? 'accepted' : e.message });
          expect(e.code ?? 'ERR_INVALID_ARG_VALUE').toBe('ERR_INVALID_ARG_VALUE');
          expect(e.message).not.toMatch(/[\n\r]/);
          return;
        }
        expect({ value: v.slice(0, 80), accepted: true }).toEqual({ value: v.slice(0, 80), accepted: want });
        // Nothing in a file but the lines the generator writes: no raw control character anywhere.
        for (const text of Object.values(files)) expect(text.replace(/\n/g, '')).not.toMatch(CC);
        o.check(files, v, i);
        const dir = join(out, String(i));
        mkdirSync(dir);
        for (const [name, text] of Object.entries(files)) {
          // systemd-analyze verify reads FILE:NAME as "FILE, loaded as NAME": a name with a colon
          // (valid for PID 1) is given that way.
          const file = join(dir, name.replace(/:/g, '_'));
          writeFileSync(file, text);
          accepted.push(name.includes(':') ? `${file}:${name}` : file);
        }
      });
      expect(accepted.length).toBeGreaterThan(0);
      // systemd's own parser: not one warning (an ignored line, an unknown escape, a bad specifier).
      for (let k = 0; k < accepted.length; k += 40) {
        const r = spawnSync('systemd-analyze', ['verify', '--', ...accepted.slice(k, k + 40)], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
    });
  }

  it('a line systemd cannot read (1 MiB or more) is refused', () => {
    expect(() => parseUnitArgs(['--exec', app, '--description', 'z'.repeat(1024 * 1024)], base)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/systemd fails a unit file with a line of 1048576 bytes or more/) }));
  });
});

describeWith({ linux: true }, 'libsystemd unit: the command line', () => {
  let dir: string;
  let app: string;
  beforeAll(() => {
    dir = mkdtempSync('/run/libsystemd-unit-cli-');
    chmodSync(dir, 0o755);
    app = join(dir, 'app.js');
    writeFileSync(app, '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const unit = (args: string[], cwd = dir) => run(process.execPath, [CLI, 'unit', ...args], { cwd });

  it.each([
    ['--description', 'demo\n[Service]\nExecStartPre=/bin/touch /run/INJECTED', /a control character \("\\n"\)/],
    ['--description', 'ends in a backslash\\', /a trailing backslash/],
    ['--working-dir', '/srv/a\nb', /a control character/],
    ['--env', 'K=nul\0', /a NUL byte/],
    ['--run-as', 'ro\not', /a control character/],
  ])('%s %j: one line on stderr with the value JSON-quoted, exit 2, nothing written', async (flag, value, reason) => {
    const out = join(dir, `out-${flag.slice(2)}`);
    if (value.includes('\0')) {
      // argv cannot carry a NUL: the API refuses it.
      expect(() => parseUnitArgs(['--exec', app, flag, value], dir)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(reason) }));
      return;
    }
    const r = await unit(['--exec', app, flag, value, '--dir', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toEqual([expect.stringContaining(`libsystemd unit: ${flag} ${JSON.stringify(value)}: `), '']);
    expect(r.stderr).toMatch(reason);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('every value that can be written is written once, quoted by the rules, and the CLI says what ExecStart= is', async () => {
    const out = join(dir, 'quoted');
    const r = await unit(['--exec', app, '--name', 'q', '--arg', 'x\ny', '--arg', '%h', '--arg', '$HOME', '--arg', ';', '--env', 'P=$PATH', '--env', 'RATIO=50%', '--description', 'web 100% "ok"', '--listen', 'we"b=8080', '--dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`libsystemd unit: --exec ${app} is a file: ExecStart=${process.execPath} ${app} "x\\ny" "%%h" "$$HOME" ";"\n`);
    const text = readFileSync(join(out, 'q.service'), 'utf8');
    expect(text).toContain(`ExecStart=${process.execPath} ${app} "x\\ny" "%%h" "$$HOME" ";"\n`);
    expect(text).toContain('Environment="P=$PATH"\nEnvironment="RATIO=50%%"\n');
    expect(text).toContain('Description=web 100%% "ok"\n');
    expect(text).toContain('Requires=q-we\\x22b.socket\n');
    expect(readdirSync(out).sort()).toEqual(['q-we\\x22b.socket', 'q.service']);
    // The next commands quote the unit name for the shell.
    expect(r.stdout).toContain(`enable --now 'q-we\\x22b.socket'`);
  });

  it('a --listen name cannot name a file outside --dir', async () => {
    const out = join(dir, 'traversal');
    const r = await unit(['--exec', app, '--name', 'a', '--listen', '../../../../run/evil=8080', '--dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['a-..\\x2f..\\x2f..\\x2f..\\x2frun\\x2fevil.socket', 'a.service']);
    expect(existsSync('/run/evil.socket')).toBe(false);
  });

  it('--run-as with an empty value (an empty $USER) says why', async () => {
    const r = await unit(['--exec', app, '--run-as', '', '--print']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^libsystemd unit: --run-as "": an empty user name \(was \$USER empty\?/);
  });

  it('--state-dir writes StateDirectory= and says where the service finds it; bad names are refused', async () => {
    const r = await unit(['--exec', app, '--state-dir', 'billing', '--print']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('StateDirectory=billing\n');
    expect(r.stdout).toContain('ProtectSystem=strict\n');
    expect(r.stderr).toContain('--state-dir billing: StateDirectory=billing, writable by the service (/var/lib/billing) and kept across restarts; the service finds its path in $STATE_DIRECTORY');
    for (const bad of ['/var/lib/x', '../x', 'a//b', 'private', 'a b']) {
      const b = await unit(['--exec', app, '--state-dir', bad, '--print']);
      expect(b.code, bad).toBe(2);
      expect(b.stderr).toContain(`--state-dir ${shown(bad)}: `);
    }
  });

  describe('--exec npm start (a wrapper)', () => {
    let pkg: string;
    beforeAll(() => {
      pkg = join(dir, 'pkg');
      mkdirSync(pkg);
      writeFileSync(join(pkg, 'server.js'), '');
    });
    const withScripts = (scripts: Record<string, string> | undefined) => writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'x', ...(scripts ? { scripts } : {}) }));

    it.each([
      ['npm start', { start: 'node server.js --port 8080' }, ['server.js', '--port', '8080']],
      ['npm run serve', { serve: 'node server.js' }, ['server.js']],
      ['yarn start', { start: 'node server.js' }, ['server.js']],
      ['pnpm start', { start: 'node server.js' }, ['server.js']],
      ['npm start', undefined, ['server.js']], // npm's default start: node server.js
    ])('%s with %j: runs the node command directly, and says so', async (exec, scripts, args) => {
      withScripts(scripts);
      const r = await unit(['--exec', exec, '--print'], pkg);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`runs package.json's`);
      expect(r.stderr).toContain('the unit runs that directly');
      expect(r.stdout).toContain(`ExecStart=${process.execPath} ${args.join(' ')}\n`);
      expect(r.stdout).toContain(`WorkingDirectory=${pkg}\n`);
    });

    it.each([
      ['npm start', { start: 'node server.js | tee log' }],
      ['npm start', { prestart: 'tsc', start: 'node server.js' }],
      ['npx serve', undefined],
      ['npm run dev', { dev: 'nodemon server.js' }],
    ])('%s with %j: warned before writing (the sockets and NOTIFY_SOCKET would be the wrapper\'s)', async (exec, scripts) => {
      withScripts(scripts);
      const r = await unit(['--exec', exec, '--name', 'w', '--print'], pkg);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/warning: (npm|npx) is a wrapper: systemd's sockets, NOTIFY_SOCKET and SIGTERM go to it, not to your node process .*Point --exec at the script/);
    });

    it('a shell script as --exec is warned about too', async () => {
      const sh = join(pkg, 'start.sh');
      writeFileSync(sh, '#!/bin/sh\nnode server.js\n', { mode: 0o755 });
      const r = await unit(['--exec', sh, '--print'], pkg);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`warning: ${sh} is a shell script: systemd's sockets`);
    });
  });
});
