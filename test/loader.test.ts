/**
 * The loader and backend selection, each case in a fresh child process (a loaded .node cannot
 * be unloaded, and the selection happens once per process).
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINDING_VERSION } from '../lib/addon';
import { ROOT, run, runNode } from './helpers/child';
import { describeWith } from './helpers/env';

const REPORT = `const l = require(${JSON.stringify(ROOT)});
const b = l.backend;
console.log(JSON.stringify({ kind: b.kind, transport: b.transport, addonPath: b.addonPath, loadError: b.loadError && b.loadError.message, caps: l.capabilities() }));`;
const ADDON = join(ROOT, 'build', 'Release', 'systemd_native.node');
/** Node's headers (node_api.h), as distribution packages and official tarballs install them. */
const NODE_INCLUDE = join(process.execPath, '..', '..', 'include', 'node');

describeWith({ linux: true, bins: ['cc'] }, 'loader and backend selection', () => {
  it('uses libsystemd through the built addon by default', async () => {
    const r = await runNode(REPORT);
    expect(r.stderr).toBe('');
    expect(r.json).toMatchObject({ kind: 'libsystemd', transport: 'native', addonPath: ADDON });
    expect(r.json.loadError).toBeUndefined();
    expect(r.json.caps).toMatchObject({ notify: true, journalFields: true, fdChecks: true, listenFdsCloexec: true });
    expect(r.json.caps.symbols).toContain('sd_journal_sendv');
  });

  it('prints kind libsystemd for `console.log(require(".").backend)`', async () => {
    const r = await runNode('console.log(require(".").backend)');
    expect(r.stdout).toContain("kind: 'libsystemd'");
  });

  it('LIBSYSTEMD_FORCE_JS=1 gives js on the node transport, even with LIBSYSTEMD_REQUIRE_NATIVE=1', async () => {
    const r = await runNode(REPORT, { env: { LIBSYSTEMD_FORCE_JS: '1', LIBSYSTEMD_REQUIRE_NATIVE: '1' } });
    expect(r.json).toMatchObject({ kind: 'js', transport: 'node' });
    expect(r.json.loadError).toMatch(/LIBSYSTEMD_FORCE_JS=1/);
    expect(r.json.caps).toMatchObject({ notify: false, journalFields: false, fdChecks: false, symbols: [] });
  });

  it('node --no-addons gives js/node without throwing, and the error names every attempt', async () => {
    const r = await runNode(REPORT, { nodeArgs: ['--no-addons'], env: { LIBSYSTEMD_REQUIRE_NATIVE: undefined } });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ kind: 'js', transport: 'node' });
    expect(r.json.loadError).toContain(`${ADDON}: ERR_DLOPEN_DISABLED`);
    expect(r.json.loadError).toContain('prebuilds/linux-x64/libsystemd.node');
    expect(r.json.loadError).toContain('prebuilds/linux-x64/node.napi.node: not found');
  });

  it('LIBSYSTEMD_REQUIRE_NATIVE=1 turns a failed load into a thrown error listing every attempt', async () => {
    const r = await runNode(REPORT, { nodeArgs: ['--no-addons'], env: { LIBSYSTEMD_REQUIRE_NATIVE: '1' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('LIBSYSTEMD_REQUIRE_NATIVE=1 but no native addon loaded');
    expect(r.stderr).toContain('ERR_DLOPEN_DISABLED');
    expect(r.stderr).toContain('prebuilds/linux-x64/node.napi.node: not found');
  });

  it('with libsystemd hidden from the addon, the addon still loads and the report says js/native', async () => {
    const r = await runNode(REPORT, { env: { LIBSYSTEMD_SONAME: 'libsystemd-hidden.so.0' } });
    expect(r.json).toMatchObject({ kind: 'js', transport: 'native', addonPath: ADDON });
    expect(r.json.loadError).toContain('dlopen(libsystemd-hidden.so.0)');
    expect(r.json.caps).toMatchObject({ notify: true, journalFields: true, symbols: [] });
  });

  it('NODE_DEBUG=libsystemd says what was chosen and why', async () => {
    const r = await runNode(REPORT, { env: { NODE_DEBUG: 'libsystemd' } });
    expect(r.stderr).toMatch(/LIBSYSTEMD \d+: addon .*systemd_native\.node loaded and libsystemd\.so\.0 opened: libsystemd backend/);
    const js = await runNode(REPORT, { env: { NODE_DEBUG: 'libsystemd', LIBSYSTEMD_FORCE_JS: '1' } });
    expect(js.stderr).toMatch(/LIBSYSTEMD \d+: LIBSYSTEMD_FORCE_JS=1/);
  });

  describe_native_path();

  it('loads in the main thread and in worker_threads of one process', async () => {
    const code = `const { Worker } = require('node:worker_threads');
const l = require(${JSON.stringify(ROOT)});
const src = 'const l = require(' + JSON.stringify(${JSON.stringify(ROOT)}) + '); require("node:worker_threads").parentPort.postMessage(l.backend.kind + ":" + l.listenFds().length + ":" + l.booted());';
Promise.all([0, 1, 2].map(() => new Promise((res, rej) => { const w = new Worker(src, { eval: true }); w.once('message', res); w.once('error', rej); })))
  .then((kinds) => console.log(JSON.stringify({ main: l.backend.kind, workers: kinds })));`;
    const r = await runNode(code);
    expect(r.stderr).toBe('');
    const b = r.json.workers[0].split(':')[2];
    expect(r.json).toEqual({ main: 'libsystemd', workers: [0, 1, 2].map(() => `libsystemd:0:${b}`) });
  });
});

function describe_native_path(): void {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libsystemd-loader-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('LIBSYSTEMD_NATIVE_PATH loads exactly that file, and reports it when it fails', async () => {
    const good = await runNode(REPORT, { env: { LIBSYSTEMD_NATIVE_PATH: ADDON } });
    expect(good.json).toMatchObject({ kind: 'libsystemd', addonPath: ADDON });
    const garbage = join(dir, 'garbage.node');
    writeFileSync(garbage, 'this is not an ELF file');
    const bad = await runNode(REPORT, { env: { LIBSYSTEMD_NATIVE_PATH: garbage, LIBSYSTEMD_REQUIRE_NATIVE: undefined } });
    expect(bad.json).toMatchObject({ kind: 'js', transport: 'node' });
    expect(bad.json.loadError).toContain(garbage);
    expect(bad.json.loadError).not.toContain('build/Release');
  });

  it('refuses an addon with another BINDING_VERSION as a stale build', async () => {
    // A real Node-API module that only exports BINDING_VERSION = 999, compiled here.
    const src = join(dir, 'stale.c');
    writeFileSync(
      src,
      `#include <node_api.h>
static napi_value init(napi_env env, napi_value exports) {
  napi_value v; napi_create_int32(env, 999, &v);
  napi_set_named_property(env, exports, "BINDING_VERSION", v);
  return exports;
}
NAPI_MODULE(stale, init)
`,
    );
    const stale = join(dir, 'stale.node');
    const cc = await run('cc', ['-shared', '-fPIC', `-I${NODE_INCLUDE}`, '-o', stale, src]);
    expect(cc.stderr).toBe('');
    const r = await runNode(REPORT, { env: { LIBSYSTEMD_NATIVE_PATH: stale, LIBSYSTEMD_REQUIRE_NATIVE: undefined } });
    expect(r.json).toMatchObject({ kind: 'js', transport: 'node' });
    expect(r.json.loadError).toContain(`${stale}: BINDING_VERSION 999, expected ${BINDING_VERSION} (stale build)`);
  });

  it('a garbage build/Release/*.node does not hide a good prebuild', async () => {
    // A copy of the package whose build/Release holds garbage and whose prebuilds/ holds the addon.
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
    mkdirSync(join(pkg, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    writeFileSync(join(pkg, 'build', 'Release', 'systemd_native.node'), Buffer.alloc(4096, 0x7f));
    const prebuild = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'libsystemd.node');
    copyFileSync(ADDON, prebuild);
    const r = await runNode(REPORT.replace(JSON.stringify(ROOT), JSON.stringify(pkg)));
    expect(r.json).toMatchObject({ kind: 'libsystemd', transport: 'native', addonPath: prebuild });
    const dbg = await runNode(REPORT.replace(JSON.stringify(ROOT), JSON.stringify(pkg)), { env: { NODE_DEBUG: 'libsystemd' } });
    expect(dbg.stderr).toContain(prebuild);
  });

  it("without a compiled build, bindings' search is in loadError as one line, and the prebuild loads", async () => {
    const pkg = join(dir, 'prebuild-only');
    mkdirSync(join(pkg, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const prebuild = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'libsystemd.node');
    copyFileSync(ADDON, prebuild);
    // libsystemd hidden, so the report carries the attempts.
    const r = await runNode(REPORT.replace(JSON.stringify(ROOT), JSON.stringify(pkg)), { env: { LIBSYSTEMD_SONAME: 'libsystemd-hidden-by-test.so.0' } });
    expect(r.json).toMatchObject({ kind: 'js', transport: 'native', addonPath: prebuild });
    const lines: string[] = r.json.loadError.split('\n');
    const search = lines.find((x) => x.includes('no compiled build'));
    expect(search).toContain(`bindings tried ${join(pkg, 'build', 'systemd_native.node')}`);
    expect(search).toContain(join(pkg, 'build', 'Release', 'systemd_native.node'));
  });
}

describe('start-up', () => {
  it('require() loads no area and no addon until something is used; after first use an export is a plain value', async () => {
    const r = await runNode(`
      const before = Object.keys(require.cache).filter((f) => f.includes('/dist/')).map((f) => f.split('/dist/')[1]);
      const l = require(${JSON.stringify(ROOT)});
      const loaded = () => Object.keys(require.cache).filter((f) => f.includes('/dist/') || f.endsWith('.node')).map((f) => f.split('/').pop());
      const atRequire = loaded();
      const getter = typeof Object.getOwnPropertyDescriptor(l, 'journal').get;
      l.journal.stats();
      const after = Object.getOwnPropertyDescriptor(l, 'journal');
      console.log(JSON.stringify({ before, atRequire, getter, value: 'value' in after, addon: loaded().some((f) => f.endsWith('.node')) }));`);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ before: [], atRequire: ['index.js'], getter: 'function', value: true, addon: true });
  });
});
