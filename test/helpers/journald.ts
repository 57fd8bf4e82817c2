/**
 * A real, isolated systemd-journald for one test: started in its own mount namespace with a
 * private /run (so /run/systemd/journal/* and the volatile journal are its own), driven with
 * nsenter, read back with `journalctl -o json`, and stopped by its pid. The host's journald (if
 * any) and the host's /run are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ChildOptions, type ChildResult } from './child';
import { which, type Needs } from './env';

export const JOURNALD_NEEDS: Needs = { linux: true, root: true, bins: ['unshare', 'nsenter', 'journalctl', 'systemd-journald'] };

const conf = (maxUseMb: number) => `[Journal]
Storage=volatile
RateLimitIntervalSec=0
RuntimeMaxUse=${maxUseMb}M
RuntimeMaxFileSize=${maxUseMb > 200 ? 128 : 64}M
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
`;

// Runs as PID 1 of nothing in particular: just a shell in a new mount namespace that builds the
// private mounts and execs journald in the foreground (so its pid is the one we spawned). With a
// queue length ($3), the namespace has its own network namespace too, where
// net.unix.max_dgram_qlen (per network namespace, read when journald creates its socket) is set
// without touching the host's value. Clients outside reach the socket by its path all the same.
const SETUP = `set -e
if [ -n "$3" ]; then echo "$3" > /proc/sys/net/unix/max_dgram_qlen; fi
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=$4 tmpfs /run
mkdir -p /run/systemd/journal /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755,size=64m tmpfs /var/log/journal; fi
# A root without a journald.conf (the real-systemd harness's /etc/systemd is a bare tmpfs): give
# this namespace one to bind over.
if [ ! -e /etc/systemd/journald.conf ]; then mount -t tmpfs -o mode=0755,size=1m tmpfs /etc/systemd; touch /etc/systemd/journald.conf; fi
mount --bind "$1" /etc/systemd/journald.conf
exec "$2"
`;

/** One journal entry as journalctl -o json prints it (byte arrays for non-UTF-8 values). */
export type Entry = Record<string, string | number[] | (string | number[])[]>;

export class Journald {
  private constructor(
    private child: ChildProcess,
    private readonly dir: string,
  ) {}

