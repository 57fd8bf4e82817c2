/**
 * The preload under systemd (loaded by ../auto only when NOTIFY_SOCKET, LISTEN_FDS or
 * JOURNAL_STREAM is set): sockets, readiness, watchdog, the drain on SIGTERM/SIGINT, and the
 * console and fatal errors to the journal.
 *
 * Settings (environment, all optional):
 * - LIBSYSTEMD_AUTO_NAMES=http=3000,admin=/run/admin.sock: which named fd serves which listen().
 * - LIBSYSTEMD_AUTO_STRICT=1: a listen() no activated fd matches fails (ERR_LIBSYSTEMD_NO_SOCKET)
 *   instead of binding the app's own address.
 * - LIBSYSTEMD_AUTO_STOP_TIMEOUT=10s: the drain's budget (systemd does not tell a service its
 *   TimeoutStopSec=; set both to the same value). EXTEND_TIMEOUT_USEC= keeps PID 1 waiting within it.
 * - LIBSYSTEMD_AUTO_LISTEN_TIMEOUT=10s: after this long without a listen(), STATUS= and a warning say so.
 * - LIBSYSTEMD_AUTO_UNCLAIMED_GRACE=2s: once a server listens, how long the others may take before
 *   unclaimed activated sockets are reported (READY=1 then says what is not served).
 * - LIBSYSTEMD_AUTO=0: off.
 */
import { writeSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { inspect } from 'node:util';
import { drainServers, trackServer } from '../service/drain';
import { DURATION_MAX_MS, longTimeout, type LongTimer } from '../timers';
import { activatedFds, parseNames, SocketRouter, warn, type ActivatedFd } from './sockets';

/** Thrown (at preload) on a runtime the preload cannot serve correctly. */
export class AutoError extends Error {
  constructor(
    readonly code: 'ERR_LIBSYSTEMD_AUTO_RUNTIME',
    message: string,
  ) {
    super(message);
    this.name = 'AutoError';
  }
}

/** systemd's time span syntax, the common part: `90`, `90s`, `500ms`, `2min`, `1min 30s`. */
export function parseSpanMs(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined || text.trim() === '') return fallback;
  const units: Record<string, number> = { '': 1000, us: 0.001, ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 };
  let total = 0;
  const re = /\s*(\d+(?:\.\d+)?)\s*(us|ms|sec|s|min|m|hr|h|)\s*/y;
  let pos = 0;
  const t = text.trim();
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) {
      warn(`${name}=${JSON.stringify(text)} is not a time span like 30s, 500ms or 2min; using ${fallback} ms`, 'LIBSYSTEMD_AUTO_ENV');
      return fallback;
    }
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (!(total <= DURATION_MAX_MS)) {
    warn(`${name}=${JSON.stringify(text)} is longer than ${DURATION_MAX_MS} ms; using ${fallback} ms`, 'LIBSYSTEMD_AUTO_ENV');
    return fallback;
  }
  return total;
}

function say(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr is gone: the exit code says it
  }
}

/* eslint-disable @typescript-eslint/no-require-imports */
const notifyApi = (): typeof import('../notify') => require('../notify');
const journalApi = (): typeof import('../journal') => require('../journal');
/* eslint-enable @typescript-eslint/no-require-imports */

let started = false;
/** What the preload did, for `doctor` and tests. */
export const state: { fds: ActivatedFd[]; servers: Set<NetServer>; ready: boolean; stopping: boolean; console: boolean } = { fds: [], servers: new Set(), ready: false, stopping: false, console: false };

function refuseRuntime(): void {
  const v = process.versions as Record<string, string | undefined>;
  const runtime = v.bun ? `Bun ${v.bun}` : v.deno || (globalThis as { Deno?: unknown }).Deno ? `Deno ${v.deno ?? ''}`.trim() : undefined;
  if (!runtime) return;
  throw new AutoError(
    'ERR_LIBSYSTEMD_AUTO_RUNTIME',
    `libsystemd/auto runs on Node.js only; on ${runtime} it cannot take over listen() reliably (an activated socket could be reported as served while it is not). ` +
      'Use the library in code there (listenOn, ready, journal), or run the app with node.',
  );
}

