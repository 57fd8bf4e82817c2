/**
 * Framework apps that are not devDependencies (NestJS), pinned and installed from the registry on
 * first use into .cache/apps/<name>/ (ignored by git, reused), as scripts/runtimes.js does for
 * runtimes. A fixture finds them through NODE_PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child';

const APPS = {
  nest: { '@nestjs/core': '11.2.12', '@nestjs/common': '11.2.12', '@nestjs/platform-express': '11.2.12', 'reflect-metadata': '0.2.2', rxjs: '7.8.2' },
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
