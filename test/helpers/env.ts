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
