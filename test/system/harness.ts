/**
 * Drives test/system/real-systemd.sh: a real systemd as PID 1 of private namespaces, with the
 * checkout bound read-only at its own path so units can run this package's code.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { MODES, type Mode } from '../helpers/child';
import type { Needs } from '../helpers/env';

const execFileP = promisify(execFile);
export const HARNESS = resolve(__dirname, 'real-systemd.sh');
export const CHECKOUT = resolve(__dirname, '..', '..');
/**
 * Where units see the checkout. It is also bound at its own path (clients run there), but a
 * clone under /tmp is hidden from services with PrivateTmp= (implied by DynamicUser=), so units
 * use this path under /run instead.
 */
export const UNIT_CHECKOUT = '/run/libsystemd-checkout';
export const SYSTEM_NEEDS: Needs = { linux: true, root: true, bins: ['unshare', 'nsenter', 'setpriv', 'findmnt', 'systemctl', 'python3'] };

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `Environment=` lines that select a backend mode in a unit. */
export function modeEnvironment(mode: Mode): string {
  return Object.entries(MODES[mode]).map(([k, v]) => `Environment=${k}=${v}\n`).join('');
}

let counter = 0;

export class RealSystemd {
  private constructor(readonly name: string, private readonly scratch: string) {}

  /** Boots an instance (about 0.4 s). Every instance has its own name, netns and journal. */
  static async start(extra: readonly string[] = []): Promise<RealSystemd> {
    const name = `libsystemd-test-${process.pid}-${++counter}`;
    const scratch = mkdtempSync(join(tmpdir(), 'libsystemd-sys-'));
    const s = new RealSystemd(name, scratch);
    // REAL_SYSTEMD_ROOT: boot that root's systemd instead of the host's (the systemd matrix).
    const root = process.env.REAL_SYSTEMD_ROOT ? ['--root', process.env.REAL_SYSTEMD_ROOT] : [];
    await s.sh(['start', '--lifetime', '900', ...root, '--bind-ro', `${CHECKOUT}:${CHECKOUT}`, '--bind-ro', `${CHECKOUT}:${UNIT_CHECKOUT}`, ...extra]);
    return s;
  }

  /** Runs the harness with this instance's name; throws on a non-zero exit unless `allowFail`. */
  async sh(args: readonly string[], allowFail = false): Promise<Run> {
    try {
      const r = await execFileP(HARNESS, ['-n', this.name, ...args], { maxBuffer: 64 << 20 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      const r = { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      if (!allowFail) throw new Error(`real-systemd.sh ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r;
    }
  }

  /** Installs unit files given as { 'name.service': 'text' } and reloads. */
  async install(units: Record<string, string>): Promise<void> {
    const files = Object.entries(units).map(([n, text]) => {
      const f = join(this.scratch, n);
      writeFileSync(f, text);
      return f;
    });
    await this.sh(['install', ...files]);
  }

  systemctl(...args: string[]): Promise<Run> {
    return this.sh(['systemctl', ...args], true);
  }

  /** `systemctl show -P PROP UNIT`. */
  async prop(unit: string, prop: string): Promise<string> {
    return (await this.sh(['systemctl', 'show', '-P', prop, unit])).stdout.trim();
  }

  exec(...cmd: string[]): Promise<Run> {
    return this.sh(['exec', ...cmd], true);
  }

  /** GET / from inside the container (its network namespace): a port on 127.0.0.1 or a unix socket path; the body parsed as JSON. */
  async httpGet(target: number | string): Promise<any> {
    const opts = typeof target === 'string' ? `{ socketPath: ${JSON.stringify(target)}, path: '/' }` : `{ host: '127.0.0.1', port: ${target}, path: '/' }`;
    const code = `require('node:http').get(${opts}, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b.trim())); }).on('error', (e) => console.log(JSON.stringify({ error: e.code })));`;
    const r = await this.exec(process.execPath, '-e', code);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  /** Journal entries as parsed `journalctl -o json` lines. */
  async journal(...match: string[]): Promise<Record<string, unknown>[]> {
    const r = await this.sh(['journalctl', '-o', 'json', '--all', ...match], true);
    return r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Polls until `systemctl show -P prop unit` matches, or times out. */
  async waitFor(unit: string, prop: string, want: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let v = '';
    while (Date.now() < deadline) {
      v = await this.prop(unit, prop);
      if (want.test(v)) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${unit} ${prop} is ${JSON.stringify(v)}, wanted ${want}`);
  }

  async stop(): Promise<void> {
    try {
      await this.sh(['stop', '--timeout', '10'], true);
    } finally {
      rmSync(this.scratch, { recursive: true, force: true });
    }
  }
}
