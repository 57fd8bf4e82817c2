/**
 * The published package, as a user gets it: `npm run prebuilds`, `npm pack`, then installs into
 * empty projects (scripts disabled, no compiler, no prebuild) and CommonJS and ESM consumers
 * type-checked with tsc.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, run } from './helpers/child';
import { budget, packInto, userEnv } from './helpers/pack';
import { describeWith } from './helpers/env';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PRINT = `const l = require('libsystemd'); console.log(JSON.stringify({ kind: l.backend.kind, transport: l.backend.transport, addonPath: l.backend.addonPath, fds: l.listenFds() }));`;


function project(base: string, name: string, pkg: object): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...pkg }));
  return dir;
}

async function npm(args: string[], cwd: string, extra: Record<string, string> = {}) {
  return run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, env: userEnv(extra), timeoutMs: 240_000 });
}

describeWith({ linux: true, bins: ['npm', 'tar'] }, 'packed tarball', () => {
  let base: string;
  let tarball: string;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'libsystemd-pack-'));
    // As a maintainer packs it: prepack builds both prebuilds (in scratch copies of the sources).
    tarball = await packInto(base);
  }, budget('pack'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('ships the prebuild, dist, types and the sources, and no build output or tests', async () => {
    const r = await run('tar', ['tzf', tarball]);
    const files = r.stdout.split('\n');
    expect(files).toContain(`package/prebuilds/${process.platform}-${process.arch}/libsystemd.node`);
    expect(files).toContain('package/prebuilds/linux-arm64/libsystemd.node');
    expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.mjs', 'package/dist/index.d.ts', 'package/dist/index.d.mts', 'package/binding.gyp', 'package/src/addon.cc', 'package/scripts/install.js']));
    expect(files.filter((f) => f.startsWith('package/build/') || f.startsWith('package/test/') || f.startsWith('package/node_modules/'))).toEqual([]);
  });

  it('the prebuilds need no newer glibc than their oldest targets (x64 GLIBC_2.9, arm64 GLIBC_2.17, GLIBCXX_3.4.21)', async () => {
    const unpacked = join(base, 'symbols');
    mkdirSync(unpacked);
    expect((await run('tar', ['xzf', tarball, '-C', unpacked])).code).toBe(0);
    const newest = async (file: string, prefix: string) => {
      const r = await run('objdump', ['-T', file]);
      const versions = [...r.stdout.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)`, 'g'))].map((m) => m[1]!.split('.').map(Number));
      versions.sort((a, b) => a[0]! - b[0]! || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0));
      return versions.at(-1)!.join('.');
    };
    const dir = join(unpacked, 'package', 'prebuilds');
    expect(await newest(join(dir, 'linux-x64', 'libsystemd.node'), 'GLIBC')).toBe('2.9');
    expect(await newest(join(dir, 'linux-arm64', 'libsystemd.node'), 'GLIBC')).toBe('2.17');
    for (const arch of ['linux-x64', 'linux-arm64']) expect(await newest(join(dir, arch, 'libsystemd.node'), 'GLIBCXX')).toBe('3.4.21');
  });

  it('prepublishOnly (prebuilds.js --check) passes with both prebuilds loading, and refuses a release that lacks one', async () => {
    const ok = await run(process.execPath, [join(ROOT, 'scripts', 'prebuilds.js'), '--check'], { timeoutMs: 120_000 });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('linux-x64: loads');
    expect(ok.stderr).toContain('linux-arm64: loads (under qemu-aarch64)');
    // A package directory with only the x64 binary: publishing must stop.
    const pkg = join(base, 'half-release');
    mkdirSync(join(pkg, 'scripts'), { recursive: true });
    for (const f of ['prebuilds.js', 'runtimes.js']) writeFileSync(join(pkg, 'scripts', f), readFileSync(join(ROOT, 'scripts', f)));
    mkdirSync(join(pkg, 'prebuilds', 'linux-x64'), { recursive: true });
    writeFileSync(join(pkg, 'prebuilds', 'linux-x64', 'libsystemd.node'), readFileSync(join(ROOT, 'prebuilds', 'linux-x64', 'libsystemd.node')));
    const half = await run(process.execPath, [join(pkg, 'scripts', 'prebuilds.js'), '--check'], { timeoutMs: 120_000 });
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('linux-arm64: missing');
  });

  it('@arethetypeswrong/cli finds no problem for any entry point in any resolution mode', async () => {
    const r = await run(join(ROOT, 'node_modules', '.bin', 'attw'), [tarball, '--format', 'table-flipped'], { env: userEnv(), timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('No problems found');
    // Every entry point was checked, in node10, node16 (CJS and ESM) and bundler resolution.
    for (const entry of ['libsystemd', 'libsystemd/auto', 'libsystemd/serve', 'libsystemd/pino', 'libsystemd/winston', 'libsystemd/console', 'libsystemd/compat/sd-notify', 'libsystemd/compat/systemd-journald', 'libsystemd/compat/systemd-socket', 'libsystemd/compat/systemd']) {
      expect(r.stdout).toContain(`"${entry}"`);
    }
  });

  it('installed with --ignore-scripts, loads the prebuild (kind libsystemd)', async () => {
    const dir = project(base, 'ignore-scripts', {});
    const i = await npm(['install', '--ignore-scripts', tarball], dir);
    expect(i.code, i.stderr).toBe(0);
    const r = await run(process.execPath, ['-e', PRINT], { cwd: dir, env: userEnv() });
    expect(r.json).toEqual({ kind: 'libsystemd', transport: 'native', addonPath: join(dir, 'node_modules', 'libsystemd', 'prebuilds', `${process.platform}-${process.arch}`, 'libsystemd.node'), fds: [] });
    expect(existsSync(join(dir, 'node_modules', 'libsystemd', 'build'))).toBe(false);
  });

  it('installed, the preload runs by its package name: node -r libsystemd/auto, --import libsystemd/auto and NODE_OPTIONS, silent outside systemd', async () => {
    const dir = project(base, 'auto-preload', {});
    const i = await npm(['install', '--ignore-scripts', tarball], dir);
    expect(i.code, i.stderr).toBe(0);
    writeFileSync(join(dir, 'app.js'), "const s = require('node:http').createServer(); s.listen(0, '127.0.0.1', () => { console.log(JSON.stringify({ listening: true })); s.close(); });\n");
    writeFileSync(join(dir, 'app.mjs'), "import { createServer } from 'node:http';\nconst s = createServer(); s.listen(0, '127.0.0.1', () => { console.log(JSON.stringify({ listening: true })); s.close(); });\n");
    const clean = { NOTIFY_SOCKET: undefined, LISTEN_FDS: undefined, LISTEN_PID: undefined, JOURNAL_STREAM: undefined };
    for (const [args, env] of [
      [['-r', 'libsystemd/auto', 'app.js'], {}],
      [['--import', 'libsystemd/auto', 'app.mjs'], {}],
      [['app.mjs'], { NODE_OPTIONS: '--import libsystemd/auto' }],
      [['app.js'], { NODE_OPTIONS: '-r libsystemd/auto' }],
    ] as const) {
      const r = await run(process.execPath, args, { cwd: dir, env: { ...userEnv(), ...clean, ...env } });
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 0, stdout: '{"listening":true}\n', stderr: '' });
    }
  });

  it('installed with CXX=/bin/false, the install exits 0 and the module works', async () => {
    const dir = project(base, 'no-compiler', {});
    const i = await npm(['install', '--foreground-scripts', tarball], dir, { CXX: '/bin/false', CC: '/bin/false' });
    expect(i.code, i.stderr).toBe(0);
    const r = await run(process.execPath, ['-e', PRINT], { cwd: dir, env: userEnv() });
    expect(r.json).toMatchObject({ kind: 'libsystemd', fds: [] });
  });

  it('without a prebuild and without a compiler, the install still exits 0 and the js backend runs', async () => {
    // Repack without prebuilds/ to stand for a platform we ship no binary for.
    const unpacked = join(base, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['xzf', tarball, '-C', unpacked]);
    rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
    const repack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', unpacked], { cwd: join(unpacked, 'package'), env: userEnv() });
    expect(repack.code, repack.stderr).toBe(0);
    const bare = join(unpacked, readdirSync(unpacked).find((f) => f.endsWith('.tgz'))!);
    const dir = project(base, 'no-prebuild', {});
    const i = await npm(['install', '--foreground-scripts', bare], dir, { CXX: '/bin/false', CC: '/bin/false' });
    expect(i.code, i.stderr).toBe(0);
    expect(i.stderr + i.stdout).toContain('the pure-JS backend will be used');
    const r = await run(process.execPath, ['-e', PRINT], { cwd: dir, env: userEnv() });
    expect(r.json).toEqual({ kind: 'js', transport: 'node', fds: [] });
  });

  it('a CommonJS and an ESM TypeScript consumer type-check with tsc and run, with named imports', async () => {
    const consumer = `import { backend, capabilities, listenFds, LISTEN_FDS_START, type BackendReport, type NamedFd } from 'libsystemd';
const report: BackendReport = backend;
const named: NamedFd[] = [];
console.log(JSON.stringify({ kind: report.kind, start: LISTEN_FDS_START, fds: listenFds(), named: named.length, notify: capabilities().notify }));
`;
    const tsconfig = (module: string) =>
      JSON.stringify({ compilerOptions: { module, moduleResolution: module === 'commonjs' ? 'node10' : 'nodenext', target: 'es2022', strict: true, outDir: 'out', typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'] }, files: ['main.ts'] });
    for (const [name, type, module] of [
      ['cjs-consumer', 'commonjs', 'commonjs'],
      ['esm-consumer', 'module', 'nodenext'],
    ] as const) {
      const dir = project(base, name, { type });
      const i = await npm(['install', '--ignore-scripts', tarball], dir);
      expect(i.code, i.stderr).toBe(0);
      writeFileSync(join(dir, 'main.ts'), consumer);
      writeFileSync(join(dir, 'tsconfig.json'), tsconfig(module));
      const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir });
      expect(tsc.stdout + tsc.stderr, `${name}: tsc`).toBe('');
      const r = await run(process.execPath, ['out/main.js'], { cwd: dir, env: userEnv() });
      expect(r.stderr, name).toBe('');
      expect(r.json, name).toEqual({ kind: 'libsystemd', start: 3, fds: [], named: 0, notify: true });
    }
    // A type error in a consumer is caught: the types are real, not `any`.
    const bad = join(base, 'cjs-consumer');
    writeFileSync(join(bad, 'main.ts'), `import { listenFds } from 'libsystemd';\nconst n: string = listenFds();\n`);
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: bad });
    expect(tsc.stdout).toContain("Type 'number[]' is not assignable to type 'string'");
  }, budget('install', 'tsc', 'node', 'install', 'tsc', 'node', 'tsc'));
});

describeWith({ linux: true, root: true, bins: ['git', 'npm', 'curl', 'unshare'] }, 'a fresh clone, as a contributor gets it', () => {
  let base: string;
  let clone: string;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'libsystemd-clone-'));
    clone = join(base, 'libsystemd');
    // The committed tree, as `git clone` gives it: no dist/, no build/, no node_modules/.
    const c = await run('git', ['clone', '--quiet', ROOT, clone], { timeoutMs: 60_000 });
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const i = await npm(['install'], clone);
    expect(i.code, i.stderr).toBe(0);
  }, budget('cloneInstall'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('npm install && npm start: the demo serves', async () => {
    // Its own network namespace (port 8080 is the machine's). `npm start` runs in a process
    // group of its own (setsid), and the group is stopped: npm passes SIGTERM to its `sh -c`,
    // which dies without passing it on, so killing npm alone would leave the demo serving.
    const script = [
      'set -e',
      'ip link set lo up',
      'setsid npm start > start.log 2>&1 & pid=$!',
      'for i in $(seq 1 200); do curl -s -o /dev/null 127.0.0.1:8080/ && break; sleep 0.05; done',
      'curl -s 127.0.0.1:8080/',
      'kill -TERM -$pid; wait $pid || true',
      // nothing of the demo may be left: its pid file of sorts is the port
      'for i in $(seq 1 100); do curl -s -o /dev/null 127.0.0.1:8080/ || exit 0; sleep 0.05; done; echo "the demo still serves" >&2; exit 1',
    ].join('\n');
    const r = await run('unshare', ['--net', '--', '/bin/sh', '-c', script], { cwd: clone, env: userEnv(), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ hello: 'from libsystemd', served: 2 }); // the probe, then this request
  });

  it('npm install && npm pack: the tarball has dist/ and both prebuilds, and loads the prebuild in an empty project with scripts off', async () => {
    const tgz = await packInto(base, clone);
    const files = (await run('tar', ['tzf', tgz])).stdout.split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.mjs', 'package/dist/cli.js', 'package/prebuilds/linux-x64/libsystemd.node', 'package/prebuilds/linux-arm64/libsystemd.node']));
    const dir = project(base, 'from-clone', {});
    const i = await npm(['install', '--ignore-scripts', tgz], dir);
    expect(i.code, i.stderr).toBe(0);
    const r = await run(process.execPath, ['-e', PRINT], { cwd: dir, env: userEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ kind: 'libsystemd', transport: 'native', addonPath: join(dir, 'node_modules', 'libsystemd', 'prebuilds', 'linux-x64', 'libsystemd.node'), fds: [] });
  }, budget('pack', 'install', 'node'));
});
