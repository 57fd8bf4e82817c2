import { defineConfig } from 'vitest/config';

// npm run test:matrix: the suite's core on every supported runtime (Node 20, 22, 24, 26, Bun,
// Deno), the packed tarball with npm, pnpm and Yarn, the prebuilds on old and new glibc and on
// arm64 under qemu. One file at a time, like the main suite.
export default defineConfig({
  test: {
    include: ['test/matrix/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
