/**
 * The service toolkit: reload, shutdown, exit when idle, credentials, memory pressure, ids.
 */
export { credential, credentials, type CredentialOptions } from './credentials';
export { ServiceError, type ServiceErrorCode } from './errors';
export { bootId, invocationId, machineId, unitOf, type IdOptions, type UnitOf } from './ids';
export { exitWhenIdle, type IdleHandle, type IdleOptions } from './idle';
export { onMemoryPressure, type MemoryPressureHandle, type MemoryPressureOptions } from './memory';
export { onReload, type ReloadHandle, type ReloadOptions } from './reload';
export { onShutdown, type ShutdownHandle, type ShutdownOptions } from './shutdown';
