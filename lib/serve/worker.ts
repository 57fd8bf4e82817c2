/**
 * The preload of a `libsystemd serve` worker (`node -r .../serve/worker.js app.js`), loaded only
 * by the serve supervisor (LIBSYSTEMD_SERVE_WORKER set, an IPC channel open).
 *
 * - The supervisor hands the activated sockets to each worker as fds 3, 4, … with
 *   LIBSYSTEMD_SERVE_FDS / LIBSYSTEMD_SERVE_FDNAMES; here they become this process's own
 *   LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES (the pid is only known once the worker runs), so the
 *   zero-code preload adopts them unchanged: every worker accepts on the same sockets, unix
 *   sockets included (node:cluster cannot pass those: nodejs/node#44035).
 * - Then the zero-code preload (libsystemd/auto) starts as under systemd: listen() routing, the
 *   drain on SIGTERM, the console to the journal.
 * - Over IPC the worker tells the supervisor when it listens (`ready`), and twice a second its
 *   health: event-loop delay and the requests served since the last report. A stopped or stuck
 *   loop sends nothing, which is how the supervisor sees it.
 * - When the supervisor disappears (IPC closed) the worker drains and exits like on SIGTERM.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Server as NetServer, Socket } from 'node:net';
import { start, state } from '../auto/preload';

/** Messages from a worker to the supervisor. */
export type WorkerMessage =
  | { readonly libsystemdServe: 'ready'; readonly pid: number }
  | { readonly libsystemdServe: 'health'; readonly pid: number; readonly lagMs: number; readonly requests: number };

export const HEALTH_INTERVAL_MS = 500;

function adoptHandedFds(env: NodeJS.ProcessEnv): void {
  const n = env.LIBSYSTEMD_SERVE_FDS;
  if (n === undefined) return;
  env.LISTEN_FDS = n;
  env.LISTEN_PID = String(process.pid);
  if (env.LIBSYSTEMD_SERVE_FDNAMES !== undefined) env.LISTEN_FDNAMES = env.LIBSYSTEMD_SERVE_FDNAMES;
  delete env.LIBSYSTEMD_SERVE_FDS;
  delete env.LIBSYSTEMD_SERVE_FDNAMES;
}

/** How long a kept-alive connection must have been idle before a drain may close it. */
export const IDLE_GRACE_MS = 1000;

/**
 * Closing an idle kept-alive connection races the client's next request (it may be on the wire:
 * the client then sees a reset; measured: 5 failed requests in 25 000 through 3 reloads). So in a
 * worker, `closeIdleConnections()` (what server.close() and the drain call) closes only the
 * connections idle for IDLE_GRACE_MS: the others carry one more request, whose response says
 * `Connection: close` (the drain sets it), and the client reconnects to another worker.
 * (Wanted in lib/service/drain.ts itself as an option; see notes/serve.md.)
 */
function graceIdle(server: NetServer): void {
  const s = server as NetServer & { closeIdleConnections?: () => void; libsystemdServeGrace?: true };
  if (typeof s.closeIdleConnections !== 'function' || s.libsystemdServeGrace) return;
  s.libsystemdServeGrace = true;
  const busy = new Map<Socket, number>();
  const idleSince = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    idleSince.set(socket, Date.now());
    socket.once('close', () => {
      busy.delete(socket);
      idleSince.delete(socket);
    });
  });
  server.prependListener('request', (req: { socket: Socket }, res: { once(e: 'close', cb: () => void): unknown }) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (busy.get(socket) ?? 1) - 1;
      if (n > 0) busy.set(socket, n);
      else busy.delete(socket);
      idleSince.set(socket, Date.now());
    });
  });
  s.closeIdleConnections = function closeIdleConnections(): void {
    const now = Date.now();
    for (const [socket, since] of idleSince) if (!busy.has(socket) && now - since >= IDLE_GRACE_MS) socket.destroy();
  };
}

function patchListen(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net') as typeof import('node:net');
  const proto = net.Server.prototype as unknown as { listen: (...args: unknown[]) => unknown };
  const routed = proto.listen;
  proto.listen = function listen(this: NetServer, ...args: unknown[]): unknown {
    graceIdle(this);
    return routed.apply(this, args);
  };
}

/**
 * A worker may be told to stop twice at once: by the supervisor (IPC drain) and by a signal to every
 * process — PID 1's SIGTERM under KillMode=control-group, or a terminal's Ctrl-C (SIGINT to the
 * process group) for node:cluster workers. The preload reads a second signal as "exit now"; here
 * one arriving within REPEAT_SIGNAL_MS of the start of the drain is ignored (a later one still means
 * exit now). Wraps the preload's listeners, keeping the count of listeners the preload uses to see
 * an app's own handler. (Wanted in the preload itself; see notes/serve.md.)
 */
export const REPEAT_SIGNAL_MS = 2000;
let drainStarted = 0;
function ignoreRepeatedSignals(): void {
  for (const name of ['SIGTERM', 'SIGINT'] as const) {
    const [preload] = process.listeners(name) as ((signal: NodeJS.Signals) => void)[];
    if (!preload) continue;
    process.removeListener(name, preload);
    process.on(name, (signal: NodeJS.Signals) => {
      if (state.stopping && Date.now() - drainStarted < REPEAT_SIGNAL_MS) return;
      if (!state.stopping) drainStarted = Date.now();
      preload(signal);
    });
  }
}

function send(message: WorkerMessage): void {
  if (!process.connected || !process.send) return;
  try {
    process.send(message);
  } catch {
    // the supervisor is gone: 'disconnect' handles it
  }
}

function run(): void {
  const env = process.env;
  if (env.LIBSYSTEMD_SERVE_WORKER === undefined || typeof process.send !== 'function') return;
  adoptHandedFds(env);
  start();
  patchListen();
  ignoreRepeatedSignals();

  let requests = 0;
  subscribe('http.server.request.start', () => {
    requests++;
  });

  // Ready: once the preload saw the app listen on every handed socket (or on its first server).
  const readyTimer = setInterval(() => {
    if (!state.ready) return;
    clearInterval(readyTimer);
    send({ libsystemdServe: 'ready', pid: process.pid });
  }, 20);
  readyTimer.unref();

  let last = performance.now();
  const health = setInterval(() => {
    const now = performance.now();
    const lagMs = Math.max(0, Math.round(now - last - HEALTH_INTERVAL_MS));
    last = now;
    send({ libsystemdServe: 'health', pid: process.pid, lagMs, requests });
    requests = 0;
  }, HEALTH_INTERVAL_MS);
  health.unref();

  // The channel must not keep a finished app alive (a node:cluster worker needs it for listen()).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!(require('node:cluster') as { isWorker: boolean }).isWorker) (process as unknown as { channel?: { unref(): void } }).channel?.unref();
  // Asked to drain (reload, stop), or orphaned (the supervisor died): stop as on SIGTERM, once —
  // under KillMode=control-group PID 1's own SIGTERM may have started the drain already.
  const drain = (): void => {
    if (!state.stopping) process.emit('SIGTERM', 'SIGTERM');
  };
  process.on('message', (m: unknown) => {
    if (m !== null && typeof m === 'object' && (m as { libsystemdServe?: unknown }).libsystemdServe === 'drain') drain();
  });
  process.once('disconnect', drain);
}

run();
