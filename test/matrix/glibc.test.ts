/**
 * The linux-x64 prebuild on an old and a new glibc: Debian 11 (bullseye: glibc 2.31, systemd
 * 247) and Debian 13 (trixie: glibc 2.41, systemd 257) roots made with debootstrap, each with its
 * own libsystemd.so.0. The packed tarball, installed with --ignore-scripts, is loaded there by
 * an official Node 20 binary, in a chroot: it must take the prebuild and open that root's
 * libsystemd, and sd_notify and sd_journal_sendv must work against sockets inside the root.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { packInto } from '../helpers/pack';
import { debianRoot, record, runtimes } from './support';

// Runs inside the root: the addon's own primitives stand in for systemd's sockets.
const PROBE = `
const l = require('/app/node_modules/libsystemd');
const n = require(l.backend.addonPath);
const bound = (path) => { const s = n.unix_socket(2, false); n.unix_bind(s, Buffer.from(path)); return s; };
require('node:fs').mkdirSync('/run/systemd/journal', { recursive: true });
const notify = bound('/run/notify.sock');
const journal = bound('/run/systemd/journal/socket');
process.env.NOTIFY_SOCKET = '/run/notify.sock';
const ready = l.ready('up');
const got = n.unix_recvmsg(notify, 4096);
const sendv = n.journal_sendv([Buffer.from('MESSAGE=from the root'), Buffer.from('PRIORITY=6')]);
const entry = n.unix_recvmsg(journal, 4096);
console.log(JSON.stringify({
  kind: l.backend.kind, addonPath: l.backend.addonPath, symbols: l.capabilities().symbols.length,
  glibc: process.report.getReport().header.glibcVersionRuntime,
  ready, notified: Array.isArray(got) ? got[0].toString() : got,
  sendv, entry: Array.isArray(entry) ? entry[0].toString() : entry,
}));
`;

const ROOTS = [
  { suite: 'bullseye', label: 'glibc 2.31, systemd 247 (Debian 11 bullseye)', glibc: '2.31' },
  { suite: 'trixie', label: 'glibc 2.41, systemd 257 (Debian 13 trixie)', glibc: '2.41' },
];

describeWith({ linux: true, root: true, bins: ['debootstrap', 'unshare', 'chroot', 'npm'] }, 'the prebuild on old and new glibc', () => {
  let base: string;
  let app: string;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'libsystemd-glibc-'));
    const tarball = await packInto(base);
    app = join(base, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
    const i = await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, timeoutMs: 240_000 });
    expect(i.code, i.stderr).toBe(0);
    writeFileSync(join(app, 'probe.js'), PROBE);
  }, 900_000);
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it.each(ROOTS)('$label', async ({ suite, label, glibc }) => {
    const root = await debianRoot(suite);
    const nodeDir = dirname(dirname(runtimes.ensure('node-20')));
    // A private mount namespace: the app and Node bound in, a fresh /run, /proc and /dev; the
    // root itself is not changed.
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --bind "${root}" "${root}"`,
      `mkdir -p "${root}/app" "${root}/opt/node"`,
      `mount --bind "${app}" "${root}/app"`,
      `mount --bind "${nodeDir}" "${root}/opt/node"`,
      `mount -t tmpfs tmpfs "${root}/run"`,
      `mount -t proc proc "${root}/proc"`,
      `mount --rbind /dev "${root}/dev"`,
      `exec chroot "${root}" /opt/node/bin/node /app/probe.js`,
    ].join('\n');
    const r = await run('unshare', ['--mount', '--pid', '--fork', '--', '/bin/sh', '-c', script], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      kind: 'libsystemd',
      addonPath: '/app/node_modules/libsystemd/prebuilds/linux-x64/libsystemd.node',
      glibc,
      ready: true,
      notified: 'READY=1\nSTATUS=up',
      sendv: 0,
    });
    // libsystemd 257 adds SYSLOG_IDENTIFIER= to an entry without one; 247 (and 252) do not.
    expect(r.json.entry).toMatch(/^MESSAGE=from the root\nPRIORITY=6\n(SYSLOG_IDENTIFIER=node\n)?$/);
    expect(r.json.symbols).toBeGreaterThan(10);
    record({ what: label, version: glibc, ran: "the packed tarball's linux-x64 prebuild in a chroot: loads, opens the root's libsystemd.so.0, sd_notify and sd_journal_sendv", result: 'pass' });
  });
});
