/**
 * The documentation as users read it: every code block of README.md and examples/*\/README.md
 * is either run by a test, as written, or marked not runnable with a reason; the blocks that need
 * no systemd PID 1 run here (the quick start under a real systemd is test/system/readme.test.ts).
 * The examples run against a real, isolated journald, and every query their README shows must
 * answer, with the output its comment promises.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run } from './helpers/child';
import { describeWith } from './helpers/env';
import { Journald, JOURNALD_NEEDS } from './helpers/journald';
import { blocks, checkOutput, commands, docFiles, project, testBlocks } from './helpers/readme';

/** Every readme-test name, and the test file that runs the blocks so marked. */
const RUN_BY: Readonly<Record<string, string>> = {
  'server.js': 'test/system/readme.test.ts',
  'quickstart-user': 'test/system/readme.test.ts',
  'quickstart-system': 'test/system/readme.test.ts',
  run: 'test/readme.test.ts',
  backend: 'test/readme.test.ts',
  example: 'test/readme.test.ts',
  'socket-activate': 'test/readme.test.ts',
  'zero-code': 'test/system/auto.test.ts',
  'zero-code-units': 'test/readme.test.ts',
  'reader-errors': 'test/reader.test.ts',
  'reader-resume': 'test/reader.test.ts',
  'reader-shipper': 'test/reader.test.ts',
};

