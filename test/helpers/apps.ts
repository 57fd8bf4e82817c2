/**
 * Framework apps that are not devDependencies (NestJS, Next.js), pinned and installed from the
 * registry on first use into .cache/apps/<name>/ (ignored by git, reused), as scripts/runtimes.js
 * does for runtimes. A fixture finds NestJS through NODE_PATH; the Next.js fixture
 * (test/fixtures/auto/next) is built there with `next build` (output: 'standalone').
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, ROOT } from './child';

const APPS = {
  nest: { '@nestjs/core': '11.2.12', '@nestjs/common': '11.2.12', '@nestjs/platform-express': '11.2.12', 'reflect-metadata': '0.2.2', rxjs: '7.8.2' },
  next: { next: '15.5.29', react: '19.3.1', 'react-dom': '19.3.1' },
} as const;

/** The node_modules directory holding the app's packages (installed first if missing). */
export function ensureApp(name: keyof typeof APPS): string {
  const dir = join(ROOT, '.cache', 'apps', name);
  const modules = join(dir, 'node_modules');
  const pkgs = APPS[name];
  if (Object.keys(pkgs).every((p) => existsSync(join(modules, p, 'package.json')))) return modules;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `app-${name}`, private: true }));
  const args = ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...Object.entries(pkgs).map(([p, v]) => `${p}@${v}`)];
  const r = spawnSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`npm install for ${name} failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return modules;
}

/**
 * The Next.js fixture built with output: 'standalone' (about a minute the first time): the
 * directory holding its server.js. Rebuilt when the fixture's sources change.
 */
export function ensureNextStandalone(): string {
  const modules = ensureApp('next');
  const dir = join(modules, '..');
  const src = join(FIXTURES, 'auto', 'next');
  const stamp = ['next.config.js', 'pages/index.js', 'pages/api/hello.js'].map((f) => readFileSync(join(src, f), 'utf8')).join('\0');
  const standalone = join(dir, '.next', 'standalone');
  const stampFile = join(dir, 'fixture.stamp');
  if (existsSync(join(standalone, 'server.js')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return standalone;
  cpSync(src, dir, { recursive: true });
  // A plain environment: the test runner's own variables (NODE_ENV=test, VITEST…) change what Next builds.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
  const r = spawnSync(process.execPath, [join(modules, 'next', 'dist', 'bin', 'next'), 'build'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !existsSync(join(standalone, 'server.js'))) throw new Error(`next build failed: ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join(' | ')}`);
  writeFileSync(stampFile, stamp);
  return standalone;
}
