import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Activation, env and fd behaviour is process-global: every file gets its own process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One file at a time: the stall tests measure event-loop gaps of a few milliseconds, which a
    // build running in a parallel file (the package test compiles the addon) would swamp.
    fileParallelism: false,
  },
});
