import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 30_000,
    // One worker that keeps its modules between files: a worker-scoped sink then serves every file.
    // (With isolation on, the default, each file gets a fresh worker context and so its own sink.)
    isolate: false,
    maxWorkers: 1,
  },
});
