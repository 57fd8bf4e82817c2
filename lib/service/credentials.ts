/**
 * Credentials (LoadCredential=, SetCredential=, LoadCredentialEncrypted=, ImportCredential=):
 * files systemd places in $CREDENTIALS_DIRECTORY, readable only by the service, never in the
 * environment or the unit's properties. Values are never part of an error message or a log line.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, invalidType, invalidValue, SystemdError } from '../errors';
import { ServiceError } from './errors';

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalidType('name', 'a string', name);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > 255) {
    throw invalidValue('name', `must be a credential name (no '/', not '.' or '..', at most 255 bytes), received ${JSON.stringify(name.slice(0, 80))}`);
  }
  return name;
}

function setting(name: string): string {
  return `add LoadCredential=${name}:/path/to/file (or SetCredential=${name}:value, LoadCredentialEncrypted=, ImportCredential=${name}) to the unit's [Service] section`;
}

export interface CredentialOptions {
  /** Decode as text with this encoding (e.g. 'utf8'); default: a Buffer. */
  readonly encoding?: BufferEncoding;
}

/**
 * The credential `name` of this service: a Buffer, or a string with `encoding`.
 * @throws ServiceError `ERR_LIBSYSTEMD_NO_CREDENTIAL` when it is not passed (naming the setting to add).
 * @throws ServiceError `ERR_LIBSYSTEMD_BAD_CREDENTIAL` when it is not a regular file (a FIFO, socket, device or directory).
 * @throws SystemdError for other failures (e.g. `EACCES`); never with the value.
 */
export function credential(name: string): Buffer;
export function credential(name: string, options: CredentialOptions & { readonly encoding: BufferEncoding }): string;
export function credential(name: string, options?: CredentialOptions): Buffer | string;
export function credential(name: string, options: CredentialOptions = {}): Buffer | string {
  checkName(name);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const enc = options.encoding;
  if (enc !== undefined && !Buffer.isEncoding(enc)) throw invalidValue('options.encoding', `must be a Buffer encoding, received ${JSON.stringify(enc)}`);
  const dir = process.env.CREDENTIALS_DIRECTORY;
  if (dir === undefined || dir === '') throw new ServiceError('ERR_LIBSYSTEMD_NO_CREDENTIAL', `credential ${JSON.stringify(name)}: this process has no credentials ($CREDENTIALS_DIRECTORY is unset): ${setting(name)}`);
  const path = join(dir, name);
  let data: Buffer;
  let fd = -1;
  try {
    // Only a regular file is a credential (PID 1 writes each one as a file in that directory).
    // Anything else would block the event loop (open() of a FIFO waits for a writer, a device may
    // never end): refused before it is opened, and again on the opened fd (it may have been
    // replaced in between). O_NONBLOCK: opening a FIFO that appeared in between does not wait.
    refuseSpecial(statSync(path), name);
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    refuseSpecial(fstatSync(fd), name);
    data = readFileSync(fd);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ServiceError('ERR_LIBSYSTEMD_NO_CREDENTIAL', `credential ${JSON.stringify(name)} is not passed to this service: ${setting(name)}`);
    throw new SystemdError(errnoOf(e), 'read', `credential ${JSON.stringify(name)} in ${dir}`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return enc === undefined ? data : data.toString(enc);
}

function refuseSpecial(st: Stats, name: string): void {
  if (st.isFile()) return;
  const kind = st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'not a file';
  throw new ServiceError('ERR_LIBSYSTEMD_BAD_CREDENTIAL', `credential ${JSON.stringify(name)} is ${kind}, not a regular file: systemd passes each credential as a regular file, and reading anything else could block`);
}

/** The names of this service's credentials ([] outside a unit with credentials). */
export function credentials(): string[] {
  const dir = process.env.CREDENTIALS_DIRECTORY;
  if (!dir) return [];
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return [];
    throw new SystemdError(errnoOf(e), 'readdir', dir);
  }
}
