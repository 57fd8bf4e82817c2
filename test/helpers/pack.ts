/**
 * The package as a user gets it: the environment of a user's shell (none of npm's lifecycle
 * variables from `npm test`), and `npm pack` as a maintainer runs it (prepack builds both
 * prebuilds).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, type ChildOptions } from './child';

/** The environment of a user's shell; `extra` sets (or, with undefined, removes) variables. */
export function userEnv(extra: Record<string, string | undefined> = {}): ChildOptions['env'] {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('npm_') || k === 'INIT_CWD') env[k] = undefined;
  return { ...env, LIBSYSTEMD_REQUIRE_NATIVE: undefined, ...extra };
}

/** `npm pack` of the package in `from` (the checkout by default) into `dir`: the tarball's path. */
export async function packInto(dir: string, from: string = ROOT): Promise<string> {
  const p = await run('npm', ['pack', '--pack-destination', dir], { cwd: from, env: userEnv(), timeoutMs: 300_000 });
  if (p.code !== 0) throw new Error(`npm pack failed: ${p.stderr.slice(-2000)}`);
  return join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
}

/**
 * What the package's steps take on a busy machine: measured on the 2-core machine this suite runs
 * on, with other work running (load average 5-9), 2026-12-04, each step as the tests run it:
 * - pack: `npm pack` with prepack (the prebuilds compiled): 34.5 s with linux-x64 only, 37 s with
 *   both prebuilds (issue 26, one core kept busy);
 * - cloneInstall: `npm install` in a fresh clone (dependencies from the cache, `prepare`, the
 *   addon compiled): 60 s;
 * - install: `npm install --ignore-scripts` of the tarball into an empty project: 2.0-2.8 s;
 * - tsc: a consumer type-checked: 8 s; attw: 7.7 s; node: loading the package, 0.3 s.
 */
export const FLOOR_MS = { pack: 37_000, cloneInstall: 60_000, install: 3_000, tsc: 8_000, attw: 8_000, node: 1_000 } as const;

/** A busy machine may take this many times the floor before a step counts as hung. */
export const HEADROOM = 4;

/**
 * The timeout of a test (or hook) that runs these steps: their floors times HEADROOM, and never
 * less than the suite's default (vitest.config.mts: 60 s).
 */
export function budget(...steps: (keyof typeof FLOOR_MS)[]): number {
  return Math.max(60_000, HEADROOM * steps.reduce((sum, s) => sum + FLOOR_MS[s], 0));
}

