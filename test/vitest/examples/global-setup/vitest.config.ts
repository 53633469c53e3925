import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 30_000,
    // One sink for the whole run, in Vitest's main process; every test file reaches it.
    globalSetup: ['./mailhole.setup.ts'],
    // Files one after another: `sharedMailhole` counts from each test's start, which is exact when no
    // other test sends meanwhile. Tests that do overlap scope their view by recipient (concurrent.test.ts).
    fileParallelism: false,
  },
});
