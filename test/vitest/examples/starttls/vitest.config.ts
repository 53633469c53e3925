import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 30_000,
    // Sink options for every `mailhole` of the project; a suite's test.override adds to them.
    provide: { mailholeOptions: { hostname: 'mx.example.test' } },
  },
});
