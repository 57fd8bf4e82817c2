/**
 * Drop-in for `systemd-socket` (herzi/systemd-socket 0.0.0): `systemdSocket(index?)` returns
 * `{ fd }` for `server.listen()`, or `null` when there is no such socket. Without an index an
 * internal counter hands out the sockets in order. Unlike the original, LISTEN_PID is checked
 * and an index past LISTEN_FDS gives `null` instead of a bogus fd.
 */
import { listenFds } from '../activation';

let counter = 0;

function systemdSocket(index?: number): { fd: number } | null {
  const fds = listenFds();
  const i = index === undefined ? counter++ : index;
  if (!Number.isInteger(i) || i < 0 || i >= fds.length) return null;
  return { fd: fds[i]! };
}

export = systemdSocket;
