/**
 * Requirements of tests that need root or systemd binaries. On a laptop such a test is skipped
 * with its reason; with LIBSYSTEMD_TEST_STRICT=1 (set by .ci/run) the skip becomes a failure,
 * so nothing passes in CI by being skipped.
 */
import { accessSync, constants } from 'node:fs';
import { describe, it } from 'vitest';

export const STRICT = process.env.LIBSYSTEMD_TEST_STRICT === '1';

export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/lib/systemd', '/lib/systemd'])) {
    try {
      accessSync(`${dir}/${bin}`, constants.X_OK);
      return `${dir}/${bin}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Needs {
  readonly root?: boolean;
  readonly bins?: readonly string[];
  readonly linux?: boolean;
}

/** Why a test cannot run here, or undefined when it can. */
export function missing(needs: Needs): string | undefined {
  if (needs.linux && process.platform !== 'linux') return 'needs Linux';
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  for (const b of needs.bins ?? []) if (!which(b)) return `needs ${b}`;
  return undefined;
}

/** describe() that is skipped with its reason, or fails in strict (CI) mode. */
export function describeWith(needs: Needs, name: string, fn: () => void): void {
  const reason = missing(needs);
  if (!reason) {
    describe(name, fn);
  } else if (STRICT) {
    describe(name, () => {
      it(`requirement met (${reason})`, () => {
        throw new Error(`LIBSYSTEMD_TEST_STRICT=1: "${name}" cannot be skipped: ${reason}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${reason}]`, fn);
  }
}

let systemdVersion: number | undefined;
/**
 * The version of the systemd installed here (the booted root's inside the systemd matrix), whose
 * libsystemd.so.0 the addon opens: `systemctl --version`'s first number, 0 when unknown.
 */
export function installedSystemd(): number {
  if (systemdVersion !== undefined) return systemdVersion;
  try {
    const out = (require('node:child_process') as typeof import('node:child_process')).execFileSync('systemctl', ['--version'], { encoding: 'utf8' });
    systemdVersion = Number(/^systemd (\d+)/.exec(out)?.[1] ?? 0);
  } catch {
    systemdVersion = 0;
  }
  return systemdVersion;
}

/**
 * Environments on which a libsystemd release answers differently from the newest for reasons of
 * its own, measured in the systemd matrix: 257 (Debian 13, glibc 2.41) reads "0b0b10" as binary
 * 10 (its own "0b" prefix, then glibc's C23 strtoull takes a second one); 247, 252 and 262 refuse
 * it. The parity tests leave these cases out on that release.
 */
export function versionQuirk(version: number, vars: Readonly<Record<string, string | undefined>>): string | undefined {
  if (version === 257 && Object.values(vars).some((v) => v !== undefined && /^\s*\+?0[bB]0[bB]/.test(v))) return 'a doubled 0b prefix (systemd 257 with glibc 2.41)';
  return undefined;
}
