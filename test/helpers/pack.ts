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
