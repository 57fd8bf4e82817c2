#!/usr/bin/env node
// npm run test:matrix [-- vitest options]: the runtime, package-manager, glibc and arm64 matrix
// (test/matrix/, vitest.matrix.mts), then the README's support table from its results.
'use strict';
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
rmSync(join(root, 'test-results', 'matrix.json'), { force: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.matrix.mts', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
spawnSync(process.execPath, [join(__dirname, 'matrix-table.js')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
