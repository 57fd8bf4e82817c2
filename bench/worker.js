// bench/worker.js MODE N: the Node side of one benchmark run. Prints one JSON line like the C
// baseline: { name, calls, nsPerCall, rssKb } (plus mode-specific figures).
'use strict';
const { readdirSync } = require('node:fs');
const l = require('..');

const [mode, nArg] = process.argv.slice(2);
const n = Number(nArg);
const FIELDS = { MESSAGE: 'request served', PRIORITY: 6, SYSLOG_IDENTIFIER: 'bench', REQ_ID: 'a1b2c3', METHOD: 'GET', PATH: '/api/items', STATUS: 200, DURATION_MS: 12 };
const META = { reqId: 'a1b2c3', method: 'GET', path: '/api/items', status: 200, durationMs: 12 };

const rssKb = () => process.resourceUsage().maxRSS;
const openFds = () => readdirSync('/proc/self/fd').length;
const tick = () => new Promise((r) => setImmediate(r));

/** Until every entry sent so far has left the process (journal.flush), and every queued notify message. */
async function drained() {
  await l.journal.flush();
  for (let i = 0; i < 2000 && l.notifyStats().queued > 0; i++) await new Promise((r) => setTimeout(r, 5));
}
const WARM = Math.min(20000, n / 10);

async function timed(fn) {
  for (let i = 0; i < WARM; i++) fn(); // warm up the JIT
  // Let the receiver catch up with the warm-up entries before the clock starts.
  await drained();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0);
}

const loggers = {
  loc: l.createLogger({ identifier: 'bench' }),
  noloc: l.createLogger({ identifier: 'bench', captureLocation: false }),
};

const calls = {
  'journal-send': () => l.journal.send(FIELDS),
  'logger-info': () => loggers.loc.info('request served', META),
  'logger-info-noloc': () => loggers.noloc.info('request served', META),
  'notify-status': () => l.status('serving 42 requests'),
  'notify-watchdog': () => l.watchdog(),
};

/** pino into the journal (the transport in pino's worker thread) or into /dev/null as stdout would. */
async function pinoRun(target) {
  const pino = require('pino');
  let log;
  if (target === 'journal') {
    // A queue large enough that the benchmark measures throughput, not the drop policy.
    const transport = pino.transport({ target: 'libsystemd/pino', options: { identifier: 'bench', maxQueueBytes: 512 << 20 } });
    await new Promise((r) => transport.once('ready', r));
    log = pino(transport);
  } else {
    log = pino(pino.destination({ dest: '/dev/null', sync: true }));
  }
  for (let i = 0; i < WARM; i++) log.info(META, 'request served');
  await new Promise((r) => log.flush(r));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) log.info(META, 'request served');
  // The calling thread's own time: what a service's thread pays per record.
  const loop = Number(process.hrtime.bigint() - t0);
  // Until the records are through: handed to the worker and consumed by it.
  await new Promise((r) => log.flush(r));
  return [Number(process.hrtime.bigint() - t0), loop];
}

/**
 * The transport's own work in one thread: libsystemd/pino's stream fed the lines pino writes, in
 * chunks as its worker receives them (pino's serialising and thread hand-over left out).
 */
async function pinoBuildRun() {
  const pino = require('pino');
  const build = require('../dist/pino.js');
  const lines = [];
  const log = pino({}, { write: (s) => lines.push(s) });
  for (let i = 0; i < 400; i++) log.info(META, 'request served');
  const chunk = lines.join('');
  const stream = build({ identifier: 'bench', maxQueueBytes: 512 << 20 });
  for (let i = 0; i < WARM / 400; i++) stream.write(chunk);
  await drained();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n / 400; i++) stream.write(chunk);
  await drained();
  return Number(process.hrtime.bigint() - t0);
}

async function main() {
  const out = { name: mode, backend: `${l.backend.kind}/${l.backend.transport}` };
  if (mode === 'pino-build') {
    const ns = await pinoBuildRun();
    Object.assign(out, { calls: n, sent: Math.floor(WARM / 400) * 400 + n, nsPerCall: ns / n, rssKb: rssKb(), stats: l.journal.stats() });
  } else if (mode === 'pino-journal' || mode === 'pino-stdout') {
    const [ns, loop] = await pinoRun(mode === 'pino-journal' ? 'journal' : 'stdout');
    // The records reach the receiver by the time this process has exited (the exit drain).
    Object.assign(out, { calls: n, sent: WARM + n, nsPerCall: ns / n, callerNsPerCall: loop / n, rssKb: rssKb() });
  } else if (calls[mode]) {
    const ns = await timed(calls[mode]);
    const t0 = process.hrtime.bigint();
    await drained(); // anything queued behind a busy receiver still counts
    const total = ns + Number(process.hrtime.bigint() - t0);
    // Notify messages: a STATUS= (or WATCHDOG=1) still queued behind a full receiver is replaced
    // by the next one, as the protocol allows; the receiver must get every one that was sent.
    const counts = mode.startsWith('notify-') ? { sent: l.notifyStats().sent, made: WARM + n, coalesced: l.notifyStats().coalesced, dropped: l.notifyStats().dropped } : { sent: WARM + n };
    Object.assign(out, { calls: n, ...counts, nsPerCall: total / n, rssKb: rssKb(), stats: l.journal.stats() });
  } else if (mode === 'leak') {
    // RSS and fds around n sends, after a warm-up that lets V8's heap reach its working size;
    // the RSS at half-way shows whether growth is linear (a leak) or a plateau.
    const rss = async () => {
      await drained();
      global.gc?.();
      return process.memoryUsage().rss / 1048576;
    };
    const batch = async (count) => {
      for (let i = 0; i < count; i++) {
        l.journal.send(FIELDS);
        if (i % 10000 === 0) await tick();
      }
    };
    const warm = Math.min(200_000, n);
    await batch(warm);
    const rss0 = await rss();
    const fds0 = openFds();
    await batch(n / 2);
    const rssHalf = await rss();
    await batch(n / 2);
    const rss1 = await rss();
    Object.assign(out, { calls: n, sent: warm + n, rssGrowthMb: rss1 - rss0, rssGrowthSecondHalfMb: rss1 - rssHalf, fdsBefore: fds0, fdsAfter: openFds(), stats: l.journal.stats() });
  } else if (mode === 'stall' || mode === 'stall-idle') {
    // Logs for n ms while journald is stopped by the caller; reports the longest event-loop gap.
    // stall-idle: the same timers without logging, the machine's own floor for that gap.
    const idle = mode === 'stall-idle';
    const log = loggers.noloc;
    let last = process.hrtime.bigint();
    let maxGap = 0n;
    let sent = 0;
    let peakQueued = 0;
    const gap = setInterval(() => {
      const now = process.hrtime.bigint();
      if (now - last > maxGap) maxGap = now - last;
      last = now;
      peakQueued = Math.max(peakQueued, l.journal.stats().queued);
    }, 1);
    const start = Date.now();
    await new Promise((resolve) => {
      const t = setInterval(() => {
        if (!idle) for (let i = 0; i < 5; i++, sent++) log.info(`stall entry ${sent}`);
        if (Date.now() - start > n) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    await drained();
    clearInterval(gap);
    Object.assign(out, { calls: sent, maxGapMs: Number(maxGap) / 1e6, peakQueued, stats: l.journal.stats(), rssKb: rssKb() });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
