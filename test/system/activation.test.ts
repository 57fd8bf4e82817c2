/**
 * Socket activation under a real systemd: two .socket units (TCP and AF_UNIX, each with its
 * FileDescriptorName=) for one service start it on the first connection; the service serves
 * both and reports the names; after `systemctl restart` it gets the same sockets again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES, type Mode } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { CHECKOUT, modeEnvironment, RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const EXAMPLE = join(CHECKOUT, 'examples', 'socket-activated-http');
const unit = (f: string) => readFileSync(join(EXAMPLE, f), 'utf8');

describeWith(SYSTEM_NEEDS, 'socket activation under a real systemd', () => {
  describe.each(Object.keys(MODES) as Mode[])('%s', (mode) => {
    let sd: RealSystemd;
    beforeAll(async () => {
      sd = await RealSystemd.start();
      const env = modeEnvironment(mode);
      await sd.install({
        'app.service': unit('app.service').replace(/^ExecStart=.*$/m, `${env}ExecStart=${process.execPath} ${UNIT_CHECKOUT}/examples/socket-activated-http/server.js`),
        'app-web.socket': unit('app-web.socket'),
        'app-admin.socket': unit('app-admin.socket'),
      });
    });
    afterAll(async () => {
      await sd?.stop();
    });

    const get = (target: string) => sd.httpGet(/^\d+$/.test(target) ? Number(target) : target);

    it('starts the service on the first connection, serves both named sockets, and keeps them across a restart', async () => {
      expect((await sd.systemctl('start', 'app-web.socket', 'app-admin.socket')).code).toBe(0);
      expect(await sd.prop('app.service', 'ActiveState')).toBe('inactive');

      const web = await get('8080');
      expect(web).toMatchObject({ socket: 'web', address: { address: '127.0.0.1', family: 'IPv4', port: 8080 }, remote: '127.0.0.1' });
      expect([...web.passed].sort()).toEqual(['admin', 'web']);
      expect(await sd.prop('app.service', 'ActiveState')).toBe('active');
      const admin = await get('/run/app-admin.sock');
      expect(admin).toMatchObject({ socket: 'admin', address: '/run/app-admin.sock', pid: web.pid });

      expect((await sd.systemctl('restart', 'app.service')).code).toBe(0);
      const pid2 = Number(await sd.prop('app.service', 'MainPID'));
      expect(pid2).not.toBe(0);
      const web2 = await get('8080');
      const admin2 = await get('/run/app-admin.sock');
      expect(web2).toMatchObject({ socket: 'web', pid: pid2, address: { port: 8080 } });
      expect(admin2).toMatchObject({ socket: 'admin', pid: pid2, address: '/run/app-admin.sock' });
      expect(web2.pid).not.toBe(web.pid);
      expect([...web2.passed].sort()).toEqual(['admin', 'web']);
      // The listening sockets stayed systemd's: both units are still active and listening.
      expect(await sd.prop('app-web.socket', 'ActiveState')).toBe('active');
      expect(await sd.prop('app-admin.socket', 'ActiveState')).toBe('active');
    });
  });
});
