import { configDefaults, defineConfig } from 'vitest/config';

// One run covers every package's own tests and the cross-package tests in test/. Example projects
// under fixtures/ and examples/ are not ours to collect: tests run them with their own Vitest or
// Jest CLI, exactly as a user would.
// MAILHOLE_TEST_ONLY=<file> narrows `pnpm test` to one file. test/newcomer.test.ts uses it to run
// the README's test command as written on a fresh copy without running the whole suite inside it.
const only = process.env.MAILHOLE_TEST_ONLY;

export default defineConfig({
  test: {
    include: only ? [only] : ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      '**/dist/**',
      'packages/*/test/**/fixtures/**',
      'packages/*/test/**/examples/**',
      'test/**/fixtures/**',
      'test/**/examples/**',
    ],
    // Real servers and child processes on a small, shared machine: generous limits, no timing asserts.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    // Forks, not threads: tests touch process-wide state (process.chdir, signals) that worker threads forbid.
    pool: 'forks',
  },
});
