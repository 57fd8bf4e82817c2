#!/usr/bin/env node
/**
 * `libsystemd serve` against PM2's cluster mode, side by side in one run: the same unmodified
 * node:http app (test/fixtures/serve/http-app.js) in 2 workers, the same keep-alive load
 * (autocannon, 20 connections, loopback), 3 reloads during it. Reports for both: failed requests
 * (errors, timeouts, non-2xx), throughput, the RSS of the supervising processes (serve's main
 * process; PM2's daemon) and how long each reload took until it was complete.
 *
 *   PM2=/path/to/node_modules/.bin/pm2 node bench/serve-vs-pm2.js [--seconds 20] [--runs 1]
 *
 * PM2 is not a dependency: install it in a scratch folder (npm install pm2). It runs with its own
 * PM2_HOME in a temp dir and `pm2 kill` ends it. serve runs under systemd-socket-activate (a
 * .socket's stand-in: the socket is held across the reloads). Loopback only; every process group
 * started here is killed at the end.
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const autocannon = require('autocannon');

const ROOT = resolve(__dirname, '..');
const APP = join(ROOT, 'test', 'fixtures', 'serve', 'http-app.js');
const CLI = join(ROOT, 'dist', 'cli.js');
const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const SECONDS = Number(opt('--seconds', '20'));
const RUNS = Number(opt('--runs', '1'));
const PM2 = process.env.PM2 || opt('--pm2');
if (!PM2) {
  console.error('set PM2=/path/to/pm2 (npm install pm2 in a scratch folder)');
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
};
const children = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

async function until(what, fn, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

function get(port) {
  return new Promise((r) => {
    require('node:http')
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => r(res.statusCode === 200));
      })
      .on('error', () => r(false));
  });
}

function summary(r) {
  return { requests: r.requests.total, reqPerSec: Math.round(r.requests.average), errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, p99Ms: r.latency.p99 };
}

/**
 * autocannon against `port` for SECONDS with 3 reloads 2 s apart (`reload(i)` resolves when the
 * i-th is done): the load's summary, each reload's time, and the RSS of `supervisor` (its peak)
 * and of its children at the end.
 */
async function reloadsUnderLoad(port, supervisor, reload) {
  const load = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 20, duration: SECONDS, timeout: 10 });
  await sleep(2000);
  const reloads = [];
  const rss = [];
  for (let i = 1; i <= 3; i++) {
    const t0 = Date.now();
    await reload(i);
    reloads.push(Date.now() - t0);
    rss.push(rssKb(supervisor));
    await sleep(2000);
  }
  const r = await load;
  rss.push(rssKb(supervisor));
  const workersKb = children(supervisor).map(rssKb);
  return { ...summary(r), reloadMs: reloads, supervisorRssMB: +(Math.max(...rss) / 1024).toFixed(1), workersRssMB: workersKb.map((k) => +(k / 1024).toFixed(1)) };
}

async function runServe(port) {
  const ssa = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '--', process.execPath, CLI, 'serve', '--workers', '2', APP], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: String(port) } });
  let out = '';
  ssa.stderr.on('data', (d) => (out += d));
  ssa.stdout.on('data', (d) => (out += d));
  try {
    await until('systemd-socket-activate', () => out.includes('Listening on'));
    await get(port); // activates serve
    await until('workers', () => /2 worker\(s\) ready/.test(out));
    const main = ssa.pid;
    return await reloadsUnderLoad(port, main, async (i) => {
      process.kill(main, 'SIGHUP');
      await until(`reload ${i}`, () => (out.match(/reload done in/g) || []).length >= i);
    });
  } finally {
    try {
      process.kill(ssa.pid, 'SIGTERM');
      await until('serve to stop', () => ssa.exitCode !== null || ssa.signalCode !== null, 20_000);
    } catch {
      process.kill(-ssa.pid, 'SIGKILL');
    }
  }
}

async function runPm2(port) {
  const home = mkdtempSync(join(tmpdir(), 'pm2-home-'));
  const env = { ...process.env, PM2_HOME: home, PORT: String(port) };
  const pm2 = (...a) => execFileSync(PM2, a, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  try {
    pm2('start', APP, '-i', '2', '--name', 'bench');
    await until('pm2 app', () => get(port));
    const daemon = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
    // `pm2 reload` returns once every process was replaced (asynchronously: no blocking of the load).
    return await reloadsUnderLoad(port, daemon, () => new Promise((res, rej) => spawn(PM2, ['reload', 'bench'], { env, stdio: 'ignore' }).on('exit', (c) => (c === 0 ? res() : rej(new Error(`pm2 reload: ${c}`))))));
  } finally {
    try {
      pm2('kill');
    } catch (err) {
      console.error(`pm2 kill: ${err.message}`);
    }
    rmSync(home, { recursive: true, force: true });
  }
}

(async () => {
  const version = JSON.parse(readFileSync(join(require('node:fs').realpathSync(PM2), '..', '..', 'package.json'), 'utf8')).version;
  console.log(`node ${process.version}, PM2 ${version}, 2 workers, autocannon 20 connections for ${SECONDS} s, 3 reloads, ${RUNS} run(s)`);
  for (let run = 1; run <= RUNS; run++) {
    const port = 21000 + Math.floor(Math.random() * 20000);
    const serve = await runServe(port);
    console.log(JSON.stringify({ run, tool: 'libsystemd serve', ...serve }));
    const pm2 = await runPm2(port + 1);
    console.log(JSON.stringify({ run, tool: 'pm2 -i 2', ...pm2 }));
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
