/** Errors of the service toolkit that are not an errno: each with a stable `code`. */
export type ServiceErrorCode = 'ERR_LIBSYSTEMD_NO_CREDENTIAL' | 'ERR_LIBSYSTEMD_BAD_CREDENTIAL' | 'ERR_LIBSYSTEMD_ALREADY_INSTALLED' | 'ERR_LIBSYSTEMD_MEMORY_PRESSURE';

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
