/**
 * libsystemd: socket activation, sd_notify readiness and watchdog, and structured journal
 * logging for Node.js. Public API only; each area lives in its own module.
 */
export { backend, type BackendReport } from './select';
export { capabilities, type Capabilities } from './capabilities';
export type { BackendKind, Transport } from './backend';
export { SystemdError, InvalidArgumentError } from './errors';
export {
  LISTEN_FDS_START,
  listenFds,
  listenFdsWithNames,
  isSocket,
  isSocketInet,
  isSocketUnix,
  isFifo,
  listenArgs,
  listenOn,
  bindDatagram,
  acceptedConnection,
  ActivationError,
  type ActivatedListenOptions,
  type ListenFdsOptions,
  type NamedFd,
  type IsSocketOptions,
  type IsSocketInetOptions,
  type IsSocketUnixOptions,
  type SocketFamily,
  type SocketType,
} from './activation';
export {
  notify,
  ready,
  reloading,
  stopping,
  status,
  mainPid,
  errno,
  busError,
  extendTimeout,
  watchdog,
  watchdogTrigger,
  setWatchdogTimeout,
  fdStore,
  fdStoreRemove,
  barrier,
  booted,
  watchdogUsec,
  startWatchdog,
  NOTIFY_MAX_BYTES,
  NOTIFY_MAX_FDS,
  type NotifyState,
  type NotifyValue,
  type NotifyOptions,
  type FdStoreOptions,
  type WatchdogOptions,
  type StartWatchdogOptions,
  type WatchdogHandle,
} from './notify';
export {
  journal,
  PRIORITIES,
  type JournalFields,
  type JournalValue,
  type JournalStats,
  type JournalOptions,
  type StreamOptions,
  type PriorityName,
} from './journal';
export { createLogger, type Logger, type LoggerOptions, type LogMethod } from './logger';
