/**
 * `libsystemd serve [--workers N|max] [--] app.js [args…]`: the unit's main process runs the app
 * in N workers sharing its sockets (see ../serve/cluster).
 */
import { Cluster, type ServeOptions } from '../serve/cluster';
import { parseTime } from './run';

export const SERVE_USAGE = `libsystemd serve [options] [--] APP.js [ARGS...]
  -w, --workers N|max    workers running APP.js (default: max, one per CPU)
  --stuck-after TIME     replace a worker whose event loop sent no health report for TIME (default 5s,
                         or half of WatchdogSec= when shorter; SIGSTOP counts)
  --max-start-failures N workers in a row that exit before listening before serve gives up and exits 1
                         (default 5; retried with a backoff of 0.2s, 0.4s, 0.8s…)
  --start-timeout TIME   a worker that does not listen within TIME counts as failed (default 60s)
  --stop-timeout TIME    each worker's drain budget on stop and reload (default 10s; set TimeoutStopSec=
                         a few seconds above it)
  --help                 this text
Sockets: the activated ones (a .socket unit, systemd-socket-activate, libsystemd run --listen) are
handed to every worker, unix sockets included; not activated, the workers share the app's own port
(node:cluster). READY=1 once every worker listens; STATUS= every second; SIGHUP (systemctl reload)
restarts the workers one at a time; SIGTERM drains them all.
A worker that crashes is replaced at once, with a growing delay when crashes follow each other; 10
crashes within 60 s end serve (exit 1) with the reason.
TIME: 500ms, 2s, 1min, or seconds.`;

/** A TIME that must be above 0 (a stop budget or a stuck bound of 0 would end every worker at once). */
function positiveTime(v: string, flag: string): number {
  const ms = parseTime(v, flag);
  if (ms === 0) throw new Error(`${flag} ${v}: must be above 0`);
  return ms;
}

export function parseServeArgs(argv: readonly string[]): ServeOptions {
  let workers: number | 'max' = 'max';
  const o: { stuckMs?: number; maxStartFailures?: number; startTimeoutMs?: number; stopTimeoutMs?: number } = {};
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const v = (): string => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case '-w':
      case '--workers': {
        const s = v();
        if (s === 'max') workers = 'max';
        else if (/^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 1024) workers = Number(s);
        else throw new Error(`--workers ${s}: a number from 1 to 1024, or max`);
        break;
      }
      case '--stuck-after': o.stuckMs = positiveTime(v(), flag); break;
      case '--start-timeout': o.startTimeoutMs = positiveTime(v(), flag); break;
      case '--stop-timeout': o.stopTimeoutMs = positiveTime(v(), flag); break;
      case '--max-start-failures': {
        const s = v();
        if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--max-start-failures ${s}: a positive number`);
        o.maxStartFailures = Number(s);
        break;
      }
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  const [script, ...args] = argv.slice(i);
  if (script === undefined) throw new Error('the app to run is missing: libsystemd serve [--workers N] app.js');
  return { script, args, workers, ...o };
}

/** Runs until stopped; the exit code (1 after a crash loop or a failed start). */
export async function runServe(options: ServeOptions): Promise<number> {
  const cluster = new Cluster(options);
  try {
    await cluster.start();
  } catch (err) {
    if (cluster.reason === undefined) throw err;
    return cluster.done;
  }
  return cluster.done;
}
