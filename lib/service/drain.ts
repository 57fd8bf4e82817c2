/**
 * Draining servers: stop accepting, let the requests in flight finish, give every kept-alive
 * connection `Connection: close` on its next response and close the idle ones; when the budget is
 * spent, destroy what remains and say how much was cut. Works on any `net.Server` (http, https,
 * http2 and the frameworks on them; raw TCP servers wait for their connections to end).
 *
 * The zero-code preload (libsystemd/auto) tracks every server that listens and drains them on
 * SIGTERM; a cluster supervisor's worker does the same with `trackServer()` + `drainServers()`.
 * A server must be tracked before its connections arrive (at listen time) to be drained fully;
 * an untracked server is still closed and its idle connections closed.
 */
import type { Server as NetServer, Socket } from 'node:net';
import { invalidType, invalidValue } from '../errors';

/** What a drain did. */
export interface DrainResult {
  /** Connections open when the drain began (tracked servers). */
  readonly connections: number;
  /** Connections destroyed at the deadline. */
  readonly destroyed: number;
  /** Of those, how many had a request whose response had not finished (a cut request). */
  readonly cut: number;
  /** How long the drain took, in ms. */
  readonly ms: number;
}

export interface DrainProgress {
  /** Open connections of the drained servers. */
  readonly connections: number;
  /** Requests whose response has not finished. */
  readonly requests: number;
  /** ms left of the budget. */
  readonly remainingMs: number;
}

export interface DrainOptions {
  /** The budget: after this many ms what remains is destroyed. Default 10 000. */
  readonly timeoutMs?: number;
  /** Called about every `progressMs` while connections remain (e.g. EXTEND_TIMEOUT_USEC=, STATUS=). */
  readonly onProgress?: (progress: DrainProgress) => void;
  /** Default 1000. */
  readonly progressMs?: number;
}

interface Response {
  readonly headersSent: boolean;
  shouldKeepAlive?: boolean;
  once(event: 'close', cb: () => void): unknown;
}
interface Session {
  close(cb?: () => void): void;
  readonly closed?: boolean;
  once(event: 'close', cb: () => void): unknown;
}

interface Tracked {
  readonly sockets: Set<Socket>;
  /** Responses not finished, with the socket they are on. */
  readonly responses: Map<Response, Socket | undefined>;
  readonly sessions: Set<Session>;
  draining: boolean;
}

const TRACKED = new WeakMap<NetServer, Tracked>();

/**
 * Starts tracking a server's connections, requests (http/https: the `request` event) and
 * sessions (http2). Idempotent. Call it before the server accepts (the preload does it in listen).
 */
export function trackServer(server: NetServer): void {
  if (server === null || typeof server !== 'object' || typeof (server as { on?: unknown }).on !== 'function') throw invalidType('server', 'a net.Server', server);
  if (TRACKED.has(server)) return;
  const t: Tracked = { sockets: new Set(), responses: new Map(), sessions: new Set(), draining: false };
  TRACKED.set(server, t);
  server.on('connection', (socket: Socket) => {
    t.sockets.add(socket);
    socket.once('close', () => t.sockets.delete(socket));
  });
  // Before the app's own listener: a response the app ends synchronously is still told to close.
  server.prependListener('request', (req: { socket?: Socket }, res: Response) => {
    t.responses.set(res, req.socket);
    res.once('close', () => t.responses.delete(res));
    if (t.draining) res.shouldKeepAlive = false;
  });
  server.on('session', (session: Session) => {
    t.sessions.add(session);
    session.once('close', () => t.sessions.delete(session));
    if (t.draining) session.close();
  });
}

/** Whether `server` is tracked (its connections are known). */
export function isTracked(server: NetServer): boolean {
  return TRACKED.has(server);
}

function closeIdle(server: NetServer): void {
  const s = server as NetServer & { closeIdleConnections?: () => void };
  if (typeof s.closeIdleConnections === 'function') {
    try {
      s.closeIdleConnections();
    } catch {
      // a server that never listened has no connection list
    }
  }
}

/**
 * Drains `servers`: each stops accepting (`server.close()`), responses not yet started get
 * `Connection: close`, every later request on a kept-alive connection too, idle connections are
 * closed, http2 sessions get GOAWAY; resolves when every connection has ended, or when the budget
 * is spent (then the rest is destroyed and counted in the result). Never rejects.
 */
export function drainServers(servers: Iterable<NetServer>, options: DrainOptions = {}): Promise<DrainResult> {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw invalidValue('options.timeoutMs', `must be a non-negative number of milliseconds, received ${String(timeoutMs)}`);
  const progressMs = options.progressMs ?? 1000;
  if (typeof progressMs !== 'number' || !(progressMs > 0)) throw invalidValue('options.progressMs', `must be a positive number of milliseconds, received ${String(progressMs)}`);
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidType('options.onProgress', 'a function', onProgress);

  const list = [...servers];
  const start = Date.now();
  const tracked: Tracked[] = [];
  for (const server of list) {
    const t = TRACKED.get(server);
    if (t) {
      t.draining = true;
      tracked.push(t);
      for (const [res] of t.responses) if (!res.headersSent) res.shouldKeepAlive = false;
      for (const s of t.sessions) s.close();
    }
    try {
      // http's close() also closes the idle connections (Node 19+); a stopped server says
      // ERR_SERVER_NOT_RUNNING to the callback, which is fine here.
      server.close(() => undefined);
    } catch {
      // already closed
    }
    closeIdle(server);
  }
  const count = (): number => tracked.reduce((n, t) => n + t.sockets.size, 0);
  const requests = (): number => tracked.reduce((n, t) => n + t.responses.size, 0);
  const connections = count();

  return new Promise<DrainResult>((resolve) => {
    let last = Date.now();
    const finish = (destroyed: number, cut: number): void => {
      clearInterval(timer);
      resolve({ connections, destroyed, cut, ms: Date.now() - start });
    };
    const tick = (): void => {
      const left = count();
      if (left === 0) return finish(0, 0);
      const elapsed = Date.now() - start;
      if (elapsed >= timeoutMs) {
        let cut = 0;
        for (const t of tracked) {
          const busy = new Set([...t.responses.values()]);
          for (const s of t.sockets) {
            if (busy.has(s)) cut++;
            s.destroy();
          }
        }
        return finish(left, cut);
      }
      // A response that ended since the last tick leaves its connection idle (or closing).
      for (const server of list) closeIdle(server);
      if (onProgress && Date.now() - last >= progressMs) {
        last = Date.now();
        try {
          onProgress({ connections: left, requests: requests(), remainingMs: timeoutMs - elapsed });
        } catch {
          // progress reports must not stop the drain
        }
      }
    };
    const timer = setInterval(tick, 50);
    tick();
  });
}
