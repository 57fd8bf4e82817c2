#!/usr/bin/env node
// scripts/install.js: the package's install step. It never fails a consumer's install:
// a prebuild that loads is used as is; otherwise it tries node-gyp, and if that cannot work
// (no compiler, no headers, not Linux) it says so and exits 0: the pure-JS backend runs.
// `--strict` (npm run build:native) builds unconditionally and fails loudly instead.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const strict = process.argv.includes('--strict');
const say = (msg) => process.stderr.write(`libsystemd: ${msg}\n`);

/** Loads an addon in a child process (a broken .node must not take this process down). */
function loads(file) {
  if (!existsSync(file)) return false;
  const r = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(file)}).BINDING_VERSION > 0 ? 0 : 1)`], { stdio: 'ignore' });
  return r.status === 0;
}

/** node-gyp: npm's own copy when npm runs us, else a local devDependency. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    return undefined;
  }
}

/** Distribution builds of Node ship their headers under <prefix>/include/node: use them offline. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
}

function build() {
  const gyp = nodeGyp();
  if (!gyp) return { ok: false, why: 'node-gyp not found' };
  const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedirArgs()], { cwd: root, stdio: strict ? 'inherit' : ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0 && loads(join(root, 'build', 'Release', 'systemd_native.node'))) return { ok: true };
  const tail = (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
  return { ok: false, why: r.error ? r.error.message : `node-gyp exited ${r.status}${tail ? `: ${tail}` : ''}` };
}

function main() {
  if (strict) {
    const r = build();
    if (!r.ok) {
      say(`native build failed: ${r.why}`);
      process.exit(1);
    }
    return;
  }
  if (process.platform !== 'linux') return say('not Linux: using the pure-JS backend (no native build needed)');
  if (process.env.LIBSYSTEMD_SKIP_BUILD === '1') return say('LIBSYSTEMD_SKIP_BUILD=1: native build skipped');
  const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'libsystemd.node');
  // The shipped binary works: nothing to build, no compiler needed.
  if (loads(prebuild)) return say(`using the prebuilt binary prebuilds/${process.platform}-${process.arch}/libsystemd.node (nothing to compile)`);
  say(`no prebuilt binary loads for ${process.platform}-${process.arch}: compiling the addon with node-gyp`);
  const r = build();
  if (!r.ok) say(`no prebuild for ${process.platform}-${process.arch} and the native build failed (${r.why}); the pure-JS backend will be used`);
}

try {
  main();
} catch (err) {
  say(`install step failed (${err && err.message}); the pure-JS backend will be used`);
}
process.exitCode = process.exitCode || 0;
