/**
 * The packed tarball as users install it, on a machine with no compiler on the PATH: npm with
 * scripts on (the install script must use the prebuild and say so) and with --ignore-scripts,
 * pnpm 10 with its defaults (dependency install scripts do not run), and Yarn 4 with the
 * node_modules linker. Every one must give the libsystemd backend from the prebuild.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, type ChildOptions } from '../helpers/child';
import { describeWith, which } from '../helpers/env';
import { packInto, userEnv } from '../helpers/pack';
import { record, runtimes } from './support';

const PRINT = `const l = require('libsystemd'); console.log(JSON.stringify({ kind: l.backend.kind, addonPath: l.backend.addonPath }));`;
const REGISTRY = 'https://registry.npmjs.org/';

/** A user's shell whose PATH holds only node, npm, sh and the archivers (no CC or CXX either). */
function bareEnv(bin: string, extra: Record<string, string> = {}): ChildOptions['env'] {
  return userEnv({ CC: undefined, CXX: undefined, PATH: bin, ...extra });
}

describeWith({ linux: true, bins: ['npm', 'tar', 'gzip'] }, 'package managers, no compiler on the PATH', () => {
  let base: string;
  let tarball: string;
  let bin: string;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'libsystemd-pm-'));
    tarball = await packInto(base);
    // A PATH with what a package manager needs and no cc, c++, g++, make or python.
    bin = join(base, 'bin');
    mkdirSync(bin);
    for (const tool of ['sh', 'bash', 'tar', 'gzip', 'git', 'env', 'uname', 'cat', 'rm', 'mkdir', 'ls', 'cp', 'chmod']) {
      const at = which(tool);
      if (at) symlinkSync(at, join(bin, tool));
    }
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of ['npm', 'npx']) symlinkSync(which(tool)!, join(bin, tool));
    expect(readdirSync(bin).filter((t) => ['cc', 'gcc', 'g++', 'c++', 'make', 'python3'].includes(t))).toEqual([]);
  }, 400_000);
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  async function check(dir: string) {
    const r = await run(join(bin, 'node'), ['-e', PRINT], { cwd: dir, env: bareEnv(bin) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.kind).toBe('libsystemd');
    expect(r.json.addonPath).toMatch(/prebuilds\/linux-x64\/libsystemd\.node$/);
  }

  function project(name: string, extra: object = {}): string {
    const dir = join(base, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...extra }));
    return dir;
  }

  it('npm, install scripts on: the install script takes the prebuild, compiles nothing, and says so', async () => {
    const dir = project('npm-scripts');
    const i = await run(join(bin, 'npm'), ['install', '--foreground-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: dir, env: bareEnv(bin), timeoutMs: 240_000 });
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout + i.stderr).toContain('libsystemd: using the prebuilt binary prebuilds/linux-x64/libsystemd.node (nothing to compile)');
    expect(i.stdout + i.stderr).not.toMatch(/node-gyp|gyp info/);
    await check(dir);
    const npmVersion = (await run(join(bin, 'npm'), ['--version'], { env: bareEnv(bin) })).stdout.trim();
    record({ what: 'npm', version: npmVersion, ran: 'install of the packed tarball, scripts on, no compiler on the PATH: the prebuild, libsystemd backend', result: 'pass' });
  });

  it('npm --ignore-scripts', async () => {
    const dir = project('npm-ignore-scripts');
    const i = await run(join(bin, 'npm'), ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: dir, env: bareEnv(bin), timeoutMs: 240_000 });
    expect(i.code, i.stderr).toBe(0);
    await check(dir);
    const npmVersion = (await run(join(bin, 'npm'), ['--version'], { env: bareEnv(bin) })).stdout.trim();
    record({ what: 'npm', version: npmVersion, ran: 'install with --ignore-scripts: the prebuild, libsystemd backend', result: 'pass' });
  });

  it('pnpm 10 with its defaults (dependency install scripts off)', async () => {
    const pnpm = runtimes.ensure('pnpm-10');
    const dir = project('pnpm');
    const i = await run(join(bin, 'node'), [pnpm, 'add', tarball, `--registry=${REGISTRY}`], { cwd: dir, env: bareEnv(bin, { HOME: dir }), timeoutMs: 240_000 });
    expect(i.code, i.stdout + i.stderr).toBe(0);
    await check(dir);
    const version = (await run(join(bin, 'node'), [pnpm, '--version'], { env: bareEnv(bin, { HOME: dir }) })).stdout.trim();
    record({ what: 'pnpm', version, ran: 'add of the packed tarball, default settings (no dependency scripts): the prebuild, libsystemd backend', result: 'pass' });
  });

  it('Yarn 4 with the node_modules linker', async () => {
    const yarn = runtimes.ensure('yarn-4');
    const dir = project('yarn', { packageManager: undefined });
    writeFileSync(join(dir, '.yarnrc.yml'), `nodeLinker: node-modules\nnpmRegistryServer: "${REGISTRY.replace(/\/$/, '')}"\nenableTelemetry: false\nenableGlobalCache: false\n`);
    writeFileSync(join(dir, 'yarn.lock'), '');
    const i = await run(join(bin, 'node'), [yarn, 'add', `libsystemd@file:${tarball}`], { cwd: dir, env: bareEnv(bin, { HOME: dir, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false' }), timeoutMs: 240_000 });
    expect(i.code, i.stdout + i.stderr).toBe(0);
    await check(dir);
    const version = (await run(join(bin, 'node'), [yarn, '--version'], { cwd: dir, env: bareEnv(bin, { HOME: dir }) })).stdout.trim();
    record({ what: 'Yarn', version, ran: 'add of the packed tarball, node_modules linker: the prebuild, libsystemd backend', result: 'pass' });
  });
});
