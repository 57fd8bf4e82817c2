/**
 * libsystemd: socket activation, sd_notify readiness and watchdog, and structured journal
 * logging for Node.js. Public API only; each area lives in its own module.
 *
 * Every value is a getter that loads its area on first use: `require('libsystemd')` costs no
 * module compilation, no addon load and no dlopen until something is called (start-up time).
 */
/* eslint-disable @typescript-eslint/no-require-imports */

export type { BackendReport } from './backends/select';
export type { Capabilities } from './capabilities';
export type { BackendKind, Transport } from './backends/contract';
export type { ActivatedListenOptions, ListenFdsOptions, NamedFd, IsSocketOptions, IsSocketInetOptions, IsSocketUnixOptions, SocketFamily, SocketType } from './activation';
export type { NotifyState, NotifyValue, NotifyOptions, NotifyStats, NotifyQueueOptions, FdStoreOptions, WatchdogOptions, StartWatchdogOptions, WatchdogHandle } from './notify';
export type { JournalFields, JournalValue, JournalStats, JournalOptions, StreamOptions, PriorityName, JournalEntryFields, JournalFieldValue, JournalOpenOptions, JournalQueryOptions, JournalTime } from './journal';
export type { Logger, LoggerOptions, LogMethod } from './logger';
export type { CredentialOptions, IdOptions, UnitOf, IdleHandle, IdleOptions, MemoryPressureHandle, MemoryPressureOptions, ReloadHandle, ReloadOptions, ShutdownHandle, ShutdownOptions, ServiceErrorCode } from './service';

export declare const backend: typeof import('./backends/select').backend;

export declare const capabilities: typeof import('./capabilities').capabilities;

export declare const SystemdError: typeof import('./errors').SystemdError;
export type SystemdError = import('./errors').SystemdError;
export declare const InvalidArgumentError: typeof import('./errors').InvalidArgumentError;
export type InvalidArgumentError = import('./errors').InvalidArgumentError;

export declare const LISTEN_FDS_START: typeof import('./activation').LISTEN_FDS_START;
export declare const listenFds: typeof import('./activation').listenFds;
export declare const listenFdsWithNames: typeof import('./activation').listenFdsWithNames;
export declare const isSocket: typeof import('./activation').isSocket;
export declare const isSocketInet: typeof import('./activation').isSocketInet;
export declare const isSocketUnix: typeof import('./activation').isSocketUnix;
export declare const isFifo: typeof import('./activation').isFifo;
export declare const listenArgs: typeof import('./activation').listenArgs;
export declare const listenOn: typeof import('./activation').listenOn;
export declare const bindDatagram: typeof import('./activation').bindDatagram;
export declare const acceptedConnection: typeof import('./activation').acceptedConnection;
export declare const ActivationError: typeof import('./activation').ActivationError;
export type ActivationError = import('./activation').ActivationError;

export declare const notify: typeof import('./notify').notify;
export declare const ready: typeof import('./notify').ready;
export declare const reloading: typeof import('./notify').reloading;
export declare const stopping: typeof import('./notify').stopping;
export declare const status: typeof import('./notify').status;
export declare const mainPid: typeof import('./notify').mainPid;
export declare const errno: typeof import('./notify').errno;
export declare const busError: typeof import('./notify').busError;
export declare const extendTimeout: typeof import('./notify').extendTimeout;
export declare const watchdog: typeof import('./notify').watchdog;
export declare const watchdogTrigger: typeof import('./notify').watchdogTrigger;
export declare const setWatchdogTimeout: typeof import('./notify').setWatchdogTimeout;
export declare const fdStore: typeof import('./notify').fdStore;
export declare const fdStoreRemove: typeof import('./notify').fdStoreRemove;
export declare const barrier: typeof import('./notify').barrier;
export declare const notifyStats: typeof import('./notify').notifyStats;
export declare const configureNotify: typeof import('./notify').configureNotify;
export declare const booted: typeof import('./notify').booted;
export declare const watchdogUsec: typeof import('./notify').watchdogUsec;
export declare const startWatchdog: typeof import('./notify').startWatchdog;
export declare const NOTIFY_MAX_BYTES: typeof import('./notify').NOTIFY_MAX_BYTES;
export declare const NOTIFY_MAX_FDS: typeof import('./notify').NOTIFY_MAX_FDS;

