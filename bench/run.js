#!/usr/bin/env node
// bench/run.js: `npm run bench` (add `-- --quick` for the CI smoke run). Builds the C baseline,
// then, inside a private mount namespace (its own /run, so /run/systemd/journal/socket is ours),
// runs C and Node alternately (A B A B, medians) into counting datagram sinks and into a real,
// isolated journald, plus the stall, start-up and leak measurements; prints one table.
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const BUILD = join(__dirname, '.build');
const BASELINE = join(BUILD, 'baseline');
const quick = process.argv.includes('--quick');
const asJson = process.argv.includes('--json');
const N = quick ? 20_000 : 200_000;
const ROUNDS = quick ? 1 : 5;
const NOTIFY_SOCK = '/run/bench-notify.sock';

function needs() {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid() !== 0) return 'needs root (a private mount namespace for the journal socket)';
  for (const bin of ['unshare', 'cc']) if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `needs ${bin}`;
  if (!existsSync('/lib/systemd/systemd-journald')) return 'needs systemd-journald';
  return undefined;
}

if (!process.argv.includes('--inner')) {
  const why = needs();
  if (why) {
    console.error(`bench: ${why}; nothing measured`);
    process.exit(quick ? 0 : 1);
  }
  mkdirSync(BUILD, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', BASELINE, join(__dirname, 'baseline.c'), '-l:libsystemd.so.0'], { stdio: 'inherit' });
  // A private /run (our own journal socket) and network namespace, where AF_UNIX datagram
  // queues are 512 deep as systemd-sysctl makes them on a booted host (the kernel default is 10).
  const setup = 'mount --make-rprivate / && mount -t tmpfs -o size=3g tmpfs /run && mkdir -p /run/systemd/journal /run/log && { [ ! -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal; } && echo 512 > /proc/sys/net/unix/max_dgram_qlen && exec "$0" "$@"';
  const r = spawnSync('unshare', ['--mount', '--net', '--propagation', 'private', '--', '/bin/sh', '-c', setup, process.execPath, __filename, '--inner', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// ---------------------------------------------------------------- inside the namespace
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runJson(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const c = (mode, n, env) => runJson(BASELINE, [mode, String(n)], env);
const node = (mode, n, env) => runJson(process.execPath, ['--expose-gc', join(__dirname, 'worker.js'), mode, String(n)], env);
const JS = { LIBSYSTEMD_SONAME: 'libsystemd-hidden-by-bench.so.0' };

function startProcess(cmd, args) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(p);
  p.stdout.setEncoding('utf8');
  return new Promise((resolveReady, reject) => {
    p.stdout.once('data', () => resolveReady(p));
    p.once('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

/** How many datagrams a counting sink (baseline sink) has received so far. */
function sinkCount(sink) {
  return new Promise((resolveCount) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      const m = /count (\d+)\n/.exec(buf);
      if (!m) return;
      sink.stdout.off('data', onData);
      resolveCount(Number(m[1]));
    };
    sink.stdout.on('data', onData);
    sink.kill('SIGUSR1');
  });
}

/** Rows whose receiver got fewer entries than were sent: the bench fails on any. */
const shortfalls = [];

/**
 * Wraps a run into a counting sink: the run's entries (its `sent`, else its `calls`) must all
 * arrive. Waits for the sink to read what is still in its socket queue.
 */
function delivered(sink, what, run) {
  return async () => {
    const before = await sinkCount(sink);
    const r = run();
    const want = r.sent ?? r.calls;
    let got = (await sinkCount(sink)) - before;
    for (let still = 0; got < want && still < 20; ) {
      await new Promise((res) => setTimeout(res, 25));
      const now = (await sinkCount(sink)) - before;
      still = now === got ? still + 1 : 0;
      got = now;
    }
    if (got < want) shortfalls.push(`${what}: the receiver got ${got} of ${want} entries`);
    // Notify: every call's message was sent or replaced by a newer one of the same kind, none dropped.
    if (r.made !== undefined && (r.dropped !== 0 || r.sent + r.coalesced !== r.made)) shortfalls.push(`${what}: ${r.made} messages made, ${r.sent} sent, ${r.coalesced} coalesced, ${r.dropped} dropped`);
    return { ...r, delivered: got, want };
  };
}

async function waitFor(check, what) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Alternates the runs of each side for ROUNDS rounds; returns the median run of each. */
async function alternate(sides) {
  const results = sides.map(() => []);
  for (let round = 0; round < ROUNDS; round++) for (let i = 0; i < sides.length; i++) results[i].push(await sides[i]());
  return results.map((runs) => {
    const m = median(runs.map((r) => r.nsPerCall));
    const deliveredAll = runs.reduce((a, r) => a + (r.delivered ?? 0), 0);
    const wantAll = runs.reduce((a, r) => a + (r.want ?? 0), 0);
    const coalescedAll = runs.reduce((a, r) => a + (r.coalesced ?? 0), 0);
    return { ...(runs.find((r) => r.nsPerCall === m) ?? runs[0]), nsPerCall: m, rssKb: Math.max(...runs.map((r) => r.rssKb ?? 0)), deliveredAll, wantAll, coalescedAll, runs };
  });
}

const rows = [];
function row(name, ours, baseline, extra = {}) {
  const note = ours.wantAll ? `${ours.deliveredAll}/${ours.wantAll} delivered${ours.coalescedAll ? `, ${ours.coalescedAll} coalesced while the receiver was full` : ''}` : undefined;
  rows.push({ name, ns: ours.nsPerCall, rssKb: ours.rssKb, baseline, ...(note ? { note } : {}), ...extra });
}

/** Every process the benchmark starts, ended on any way out (a failed run included). */
const started = new Set();
process.on('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

async function main() {
  const env = { NOTIFY_SOCKET: NOTIFY_SOCK };
  // Counting sinks: journald is out of the loop.
  const journalSink = await startProcess(BASELINE, ['sink', '/run/systemd/journal/socket']);
  const notifySink = await startProcess(BASELINE, ['sink', NOTIFY_SOCK]);

  const J = (what, run) => delivered(journalSink, what, run);
  const [cSend, cRaw, ours, oursJs, logLoc, logNoLoc] = await alternate([
    J('C sd_journal_send', () => c('journal-send', N)),
    J('C raw sendmsg', () => c('journal-raw', N)),
    J('journal.send', () => node('journal-send', N)),
    J('journal.send (js)', () => node('journal-send', N, JS)),
    J('createLogger().info', () => node('logger-info', N)),
    J('createLogger().info, no location', () => node('logger-info-noloc', N)),
  ]);
  const journalBase = { 'C sd_journal_send': cSend.nsPerCall, 'C raw sendmsg': cRaw.nsPerCall };
  row('C sd_journal_send', cSend, journalBase);
  row('C raw sendmsg (prebuilt entry)', cRaw, journalBase);
  row(`journal.send (${ours.backend})`, ours, journalBase);
  row(`journal.send (${oursJs.backend})`, oursJs, journalBase);
  row('createLogger().info, captureLocation', logLoc, journalBase);
  row('createLogger().info, no location', logNoLoc, journalBase);

  const [pinoStdout, pinoJournal, pinoBuild] = await alternate([() => node('pino-stdout', N), J('pino → journal', () => node('pino-journal', N)), J('pino transport alone', () => node('pino-build', N))]);
  const pinoBase = { 'pino → stdout': pinoStdout.nsPerCall, 'C sd_journal_send': cSend.nsPerCall };
  row('pino → stdout (sonic-boom, /dev/null)', pinoStdout, pinoBase);
  row('pino → journal (libsystemd/pino, worker thread)', pinoJournal, pinoBase);
  // The calling thread's share: pino serialises and hands the line to its worker; the framing
  // and sending happen on the worker's thread (another core).
  const callerMedian = (runs) => median(runs.map((r) => r.callerNsPerCall));
  row('pino → journal, the calling thread alone', { ...pinoJournal, nsPerCall: callerMedian(pinoJournal.runs), deliveredAll: undefined, wantAll: undefined }, pinoBase);
  row('pino → journal, the transport\'s work alone (one thread)', pinoBuild, pinoBase);

  const S = (what, run) => delivered(notifySink, what, run);
  const [cNotify, cNotifyRaw, status, statusJs, watchdog] = await alternate([
    S('C sd_notify', () => c('notify', N, env)),
    S('C raw sendto', () => c('notify-raw', N, env)),
    S('status()', () => node('notify-status', N, env)),
    S('status() (js)', () => node('notify-status', N, { ...env, ...JS })),
    S('watchdog()', () => node('notify-watchdog', N, env)),
  ]);
  const notifyBase = { 'C sd_notify': cNotify.nsPerCall, 'C raw sendto': cNotifyRaw.nsPerCall };
  row('C sd_notify', cNotify, notifyBase);
  row('C raw sendto (reused socket)', cNotifyRaw, notifyBase);
  row(`status() (${status.backend})`, status, notifyBase);
  row(`status() (${statusJs.backend})`, statusJs, notifyBase);
  row(`watchdog() (${watchdog.backend})`, watchdog, notifyBase);

  // 1,000,000 sends (100,000 in quick mode): RSS growth and open fds.
  const leak = await J('leak', () => node('leak', quick ? 100_000 : 1_000_000))();
  for (const sink of [journalSink, notifySink]) {
    sink.kill();
    await new Promise((r) => sink.once('exit', r));
  }
  // The sink's socket file must not pass for journald's while journald starts.
  rmSync('/run/systemd/journal/socket', { force: true });

  // A real, isolated journald: everything is journald-bound; compare throughput, count entries.
  const conf = join(BUILD, 'journald.conf');
  writeFileSync(conf, '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRuntimeMaxUse=2500M\nRuntimeMaxFileSize=256M\nReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\nForwardToKMsg=no\n');
  execFileSync('mount', ['--bind', conf, '/etc/systemd/journald.conf']);
  const journald = spawn('/lib/systemd/systemd-journald', [], { stdio: 'ignore' });
  started.add(journald);
  await waitFor(() => existsSync('/run/systemd/journal/socket') && existsSync('/run/systemd/journal/stdout'), 'journald');
  const NJ = quick ? 10_000 : 100_000;
  const [cJ, oursJ] = await alternate([() => c('journal-send', NJ), () => node('journal-send', NJ)]);
  execFileSync('journalctl', ['--sync']);
  const count = (comm) => Number(execFileSync('sh', ['-c', `journalctl -t bench _COMM=${comm} -o cat --no-pager | wc -l`], { encoding: 'utf8' }).trim());
  const jBase = { 'C sd_journal_send': cJ.nsPerCall };
  // The Node runs also send their JIT warm-up entries (oursJ.sent per run).
  const storedC = count('baseline');
  const storedNode = count('node');
  if (storedC < NJ * ROUNDS) shortfalls.push(`C sd_journal_send → journald: ${storedC} of ${NJ * ROUNDS} stored`);
  if (storedNode < oursJ.sent * ROUNDS) shortfalls.push(`journal.send → journald: ${storedNode} of ${oursJ.sent * ROUNDS} stored`);
  row('C sd_journal_send → journald', cJ, jBase, { note: `${storedC}/${NJ * ROUNDS} entries stored` });
  row('journal.send → journald', oursJ, jBase, { note: `${storedNode}/${oursJ.sent * ROUNDS} entries stored` });

  // journald SIGSTOPped for 5 s (1 s in quick mode) while logging.
  const stallMs = quick ? 1000 : 5000;
  const stall = async (run) => {
    const p = new Promise((res, rej) => {
      const child = spawn(run[0], run.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim())) : rej(new Error(`stall run exited ${code}`))));
    });
    await new Promise((r) => setTimeout(r, 100));
    process.kill(journald.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, stallMs));
    process.kill(journald.pid, 'SIGCONT');
    return p;
  };
  const cStall = await stall([BASELINE, 'journal-stall', String(stallMs + 500)]);
  // The longest gap while logging, against the same timers with no logging (this machine's own
  // floor: a VM's scheduling alone loses milliseconds), alternated, worst of each.
  const gaps = { logging: [], idle: [] };
  let nodeStall;
  let stallCalls = 0;
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    const run = await stall([process.execPath, join(__dirname, 'worker.js'), 'stall', String(stallMs + 500)]);
    nodeStall = !nodeStall || run.maxGapMs > nodeStall.maxGapMs ? run : nodeStall;
    gaps.logging.push(run.maxGapMs);
    stallCalls += run.calls;
    gaps.idle.push((await stall([process.execPath, join(__dirname, 'worker.js'), 'stall-idle', String(stallMs + 500)])).maxGapMs);
  }
  execFileSync('journalctl', ['--sync']);
  const stallStored = Number(execFileSync('sh', ['-c', 'journalctl -t bench -o cat --no-pager | grep -c "^stall entry"'], { encoding: 'utf8' }).trim());
  if (stallStored < stallCalls) shortfalls.push(`stall: ${stallStored} of ${stallCalls} stored after SIGCONT`);

  // Reading: NR entries of 8 fields (plus journald's own), matched by identifier, read back
  // through every reader in the same run, alternating, every field of every entry materialised.
  const NR = quick ? 20_000 : 150_000;
  const RID = 'bench-read';
  const READ = join(__dirname, 'read.js');
  runJson(process.execPath, [READ, 'write', RID, String(NR)]);
  execFileSync('journalctl', ['--sync']);
  const PY = '/usr/bin/python3';
  const hasPy = spawnSync(PY, ['-c', 'import systemd.journal']).status === 0;
  if (!hasPy) shortfalls.push('python-systemd (Debian: python3-systemd) is missing: the reading baseline was not measured');
  const readers = [
    ['journal.query (libsystemd reader)', () => runJson(process.execPath, [READ, 'ours', RID])],
    ['journal.query (journalctl -o export fallback)', () => runJson(process.execPath, [READ, 'ours', RID], JS)],
    ...(hasPy ? [['python-systemd Reader', () => runJson(PY, [join(__dirname, 'read.py'), RID])]] : []),
    ['journalctl -o json + JSON.parse', () => runJson(process.execPath, [READ, 'json', RID])],
    ['journalctl -o export alone (no parsing)', () => {
      const t0 = process.hrtime.bigint();
      const n = Number(execFileSync('sh', ['-c', `journalctl -o export --all --no-pager -t ${RID} | grep -c '^__CURSOR='`], { encoding: 'utf8' }).trim());
      return { n, ms: Number(process.hrtime.bigint() - t0) / 1e6, fields: 0 };
    }],
  ];
  const readRuns = readers.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < readers.length; i++) {
      const k = round % 2 ? readers.length - 1 - i : i;
      const r = readers[k][1]();
      if (r.n !== NR) shortfalls.push(`${readers[k][0]}: read ${r.n} of ${NR} entries`);
      readRuns[k].push(r);
    }
  }
  const reading = readers.map(([name], k) => ({ name, entriesPerSec: median(readRuns[k].map((r) => (r.n / r.ms) * 1000)), fieldsPerEntry: readRuns[k][0].fields / Math.max(1, readRuns[k][0].n) }));
  journald.kill();

  // require('libsystemd') cost at start-up: node -e '' vs node -e 'require(...)', alternated.
  const time = (args) => {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, args);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const bare = [];
  const withLib = [];
  for (let i = 0; i < (quick ? 3 : 15); i++) {
    bare.push(time(['-e', '']));
    withLib.push(time(['-e', `require(${JSON.stringify(ROOT)})`]));
  }
  const startupMs = median(withLib) - median(bare);

  const result = { quick, rounds: ROUNDS, calls: N, rows, leak, stall: { c: cStall, node: nodeStall, stored: stallStored, calls: stallCalls, stallMs, gaps }, startupMs, reading, readEntries: NR, shortfalls };
  if (asJson) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else print(result);
  if (shortfalls.length > 0) {
    console.error(`\nbench FAILED: entries were not delivered:\n  ${shortfalls.join('\n  ')}`);
    process.exitCode = 1;
  }
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function print(r) {
  console.log(`\nlibsystemd benchmarks (${r.quick ? 'quick smoke run' : `${r.rounds} alternating rounds, medians`}; ${fmt(r.calls)} calls per run; Node ${process.version})\n`);
  console.log('| benchmark | ns/call | calls/s | peak RSS | ratio to C |');
  console.log('|---|---:|---:|---:|---|');
  for (const x of r.rows) {
    const ratios = Object.entries(x.baseline).filter(([k]) => !x.name.startsWith(k)).map(([k, v]) => `${(x.ns / v).toFixed(2)}× ${k}`);
    console.log(`| ${x.name} | ${fmt(x.ns)} | ${fmt(1e9 / x.ns)} | ${fmt(x.rssKb / 1024, 1)} MB | ${ratios.join(', ') || '—'}${x.note ? ` (${x.note})` : ''} |`);
  }
  const s = r.stall;
  console.log(`\njournald SIGSTOPped ${s.stallMs / 1000} s while logging: C sd_journal_send blocked its caller for ${fmt(s.c.maxGapMs, 1)} ms at once; ` +
    `journal (createLogger().info) longest event-loop gap ${fmt(s.node.maxGapMs, 1)} ms (runs: ${s.gaps.logging.map((g) => fmt(g, 1)).join(', ')}; the same 1 ms timer with no logging: ${s.gaps.idle.map((g) => fmt(g, 1)).join(', ')} ms), ${fmt(s.node.calls)} entries, up to ${fmt(s.node.peakQueued)} queued, ${s.node.stats.dropped} dropped; ` +
    `${fmt(s.stored)} of ${fmt(s.calls)} (every run's) stored after SIGCONT.`);
  const l = r.leak;
  console.log(`${fmt(l.calls)} journal.send calls after a warm-up: RSS growth ${fmt(l.rssGrowthMb, 1)} MB (${fmt(l.rssGrowthSecondHalfMb, 1)} MB in the second half), open fds ${l.fdsBefore} → ${l.fdsAfter}.`);
  console.log(`require('libsystemd') adds ${fmt(r.startupMs, 1)} ms to process start-up (median of node -e require vs node -e '').`);
  const py = r.reading.find((x) => x.name === 'python-systemd Reader');
  const json = r.reading.find((x) => x.name.startsWith('journalctl -o json'));
  console.log(`\nReading ${fmt(r.readEntries)} entries of 8 fields (plus journald's own) matched by identifier, every field materialised:\n`);
  console.log('| reader | entries/s | fields/entry | vs python-systemd | vs journalctl -o json + JSON.parse |');
  console.log('|---|---:|---:|---:|---:|');
  for (const x of r.reading) console.log(`| ${x.name} | ${fmt(x.entriesPerSec)} | ${x.fieldsPerEntry ? fmt(x.fieldsPerEntry, 1) : '—'} | ${py ? `${(x.entriesPerSec / py.entriesPerSec).toFixed(2)}×` : '—'} | ${(x.entriesPerSec / json.entriesPerSec).toFixed(2)}× |`);
}

main().catch((err) => {
  console.error(err.stack);
  process.exitCode = 1;
}).finally(() => process.exit());
