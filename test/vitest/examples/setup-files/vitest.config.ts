import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 30_000,
    // The matchers alone, for tests that never import @mailhole/vitest itself.
    setupFiles: ['@mailhole/vitest/matchers'],
  },
});
