/**
 * Exit when idle: the other half of socket activation. After `idleMs` with nothing in flight the
 * service says STOPPING=1, stops accepting, finishes what it has, and exits 0. systemd keeps the
 * listening socket: connections that arrive meanwhile wait in its queue, and the next one starts
 * the service again. Nothing is refused and nothing is lost across the hand-over.
 */
import type { Server } from 'node:net';
import { listenFds } from '../activation';
import { invalidType } from '../errors';
import { checkDuration, longTimeout, type LongTimer } from '../timers';
import { journal } from '../journal';
import { stopping } from '../notify';

export interface IdleOptions {
  /** How long without an open connection before exiting. Default 10 s. */
  readonly idleMs?: number;
}

export interface IdleHandle {
  /** false when the process was not socket-activated: nobody would start it again, so it stays. */
  readonly active: boolean;
  /** Stops watching (the service then runs until stopped). */
  close(): void;
}

/**
 * Exits the process once `server` has had no open connection for `idleMs`, when it was
 * socket-activated. Idle means no connection at all, not "no request in flight": closing a kept-
 * alive connection the moment a client reuses it would lose that request. An http.Server closes
 * idle kept-alive connections after its keepAliveTimeout (5 s by default); lower it to leave sooner.
 */
export function exitWhenIdle(server: Server, options: IdleOptions = {}): IdleHandle {
  if (server === null || typeof server !== 'object' || typeof (server as Server).on !== 'function' || typeof (server as Server).close !== 'function') throw invalidType('server', 'a net.Server or http.Server', server);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const idleMs = checkDuration('options.idleMs', options.idleMs ?? 10_000);
  if (listenFds({ unsetEnvironment: false }).length === 0) return { active: false, close() {} };

  let busy = 0;
  let timer: LongTimer | undefined;
  let closed = false;
  let leaving = false;
  const arm = (): void => {
    if (closed || leaving || busy > 0) return;
    timer?.cancel();
    // Any length: setTimeout alone would exit after 1 ms for 2 ** 31 ms or more.
    timer = longTimeout(idleMs, leave);
  };
  const start = (): void => {
    busy++;
    timer?.cancel();
  };
  const end = (): void => {
    busy--;
    arm();
  };
  const onConnection = (socket: { once(e: 'close', f: () => void): void }): void => {
    start();
    socket.once('close', end);
  };
  function leave(): void {
    if (closed || busy > 0) return;
    leaving = true;
    try {
      stopping('idle');
    } catch {
      // no service manager to tell
    }
    // Stop accepting (no connection is open, and none is accepted within this tick); systemd's own
    // copy of the socket keeps queueing connections, and the next one starts the service again.
    server.close(() => {
      void journal.flush(3000).catch(() => undefined).then(() => process.exit(0));
    });
  }
  server.on('connection', onConnection);
  arm();
  return {
    active: true,
    close() {
      closed = true;
      timer?.cancel();
      server.off('connection', onConnection);
    },
  };
}