describe('every code block of the documentation is run or says why not', () => {
  const all = docFiles().flatMap((f) => blocks(f));

  it('has blocks to check', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it.each(docFiles())('%s: every block carries a marker, and every test name is one a test runs', (file) => {
    for (const b of blocks(file)) {
      const where = `${b.file}:${b.line}`;
      expect(b.test !== undefined || b.notRunnable !== undefined, `${where} has neither <!-- readme-test: … --> nor <!-- not runnable: … -->`).toBe(true);
      if (b.test) expect(RUN_BY[b.test], `${where}: readme-test: ${b.test} is run by no test`).toBeDefined();
      if (b.notRunnable) expect(b.notRunnable.length, `${where}: a reason`).toBeGreaterThan(20);
    }
  });

  it('every name a test runs is in the documentation', () => {
    for (const name of Object.keys(RUN_BY)) expect(all.some((b) => b.test === name), name).toBe(true);
  });
});

describe("README's zero-code quick start is examples/zero-code, which test/system/auto.test.ts runs", () => {
  it('the two units are hello.socket and hello.service, and the commands are the example README block', () => {
    const dir = join(ROOT, 'examples', 'zero-code');
    const units = testBlocks('README.md', 'zero-code-units').map((b) => b.text);
    expect(units).toEqual([readFileSync(join(dir, 'hello.socket'), 'utf8'), readFileSync(join(dir, 'hello.service'), 'utf8')]);
    const [readme] = testBlocks('README.md', 'zero-code');
    const [example] = testBlocks('examples/zero-code/README.md', 'zero-code');
    expect(readme!.text).toBe(example!.text);
  });
});

describeWith({ linux: true }, 'README: how it chooses a backend', () => {
  it('the block prints the backend report it shows', async () => {
    const dir = project(mkdtempSync(join(tmpdir(), 'libsystemd-readme-')));
    try {
      const [b] = testBlocks('README.md', 'backend');
      const code = b!.text.split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n');
      writeFileSync(join(dir, 'backend.js'), code);
      const r = await run(process.execPath, ['backend.js'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      // The shape it promises ({ kind: 'libsystemd', transport: 'native', addonPath: '…/x.node' });
      // the path is the machine's own.
      const shown = /\/\/ (\{.*\})/.exec(b!.text)![1]!;
      for (const key of ['kind', 'transport']) expect(r.stdout).toContain(new RegExp(`${key}: '[^']*'`).exec(shown)![0]);
      expect(r.stdout).toMatch(/addonPath: '\/.*\.node'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(JOURNALD_NEEDS, 'the examples, as their READMEs run them, against a real journald', () => {
  let j: Journald;
  beforeAll(async () => {
    j = await Journald.start();
  });
  afterAll(() => j?.stop());

  it.each(['examples/pino/README.md', 'examples/winston/README.md', 'examples/structured-logging/README.md'])('%s: the app, then every query answers as its comment says', async (file) => {
    const cmds = commands(...testBlocks(file, 'example'));
    expect(cmds.length).toBeGreaterThan(3);
    for (const c of cmds) {
      // nsenter starts in /: the README's commands run from the checkout, as a user's would.
      const r = await j.exec('/bin/sh', ['-c', `cd "$0" && ${c.cmd}`, ROOT], { timeoutMs: 60_000 });
      expect(r.code, `${c.cmd}\n${r.stderr}`).toBe(0);
      if (c.cmd.startsWith('journalctl')) {
        await run('journalctl', ['--sync'], { wrap: j.wrap });
        expect(r.stdout.trim(), `${c.cmd} printed nothing\n${r.stderr}`).not.toBe('');
      }
      checkOutput(c, r.stdout);
    }
  });
});

describeWith({ linux: true, root: true, bins: ['systemd-socket-activate', 'curl', 'unshare'] }, 'examples/socket-activated-http under systemd-socket-activate', () => {
  it('the first line serves, and the requests get the answers shown', async () => {
    const [first, ...rest] = commands(...testBlocks('examples/socket-activated-http/README.md', 'socket-activate'));
    // Its own network namespace (port 8080 is the machine's) and /tmp (the socket path); a
    // checkout that lives under /tmp is bound back into the new /tmp at its own path.
    const script = [
      'set -e',
      'ip link set lo up',
      'exec 3<.',
      'mount -t tmpfs tmpfs /tmp',
      'case "$PWD" in /tmp/*) mkdir -p "$PWD" && mount --no-canonicalize --bind /proc/self/fd/3 "$PWD";; esac',
      'cd "$PWD"',
      `${first!.cmd} & act=$!`,
      'for i in $(seq 1 100); do [ -S /tmp/app-admin.sock ] && break; sleep 0.05; done',
      ...rest.map((c, i) => `echo "--- ${i}"; ${c.cmd}; echo`),
      'kill $act',
    ].join('\n');
    const r = await run('unshare', ['--net', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script], { cwd: ROOT, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const outputs = r.stdout.split(/^--- \d+\n/m).slice(1);
    expect(outputs).toHaveLength(rest.length);
    rest.forEach((c, i) => checkOutput(c, outputs[i]!));
    expect(outputs[1]).toContain('"socket":"admin"');
  });
});

describeWith({ linux: true, root: true, bins: ['curl', 'unshare', 'npx'] }, "README: libsystemd run with the quick start's server", () => {
  it('prints the events the README shows, in order, and the request is answered', async () => {
    const dir = project(mkdtempSync(join(tmpdir(), 'libsystemd-readme-run-')));
    try {
      writeFileSync(join(dir, 'server.js'), testBlocks('README.md', 'server.js')[0]!.text);
      const block = testBlocks('README.md', 'run')[0]!;
      const [start, curl] = commands(block);
      expect(start!.cmd).toMatch(/^npx libsystemd run /);
      // Its own network namespace: port 8080 is the machine's. The supervisor runs in the
      // background; the request goes once it reported ready, and it is stopped (by its pid) once
      // the status for the request came.
      const script = [
        'set -e',
        'ip link set lo up',
        `${start!.cmd} > run.log 2>&1 & sup=$!`,
        'for i in $(seq 1 200); do grep -q "ready pid" run.log && break; sleep 0.05; done',
        `echo "--- curl"; ${curl!.cmd}; echo`,
        'for i in $(seq 1 200); do grep -q "status text=1 requests served" run.log && break; sleep 0.05; done',
        'kill $sup; wait $sup || true',
        'echo "--- log"; cat run.log',
      ].join('\n');
      const r = await run('unshare', ['--net', '--', '/bin/sh', '-c', script], { cwd: dir, timeoutMs: 60_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const [, answer, log] = r.stdout.split(/^--- (?:curl|log)\n/m);
      checkOutput(curl!, answer!);
      // Each sample line of the README, without what varies (times, pids, paths, durations),
      // appears in the real log, in the same order.
      const varying = /^(t|pid|afterMs|path)$/;
      const sample = block.text.split('\n').filter((l) => l.startsWith('# [+')).map((l) => l.replace(/^# \[\+[\d.]+s\] /, ''));
      expect(sample.length).toBeGreaterThan(5);
      const actual = log!.split('\n').filter((l) => l.startsWith('[+')).map((l) => l.replace(/^\[\+[\d.]+s\] /, ''));
      let at = 0;
      for (const line of sample) {
        const [event, ...fields] = line.split(' ');
        const keep = fields.filter((f) => !varying.test(f.split('=')[0]!)).join(' ');
        const found = actual.findIndex((a, i) => i >= at && a.startsWith(`${event}`) && a.includes(keep));
        expect(found, `README line "${line}" not in the log (from line ${at}):\n${log}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
