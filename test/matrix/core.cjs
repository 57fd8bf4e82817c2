// The suite's core, runnable by any runtime (Node, Bun, Deno, an arm64 Node under qemu): the
// loader, activation with a real inherited fd (fd 3, named "http") answering a real HTTP request
// through listenOn, notify into a real datagram
// receiver (with an fd for the fd store on the native transport), journal entries with binary
// and multi-line values, a stream and a chunk through the pino transport, then a burst left
// queued at process.exit(). The test that
// runs it (test/matrix/runtimes.test.ts) checks what arrived. Prints one JSON line first.
'use strict';
const l = require('../..');

const id = process.env.TEST_ID;
const N = Number(process.env.CORE_N || 1000);
const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `node ${process.version}`;
const attempt = (fn) => {
  try {
    return fn();
  } catch (err) {
    return { error: err.code || err.message };
  }
};

/** listenOn(an http.Server, 'http'), then one GET to the activated port: the body, or the error. */
function serveOne() {
  const http = require('node:http');
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => res.end(`served ${req.url} on ${runtime}`));
    const finish = (v) => {
      clearTimeout(timer);
      server.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish({ error: 'timed out: the activated socket was not served' }), 15_000);
    try {
      l.listenOn(server, 'http', undefined, () => {
        const req = http.get({ host: '127.0.0.1', port: Number(process.env.CORE_PORT), path: '/core', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d) => (body += d));
          res.on('end', () => finish(body));
        });
        req.on('error', (err) => finish({ error: err.code || err.message }));
      });
    } catch (err) {
      finish({ error: err.code || err.message });
    }
  });
}

async function main() {
  const out = { runtime, arch: process.arch, kind: l.backend.kind, transport: l.backend.transport, symbols: l.capabilities().symbols.length };
  out.fds = attempt(() => l.listenFdsWithNames());
  out.isListeningTcp = attempt(() => l.isSocketInet(3, { type: 'stream', listening: true }));
  out.env = process.env.LISTEN_FDS === undefined; // unset after reading, as sd_listen_fds(1)
  out.notify = [attempt(() => l.ready(`core on ${runtime}`)), attempt(() => l.status('line one\\two'))];
  if (l.capabilities().notifyFds) out.notify.push(attempt(() => l.notify({ FDSTORE: 1, FDNAME: 'http' }, { fds: [3] })));
  // A real HTTP request answered through the activated socket (fd 3 listens on 127.0.0.1:CORE_PORT),
  // not only "fd 3 is a listening socket": a runtime that binds a socket of its own choosing fails here.
  out.served = await serveOne();
  for (let i = 0; i < N; i++) {
    l.journal.send({ MESSAGE: `entry ${i}`, SYSLOG_IDENTIFIER: id, BIN: Buffer.from([0, 255, 10, i & 255]), MULTI: 'one\ntwo', SEQ: i });
  }
  out.flush = await l.journal.flush(30_000).then((s) => ({ queued: s.queued, dropped: s.dropped }), (err) => ({ error: err.code }));
  const stream = l.journal.stream({ identifier: `${id}-stream` });
  await new Promise((resolve) => stream.end('stream line\n', resolve));
  // The pino transport as a main-thread destination: a chunk of pino lines, framed and sent as
  // one batch (sendmmsg where nothing waits), then its end, which flushes.
  const pino = require('../../dist/pino.js')({ identifier: `${id}-pino` });
  pino.write(Array.from({ length: N }, (_, i) => `${JSON.stringify({ level: 30, time: Date.now(), msg: `pino ${i}`, seq: i })}\n`).join(''));
  await new Promise((resolve) => pino.end(resolve));
  out.pinoLost = pino.lost;
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // Then a burst, left queued: the exit drain must deliver it on this runtime too.
  for (let i = 0; i < N; i++) l.journal.send({ MESSAGE: `late ${i}`, SYSLOG_IDENTIFIER: `${id}-late` });
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`core failed: ${err && err.stack}\n`);
  process.exit(2);
});
