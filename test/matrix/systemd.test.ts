/**
 * The systemd matrix: debootstrapped roots with their own systemd (Debian 11: 247, Debian 13:
 * 257, sid: the newest Debian serves), each booted as PID 1 by the real-systemd harness
 * (`--root`: the same isolation, never the host), with a Node from the npm registry inside; the
 * whole test/system suite runs against each (Type=notify, watchdog kill and restart, named
 * .socket fds, the fd store across restarts, barrier, the service toolkit), the addon opening
 * that root's libsystemd.so.0. The machine's own systemd (252) runs the same suite in `npm test`.
 * The README quick start is left out here: it needs npm inside the root.
 *
 * Then, in each root, the unit suites that talk to libsystemd and journald run inside that
 * root's booted PID 1 (the checkout bound at its own path): conformance of both native backends
 * and their parity on generated environments (backends, fuzz), notify and the service toolkit,
 * journal writing read back from that root's journald (journal), and the journal reader on both
 * ways of reading (reader). The machine's own run of these is `npm test`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, run } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { HARNESS } from '../system/harness';
import { debianRoot, record, runtimes } from './support';

const SUITES = [
  { suite: 'host', debian: 'this machine, Debian 12' },
  { suite: 'bullseye', debian: 'Debian 11' },
  { suite: 'trixie', debian: 'Debian 13' },
  { suite: 'sid', debian: 'Debian sid' },
];
const PACKAGES = ['systemd', 'systemd-sysv', 'util-linux', 'mount', 'procps', 'curl'];

/**
 * A root of `suite` that the harness boots: its systemd, and the npm registry's Node (glibc
 * 2.28+) at this process's execPath, which unit files run (the harness binds the checkout at its
 * own path). Its systemd version too.
 */
async function bootableRoot(suite: string): Promise<{ root: string; version: string }> {
  const root = await debianRoot(suite, 'amd64', PACKAGES);
  mkdirSync(join(root, ROOT.slice(1)), { recursive: true });
  copyFileSync(runtimes.ensure('node-20'), join(root, process.execPath.slice(1)));
  return { root, version: systemdVersion((await run('chroot', [root, 'systemctl', '--version'])).stdout) };
}

const systemdVersion = (out: string): string => out.split('\n')[0]!.replace(/^systemd (\d+).*$/, '$1');

interface Report {
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; status: string; message: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

/** Every test of a vitest JSON report that did not pass, and every file that failed to load. */
function notPassed(report: Report): string[] {
  return report.testResults.flatMap((f) =>
    f.status === 'failed' && f.assertionResults.length === 0
      ? [`${f.name}: ${f.message.split('\n')[0]}`]
      : f.assertionResults.filter((a) => a.status !== 'passed').map((a) => `${a.fullName}: ${a.status} ${a.failureMessages[0]?.split('\n')[0] ?? ''}`),
  );
}

describeWith({ linux: true, root: true, bins: ['debootstrap', 'unshare', 'nsenter', 'setpriv'] }, 'systemd matrix: test/system under each root\'s own PID 1', () => {
  it.each(SUITES)('$suite', async ({ suite, debian }) => {
    const t0 = Date.now();
    const { root, version } = suite === 'host' ? { root: undefined, version: systemdVersion((await run('systemctl', ['--version'])).stdout) } : await bootableRoot(suite);
    const env: Record<string, string | undefined> = { REAL_SYSTEMD_ROOT: root, NODE_EXTRA_CA_CERTS: root ? undefined : process.env.NODE_EXTRA_CA_CERTS };
    const out = join(ROOT, 'test-results', `systemd-${suite}.json`);
    await run(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/system', '--exclude', 'test/system/readme.test.ts', '--reporter=json', `--outputFile=${out}`], { cwd: ROOT, env, timeoutMs: 1_200_000 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(notPassed(report)).toEqual([]);
    const seconds = Math.round((Date.now() - t0) / 1000);
    console.log(`systemd ${version} (${debian}): ${report.numPassedTests} of ${report.numTotalTests} passed in ${seconds} s`);
    record({ what: `systemd (${debian}, booted as PID 1)`, version, ran: `test/system: ${report.numTotalTests} tests (Type=notify, watchdog kill and restart, named .socket fds, fd store across restarts, barrier, the service toolkit; each on the backends it covers), ${root ? "the root's" : "the machine's"} libsystemd.so.0, ${seconds} s`, result: 'pass' });
  }, 1_500_000);

  const UNIT_SUITES = ['test/backends.test.ts', 'test/fuzz.test.ts', 'test/notify.test.ts', 'test/service.test.ts', 'test/journal.test.ts', 'test/reader.test.ts'];
  it.each(SUITES.filter((x) => x.suite !== 'host'))('$suite: the unit suites inside the booted root', async ({ suite, debian }) => {
    const t0 = Date.now();
    const { root, version } = await bootableRoot(suite);
    const name = `matrix-units-${suite}`;
    const out = join(ROOT, 'test-results', `systemd-units-${suite}.json`);
    rmSync(out, { force: true });
    const boot = await run('bash', [HARNESS, '-n', name, 'start', '--root', root, '--bind', ROOT, '--lifetime', '1500'], { timeoutMs: 120_000 });
    expect(boot.code, boot.stderr).toBe(0);
    try {
      // Inside: the root's own journald, journalctl and libsystemd.so.0; strict, so nothing passes by skipping.
      const r = await run('bash', [HARNESS, '-n', name, 'exec', 'env', '-u', 'NODE_EXTRA_CA_CERTS', 'LIBSYSTEMD_TEST_STRICT=1', 'LIBSYSTEMD_REQUIRE_NATIVE=1', 'bash', '-c', 'cd "$0" && exec "$@"', ROOT, process.execPath, join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...UNIT_SUITES, '--reporter=json', `--outputFile=${out}`], { timeoutMs: 1_200_000 });
      expect(existsSync(out), r.stderr.slice(-3000)).toBe(true);
    } finally {
      await run('bash', [HARNESS, '-n', name, 'stop'], { timeoutMs: 60_000 });
    }
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(notPassed(report)).toEqual([]);
    expect(report.numPassedTests).toBe(report.numTotalTests);
    const seconds = Math.round((Date.now() - t0) / 1000);
    console.log(`systemd ${version} (${debian}), unit suites inside: ${report.numPassedTests} of ${report.numTotalTests} passed in ${seconds} s`);
    record({ what: `systemd (${debian}, booted as PID 1)`, version, ran: `unit suites inside the booted root: ${report.numTotalTests} tests (both native backends' conformance and parity, notify, the service toolkit, journal read-back from its journald, the reader on both ways of reading), ${seconds} s`, result: 'pass' });
  }, 1_500_000);
});
