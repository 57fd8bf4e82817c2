/**
 * scripts/matrix-table.js, the step of `npm run test:matrix` that rewrites the README's support
 * table, run as that command runs it, on the results of a matrix run (vitest's JSON report and
 * the rows the passing tests recorded) made up here: a table that says "every row passed" is
 * written only when every matrix test ran and passed; otherwise the README is left as it was and
 * the command fails, naming what did not run.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, run } from './helpers/child';

const SCRIPT = join(ROOT, 'scripts', 'matrix-table.js');
const README = '# x\n\n<!-- matrix:start -->\nthe old table\n<!-- matrix:end -->\n\nafter\n';
const FILES = readdirSync(join(ROOT, 'test', 'matrix')).filter((f) => f.endsWith('.test.ts'));
const ROW = { what: 'Node.js', version: '20.20.2', ran: 'core', result: 'pass' };

type Status = 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';

/** vitest's JSON report (--reporter=json) of a matrix run: one test per file unless `tests` says otherwise. */
function report(tests: Record<string, Status[]>): object {
  const testResults = Object.entries(tests).map(([file, statuses]) => ({
    name: join(ROOT, 'test', 'matrix', file),
    status: statuses.every((s) => s === 'passed') ? 'passed' : 'failed',
    assertionResults: statuses.map((status, i) => ({ fullName: `${file} test ${i + 1}`, title: `test ${i + 1}`, status })),
  }));
  const all = Object.values(tests).flat();
  return { numTotalTests: all.length, numPassedTests: all.filter((s) => s === 'passed').length, numFailedTests: all.filter((s) => s === 'failed').length, numPendingTests: all.filter((s) => s === 'skipped' || s === 'pending').length, success: all.every((s) => s === 'passed'), testResults };
}

describe('npm run test:matrix: the README support table', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-matrix-table-'));
    mkdirSync(join(dir, 'test-results'));
    writeFileSync(join(dir, 'README.md'), README);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const table = (vitest: object | undefined, rows: object[] = [ROW]) => {
    if (vitest) writeFileSync(join(dir, 'test-results', 'matrix-vitest.json'), JSON.stringify(vitest));
    writeFileSync(join(dir, 'test-results', 'matrix.json'), JSON.stringify(rows));
    return run(process.execPath, [SCRIPT, '--dir', dir]);
  };
  const readme = () => readFileSync(join(dir, 'README.md'), 'utf8');
  const allPassed = () => Object.fromEntries(FILES.map((f) => [f, ['passed', 'passed'] as Status[]]));

  it('every matrix test passed: the table is written, with every recorded row', async () => {
    const r = await table(report(allPassed()), [ROW, { ...ROW, what: 'Bun', version: '1.4.5' }]);
    expect(r.code, r.stderr).toBe(0);
    expect(readme()).toContain('every row passed');
    expect(readme()).toContain('| Node.js | 20.20.2 | core | pass |');
    expect(readme()).toContain('| Bun | 1.4.5 | core | pass |');
    expect(readme()).not.toContain('the old table');
    expect(readme().endsWith('<!-- matrix:end -->\n\nafter\n')).toBe(true);
  });

  it.each(['skipped', 'failed', 'pending', 'todo'] as const)('a test %s: the README is left as it was, exit 1, and the test is named', async (status) => {
    const tests = allPassed();
    tests[FILES[0]!] = ['passed', status];
    const r = await table(report(tests));
    expect(r.code).toBe(1);
    expect(readme()).toBe(README);
    expect(r.stderr).toContain(`${FILES[0]} test 2: ${status}`);
    expect(r.stderr).toContain('README.md left as it was');
  });

  it('23 of 27 skipped (no LIBSYSTEMD_TEST_STRICT=1, no debootstrap): no table of the 4 that ran', async () => {
    const statuses: Status[] = [...Array(4).fill('passed'), ...Array(23).fill('skipped')];
    const tests = Object.fromEntries(FILES.map((f, i) => [f, i === 0 ? statuses : []]));
    const r = await table(report(tests));
    expect(r.code).toBe(1);
    expect(readme()).toBe(README);
    expect(r.stderr).toMatch(/23 of 27 matrix tests did not pass/);
  });

  it('a matrix file that did not run at all (a filter on the command line): no table', async () => {
    const tests = allPassed();
    delete tests[FILES.at(-1)!];
    const r = await table(report(tests));
    expect(r.code).toBe(1);
    expect(readme()).toBe(README);
    expect(r.stderr).toContain(`${FILES.at(-1)}: did not run`);
  });

  it("no vitest report (the run did not finish): no table", async () => {
    const r = await table(undefined);
    expect(r.code).toBe(1);
    expect(readme()).toBe(README);
    expect(r.stderr).toContain('matrix-vitest.json');
  });
});