export declare const journal: typeof import('./journal').journal;
export declare const PRIORITIES: typeof import('./journal').PRIORITIES;
export declare const JournalReader: typeof import('./journal/reader').JournalReader;
export type JournalReader = import('./journal/reader').JournalReader;
export declare const JournalEntry: typeof import('./journal/reader').JournalEntry;
export type JournalEntry = import('./journal/reader').JournalEntry;

export declare const createLogger: typeof import('./logger').createLogger;

export declare const credential: typeof import('./service').credential;
export declare const credentials: typeof import('./service').credentials;
export declare const ServiceError: typeof import('./service').ServiceError;
export declare const bootId: typeof import('./service').bootId;
export declare const invocationId: typeof import('./service').invocationId;
export declare const machineId: typeof import('./service').machineId;
export declare const unitOf: typeof import('./service').unitOf;
export declare const exitWhenIdle: typeof import('./service').exitWhenIdle;
export declare const onMemoryPressure: typeof import('./service').onMemoryPressure;
export declare const onReload: typeof import('./service').onReload;
export declare const onShutdown: typeof import('./service').onShutdown;
export type ServiceError = import('./service').ServiceError;


/** Each area, loaded on first use. */
const areas: Record<string, () => Record<string, unknown>> = {
  './backends/select': () => require('./backends/select'),
  './capabilities': () => require('./capabilities'),
  './errors': () => require('./errors'),
  './activation': () => require('./activation'),
  './notify': () => require('./notify'),
  './journal': () => require('./journal'),
  './journal/reader': () => require('./journal/reader'),
  './logger': () => require('./logger'),
  './service': () => require('./service'),
};
const names: Record<string, string> = {
  backend: './backends/select',
  capabilities: './capabilities',
  SystemdError: './errors',
  InvalidArgumentError: './errors',
  LISTEN_FDS_START: './activation',
  listenFds: './activation',
  listenFdsWithNames: './activation',
  isSocket: './activation',
  isSocketInet: './activation',
  isSocketUnix: './activation',
  isFifo: './activation',
  listenArgs: './activation',
  listenOn: './activation',
  bindDatagram: './activation',
  acceptedConnection: './activation',
  ActivationError: './activation',
  notify: './notify',
  ready: './notify',
  reloading: './notify',
  stopping: './notify',
  status: './notify',
  mainPid: './notify',
  errno: './notify',
  busError: './notify',
  extendTimeout: './notify',
  watchdog: './notify',
  watchdogTrigger: './notify',
  setWatchdogTimeout: './notify',
  fdStore: './notify',
  fdStoreRemove: './notify',
  barrier: './notify',
  notifyStats: './notify',
  configureNotify: './notify',
  booted: './notify',
  watchdogUsec: './notify',
  startWatchdog: './notify',
  NOTIFY_MAX_BYTES: './notify',
  NOTIFY_MAX_FDS: './notify',
  journal: './journal',
  PRIORITIES: './journal',
  JournalReader: './journal/reader',
  JournalEntry: './journal/reader',
  createLogger: './logger',
  credential: './service',
  credentials: './service',
  ServiceError: './service',
  bootId: './service',
  invocationId: './service',
  machineId: './service',
  unitOf: './service',
  exitWhenIdle: './service',
  onMemoryPressure: './service',
  onReload: './service',
  onShutdown: './service',
};
// The first access loads the area and replaces the getter with the value itself: later
// accesses (`l.journal.send(…)` in a loop) cost what a plain property costs.
for (const [name, area] of Object.entries(names)) {
  Object.defineProperty(exports, name, {
    enumerable: true,
    configurable: true,
    get() {
      const value = areas[area]!()[name];
      Object.defineProperty(exports, name, { enumerable: true, configurable: false, writable: false, value });
      return value;
    },
  });
}
