// The demo: an HTTP service using all three areas. It listens on the socket systemd passes
// (named `http`, or the first one) and on a port otherwise, logs every request as a structured
// journal entry, reports readiness and a live status, feeds the watchdog, and stops gracefully.
'use strict';
const http = require('node:http');
const sd = require('libsystemd');

const port = Number(process.env.PORT || 8080);
const log = sd.createLogger({ identifier: 'libsystemd-demo' });
let served = 0;

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ hello: 'from libsystemd', served: ++served, pid: process.pid }) + '\n');
  const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
  log.info(`${req.method} ${req.url} ${res.statusCode}`, { method: req.method, path: req.url, status: res.statusCode, durationMs: durationMs.toFixed(3) });
  sd.status(`${served} request(s) served`);
});

// The activated socket named "http" (FileDescriptorName=http), else the first one, else a port.
const named = sd.listenFdsWithNames();
const selector = named.some((s) => s.name === 'http') ? 'http' : 0;
sd.listenOn(server, selector, { port, host: '127.0.0.1' }, () => {
  const where = named.length ? `socket-activated (${named.map((s) => s.name).join(', ')})` : `http://127.0.0.1:${port}/`;
  sd.ready(`serving ${where}`);
  const wd = sd.startWatchdog();
  const logs = sd.capabilities().journalFields && sd.journal.send({ MESSAGE: 'demo started', PRIORITY: 6, SYSLOG_IDENTIFIER: 'libsystemd-demo' })
    ? 'the journal: journalctl -t libsystemd-demo -f -o verbose'
    : 'stderr (no journal here)';
  console.log(`libsystemd demo: ${where}, backend ${sd.backend.kind}/${sd.backend.transport}, logs go to ${logs}${wd.intervalMs ? `, watchdog ping every ${wd.intervalMs} ms` : ''}`);
});

function shutdown(signal) {
  try {
    sd.stopping(`received ${signal}`); // best effort: never in the way of a clean shutdown
  } catch (err) {
    console.error(`could not notify systemd: ${err.message}`);
  }
  log.notice(`stopping on ${signal}`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
