#!/usr/bin/env node
// bench/auto.js: what `libsystemd/auto` adds to a Node process's start-up. Runs `node app.js`
// (an app that creates an http server, listens on port 0 and exits) with and without the
// preload, alternately (A B C A B C…), and prints the medians and the differences:
//   - outside systemd (no NOTIFY_SOCKET/LISTEN_FDS/JOURNAL_STREAM): the preload must cost ~nothing;
//   - with NOTIFY_SOCKET set (a real datagram receiver): the cost of actually doing its job
//     (the addon, notify, the listen patch, READY=1).
// Usage: node bench/auto.js [--runs N] [--json]   (goal outside systemd: < 3 ms)
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { createSocket } = require('node:dgram');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 40;
const dir = mkdtempSync(join(tmpdir(), 'libsystemd-bench-auto-'));
const app = join(dir, 'app.js');
// Its first line prints performance.now() (ms from the process's start to the app's first line,
// where a preload's cost lands) and the CPU time the process used until then (user + system:
// the figure least disturbed by other load on the host, since waiting for a CPU is not counted).
writeFileSync(app, "const u = process.cpuUsage(); process.stdout.write(JSON.stringify([performance.now(), (u.user + u.system) / 1000]));\nconst s = require('node:http').createServer((q, r) => r.end('x')); s.listen(0, '127.0.0.1', () => s.close());\n");

writeFileSync(join(dir, 'empty.js'), '');
writeFileSync(join(dir, 'empty.mjs'), '');
const env = { ...process.env };
for (const k of ['NOTIFY_SOCKET', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'JOURNAL_STREAM', 'WATCHDOG_USEC', 'NODE_OPTIONS']) delete env[k];

// A notify receiver for the "under systemd" case (an abstract socket: nothing to clean up).
// Node's dgram cannot bind AF_UNIX, so the receiver is a tiny python3 process when available;
// otherwise the under-systemd case uses a path nobody listens on (sd_notify then fails with
// ECONNREFUSED after doing all the work, plus one warning line).
const notifyPath = join(dir, 'notify.sock');

const cases = [
  { name: 'node app.js', args: [app], env },
  // Node's own cost of a preload flag, with an empty file: the floor for the two below.
  { name: 'node -r empty.js app.js (control)', args: ['-r', join(dir, 'empty.js'), app], env },
  { name: 'node --import empty.mjs app.js (control)', args: ['--import', join(dir, 'empty.mjs'), app], env },
  { name: 'node -r libsystemd/auto app.js (outside systemd)', args: ['-r', join(ROOT, 'dist', 'auto.js'), app], env },
  { name: 'node --import libsystemd/auto app.js (outside systemd)', args: ['--import', join(ROOT, 'dist', 'auto.mjs'), app], env },
  { name: 'node -r libsystemd/auto app.js (NOTIFY_SOCKET set)', args: ['-r', join(ROOT, 'dist', 'auto.js'), app], env: { ...env, NOTIFY_SOCKET: notifyPath } },
];

let receiver;
const py = spawnSync('sh', ['-c', 'command -v python3']).status === 0;
if (py) {
  receiver = require('node:child_process').spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(notifyPath)})\nprint('ok',flush=True)\nwhile True: s.recv(65536)`], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function once(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.args, { env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
  const [first, cpu] = JSON.parse(String(r.stdout));
  return [first, wall, cpu];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  if (receiver) await new Promise((r) => receiver.stdout.once('data', r));
  for (const c of cases) once(c); // warm the page cache
  const first = cases.map(() => []);
  const wall = cases.map(() => []);
  const cpu = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < cases.length; j++) {
      const [f, w, c] = once(cases[j]);
      cpu[j].push(c);
      first[j].push(f);
      wall[j].push(w);
    }
  }
  const base = median(first[0]);
  const baseWall = median(wall[0]);
  const baseCpu = median(cpu[0]);
  const rows = cases.map((c, j) => ({ case: c.name, cpu_ms: +median(cpu[j]).toFixed(2), cpu_added_ms: +(median(cpu[j]) - baseCpu).toFixed(2), first_line_ms: +median(first[j]).toFixed(2), added_ms: +(median(first[j]) - base).toFixed(2), wall_ms: +median(wall[j]).toFixed(1), wall_added_ms: +(median(wall[j]) - baseWall).toFixed(1) }));
  if (process.argv.includes('--json')) console.log(JSON.stringify({ runs: RUNS, node: process.version, rows }));
  else {
    console.log(`libsystemd/auto start-up, ${RUNS} alternating runs each, medians (node ${process.version})`);
    console.log('(CPU: user+system time used before the app\'s first line, the least noisy figure on a busy host; to first line: wall time from process start)');
    console.log(`${'case'.padEnd(58)} ${'CPU'.padStart(9)} ${'added'.padStart(7)} ${'to first line'.padStart(13)} ${'added'.padStart(9)} ${'whole run'.padStart(10)} ${'added'.padStart(8)}`);
    const sign = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
    for (const r of rows) console.log(`${r.case.padEnd(58)} ${r.cpu_ms.toFixed(2).padStart(9)} ${sign(r.cpu_added_ms).padStart(7)} ${r.first_line_ms.toFixed(2).padStart(10)} ms ${sign(r.added_ms).padStart(9)} ${r.wall_ms.toFixed(1).padStart(7)} ms ${sign(r.wall_added_ms).padStart(8)}`);
  }
}

main().finally(() => {
  receiver?.kill();
  rmSync(dir, { recursive: true, force: true });
});
