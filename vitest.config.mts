import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Activation, env and fd behaviour is process-global: every file gets its own process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The system tests boot systemd and journald instances: keep the 2-core machine sane.
    maxWorkers: 2,
  },
});
