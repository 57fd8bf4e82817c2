/**
 * The README's quick start as written, under a real systemd PID 1: the server.js block into an
 * app directory of an unprivileged user (a userdb record inside the container: the host's
 * /etc/passwd is never touched), then each command of the quick-start block in order, with
 * `sudo` lines as root and the others as that user, each checked against what its comment says.
 * The --user variant runs under a real user manager (user@UID.service) with `systemctl --user`
 * and `journalctl --user-unit`. A change to the README that breaks a command fails here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeWith } from '../helpers/env';
import { checkOutput, commands, testBlocks } from '../helpers/readme';
import { RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const UID = 1500;
const USER = 'lsdtest';
const HOME = `/run/${USER}-home`;
const APP = `${HOME}/app`;
/** The system bus and logind (systemctl as a user, user@.service), and the user manager's units. */
const ALLOW = ['dbus.socket', 'dbus.service', 'systemd-logind.service', 'user@.service', 'user-runtime-dir@.service', 'user.slice'].flatMap((u) => ['--allow', u]);
const PATH = `${process.execPath.replace(/\/node$/, '')}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;

/** The user (a userdb drop-in), its home and the app: server.js from the README, libsystemd "installed". */
async function setUp(sd: RealSystemd, scratch: string): Promise<void> {
  const file = (name: string, text: string) => {
    writeFileSync(join(scratch, name), text);
    return join(scratch, name);
  };
  const [server] = testBlocks('README.md', 'server.js');
  await sd.sh(['put', file('user', JSON.stringify({ userName: USER, uid: UID, gid: UID, homeDirectory: HOME, shell: '/bin/bash', disposition: 'regular' })), `/run/userdb/${USER}.user`, '0644']);
  await sd.sh(['put', file('group', JSON.stringify({ groupName: USER, gid: UID, disposition: 'regular' })), `/run/userdb/${USER}.group`, '0644']);
  await sd.sh(['put', file('server.js', server!.text), `${APP}/server.js`, '0644']);
  const setup = [
    `ln -s ${USER}.user /run/userdb/${UID}.user`,
    `ln -s ${USER}.group /run/userdb/${UID}.group`,
    // What `npm install libsystemd` leaves: the package and its bin link.
    `mkdir -p ${APP}/node_modules/.bin /run/root-home`,
    `ln -s ${UNIT_CHECKOUT} ${APP}/node_modules/libsystemd`,
    `ln -s ../libsystemd/dist/cli.js ${APP}/node_modules/.bin/libsystemd`,
    `chown -R ${UID}:${UID} ${HOME}`,
    'systemctl start dbus.socket systemd-logind.service',
    // What systemd-tmpfiles (masked in the harness) does at boot: the journal's group may read it.
    'chgrp -R systemd-journal /run/log/journal && chmod -R g+rX /run/log/journal && find /run/log/journal -type d -exec chmod g+s {} +',
  ];
  const r = await sd.exec('/bin/sh', '-c', setup.join(' && '));
  expect(r.code, r.stderr).toBe(0);
  expect((await sd.exec('getent', 'passwd', USER)).stdout).toContain(`${USER}:x:${UID}:${UID}`);
}

/**
 * One README command inside the container, from the app directory: `sudo …` as root, anything
 * else as the user (with its session's environment and, as on a desktop, the systemd-journal
 * group so that journalctl shows the system journal).
 */
async function runCommand(sd: RealSystemd, cmd: string): Promise<{ code: number; out: string }> {
  const env = [`HOME=${HOME}`, `USER=${USER}`, `LOGNAME=${USER}`, `PATH=${PATH}`, 'SYSTEMD_PAGER=', 'SYSTEMD_COLORS=0'];
  let argv: string[];
  if (cmd.startsWith('sudo ')) {
    // sudo keeps the caller's $USER expansion (the shell expands "$USER" before sudo runs).
    argv = ['env', ...env, 'HOME=/run/root-home', 'npm_config_cache=/run/root-home/.npm', '/bin/bash', '-c', `cd ${APP} && ${cmd.slice(5)}`];
  } else {
    const journalGid = (await sd.exec('getent', 'group', 'systemd-journal')).stdout.split(':')[2]!;
    argv = ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, `--groups=${journalGid}`, 'env', ...env, `XDG_RUNTIME_DIR=/run/user/${UID}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${UID}/bus`, '/bin/bash', '-c', `cd ${APP} && ${cmd}`];
  }
  const r = await sd.exec(...argv);
  return { code: r.code, out: r.stdout + r.stderr };
}

describeWith({ ...SYSTEM_NEEDS, bins: [...(SYSTEM_NEEDS.bins ?? []), 'curl', 'npx'] }, 'README quick start under a real systemd', () => {
  let sd: RealSystemd | undefined;
  let scratch: string | undefined;
  afterEach(async () => {
    await sd?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    sd = undefined;
  });

  it.each(['quickstart-system', 'quickstart-user'])('%s: every command as written', async (name) => {
    scratch = mkdtempSync(join(tmpdir(), 'libsystemd-readme-'));
    sd = await RealSystemd.start(ALLOW);
    await setUp(sd, scratch);
    if (name === 'quickstart-user') {
      // What logging in does: the user's own service manager.
      expect((await sd.systemctl('start', `user@${UID}.service`)).code).toBe(0);
    }
    const cmds = commands(...testBlocks('README.md', name));
    expect(cmds.length).toBeGreaterThanOrEqual(6);
    const log: string[] = [];
    for (const c of cmds) {
      const r = await runCommand(sd, c.cmd);
      log.push(`$ ${c.cmd}\n${r.out}`);
      expect(r.code, log.join('\n')).toBe(0);
      checkOutput(c, r.out);
      if (c.cmd.startsWith('curl')) {
        // The request's journal entry and the status update come just after the answer.
        const unit = name === 'quickstart-user' ? `user@${UID}.service` : 'app.service';
        if (name === 'quickstart-system') await sd.waitFor(unit, 'StatusText', /^1 requests served$/);
        else await new Promise((res) => setTimeout(res, 300));
        await sd.sh(['journalctl', '--sync'], true);
      }
    }
    // The service really is what the README says it is: socket-activated, Type=notify, watched.
    const show = name === 'quickstart-user' ? await runCommand(sd, 'systemctl --user show -p Type,WatchdogUSec,ActiveState,User app') : await runCommand(sd, 'systemctl show -p Type,WatchdogUSec,ActiveState,User app');
    expect(show.out).toContain('Type=notify');
    expect(show.out).toContain('WatchdogUSec=10s');
    expect(show.out).toContain('ActiveState=active');
    if (name === 'quickstart-system') expect(show.out).toContain(`User=${USER}`);
  });
});
