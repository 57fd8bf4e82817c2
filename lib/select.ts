/**
 * Picks the backend once per module instance (per thread): libsystemd when the addon loaded
 * and opened libsystemd.so.0, else the js backend on the best transport available.
 */
import type { Backend, BackendKind, Transport } from './backend';
import { nativeTransport, nodeTransport } from './js/transport';
import { loadNative, type NativeLoad } from './native';

// Only the chosen backend's module is loaded (start-up time: the js backend alone costs ~3 ms).
/* eslint-disable @typescript-eslint/no-require-imports */
const libsystemdBackend = (): typeof import('./backend-libsystemd') => require('./backend-libsystemd');
const jsBackend = (): typeof import('./js/backend') => require('./js/backend');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Which implementation serves the calls, and why. */
export interface BackendReport {
  /** `libsystemd`: sd_* calls through the addon. `js`: the protocols in TypeScript. */
  readonly kind: BackendKind;
  /** `native`: the addon's socket primitives are available. `node`: pure Node only. */
  readonly transport: Transport;
  /** The addon file that loaded, if any. */
  readonly addonPath?: string;
  /** Why the libsystemd backend is not in use: every failed attempt, one per line. */
  readonly loadError?: Error;
}

export const load: NativeLoad = loadNative();

export const impl: Backend = load.binding
  ? load.libsystemd
    ? libsystemdBackend().createLibsystemdBackend(load.binding)
    : jsBackend().createJsBackend(nativeTransport(load.binding))
  : jsBackend().createJsBackend(nodeTransport());

function report(): BackendReport {
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

export const backend: BackendReport = report();
