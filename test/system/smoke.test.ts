/**
 * Smoke test of the real-systemd harness: boot a real PID 1 and journald, run this package in a
 * oneshot unit, and read its output back from the journal.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/env';
import { RealSystemd, SYSTEM_NEEDS, UNIT_CHECKOUT } from './harness';

describeWith(SYSTEM_NEEDS, 'real systemd harness', () => {
  let sd: RealSystemd;
  beforeAll(async () => {
    sd = await RealSystemd.start();
  });
  afterAll(async () => {
    await sd?.stop();
  });

  it('boots and runs a unit that loads the package with the libsystemd backend', async () => {
    expect((await sd.systemctl('is-system-running')).stdout.trim()).toMatch(/running|degraded/);
    await sd.install({
      'smoke.service': `[Unit]
Description=libsystemd smoke test

[Service]
Type=oneshot
ExecStart=${process.execPath} -e "const l = require('${UNIT_CHECKOUT}'); console.log('backend=' + l.backend.kind + '/' + l.backend.transport + ' booted=' + l.booted())"
`,
    });
    const r = await sd.systemctl('start', 'smoke.service');
    expect(r.code, r.stderr).toBe(0);
    const messages = (await sd.journal('-u', 'smoke.service')).map((e) => e.MESSAGE);
    expect(messages).toContain('backend=libsystemd/native booted=true');
  });
});
