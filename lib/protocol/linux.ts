/**
 * Linux constants the protocols use (x86_64 and aarch64 share these values). The errno numbers
 * are `E` in ../errors, next to the error class that names them.
 */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_SNDBUF = 7;
export const SO_PASSCRED = 16;
export const SO_ACCEPTCONN = 30;
export const SO_SNDBUFFORCE = 32;
export const SHUT_RD = 0;
/** sun_path's size in struct sockaddr_un. */
export const SUN_PATH_MAX = 108;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFIFO = 0o010000;
