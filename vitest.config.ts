import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Native addon (better-sqlite3) and child processes: forks are the safest pool.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
