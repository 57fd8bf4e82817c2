/**
 * Durations of 2^31 ms or more under a real systemd PID 1: a service with WatchdogSec=60d pings
 * at half of it (30 days). Before, Node turned the 30-day interval into 1 ms and PID 1 received
 * about 700 pings a second; here WatchdogTimestampMonotonic (PID 1's time of the last ping) does
 * not move in the 3 s after start-up, and the service stays active.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Mode } from '../helpers/child';
import { describeWith } from '../helpers/env';
import { modeEnvironment, RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

const MODES_WITH_DATAGRAMS: readonly Mode[] = ['libsystemd', 'js/native'];

describeWith(SYSTEM_NEEDS, 'long durations under a real systemd', () => {
  let sd: RealSystemd;
  beforeAll(async () => {
    sd = await RealSystemd.start();
  });
  afterAll(async () => {
    await sd?.stop();
  });

  it.each(MODES_WITH_DATAGRAMS)('%s: WatchdogSec=60d pings every 30 days, not at once (no ping in the 3 s after the first)', async (mode) => {
    const name = `wd60d-${mode.replace('/', '-')}.service`;
    await sd.install({
      [name]: `[Unit]\nDescription=60-day watchdog\n\n[Service]\nType=notify\n${modeEnvironment(mode)}ExecStart=${process.execPath} ${UNIT_CHECKOUT}/test/fixtures/watchdog-long.cjs\nWatchdogSec=60d\n`,
    });
    expect((await sd.systemctl('start', name)).code).toBe(0);
    await sd.waitFor(name, 'StatusText', /^interval /);
    expect(await sd.prop(name, 'StatusText')).toBe(`interval ${30 * 24 * 3600 * 1000}`);
    expect(await sd.prop(name, 'WatchdogUSec')).not.toBe('0');
    const first = await sd.prop(name, 'WatchdogTimestampMonotonic');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await sd.prop(name, 'WatchdogTimestampMonotonic')).toBe(first);
    expect(await sd.prop(name, 'ActiveState')).toBe('active');
    expect((await sd.systemctl('stop', name)).code).toBe(0);
  });
});
