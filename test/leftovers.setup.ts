/**
 * Global setup and teardown (vitest.config.mts): the suite checks that it leaves nothing behind.
 *
 * - Every process the suite starts carries LIBSYSTEMD_SUITE=<an id of this run> in its
 *   environment (inherited from here through the workers); a process that still carries it when
 *   the suite is done, other than vitest's own, is a leftover.
 * - Every temp dir the suite (and the library under test, e.g. `libsystemd run`'s notify
 *   directory) makes goes under TMPDIR, which is a directory of this run's own: what is still in
 *   it when the suite is done is a leftover.
 *
 * Only this run's own processes and directories are looked at, never anyone else's. Leftovers
 * fail the run (after a grace period for what is still stopping), and are then removed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long leftovers may take to go: the longest stop in the suite (`libsystemd run`'s watcher: SIGTERM, then SIGKILL 5 s later) with headroom. */
const GRACE_MS = 15_000;

interface Leftover {
  readonly pid: number;
  readonly cmdline: string;
}

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

/** Live processes (not zombies) carrying `marker`, other than this one and its own children (vitest's workers). */
export function carrying(marker: string): Leftover[] {
  const out: Leftover[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!env.split('\0').includes(marker)) continue;
    const s = stat(pid);
    if (!s || s.state === 'Z' || s.ppid === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      // gone meanwhile
    }
    out.push({ pid, cmdline });
  }
  return out;
}

export default function setup(): () => Promise<void> {
  const marker = `LIBSYSTEMD_SUITE=${randomBytes(8).toString('hex')}`;
  const base = mkdtempSync(join(tmpdir(), 'libsystemd-suite-'));
  // Like /tmp: tests run some processes as other users (nobody, a test user), who make their own
  // temp dirs here too.
  chmodSync(base, 0o1777);
  process.env.LIBSYSTEMD_SUITE = marker.split('=')[1];
  process.env.TMPDIR = base;
  return async () => {
    const deadline = Date.now() + GRACE_MS;
    let procs = carrying(marker);
    let dirs = readdirSync(base);
    while ((procs.length || dirs.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      procs = carrying(marker);
      dirs = readdirSync(base);
    }
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(base, { recursive: true, force: true });
    if (procs.length || dirs.length) {
      const lines = [...procs.map((p) => `  process ${p.pid}: ${p.cmdline}`), ...dirs.map((d) => `  temp dir ${join(base, d)}`)];
      // vitest reports an error thrown here but exits 0 for it: the exit code is set too.
      process.exitCode = 1;
      throw new Error(`the suite left ${procs.length} process(es) and ${dirs.length} temp dir(s) behind (${GRACE_MS / 1000} s after its end; now removed):\n${lines.join('\n')}`);
    }
  };
}
