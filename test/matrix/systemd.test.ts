/**
 * The systemd matrix: debootstrapped roots with their own systemd (Debian 11: 247, Debian 13:
 * 257, sid: the newest Debian serves), each booted as PID 1 by the real-systemd harness
 * (`--root`: the same isolation, never the host), with a Node from the npm registry inside; the
 * whole test/system suite runs against each (Type=notify, watchdog kill and restart, named
 * .socket fds, the fd store across restarts, barrier, the service toolkit), the addon opening
 * that root's libsystemd.so.0. The machine's own systemd (252) runs the same suite in `npm test`.
 * The README quick start is left out here: it needs npm inside the root.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, run } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { debianRoot, record, runtimes } from './support';

const SUITES = [
  { suite: 'host', debian: 'this machine, Debian 12' },
  { suite: 'bullseye', debian: 'Debian 11' },
  { suite: 'trixie', debian: 'Debian 13' },
  { suite: 'sid', debian: 'Debian sid' },
];
const PACKAGES = ['systemd', 'systemd-sysv', 'util-linux', 'mount', 'procps'];

describeWith({ linux: true, root: true, bins: ['debootstrap', 'unshare', 'nsenter', 'setpriv'] }, 'systemd matrix: test/system under each root\'s own PID 1', () => {
  it.each(SUITES)('$suite', async ({ suite, debian }) => {
    const t0 = Date.now();
    let root: string | undefined;
    if (suite !== 'host') {
      root = await debianRoot(suite, 'amd64', PACKAGES);
      // The harness binds the checkout at its own path, and unit files run /usr/bin/node (this
      // process's execPath): the npm registry's Node (glibc 2.28+) stands in for the host's.
      mkdirSync(join(root, ROOT.slice(1)), { recursive: true });
      copyFileSync(runtimes.ensure('node-20'), join(root, process.execPath.slice(1)));
    }
    const version = (await run(root ? 'chroot' : 'systemctl', root ? [root, 'systemctl', '--version'] : ['--version'])).stdout.split('\n')[0]!.replace(/^systemd (\d+).*$/, '$1');
    const env: Record<string, string | undefined> = { REAL_SYSTEMD_ROOT: root, NODE_EXTRA_CA_CERTS: root ? undefined : process.env.NODE_EXTRA_CA_CERTS };
    const out = join(ROOT, 'test-results', `systemd-${suite}.json`);
    await run(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/system', '--exclude', 'test/system/readme.test.ts', '--reporter=json', `--outputFile=${out}`], { cwd: ROOT, env, timeoutMs: 1_200_000 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as { numTotalTests: number; numPassedTests: number; numFailedTests: number; testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[] };
    const failed = report.testResults.flatMap((f) => f.assertionResults).filter((a) => a.status === 'failed').map((a) => `${a.fullName}: ${a.failureMessages[0]?.split('\n')[0]}`);
    expect(failed).toEqual([]);
    const seconds = Math.round((Date.now() - t0) / 1000);
    console.log(`systemd ${version} (${debian}): ${report.numPassedTests} of ${report.numTotalTests} passed in ${seconds} s`);
    record({ what: `systemd (${debian}, booted as PID 1)`, version, ran: `test/system: ${report.numTotalTests} tests (Type=notify, watchdog kill and restart, named .socket fds, fd store across restarts, barrier, the service toolkit; each on the backends it covers), ${root ? "the root's" : "the machine's"} libsystemd.so.0, ${seconds} s`, result: 'pass' });
  }, 1_500_000);
});
