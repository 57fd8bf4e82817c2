import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The runtime, package-manager and glibc matrix: npm run test:matrix (vitest.matrix.mts).
    exclude: ['test/matrix/**', '**/node_modules/**'],
    // Activation, env and fd behaviour is process-global: every file gets its own process.
    pool: 'forks',
    // Fails the run when a process it started, or a temp dir, outlives it (test/leftovers.setup.ts).
    globalSetup: ['test/leftovers.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One file at a time: the stall tests measure event-loop gaps of a few milliseconds, which a
    // build running in a parallel file (the package test compiles the addon) would swamp.
    fileParallelism: false,
  },
});
