#!/usr/bin/env node
// npm run test:matrix [-- vitest options]: the runtime, package-manager, glibc and arm64 matrix
// (test/matrix/, vitest.matrix.mts), then the README's support table from its results, which
// scripts/matrix-table.js writes only when every matrix test ran and passed.
'use strict';
const { spawnSync } = require('node:child_process');
const { copyFileSync, existsSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = join(__dirname, '..');
// Results of an earlier run must never stand for this one.
for (const f of ['matrix.json', 'matrix-vitest.json']) rmSync(join(root, 'test-results', f), { force: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
// The table needs this run's JSON report: a caller's own report (.ci/run passes
// --reporter=json --outputFile.json=FILE) is a copy of it, not a replacement.
const args = process.argv.slice(2);
const asked = args.find((a) => a.startsWith('--outputFile.json='));
const rest = args.filter((a) => a !== asked && a !== '--reporter=json' && a !== '--reporter=default');
const report = join(root, 'test-results', 'matrix-vitest.json');
const r = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.matrix.mts', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...rest], { cwd: root, stdio: 'inherit' });
if (asked && existsSync(report)) copyFileSync(report, resolve(root, asked.slice('--outputFile.json='.length)));
const t = spawnSync(process.execPath, [join(__dirname, 'matrix-table.js')], { cwd: root, stdio: 'inherit' });
process.exit(r.status || t.status || (r.status === null ? 1 : 0));
