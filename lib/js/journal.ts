/**
 * The journal client calls of libsystemd in TypeScript over the addon's primitives:
 * sd_journal_sendv (framing, implicit SYSLOG_IDENTIFIER, memfd fallback; blocking, like the
 * original) and sd_journal_stream_fd (connect, SHUT_RD, header).
 */
import { SOCK_STREAM } from '../backend';
import { E } from '../errors';
import { frame, splitIovecs } from '../journal/fields';
import { JOURNAL_SOCKET } from '../journal/sender';
import { STDOUT_SOCKET, streamHeader } from '../journal/stream';
import type { NativeBinding } from '../native';
import { datagramSocket, incSndbuf } from './transport';

const SHUT_RD = 0;

export interface JournalImpl {
  journalSendv(iov: readonly Buffer[]): number;
  journalStreamFd(identifier: string | null, priority: number, levelPrefix: boolean): number;
}

export function nativeJournal(n: NativeBinding): JournalImpl {
  let fd = -1;
  const addr = Buffer.from(JOURNAL_SOCKET);

  function socket(): number {
    if (fd >= 0) return fd;
    const s = datagramSocket(n, false);
    if (s < 0) return s;
    fd = s;
    return s;
  }

  return {
    journalSendv(iov) {
      const list = splitIovecs(iov);
      if (typeof list === 'number') return list;
      const entry = frame(list);
      const s = socket();
      if (s < 0) return s;
      const rc = n.unix_sendmsg(s, addr, entry, null);
      if (rc >= 0 || rc === -E.ENOENT) return 0;
      if (rc !== -E.EMSGSIZE && rc !== -E.ENOBUFS && rc !== -E.EAGAIN) return rc; // too large, or no room: memfd
      const mfd = n.memfd_sealed('journal-entry', entry);
      if (mfd < 0) return mfd;
      const r = n.unix_sendmsg(s, addr, [], [mfd]);
      n.close(mfd);
      return r >= 0 || r === -E.ENOENT ? 0 : r;
    },

    journalStreamFd(identifier, priority, levelPrefix) {
      if (priority < 0 || priority > 7) return -E.EINVAL;
      const s = n.unix_socket(SOCK_STREAM, false);
      if (s < 0) return s;
      let rc = n.unix_connect(s, Buffer.from(STDOUT_SOCKET));
      if (rc === 0) rc = n.shutdown(s, SHUT_RD);
      if (rc === 0) incSndbuf(n, s);
      if (rc === 0) {
        // Through the addon, not fs.writeSync: a raw socket fd is not a file to every runtime
        // (Deno's fs refuses it). A fresh blocking socket takes the short header whole.
        const header = streamHeader(identifier, priority, levelPrefix);
        const sent = n.unix_sendmsg(s, null, header, null);
        rc = sent < 0 ? sent : sent === header.length ? 0 : -E.EIO;
      }
      if (rc < 0) {
        n.close(s);
        return rc;
      }
      return s;
    },
  };
}
