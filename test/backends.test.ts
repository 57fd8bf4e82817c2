/**
 * Runs the conformance suite against every backend that can exist on this machine, in-process:
 * libsystemd (the reference), js on the native transport, js on the node transport.
 */
import { createJsBackend } from '../lib/backends/js';
import { createLibsystemdBackend } from '../lib/backends/libsystemd';
import { addonSystemCalls, nodeSystemCalls } from '../lib/backends/os';
import { load } from './helpers/addon';
import { expect, it } from 'vitest';
import { describeWith, installedSystemd, versionQuirk } from './helpers/env';
import { E } from '../lib/errors';
import { conformance } from './conformance';

describeWith({ linux: true }, 'backends', () => {
  if (!load.binding) throw new Error(`the addon did not load: ${load.attempts.join('; ')}`);
  const binding = load.binding;
  if (!load.libsystemd) throw new Error(`libsystemd did not open: ${load.attempts.join('; ')}`);
  conformance('libsystemd', () => createLibsystemdBackend(binding), { fdChecks: true, binding });
  conformance('js/native', () => createJsBackend(addonSystemCalls(binding)), { fdChecks: true, binding });
  conformance('js/node', () => createJsBackend(nodeSystemCalls()), { fdChecks: false });
});

describeWith({ linux: true }, 'parity: js reproduces libsystemd on generated environments', () => {
  const binding = load.binding!;
  const ref = createLibsystemdBackend(binding);
  const js = createJsBackend(addonSystemCalls(binding));
  const VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'WATCHDOG_USEC', 'WATCHDOG_PID'];

  // A seeded generator (mulberry32) so a failure is reproducible.
  function rng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const PIECES = ['', ' ', '\t', '\n', '\v', '+', '-', '0', '1', '2', '3', '7', '8', '9', '0x', '0X', '0b', '0o', 'a', 'f', 'x', 'e', '010', '99999999999', '18446744073709551616', String(process.pid)];
  const NAME_PIECES = ['', 'a', 'web', ':', '\\', '\\:', 'x.socket'];

  function gen(r: () => number, pieces: readonly string[], max = 4): string {
    let s = '';
    const n = Math.floor(r() * max) + 1;
    for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)];
    return s;
  }

  function snapshot(): Record<string, string | undefined> {
    return Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
  }

  function apply(vars: Record<string, string | undefined>): void {
    for (const v of VARS) {
      if (vars[v] === undefined) delete process.env[v];
      else process.env[v] = vars[v];
    }
  }

  it('gives identical results and leaves identical environments for 3000 generated cases', () => {
    const r = rng(20261121);
    const mismatches: string[] = [];
    const version = installedSystemd();
    let quirks = 0;
    for (let i = 0; i < 3000; i++) {
      const vars: Record<string, string | undefined> = {
        LISTEN_PID: r() < 0.9 ? (r() < 0.6 ? String(process.pid) : gen(r, PIECES)) : undefined,
        LISTEN_FDS: r() < 0.9 ? (r() < 0.3 ? String(1 + Math.floor(r() * 3)) : gen(r, PIECES, 3)) : undefined,
        LISTEN_FDNAMES: r() < 0.5 ? gen(r, NAME_PIECES) : undefined,
        WATCHDOG_USEC: r() < 0.8 ? gen(r, PIECES) : undefined,
        WATCHDOG_PID: r() < 0.5 ? (r() < 0.5 ? String(process.pid) : gen(r, PIECES)) : undefined,
      };
      const unset = r() < 0.5;
      if (versionQuirk(version, vars)) {
        quirks++;
        continue;
      }
      const ops = { listenFds: (b: typeof ref) => b.listenFds(), listenFdsWithNames: (b: typeof ref) => b.listenFdsWithNames(), watchdogEnabled: (b: typeof ref) => b.watchdogEnabled(unset) };
      for (const [op, call] of Object.entries(ops)) {
        apply(vars);
        const a = JSON.stringify([call(ref), snapshot()], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
        apply(vars);
        const b = JSON.stringify([call(js), snapshot()], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
        if (a !== b) mismatches.push(`${op}(${unset}) ${JSON.stringify(vars)}: libsystemd ${a} js ${b}`);
      }
    }
    apply({});
    if (quirks) console.log(`systemd ${version}: ${quirks} case(s) left out for a known quirk of this release`);
    expect(quirks).toBeLessThan(30);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  // Differences between systemd versions, measured in the systemd matrix (247, 252, 257, 262):
  // the js backend reads as the newest does; the libsystemd backend answers as the loaded one.
  it('LISTEN_PIDFDID (systemd 259) and NOTIFY_SOCKET of no known family: js as the newest libsystemd, libsystemd as itself', () => {
    const version = installedSystemd();
    const own = binding.pidfd_self_id();
    const pid = String(process.pid);
    const listen = (b: typeof ref, id: string | undefined) => {
      process.env.LISTEN_PID = pid;
      process.env.LISTEN_FDS = '1';
      if (id === undefined) delete process.env.LISTEN_PIDFDID;
      else process.env.LISTEN_PIDFDID = id;
      try {
        return b.listenFds();
      } finally {
        for (const v of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_PIDFDID']) delete process.env[v];
      }
    };
    const notify = (b: typeof ref, address: string) => {
      process.env.NOTIFY_SOCKET = address;
      try {
        return b.notify(0, false, Buffer.from('X=1'), []);
      } finally {
        delete process.env.NOTIFY_SOCKET;
      }
    };
    // This kernel has pidfs (6.9+): a pidfd id is there to compare.
    expect(typeof own).toBe('bigint');
    const mine = String(own);
    const other = String((own as bigint) + 1n);
    const got = (b: typeof ref) => ({ none: listen(b, undefined), mine: listen(b, mine), other: listen(b, other), empty: listen(b, ''), bad: listen(b, 'x'), big: listen(b, '18446744073709551616'), plain: notify(b, 'relative.sock'), vsock: notify(b, 'vsock:2:1') });
    const newest = { none: 1, mine: 1, other: 0, empty: -E.EINVAL, bad: -E.EINVAL, big: -E.ERANGE, plain: -E.EPROTO, vsock: -E.EAFNOSUPPORT };
    expect(got(js)).toEqual(newest);
    const lib = got(ref);
    console.log(`systemd ${version}: libsystemd backend ${JSON.stringify(lib)}`);
    // Before 259 the id is ignored (the fds are taken whatever it says).
    if (version >= 259) expect(lib).toMatchObject({ none: 1, mine: 1, other: 0, empty: -E.EINVAL, bad: -E.EINVAL, big: -E.ERANGE });
    else expect(lib).toMatchObject({ none: 1, mine: 1, other: 1, empty: 1, bad: 1, big: 1 });
    // 247 and 252 refuse an address of no known family with EINVAL, 257 and later with EPROTO;
    // vsock: 247 and 252 refuse it (EINVAL), 257 and later try it (no vsock here: an errno).
    expect(lib.plain).toBe(version >= 257 ? -E.EPROTO : -E.EINVAL);
    if (version < 257) expect(lib.vsock).toBe(-E.EINVAL);
    else expect(lib.vsock).toBeLessThan(0);
  });
});