  /** The journald process id (host view); commands run in its mount namespace. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * @param options.dgramQlen net.unix.max_dgram_qlen for journald's sockets (10 on this unbooted
   *   machine, 512 on a booted host), set inside a private network namespace.
   * @param options.maxUseMb RuntimeMaxUse= (default 200): a million entries need about 1000.
   */
  static async start(options: { dgramQlen?: number; maxUseMb?: number } = {}): Promise<Journald> {
    const dir = mkdtempSync(join(tmpdir(), 'libsystemd-journald-'));
    const maxUse = options.maxUseMb ?? 200;
    writeFileSync(join(dir, 'journald.conf'), conf(maxUse));
    const bin = which('systemd-journald')!;
    const qlen = options.dgramQlen === undefined ? '' : String(options.dgramQlen);
    const ns = qlen ? ['--mount', '--net'] : ['--mount'];
    const child = spawn('unshare', [...ns, '--propagation', 'private', '--', '/bin/sh', '-c', SETUP, 'sh', join(dir, 'journald.conf'), bin, qlen, `${maxUse + 56}m`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const j = new Journald(child, dir);
    const deadline = Date.now() + 10_000;
    // Ready when its native socket exists inside the namespace.
    while (!existsSync(`/proc/${child.pid}/root/run/systemd/journal/socket`) || !(await j.isJournald())) {
      if (child.exitCode !== null || Date.now() > deadline) {
        j.stop();
        throw new Error(`systemd-journald did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return j;
  }

  private async isJournald(): Promise<boolean> {
    try {
      return readFileSync(`/proc/${this.pid}/comm`, 'utf8').startsWith('systemd-journal');
    } catch {
      return false;
    }
  }

  /** nsenter prefix that runs a command in this journald's mount namespace. */
  get wrap(): readonly string[] {
    return ['nsenter', `--target=${this.pid}`, '--mount', '--'];
  }

  /** Runs a command inside the namespace (it sees this journald's sockets). */
  exec(cmd: string, args: readonly string[], opts: ChildOptions = {}): Promise<ChildResult> {
    return run(cmd, args, { ...opts, wrap: this.wrap });
  }

  /** The MESSAGE of every entry matching journalctl arguments, oldest first (journalctl -o cat: one line each). */
  async messages(...match: string[]): Promise<string[]> {
    await run('journalctl', ['--sync'], { wrap: this.wrap });
    const r = await run('journalctl', ['-o', 'cat', '--no-pager', '--all', ...match], { wrap: this.wrap, timeoutMs: 300_000 });
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  /** net.unix.max_dgram_qlen as journald's network namespace sees it. */
  async dgramQlen(): Promise<number> {
    const r = await run('nsenter', [`--target=${this.pid}`, '--net', '--', 'cat', '/proc/sys/net/unix/max_dgram_qlen']);
    return Number(r.stdout.trim());
  }

  /** Entries matching journalctl arguments (e.g. `TEST_ID=abc`), oldest first. */
  async entries(...match: string[]): Promise<Entry[]> {
    // journald processes datagrams asynchronously: sync first so everything sent is visible.
    await run('journalctl', ['--sync'], { wrap: this.wrap });
    const r = await run('journalctl', ['-o', 'json', '--no-pager', '--all', ...match], { wrap: this.wrap });
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Entry);
  }

  /** Stops journald (by its pid) and removes the scratch directory. */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Lets `running` start, stops journald for `ms` (SIGSTOP), resumes it (SIGCONT), and returns
   * what `running` resolves to: the stall tests' common shape.
   */
  async stallWhile<T>(running: Promise<T>, ms = 5000, leadMs = 200): Promise<T> {
    await new Promise((r) => setTimeout(r, leadMs));
    this.pause();
    await new Promise((r) => setTimeout(r, ms));
    this.resume();
    return running;
  }

  /** A process other than journald inside its mount namespace (e.g. a client run with exec()). */
  otherProcessInNamespace(): number {
    const ns = readlinkSync(`/proc/${this.pid}/ns/mnt`);
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === this.pid) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/mnt`) === ns && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'nsenter') return pid;
      } catch {
        // gone, or not ours to read
      }
    }
    throw new Error('no other process in the journald namespace');
  }

  /**
   * Stops journald (SIGTERM, waits for it to exit) and, `downMs` later, starts a new one in the
   * same mount namespace, which `holder` (a process inside it) keeps alive meanwhile.
   *
   * Datagrams still unread in journald's socket when it exits die with that socket: under
   * systemd the socket belongs to PID 1 (systemd-journald.socket) and survives the restart, but
   * not here. So the holder (the writer) is paused while journald reads what was sent
   * (journalctl --sync waits for the socket's queue) and is stopped, then resumed to log into
   * the gap.
   */
  async restart(holder: number, downMs: number): Promise<void> {
    const old = this.child;
    const exited = new Promise((r) => old.once('exit', r));
    process.kill(holder, 'SIGSTOP');
    try {
      await run('journalctl', ['--sync'], { wrap: this.wrap });
      old.kill('SIGTERM');
      await exited;
    } finally {
      process.kill(holder, 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, downMs));
    this.child = spawn('nsenter', [`--target=${holder}`, '--mount', '--', which('systemd-journald')!], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await this.isJournald())) {
      if (Date.now() > deadline) throw new Error('the new journald did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Calls `fn` once this journald has exited (at once if it already has). */
  onExit(fn: () => void): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) fn();
    else this.child.once('exit', fn);
  }

  /** SIGSTOP / SIGCONT the journald process (stall tests). */
  pause(): void {
    process.kill(this.pid, 'SIGSTOP');
  }
  resume(): void {
    process.kill(this.pid, 'SIGCONT');
  }
}
