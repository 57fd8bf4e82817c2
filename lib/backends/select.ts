/**
 * Picks the backend once per module instance (per thread): libsystemd when the addon loaded
 * and opened libsystemd.so.0, else the js backend on the best transport available. The public
 * areas reach the backend only through `impl` (the contract) and `backend` (the report).
 */
import { loadNative, type NativeLoad } from '../addon';
import type { Backend, BackendKind, Transport } from './contract';
import { addonSystemCalls, nodeSystemCalls } from './os';

// Only the chosen backend's module is loaded (start-up time: the js backend alone costs ~3 ms).
/* eslint-disable @typescript-eslint/no-require-imports */
const libsystemdBackend = (): typeof import('./libsystemd') => require('./libsystemd');
const jsBackend = (): typeof import('./js') => require('./js');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Which implementation serves the calls, and why. */
export interface BackendReport {
  /** `libsystemd`: libsystemd's sd_* calls through the addon (journal entries and plain notify messages excepted: see backends/libsystemd.ts). `js`: the protocols in TypeScript. */
  readonly kind: BackendKind;
  /** `native`: the addon's socket primitives are available. `node`: pure Node only. */
  readonly transport: Transport;
  /** The addon file that loaded, if any. */
  readonly addonPath?: string;
  /** Why the libsystemd backend is not in use: every failed attempt, one per line. */
  readonly loadError?: Error;
}

// Chosen on first use, not at require time: a process that never calls into systemd loads no
// addon and opens no library (start-up time).
let loaded: NativeLoad | undefined;
let chosen: Backend | undefined;
let reported: BackendReport | undefined;

function getLoad(): NativeLoad {
  return (loaded ??= loadNative());
}

function getImpl(): Backend {
  if (chosen) return chosen;
  const l = getLoad();
  chosen = l.binding
    ? l.libsystemd
      ? libsystemdBackend().createLibsystemdBackend(l.binding)
      : jsBackend().createJsBackend(addonSystemCalls(l.binding))
    : jsBackend().createJsBackend(nodeSystemCalls());
  return chosen;
}

/** The backend serving the calls (chosen on first access). */
export declare const impl: Backend;
/** Which implementation serves the calls, and why (chosen on first access). */
export declare const backend: BackendReport;
Object.defineProperties(exports, {
  impl: { enumerable: true, get: getImpl },
  backend: { enumerable: true, get: () => (reported ??= report()) },
});

function report(): BackendReport {
  const impl = getImpl();
  const load = getLoad();
  const r: { -readonly [K in keyof BackendReport]: BackendReport[K] } = { kind: impl.kind, transport: impl.transport };
  if (load.path) r.addonPath = load.path;
  if (impl.kind !== 'libsystemd') {
    const e = new Error(`libsystemd backend unavailable:\n  ${load.attempts.join('\n  ')}`);
    e.stack = `Error: ${e.message}`; // a report, not a throw site: the frames would only be noise
    (e as Error & { attempts: readonly string[] }).attempts = load.attempts;
    r.loadError = e;
  }
  return Object.freeze(r);
}

