/**
 * A real NOTIFY_SOCKET receiver for tests: an AF_UNIX datagram socket (path or abstract) with
 * SO_PASSCRED, read through the addon's recvmsg primitive. It polls in the background so a
 * sender waiting on a barrier (systemd-notify does) is served while the test awaits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOCK_DGRAM, SOL_SOCKET, SO_PASSCRED } from '../../lib/protocol/linux';
import { afterAll } from 'vitest';
import { load } from './addon';

/** Every receiver a test file opened: closed (and its directory removed) when the file is done. */
const open = new Set<NotifyReceiver>();
afterAll(() => {
  for (const r of open) r.close();
});

export interface Received {
  readonly data: Buffer;
  readonly text: string;
  readonly fds: number[];
  readonly pid: number;
  readonly uid: number;
  readonly truncated: boolean;
}

export class NotifyReceiver {
  readonly messages: Received[] = [];
  private timer: NodeJS.Timeout;
  private constructor(
    readonly fd: number,
    /** The NOTIFY_SOCKET value for senders. */
    readonly address: string,
    private readonly dir: string | undefined,
    /** Keep received fds open (barrier timeouts, fd checks) instead of closing them at once. */
    public keepFds: boolean,
  ) {
    this.timer = setInterval(() => this.poll(), 2);
    open.add(this);
  }

  static open(kind: 'path' | 'abstract' = 'path', keepFds = false): NotifyReceiver {
    const n = load.binding;
    if (!n) throw new Error('the addon is needed for the test receiver');
    const fd = n.unix_socket(SOCK_DGRAM, false);
    if (fd < 0) throw new Error(`socket: ${fd}`);
    n.setsockopt_int(fd, SOL_SOCKET, SO_PASSCRED, 1);
    let address: string;
    let dir: string | undefined;
    if (kind === 'path') {
      dir = mkdtempSync(join(tmpdir(), 'libsystemd-notify-'));
      address = join(dir, 'notify.sock');
      if (n.unix_bind(fd, Buffer.from(address)) !== 0) throw new Error('bind');
    } else {
      address = `@libsystemd-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
      if (n.unix_bind(fd, Buffer.concat([Buffer.from([0]), Buffer.from(address.slice(1))])) !== 0) throw new Error('bind');
    }
    return new NotifyReceiver(fd, address, dir, keepFds);
  }

  private poll(): void {
    if (this.closed) return;
    const n = load.binding!;
    for (;;) {
      const r = n.unix_recvmsg(this.fd, 65536);
      if (typeof r === 'number') return;
      const [data, fds, pid, uid, , truncated] = r;
      if (!this.keepFds) for (const f of fds) n.close(f);
      this.messages.push({ data, text: data.toString('latin1'), fds, pid, uid, truncated });
    }
  }

  /** Everything received so far (after one more poll), and forgets it. */
  take(): Received[] {
    this.poll();
    return this.messages.splice(0);
  }

  /** Waits until `count` messages arrived (or the timeout passed), then takes them. */
  async wait(count: number, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count && Date.now() < deadline) {
      this.poll();
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.take();
  }

  private closed = false;

  /** Closes the socket but leaves its file: a stale socket nobody reads (ECONNREFUSED). */
  closeSocket(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const m of this.messages) if (this.keepFds) for (const f of m.fds) load.binding!.close(f);
    load.binding!.close(this.fd);
  }

  /** Closes the socket (once; later calls do nothing) and removes its directory. */
  close(): void {
    this.closeSocket();
    open.delete(this);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
