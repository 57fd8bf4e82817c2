/**
 * The suite's core on every runtime the package supports: Node 20, 22, 24 and 26, Bun, Deno, and
 * an arm64 Node under qemu-aarch64 with the linux-arm64 prebuild (and an arm64 libsystemd from a
 * debootstrapped sysroot). On each, on both native backends: the loader, activation with a real
 * inherited socket, notify into a real datagram receiver (an fd for the fd store included),
 * journal entries with binary and multi-line values read back byte for byte from a real,
 * isolated journald, a journal stream, and a burst left queued at process.exit(). The activated
 * socket answers a real HTTP request through listenOn on every row.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addon } from '../helpers/addon';
import { MODES, ROOT, run, type Mode } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { Journald, JOURNALD_NEEDS, type Entry } from '../helpers/journald';
import { NotifyReceiver } from '../helpers/notify';
import { SOCK_STREAM } from '../../lib/protocol/linux';
import { debianRoot, record, runtimes } from './support';

const CORE = join(ROOT, 'test', 'matrix', 'core.cjs');
const ARM64_PREBUILD = join(ROOT, 'prebuilds', 'linux-arm64', 'libsystemd.node');
const N = 300;

interface Runtime {
  readonly name: string;
  readonly label: string;
  /** The command that runs a script (the script's path is appended). */
  cmd(): Promise<string[]>;
  readonly env?: Record<string, string>;
}

const node = (major: number): Runtime => ({ name: `node-${major}`, label: 'Node.js', cmd: async () => [runtimes.ensure(`node-${major}`)] });
const RUNTIMES: Runtime[] = [
  node(20),
  node(22),
  node(24),
  node(26),
  { name: 'bun', label: 'Bun', cmd: async () => [runtimes.ensure('bun')] },
  { name: 'deno', label: 'Deno', cmd: async () => [runtimes.ensure('deno'), 'run', '-A'] },
  {
    name: 'node-arm64',
    label: 'Node.js linux-arm64 (qemu-aarch64)',
    cmd: async () => ['qemu-aarch64-static', '-L', await debianRoot('bookworm', 'arm64'), runtimes.ensure('node-arm64')],
    env: { LIBSYSTEMD_NATIVE_PATH: ARM64_PREBUILD },
  },
];
const modes: Mode[] = ['libsystemd', 'js/native'];

const bytes = (v: Entry[string] | undefined) => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as number[]));

describeWith({ ...JOURNALD_NEEDS, bins: [...(JOURNALD_NEEDS.bins ?? []), 'qemu-aarch64-static', 'debootstrap'] }, 'the core on every runtime', () => {
  let j: Journald;
  // The activated socket: made with the addon, so that this process's event loop never accepts
  // on it (a net.Server here would take the connections meant for the runtime under test).
  let listenFd = -1;
  let port = 0;
  const passed = new Map<string, string[]>();
  beforeAll(async () => {
    j = await Journald.start();
    listenFd = addon().inet_listen(4, '127.0.0.1', 0, SOCK_STREAM, 64);
    if (listenFd < 0) throw new Error(`inet_listen: ${listenFd}`);
    const sa = addon().getsockname(listenFd);
    if (typeof sa === 'number') throw new Error(`getsockname: ${sa}`);
    port = sa.readUInt16BE(2);
    // Built when missing or older than the sources (a stale binary would test old code).
    const newest = Math.max(...readdirSync(join(ROOT, 'src')).map((f) => statSync(join(ROOT, 'src', f)).mtimeMs));
    if (!existsSync(ARM64_PREBUILD) || statSync(ARM64_PREBUILD).mtimeMs < newest) {
      const b = await run(process.execPath, [join(ROOT, 'scripts', 'prebuilds.js')], { timeoutMs: 300_000 });
      expect(b.code, b.stderr).toBe(0);
    }
  });
  afterAll(() => {
    j?.stop();
    if (listenFd >= 0) addon().close(listenFd);
    for (const rt of RUNTIMES) {
      const ok = passed.get(rt.name) ?? [];
      if (ok.length === modes.length) {
        record({ what: rt.label, version: ok[0]!, ran: 'core (loader, activation with a real fd answering an HTTP request through listenOn, notify and fd store into a real receiver, journal read back, stream, pino transport batch, exit drain) on both native backends', result: 'pass' });
      }
    }
  });

  it.each(RUNTIMES.flatMap((rt) => modes.map((m) => [rt.name, m] as const)))('%s, %s backend', async (name, mode) => {
    const rt = RUNTIMES.find((r) => r.name === name)!;
    const cmd = await rt.cmd();
    const rx = NotifyReceiver.open('path', true);
    const id = `core-${name}-${mode.replace('/', '-')}-${process.pid}`;
    try {
      const r = await run(cmd[0]!, [...cmd.slice(1), CORE], {
        env: { ...MODES[mode], ...rt.env, TEST_ID: id, CORE_N: String(N), CORE_PORT: String(port), NOTIFY_SOCKET: rx.address, LISTEN_FDS: '1', LISTEN_FDNAMES: 'http' },
        fds: [listenFd],
        listenPidSelf: true,
        wrap: j.wrap,
        cwd: ROOT,
        timeoutMs: 180_000,
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.split('\n')[0]!);
      expect(out.kind).toBe(mode === 'libsystemd' ? 'libsystemd' : 'js');
      expect(out.transport).toBe('native');
      expect(out.arch).toBe(name === 'node-arm64' ? 'arm64' : 'x64');
      expect(out.symbols > 0).toBe(mode === 'libsystemd');
      expect(out.fds).toEqual([{ fd: 3, name: 'http' }]);
      expect(out.isListeningTcp).toBe(true);
      expect(out.served).toBe(`served /core on ${out.runtime}`);
      expect(out.env).toBe(true);
      expect(out.notify).toEqual([true, true, true]);
      expect(out.flush).toEqual({ queued: 0, dropped: 0 });
      expect(r.stderr).not.toMatch(/not delivered|LIBSYSTEMD_/);
      const messages = await rx.wait(3);
      expect(messages.map((m) => m.text)).toEqual([`READY=1\nSTATUS=core on ${out.runtime}`, 'STATUS=line one\\\\two', 'FDSTORE=1\nFDNAME=http']);
      expect(messages[2]!.fds).toHaveLength(1);
      const entries = await j.entries(`SYSLOG_IDENTIFIER=${id}`);
      expect(entries).toHaveLength(N);
      entries.forEach((e, i) => {
        expect(e.MESSAGE).toBe(`entry ${i}`);
        expect(bytes(e.BIN)).toEqual(Buffer.from([0, 255, 10, i & 255]));
        expect(e.MULTI).toBe('one\ntwo');
      });
      expect((await j.entries(`SYSLOG_IDENTIFIER=${id}-stream`)).map((e) => e.MESSAGE)).toEqual(['stream line']);
      expect(out.pinoLost).toBe(0);
      expect(await j.messages(`SYSLOG_IDENTIFIER=${id}-pino`)).toEqual(Array.from({ length: N }, (_, i) => `pino ${i}`));
      expect(await j.messages(`SYSLOG_IDENTIFIER=${id}-late`)).toEqual(Array.from({ length: N }, (_, i) => `late ${i}`));
      passed.set(name, [...(passed.get(name) ?? []), String(out.runtime).split(' ')[1]!.replace(/^v/, '')]);
    } finally {
      rx.close();
    }
  });
});