export function start(): void {
  if (started) return;
  started = true;
  refuseRuntime();
  const env = process.env;
  const notifying = env.NOTIFY_SOCKET !== undefined;
  const quietly = (fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      warn(`sd_notify failed: ${(err as Error).message}`, 'LIBSYSTEMD_AUTO_NOTIFY');
    }
  };
  const notify = (fn: (n: typeof import('../notify')) => unknown): void => {
    if (notifying) quietly(() => fn(notifyApi()));
  };

  // Logs first: anything the rest reports goes to the journal whole.
  routeLogs();

  const fds = env.LISTEN_FDS !== undefined ? activatedFds() : [];
  state.fds = fds;
  const adoptable = fds.filter((f) => f.kind !== 'other');
  for (const f of fds) if (f.kind === 'other') warn(`activated fd ${f.fd} (${JSON.stringify(f.name)}, ${f.label}) is not a TCP or unix stream socket: not adopted by a server`, 'LIBSYSTEMD_AUTO_UNCLAIMED');

  let listenTimer: LongTimer | undefined;
  let unclaimedTimer: LongTimer | undefined;
  const where = (): string => {
    const parts: string[] = [];
    for (const f of adoptable) if (f.listening) parts.push(`${f.label}${f.name !== 'unknown' ? ` (${f.name})` : ''}`);
    for (const s of state.servers) {
      if (adoptable.some((f) => f.server === s)) continue;
      const a = s.address();
      if (a) parts.push(typeof a === 'string' ? a : `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
    }
    return parts.join(', ');
  };
  const becomeReady = (): void => {
    if (state.ready || state.stopping) return;
    state.ready = true;
    listenTimer?.cancel();
    unclaimedTimer?.cancel();
    const left = adoptable.filter((f) => !f.server);
    const extra = left.length ? `; not served: ${left.map((f) => f.label).join(', ')}` : '';
    notify((n) => n.ready(`serving on ${where()}${extra}`));
  };

  const router = new SocketRouter(fds, parseNames(env.LIBSYSTEMD_AUTO_NAMES), env.LIBSYSTEMD_AUTO_STRICT === '1', {
    tracked(server) {
      trackServer(server);
      state.servers.add(server);
      server.once('close', () => state.servers.delete(server));
    },
    listening() {
      if (adoptable.length === 0) return becomeReady();
      if (adoptable.every((f) => f.listening)) return becomeReady();
      // Some fds are not claimed yet: the app may still listen on them; if not, say which and go on.
      unclaimedTimer?.cancel();
      // Any length: the env values are the user's (setTimeout alone fires 2 ** 31 ms at once).
      unclaimedTimer = longTimeout(parseSpanMs(env.LIBSYSTEMD_AUTO_UNCLAIMED_GRACE, 2000, 'LIBSYSTEMD_AUTO_UNCLAIMED_GRACE'), () => {
        const left = adoptable.filter((f) => !f.server);
        if (left.length) {
          warn(
            `${left.length} activated socket(s) not used by any server: ${left.map((f) => `fd ${f.fd} ${JSON.stringify(f.name)} ${f.label}`).join(', ')}. ` +
              'Remove them from the .socket unit, or make the app listen on their port (or map them with LIBSYSTEMD_AUTO_NAMES=<name>=<port>)',
            'LIBSYSTEMD_AUTO_UNCLAIMED',
          );
        }
        if (adoptable.every((f) => !f.server || f.listening)) becomeReady();
      }).unref();
    },
  });
  state.servers = router.servers;
  // Even without sockets or readiness to report (Type=simple), the servers are tracked for the drain.
  patchListen(router);

  if (notifying) {
    notify((n) => n.status(adoptable.length ? `starting: waiting for the app to listen (${adoptable.length} activated socket(s))` : 'starting: waiting for the app to listen'));
    const listenMs = parseSpanMs(env.LIBSYSTEMD_AUTO_LISTEN_TIMEOUT, 10_000, 'LIBSYSTEMD_AUTO_LISTEN_TIMEOUT');
    listenTimer = longTimeout(listenMs, () => {
      if (state.ready) return;
      const why = router.listenCalls === 0 && state.servers.size === 0
        ? `the app has not called listen() after ${listenMs / 1000} s: READY=1 is sent when it listens (a worker without a server should not use libsystemd/auto with Type=notify)`
        : `still waiting after ${listenMs / 1000} s for ${adoptable.filter((f) => !f.listening).map((f) => f.label).join(', ')}`;
      notify((n) => n.status(why));
      warn(why, 'LIBSYSTEMD_AUTO_NOT_LISTENING');
    }).unref();
    if (env.WATCHDOG_USEC !== undefined) quietly(() => notifyApi().startWatchdog());
  }

  installStop(notify);
}

function patchListen(router: SocketRouter): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net') as typeof import('node:net');
  const proto = net.Server.prototype as unknown as { listen: (...args: unknown[]) => unknown };
  const original = proto.listen;
  proto.listen = function listen(this: NetServer, ...args: unknown[]): unknown {
    return router.route(this, args, original as (this: NetServer, ...a: unknown[]) => unknown);
  };
}

function installStop(notify: (fn: (n: typeof import('../notify')) => unknown) => void): void {
  const budgetMs = parseSpanMs(process.env.LIBSYSTEMD_AUTO_STOP_TIMEOUT, 10_000, 'LIBSYSTEMD_AUTO_STOP_TIMEOUT');
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.stopping) {
      say(`libsystemd/auto: ${signal} while draining: exiting now`);
      process.exit(1);
    }
    // The app's own handler keeps control: it decides when to close and exit.
    if (process.listenerCount(signal) > 1) {
      notify((n) => n.stopping(`stopping on ${signal} (the app's handler)`));
      return;
    }
    state.stopping = true;
    void stop(signal);
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const servers = [...state.servers];
    notify((n) => n.notify({ STOPPING: 1, STATUS: `stopping on ${signal}: draining ${servers.length} server(s)`, EXTEND_TIMEOUT_USEC: BigInt(Math.min(budgetMs, 5000) + 3000) * 1000n }));
    const result = await drainServers(servers, {
      timeoutMs: budgetMs,
      onProgress: (p) => notify((n) => n.notify({ STATUS: `stopping: ${p.requests} request(s) in flight on ${p.connections} connection(s)`, EXTEND_TIMEOUT_USEC: BigInt(Math.round(Math.min(p.remainingMs, 5000) + 3000)) * 1000n })),
    });
    if (result.destroyed > 0) {
      // Written at once (a warning would be emitted after the exit below).
      say(`libsystemd/auto: the drain budget (LIBSYSTEMD_AUTO_STOP_TIMEOUT, ${budgetMs} ms) ran out: closed ${result.destroyed} connection(s), ${result.cut} with a request in flight`);
    }
    if (state.console || journalLoaded()) await journalApi().journal.flush(3000).catch(() => undefined);
    process.exit(result.cut > 0 ? 1 : 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function journalLoaded(): boolean {
  return require.cache[require.resolve('../journal')] !== undefined;
}

/** console.* to the journal, and a fatal error as one entry, when stderr/stdout is the journal. */
function routeLogs(): void {
  if (process.env.JOURNAL_STREAM === undefined) return;
  const { journal, sendList } = journalApi();
  const stderrJournal = journal.stderrIsJournal();
  if (!stderrJournal && !journal.stdoutIsJournal()) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  state.console = (require('../console') as typeof import('../console')).installConsole();
  if (!state.console || !stderrJournal) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { errorFields } = require('../journal/sanitize') as typeof import('../journal/sanitize');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { scriptName } = require('../journal/caller') as typeof import('../journal/caller');
  process.on('uncaughtException', (err: unknown, origin: string) => {
    // An app that handles these itself keeps doing so.
    if (process.listenerCount('uncaughtException') > 1) return;
    const what = origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception';
    const text = `${what}: ${inspect(err, { colors: false, depth: 6 })}`;
    const list: [string, string][] = [['MESSAGE', text], ['PRIORITY', '2'], ['SYSLOG_IDENTIFIER', scriptName()]];
    if (err instanceof Error) errorFields(err, list, false);
    let sent = false;
    try {
      sent = sendList(list, false) > 0;
    } catch {
      // written to stderr below
    }
    if (!sent) say(text);
    process.exitCode = 1;
    const exit = (): never => process.exit(1);
    journal.flush(2000).then(exit, exit);
  });
}
