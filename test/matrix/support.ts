/**
 * What the matrix tests share: Debian roots made with debootstrap into the checkout's ignored
 * .cache/roots/ (built on first use, kept for the next run), the runtimes from the npm
 * registry (scripts/runtimes.js), and the result rows the README's support table is generated
 * from (test-results/matrix.json, then scripts/matrix-table.js).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run } from '../helpers/child';

export const ROOTS = join(ROOT, '.cache', 'roots');
export const RESULTS = join(ROOT, 'test-results', 'matrix.json');
const MIRROR = 'http://deb.debian.org/debian';

/**
 * A minbase root of `suite` (debootstrap, Debian's packages), built once. `foreign`: only the
 * first stage (packages unpacked, nothing run): a sysroot for another architecture under qemu.
 * `include`: more packages (with `systemd`, a root the real-systemd harness can boot).
 */
export async function debianRoot(suite: string, arch = 'amd64', include: readonly string[] = []): Promise<string> {
  const name = `${arch === 'amd64' ? suite : `${suite}-${arch}`}${include.includes('systemd') ? '-systemd' : ''}`;
  const dir = join(ROOTS, name);
  if (existsSync(join(dir, '.libsystemd-complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(ROOTS, { recursive: true });
  const foreign = arch === 'amd64' ? [] : ['--foreign', `--arch=${arch}`];
  const extra = include.length ? [`--include=${include.join(',')}`] : [];
  const r = await run('debootstrap', ['--variant=minbase', ...foreign, ...extra, suite, dir, MIRROR], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`debootstrap ${suite} ${arch} failed: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  writeFileSync(join(dir, '.libsystemd-complete'), `${new Date().toISOString()}\n`);
  return dir;
}

export interface MatrixRow {
  /** e.g. "Node.js", "Bun", "pnpm", "glibc 2.31 (Debian 11)". */
  readonly what: string;
  readonly version: string;
  /** What was run there. */
  readonly ran: string;
  readonly result: string;
}

/** Records a passing row (a failing test records none: the table then says "not passed"). */
export function record(row: MatrixRow): void {
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  const rows: MatrixRow[] = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as MatrixRow[]) : [];
  const i = rows.findIndex((r) => r.what === row.what && r.version === row.version && r.ran === row.ran);
  if (i >= 0) rows[i] = row;
  else rows.push(row);
  writeFileSync(RESULTS, `${JSON.stringify(rows, null, 2)}\n`);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const runtimes = require('../../scripts/runtimes.js') as { ensure(name: string): string; RUNTIMES: Record<string, { version: string }> };

