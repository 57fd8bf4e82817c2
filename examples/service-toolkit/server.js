// A service that uses the whole toolkit: a credential for its API token, a config it reloads on
// `systemctl reload` without dropping a request, a graceful stop, a cache it drops under memory
// pressure, a watchdog, and (when socket-activated with IDLE_MS set) an exit when idle.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, readFileSync } = require('node:fs');
const http = require('node:http');
const l = require('libsystemd');

const log = l.createLogger({ identifier: 'toolkit' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = process.env;

function loadConfig() {
  // The token never reaches a log line: only its fingerprint does.
  const token = l.credentials().includes('api-token') ? l.credential('api-token') : undefined;
  const greeting = env.GREETING_FILE && existsSync(env.GREETING_FILE) ? readFileSync(env.GREETING_FILE, 'utf8').trim() : 'hello';
  return { token, greeting, fingerprint: token ? createHash('sha256').update(token).digest('hex').slice(0, 16) : null };
}

let config = loadConfig();
let reloads = 0;
const cache = new Map();
let served = 0;

const server = http.createServer((req, res) => {
  served++;
  cache.set(req.url, Date.now());
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ greeting: config.greeting, token: config.fingerprint, reloads, served, pid: process.pid, unit: l.unitOf().unit, invocation: l.invocationId() ?? null }));
});

l.onReload(async () => {
  if (env.RELOAD_FAIL_FILE && existsSync(env.RELOAD_FAIL_FILE)) throw new Error(`bad config in ${env.RELOAD_FAIL_FILE}`);
  await sleep(Number(env.RELOAD_DELAY_MS ?? 0));
  config = loadConfig();
  reloads++;
  log.info(`reloaded: greeting ${JSON.stringify(config.greeting)}`);
  return `serving; reloaded ${reloads} time(s)`;
});

l.onShutdown(async (signal) => {
  log.info(`stopping on ${signal}`);
  await sleep(Number(env.SHUTDOWN_DELAY_MS ?? 0));
  await new Promise((r) => server.close(r));
  log.info('shutdown complete');
}, { timeoutMs: Number(env.SHUTDOWN_TIMEOUT_MS ?? 5000) });

const pressure = l.onMemoryPressure(() => {
  log.warning(`memory pressure: dropping ${cache.size} cached entries`);
  cache.clear();
});
if (!pressure.active) log.debug(`memory pressure not watched: ${pressure.reason}`);

server.keepAliveTimeout = Number(env.KEEPALIVE_MS ?? 5000);
server.listen(l.listenArgs('http', Number(env.PORT ?? 8090)), () => {
  l.startWatchdog();
  if (env.IDLE_MS) l.exitWhenIdle(server, { idleMs: Number(env.IDLE_MS) });
  l.ready('serving');
});
