// A socket-activated HTTP service with two named sockets: `web` (TCP) and `admin` (AF_UNIX).
// Under systemd it serves the sockets of app-web.socket and app-admin.socket; run by hand it
// listens on 127.0.0.1:8080 and /tmp/app-admin.sock instead.
'use strict';
const http = require('node:http');
const { listenFdsWithNames, listenOn } = require('libsystemd');

const passed = listenFdsWithNames().map((s) => s.name);
const fallbacks = { web: { host: '127.0.0.1', port: 8080 }, admin: { path: '/tmp/app-admin.sock' } };

for (const name of ['web', 'admin']) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ socket: name, passed, pid: process.pid, address: server.address(), remote: req.socket.remoteAddress ?? null }) + '\n');
  });
  listenOn(server, name, fallbacks[name], () => console.log(`${name}: listening on ${JSON.stringify(server.address())}${passed.length ? ' (socket-activated)' : ''}`));
}
