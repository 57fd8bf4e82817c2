// A Type=notify HTTP service: reports readiness and a live status, feeds the watchdog, keeps its
// listening socket in systemd's fd store (so a restart loses no connection), and stops
// gracefully on SIGTERM. Settings (for trying things out): PORT, STARTUP_DELAY_MS,
// SHUTDOWN_DELAY_MS, HANG_AFTER_READY_MS (block the event loop once, to see the watchdog act),
// HANG_ONCE_FILE (a marker that limits the hang to one run when no socket was stored).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const sd = require('libsystemd');

const port = Number(process.env.PORT || 8081);
let served = 0;

sd.status('starting');
const stored = sd.listenFdsWithNames().find((s) => s.name === 'http');

const server = http.createServer((req, res) => {
  served++;
  sd.status(`serving on ${port}: ${served} request(s)`);
  res.end(JSON.stringify({ pid: process.pid, served, socket: stored ? 'from the fd store' : 'new' }) + '\n');
});

setTimeout(() => {
  server.listen(stored ? { fd: stored.fd } : { host: '127.0.0.1', port }, async () => {
    // Hand the listening socket to systemd: after a restart it comes back as `http`.
    // (Passing fds needs the native addon; without it the socket is simply opened anew.)
    if (!stored && sd.capabilities().notifyFds) sd.fdStore([server._handle.fd], { name: 'http' });
    sd.ready(`serving on ${port} (${stored ? 'socket from the fd store' : 'new socket'})`);
    console.log(`ready; barrier: ${await sd.barrier()}`);
    const wd = sd.startWatchdog();
    console.log(`watchdog: ping every ${wd.intervalMs} ms`);
    // Hang once: the restarted instance (which got its socket back, or finds HANG_ONCE_FILE)
    // runs normally.
    const hang = Number(process.env.HANG_AFTER_READY_MS || 0);
    const once = process.env.HANG_ONCE_FILE;
    if (hang && !stored && !(once && fs.existsSync(once))) {
      if (once) fs.writeFileSync(once, String(process.pid));
      setTimeout(() => {
        console.log('blocking the event loop');
        for (;;); // the watchdog pings stop; systemd kills and restarts the service
      }, hang);
    }
  });
}, Number(process.env.STARTUP_DELAY_MS || 0));

process.on('SIGTERM', () => {
  // Best effort: a failed notification must not stand in the way of a clean shutdown.
  try {
    sd.stopping('shutting down');
  } catch (err) {
    console.error(`could not notify systemd of the shutdown: ${err.message}`);
  }
  setTimeout(() => server.close(() => process.exit(0)), Number(process.env.SHUTDOWN_DELAY_MS || 0));
});
