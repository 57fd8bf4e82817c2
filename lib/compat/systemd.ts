/**
 * Drop-in for `systemd` (rubenv/node-systemd 0.4.0): importing it lets
 * `server.listen('systemd'[, backlog][, callback])` take the socket systemd passed. Unlike the
 * original it checks LISTEN_PID and listens with `{ fd }`, so `server.address()` and
 * `req.socket.remoteAddress` are right. The error text is the original's.
 */
import { Server } from 'node:net';
import { listenFds, listenOn } from '../activation';

type Listen = (this: Server, ...args: unknown[]) => Server;
const original = Server.prototype.listen as unknown as Listen & { libsystemdPatched?: true };

if (!original.libsystemdPatched) {
  const patched = function listen(this: Server, ...args: unknown[]): Server {
    if (args[0] !== 'systemd') return original.apply(this, args);
    if (listenFds().length !== 1) throw new Error('No or too many file descriptors received.');
    const backlog = typeof args[1] === 'number' ? args[1] : undefined;
    const callback = args.find((a): a is () => void => typeof a === 'function');
    if (backlog === undefined) return listenOn(this, 0, undefined, callback);
    return original.call(this, { fd: listenFds()[0], backlog }, callback);
  } as Listen & { libsystemdPatched?: true };
  patched.libsystemdPatched = true;
  Server.prototype.listen = patched as unknown as typeof Server.prototype.listen;
}
